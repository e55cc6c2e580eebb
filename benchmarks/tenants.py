#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures for issue 20: how tenants scale on one controller. playbooks/contain_tenants.yml (block sign-in, revoke,
verify, one merged record) over 3 tenants x N users (default 1,000) with --forks 3, against 1 tenant x N users in the
same run; each tenant is an emulator of its own with a fixed latency per Graph request (default 50 ms).

Real ansible-playbook; Graph calls counted from each emulator's request log. Prints a table and writes JSON, with the
cores this process may use and the load average. Figures, not a test: nothing here asserts a time.

    .venv/bin/python benchmarks/tenants.py [--users 1000] [--latency-ms 50] [--tenants 3] [--forks 3]
"""

import argparse
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)

from tests.integration.tenants import Tenant, run_playbook, write_inventory  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOK = os.path.join(ROOT, "playbooks", "contain_tenants.yml")
COLLECTIONS = os.path.join(ROOT, "build", "collections")


def contain(tenants, work_dir, users, forks, label):
    """One run of the tenant playbook over ``tenants``; wall time and Graph calls per tenant."""
    run_dir = tempfile.mkdtemp(dir=work_dir, prefix=label + "-")
    inventory = write_inventory(os.path.join(run_dir, "inventory.json"), tenants,
                                os.path.join(run_dir, "cache", "token_cache.json"))
    for tenant in tenants:
        tenant.set_enabled(tenant.users[:users], True)
    offsets = dict((tenant.name, tenant.emulator.log_size()) for tenant in tenants)
    record_path = os.path.join(run_dir, "record.json")
    started = time.monotonic()
    completed = run_playbook(PLAYBOOK, inventory, run_dir, COLLECTIONS, forks=forks, timeout=3600, extra_vars={
        "users_by_tenant": dict((t.name, t.users[:users]) for t in tenants), "report_path": record_path,
        "incident": "bench"})
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (label, completed.stdout[-4000:], completed.stderr[-4000:]))
    with open(record_path) as handle:
        record = json.load(handle)
    calls = {}
    for tenant in tenants:
        entries = tenant.emulator.log_since(offsets[tenant.name])
        calls[tenant.name] = {"batch": len([e for e in entries if e["kind"] == "graph" and e["path"].endswith("$batch")]),
                              "batch_items": len([e for e in entries if e["kind"] == "batch_item"]),
                              "token": len([e for e in entries if e["kind"] == "token"])}
    blocked = len([u for u in record["users"] if u["account_enabled_changed"]])
    return {"label": label, "tenants": len(tenants), "users_per_tenant": users, "forks": forks,
            "wall_s": round(wall, 2), "users_blocked": blocked, "calls": calls}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--forks", type=int, default=3)
    parser.add_argument("--output", default=os.path.join(ROOT, "build", "bench", "tenants.json"))
    args = parser.parse_args(argv)
    work_dir = tempfile.mkdtemp(prefix="o365-bench-tenants-")
    names = ["tenant%d" % n for n in range(1, args.tenants + 1)]
    started = []
    try:
        for name in names:
            started.append(Tenant(name, work_dir, args.users, ("--latency-ms", str(args.latency_ms))))
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        load_before = os.getloadavg()
        rows = [contain(started[:1], work_dir, args.users, 1, "1 tenant"),
                contain(started, work_dir, args.users, args.forks, "%d tenants" % args.tenants)]
        load_after = os.getloadavg()
    finally:
        for tenant in started:
            tenant.stop()
    ratio = rows[1]["wall_s"] / rows[0]["wall_s"]
    print("cores usable: %d; load average before %.2f, after %.2f; %d users per tenant, %g ms per Graph request"
          % (cores, load_before[0], load_after[0], args.users, args.latency_ms))
    print("%-12s %6s %8s %14s %14s %12s" % ("run", "forks", "wall s", "users blocked", "$batch calls", "token calls"))
    for row in rows:
        print("%-12s %6d %8.2f %14d %14d %12d" % (
            row["label"], row["forks"], row["wall_s"], row["users_blocked"],
            sum(c["batch"] for c in row["calls"].values()), sum(c["token"] for c in row["calls"].values())))
    print("%d tenants took %.2fx the time of one, for %dx the users." % (args.tenants, ratio, args.tenants))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        json.dump({"cores": cores, "load_before": load_before, "load_after": load_after, "latency_ms": args.latency_ms,
                   "rows": rows, "ratio": ratio}, handle, indent=2)
    print("written: %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
