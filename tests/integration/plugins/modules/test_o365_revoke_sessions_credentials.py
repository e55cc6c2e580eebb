# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Credentials as users hold them (issue 18), end to end: certificate chains in any order, two environment names
for one credential, a proxy that wants its own password, and Entra ID's setup errors."""

import re

import pytest

from tests.graph_emulator.proxy import BasicAuthProxy

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


# --- A proxy that wants its own credentials: 407 is the proxy's, not retried, not blamed on Graph ----------------

PROXY_PASSWORD = "proxy-pass-3e8d1c"
USERS = ["user%04d@contoso.onmicrosoft.com" % n for n in range(100, 145)]


@pytest.fixture(scope="module")
def proxy():
    with BasicAuthProxy("svc-ansible", PROXY_PASSWORD) as running:
        yield running


def proxied(scenario, proxy, password, authority_through_proxy=True):
    """The environment and variables of a run through the proxy. Without ``authority_through_proxy`` Entra ID is
    reached as localhost, which NO_PROXY exempts, so that only Graph (127.0.0.1) goes through the proxy."""
    proxy.reset()
    env = dict(scenario.default_environment(), HTTPS_PROXY=proxy.url("svc-ansible", password),
               NO_PROXY="" if authority_through_proxy else "localhost")
    extra = {} if authority_through_proxy else {
        "o365_authority_host": scenario.emulator["authority_host"].replace("127.0.0.1", "localhost")}
    return env, extra


def assert_the_proxy_is_named(run, password):
    output = run.stdout + run.stderr
    message = run.result["msg"]
    assert "407 Proxy Authentication Required" in message and "HTTPS_PROXY" in message, message
    assert "Microsoft Graph answered" not in message and "retry" not in message.lower()
    assert password not in output and PROXY_PASSWORD not in output
    assert not [w for w in run.warnings() if "asked to retry" in w]


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_a_407_at_the_token_endpoint_is_the_proxy_s_and_is_not_retried(scenario, proxy, password):
    env, extra = proxied(scenario, proxy, password)
    if password is None:
        env["HTTPS_PROXY"] = proxy.url()
    run = scenario.run("revoke.yml", dict(extra, o365_user=ADELE), env=env)
    assert run.rc != 0
    assert_the_proxy_is_named(run, password or PROXY_PASSWORD)
    assert proxy.counts == {"refused": 1, "tunnels": 0, "forwarded": 0}
    assert scenario.requests() == []  # nothing reached Entra ID or Graph


def test_a_407_from_graph_s_proxy_fails_one_user_once(scenario, proxy):
    scenario.route.require_direct("the proxy tunnels https; through Prism Graph is plain http")
    env, extra = proxied(scenario, proxy, "wrong-password", authority_through_proxy=False)
    run = scenario.run("revoke.yml", dict(extra, o365_user=ADELE), env=env)
    assert run.rc != 0
    assert_the_proxy_is_named(run, "wrong-password")
    assert proxy.counts["refused"] == 1 and [e["kind"] for e in scenario.requests()] == ["openid", "token"]


def test_a_407_in_a_batch_run_is_said_once_and_every_user_is_not_sent(scenario, proxy):
    scenario.route.require_direct("the proxy tunnels https; through Prism Graph is plain http")
    env, extra = proxied(scenario, proxy, "wrong-password", authority_through_proxy=False)
    run = scenario.run("revoke_many.yml", dict(extra, o365_users=USERS, o365_batch_concurrency=2), env=env)
    assert run.rc != 0
    assert_the_proxy_is_named(run, "wrong-password")
    assert run.result["msg"].count("407 Proxy Authentication Required") == 1 and run.result["proxy"] == proxy.url()
    assert [e["user"] for e in run.result["results"]] == USERS
    # The status, not the proxy's port: a port such as 43407 holds "407" too.
    assert all(e["outcome"] == "failed" and re.search(r"\b407\b", e["error"]["message"])
               for e in run.result["results"])
    # The calls already under way when the first 407 came, no more, and none again.
    assert 1 <= proxy.counts["refused"] <= 2 and scenario.requests("graph") == []


def test_the_right_proxy_credentials_go_through(scenario, proxy):
    scenario.route.require_direct("the proxy tunnels https; through Prism Graph is plain http")
    env, extra = proxied(scenario, proxy, PROXY_PASSWORD)
    run = scenario.run("revoke.yml", dict(extra, o365_user=ADELE), env=env)
    assert run.rc == 0, run.stdout + run.stderr
    assert proxy.counts["refused"] == 0 and proxy.counts["tunnels"] >= 1


# --- Entra ID's setup errors, by code (the emulator's token_error_next) ------------------------------------------

@pytest.mark.parametrize("code, words", [
    (900382, "cannot sign in across clouds"),
    (90038, "the tenant belongs to another national cloud"),
    (7000112, "the application is disabled in this tenant"),
    (53003, "Conditional Access blocked the token"),
])
def test_entra_setup_errors_are_explained(scenario, code, words):
    scenario.faults(token_error_next=[{"aadsts": code}])
    run = scenario.run("revoke.yml", {"o365_user": ADELE})
    message = run.result["msg"]
    assert run.rc != 0 and "AADSTS%d" % code in message and words in message, message
    assert run.result["error"]["aadsts_codes"] == [code]
    assert [(e.get("fault"), e.get("aadsts")) for e in scenario.requests("token")] == [("token_error", code)]
    assert scenario.requests("graph") == []


# --- A 403 names what the app's own token lacks (its roles claim) -----------------------------------------------

def app_environment(scenario, app):
    credentials = scenario.emulator["apps"][app]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": credentials["client_id"],
            "AZURE_CLIENT_SECRET": credentials["client_secret"]}


def test_a_revoke_403_names_the_permission_the_token_lacks(scenario):
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=app_environment(scenario, "reader-only"))
    message = run.result["msg"]
    assert run.rc != 0 and run.result["status_code"] == 403
    assert "The app's token does not hold User.RevokeSessions.All" in message and "(it holds User.Read.All)" in message
    assert "for a delegated access_token" not in message  # no either/or: the token told


def test_a_sign_in_403_names_the_permission_the_token_lacks(scenario):
    # Enabled first: another test may have left the user blocked, and then there would be nothing to change.
    scenario.emulator.control("user_state", {"users": {"user0111@contoso.onmicrosoft.com": {"accountEnabled": True}}})
    run = scenario.run("sign_in.yml", {"o365_users": ["user0111@contoso.onmicrosoft.com"]},
                       env=app_environment(scenario, "reader-only"))
    message = run.result["msg"]
    assert run.rc != 0 and "The app's token does not hold User.EnableDisableAccount.All" in message, message
    assert "holds an Entra admin role" not in message


def test_a_read_403_names_the_permission_the_token_lacks(scenario):
    run = scenario.run("user_info.yml", {"o365_users": [ADELE, "user0110@contoso.onmicrosoft.com"]},
                       env=app_environment(scenario, "revoke-only"))
    message = run.result["msg"]
    assert run.rc != 0 and "The app's token does not hold User.Read.All" in message, message
    assert "(it holds User.RevokeSessions.All)" in message


def test_a_group_403_names_hidden_membership(scenario):
    run = scenario.run("user_info.yml", {"o365_groups": ["Board"]}, env=app_environment(scenario, "revoke-and-groups"))
    message = run.result["msg"]
    assert run.rc != 0 and "The app's token does not hold Member.Read.Hidden" in message, message


def test_a_bulk_revoke_403_names_the_permission_the_token_lacks(scenario):
    users = [ADELE, "alex.wilber@contoso.onmicrosoft.com"]
    run = scenario.run("revoke_many.yml", {"o365_users": users}, env=app_environment(scenario, "reader-only"))
    message = run.result["msg"]
    assert run.rc != 0 and [e["status_code"] for e in run.result["results"]] == [403, 403]
    assert "The app's token does not hold User.RevokeSessions.All" in message and "(it holds User.Read.All)" in message
