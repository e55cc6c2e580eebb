# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end fixtures: the emulator, optionally Prism in front of it, and real ansible-playbook runs."""

import json
import os
import subprocess
import sys

import pytest

from tests.graph_emulator.process import ROOT, RunningEmulator
from tests.integration.prism import PrismProxy

COLLECTIONS = os.path.join(ROOT, "build", "collections")
PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")
CALLBACK_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


@pytest.fixture(scope="session")
def emulator():
    if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "o365", "admin")):
        pytest.fail("The collection is not on %s: run the tests through `make`." % COLLECTIONS)
    with RunningEmulator("--http", "--extra-users", "120") as running:
        yield running


class GraphRoute:
    """How the module reaches Graph: straight to the emulator, or through Prism validating the contract."""

    def __init__(self, name, endpoint, proxy=None):
        self.name = name
        self.endpoint = endpoint
        self.proxy = proxy

    def require_direct(self, why):
        if self.proxy is not None:
            pytest.skip("not through Prism: " + why)


@pytest.fixture(scope="session", params=["direct", "prism"])
def graph_route(request, emulator, tmp_path_factory):
    if request.param == "direct":
        yield GraphRoute("direct", emulator["authority_host"])
        return
    proxy = PrismProxy(emulator["graph_endpoint"], str(tmp_path_factory.mktemp("prism")))
    yield GraphRoute("prism", proxy.endpoint, proxy)
    proxy.stop()


class PlaybookRun:
    def __init__(self, completed, results_file):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.tasks = {}
        if os.path.exists(results_file):
            with open(results_file) as handle:
                for entry in json.load(handle):
                    self.tasks[entry["task"]] = entry["result"]

    @property
    def result(self):
        """The result of the playbook's first task."""
        assert self.tasks, "ansible-playbook printed no results (rc %s):\n%s\n%s" % (self.rc, self.stdout, self.stderr)
        return next(iter(self.tasks.values()))

    def warnings(self):
        """The [WARNING] lines ansible-playbook printed."""
        return [line for line in (self.stdout + self.stderr).splitlines() if "[WARNING]" in line]


class Scenario:
    """One test's view: a clean fault set, the request log from its start, and a playbook runner."""

    def __init__(self, emulator, route, work_dir):
        self.emulator = emulator
        self.route = route
        self.work_dir = work_dir
        emulator.control("reset")
        if route.proxy:
            # Prism sends the emulator its own address as Host: the emulator's next-page links must name Prism.
            emulator.control("faults", {"public_origin": route.endpoint})
        self.token_cache_path = os.path.join(work_dir, "cache", "token_cache.json")
        self.log_offset = emulator.log_size()
        self.prism_log_length = len(route.proxy.log()) if route.proxy else 0

    def faults(self, **settings):
        self.emulator.control("faults", settings)

    def requests(self, kind=None):
        entries = self.emulator.log_since(self.log_offset)
        return [e for e in entries if kind is None or e["kind"] == kind]

    def default_environment(self):
        return {"AZURE_TENANT_ID": self.emulator["tenant_id"], "AZURE_CLIENT_ID": self.emulator["client_id"],
                "AZURE_CLIENT_SECRET": self.emulator["client_secret"]}

    def run(self, playbook, extra_vars=None, env=None, check=False, inventory=None, forks=None):
        variables = {"o365_graph_endpoint": self.route.endpoint,
                     "o365_authority_host": self.emulator["authority_host"],
                     "o365_ca_path": self.emulator["ca_path"],
                     "o365_token_cache_path": self.token_cache_path}
        variables.update(extra_vars or {})
        vars_file = os.path.join(self.work_dir, "vars.json")
        with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            json.dump(variables, handle)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
        results_file = os.path.join(self.work_dir, "results.json")
        if os.path.exists(results_file):
            os.remove(results_file)
        environment.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CALLBACK_PLUGINS=CALLBACK_PLUGINS,
                           ANSIBLE_CALLBACKS_ENABLED="task_results", O365_TEST_RESULTS=results_file,
                           ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                           ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=os.path.join(self.work_dir, "ansible-tmp"))
        environment.update(self.default_environment() if env is None else env)
        command = [ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOKS, playbook), "-e", "@" + vars_file]
        if check:
            command.append("--check")
        if inventory:
            command += ["-i", inventory]
        if forks:
            command += ["--forks", str(forks)]
        completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600,
                                   cwd=self.work_dir, check=False)
        return PlaybookRun(completed, results_file)

    def new_contract_violations(self):
        if not self.route.proxy:
            return []
        fresh = self.route.proxy.log()[self.prism_log_length:]
        return [line for line in fresh.splitlines() if "VIOLATIONS" in line]


@pytest.fixture
def scenario(emulator, graph_route, tmp_path):
    current = Scenario(emulator, graph_route, str(tmp_path))
    yield current
    violations = current.new_contract_violations()
    assert not violations, "Prism found contract violations:\n" + "\n".join(violations)
