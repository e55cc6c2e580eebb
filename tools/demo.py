#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo`: start the Graph emulator, run playbooks/revoke_sessions.yml against it, show the result, stop it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)

from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position

DEMO_USERS = [
    "adele.vance@contoso.onmicrosoft.com",
    "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
    "$svc-legacy@contoso.onmicrosoft.com",
    "megan.o'brien@contoso.onmicrosoft.com",
    "AdeleVance_adatum.com#EXT#@contoso.onmicrosoft.com",
]


def main():
    with RunningEmulator() as emulator:
        print("Graph emulator listening at %s (request log: %s)"
              % (emulator["graph_endpoint"], emulator["request_log"]), flush=True)
        # The same variables a real run uses; only the endpoint overrides point at the emulator.
        environment = dict(os.environ, AZURE_TENANT_ID=emulator["tenant_id"], AZURE_CLIENT_ID=emulator["client_id"],
                           AZURE_CLIENT_SECRET=emulator["client_secret"])
        environment.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, "build", "collections"))
        extra_vars = {"o365_revoke_users": DEMO_USERS, "o365_graph_endpoint": emulator["graph_endpoint"],
                      "o365_authority_host": emulator["authority_host"], "o365_ca_path": emulator["ca_path"]}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(extra_vars, handle)
        try:
            completed = subprocess.run(
                [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                 os.path.join(ROOT, "playbooks", "revoke_sessions.yml"), "-e", "@" + handle.name],
                env=environment, check=False)
        finally:
            os.remove(handle.name)
        calls = emulator.log_since(0)
        print("The emulator saw %d token request(s) and %d Graph call(s)." % (
            sum(1 for e in calls if e["kind"] == "token"), sum(1 for e in calls if e["kind"] == "graph")))
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
