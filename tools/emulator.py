#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make emulator`: run the local Graph and Entra ID emulator in the foreground and say how to point a playbook at it.

Prints the environment variables the modules read (as `export` lines) and the same as a `module_defaults` block,
for one of the demo tenant's apps (--app, default `containment`, which may block sign-in, revoke, read users and
list groups), then the demo tenant's users with their object IDs. Stops on Ctrl-C. Any other argument goes to the
emulator (python -m tests.graph_emulator --help), e.g. --port 8443 or --latency-ms 50.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import os
import shlex
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)

from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position
from tests.graph_emulator.tenant import FINANCE_GROUP_ID  # noqa: E402  pylint: disable=wrong-import-position


def settings(emulator, app):
    """(environment variable, module option, value) for everything a module needs to reach the emulator as `app`."""
    registration = emulator["apps"][app]
    return [
        ("AZURE_TENANT_ID", "tenant_id", emulator["tenant_id"]),
        ("AZURE_CLIENT_ID", "client_id", registration["client_id"]),
        ("AZURE_CLIENT_SECRET", "client_secret", registration["client_secret"]),
        # Only these three differ from a real tenant: they point Entra ID, Graph and the CA at the emulator.
        ("AZURE_AUTHORITY_HOST", "authority_host", emulator["authority_host"]),
        ("O365_GRAPH_ENDPOINT", "graph_endpoint", emulator["graph_endpoint"]),
        ("O365_CA_PATH", "ca_path", emulator["ca_path"]),
    ]


def user_notes(user):
    notes = []
    if user.get("userType") == "Guest":
        notes.append("B2B guest")
    if user.get("onPremisesSyncEnabled"):
        notes.append("synced from on-premises AD")
    if not user.get("accountEnabled", True):
        notes.append("sign-in blocked")
    return ", ".join(notes)


def describe(emulator, app, own_tenant):
    values = settings(emulator, app)
    python_bin = os.path.dirname(sys.executable)
    lines = ["The Graph emulator is listening on %s (Ctrl-C stops it; its secrets and CA are new at every start)."
             % emulator["graph_endpoint"], "",
             "In another shell, for the app %r (%s):" % (app, ", ".join(emulator["apps"][app]["roles"])), ""]
    lines += ["export %s=%s" % (name, shlex.quote(value)) for name, dummy, value in values]
    # An ansible-playbook with msal and requests beside it, and o365.admin from this checkout.
    lines += ["export PATH=%s:\"$PATH\"" % shlex.quote(python_bin),
              "export ANSIBLE_COLLECTIONS_PATH=%s" % shlex.quote(os.path.join(ROOT, "build", "collections")),
              "ansible-playbook %s -e '{\"o365_revoke_users\": [\"adele.vance@contoso.onmicrosoft.com\"]}'"
              % os.path.join(ROOT, "playbooks", "revoke_sessions.yml"), "",
              "or, in a play (with ansible_python_interpreter: \"{{ ansible_playbook_python }}\"):", "",
              "  module_defaults:", "    group/o365.admin.graph:"]
    lines += ["      %s: %s" % (option, value) for dummy, option, value in values]
    lines += ["", "Users of the demo tenant:", "  %-36s  %s" % ("object ID", "userPrincipalName")]
    for user in emulator.control("users", method="GET")["users"]:
        lines.append(("  %-36s  %-52s  %s" % (user["id"], user["userPrincipalName"], user_notes(user))).rstrip())
    if own_tenant:
        lines.append("")
    else:
        lines += ["", "Groups: Finance (%s, with a nested group), Contractors (two groups of that name), Board"
                  " (hidden membership)." % FINANCE_GROUP_ID]
    lines.append("Request log (every call, never a secret): %s" % emulator["request_log"])
    return "\n".join(lines)


def stop_on(signum, dummy_frame):
    raise KeyboardInterrupt(signum)


def main(argv):
    parser = argparse.ArgumentParser(prog="make emulator", description=__doc__.split("\n\n")[1],
                                     epilog="Other arguments are passed to the emulator.")
    parser.add_argument("--app", default="containment", help="the demo tenant's app whose credentials to print")
    args, emulator_args = parser.parse_known_args(argv)
    with RunningEmulator(*emulator_args) as emulator:
        if args.app not in emulator["apps"]:
            print("No app %r in the emulator's tenant; there are: %s" % (args.app, ", ".join(emulator["apps"])),
                  file=sys.stderr)
            return 2
        print(describe(emulator, args.app, "--tenant" in emulator_args), flush=True)
        # Ctrl-C, or a kill from a script that started it in the background: stop the emulator with us.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop_on)
        try:
            emulator.process.wait()
        except KeyboardInterrupt:
            print("\nStopping the emulator.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
