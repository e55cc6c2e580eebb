# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.o365.admin.plugins.modules.o365_user_sign_in import main
from tests.unit.plugins.modules.graph_options import graph_options

ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
ALEX_ID = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
ADMIN_ID = "4d6f8a0c-2e4b-4d8f-9a1c-3e5b7d9f1a2c"
SYNCED_ID = "9a4c6e8b-0d2f-4b1a-8c3e-5f7a9b1d3e5c"


@pytest.fixture
def tenant(directory):
    directory.add("adele@contoso.com", ADELE_ID)
    directory.add("alex@contoso.com", ALEX_ID, enabled=False)
    directory.add("admin@contoso.com", ADMIN_ID)
    directory.add("synced@contoso.com", SYNCED_ID, synced=True)
    return directory


def methods(directory):
    return [call.request.method for call in directory.calls]


def test_one_user_is_read_then_blocked(run_module, tenant):
    failed, result = run_module(main, graph_options(user="adele@contoso.com"))
    assert not failed, result
    assert result["changed"] is True and result["changed_count"] == 1 and result["state"] == "blocked"
    entry = result["results"][0]
    assert (entry["outcome"], entry["account_enabled_before"], entry["account_enabled"]) == ("blocked", True, False)
    assert (entry["user_id"], entry["status_code"]) == (ADELE_ID, 204)
    assert tenant.patches == [("adele@contoso.com", False)]
    assert methods(tenant) == ["GET", "PATCH"]
    assert "accountEnabled" in tenant.calls[0].request.url


def test_each_result_carries_the_sessions_timestamp_read_before_the_change(run_module, tenant):
    tenant.users[ADELE_ID]["signInSessionsValidFromDateTime"] = "2026-11-02T08:00:00Z"
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "nobody@contoso.com"]))
    assert failed
    assert [e.get("sessions_valid_from") for e in result["results"]] == ["2026-11-02T08:00:00Z", None]
    # The fake answers only the $select'ed properties: the value proves the one read asked for it.
    assert tenant.patches == [("adele@contoso.com", False)]


def test_a_user_already_allowed_is_not_written(run_module, tenant):
    failed, result = run_module(main, graph_options(user="adele@contoso.com", state="allowed"))
    assert not failed
    assert result["changed"] is False and result["results"][0]["outcome"] == "unchanged"
    assert tenant.patches == [] and methods(tenant) == ["GET"]


def test_a_block_is_written_even_when_the_read_says_already_blocked(run_module, tenant):
    # One read may be stale (Graph is eventually consistent): it never decides to leave an account enabled.
    failed, result = run_module(main, graph_options(user="alex@contoso.com", state="blocked"))
    assert not failed, result
    entry = result["results"][0]
    assert result["changed"] is False and (entry["outcome"], entry["block_rewritten"], entry["changed"]) == (
        "unchanged", True, False)
    assert tenant.patches == [("alex@contoso.com", False)] and methods(tenant) == ["GET", "PATCH"]
    assert result["unchanged_count"] == 1 and "diff" not in result


def test_a_refused_rewrite_fails_and_does_not_claim_the_user_blocked(run_module, tenant):
    tenant.refuse["alex@contoso.com"] = (403, "Authorization_RequestDenied")
    failed, result = run_module(main, graph_options(user="alex@contoso.com", state="blocked"))
    entry = result["results"][0]
    assert failed and (entry["outcome"], entry["account_enabled"]) == ("failed", None)
    assert "Graph refused to change sign-in for alex@contoso.com" in result["msg"]


def test_many_users_only_the_differing_ones_are_patched_in_a_batch(run_module, tenant):
    users = ["adele@contoso.com", "alex@contoso.com", "ADELE@contoso.com", ADMIN_ID]
    failed, result = run_module(main, graph_options(users=users))
    assert not failed, result
    assert [e["user"] for e in result["results"]] == users
    assert [e["outcome"] for e in result["results"]] == ["blocked", "unchanged", "blocked", "blocked"]
    assert (result["changed_count"], result["unchanged_count"]) == (2, 1)
    # alex, read as already blocked, is blocked again (not counted as changed).
    assert sorted(tenant.patches) == [(ADMIN_ID, False), ("adele@contoso.com", False), ("alex@contoso.com", False)]
    # The object ID is the rarer form: one read of it, then one $batch of reads, one of the three changes.
    assert methods(tenant) == ["GET", "POST", "POST"]


def test_second_run_changes_nothing(run_module, tenant):
    assert run_module(main, graph_options(users=["adele@contoso.com", "alex@contoso.com"]))[1]["changed"] is True
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "alex@contoso.com"]))
    # Nothing changes; the blocks are written again all the same (a read saying "blocked" may be stale).
    assert not failed and result["changed"] is False and result["unchanged_count"] == 2
    assert tenant.patches == [("adele@contoso.com", False), ("alex@contoso.com", False)] * 2


def test_allowed_enables_again(run_module, tenant):
    failed, result = run_module(main, graph_options(user="alex@contoso.com", state="allowed"))
    assert not failed and result["results"][0]["outcome"] == "allowed"
    assert tenant.patches == [("alex@contoso.com", True)]


def test_check_mode_reports_and_sends_no_write_with_a_diff_per_user(run_module, tenant):
    arguments = graph_options(users=["adele@contoso.com", "alex@contoso.com", "admin@contoso.com"], _ansible_diff=True)
    failed, result = run_module(main, arguments, check_mode=True)
    assert not failed, result
    assert [e["outcome"] for e in result["results"]] == ["would_block", "unchanged", "would_block"]
    assert result["changed"] is True and tenant.patches == []
    assert all(call.request.method != "PATCH" for call in tenant.calls)
    assert [(d["before_header"], d["before"], d["after"]) for d in result["diff"]] == [
        ("adele@contoso.com (before)", "account_enabled: true\n", "account_enabled: false\n"),
        ("admin@contoso.com (before)", "account_enabled: true\n", "account_enabled: false\n")]


def test_a_synced_user_is_changed_with_a_warning(run_module, tenant):
    failed, result = run_module(main, graph_options(user="synced@contoso.com"))
    assert not failed and result["synced_users"] == ["synced@contoso.com"]
    assert result["results"][0]["on_premises_sync_enabled"] is True
    assert any("synced from on-premises Active Directory" in w and "Disable the on-premises account" in w
               for w in result["warnings"])


def test_a_403_on_one_user_after_others_changed_names_the_sensitive_action(run_module, tenant):
    tenant.refuse["admin@contoso.com"] = (403, "Authorization_RequestDenied")
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "admin@contoso.com"]))
    assert failed
    admin = result["results"][1]
    assert (admin["outcome"], admin["changed"], admin["account_enabled"]) == ("failed", False, True)
    assert admin["error"]["code"] == "Authorization_RequestDenied"
    assert "holds an Entra admin role" in admin["error"]["explanation"]
    assert "Privileged Authentication Administrator" in result["msg"]
    assert "Who can perform sensitive actions" in result["msg"]
    assert "although the app changed other users" in result["msg"]
    assert result["failed_users"] == ["admin@contoso.com"] and result["results"][0]["outcome"] == "blocked"
    assert (result["failed_count"], result["unknown_count"], result["changed_count"]) == (1, 0, 1)


def test_a_lone_403_names_both_the_permission_and_the_admin_role(run_module, tenant):
    tenant.refuse["admin@contoso.com"] = (403, "Authorization_RequestDenied")
    failed, result = run_module(main, graph_options(user="admin@contoso.com"))
    assert failed
    assert "User.EnableDisableAccount.All" in result["msg"] and "Privileged Authentication Administrator" in result["msg"]


def test_an_unknown_user_fails_and_nothing_is_written_for_it(run_module, tenant):
    failed, result = run_module(main, graph_options(users=["ghost@contoso.com", "adele@contoso.com"]))
    assert failed and result["failed_users"] == ["ghost@contoso.com"]
    assert result["results"][0]["status_code"] == 404 and "not found in the tenant" in result["msg"]
    assert tenant.patches == [("adele@contoso.com", False)]


def test_read_refused_writes_anyway_and_says_user_read_all_once(run_module, tenant):
    # Blocking is safe to repeat: a read the app may not make never stops the write it may send.
    tenant.read_status["adele@contoso.com"] = (403, "Authorization_RequestDenied")
    failed, result = run_module(main, graph_options(user="adele@contoso.com"))
    assert not failed and tenant.patches == [("adele@contoso.com", False)]
    entry = result["results"][0]
    assert (entry["outcome"], entry["changed"], entry["state_read"], entry["account_enabled_before"]) == (
        "blocked", True, False, None)
    assert len([w for w in result["warnings"] if "without reading it first" in w and "User.Read.All" in w]) == 1


def test_check_mode_with_the_read_refused_fails_saying_why(run_module, tenant):
    tenant.read_status["adele@contoso.com"] = (403, "Authorization_RequestDenied")
    failed, result = run_module(main, graph_options(user="adele@contoso.com"), check_mode=True)
    assert failed and "User.Read.All" in result["msg"] and "preview" in result["msg"] and tenant.patches == []


def test_invalid_reference_sends_nothing(run_module, tenant):
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "bad user@contoso.com"]))
    assert failed and "Invalid user reference" in result["msg"] and len(tenant.calls) == 0


def test_excluded_users_are_listed_and_never_touched(run_module, tenant):
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "alex@contoso.com"],
                                                    exclude=["ADELE@contoso.com"], state="allowed"))
    assert not failed
    assert [e["outcome"] for e in result["results"]] == ["excluded", "allowed"]
    assert tenant.patches == [("alex@contoso.com", True)]


@pytest.mark.parametrize("concurrency", [0, 33])
def test_batch_concurrency_out_of_range_fails_before_any_call(run_module, tenant, concurrency):
    failed, result = run_module(main, graph_options(users=["adele@contoso.com"], batch_concurrency=concurrency))
    assert failed and result["msg"] == "batch_concurrency must be 1 or more and at most 32, not %d." % concurrency
    assert len(tenant.calls) == 0


def test_users_and_exclude_given_as_survey_text_are_read_as_lists(run_module, tenant):
    # An AWX survey's text field: entries on lines and after commas, as Ansible hands a string to a list option.
    failed, result = run_module(main, graph_options(users="adele@contoso.com,\nadmin@contoso.com\nalex@contoso.com",
                                                    exclude="alex@contoso.com\n"))
    assert not failed, result
    assert [(e["user"], e["outcome"]) for e in result["results"]] == [
        ("adele@contoso.com", "blocked"), ("admin@contoso.com", "blocked"), ("alex@contoso.com", "excluded")]
    assert sorted(tenant.patches) == [("adele@contoso.com", False), ("admin@contoso.com", False)]
