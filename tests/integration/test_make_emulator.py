# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make emulator` (tools/emulator.py): what it prints to paste works as printed.

The export lines run playbooks/revoke_sessions.yml on a user given by the object ID the listing printed; the
module_defaults block, pasted into a play, reads that user back; Ctrl-C stops the emulator with the tool. The
printed curl line makes a user risky and the printed app reads risky users; the rulebook's files are what
ansible-rulebook reads; `make emulator TENANTS=3` starts three tenants whose printed playbook line contains users in
all three with one record.
"""

import json
import os
import shlex
import signal
import subprocess
import sys

import yaml

from tests.graph_emulator.process import ROOT


def start(*arguments, last="Request log"):
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "emulator.py")] + list(arguments),
                               cwd=ROOT, stdout=subprocess.PIPE, universal_newlines=True)
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith(last):
            break
    return process, lines


def stop(process):
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    rest = process.stdout.read()
    process.stdout.close()
    return rest


def pasted_shell(environment, home):
    """A shell that has only what was pasted: none of the test run's own AZURE_/O365_/ANSIBLE_ variables."""
    return dict({k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "O365_", "ANSIBLE_"))},
                HOME=str(home), **environment)


def exported(lines):
    environment = {}
    for line in lines:
        if line.startswith("export "):
            name, dummy, value = line[len("export "):].partition("=")
            if name == "JAVA_HOME":
                continue  # for ansible-rulebook only, and machine-specific
            environment[name] = os.path.expandvars(" ".join(shlex.split(value, comments=True)))
    return environment


def test_what_make_emulator_prints_runs_a_playbook_as_printed(tmp_path):
    process, lines = start()
    try:
        environment = exported(lines)
        assert set(environment) == {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST",
                                    "O365_GRAPH_ENDPOINT", "O365_CA_PATH", "PATH", "ANSIBLE_COLLECTIONS_PATH"}
        listing = lines[lines.index("Users of the demo tenant:") + 2:]
        users = {row.split()[1]: row.split()[0] for row in listing if row.startswith("  ") and len(row.split()) >= 2}
        adele = users["adele.vance@contoso.onmicrosoft.com"]
        assert len(adele) == 36 and "synced from on-premises AD" in "\n".join(listing)

        # The printed command line, with the object ID from the listing, in a shell that has only what was pasted.
        command = next(line for line in lines if line.startswith("ansible-playbook "))
        command = command.replace("adele.vance@contoso.onmicrosoft.com", adele)
        shell = dict({k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "O365_", "ANSIBLE_"))},
                     HOME=str(tmp_path), **environment)
        revoked = subprocess.run(shlex.split(command), env=shell, cwd=str(tmp_path), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        assert revoked.returncode == 0, revoked.stdout
        assert "1 user(s) revoked in 1 batch call(s)" in revoked.stdout

        # The module_defaults block, pasted into a play, without any of the environment variables.
        start_block = lines.index("  module_defaults:")
        block = yaml.safe_load("\n".join(lines[start_block:start_block + 8]))
        assert block["module_defaults"]["group/o365.admin.graph"]["client_secret"] == environment["AZURE_CLIENT_SECRET"]
        tasks = [{"name": "Read", "o365.admin.o365_user_info": {"user": adele}, "register": "info"},
                 {"name": "Show",
                  "ansible.builtin.debug": {"msg": "valid from {{ info.users[0].sessions_valid_from }}"}}]
        play = [{"name": "Pasted", "hosts": "localhost", "connection": "local", "gather_facts": False,
                 "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                 "module_defaults": block["module_defaults"], "tasks": tasks}]
        (tmp_path / "pasted.yml").write_text(yaml.safe_dump(play))
        bare = {k: v for k, v in shell.items() if not k.startswith(("AZURE_", "O365_"))}
        read = subprocess.run(["ansible-playbook", str(tmp_path / "pasted.yml")], env=bare, cwd=str(tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        assert read.returncode == 0, read.stdout
        assert "valid from 20" in read.stdout and "2026-01-01T00:00:00Z" not in read.stdout
    finally:
        rest = stop(process)
    assert "Stopping the emulator." in rest


def test_the_printed_app_reads_a_user_the_printed_curl_line_made_risky(tmp_path):
    process, lines = start("--out", str(tmp_path / "out"))
    try:
        environment = exported(lines)
        assert "IdentityRiskyUser.ReadWrite.All" in next(line for line in lines if line.startswith("In another shell"))
        curl = next(line for line in lines if line.startswith("curl "))
        made = subprocess.run(shlex.split(curl), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, check=False)
        assert made.returncode == 0, made.stdout
        play = [{"name": "Risky", "hosts": "localhost", "connection": "local", "gather_facts": False,
                 "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                 "tasks": [{"name": "List", "o365.admin.o365_risky_user_info": {"risk_levels": ["high"]},
                            "register": "risky"},
                           {"name": "Show", "ansible.builtin.debug": {"msg": "at risk: {{ risky.risky_users "
                                                                             "| map(attribute='user_principal_name') "
                                                                             "| list }}"}}]}]
        (tmp_path / "risky.yml").write_text(yaml.safe_dump(play))
        listed = subprocess.run(["ansible-playbook", str(tmp_path / "risky.yml")],
                                env=pasted_shell(environment, tmp_path), cwd=str(tmp_path), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        assert listed.returncode == 0, listed.stdout
        assert "at risk: ['adele.vance@contoso.onmicrosoft.com']" in listed.stdout

        # The rulebook's inventory and variables, as printed, are YAML ansible-rulebook can read.
        command = shlex.split(next(line for line in lines if line.startswith("ansible-rulebook ")))
        inventory = yaml.safe_load(open(command[command.index("-i") + 1]))
        variables = yaml.safe_load(open(command[command.index("--vars") + 1]))
        assert inventory["all"]["hosts"]["localhost"]["ansible_connection"] == "local"
        assert variables["o365_exclude"] == ["it.admin@contoso.onmicrosoft.com"]
        assert variables["o365_eda_state_dir"].startswith(str(tmp_path / "out"))
        assert "python3 -m pip install ansible-rulebook ansible-core msal requests" in lines
        assert any(line.startswith("export JAVA_HOME=") for line in lines)
    finally:
        stop(process)


def test_three_tenants_and_the_printed_playbook_line_contains_users_in_all_three(tmp_path):
    out = tmp_path / "out"
    process, lines = start("--tenants", "3", "--out", str(out), last="Release them again")
    try:
        environment = exported(lines)
        inventory_path = str(out / "tenants.yml")
        assert oct(os.stat(inventory_path).st_mode & 0o777) == "0o600"  # it holds the client secrets
        hosts = yaml.safe_load(open(inventory_path))["tenants"]["hosts"]
        assert sorted(hosts) == ["adatum", "contoso", "fabrikam"]
        assert len({host["o365_tenant_id"] for host in hosts.values()}) == 3
        command = next(line for line in lines if line.startswith("ansible-playbook "))
        ran = subprocess.run(shlex.split(command), env=pasted_shell(environment, tmp_path), cwd=str(tmp_path),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False,
                             timeout=600)
        assert ran.returncode == 0, ran.stdout
        written = list(out.glob("tenants-record-*.json"))  # one file per run: the path holds {run_id}
        assert len(written) == 1, written
        with open(str(written[0])) as handle:
            record = json.load(handle)
        assert len(record["users"]) == 6 and not record["failed_tenants"]
        assert {user["tenant"] for user in record["users"]} == {host["o365_tenant_id"] for host in hosts.values()}
        assert {user["sign_in_outcome"] for user in record["users"]} == {"blocked"}
    finally:
        rest = stop(process)
    assert "Stopping the emulators." in rest
