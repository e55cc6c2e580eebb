# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""python -m tests.graph_emulator [--port N] [--http] [--tenant FILE] ...: prints one JSON line once listening."""

import argparse
import json
import os
import shutil
import signal
import ssl
import sys
import tempfile
import threading

import trustme

from .faults import Faults
from .graph import GraphService
from .server import Emulator, EmulatorServer, RequestLog, is_graph_audience
from .tenant import Tenant, demo_tenant
from .tokens import TokenService


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tests.graph_emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="HTTPS port (default: a free one)")
    parser.add_argument("--http", action="store_true",
                        help="also serve Graph over plain HTTP on --http-port, to sit behind a validating proxy; "
                             "graph_endpoint then names that listener (msal still needs the HTTPS token endpoint)")
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--tenant", help="JSON file with users and app registrations (default: the demo tenant)")
    parser.add_argument("--extra-users", type=int, default=0, help="add userNNNN@ users to the demo tenant")
    parser.add_argument("--state-dir", help="where the CA, certificates and request log go (default: a temp dir, "
                                            "removed at exit)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every Graph request")
    parser.add_argument("--throttle", metavar="WRITES/SECONDS",
                        help="write quota per app, e.g. 3000/150 (Graph's identity write limit)")
    parser.add_argument("--token-lifetime", type=int, default=3599, help="seconds")
    parser.add_argument("--big-group", metavar="NAME:USERS", action="append", default=[],
                        help="add a nested group of that many new users, e.g. 'All staff:2500' (repeatable)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    state_dir = args.state_dir or tempfile.mkdtemp(prefix="graph-emulator-")
    os.makedirs(state_dir, exist_ok=True)
    ca = trustme.CA()
    ca_path = os.path.join(state_dir, "emulator-ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", "::1").configure_cert(context)

    tenant = Tenant.load(args.tenant) if args.tenant else demo_tenant(state_dir, args.extra_users)
    big_groups = {}
    for spec in args.big_group:
        name, dummy, count = spec.rpartition(":")
        big_groups[name] = tenant.make_nested_group(name, int(count))[0].id
    tokens = TokenService(tenant, args.token_lifetime)
    faults = Faults()
    settings = {"latency_ms": args.latency_ms}
    if args.throttle:
        limit, window = args.throttle.split("/")
        settings["quota"] = {"limit": int(limit), "window_s": float(window)}
    faults.configure(settings)
    request_log = RequestLog(os.path.join(state_dir, "requests.jsonl"))
    emulator = Emulator(tenant, tokens, GraphService(tenant, tokens, faults, is_graph_audience), faults, request_log)

    servers = [EmulatorServer(args.port, emulator, context)]
    if args.http:
        servers.append(EmulatorServer(args.http_port, emulator))
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()

    https_origin = "https://127.0.0.1:%d" % servers[0].port
    first_app = next(iter(tenant.apps.values()))
    certificates = getattr(tenant, "certificate_files", {})
    print(json.dumps({
        "authority_host": https_origin,
        "graph_endpoint": "http://127.0.0.1:%d" % servers[1].port if args.http else https_origin,
        "ca_path": ca_path,
        "tenant_id": tenant.tenant_id,
        "client_id": first_app.client_id,
        "client_secret": first_app.client_secret,
        "client_certificate_path": certificates.get("pem"),
        "client_certificate_pfx_path": certificates.get("pfx"),
        "client_certificate_password": certificates.get("pfx_password"),
        "request_log": request_log.path,
        "control_endpoint": https_origin + "/_emulator",
        "apps": {app.name: {"client_id": app.client_id, "client_secret": app.client_secret, "roles": app.roles}
                 for app in tenant.apps.values()},
        "users": [user.user_principal_name for user in tenant.users[:10]],
        "groups": big_groups,
    }), flush=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *unused: stop.set())
    stop.wait()
    for server in servers:
        server.shutdown()
        server.server_close()
    request_log.close()
    if not args.state_dir:
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
