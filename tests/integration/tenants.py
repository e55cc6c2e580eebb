# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Several tenants for the end-to-end tests and the benchmark: one emulator per tenant, and an inventory of them.

One emulator process per tenant rather than one serving several tenant IDs: Entra issues each tenant's tokens
(its own `tid`, refused by every other tenant) and Graph counts the write quota per app and tenant, and a process
per tenant has exactly that separation with no change to the emulator. Unlike Entra, each tenant then has its own
authority host; the token cache keys partitions by authority (host and tenant), and its unit test proves tenants
are apart under one host too.
"""

import json
import os
import secrets
import subprocess
import sys
import uuid

from tests.graph_emulator.process import RunningEmulator

# One multi-tenant app registration consented in every tenant, as a service provider runs it: the same client ID.
CLIENT_ID = "3f1c5a7e-9b2d-4e6f-8a0c-1d3e5f7a9b2c"
ROLES = ["User.EnableDisableAccount.All", "User.RevokeSessions.All", "User.Read.All", "GroupMember.Read.All"]
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


class Tenant:
    def __init__(self, name, work_dir, user_count, extra_args=()):
        self.name = name
        self.tenant_id = str(uuid.uuid4())
        self.domain = "%s.onmicrosoft.com" % name
        self.client_secret = secrets.token_urlsafe(24)
        self.users = ["user%04d@%s" % (n, self.domain) for n in range(1, user_count + 1)]
        path = os.path.join(work_dir, "%s-tenant.json" % name)
        with open(path, "w") as handle:
            json.dump({"tenant_id": self.tenant_id, "domains": [self.domain],
                       "users": [{"userPrincipalName": upn} for upn in self.users],
                       "apps": [{"name": "containment", "client_id": CLIENT_ID, "roles": ROLES,
                                 "client_secret": self.client_secret}]}, handle)
        self.emulator = RunningEmulator("--tenant", path, *extra_args)

    def directory(self):
        return dict((u["userPrincipalName"], u) for u in self.emulator.control("users", method="GET")["users"])

    def set_enabled(self, users, enabled):
        self.emulator.control("user_state", {"users": dict((u, {"accountEnabled": enabled}) for u in users)})

    def stop(self):
        self.emulator.stop()


def write_inventory(path, tenants, token_cache_path, wrong_secret_for=()):
    """An inventory like inventory/tenants.example.yml, pointed at the emulators (a wrong secret where asked)."""
    hosts = {}
    for tenant in tenants:
        hosts[tenant.name] = {
            "o365_tenant_id": tenant.tenant_id, "o365_client_id": CLIENT_ID,
            "o365_client_secret": "not-the-secret" if tenant.name in wrong_secret_for else tenant.client_secret,
            "o365_authority_host": tenant.emulator["authority_host"],
            "o365_graph_endpoint": tenant.emulator["graph_endpoint"], "o365_ca_path": tenant.emulator["ca_path"],
            "o365_token_cache_path": token_cache_path}
    inventory = {"tenants": {"vars": {"ansible_connection": "local",
                                      "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
                             "hosts": hosts}}
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        json.dump(inventory, handle)
    return path


def run_playbook(playbook, inventory, work_dir, collections_path, extra_vars=None, forks=3, check=False, diff=False,
                 limit=None, timeout=900):
    """Real ansible-playbook, no AZURE_* in its environment: every credential comes from the inventory."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    environment.update(ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_LOCAL_TEMP=os.path.join(work_dir, "ansible-tmp"))
    vars_file = os.path.join(work_dir, "extra-vars.json")
    with open(vars_file, "w") as handle:
        json.dump(extra_vars or {}, handle)
    command = [ANSIBLE_PLAYBOOK, playbook, "-i", inventory, "--forks", str(forks), "-e", "@" + vars_file]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    if limit:
        command += ["--limit", limit]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=timeout, cwd=work_dir,
                          check=False)
