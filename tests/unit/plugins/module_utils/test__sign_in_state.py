# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._sign_in_state import (
    SignInChange, diff_entry, explain_failure, synced_warning)
from ansible_collections.o365.admin.plugins.module_utils._targets import Target
from ansible_collections.o365.admin.plugins.module_utils._user_read import UserRead
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference


def change(enabled=True, state="blocked", read_status=200, synced=None):
    target = Target("adele@contoso.com", UserReference.parse("adele@contoso.com"))
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
