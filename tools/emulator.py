#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make emulator`: run the local Graph and Entra ID emulator in the foreground and say how to point a playbook at it.

Prints the environment variables the modules read (as `export` lines) and the same as a `module_defaults` block,
for one of the demo tenant's apps (--app, default `risk-responder`, granted at start every permission the guides
use: block sign-in, revoke, read users, list groups and hidden memberships, read and act on Identity Protection's
risk), then the demo tenant's users with their object IDs, how to make a user risky, and an inventory and variables
for the rulebook (written to --out). With --tenants N, starts N emulator tenants instead and writes the tenants
inventory for playbooks/contain_tenants.yml. Stops on Ctrl-C. Any other argument goes to the emulator (python -m
tests.graph_emulator --help), e.g. --port 8443 or --latency-ms 50.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import datetime
import json
import os
import secrets
import shlex
import shutil
import signal
import sys
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)

from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position
from tests.graph_emulator.tenant import FINANCE_GROUP_ID  # noqa: E402  pylint: disable=wrong-import-position


# Every Graph application permission the guides use: o365_revoke_sessions, o365_user_sign_in, o365_user_info,
# groups with hidden membership, o365_risky_user_info / o365_risky_user and the event source.
GUIDE_PERMISSIONS = ["User.RevokeSessions.All", "User.EnableDisableAccount.All", "User.Read.All",
                     "GroupMember.Read.All", "Member.Read.Hidden", "IdentityRiskyUser.ReadWrite.All"]
DEFAULT_APP = "risk-responder"
# What a user installs to run the rulebook by hand: ansible-rulebook does not bring ansible-core, and the event
# source needs msal and requests in ansible-rulebook's own Python. Its Drools engine needs Java 17 (JAVA_HOME).
RULEBOOK_PIP = "python3 -m pip install ansible-rulebook ansible-core msal requests"
# The tenants of --tenants N (one multi-tenant app consented in each, as a service provider runs it).
TENANT_NAMES = ("contoso", "fabrikam", "adatum", "northwind", "tailspin", "woodgrove", "litware", "proseware")
TENANT_USERS = ("adele.vance", "alex.wilber", "megan.bowen", "breakglass")
MULTI_TENANT_CLIENT_ID = "7b1e4c2a-5d3f-4a6b-9c8d-0e1f2a3b4c5d"
CONTAIN_ROLES = ["User.EnableDisableAccount.All", "User.RevokeSessions.All", "User.Read.All", "GroupMember.Read.All"]


def private_file(path, text):
    """Write text to path, readable by its owner only (it may hold a client secret)."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(text)
    return path


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
    return "\n".join(lines)


def rulebook_files(out_dir):
    """The inventory and variables for extensions/eda/rulebooks/contain_risky_users.yml against the emulator."""
    inventory = private_file(os.path.join(out_dir, "rulebook-inventory.yml"), (
        "---\n# Where the rulebook's playbook runs: this machine, with the Python that runs ansible-playbook.\n"
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n"))
    variables = private_file(os.path.join(out_dir, "rulebook-vars.yml"), (
        "---\n# The rulebook's variables (see the guide Contain automatically); a short poll for the emulator.\n"
        "o365_interval: 5\n"
        "o365_exclude: [it.admin@contoso.onmicrosoft.com]   # a break-glass account: never contained\n"
        "o365_brake_max_users: 5\n"
        "o365_brake_window: 10 minutes\n"
        "o365_state_file: %s\n"
        "o365_eda_state_dir: %s\n") % (
            json.dumps(os.path.join(out_dir, "risky_users_state.json")), json.dumps(os.path.join(out_dir, "eda"))))
    return inventory, variables


def java_home_line():
    """The JAVA_HOME of the java on PATH (ansible-rulebook's Drools engine needs Java 17), or how to set it."""
    java = shutil.which("java")
    if java:
        return "export JAVA_HOME=%s   # the java on your PATH; it must be Java 17 or later" % shlex.quote(
            os.path.dirname(os.path.dirname(os.path.realpath(java))))
    return "export JAVA_HOME=/path/to/java-17   # no java on PATH: install Java 17 (OpenJDK) first"


def describe_risk(emulator, out_dir):
    """How to make a user risky and run the rulebook that contains them."""
    inventory, variables = rulebook_files(out_dir)
    risk = json.dumps({"users": {"adele.vance@contoso.onmicrosoft.com": {"riskLevel": "high", "riskState": "atRisk"}}})
    return "\n".join([
        "", "Make a user risky (Identity Protection flags Adele high, at risk), from any shell:", "",
        "curl --cacert %s -H 'Content-Type: application/json' -d %s %s/risk" % (
            shlex.quote(emulator["ca_path"]), shlex.quote(risk), emulator["control_endpoint"]), "",
        "Contain her automatically with the rulebook, in the shell with the export lines above. Its engine needs Java",
        "17, and pip's ansible-rulebook brings neither ansible-core nor msal: install them beside it, in a virtualenv:",
        "",
        RULEBOOK_PIP,
        java_home_line(),
        "ansible-rulebook -r o365.admin.contain_risky_users -i %s --vars %s --print-events" % (
            shlex.quote(inventory), shlex.quote(variables)), "",
        "Within a poll or two it blocks and revokes Adele (the emulator's users listing shows it: curl --cacert ... "
        "%s/users);" % emulator["control_endpoint"],
        "its report lands in %s." % os.path.join(out_dir, "eda")])


def tenant_file(out_dir, name):
    """A tenant of the emulator for --tenants: its own tenant ID, four users and the multi-tenant app."""
    domain = "%s.onmicrosoft.com" % name
    tenant = {"tenant_id": str(uuid.uuid4()), "domains": [domain],
              "users": [{"userPrincipalName": "%s@%s" % (user, domain)} for user in TENANT_USERS],
              "apps": [{"name": "containment", "client_id": MULTI_TENANT_CLIENT_ID, "roles": CONTAIN_ROLES,
                        "client_secret": "%s~%s" % (name, secrets.token_urlsafe(24))}]}
    path = private_file(os.path.join(out_dir, "%s-tenant.json" % name), json.dumps(tenant, indent=1) + "\n")
    return path, tenant


def tenants_inventory(out_dir, running):
    """inventory/tenants.example.yml's shape, each host pointed at its own emulator; returns its path."""
    hosts = {}
    for name, tenant, emulator in running:
        app = tenant["apps"][0]
        hosts[name] = {"o365_tenant_id": tenant["tenant_id"], "o365_client_id": app["client_id"],
                       "o365_client_secret": app["client_secret"],
                       # Only these three differ from a real tenant.
                       "o365_authority_host": emulator["authority_host"],
                       "o365_graph_endpoint": emulator["graph_endpoint"], "o365_ca_path": emulator["ca_path"],
                       "o365_contain_exclude": ["breakglass@%s" % tenant["domains"][0]]}
    inventory = {"tenants": {"vars": {"ansible_connection": "local",
                                      "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                             "hosts": hosts}}
    text = ("# Written by `make emulator TENANTS=%d`: one inventory host per emulator tenant, as in "
            "inventory/tenants.example.yml.\n" % len(running)) + json.dumps(inventory, indent=1) + "\n"
    return private_file(os.path.join(out_dir, "tenants.yml"), text)


def describe_tenants(out_dir, running):
    inventory = tenants_inventory(out_dir, running)
    users = dict((name, ["adele.vance@%s" % tenant["domains"][0], "alex.wilber@%s" % tenant["domains"][0]])
                 for name, tenant, dummy in running)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = ["%d emulator tenants are listening (Ctrl-C stops them all; secrets and CAs are new at every start):"
             % len(running), ""]
    for name, tenant, emulator in running:
        upns = ", ".join(user["userPrincipalName"] for user in tenant["users"])
        lines.append("  %-10s %s  %s  users: %s" % (name, tenant["tenant_id"], emulator["graph_endpoint"], upns))
    lines += ["", "The tenants inventory (one host per tenant, its credential as host variables): %s" % inventory, "",
              "In another shell, contain two users in every tenant at once, one merged record per run:", "",
              "export PATH=%s:\"$PATH\"" % shlex.quote(os.path.dirname(sys.executable)),
              "export ANSIBLE_COLLECTIONS_PATH=%s" % shlex.quote(os.path.join(ROOT, "build", "collections")),
              "ansible-playbook %s -i %s --forks %d -e %s -e incident=TRY-1 -e incident_started_at=%s -e report_path=%s"
              % (os.path.join(ROOT, "playbooks", "contain_tenants.yml"), shlex.quote(inventory), len(running),
                 shlex.quote(json.dumps({"users_by_tenant": users})), started,
                 shlex.quote(os.path.join(out_dir, "tenants-record-{run_id}.json"))), "",
              "Release them again from that record: playbooks/release_users.yml -e tenant_hosts=tenants "
              "(the guide Many tenants)."]
    return "\n".join(lines)


def wait_for_stop(processes):
    # Ctrl-C, or a kill from a script that started it in the background: stop the emulators with us.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop_on)
    try:
        for process in processes:
            process.wait()
    except KeyboardInterrupt:
        print("\nStopping the emulator%s." % ("s" if len(processes) > 1 else ""))


def run_tenants(count, out_dir, emulator_args):
    running = []
    try:
        for name in TENANT_NAMES[:count]:
            path, tenant = tenant_file(out_dir, name)
            running.append((name, tenant, RunningEmulator("--tenant", path, *emulator_args)))
        print(describe_tenants(out_dir, running), flush=True)
        wait_for_stop([emulator.process for dummy, dummy, emulator in running])
    finally:
        for dummy, dummy, emulator in running:
            emulator.stop()
    return 0


def stop_on(signum, dummy_frame):
    raise KeyboardInterrupt(signum)


def main(argv):
    parser = argparse.ArgumentParser(prog="make emulator", description=__doc__.split("\n\n")[1],
                                     epilog="Other arguments are passed to the emulator.")
    parser.add_argument("--app", default=DEFAULT_APP,
                        help="the demo tenant's app whose credentials to print (%s is granted every permission the "
                             "guides use)" % DEFAULT_APP)
    parser.add_argument("--tenants", type=int, default=1,
                        help="start this many emulator tenants (at most %d) and write their inventory"
                             % len(TENANT_NAMES))
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "emulator"),
                        help="where the rulebook's inventory and variables, or the tenants inventory, are written")
    args, emulator_args = parser.parse_known_args(argv)
    if not 1 <= args.tenants <= len(TENANT_NAMES):
        parser.error("--tenants takes 1 to %d" % len(TENANT_NAMES))
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, mode=0o700, exist_ok=True)
    if args.tenants > 1:
        return run_tenants(args.tenants, out_dir, emulator_args)
    with RunningEmulator(*emulator_args) as emulator:
        if args.app not in emulator["apps"]:
            print("No app %r in the emulator's tenant; there are: %s" % (args.app, ", ".join(emulator["apps"])),
                  file=sys.stderr)
            return 2
        own_tenant = "--tenant" in emulator_args
        if args.app == DEFAULT_APP and not own_tenant:
            # As an admin would grant them in the portal: every permission a guide asks for, so nothing tried from
            # the guides meets a 403 the guide did not announce.
            emulator.control("apps", {"client_id": emulator["apps"][args.app]["client_id"],
                                      "roles": GUIDE_PERMISSIONS})
            emulator["apps"][args.app]["roles"] = list(GUIDE_PERMISSIONS)
        text = describe(emulator, args.app, own_tenant)
        if not own_tenant:
            text += "\n" + describe_risk(emulator, out_dir) + "\n"
        print(text + "Request log (every call, never a secret): %s" % emulator["request_log"], flush=True)
        wait_for_stop([emulator.process])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
