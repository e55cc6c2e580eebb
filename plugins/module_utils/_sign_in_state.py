# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether users may sign in (accountEnabled): read it, change only what differs, say what each answer means.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.o365.admin.plugins.module_utils._graph_requests import send_each
from ansible_collections.o365.admin.plugins.module_utils._outcomes import judge
from ansible_collections.o365.admin.plugins.module_utils._permissions import lacks, permission_sentence
from ansible_collections.o365.admin.plugins.module_utils._user_read import (
    READ_PERMISSION, explain_read_failure, read_users)

WRITE_PERMISSION = "User.EnableDisableAccount.All"
# accountEnabled wanted for each state.
ACCOUNT_ENABLED = {"blocked": False, "allowed": True}
# What the module needs to know before deciding; accountEnabled and onPremisesSyncEnabled come only on $select.
STATE_PROPERTIES = ("id", "userPrincipalName", "userType", "accountEnabled", "onPremisesSyncEnabled")
SENSITIVE_ACTIONS_DOC = "https://learn.microsoft.com/graph/api/resources/users#who-can-perform-sensitive-actions"


class SignInChange:
    """One distinct user: what was read, what is wanted, and (once sent) Graph's answer to the change."""

    def __init__(self, target, read, state):
        self.target = target
        self.read = read
        self.state = state
        self.answer = None

    @property
    def before(self):
        return self.read.properties.get("account_enabled") if self.read.found else None

    @property
    def wanted(self):
        return ACCOUNT_ENABLED[self.state]

    @property
    def needed(self):
        return self.read.found and self.before is not self.wanted

    @property
    def synced(self):
        return bool(self.read.found and self.read.properties.get("on_premises_sync_enabled"))

    def outcome(self, check_mode):
        """blocked | allowed | unchanged | would_block | would_allow | failed | unknown."""
        if not self.read.found:
            return "failed"  # nothing was sent for a user that could not be read: certainly not changed
        if not self.needed:
            return "unchanged"
        if check_mode:
            return "would_block" if self.state == "blocked" else "would_allow"
        return judge(self.answer, lambda answer: (self.state, None))[0]


def read_sign_in_state(client, targets, state, concurrency, max_retries):
    """One SignInChange per distinct target, in order, from a batched read of accountEnabled."""
    reads = read_users(client, [target.reference for target in targets], STATE_PROPERTIES, concurrency, max_retries)
    return [SignInChange(target, read, state) for target, read in zip(targets, reads)]


def apply_changes(client, changes, concurrency, max_retries):
    """PATCH accountEnabled for the users whose state differs (only those); the answers go on each change."""
    pending = [change for change in changes if change.needed]
    requests = [("PATCH", change.target.reference.path(), {"accountEnabled": change.wanted}) for change in pending]
    for change, answer in zip(pending, send_each(client, requests, concurrency, max_retries)):
        change.answer = answer
    return pending


def diff_entry(change):
    """--diff for one user: accountEnabled before and after."""
    name = change.target.user
    return {"before_header": "%s (before)" % name, "after_header": "%s (after)" % name,
            "before": "account_enabled: %s\n" % str(change.before).lower(),
            "after": "account_enabled: %s\n" % str(change.wanted).lower()}


def synced_warning(users, state):
    verb = "disable" if state == "blocked" else "enable"
    return ("%s %s synced from on-premises Active Directory: the next Entra Connect sync writes the on-premises "
            "state back over this cloud change. %s the on-premises account%s too."
            % (", ".join(users), "is" if len(users) == 1 else "are", verb.capitalize(),
               "" if len(users) == 1 else "s"))


def explain_change_failure(change, permission_proven):
    """What Graph's refusal of one user's change means, and what to do; the sensitive-action 403 named as such."""
    user, answer = change.target.user, change.answer
    said = "(HTTP %s %s%s)" % (answer.status_code, answer.error["code"] or "",
                               ", request-id %s" % answer.request_id if answer.request_id else "")
    if answer.unknown:
        return ("No readable answer to the change for %s: it may or may not have been made. Run the task again: "
                "it reads the state first and changes only what still differs." % user)
    granted = getattr(answer, "granted_roles", None)
    if answer.status_code == 403 and lacks(WRITE_PERMISSION, granted):
        return "Graph refused to change sign-in for %s %s. %s." % (
            user, said, permission_sentence(WRITE_PERMISSION, granted))
    if answer.status_code == 403 and granted is not None and not permission_proven:  # the token holds it
        return ("Graph refused to change sign-in for %s %s. %s: %s holds an Entra admin role, so this is a sensitive "
                "action (Microsoft's 'Who can perform sensitive actions', %s). The app itself must be assigned an "
                "Entra role that may act on that user, such as Privileged Authentication Administrator for a "
                "privileged administrator." % (user, said, permission_sentence(WRITE_PERMISSION, granted), user,
                                               SENSITIVE_ACTIONS_DOC))
    if answer.status_code == 403 and permission_proven:
        return ("Graph refused to change sign-in for %s %s although the app changed other users in this run: %s "
                "holds an Entra admin role, so this is a sensitive action (Microsoft's 'Who can perform sensitive "
                "actions', %s). The app itself must be assigned an Entra role that may act on that user, such as "
                "Privileged Authentication Administrator for a privileged administrator; a Graph permission alone "
                "is not enough." % (user, said, user, SENSITIVE_ACTIONS_DOC))
    if answer.status_code == 403:
        return ("Graph refused to change sign-in for %s %s. Either the app lacks the application permission %s "
                "(grant it with admin consent), or %s holds an Entra admin role: then this is a sensitive action "
                "(Microsoft's 'Who can perform sensitive actions', %s) and the app itself must be assigned an Entra "
                "role that may act on that user, such as Privileged Authentication Administrator for a privileged "
                "administrator; a Graph permission alone is not enough."
                % (user, said, WRITE_PERMISSION, user, SENSITIVE_ACTIONS_DOC))
    return "Graph refused to change sign-in for %s %s: %s" % (user, said, answer.error["message"])


def explain_failure(change, permission_proven):
    if not change.read.found:
        if change.read.not_found:
            return ("User %s was not found in the tenant: check the object ID or UPN (a guest's UPN carries #EXT#)."
                    % change.target.user)
        message = explain_read_failure(change.read, change.target.user)
        if change.read.answer.status_code == 403:
            message += " Reading the state first needs %s beside %s." % (READ_PERMISSION, WRITE_PERMISSION)
        return message
    return explain_change_failure(change, permission_proven)
