#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo`: start the Graph emulator, run playbooks/revoke_sessions.yml and playbooks/offboard_users.yml against
it, show the results, stop it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
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


# playbooks/offboard_users.yml: two members and one account synced from on-premises AD (it warns).
OFFBOARD_USERS = [
    "adele.vance@contoso.onmicrosoft.com",
    "alex.wilber@contoso.onmicrosoft.com",
    "pradeep.gupta@contoso.onmicrosoft.com",
]


def run_playbook(playbook, extra_vars, environment):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(extra_vars, handle)
    try:
        return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                               os.path.join(ROOT, "playbooks", playbook), "-e", "@" + handle.name],
                              env=environment, check=False).returncode
    finally:
        os.remove(handle.name)


def credentials(emulator, app):
    return {"AZURE_TENANT_ID": emulator["tenant_id"], "AZURE_CLIENT_ID": emulator["apps"][app]["client_id"],
            "AZURE_CLIENT_SECRET": emulator["apps"][app]["client_secret"]}


def main():
    with RunningEmulator() as emulator:
        print("Graph emulator listening at %s (request log: %s)"
              % (emulator["graph_endpoint"], emulator["request_log"]), flush=True)
        # The same variables a real run uses; only the endpoint overrides point at the emulator.
        environment = dict(os.environ, **credentials(emulator, "o365-admin-demo"))
        environment.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, "build", "collections"))
        endpoints = {"o365_graph_endpoint": emulator["graph_endpoint"],
                     "o365_authority_host": emulator["authority_host"], "o365_ca_path": emulator["ca_path"]}
        # The incident began before anything ran. revoked_since alone would skip the users the first playbook has just
        # revoked, but the role revokes again, after the block, every user it blocked in this run: sessions issued
        # between that revoke and the block must not survive.
        started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        revoke_rc = run_playbook("revoke_sessions.yml", dict(endpoints, o365_revoke_users=DEMO_USERS), environment)

        # The containment runbook, with the app that may also block sign-in.
        report_dir = tempfile.mkdtemp(prefix="o365-demo-")
        report_path = os.path.join(report_dir, "offboard-report.json")
        offboard_rc = run_playbook("offboard_users.yml", dict(endpoints, users=OFFBOARD_USERS, incident_started_at=started,
                                                              report_path=report_path),
                                   dict(environment, **credentials(emulator, "containment")))
        if os.path.exists(report_path):
            with open(report_path) as handle:
                report = json.load(handle)
            print("Containment report %s:" % report_path)
            for entry in report["users"]:
                print("  %-40s sign-in: %-10s sessions: %s" % (
                    entry["user"], (entry["block_sign_in"] or {}).get("outcome"),
                    (entry["revoke_sessions"] or {}).get("outcome")))
        calls = emulator.log_since(0)
        print("The emulator saw %d token request(s) and %d Graph call(s)." % (
            sum(1 for e in calls if e["kind"] == "token"), sum(1 for e in calls if e["kind"] == "graph")))
    return revoke_rc or offboard_rc


if __name__ == "__main__":
    sys.exit(main())
