# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_revoke_sessions end to end: real ansible-playbook, real msal and requests, the local Graph emulator."""

from urllib.parse import unquote

import pytest

ADELE = "adele.vance@contoso.onmicrosoft.com"
ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
DOLLAR = "$svc-legacy@contoso.onmicrosoft.com"
APOSTROPHE = "megan.o'brien@contoso.onmicrosoft.com"
GUEST = "AdeleVance_adatum.com#EXT#@contoso.onmicrosoft.com"


def revocations(scenario, user_id):
    users = scenario.emulator.control("users", method="GET")["users"]
    return next(user["revocations"] for user in users if user["id"] == user_id)


def graph_posts(scenario):
    return [e for e in scenario.requests("graph") if e["method"] == "POST"]


@pytest.mark.parametrize("user, path", [
    (ADELE_ID, "/v1.0/users/%s/revokeSignInSessions" % ADELE_ID),
    (ADELE, "/v1.0/users/%s/revokeSignInSessions" % ADELE),
    (APOSTROPHE, "/v1.0/users/megan.o'brien@contoso.onmicrosoft.com/revokeSignInSessions"),
])
def test_revoke_succeeds_and_the_user_is_revoked(scenario, user, path):
    before = revocations(scenario, ADELE_ID) if user in (ADELE, ADELE_ID) else None
    run = scenario.run("revoke.yml", {"o365_user": user})
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    assert (result["changed"], result["all_sessions_revoked"], result["status_code"]) == (True, True, 200)
    assert result["user"] == user and result["request_id"]
    # Prism re-encodes the apostrophe as %27 when it forwards: the same URI.
    assert [unquote(e["path"]) for e in graph_posts(scenario)] == [path]
    if before is not None:
        assert revocations(scenario, ADELE_ID) == before + 1


def test_dollar_upn_is_sent_in_the_quoted_key_form(scenario):
    scenario.route.require_direct("the contract has no /users('$x@y') path (tests/contract/README.md)")
    run = scenario.run("revoke.yml", {"o365_user": DOLLAR})
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["path"] for e in graph_posts(scenario)] == [
        "/v1.0/users('$svc-legacy@contoso.onmicrosoft.com')/revokeSignInSessions"]


def test_b2b_guest_is_revoked_with_a_warning(scenario):
    run = scenario.run("revoke.yml", {"o365_user": GUEST})
    assert run.rc == 0 and run.result["all_sessions_revoked"] is True
    assert any("B2B guest" in w for w in run.warnings())
    assert [e["path"] for e in graph_posts(scenario)] == [
        "/v1.0/users/AdeleVance_adatum.com%23EXT%23@contoso.onmicrosoft.com/revokeSignInSessions"]


def test_check_mode_reads_the_user_and_sends_no_post(scenario):
    before = revocations(scenario, ADELE_ID)
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    assert result["changed"] is True and result["user_confirmed"] is True and result["user_id"] == ADELE_ID
    assert result["all_sessions_revoked"] is None and result["status_code"] is None
    graph_calls = scenario.requests("graph")
    assert [e["method"] for e in graph_calls] == ["GET"] and graph_posts(scenario) == []
    assert revocations(scenario, ADELE_ID) == before


def test_check_mode_fails_for_an_unknown_user(scenario):
    run = scenario.run("revoke.yml", {"o365_user": "nobody@contoso.onmicrosoft.com"}, check=True)
    assert run.rc != 0 and "was not found in the tenant" in run.result["msg"]


def test_check_mode_without_read_permission_predicts_the_revoke(scenario):
    app = scenario.emulator["apps"]["revoke-only"]
    env = dict(scenario.default_environment(), AZURE_CLIENT_ID=app["client_id"], AZURE_CLIENT_SECRET=app["client_secret"])
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env, check=True)
    assert run.rc == 0 and run.result["changed"] is True and run.result["user_confirmed"] is False
    assert any("User.Read.All" in w for w in run.warnings())
    assert graph_posts(scenario) == []


def test_unknown_user_fails_with_graph_details(scenario):
    run = scenario.run("revoke.yml", {"o365_user": "nobody@contoso.onmicrosoft.com"})
    result = run.result
    assert run.rc != 0
    assert "was not found in the tenant" in result["msg"] and "Request_ResourceNotFound" in result["msg"]
    assert result["status_code"] == 404 and result["error"]["code"] == "Request_ResourceNotFound"
    assert result["request_id"] == graph_posts(scenario)[0]["request_id"]


def test_app_without_the_permission_is_told_which_one(scenario):
    app = scenario.emulator["apps"]["reader-only"]
    env = dict(scenario.default_environment(), AZURE_CLIENT_ID=app["client_id"], AZURE_CLIENT_SECRET=app["client_secret"])
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env)
    assert run.rc != 0
    assert "User.RevokeSessions.All" in run.result["msg"] and "admin consent" in run.result["msg"]
    assert run.result["error"]["code"] == "Authorization_RequestDenied"


def test_invalid_user_fails_before_any_network_call(scenario):
    run = scenario.run("revoke.yml", {"o365_user": "adele/../../groups@contoso.onmicrosoft.com"})
    assert run.rc != 0 and "Invalid user reference" in run.result["msg"]
    assert scenario.requests() == []


def test_wrong_secret_is_explained_and_never_printed(scenario):
    wrong = "not-the-secret-5b1f0c2e"
    env = dict(scenario.default_environment(), AZURE_CLIENT_SECRET=wrong)
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env)
    output = run.stdout + run.stderr
    assert run.rc != 0 and "AADSTS7000215" in output and "invalid_client" in output
    assert wrong not in output and scenario.emulator["client_secret"] not in output
    assert graph_posts(scenario) == []


def test_unknown_tenant_is_explained(scenario):
    env = dict(scenario.default_environment(), AZURE_TENANT_ID="fabrikam.onmicrosoft.com")
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env)
    assert run.rc != 0 and "fabrikam.onmicrosoft.com" in run.result["msg"]


@pytest.mark.parametrize("certificate", ["pem", "pfx"])
def test_certificate_credential(scenario, certificate):
    env = {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": scenario.emulator["client_id"]}
    if certificate == "pem":
        extra = {"o365_client_certificate_path": scenario.emulator["client_certificate_path"]}
    else:
        extra = {"o365_client_certificate_path": scenario.emulator["client_certificate_pfx_path"],
                 "o365_client_certificate_password": scenario.emulator["client_certificate_password"]}
    run = scenario.run("revoke.yml", dict(extra, o365_user=ADELE), env=env)
    assert run.rc == 0, run.stdout + run.stderr
    assert [e.get("credential") for e in scenario.requests("token")] == ["certificate"]


def test_environment_names_of_the_awx_azure_credential(scenario):
    env = {"AZURE_TENANT": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": scenario.emulator["client_id"],
           "AZURE_SECRET": scenario.emulator["client_secret"]}
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env)
    assert run.rc == 0, run.stdout + run.stderr


def test_access_token_skips_the_token_endpoint(scenario):
    token = scenario.emulator.control("token", {"client_id": scenario.emulator["client_id"],
                                                "audience": scenario.route.endpoint})["access_token"]
    run = scenario.run("revoke.yml", {"o365_user": ADELE, "o365_access_token": token}, env={})
    assert run.rc == 0, run.stdout + run.stderr
    assert scenario.requests("token") == [] and scenario.requests("openid") == []
    assert token not in run.stdout + run.stderr


def test_expired_access_token_is_refused_with_401(scenario):
    token = scenario.emulator.control("token", {"client_id": scenario.emulator["client_id"],
                                                "audience": scenario.route.endpoint, "lifetime_s": -60})["access_token"]
    run = scenario.run("revoke.yml", {"o365_user": ADELE, "o365_access_token": token}, env={})
    assert run.rc != 0 and run.result["status_code"] == 401
    assert "InvalidAuthenticationToken" in run.result["msg"] and "expired" in run.result["msg"]


def test_throttling_then_success_honours_retry_after(scenario):
    scenario.faults(fail_next=[{"status": 429, "retry_after": 1}])
    run = scenario.run("revoke.yml", {"o365_user": ADELE})
    assert run.rc == 0, run.stdout + run.stderr
    posts = graph_posts(scenario)
    assert [e["status"] for e in posts] == [429, 200]
    assert posts[1]["time"] - posts[0]["time"] >= 1.0
    assert any("retry 1 time" in w for w in run.warnings())


def test_unavailable_then_success(scenario):
    scenario.faults(fail_next=[{"status": 503}])
    run = scenario.run("revoke.yml", {"o365_user": ADELE})
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["status"] for e in graph_posts(scenario)] == [503, 200]


def test_retries_exhausted_is_a_clear_failure(scenario):
    scenario.faults(fail_next=[{"status": 503, "retry_after": 0}] * 3)
    run = scenario.run("revoke.yml", {"o365_user": ADELE, "o365_max_retries": 2})
    assert run.rc != 0
    assert "Gave up after 3 attempts" in run.result["msg"] and run.result["status_code"] == 503
    assert [e["status"] for e in graph_posts(scenario)] == [503, 503, 503]


def test_connection_reset_is_retried(scenario):
    scenario.route.require_direct("Prism would answer a reset upstream with its own error")
    scenario.faults(reset_next=1)
    run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=None)
    assert run.rc == 0, run.stdout + run.stderr
    assert [e.get("fault") for e in scenario.requests()][0] == "connection_reset"


def test_failing_token_endpoint_is_retried(scenario):
    scenario.faults(token_fail_next=[503])
    run = scenario.run("revoke.yml", {"o365_user": ADELE})
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["status"] for e in scenario.requests("token")] == [503, 200]


def test_module_defaults_group(scenario):
    extra = {"o365_tenant_id": scenario.emulator["tenant_id"], "o365_client_id": scenario.emulator["client_id"],
             "o365_client_secret": scenario.emulator["client_secret"]}
    run = scenario.run("module_defaults_group.yml", extra, env={})
    assert run.rc == 0, run.stdout + run.stderr
    assert all(result["changed"] for result in run.tasks.values()) and len(run.tasks) == 2
    assert len(graph_posts(scenario)) == 2


def test_permission_granted_after_a_token_was_cached_works_at_once(scenario):
    app = scenario.emulator["apps"]["reader-only"]
    env = dict(scenario.default_environment(), AZURE_CLIENT_ID=app["client_id"], AZURE_CLIENT_SECRET=app["client_secret"])
    dry_run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env, check=True)  # caches a read-only token
    assert dry_run.rc == 0, dry_run.stdout + dry_run.stderr
    scenario.emulator.control("apps", {"client_id": app["client_id"], "roles": app["roles"] + ["User.RevokeSessions.All"]})
    try:
        run = scenario.run("revoke.yml", {"o365_user": ADELE}, env=env)
    finally:
        scenario.emulator.control("apps", {"client_id": app["client_id"], "roles": app["roles"]})
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["status"] for e in graph_posts(scenario)] == [403, 200]
    assert len(scenario.requests("token")) == 2  # one per run: the cached one was renewed once, after the 403
