#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench-identity`: what comparing users as directory objects costs, in HTTP calls and time.

Runs o365_revoke_sessions with 1,000 users (emulator at 50 ms per Graph request) four ways, in the same run:
  UPNs only                      no read is needed: the revokes' $batch calls (and the token) only
  UPNs, 10 excluded by object ID the exclude is the rarer form: read once, batched
  950 UPNs + 50 object IDs       the 50 IDs are read, batched (20 per call)
  500 UPNs + 500 object IDs      the worst mix: half the users read
and prints the Graph calls beside the UPN-only run. Figures, not a test.
"""

import argparse
import os
import sys
import tempfile
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.revoke_bulk import Bench, users_for  # noqa: E402  pylint: disable=wrong-import-position
from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position


def object_id(n):
    """The emulator's load users: user N has the object ID UUID(int=N + 1)."""
    return str(uuid.UUID(int=n + 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    n = args.users
    upns = users_for(n)
    mixes = [
        ("UPNs only", upns, None),
        ("UPNs, 10 excluded by object ID", upns, [object_id(k) for k in range(1, 11)]),
        ("%d UPNs + %d object IDs" % (n - n // 20, n // 20),
         upns[:n - n // 20] + [object_id(k) for k in range(n - n // 20 + 1, n + 1)], None),
        ("%d UPNs + %d object IDs" % (n - n // 2, n // 2),
         upns[:n - n // 2] + [object_id(k) for k in range(n - n // 2 + 1, n + 1)], None),
    ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="o365-bench-identity-") as work_dir:
        with RunningEmulator("--latency-ms", str(args.latency_ms), "--extra-users", str(n)) as emulator:
            bench = Bench(emulator, work_dir, None)
            for label, users, exclude in mixes:
                print("%s ..." % label, file=sys.stderr, flush=True)
                extra = {"bench_exclude": exclude} if exclude else {}
                figures = bench.run("module_identity.yml", users, extra_vars=extra)
                result = figures["module_result"]
                rows.append((label, figures["wall_s"], figures["graph_calls"], figures["batch_calls"],
                             figures["token_calls"] + figures["openid_calls"], result.get("revoked_count"),
                             result.get("skipped_count")))
    base_calls = rows[0][2]
    header = "%-34s %8s %11s %8s %12s %12s %8s %8s" % (
        "%d users" % n, "wall s", "Graph calls", "$batch", "extra calls", "Entra calls", "revoked", "skipped")
    print(header)
    print("-" * len(header))
    for label, wall, calls, batches, entra, revoked, skipped in rows:
        print("%-34s %8.2f %11d %8d %12d %12d %8s %8s" % (
            label, wall, calls, batches, calls - base_calls, entra, revoked, skipped))
    print("\nextra calls: Graph calls beside the UPN-only run; the bound is one batched read per 20 users (%d here)."
          "\nEntra calls: the token request and msal's OpenID discovery, once per task." % (n // 20))
    return 0


if __name__ == "__main__":
    sys.exit(main())
