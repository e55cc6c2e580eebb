#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures for issue 12: a nested group of N members (default 2,500) revoked through `groups`, against the same
users given as a plain `users` list, with a fixed latency per Graph request (default 50 ms). Also the
incident-grade runs: `groups` with `revoked_since` and `verify`, and the identical re-run that skips everyone.

Real ansible-playbook against the emulator; Graph calls counted from the emulator's request log. Prints a table
and writes JSON. Figures, not a test: nothing here asserts a time.

    .venv/bin/python benchmarks/group_vs_users.py [--members 2500] [--latency-ms 50]
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)

from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOK = os.path.join(ROOT, "benchmarks", "playbooks", "module_incident.yml")
RESULTS_CALLBACK = os.path.join(ROOT, "tests", "integration", "callback_plugins")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
GROUP_NAME = "Incident bench"


def run(emulator, work_dir, variables):
    """One playbook run; wall time, Graph calls by path kind, and the module's result."""
    run_dir = tempfile.mkdtemp(dir=work_dir)
    result_path = os.path.join(run_dir, "result.json")
    variables = dict(variables, bench_graph_endpoint=emulator["graph_endpoint"],
                     bench_authority_host=emulator["authority_host"], bench_ca_path=emulator["ca_path"],
                     bench_token_cache_path=os.path.join(run_dir, "token_cache.json"))
    vars_path = os.path.join(run_dir, "vars.json")
    with open(os.open(vars_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        json.dump(variables, handle)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    environment.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, "build", "collections"))
    environment.update(AZURE_TENANT_ID=emulator["tenant_id"], AZURE_CLIENT_ID=emulator["client_id"],
                       AZURE_CLIENT_SECRET=emulator["client_secret"], ANSIBLE_LOCALHOST_WARNING="False",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="False", ANSIBLE_CALLBACK_PLUGINS=RESULTS_CALLBACK,
                       ANSIBLE_CALLBACKS_ENABLED="task_results", O365_TEST_RESULTS=result_path)
    offset = emulator.log_size()
    started = time.monotonic()
    completed = subprocess.run([ANSIBLE_PLAYBOOK, PLAYBOOK, "-e", "@" + vars_path], env=environment,
                               capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError("the run failed:\n%s\n%s" % (completed.stdout[-3000:], completed.stderr[-3000:]))
    log = emulator.log_since(offset)
    graph = [e for e in log if e["kind"] == "graph"]
    with open(result_path) as handle:
        result = json.load(handle)[-1]["result"]
    return {
        "wall_s": round(wall, 2),
        "graph_calls": len(graph),
        "member_pages": sum(1 for e in graph if "/transitiveMembers/" in e["path"]),
        "group_reads": sum(1 for e in graph if e["path"].startswith("/v1.0/groups") and "/transitiveMembers/" not in e["path"]),
        "batch_calls": sum(1 for e in graph if e["path"] == "/v1.0/$batch"),
        "revokes": sum(1 for e in log if e["kind"] == "batch_item" and e["method"] == "POST"),
        "reads": sum(1 for e in log if e["kind"] == "batch_item" and e["method"] == "GET"),
        "token_calls": sum(1 for e in log if e["kind"] == "token"),
        "module_elapsed_s": result.get("elapsed_s"),
        "revoked": result.get("revoked_count"), "skipped": result.get("skipped_count"),
        "verified": result.get("verified_count"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=2500)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--output", default=os.path.join(ROOT, "build", "bench", "group_vs_users.json"))
    args = parser.parse_args()
    work_dir = tempfile.mkdtemp(prefix="o365-bench-")
    with RunningEmulator("--latency-ms", str(args.latency_ms), "--big-group",
                         "%s:%d" % (GROUP_NAME, args.members)) as emulator:
        group_id = emulator["groups"][GROUP_NAME]
        prefix = "incidentbench"
        users = [u["userPrincipalName"] for u in emulator.control("users", method="GET")["users"]
                 if u["userPrincipalName"].startswith(prefix)]
        since = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows = [
            ("users list", run(emulator, work_dir, {"bench_users": users})),
            ("groups", run(emulator, work_dir, {"bench_groups": [group_id]})),
            ("users list + revoked_since + verify", run(emulator, work_dir, {
                "bench_users": users, "bench_revoked_since": "-1s", "bench_verify": True})),
        ]
        # A fresh incident: revoke everyone since now with proof, then the identical re-run.
        time.sleep(1.0)
        since = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append(("groups + revoked_since + verify", run(emulator, work_dir, {
            "bench_groups": [group_id], "bench_revoked_since": since, "bench_verify": True})))
        rows.append(("same, re-run (all skipped)", run(emulator, work_dir, {
            "bench_groups": [group_id], "bench_revoked_since": since, "bench_verify": True})))
    print("%d users (%d-member nested group), %.0f ms per Graph call" % (len(users), args.members, args.latency_ms))
    print("| way | wall s | Graph calls | group reads | member pages | $batch calls | revokes | reads | revoked | "
          "skipped | verified |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, row in rows:
        print("| %s | %.2f | %d | %d | %d | %d | %d | %d | %s | %s | %s |" % (
            name, row["wall_s"], row["graph_calls"], row["group_reads"], row["member_pages"], row["batch_calls"],
            row["revokes"], row["reads"], row["revoked"], row["skipped"], row["verified"]))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        json.dump({"members": args.members, "latency_ms": args.latency_ms, "rows": dict(rows)}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
