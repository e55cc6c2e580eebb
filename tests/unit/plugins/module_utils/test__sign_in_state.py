# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._sign_in_state import (
    SignInChange, diff_entry, explain_failure, failure_explanations, synced_warning)
from ansible_collections.o365.admin.plugins.module_utils._targets import Target
from ansible_collections.o365.admin.plugins.module_utils._user_read import UserRead
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference


def change(enabled=True, state="blocked", read_status=200, synced=None, user="adele@contoso.com"):
    target = Target(user, UserReference.parse(user))
    properties = {"account_enabled": enabled, "on_premises_sync_enabled": synced} if read_status == 200 else {}
    # A user's answer carries its identity (a 2xx without id and userPrincipalName is not a found user).
    body = {"userPrincipalName": "adele@contoso.com"} if read_status == 200 else {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}
    return SignInChange(target, UserRead(BatchOutcome(read_status, body, "rid-read"), properties), state)


@pytest.mark.parametrize("enabled, state, check_mode, outcome", [
    (True, "blocked", False, "blocked"), (False, "blocked", False, "unchanged"),
    (False, "allowed", False, "allowed"), (True, "allowed", False, "unchanged"),
    (True, "blocked", True, "would_block"), (False, "allowed", True, "would_allow"),
    (None, "allowed", False, "allowed"),  # a null read is not "already allowed"
])
def test_outcome_follows_what_was_read(enabled, state, check_mode, outcome):
    item = change(enabled, state)
    if item.needed and not check_mode:
        item.answer = BatchOutcome(204, None, "rid")
    assert item.outcome(check_mode) == outcome


def test_a_refused_or_lost_change_is_failed_or_unknown_never_done():
    refused = change()
    refused.answer = BatchOutcome(403, {"error": {"code": "Authorization_RequestDenied", "message": "no"}}, "r")
    lost = change()
    lost.answer = BatchOutcome(None, None, None, unknown=True)
    assert (refused.outcome(False), lost.outcome(False)) == ("failed", "unknown")
    assert "may or may not have been made" in explain_failure(lost, False)


def test_a_user_not_found_fails_with_a_clear_message():
    item = change(read_status=404)
    assert not item.needed and item.outcome(False) == "failed"
    assert "was not found in the tenant" in explain_failure(item, False)


def test_the_403_message_depends_on_whether_the_permission_was_proven():
    item = change()
    item.answer = BatchOutcome(403, {"error": {"code": "Authorization_RequestDenied", "message": "no"}}, "rid-9")
    proven = explain_failure(item, True)
    unproven = explain_failure(item, False)
    assert "holds an Entra admin role" in proven and "User.EnableDisableAccount.All" not in proven
    assert "User.EnableDisableAccount.All" in unproven and "Privileged Authentication Administrator" in unproven
    assert "Who can perform sensitive actions" in proven and "rid-9" in proven


def test_diff_and_synced_warning():
    item = change(True, "blocked", synced=True)
    assert item.synced
    assert diff_entry(item)["before"] == "account_enabled: true\n" and diff_entry(item)["after"] == "account_enabled: false\n"
    assert "Disable the on-premises accounts too" in synced_warning(["a", "b"], "blocked")
    assert "Enable the on-premises account too" in synced_warning(["a"], "allowed")


def refused_for_want_of_the_permission(user, request_id):
    item = change(user=user)
    item.answer = BatchOutcome(403, {"error": {"code": "Authorization_RequestDenied", "message": "no"}}, request_id)
    item.answer.granted_roles = ("User.Read.All",)
    return item


def test_a_missing_permission_is_said_once_with_the_users_counted():
    """Issue 28: the explanation repeated in full once per user in msg."""
    users = ["user%d@contoso.com" % n for n in range(7)]
    troubled = [refused_for_want_of_the_permission(user, "rid-%d" % n) for n, user in enumerate(users)]
    lost = change(user="lost@contoso.com")
    lost.answer = BatchOutcome(None, None, None, unknown=True)
    message = failure_explanations(troubled + [lost], False)
    assert message.count("The app's token does not hold User.EnableDisableAccount.All") == 1
    assert "Graph refused to change sign-in for 7 users (HTTP 403 Authorization_RequestDenied): " in message
    assert "user0@contoso.com, user1@contoso.com, user2@contoso.com, user3@contoso.com, user4@contoso.com and 2 more" \
        in message
    assert "may or may not have been made" in message and "lost@contoso.com" in message


def test_a_403_the_token_cannot_explain_stays_per_user():
    item = change()
    item.answer = BatchOutcome(403, {"error": {"code": "Authorization_RequestDenied", "message": "no"}}, "rid-9")
    assert failure_explanations([item], True) == explain_failure(item, True)


def test_a_refused_read_in_check_mode_is_said_once_with_the_preview_hint():
    troubled = []
    for user in ("a@contoso.com", "b@contoso.com"):
        item = change(read_status=403, user=user)
        item.read.answer.granted_roles = ("User.EnableDisableAccount.All",)
        troubled.append(item)
    message = failure_explanations(troubled, False)
    assert message.count("does not hold User.Read.All") == 1 and "preview" in message
    assert "Graph refused to read the sign-in state for 2 users" in message
    assert "a@contoso.com, b@contoso.com" in message
