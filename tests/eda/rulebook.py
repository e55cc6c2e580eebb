# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible-rulebook (build/eda-venv) running extensions/eda/rulebooks/contain_risky_users.yml against the emulator,
for tests/eda and benchmarks/eda_latency.py."""

import json
import os
import signal
import subprocess

from tests.graph_emulator.process import ROOT

EDA_VENV = os.environ.get("O365_EDA_VENV") or os.path.join(ROOT, "build", "eda-venv")
RULEBOOK = os.path.join(ROOT, "extensions", "eda", "rulebooks", "contain_risky_users.yml")
COLLECTIONS = os.path.join(ROOT, "build", "collections")
ANSIBLE_RULEBOOK = os.path.join(EDA_VENV, "bin", "ansible-rulebook")


def descendants(pid):
    """The process IDs below ``pid``, read from /proc."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as handle:
                # The command name may hold spaces and parentheses: the fields after its last ')' are plain.
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Rulebook:
    """One ansible-rulebook process running the rulebook, its output in a file."""

    def __init__(self, emulator, work_dir, name, state_dir, variables, verbosity="-v", rulebook=RULEBOOK):
        app = emulator["apps"]["risk-responder"]
        variables = dict({"o365_state_file": os.path.join(work_dir, "source_state.json"),
                          "o365_eda_state_dir": state_dir}, **variables)
        vars_file = os.path.join(work_dir, name + "-vars.json")
        with open(vars_file, "w") as handle:
            json.dump(variables, handle)
        inventory = os.path.join(work_dir, "inventory.yml")
        with open(inventory, "w") as handle:
            handle.write("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "ANSIBLE_", "O365_"))}
        environment.update(
            AZURE_TENANT_ID=emulator["tenant_id"], AZURE_CLIENT_ID=app["client_id"],
            AZURE_CLIENT_SECRET=app["client_secret"], AZURE_AUTHORITY_HOST=emulator["authority_host"],
            O365_GRAPH_ENDPOINT=emulator["authority_host"], O365_CA_PATH=emulator["ca_path"],
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_NOCOLOR="1",
            # The token cache and the playbook's defaults go under a HOME of the test's own.
            HOME=work_dir, PATH=os.path.join(EDA_VENV, "bin") + os.pathsep + os.environ.get("PATH", ""))
        self.output_path = os.path.join(work_dir, name + ".log")
        self.output = open(self.output_path, "w")
        self.process = subprocess.Popen(
            [ANSIBLE_RULEBOOK, "-r", rulebook, "-i", inventory, "--vars", vars_file, verbosity], cwd=work_dir,
            env=environment, stdout=self.output, stderr=subprocess.STDOUT,
            start_new_session=True)

    def log(self):
        with open(self.output_path) as handle:
            return handle.read()

    def kill(self):
        """Stopped the hard way, as when EDA Controller deletes the activation's pod: every process of the run,
        ansible-playbook included, at once, with no chance to write anything."""
        if self.process.poll() is None:
            # ansible-runner starts ansible-playbook in a session of its own (a pty): find every descendant first,
            # then kill them all, so that none lives on as an orphan.
            doomed = [self.process.pid] + descendants(self.process.pid)
            for pid in doomed:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.process.wait()
        self.output.close()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.output.close()
