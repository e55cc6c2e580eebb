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


def test_a_stale_client_secret_beside_awx_s_azure_secret_is_named_not_blamed_on_the_format(scenario):
    stale = "stale-secret-7f3a9c21e5"
    env = {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": scenario.emulator["client_id"],
           "AZURE_CLIENT_SECRET": stale, "AZURE_SECRET": scenario.emulator["client_secret"]}
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env)
    output = run.stdout + run.stderr
    assert run.rc != 0 and "AADSTS7000215" in run.result["msg"]
    warnings = [w for w in run.warnings() if "AZURE_CLIENT_SECRET" in w]
    assert warnings and "AZURE_SECRET is also set, with a different value" in warnings[0], run.warnings()
    assert "client_secret came from the environment variable AZURE_CLIENT_SECRET" in run.result["msg"]
    assert stale not in output and scenario.emulator["client_secret"] not in output


def test_two_tenant_variables_that_differ_are_named_and_the_first_is_used(scenario):
    env = dict(scenario.default_environment(), AZURE_TENANT="fabrikam.onmicrosoft.com")
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env)
    assert run.rc == 0, run.stdout + run.stderr
    assert any("tenant_id came from the environment variable AZURE_TENANT_ID; AZURE_TENANT is also set" in w
               for w in run.warnings()), run.warnings()
    assert "fabrikam" not in " ".join(run.warnings())


def test_two_names_with_the_same_value_or_an_option_given_to_the_task_say_nothing(scenario):
    env = dict(scenario.default_environment(), AZURE_SECRET=scenario.emulator["client_secret"],
               AZURE_TENANT=scenario.emulator["tenant_id"])
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env)
    assert run.rc == 0 and not [w for w in run.warnings() if "environment variable" in w], run.warnings()
