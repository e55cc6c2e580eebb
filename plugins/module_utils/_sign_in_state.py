# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whether users may sign in (accountEnabled): read it, change only what differs, say what each answer means.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.o365.admin.plugins.module_utils._errors import TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import checked_concurrency
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import Sender
from ansible_collections.o365.admin.plugins.module_utils._outcomes import (
    FAILED, UNKNOWN, base_entry, entry_changed, judge, summarise, write_answer)
from ansible_collections.o365.admin.plugins.module_utils._permissions import lacks, permission_sentence
from ansible_collections.o365.admin.plugins.module_utils._targets import resolve_targets
from ansible_collections.o365.admin.plugins.module_utils._user_read import (
    READ_PERMISSION, explain_read_failure, read_users_through)

WRITE_PERMISSION = "User.EnableDisableAccount.All"
# accountEnabled wanted for each state.
ACCOUNT_ENABLED = {"blocked": False, "allowed": True}
# What the module needs to know before deciding; accountEnabled and onPremisesSyncEnabled come only on $select.
# signInSessionsValidFromDateTime rides on the same read (same permission) so that a containment record holds the
# sessions timestamp from before the incident's writes.
STATE_PROPERTIES = ("id", "userPrincipalName", "userType", "accountEnabled", "onPremisesSyncEnabled",
                    "signInSessionsValidFromDateTime")
# Outcomes that change (or, in check mode, would change) a user.
CHANGING = ("blocked", "allowed", "would_block", "would_allow")
SENSITIVE_ACTIONS_DOC = "https://learn.microsoft.com/graph/api/resources/users#who-can-perform-sensitive-actions"


class SignInChange:
    """One distinct user: what was read, what is wanted, and (once sent) Graph's answer to the change.

    ``blind``: the read was refused (403, no ``User.Read.All``) and the change is written without it, since
    blocking or allowing an account is safe to repeat: the user is reported as written, not as changed from a known
    state.
    """

    def __init__(self, target, read, state, check_mode=False):
        self.target = target
        self.read = read
        self.state = state
        self.answer = None
        self.blind = (read is not None and not check_mode and target.refusal is None and not read.found
                      and read.answer.status_code == 403)
        # Graph is eventually consistent: right after a release, a read may still say accountEnabled false. A block
        # is never skipped on such a read: the (idempotent) PATCH is written anyway, and the user is reported
        # unchanged once Graph accepts it.
        self.rewrite = (not check_mode and state == "blocked" and target.refusal is None and read is not None
                        and read.found and read.properties.get("account_enabled") is False)

    @property
    def refused(self):
        return self.target.refusal is not None

    @property
    def before(self):
        return self.read.properties.get("account_enabled") if self.read is not None and self.read.found else None

    @property
    def wanted(self):
        return ACCOUNT_ENABLED[self.state]

    @property
    def needed(self):
        if self.blind:
            return True
        return self.read is not None and self.read.found and self.before is not self.wanted

    @property
    def synced(self):
        return bool(self.read is not None and self.read.found and self.read.properties.get("on_premises_sync_enabled"))

    def outcome(self, check_mode):
        """blocked | allowed | unchanged | would_block | would_allow | failed | unknown."""
        if self.refused or not (self.blind or self.read.found):
            return "failed"  # nothing was sent for a user that could not be read: certainly not changed
        if not self.needed:
            if self.rewrite and self.answer is not None:
                return judge(self.answer, write_answer("unchanged"))[0]
            return "unchanged"
        if check_mode:
            return "would_block" if self.state == "blocked" else "would_allow"
        return judge(self.answer, write_answer(self.state))[0]

    def error(self, check_mode):
        """Graph's (or our) {code, message} for a failed or unknown outcome."""
        if self.refused:
            return dict(self.target.refusal["error"])
        if self.answer is not None:
            return judge(self.answer, write_answer(self.state))[1] or self.answer.error
        return self.read.answer.error


def read_sign_in_state(send, targets, state, check_mode=False):
    """One SignInChange per distinct target, in order, from a batched read of accountEnabled (targets refused at
    resolution are not read)."""
    readable = [target for target in targets if target.refusal is None]
    answers = read_users_through(send, [t.reference for t in readable], STATE_PROPERTIES)
    reads = dict(zip([id(t) for t in readable], answers))
    return [SignInChange(target, reads.get(id(target)), state, check_mode) for target in targets]


def apply_changes(send, changes):
    """PATCH accountEnabled for the users whose state differs, and for users to block that one read showed already
    blocked (see SignInChange.rewrite); the answers go on each change."""
    pending = [change for change in changes if change.needed or change.rewrite]
    requests = [("PATCH", change.target.reference.path(), {"accountEnabled": change.wanted}) for change in pending]
    for change, answer in zip(pending, send(requests)):
        change.answer = answer
    return pending


def diff_entry(change):
    """--diff for one user: accountEnabled before and after."""
    name = change.target.user
    return {"before_header": "%s (before)" % name, "after_header": "%s (after)" % name,
            "before": "account_enabled: %s\n" % ("unknown (not read)" if change.blind else str(change.before).lower()),
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
    if answer.unknown or answer.ok:
        # Lost, or a 2xx that is not Graph's answer (a proxy's page): the change may or may not have been made.
        return ("No readable answer to the change for %s: it may or may not have been made (%s). Run the task "
                "again: it reads the state first and changes only what still differs."
                % (user, (judge(answer, write_answer(change.state))[1] or answer.error)["message"]))
    if answer.status_code is None:
        return "The change for %s was not sent: %s" % (user, answer.error["message"])
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
    if change.refused:
        return change.target.refusal["error"]["message"]
    if (change.blind or change.rewrite) and change.answer is not None:
        return explain_change_failure(change, permission_proven)
    if not change.read.found:
        if change.read.not_found:
            return ("User %s was not found in the tenant: check the object ID or UPN (a guest's UPN carries #EXT#)."
                    % change.target.user)
        message = explain_read_failure(change.read, change.target.user)
        if change.read.answer.status_code == 403:
            message += (" Check mode's preview needs to read the state (%s beside %s); a real run writes without it."
                        % (READ_PERMISSION, WRITE_PERMISSION))
        return message
    return explain_change_failure(change, permission_proven)


def missing_permission(change):
    """(what was refused, Graph's code, the permission sentence) when the app's token shows it lacks the permission
    this user's failure needed: a cause every such user shares, to be said once. None otherwise."""
    if change.refused:
        return None
    answer = change.answer
    if answer is not None and (change.blind or change.read.found):
        granted = getattr(answer, "granted_roles", None)
        if answer.status_code == 403 and not answer.unknown and lacks(WRITE_PERMISSION, granted):
            return ("Graph refused to change sign-in", answer.error["code"] or "",
                    "%s." % permission_sentence(WRITE_PERMISSION, granted))
        return None
    read = change.read.answer
    granted = getattr(read, "granted_roles", None)
    if not change.read.found and read.status_code == 403 and lacks(READ_PERMISSION, granted):
        return ("Graph refused to read the sign-in state", read.error["code"] or "",
                "%s. Check mode's preview needs to read the state (%s beside %s); a real run writes without it."
                % (permission_sentence(READ_PERMISSION, granted), READ_PERMISSION, WRITE_PERMISSION))
    return None


def failure_explanations(troubled, permission_proven, shown=5):
    """Why these users failed: a missing permission once, with the users it stopped counted and named (it read
    the same for every user), then each other user's own explanation (the first ``shown``)."""
    shared, own = {}, []
    for change in troubled:
        cause = missing_permission(change)
        if cause is None:
            own.append(change)
        else:
            shared.setdefault(cause, []).append(change.target.user)
    parts = []
    for (refused, code, sentence), users in shared.items():
        listed = ", ".join(users[:shown]) + (" and %d more" % (len(users) - shown) if len(users) > shown else "")
        parts.append("%s for %d user%s (HTTP 403 %s): %s. %s" % (
            refused, len(users), "" if len(users) == 1 else "s", code, listed, sentence))
    parts += [explain_failure(change, permission_proven) for change in own[:shown]]
    return " ".join(parts)


def blind_write_warning(changes):
    """Said once: the app could not read the state, so the change was written without comparing."""
    users = [change.target.user for change in changes]
    listed = ", ".join(users[:10]) + (" and %d more" % (len(users) - 10) if len(users) > 10 else "")
    return ("The app may not read users (%s needs %s), so sign-in was written without reading it first for %s: they "
            "are reported as changed even if they already were in that state. Grant %s to make the result exact."
            % ("GET /users", READ_PERMISSION, listed, READ_PERMISSION))


def user_result(target, change, check_mode, permission_proven):
    if change is None:
        entry = dict(user=target.user, outcome="excluded", changed=False, user_id=target.user_id,
                     user_principal_name=target.user_principal_name)
    else:
        outcome = change.outcome(check_mode)
        answer = change.answer if change.answer is not None else (change.read.answer if change.read else None)
        error = None
        if outcome in (FAILED, UNKNOWN):
            error = dict(change.error(check_mode), explanation=explain_failure(change, permission_proven))
        if answer is None:
            # Refused before any read: the refusal is the first occurrence's (change.target), shared by duplicates.
            refusal = change.target.refusal
            entry = dict(user=target.user, outcome=outcome, status_code=refusal["status_code"],
                         request_id=refusal["request_id"], error=error)
        else:
            entry = base_entry(target.user, outcome, error, answer)
        properties = change.read.properties if change.read is not None else {}
        entry.update(changed=entry_changed(outcome, CHANGING), user_id=properties.get("id") or target.user_id,
                     user_principal_name=properties.get("user_principal_name") or target.user_principal_name,
                     account_enabled_before=change.before,
                     on_premises_sync_enabled=properties.get("on_premises_sync_enabled"),
                     sessions_valid_from=properties.get("sessions_valid_from"))
        if change.blind:
            entry["state_read"] = False
        if change.rewrite:
            entry["block_rewritten"] = True
        if outcome == UNKNOWN:
            entry["account_enabled"] = None
        elif outcome == FAILED:
            # A block refused after a read saying "already blocked" leaves the state unconfirmed: that read may be stale.
            entry["account_enabled"] = None if change.rewrite else change.before
        else:
            entry["account_enabled"] = change.wanted
    if target.group is not None:
        entry["group"] = target.group
    return entry


def set_sign_in_state(module, client):
    """o365_user_sign_in's run: resolve the targets, read their state, change what differs, shape the result."""
    params = module.params
    sender = Sender(client, checked_concurrency(params["batch_concurrency"]), params["max_retries"])
    target_set = resolve_targets(client, params, send=sender)
    acting = target_set.distinct() + target_set.blocked()
    changes = read_sign_in_state(sender, acting, params["state"], module.check_mode)
    if not module.check_mode:
        apply_changes(sender, changes)
    sent = [change for change in changes if change.answer is not None]
    permission_proven = any(change.answer.ok for change in sent)
    by_identity = dict((target_set.identity(change.target), change) for change in changes)
    results = [user_result(target, None if target.excluded else by_identity[target_set.identity(target)],
                           module.check_mode, permission_proven) for target in target_set.targets]
    outcomes = [change.outcome(module.check_mode) for change in changes]
    changing = [change for change, outcome in zip(changes, outcomes) if outcome in CHANGING]
    synced = [change.target.user for change in changing if change.synced]
    if synced:
        module.warn(synced_warning(synced, params["state"]))
    blind = [change for change in changes if change.blind]
    if blind:
        module.warn(blind_write_warning(blind))
    # A change whose answer was lost may have been made: never claim nothing changed.
    possibly_changed = any(outcome == UNKNOWN for outcome in outcomes)
    result = dict(changed=bool(changing) or possibly_changed, state=params["state"], results=results,
                  unchanged_count=outcomes.count("unchanged"), synced_users=synced)
    result.update(summarise(results, [target_set.identity(target) for target in target_set.targets], CHANGING,
                            "changed_count"))
    target_set.announce(module, result)
    if module._diff:
        result["diff"] = [diff_entry(change) for change in changing]
    troubled = [change for change, outcome in zip(changes, outcomes) if outcome in (FAILED, UNKNOWN)]
    if troubled:
        raise TaskFailed("%d of %d users could not be %s: %s Every user's outcome is in results."
                         % (len(troubled), len(changes), "read" if module.check_mode else params["state"],
                            failure_explanations(troubled, permission_proven)),
                         result)
    return result
