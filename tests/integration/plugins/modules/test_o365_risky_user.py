# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_risky_user_info and o365_risky_user end to end: real ansible-playbook, msal and requests, the emulator."""

import pytest

DOMAIN = "contoso.onmicrosoft.com"
# Load users of their own, so the other tests' users are left alone.
HIGH, MEDIUM, CLOSED, CLEAN = ["user%04d@%s" % (n, DOMAIN) for n in range(113, 117)]


def app_environment(scenario, app):
    credentials = scenario.emulator["apps"][app]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": credentials["client_id"],
            "AZURE_CLIENT_SECRET": credentials["client_secret"], "ANSIBLE_DIFF_ALWAYS": "True"}


@pytest.fixture
def risk(scenario):
    """A tenant where HIGH is at high risk, MEDIUM at medium risk, CLOSED's high risk was dismissed; CLEAN never
    flagged. The risk records and the sign-in state are reset for each test."""
    emulator = scenario.emulator
    emulator.control("risk", {"clear": True, "licensed": True, "rate_limit": {"limit": 1, "window_s": 1}})
    emulator.control("risk", {"users": {HIGH: {"riskLevel": "high"}, MEDIUM: {"riskLevel": "medium"},
                                        CLOSED: {"riskLevel": "high", "riskState": "dismissed"}}})
    emulator.control("user_state", {"users": dict((u, {"accountEnabled": True}) for u in (HIGH, MEDIUM, CLOSED))})
    return emulator


def records(emulator):
    return dict((u["userPrincipalName"], u) for u in emulator.control("risk", method="GET")["users"])


def risk_requests(scenario, method=None):
    return [e for e in scenario.requests("graph") if "/identityProtection/" in e["path"]
            and (method is None or e["method"] == method)]


def test_info_lists_only_the_asked_levels_and_feeds_users_of_the_sign_in_module(scenario, risk):
    run = scenario.run("risky_users.yml", {"o365_risk_levels": ["high"], "o365_block": True},
                       env=app_environment(scenario, "risk-responder"))
    assert run.rc == 0, run.stdout + run.stderr
    listed = run.tasks["List risky users"]
    assert listed["changed"] is False and listed["count"] == 1
    assert listed["user_principal_names"] == [HIGH]
    entry = listed["risky_users"][0]
    assert (entry["risk_level"], entry["risk_state"]) == ("high", "atRisk") and entry["risk_last_updated"]
    assert listed["filter"] == ("riskLevel eq microsoft.graph.riskLevel'high' and "
                                "riskState eq microsoft.graph.riskState'atRisk'")
    blocked = run.tasks["Block the listed users' sign-in (the info module's output feeds users directly)"]
    assert blocked["results"][0]["user_id"] == entry["id"] and blocked["results"][0]["outcome"] == "blocked"
    directory = dict((u["userPrincipalName"], u) for u in scenario.emulator.control("users", method="GET")["users"])
    assert directory[HIGH]["accountEnabled"] is False and directory[MEDIUM]["accountEnabled"] is True


def test_info_leaves_deleted_users_out_so_its_user_ids_feed_the_block_unless_asked(scenario, risk):
    scenario.emulator.control("risk", {"deleted": {"left.info1@" + DOMAIN: {"riskLevel": "high"}}})
    run = scenario.run("risky_users.yml", {"o365_risk_levels": ["high"], "o365_block": True},
                       env=app_environment(scenario, "risk-responder"))
    assert run.rc == 0, run.stdout + run.stderr  # the deleted user's ID never reaches the block (it would be a 404)
    listed = run.tasks["List risky users"]
    assert (listed["user_principal_names"], listed["deleted_count"]) == ([HIGH], 1)
    asked = scenario.run("risky_users.yml", {"o365_risk_levels": ["high"], "o365_include_deleted": True},
                         env=app_environment(scenario, "risk-responder"))
    everyone = asked.tasks["List risky users"]
    assert sorted(everyone["user_principal_names"]) == sorted([HIGH, "left.info1@" + DOMAIN])
    assert [u["is_deleted"] for u in everyone["risky_users"] if u["user_principal_name"] != HIGH] == [True]


def test_info_with_read_only_permission_and_every_state(scenario, risk):
    run = scenario.run("risky_users.yml", {"o365_risk_states": []}, env=app_environment(scenario, "risk-reader"))
    assert run.rc == 0, run.stdout + run.stderr
    assert sorted(run.result["user_principal_names"]) == sorted([HIGH, MEDIUM, CLOSED])
    assert run.result["filter"] is None


def test_info_without_permission_or_licence_says_which(scenario, risk):
    run = scenario.run("risky_users.yml", env=app_environment(scenario, "containment"))
    assert run.rc != 0
    assert "IdentityRiskyUser.Read.All" in run.result["msg"] and "P2" in run.result["msg"]
    risk.control("risk", {"licensed": False})
    run = scenario.run("risky_users.yml", env=app_environment(scenario, "risk-reader"))
    assert run.rc != 0 and run.result["status_code"] == 403 and "P2" in run.result["msg"]


def test_china_cloud_is_refused_before_any_call(scenario, risk):
    for playbook, playbook_vars in (("risky_users.yml", {"o365_cloud": "china"}),
                                    ("risky_user.yml", {"o365_cloud": "china", "o365_state": "compromised",
                                                        "o365_user": HIGH})):
        run = scenario.run(playbook, playbook_vars, env=app_environment(scenario, "risk-responder"))
        assert run.rc != 0 and "China" in run.result["msg"], run.stdout
    assert scenario.requests() == []


def test_confirm_compromised_then_unchanged_and_check_mode_sends_nothing(scenario, risk):
    env = app_environment(scenario, "risk-responder")
    check = scenario.run("risky_user.yml", {"o365_state": "compromised", "o365_users": [HIGH, CLEAN]}, env=env,
                         check=True)
    assert check.rc == 0, check.stdout + check.stderr
    assert [e["outcome"] for e in check.result["results"]] == ["would_compromise", "would_compromise"]
    assert risk_requests(scenario, "POST") == []

    run = scenario.run("risky_user.yml", {"o365_state": "compromised", "o365_users": [HIGH, CLEAN]}, env=env)
    assert run.rc == 0, run.stdout + run.stderr
    first, second = run.result["results"]
    assert (first["outcome"], first["risk_state_before"], first["risk_state"], first["status_code"]) == (
        "compromised", "atRisk", "confirmedCompromised", 204)
    assert (second["outcome"], second["risk_state_before"]) == ("compromised", "none")
    assert run.result["changed_count"] == 2 and run.result["action_calls"] == 1
    assert run.result["diff"][0]["after"] == "risk_state: confirmedCompromised\n"
    after = records(risk)
    assert after[HIGH]["riskState"] == "confirmedCompromised" and after[HIGH]["confirm_writes"] == 1
    assert after[CLEAN]["riskLevel"] == "high"
    # One call for both users, straight to Graph (never in $batch), so Prism checks it against the contract.
    assert [e["path"] for e in risk_requests(scenario, "POST")] == [
        "/v1.0/identityProtection/riskyUsers/confirmCompromised"]

    again = scenario.run("risky_user.yml", {"o365_state": "compromised", "o365_users": [HIGH, CLEAN]}, env=env)
    assert again.rc == 0 and again.result["changed"] is False
    assert [e["outcome"] for e in again.result["results"]] == ["unchanged", "unchanged"]
    assert len(risk_requests(scenario, "POST")) == 1


def test_dismiss_only_what_is_open_and_never_an_excluded_user(scenario, risk):
    env = app_environment(scenario, "risk-responder")
    run = scenario.run("risky_user.yml", {"o365_state": "dismissed", "o365_users": [MEDIUM, CLOSED, CLEAN, HIGH],
                                          "o365_exclude": [HIGH]}, env=env)
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["outcome"] for e in run.result["results"]] == ["dismissed", "unchanged", "unchanged", "excluded"]
    after = records(risk)
    assert (after[MEDIUM]["riskState"], after[MEDIUM]["riskLevel"]) == ("dismissed", "none")
    assert after[HIGH]["riskState"] == "atRisk" and after[HIGH]["dismiss_writes"] == 0


def test_a_429_without_retry_after_is_retried(scenario, risk):
    env = app_environment(scenario, "risk-responder")
    risk.control("faults", {"fail_next": [{"status": 429, "path": "/identityProtection/"}]})
    run = scenario.run("risky_users.yml", {"o365_risk_levels": ["high"]}, env=env)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["user_principal_names"] == [HIGH]
    statuses = [e["status"] for e in risk_requests(scenario)]
    assert statuses == [429, 200]


def test_write_permission_missing_is_failed_with_the_reason(scenario, risk):
    run = scenario.run("risky_user.yml", {"o365_state": "compromised", "o365_user": HIGH},
                       env=app_environment(scenario, "risk-reader"))
    assert run.rc != 0
    entry = run.result["results"][0]
    assert entry["outcome"] == "failed" and entry["status_code"] == 403
    assert "IdentityRiskyUser.ReadWrite.All" in entry["error"]["explanation"]
    assert records(risk)[HIGH]["confirm_writes"] == 0
