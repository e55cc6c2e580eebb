#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures for issue 19: seconds from the moment the emulator marks a user risky to the moment Graph sees the
revoke, with ansible-rulebook running extensions/eda/rulebooks/contain_risky_users.yml (10 s poll interval by
default), over several runs, and how each splits:

  poll wait     marked at risk -> the event source's poll that returned the user (Graph's answer to the list)
  rulebook      that answer -> ansible-rulebook calls ansible-runner for the playbook (its "Calling Ansible runner")
  playbook      ansible-runner called -> the playbook's first Graph request (ansible-playbook and module start)
  graph calls   first Graph request -> the revoke reaches Graph (read, block sign-in, read, revoke)

Real ansible-rulebook (build/eda-venv), msal and requests against the emulator; times come from the emulator's
request log and ansible-rulebook's own log. Figures, not a test: nothing here asserts a time.

    make bench-eda   (BENCH_EDA_ARGS="--runs 5 --interval 10")
"""

import argparse
import datetime
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)

from tests.eda.rulebook import Rulebook  # noqa: E402  pylint: disable=wrong-import-position
from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position

DOMAIN = "contoso.onmicrosoft.com"
RISKY_USERS = "/v1.0/identityProtection/riskyUsers"
RUNNER_CALLED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*Calling Ansible runner", re.M)


def runner_calls(log):
    """Epoch seconds of each "Calling Ansible runner" line (ansible-rulebook logs local time, milliseconds)."""
    return [datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()
            for stamp in RUNNER_CALLED.findall(log)]


def measure(emulator, rulebook, user, timeout_s, pause_s):
    # A risk arrives at any moment of the poll cycle, not in step with the previous run.
    time.sleep(pause_s)
    users = dict((u["userPrincipalName"], u) for u in emulator.control("users", method="GET")["users"])
    user_id = users[user]["id"]
    offset = emulator.log_size()
    marked = time.time()
    emulator.control("risk", {"users": {user: {"riskLevel": "high"}}})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        entries = emulator.log_since(offset)
        revokes = [e for e in entries if e["method"] == "POST" and "revokeSignInSessions" in e["path"]
                   and user_id in e["path"] and e["status"] == 200]
        if revokes:
            break
        time.sleep(0.1)
    else:
        raise SystemExit("no revoke for %s within %d s; ansible-rulebook said:\n%s"
                         % (user, timeout_s, rulebook.log()[-4000:]))
    revoked = revokes[0]["time"]
    polled = min(e["time"] for e in entries if e["path"] == RISKY_USERS and e["status"] == 200 and e["time"] >= marked)
    called = min(t for t in runner_calls(rulebook.log()) if t >= polled - 0.001)
    first = min(e["time"] for e in entries if e["time"] > called and e["path"] != RISKY_USERS
                and e["kind"] in ("graph", "batch_item", "token"))
    # Let the playbook finish (report, ledger) before the next run starts.
    time.sleep(4)
    return {"user": user, "total_s": revoked - marked, "poll_wait_s": polled - marked, "rulebook_s": called - polled,
            "playbook_start_s": first - called, "graph_calls_s": revoked - first}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--interval", type=int, default=10, help="the event source's poll interval, seconds")
    parser.add_argument("--seed", type=int, default=19, help="for the random moment of each run in the cycle")
    parser.add_argument("--output", default=os.path.join(ROOT, "build", "bench", "eda_latency.json"))
    args = parser.parse_args(argv)
    work_dir = tempfile.mkdtemp(prefix="o365-eda-bench-")
    users = ["user%04d@%s" % (n, DOMAIN) for n in range(1, args.runs + 1)]
    with RunningEmulator("--extra-users", str(args.runs)) as emulator:
        rulebook = Rulebook(emulator, work_dir, "bench", os.path.join(work_dir, "eda"),
                            {"o365_interval": args.interval, "o365_exclude": [], "o365_brake_max_users": 1000},
                            verbosity="-vv")
        try:
            time.sleep(args.interval + 2)  # the source's first poll and the engine's start are not measured
            rng = random.Random(args.seed)
            rows = [measure(emulator, rulebook, user, args.interval * 3 + 60, rng.uniform(0, args.interval))
                    for user in users]
        finally:
            rulebook.stop()
    keys = ("total_s", "poll_wait_s", "rulebook_s", "playbook_start_s", "graph_calls_s")
    print("%d runs, poll interval %d s (seconds):" % (len(rows), args.interval))
    print("%-34s %8s %10s %9s %15s %12s" % ("user", "total", "poll wait", "rulebook", "playbook start",
                                            "graph calls"))
    for row in rows:
        print("%-34s %8.2f %10.2f %9.2f %15.2f %12.2f" % ((row["user"],) + tuple(row[k] for k in keys)))
    summary = dict((key, {"median": statistics.median(r[key] for r in rows), "max": max(r[key] for r in rows)})
                   for key in keys)
    print("%-34s %8.2f %10.2f %9.2f %15.2f %12.2f" % (("median",) + tuple(summary[k]["median"] for k in keys)))
    print("%-34s %8.2f %10.2f %9.2f %15.2f %12.2f" % (("max",) + tuple(summary[k]["max"] for k in keys)))
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        json.dump({"interval_s": args.interval, "runs": rows, "summary": summary}, handle, indent=2)
    print("Written to %s" % args.output)


if __name__ == "__main__":
    main()
