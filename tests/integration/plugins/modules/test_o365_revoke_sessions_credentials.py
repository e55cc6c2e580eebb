# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Credentials as users hold them (issue 18), end to end: certificate chains in any order, two environment names
for one credential, a proxy that wants its own password, and Entra ID's setup errors."""

import pytest

ADELE = "adele.vance@contoso.onmicrosoft.com"


def certificate_environment(scenario):
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": scenario.emulator["client_id"]}


@pytest.mark.parametrize("file_format, order", [
    ("pem", ["key", "root", "leaf"]),
    ("pem", ["root", "intermediate", "leaf", "key"]),
    ("pfx", ["key", "root", "intermediate", "leaf"]),
])
def test_a_certificate_chain_in_any_order_signs_with_the_leaf(scenario, file_format, order):
    chain = scenario.emulator.control("certificate", {"format": file_format, "order": order, "password": "pw"})
    run = scenario.run("revoke.yml", {"o365_user": ADELE, "o365_client_certificate_path": chain["path"],
                                      "o365_client_certificate_password": "pw"},
                       env=certificate_environment(scenario))
    assert run.rc == 0, run.stdout + run.stderr
    assert [(e["status"], e.get("credential")) for e in scenario.requests("token")] == [(200, "certificate")]
    assert run.result["all_sessions_revoked"] is True
