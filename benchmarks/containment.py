#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures for issue 26: N users (default 1,000) contained - block sign-in, revoke, verify, record - by the module
o365_containment (one task), by the contain_user role now (a thin wrapper of it), and by the role as it was before
(benchmarks/playbooks/roles/contain_user, the baseline), in the same run against one emulator with a fixed
latency per Graph request (default 50 ms). Then, unless --no-quota, a quota-bound run: the emulator enforcing a
scaled-down identity write quota (default 100 writes per 5 s, Graph's 3,000 per 150 s at a 30th of the window) and
the module containing --quota-users users (default 10x the quota): the achieved write rate as a share of the quota's,
and every user accounted for.

Real ansible-playbook; Graph calls counted from the emulator's request log. Figures, not a test: nothing here asserts
a time.

    .venv/bin/python benchmarks/containment.py [--users 1000] [--latency-ms 50] [--no-quota]
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

from tests.integration.tenants import CLIENT_ID, Tenant  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOKS = os.path.join(ROOT, "benchmarks", "playbooks")
COLLECTIONS = os.path.join(ROOT, "build", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
# Each path with its own defaults; the module once more at the old role's 4 $batch calls in flight, to tell what the
# pipeline gives from what the concurrency gives.
PATHS = (("module", "contain_module.yml", {}),
         ("module, 4 in flight", "contain_module.yml", {"bench_batch_concurrency": 4}),
         ("role now", "contain_role.yml", {}), ("role before (baseline)", "contain_old_role.yml", {}))


def run(tenant, work_dir, playbook, users, label, extra=None):
    """One containment of ``users`` (all enabled first); wall time, Graph calls, and what the emulator holds after."""
    run_dir = tempfile.mkdtemp(dir=work_dir, prefix=label.split()[0] + "-")
    tenant.set_enabled(users, True)
    before = tenant.directory()
    record_path = os.path.join(run_dir, "record.json")
    variables = {"bench_users": users, "bench_record_path": record_path,
                 "bench_graph_endpoint": tenant.emulator["graph_endpoint"],
                 "bench_authority_host": tenant.emulator["authority_host"], "bench_ca_path": tenant.emulator["ca_path"],
                 "bench_token_cache_path": os.path.join(run_dir, "token_cache.json")}
    variables.update(extra or {})
    vars_file = os.path.join(run_dir, "vars.json")
    with open(vars_file, "w") as handle:
        json.dump(variables, handle)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    environment.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False",
                       ANSIBLE_LOCAL_TEMP=os.path.join(run_dir, "ansible-tmp"), AZURE_TENANT_ID=tenant.tenant_id,
                       AZURE_CLIENT_ID=CLIENT_ID, AZURE_CLIENT_SECRET=tenant.client_secret)
    offset = tenant.emulator.log_size()
    started = time.monotonic()
    completed = subprocess.run([ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOKS, playbook), "-e", "@" + vars_file],
                               env=environment, capture_output=True, text=True, timeout=3600, cwd=run_dir,
                               check=False)
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (label, completed.stdout[-4000:], completed.stderr[-4000:]))
    entries = tenant.emulator.log_since(offset)
    after = tenant.directory()
    graph = [e for e in entries if e["kind"] == "graph"]
    items = [e for e in entries if e["kind"] == "batch_item"]
    writes = [e for e in items + graph if e["method"] == "PATCH" or e["path"].endswith("/revokeSignInSessions")]
    accepted = sorted(e["time"] for e in writes if 200 <= e["status"] < 300)
    return {"write_span_s": round(accepted[-1] - accepted[0], 2) if len(accepted) > 1 else 0.0,
            "label": label, "users": len(users), "wall_s": round(wall, 2),
            "graph_calls": len(graph), "batch_calls": len([e for e in graph if e["path"].endswith("$batch")]),
            "token_calls": len([e for e in entries if e["kind"] == "token"]),
            "requests": len(items) + len([e for e in graph if not e["path"].endswith("$batch")]),
            "writes": len([e for e in writes if 200 <= e["status"] < 300]),
            "write_attempts": len(writes), "throttled": len([e for e in items + graph if e["status"] == 429]),
            "blocked": sum(1 for u in users if after[u]["accountEnabled"] is False),
            "revokes_per_user": sorted(set(after[u]["revocations"] - before[u]["revocations"] for u in users))}


def quota_run(work_dir, users, limit, window_s, latency_ms):
    """The module against a tenant whose emulator enforces ``limit`` writes per ``window_s``."""
    tenant = Tenant("quota", work_dir, users, ("--latency-ms", str(latency_ms)))
    try:
        tenant.emulator.control("faults", {"quota": {"limit": limit, "window_s": window_s}})
        row = run(tenant, work_dir, "contain_module.yml", tenant.users, "module under quota")
    finally:
        tenant.stop()
    quota_rate = float(limit) / window_s
    # The first window's worth goes at once; the rest can go no faster than the quota's rate.
    least = max(0.0, (row["writes"] - limit) / quota_rate)
    # The share of the quota's rate the writes achieved: over the time from the first accepted write to the last
    # (what the quota governs), and over the whole run (playbook start, reads and verify included).
    row.update(quota="%d writes per %g s" % (limit, window_s), quota_rate_per_s=quota_rate,
               least_write_time_s=round(least, 1),
               achieved_share=round(least / row["write_span_s"], 3) if row["write_span_s"] else None,
               achieved_share_of_wall=round(least / row["wall_s"], 3) if row["wall_s"] else None)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--no-quota", action="store_true")
    parser.add_argument("--only-quota", action="store_true")
    parser.add_argument("--quota-limit", type=int, default=100)
    parser.add_argument("--quota-window-s", type=float, default=5.0)
    parser.add_argument("--quota-users", type=int)
    parser.add_argument("--output", default=os.path.join(ROOT, "build", "bench", "containment.json"))
    args = parser.parse_args(argv)
    work_dir = tempfile.mkdtemp(prefix="o365-bench-containment-")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load_before = os.getloadavg()
    rows = []
    if not args.only_quota:
        tenant = Tenant("bench", work_dir, args.users, ("--latency-ms", str(args.latency_ms)))
        try:
            rows = [run(tenant, work_dir, playbook, tenant.users, label, extra) for label, playbook, extra in PATHS]
        finally:
            tenant.stop()
    quota = None
    if not args.no_quota:
        quota = quota_run(work_dir, args.quota_users or 10 * args.quota_limit, args.quota_limit, args.quota_window_s,
                          args.latency_ms)
    load_after = os.getloadavg()
    baseline = rows[-1] if rows else None
    print("cores usable: %d; load average before %.2f, after %.2f; %d users, %g ms per Graph request"
          % (cores, load_before[0], load_after[0], args.users, args.latency_ms))
    print("%-24s %8s %8s %12s %9s %8s %9s %14s %10s" % (
        "path", "wall s", "x base", "Graph calls", "$batch", "tokens", "writes", "revokes/user", "blocked"))
    for row in rows:
        print("%-24s %8.2f %8.2f %12d %9d %8d %9d %14s %10d" % (
            row["label"], row["wall_s"], baseline["wall_s"] / row["wall_s"], row["graph_calls"], row["batch_calls"],
            row["token_calls"], row["writes"], row["revokes_per_user"], row["blocked"]))
    if quota is not None:
        print("quota-bound: %d users, %s: %d writes accepted (%d answered 429) from the first to the last in %.2f s "
              "(run %.2f s); the quota allows them in %.1f s at least: %.0f%% of the quota's rate (%.0f%% over the "
              "whole run); %d of %d users blocked, revokes per user %s"
              % (quota["users"], quota["quota"], quota["writes"], quota["throttled"], quota["write_span_s"],
                 quota["wall_s"], quota["least_write_time_s"], 100 * (quota["achieved_share"] or 0),
                 100 * (quota["achieved_share_of_wall"] or 0), quota["blocked"], quota["users"],
                 quota["revokes_per_user"]))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        json.dump({"cores": cores, "load_before": load_before, "load_after": load_after,
                   "latency_ms": args.latency_ms, "rows": rows, "quota": quota}, handle, indent=2)
    print("written: %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
