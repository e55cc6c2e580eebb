#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures for issue 27: proving N contained users (default 500) within Graph's reports limit.

The emulator enforces the reports limit (5 requests per 10 s per app) and holds, for each user, sign-ins after the
cut-off (refreshes with tokens from before it, refused with 50173). Two ways are measured in the same run:

- o365_containment_evidence_info through real ansible-playbook: three paged queries by time window (directory audits
  and interactive sign-ins on v1.0, non-interactive sign-ins on the beta), joined locally;
- the baseline a per-user tool pays: two sign-in queries per user (v1.0 and beta, filtered by userId), paced by the
  same limit, measured on a sample of users and projected to N at the limit's rate (marked "projected").

Prints a table and writes JSON. Figures, not a test: nothing here asserts a time.

    .venv/bin/python benchmarks/evidence.py [--users 500] [--refreshes 3] [--sample 10]
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
sys.path.insert(0, ROOT)
sys.path.insert(0, COLLECTIONS)

from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.o365.admin.plugins.module_utils._evidence import ReportsPacer  # noqa: E402

PLAYBOOK = os.path.join(ROOT, "tests", "integration", "playbooks", "containment_evidence.yml")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
CALLBACKS = os.path.join(ROOT, "tests", "integration", "callback_plugins")


def graph_time(minutes=0):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def module_run(emulator, app, users, cutoff, work_dir):
    results = os.path.join(work_dir, "results.json")
    variables = os.path.join(work_dir, "vars.json")
    with open(variables, "w") as handle:
        json.dump({"o365_graph_endpoint": emulator["authority_host"], "o365_authority_host": emulator["authority_host"],
                   "o365_ca_path": emulator["ca_path"], "o365_token_cache_path": os.path.join(work_dir, "cache.json"),
                   "o365_users": users, "o365_cutoff": cutoff}, handle)
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_CALLBACK_PLUGINS=CALLBACKS,
                       ANSIBLE_CALLBACKS_ENABLED="task_results", O365_TEST_RESULTS=results,
                       ANSIBLE_LOCALHOST_WARNING="False", AZURE_TENANT_ID=emulator["tenant_id"],
                       AZURE_CLIENT_ID=app["client_id"], AZURE_CLIENT_SECRET=app["client_secret"])
    offset = emulator.log_size()
    started = time.monotonic()
    completed = subprocess.run([ANSIBLE_PLAYBOOK, PLAYBOOK, "-e", "@" + variables], env=environment,
                               capture_output=True, text=True, timeout=3600, check=False)
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit("the module run failed:\n%s\n%s" % (completed.stdout[-3000:], completed.stderr[-3000:]))
    with open(results) as handle:
        result = json.load(handle)[0]["result"]
    calls = [e for e in emulator.log_since(offset) if e["kind"] == "graph" and "/auditLogs/" in e["path"]]
    return {"way": "o365_containment_evidence_info (time window, joined locally)", "users": len(users),
            "wall_s": round(wall, 2), "graph_calls": len(calls), "throttled_429": len([c for c in calls
                                                                                       if c["status"] == 429]),
            "paced_wait_s": result["paced_wait_s"], "summary": result["summary"], "measured": True}


def per_user_run(emulator, app, users, cutoff):
    token = requests.post("%s/%s/oauth2/v2.0/token" % (emulator["authority_host"], emulator["tenant_id"]),
                          data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                "client_secret": app["client_secret"], "scope": "https://graph.microsoft.com/.default"},
                          verify=emulator["ca_path"], timeout=30).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + token
    pacer = ReportsPacer()
    calls = throttled = 0
    started = time.monotonic()
    for user in users:
        for version, extra in (("v1.0", ""), ("beta", " and signInEventTypes/any(t: t eq 'nonInteractiveUser')")):
            while True:
                pacer.wait()
                calls += 1
                answer = session.get("%s/%s/auditLogs/signIns" % (emulator["authority_host"], version), params={
                    "$filter": "createdDateTime ge %s and userPrincipalName eq '%s'%s" % (cutoff, user, extra)},
                    verify=emulator["ca_path"], timeout=60)
                if answer.status_code != 429:
                    answer.raise_for_status()
                    break
                throttled += 1
                time.sleep(float(answer.headers.get("Retry-After") or 1))
    return {"way": "per user (2 sign-in queries each), measured on a sample", "users": len(users),
            "wall_s": round(time.monotonic() - started, 2), "graph_calls": calls, "throttled_429": throttled,
            "measured": True}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--refreshes", type=int, default=3, help="refused refreshes per user after the cut-off")
    parser.add_argument("--sample", type=int, default=10, help="users the per-user baseline is measured on")
    parser.add_argument("--output", default=os.path.join(ROOT, "build", "bench", "evidence.json"))
    args = parser.parse_args()
    work_dir = tempfile.mkdtemp(prefix="bench-evidence-")
    with RunningEmulator("--extra-users", str(args.users)) as emulator:
        app = emulator["apps"]["evidence"]
        users = ["user%04d@contoso.onmicrosoft.com" % n for n in range(1, args.users + 1)]
        cutoff = graph_time(-1)
        emulator.control("reports", {"sign_ins": [{"user": user, "token_issued_at": "2025-12-01T00:00:00.0000000Z"}
                                                  for user in users for dummy in range(args.refreshes)]})
        time.sleep(10)  # the reports limit's window starts empty for each way
        window = module_run(emulator, app, users, cutoff, work_dir)
        time.sleep(10)
        sample = per_user_run(emulator, app, users[:args.sample], cutoff)
    limit, per_s = 5, 10.0
    projected_calls = 2 * args.users
    projected = {"way": "per user, projected to %d users at the limit (5 per 10 s)" % args.users,
                 "users": args.users, "graph_calls": projected_calls,
                 "wall_s": round((projected_calls - limit) / float(limit) * per_s, 1), "measured": False}
    rows = [window, sample, projected]
    print("%-62s %6s %7s %9s %6s" % ("way", "users", "calls", "wall s", "429s"))
    for row in rows:
        cells = (row["way"], row["users"], row["graph_calls"], row["wall_s"], row.get("throttled_429", "-"))
        print("%-62s %6d %7d %9.1f %6s" % cells)
    print("ratio (projected per-user wall / time-window wall): %.0fx; calls: %.0fx"
          % (projected["wall_s"] / max(window["wall_s"], 0.01), projected_calls / float(window["graph_calls"])))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        json.dump({"rows": rows, "refreshes_per_user": args.refreshes, "cores": len(os.sched_getaffinity(0)),
                   "load_average": os.getloadavg()}, handle, indent=2)
    print("written: %s" % args.output)


if __name__ == "__main__":
    main()
