# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_user_sign_in and o365_user_info end to end: real ansible-playbook, msal and requests, the Graph emulator."""

import pytest

DOMAIN = "contoso.onmicrosoft.com"
SYNCED = "pradeep.gupta@" + DOMAIN
ADMIN = "it.admin@" + DOMAIN
# Load users of their own, so the revoke tests' users are left alone.
USERS = ["user%04d@%s" % (n, DOMAIN) for n in range(100, 112)]


def app_environment(scenario, app):
    credentials = scenario.emulator["apps"][app]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": credentials["client_id"],
            "AZURE_CLIENT_SECRET": credentials["client_secret"], "ANSIBLE_DIFF_ALWAYS": "True"}


def set_enabled(scenario, users, enabled=True):
    scenario.emulator.control("user_state", {"users": dict((user, {"accountEnabled": enabled}) for user in users)})


def directory(scenario):
    return dict((u["userPrincipalName"], u) for u in scenario.emulator.control("users", method="GET")["users"])


def writes(scenario):
    """PATCH requests Graph received, alone or inside $batch."""
    return [e for e in scenario.requests() if e["kind"] in ("graph", "batch_item") and e["method"] == "PATCH"]


@pytest.fixture
def least_privileged(scenario):
    """The app with only User.EnableDisableAccount.All + User.Read.All, the module's documented least permissions."""
    return app_environment(scenario, "sign-in-only")


def test_one_user_blocked_with_least_permissions_then_unchanged(scenario, least_privileged):
    user = USERS[0]
    set_enabled(scenario, [user])
    run = scenario.run("sign_in.yml", {"o365_user": user}, env=least_privileged)
    assert run.rc == 0, run.stdout + run.stderr
    entry = run.result["results"][0]
    assert (run.result["changed"], entry["outcome"], entry["account_enabled_before"], entry["account_enabled"]) == (
        True, "blocked", True, False)
    assert entry["status_code"] == 204 and entry["request_id"]
    assert directory(scenario)[user]["accountEnabled"] is False
    # The lone PATCH goes straight to Graph, so Prism checks it against the contract.
    assert [(e["kind"], e["path"]) for e in writes(scenario)] == [("graph", "/v1.0/users/" + user)]
    assert run.result["diff"] == [{"before_header": user + " (before)", "after_header": user + " (after)",
                                   "before": "account_enabled: true\n", "after": "account_enabled: false\n"}]

    again = scenario.run("sign_in.yml", {"o365_user": user}, env=least_privileged)
    assert again.rc == 0 and again.result["changed"] is False
    # Nothing changes, and the block is written again all the same: one read saying "blocked" may be stale.
    assert again.result["results"][0]["outcome"] == "unchanged" and again.result["results"][0]["block_rewritten"]
    assert len(writes(scenario)) == 2 and not again.result.get("diff")


def test_many_users_those_that_differ_are_changed_in_batches_and_no_block_is_skipped(scenario, least_privileged):
    set_enabled(scenario, USERS)
    set_enabled(scenario, USERS[:4], False)
    run = scenario.run("sign_in.yml", {"o365_users": USERS}, env=least_privileged)
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["outcome"] for e in run.result["results"]] == ["unchanged"] * 4 + ["blocked"] * 8
    assert [e.get("block_rewritten", False) for e in run.result["results"]] == [True] * 4 + [False] * 8
    assert (run.result["changed_count"], run.result["unchanged_count"]) == (8, 4)
    # Those read as already blocked are blocked again all the same (a read may be stale).
    patched = writes(scenario)
    assert len(patched) == 12 and all(e["kind"] == "batch_item" for e in patched)
    assert sorted(e["path"] for e in patched) == sorted("/users/" + user for user in USERS)
    assert all(directory(scenario)[user]["accountEnabled"] is False for user in USERS)


def test_check_mode_with_diff_sends_no_write(scenario, least_privileged):
    set_enabled(scenario, USERS[:3])
    run = scenario.run("sign_in.yml", {"o365_users": USERS[:3]}, env=least_privileged, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["outcome"] for e in run.result["results"]] == ["would_block"] * 3
    assert [d["before_header"] for d in run.result["diff"]] == [user + " (before)" for user in USERS[:3]]
    assert writes(scenario) == []
    assert all(directory(scenario)[user]["accountEnabled"] is True for user in USERS[:3])


def test_synced_user_is_blocked_with_a_warning(scenario, least_privileged):
    set_enabled(scenario, [SYNCED])
    run = scenario.run("sign_in.yml", {"o365_user": SYNCED}, env=least_privileged)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["synced_users"] == [SYNCED]
    assert any("synced from on-premises Active Directory" in w for w in run.warnings())


def test_privileged_target_403_says_the_app_needs_an_entra_role(scenario, least_privileged):
    set_enabled(scenario, [ADMIN, USERS[5]])
    run = scenario.run("sign_in.yml", {"o365_users": [USERS[5], ADMIN]}, env=least_privileged)
    assert run.rc != 0
    admin = run.result["results"][1]
    assert (admin["outcome"], admin["status_code"], admin["error"]["code"]) == (
        "failed", 403, "Authorization_RequestDenied")
    assert "holds an Entra admin role" in run.result["msg"]
    assert "Privileged Authentication Administrator" in run.result["msg"]
    assert run.result["results"][0]["outcome"] == "blocked"
    assert directory(scenario)[ADMIN]["accountEnabled"] is True


def test_missing_permission_is_named(scenario):
    set_enabled(scenario, [USERS[6]])
    run = scenario.run("sign_in.yml", {"o365_user": USERS[6]}, env=app_environment(scenario, "reader-only"))
    assert run.rc != 0 and "User.EnableDisableAccount.All" in run.result["msg"]
    assert directory(scenario)[USERS[6]]["accountEnabled"] is True


def test_user_info_reads_one_user_and_many(scenario, least_privileged):
    set_enabled(scenario, [SYNCED], False)
    run = scenario.run("user_info.yml", {"o365_user": SYNCED}, env=least_privileged)
    assert run.rc == 0, run.stdout + run.stderr
    user = run.result["users"][0]
    assert (user["found"], user["account_enabled"], user["on_premises_sync_enabled"], user["user_type"]) == (
        True, False, True, "Member")
    assert user["sessions_valid_from"] and run.result["changed"] is False
    assert [e["kind"] for e in scenario.requests("graph")] == ["graph"]

    many = scenario.run("user_info.yml", {"o365_users": [USERS[0], "ghost@" + DOMAIN, ADMIN]}, env=least_privileged)
    assert many.rc == 0, many.stdout + many.stderr
    assert [u["found"] for u in many.result["users"]] == [True, False, True]
    assert many.result["not_found_users"] == ["ghost@" + DOMAIN]
    assert writes(scenario) == []


def test_user_info_reads_a_nested_group_leaving_out_the_excluded(scenario):
    run = scenario.run("user_info.yml", {"o365_groups": ["Finance - Payables"], "o365_exclude": ["user0004@" + DOMAIN]},
                       env=app_environment(scenario, "containment"))
    assert run.rc == 0, run.stdout + run.stderr
    by_user = dict((u["user"], u) for u in run.result["users"])
    assert set(by_user) == {"alex.wilber@" + DOMAIN, "user0003@" + DOMAIN, "user0004@" + DOMAIN}
    assert all(u["group"] == "Finance - Payables" for u in by_user.values())
    assert by_user["user0004@" + DOMAIN] == {"user": "user0004@" + DOMAIN, "group": "Finance - Payables",
                                             "excluded": True, "found": None}
    assert by_user["alex.wilber@" + DOMAIN]["found"] is True and by_user["alex.wilber@" + DOMAIN]["id"]
    assert writes(scenario) == []


# --- One rule for every write; a refused read never stops a write (issue 17) --------------------------------------

def test_a_gateway_page_in_each_batch_item_is_unknown_never_blocked(scenario, least_privileged):
    # The changes were carried out, but each item's 200 carries a gateway's page, not Graph's 204: unknown.
    users = USERS[5:8]
    set_enabled(scenario, users)
    scenario.faults(batch_answer_next=[{"shape": "item_html", "skip": 1}])
    run = scenario.run("sign_in.yml", {"o365_users": users}, env=least_privileged)
    assert run.rc != 0
    entries = run.result["results"]
    assert [e["outcome"] for e in entries] == ["unknown"] * 3 and all(e["changed"] is None for e in entries)
    assert run.result["changed"] is True and run.result["unknown_count"] == 3


@pytest.mark.parametrize("users", [USERS[5:6], USERS[5:8]], ids=["alone", "batch"])
def test_a_proxy_page_answering_the_patch_is_unknown_never_blocked(scenario, least_privileged, users):
    scenario.route.require_direct("the emulator's fault answers the module directly")
    set_enabled(scenario, users)
    # The read goes through; a proxy answers the write in Graph's place, so nothing reached Graph.
    scenario.faults(answer_next=[{"status": 200, "content_type": "text/html", "body": "<html>Proxy</html>",
                                  "skip": 1}])
    given = {"o365_user": users[0]} if len(users) == 1 else {"o365_users": users}
    run = scenario.run("sign_in.yml", given, env=least_privileged)
    assert run.rc != 0
    entries = run.result["results"]
    assert [e["outcome"] for e in entries] == ["unknown"] * len(users), entries
    assert all(e["changed"] is None and e["account_enabled"] is None for e in entries)
    assert run.result["changed"] is True and run.result["unknown_users"] == users
    assert all(directory(scenario)[user]["accountEnabled"] is True for user in users)


def test_without_user_read_all_blocking_still_happens_and_says_so_once(scenario):
    user = USERS[8]
    set_enabled(scenario, [user])
    run = scenario.run("sign_in.yml", {"o365_user": user}, env=app_environment(scenario, "writes-only"))
    assert run.rc == 0, run.stdout + run.stderr
    entry = run.result["results"][0]
    assert (entry["outcome"], entry["changed"], entry["state_read"]) == ("blocked", True, False)
    assert directory(scenario)[user]["accountEnabled"] is False
    assert len([w for w in run.warnings() if "User.Read.All" in w]) == 1
    # Check mode's preview needs the read: it fails for the user, saying why, and writes nothing.
    preview = scenario.run("sign_in.yml", {"o365_user": user, "o365_state": "allowed"},
                           env=app_environment(scenario, "writes-only"), check=True)
    assert preview.rc != 0 and "preview" in preview.result["msg"] and "User.Read.All" in preview.result["msg"]
    assert directory(scenario)[user]["accountEnabled"] is False


def test_a_user_named_twice_in_two_forms_is_patched_once(scenario, least_privileged):
    users = directory(scenario)
    user = USERS[9]
    set_enabled(scenario, [user])
    run = scenario.run("sign_in.yml", {"o365_users": [user, users[user]["id"]]}, env=least_privileged)
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["outcome"] for e in run.result["results"]] == ["blocked", "blocked"]
    assert run.result["changed_count"] == 1 and len(writes(scenario)) == 1
