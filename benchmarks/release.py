#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures for issue 25: the release's cost against the record's size. A containment record of N users (default
1,000 and 10,000) is released by o365_containment (state=released) through real ansible-playbook against the
emulator (decisions, one batched read, one batched write, the release record), and, in process, the decisions alone
(record read, tenant filter, per-user choice, the verdict against Graph's answers) without the network. The ratio of
the largest size to the smallest, beside the ratio of sizes, shows whether the cost is linear. Before issue 25 the
release decided in Jinja: 52 s of templating at 1,000 users, 490 s at 4,000 (x9.4 for x4).

Figures, not a test: nothing here asserts a time.

    .venv/bin/python benchmarks/release.py [--sizes 1000,10000] [--latency-ms 0]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.o365.admin.plugins.module_utils import _release  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.o365.admin.plugins.module_utils._user_read import UserRead  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOK = os.path.join(ROOT, "benchmarks", "playbooks", "module_release.yml")
COLLECTIONS = os.path.join(ROOT, "build", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def containment_record(users, tenant_id):
    """What a containment run that blocked and revoked ``users`` records (schema 2)."""
    return {"schema_version": 2, "kind": "containment", "run_id": "bench", "incident": "BENCH", "check_mode": False,
            "users": [{"user": u["userPrincipalName"], "user_id": u["id"], "user_principal_name": u["userPrincipalName"],
                       "tenant": tenant_id, "account_enabled_before": True, "account_enabled_after": False,
                       "account_enabled_changed": True,
                       "sessions_valid_from_after": u["signInSessionsValidFromDateTime"]} for u in users]}


def decisions_in_process(path):
    """Seconds for the decisions alone: read the record, choose per user, judge each against a Graph answer."""
    started = time.perf_counter()
    record = _release.load_record(path)
    rows = _release.rows_of([(path, record)])
    ours = _release.rows_of_tenant(rows, lambda name: True)
    chosen = _release.choose_rows(ours, set(), set())
    for row in chosen:
        answer = BatchOutcome(200, {}, None)
        _release.graph_verdict(row, UserRead(answer, {"account_enabled": False, "sessions_valid_from": row.entry[
            "sessions_valid_from_after"]}))
    return time.perf_counter() - started


def release(emulator, users, work_dir, size):
    run_dir = tempfile.mkdtemp(dir=work_dir, prefix="release-%d-" % size)
    emulator.control("user_state", {"users": dict((u["id"], {"accountEnabled": False}) for u in users)})
    record_path = os.path.join(run_dir, "record.json")
    with open(record_path, "w") as handle:
        json.dump(containment_record(users, emulator["tenant_id"]), handle)
    in_process = min(decisions_in_process(record_path) for dummy in range(3))
    variables = {"bench_graph_endpoint": emulator["graph_endpoint"], "bench_authority_host": emulator["authority_host"],
                 "bench_ca_path": emulator["ca_path"],
                 "bench_token_cache_path": os.path.join(run_dir, "cache", "token_cache.json"),
                 "bench_record": record_path, "bench_report_path": os.path.join(run_dir, "release.json"),
                 "bench_max_users": size}
    vars_file = os.path.join(run_dir, "vars.json")
    with open(vars_file, "w") as handle:
        json.dump(variables, handle)
    app = emulator["apps"]["containment"]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, AZURE_TENANT_ID=emulator["tenant_id"],
               AZURE_CLIENT_ID=app["client_id"], AZURE_CLIENT_SECRET=app["client_secret"],
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    offset = emulator.log_size()
    started = time.monotonic()
    completed = subprocess.run([ANSIBLE_PLAYBOOK, PLAYBOOK, "-e", "@" + vars_file], env=env, cwd=run_dir,
                               capture_output=True, text=True, timeout=3600, check=False)
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit("release of %d users failed:\n%s\n%s" % (size, completed.stdout[-4000:],
                                                                  completed.stderr[-4000:]))
    with open(variables["bench_report_path"]) as handle:
        written = json.load(handle)
    entries = emulator.log_since(offset)
    return {"users": size, "wall_s": round(wall, 2), "decisions_in_process_s": round(in_process, 4),
            "allowed": written["allowed_count"], "skipped": written["skipped_count"],
            "batch_calls": len([e for e in entries if e["kind"] == "graph" and e["path"].endswith("$batch")])}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--output", default=os.path.join(ROOT, "build", "bench", "release.json"))
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    work_dir = tempfile.mkdtemp(prefix="o365-bench-release-")
    with RunningEmulator("--extra-users", str(max(sizes)), "--latency-ms", str(args.latency_ms)) as emulator:
        everyone = [u for u in emulator.control("users", method="GET")["users"] if u["userPrincipalName"].startswith("user")]
        rows = [release(emulator, everyone[:size], work_dir, size) for size in sizes]
    small, large = rows[0], rows[-1]
    growth = float(large["users"]) / small["users"]
    print("%-8s %10s %22s %12s %9s %9s" % (
        "users", "wall s", "decisions (in process) s", "$batch calls", "allowed", "skipped"))
    for row in rows:
        print("%-8d %10.2f %22.4f %12d %9d %9d" % (row["users"], row["wall_s"], row["decisions_in_process_s"],
                                                   row["batch_calls"], row["allowed"], row["skipped"]))
    summary = {"size_ratio": growth, "wall_ratio": round(large["wall_s"] / small["wall_s"], 2),
               "decisions_ratio": round(large["decisions_in_process_s"] / small["decisions_in_process_s"], 2)}
    print("x%g users: wall x%.2f, decisions x%.2f (linear: about x%g; before issue 25, Jinja: x9.4 for x4)"
          % (growth, summary["wall_ratio"], summary["decisions_ratio"], growth))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        json.dump({"rows": rows, "summary": summary, "load_average": os.getloadavg()}, handle, indent=2)


if __name__ == "__main__":
    main()
