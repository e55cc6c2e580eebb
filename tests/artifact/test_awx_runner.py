# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""AWX / Automation Controller, end to end: `ansible-runner run` (the engine AWX runs jobs with) on a private data
directory laid out as AWX lays it, the installed collection, credentials only as the environment AWX injects, and
the Graph emulator. Each run checks the revokes happened and that no secret reached what the play writes.
"""

import glob
import os
import subprocess
import tempfile

import pytest
import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tests.artifact.helpers import BIN, ROOT, tool
from tests.graph_emulator.process import RunningEmulator

AWX_DIR = os.path.join(ROOT, "awx")
USERS = ["adele.vance@contoso.onmicrosoft.com", "alex.wilber@contoso.onmicrosoft.com"]


@pytest.fixture(scope="module")
def emulator():
    with RunningEmulator() as running:
        yield running


def inject(credential_type_file, inputs, private_data_dir):
    """Render a custom credential type's injectors as AWX does: a Jinja sandbox over the inputs that are set, each
    file template written to a file of the private data directory's env/, its name in tower.filename[.NAME]."""
    with open(os.path.join(AWX_DIR, credential_type_file)) as handle:
        credential_type = yaml.safe_load(handle)
    fields = {field["id"] for field in credential_type["inputs"]["fields"]}
    assert set(inputs) <= fields and set(credential_type["inputs"].get("required", [])) <= set(inputs)
    namespace = {name: value for name, value in inputs.items() if value}

    class Filenames:
        pass

    tower = Filenames()
    namespace["tower"] = tower
    sandbox = ImmutableSandboxedEnvironment()
    for label, template in credential_type["injectors"].get("file", {}).items():
        handle, path = tempfile.mkstemp(dir=os.path.join(private_data_dir, "env"))
        with os.fdopen(handle, "w") as out:
            out.write(sandbox.from_string(template).render(**namespace))
        if "." in label:
            if not hasattr(tower, "filename"):
                tower.filename = Filenames()
            setattr(tower.filename, label.split(".", 1)[1], path)
        else:
            tower.filename = path
    return {name: sandbox.from_string(template).render(**namespace)
            for name, template in credential_type["injectors"].get("env", {}).items()}


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(AWX_DIR) if n.startswith("credential_type_")))
def test_credential_type_has_the_shape_awx_takes(name):
    with open(os.path.join(AWX_DIR, name)) as handle:
        credential_type = yaml.safe_load(handle)
    assert set(credential_type) == {"name", "description", "kind", "inputs", "injectors"}
    assert credential_type["kind"] == "cloud"
    fields = {field["id"]: field for field in credential_type["inputs"]["fields"]}
    assert all(field["type"] == "string" and field.get("label") for field in fields.values())
    assert set(credential_type["inputs"].get("required", [])) <= set(fields)
    assert set(credential_type["injectors"]) <= {"env", "file", "extra_vars"}
    sandbox = ImmutableSandboxedEnvironment()
    for kind, templates in credential_type["injectors"].items():
        for name_, template in templates.items():
            used = meta.find_undeclared_variables(sandbox.parse(template))
            assert used <= set(fields) | {"tower"}, (name_, used)
            if kind == "env":  # AWX refuses to inject these
                assert not name_.startswith("ANSIBLE_") and name_ not in ("PATH", "PYTHONPATH", "VIRTUAL_ENV")
    # A field holding a secret never reaches extra_vars, which AWX shows and stores with the job.
    secret = {field_id for field_id, field in fields.items() if field.get("secret")}
    for template in credential_type["injectors"].get("extra_vars", {}).values():
        assert not meta.find_undeclared_variables(sandbox.parse(template)) & secret


def azure_resource_manager(emulator):
    """What AWX's built-in "Microsoft Azure Resource Manager" credential injects (service principal with secret)."""
    return {"AZURE_CLIENT_ID": emulator["client_id"], "AZURE_SECRET": emulator["client_secret"],
            "AZURE_TENANT": emulator["tenant_id"], "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
            "AZURE_CLOUD_ENVIRONMENT": "AzureCloud"}


def graph_endpoint_credential(emulator, private_data_dir):
    with open(emulator["ca_path"]) as handle:
        ca_bundle = handle.read()
    return inject("credential_type_o365_graph_endpoint.yml",
                  {"graph_endpoint": emulator["graph_endpoint"], "authority_host": emulator["authority_host"],
                   "ca_bundle": ca_bundle}, private_data_dir)


class Job:
    """One AWX-style job: private data directory, `ansible-runner run`, and its artifacts."""

    def __init__(self, root, installed_collections, playbook, ident):
        self.dir = os.path.join(root, "private_data_dir")
        self.ident = ident
        self.installed_collections = installed_collections
        for sub in ("env", "project", "inventory"):
            os.makedirs(os.path.join(self.dir, sub))
        with open(os.path.join(self.dir, "project", "revoke_sessions.yml"), "w") as handle:
            handle.write(playbook)
        # As the AWX recipe says: localhost, local connection, the Python that runs ansible-playbook.
        with open(os.path.join(self.dir, "inventory", "hosts"), "w") as handle:
            handle.write('localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n')
        self.home = os.path.join(root, "home")
        os.makedirs(self.home)

    @property
    def artifacts(self):
        return os.path.join(self.dir, "artifacts", self.ident)

    def run(self, envvars, extravars):
        # Job settings AWX sets itself: the collections of the EE, and its fact cache in the job's artifacts.
        envvars = dict(envvars, ANSIBLE_COLLECTIONS_PATH=self.installed_collections,
                       ANSIBLE_CACHE_PLUGIN="jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=os.path.join(
                           self.artifacts, "fact_cache"), ANSIBLE_FORCE_COLOR="False")
        with open(os.path.join(self.dir, "env", "envvars"), "w") as handle:
            yaml.safe_dump(envvars, handle)
        with open(os.path.join(self.dir, "env", "extravars"), "w") as handle:
            yaml.safe_dump(extravars, handle)
        # A clean process environment, as on a controller node: nothing of this test's own.
        environment = {"PATH": BIN + os.pathsep + "/usr/bin:/bin", "HOME": self.home, "LANG": "C.UTF-8"}
        return subprocess.run([tool("ansible-runner"), "run", self.dir, "-p", "revoke_sessions.yml",
                               "--ident", self.ident], env=environment, capture_output=True, text=True,
                              check=False, timeout=600)

    def written_by_the_play(self):
        """path -> text of what the play writes: stdout, every job event, the fact cache."""
        paths = [os.path.join(self.artifacts, "stdout")]
        paths += glob.glob(os.path.join(self.artifacts, "job_events", "*.json"))
        paths += glob.glob(os.path.join(self.artifacts, "fact_cache", "**", "*"), recursive=True)
        found = {}
        for path in paths:
            if os.path.isfile(path):
                with open(path, errors="replace") as handle:
                    found[path] = handle.read()
        return found

    def status(self):
        with open(os.path.join(self.artifacts, "status")) as handle:
            return handle.read().strip()


def playbook_text(installed_collections, gather_facts=False):
    """The example playbook, as the installed collection ships it."""
    with open(os.path.join(installed_collections, "ansible_collections", "o365", "admin", "playbooks",
                           "revoke_sessions.yml")) as handle:
        text = handle.read()
    assert "gather_facts: false" in text
    return text if not gather_facts else text.replace("gather_facts: false", "gather_facts: true")


def revoked(emulator, offset):
    return sorted(entry["path"].split("/")[-2] for entry in emulator.log_since(offset)
                  if entry["kind"] == "batch_item" and entry["method"] == "POST" and entry["status"] == 200
                  and entry["path"].endswith("/revokeSignInSessions"))


def leaks(job, secrets):
    return {os.path.relpath(path, job.dir): [s[:12] + "..." for s in secrets if s in text]
            for path, text in job.written_by_the_play().items() if any(s in text for s in secrets)}


def secret_lines(pem_path):
    """The base64 lines of a PEM private key: any one of them in an artifact is a leak."""
    with open(pem_path) as handle:
        text = handle.read()
    key = text[text.index("-----BEGIN"):text.index("-----END", text.index("PRIVATE KEY-----"))]
    return [line for line in key.splitlines()[1:] if len(line) > 40]


def test_builtin_azure_resource_manager_credential_revokes_and_leaks_nothing(
        emulator, installed_collections, tmp_path):
    job = Job(str(tmp_path), installed_collections, playbook_text(installed_collections), "job-secret")
    envvars = dict(azure_resource_manager(emulator), **graph_endpoint_credential(emulator, job.dir))
    offset = emulator.log_size()
    completed = job.run(envvars, {"o365_revoke_users": USERS})
    assert completed.returncode == 0 and job.status() == "successful", completed.stdout + completed.stderr
    assert revoked(emulator, offset) == sorted(USERS)
    assert [e.get("credential") for e in emulator.log_since(offset) if e["kind"] == "token"] == ["secret"]
    assert job.written_by_the_play(), "the runner wrote no artifacts to check"
    assert not leaks(job, [emulator["client_secret"]])
    # ansible-runner itself records the environment it was given, secrets included (the README says so).
    with open(os.path.join(job.artifacts, "command")) as handle:
        assert emulator["client_secret"] in handle.read()


def test_certificate_credential_type_revokes_and_leaks_nothing(emulator, installed_collections, tmp_path):
    job = Job(str(tmp_path), installed_collections, playbook_text(installed_collections), "job-certificate")
    with open(emulator["client_certificate_path"]) as handle:
        certificate = handle.read()
    envvars = inject("credential_type_o365_certificate.yml",
                     {"tenant_id": emulator["tenant_id"], "client_id": emulator["client_id"],
                      "certificate": certificate, "cloud": "AzureCloud"}, job.dir)
    assert os.path.dirname(envvars["AZURE_CLIENT_CERTIFICATE_PATH"]) == os.path.join(job.dir, "env")
    envvars.update(graph_endpoint_credential(emulator, job.dir))
    offset = emulator.log_size()
    # As an AWX survey's textarea gives it: one user per line.
    completed = job.run(envvars, {"o365_revoke_users": "\n".join(USERS) + "\n"})
    assert completed.returncode == 0 and job.status() == "successful", completed.stdout + completed.stderr
    assert revoked(emulator, offset) == sorted(USERS)
    assert [e.get("credential") for e in emulator.log_since(offset) if e["kind"] == "token"] == ["certificate"]
    assert not leaks(job, secret_lines(emulator["client_certificate_path"]))


def test_gathering_facts_would_store_the_secret_in_the_fact_cache(emulator, installed_collections, tmp_path):
    """Why the playbooks and the recipe say gather_facts: false; also shows the leak check finds a leak."""
    job = Job(str(tmp_path), installed_collections, playbook_text(installed_collections, gather_facts=True),
              "job-facts")
    envvars = dict(azure_resource_manager(emulator), **graph_endpoint_credential(emulator, job.dir))
    completed = job.run(envvars, {"o365_revoke_users": USERS[:1]})
    assert completed.returncode == 0, completed.stdout + completed.stderr
    leaked = leaks(job, [emulator["client_secret"]])
    assert leaked and all(path.startswith(os.path.join("artifacts", "job-facts", "fact_cache")) for path in leaked)
