#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: how fast o365.admin revokes many users, against a baseline measured in the same run.

Starts the Graph emulator with a fixed latency per Graph request (default 50 ms, a real round trip to Graph),
then for each N runs real ansible-playbook three ways:
  baseline      ansible.builtin.uri: a token request and a revoke per user, in a loop
  module-loop   o365_revoke_sessions with user, in a loop (token cache on)
  module-users  o365_revoke_sessions with users (JSON batching)
and counts the HTTP calls each made, by kind, from the emulator's request log. It also runs module-users
  - with a latency tail (every 10th $batch call 1 s slower), beside the even run of the same size;
  - with one item (the first user's revoke) answered 429 with a Retry-After of 2 s and no quota behind it,
    beside the even run of the same size: it should cost that item's Retry-After, not the whole run's pace;
  - over 10,000 users;
  - for one user again with the token cache the first run left (a later task or run: no token request);
and the module process's peak memory comes from an interpreter wrapper that reads its resource usage. Then it
runs module-users under a write quota like Graph's identity limit, scaled down (default 300 writes per 15 s),
and compares its wall time with the minimum the quota itself forces. Prints a table and writes it as JSON. A
script that prints figures, not a test: nothing here asserts a time.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)

from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOKS = os.path.join(ROOT, "benchmarks", "playbooks")
RESULTS_CALLBACK = os.path.join(ROOT, "tests", "integration", "callback_plugins")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
DOMAIN = "contoso.onmicrosoft.com"
WAYS = {"baseline": "baseline_uri.yml", "module-loop": "module_loop.yml", "module-users": "module_users.yml"}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,100,1000", help="comma-separated user counts")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--quota", default="300/15", help="WRITES/SECONDS for the throttled run ('' to skip)")
    parser.add_argument("--throttled-users", type=int, default=1000)
    parser.add_argument("--ways", default=",".join(WAYS), help="which of %s to run" % ", ".join(WAYS))
    parser.add_argument("--loops-up-to", type=int, default=None,
                        help="run baseline and module-loop only for N up to this (default: every N)")
    parser.add_argument("--tail-users", type=int, default=1000, help="users in the latency-tail run (0: skip)")
    parser.add_argument("--tail", default="10/1000", help="NTH/EXTRA_MS: every NTH $batch call EXTRA_MS slower")
    parser.add_argument("--one-429-users", type=int, default=1000,
                        help="users in the run with one item answered 429 (0: skip)")
    parser.add_argument("--one-429-retry-after", type=int, default=2, help="that 429's Retry-After, in seconds")
    parser.add_argument("--large-users", type=int, default=10000, help="users in the large run (0: skip)")
    parser.add_argument("--batch-concurrency", type=int, default=None, help="default: the module's")
    parser.add_argument("--output", default=os.path.join(ROOT, "build", "bench", "revoke_bulk.json"))
    return parser.parse_args()


# Runs the module under the real interpreter and logs that process's peak resident memory (ru_maxrss, KiB).
INTERPRETER_WRAPPER = """#!%(python)s
import os, resource, subprocess, sys
status = subprocess.call([%(python)r] + sys.argv[1:])
with open(os.environ["O365_BENCH_RSS_LOG"], "a") as log:
    log.write("%%d\\n" %% resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(status)
"""


class Bench:
    def __init__(self, emulator, work_dir, batch_concurrency):
        self.emulator = emulator
        self.work_dir = work_dir
        self.batch_concurrency = batch_concurrency
        self.interpreter = os.path.join(work_dir, "python-measured")
        with open(self.interpreter, "w") as handle:
            handle.write(INTERPRETER_WRAPPER % {"python": sys.executable})
        os.chmod(self.interpreter, 0o700)

    def run(self, playbook, users, cache_dir=None, extra_vars=None):
        """Run one playbook over ``users``; return wall time, HTTP calls by kind, the module process's peak memory
        and the module's result. Each run starts without a cached token unless given the ``cache_dir`` of another."""
        cache_dir = cache_dir or tempfile.mkdtemp(dir=self.work_dir)
        result_path = os.path.join(cache_dir, "result.json")
        rss_log = os.path.join(cache_dir, "peak_rss_kb.log")
        if os.path.exists(rss_log):
            os.remove(rss_log)
        variables = {
            "bench_users": users, "bench_graph_endpoint": self.emulator["graph_endpoint"],
            "bench_authority_host": self.emulator["authority_host"], "bench_ca_path": self.emulator["ca_path"],
            "bench_tenant_id": self.emulator["tenant_id"], "bench_client_id": self.emulator["client_id"],
            "bench_client_secret": self.emulator["client_secret"],
            "bench_token_cache_path": os.path.join(cache_dir, "token_cache.json"),
            # Extra vars beat the play's own: the module runs under the wrapper that measures it.
            "ansible_python_interpreter": self.interpreter,
        }
        if self.batch_concurrency:
            variables["bench_batch_concurrency"] = self.batch_concurrency
        variables.update(extra_vars or {})
        vars_path = os.path.join(cache_dir, "vars.json")
        with open(os.open(vars_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
            json.dump(variables, handle)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
        environment.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, "build", "collections"))
        environment.update(AZURE_TENANT_ID=self.emulator["tenant_id"], AZURE_CLIENT_ID=self.emulator["client_id"],
                           AZURE_CLIENT_SECRET=self.emulator["client_secret"],
                           ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                           # The module's result comes through the test suite's results callback, not an extra task.
                           ANSIBLE_CALLBACK_PLUGINS=RESULTS_CALLBACK, ANSIBLE_CALLBACKS_ENABLED="task_results",
                           O365_TEST_RESULTS=result_path, O365_BENCH_RSS_LOG=rss_log)
        offset = self.emulator.log_size()
        started = time.monotonic()
        completed = subprocess.run([ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOKS, playbook), "-e", "@" + vars_path],
                                   env=environment, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        if completed.returncode != 0:
            raise RuntimeError("%s failed:\n%s\n%s" % (playbook, completed.stdout[-3000:], completed.stderr[-3000:]))
        log = self.emulator.log_since(offset)
        with open(result_path) as handle:
            module_result = json.load(handle)[-1]["result"]
        with open(rss_log) as handle:
            peak_kb = max(int(line) for line in handle if line.strip())
        graph = [e for e in log if e["kind"] == "graph"]
        return {
            "wall_s": round(wall, 3),
            "graph_calls": len(graph),
            "batch_calls": sum(1 for e in graph if e["path"].endswith("/$batch")),
            "token_calls": sum(1 for e in log if e["kind"] == "token"),
            "openid_calls": sum(1 for e in log if e["kind"] == "openid"),
            "http_429": sum(1 for e in log if e.get("status") == 429),
            "slow_calls": sum(1 for e in graph if e.get("fault") == "slow"),
            "peak_module_mb": round(peak_kb / 1024.0, 1),
            "module_result": module_result,
            "cache_dir": cache_dir,
        }


def users_for(count):
    return ["user%04d@%s" % (n, DOMAIN) for n in range(1, count + 1)]


def print_one_429(rows, retry_after):
    """The run with one item answered 429 against the even run of the same size, from the same emulator."""
    for one in [r for r in rows if r["way"] == "module-users, one 429"]:
        even = next(r for r in rows if r["n"] == one["n"] and r["way"] == "module-users")
        extra = one["wall_s"] - even["wall_s"]
        print("One 429: %d users, one item answered 429 Retry-After: %d -> wall %.2f s vs %.2f s even, %+.2f s "
              "(module elapsed %+.2f s); %d answers 429; %s" % (
                  one["n"], retry_after, one["wall_s"], even["wall_s"], extra,
                  one["module_elapsed_s"] - even["module_elapsed_s"], one["http_429"],
                  "within the 3 s the issue allows" if extra <= 3.0 else "MORE than the 3 s the issue allows"))


def print_table(rows, throttled):
    header = "%-6s %-27s %9s %8s %8s %7s %7s %8s %9s" % ("N", "way", "wall s", "$batch", "other", "token",
                                                         "OpenID", "peak MB", "speed-up")
    print(header)
    print("-" * len(header))
    for row in rows:
        speedup = "%.1fx" % row["speedup_vs_baseline"] if row.get("speedup_vs_baseline") else "-"
        print("%-6d %-27s %9.2f %8d %8d %7d %7d %8.1f %9s" % (
            row["n"], row["way"], row["wall_s"], row["batch_calls"], row["graph_calls"] - row["batch_calls"],
            row["token_calls"], row["openid_calls"], row["peak_module_mb"], speedup))
        if row.get("revoked_count") is not None and row["revoked_count"] != row["n"]:
            print("       ^ revoked %d of %d" % (row["revoked_count"], row["n"]))
    if throttled:
        print()
        print("Throttled: %d users, quota %d writes per %g s, latency %g ms" % (
            throttled["n"], throttled["quota_writes"], throttled["quota_window_s"], throttled["latency_ms"]))
        print("  wall %.2f s vs quota-bound minimum %.1f s (%.2fx); %d answers 429; %d Graph calls; "
              "revoked %d of %d; batches %d, retries %d; peak %.1f MB" % (
                  throttled["wall_s"], throttled["quota_bound_minimum_s"], throttled["wall_vs_minimum"],
                  throttled["http_429"], throttled["graph_calls"], throttled["revoked_count"], throttled["n"],
                  throttled["batches"], throttled["retries"], throttled["peak_module_mb"]))


def row(figures, n, way, baseline=None):
    result = figures.pop("module_result")
    figures.pop("cache_dir")
    return dict(figures, n=n, way=way, revoked_count=result.get("revoked_count"),
                module_elapsed_s=result.get("elapsed_s"),
                speedup_vs_baseline=round(baseline["wall_s"] / figures["wall_s"], 2) if baseline else None)


def measure(bench, label, playbook, users, cache_dir=None):
    print("N=%d %s ..." % (len(users), label), file=sys.stderr, flush=True)
    return bench.run(playbook, users, cache_dir)


def main():
    args = parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    extra_users = max(sizes + [args.throttled_users if args.quota else 0, args.tail_users, args.large_users])
    rows, throttled = [], None
    with tempfile.TemporaryDirectory(prefix="o365-bench-") as work_dir:
        with RunningEmulator("--latency-ms", str(args.latency_ms), "--extra-users", str(extra_users)) as emulator:
            bench = Bench(emulator, work_dir, args.batch_concurrency)
            for size in sizes:
                users = users_for(size)
                measured = {}
                for way in [w for w in WAYS if w in args.ways.split(",")]:
                    if way != "module-users" and args.loops_up_to is not None and size > args.loops_up_to:
                        continue
                    measured[way] = measure(bench, way, WAYS[way], users)
                baseline = measured.get("baseline")
                if size == 1 and "module-users" in measured:
                    # A later task or run within the token's life: the cache file serves it.
                    measured["module-users, cached token"] = measure(
                        bench, "module-users, cached token", WAYS["module-users"], users,
                        measured["module-users"]["cache_dir"])
                if size == args.tail_users and "module-users" in measured:
                    nth, extra_ms = args.tail.split("/")
                    emulator.control("faults", {"slow_every": {"nth": int(nth), "extra_ms": float(extra_ms),
                                                               "path": "/$batch"}})
                    measured["module-users, latency tail"] = measure(bench, "module-users, latency tail",
                                                                     WAYS["module-users"], users)
                    emulator.control("faults", {"slow_every": None})
                if size == args.one_429_users and "module-users" in measured:
                    # One item's own 429 (fail_user_next carries no x-ms-throttle-* headers: not the quota).
                    emulator.control("faults", {"fail_user_next": {users[0]: [
                        {"status": 429, "retry_after": str(args.one_429_retry_after)}]}})
                    measured["module-users, one 429"] = measure(bench, "module-users, one 429",
                                                                WAYS["module-users"], users)
                for way, figures in measured.items():
                    rows.append(row(figures, size, way, baseline))
            if args.large_users:
                figures = measure(bench, "module-users", WAYS["module-users"], users_for(args.large_users))
                rows.append(row(figures, args.large_users, "module-users"))
            if args.quota:
                writes, window = args.quota.split("/")
                writes, window = int(writes), float(window)
                emulator.control("faults", {"quota": {"limit": writes, "window_s": window}})
                figures = measure(bench, "module-users under quota %s" % args.quota, "module_users.yml",
                                  users_for(args.throttled_users))
                result = figures.pop("module_result")
                figures.pop("cache_dir")
                # Writes beyond the first window must wait for one window each: the quota forces this much.
                minimum = (math.ceil(args.throttled_users / float(writes)) - 1) * window
                throttled = dict(figures, n=args.throttled_users, quota_writes=writes, quota_window_s=window,
                                 latency_ms=args.latency_ms, quota_bound_minimum_s=minimum,
                                 wall_vs_minimum=round(figures["wall_s"] / minimum, 3) if minimum else None,
                                 revoked_count=result["revoked_count"], batches=result["batches"],
                                 retries=result["retries"], module_elapsed_s=result["elapsed_s"])
    print_table(rows, throttled)
    print_one_429(rows, args.one_429_retry_after)
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as handle:
        json.dump({"latency_ms": args.latency_ms, "rows": rows, "throttled": throttled,
                   "one_429_retry_after_s": args.one_429_retry_after,
                   "load_average": os.getloadavg()}, handle, indent=2)
    print("\nwritten: %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
