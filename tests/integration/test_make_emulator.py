# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make emulator` (tools/emulator.py): what it prints to paste works as printed.

The export lines run playbooks/revoke_sessions.yml on a user given by the object ID the listing printed; the
module_defaults block, pasted into a play, reads that user back; Ctrl-C stops the emulator with the tool.
"""

import os
import shlex
import signal
import subprocess
import sys

import yaml

from tests.graph_emulator.process import ROOT


def start():
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "tools", "emulator.py")], cwd=ROOT,
                               stdout=subprocess.PIPE, universal_newlines=True)
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Request log"):
            break
    return process, lines


def exported(lines):
    environment = {}
    for line in lines:
        if line.startswith("export "):
            name, dummy, value = line[len("export "):].partition("=")
            environment[name] = os.path.expandvars(" ".join(shlex.split(value)))
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
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        rest = process.stdout.read()
        process.stdout.close()
    assert "Stopping the emulator." in rest
