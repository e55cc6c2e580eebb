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


class Rulebook:
    """One ansible-rulebook process running the rulebook, its output in a file."""

    def __init__(self, emulator, work_dir, name, state_dir, variables, verbosity="-v"):
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
            [ANSIBLE_RULEBOOK, "-r", RULEBOOK, "-i", inventory, "--vars", vars_file, verbosity], cwd=work_dir,
            env=environment, stdout=self.output, stderr=subprocess.STDOUT,
            start_new_session=True)

    def log(self):
        with open(self.output_path) as handle:
            return handle.read()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.output.close()
