#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_user_sign_in
short_description: Block or allow Microsoft 365 users' sign-in
version_added: 0.1.0
description:
  - Blocks (or allows again) sign-in for one user, a list of users, or the transitive user members of groups, by
    setting C(accountEnabled) through Microsoft Graph (C(PATCH /users/{id | userPrincipalName})).
  - Blocking sign-in is the first step of Microsoft's emergency revocation guidance for a compromised or departing
    user; revoking the sessions (M(o365.admin.o365_revoke_sessions)) is the next. Blocking alone does not end
    sessions already open.
  - Reads each user's C(accountEnabled) first and changes only the users whose state differs, so RV(changed) is
    exact and running the task again changes nothing. Several users are read and changed through Microsoft Graph
    JSON batching, 20 per call.
  - "Least permissions: the Microsoft Graph application permissions C(User.EnableDisableAccount.All) (to change)
    and C(User.Read.All) (to read the state first), with admin consent; O(groups) also needs
    C(GroupMember.Read.All). C(User.ReadWrite.All) or C(Directory.ReadWrite.All) also allow the change."
  - Changing a user who holds an Entra admin role is a sensitive action; Microsoft then requires the app itself to
    hold an Entra role that may act on that user (see Microsoft's "Who can perform sensitive actions"), such as
    Privileged Authentication Administrator for a privileged administrator. Graph answers 403 otherwise, and the
    module says so.
options:
  state:
    description:
      - V(blocked) sets C(accountEnabled) to V(false); the user can no longer sign in.
      - V(allowed) sets it to V(true) again.
    type: str
    choices: [blocked, allowed]
    default: blocked
extends_documentation_fragment:
  - o365.admin.graph
  - o365.admin.graph.action_group
  - o365.admin.targets
attributes:
  check_mode:
    support: full
    description:
      - Reads every user and reports who would be blocked or allowed (RV(results[].outcome)); no change is sent.
  diff_mode:
    support: full
    description: C(accountEnabled) before and after, for each user that changes (or would change).
notes:
  - Users synced from on-premises Active Directory (C(onPremisesSyncEnabled)) are changed in the cloud, but the next
    Entra Connect sync writes the on-premises state back. The module warns; disable the on-premises account too.
  - The task fails if any user could not be read or changed, and still returns every user's outcome.
seealso:
  - module: o365.admin.o365_revoke_sessions
  - module: o365.admin.o365_user_info
  - name: "Microsoft Graph: Update user"
    description: The API this module calls, its permissions and the sensitive-action rule.
    link: https://learn.microsoft.com/graph/api/user-update
  - name: Who can perform sensitive actions
    description: Which Entra roles may change users who hold admin roles.
    link: https://learn.microsoft.com/graph/api/resources/users#who-can-perform-sensitive-actions
  - name: Revoke user access in an emergency in Microsoft Entra ID
    description: Microsoft's order of steps (block sign-in, revoke sessions, then devices).
    link: https://learn.microsoft.com/entra/identity/users/users-revoke-access
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Block sign-in for a departing user
  o365.admin.o365_user_sign_in:
    user: adele.vance@contoso.com
    state: blocked

- name: Block everyone in the compromised team's group, except the break-glass account
  o365.admin.o365_user_sign_in:
    groups: [Finance]
    exclude: [breakglass@contoso.com]
    state: blocked
  register: blocked

- name: Who was blocked by this run
  ansible.builtin.debug:
    msg: "{{ blocked.results | selectattr('outcome', 'equalto', 'blocked') | map(attribute='user') }}"

- name: Allow sign-in again after the incident
  o365.admin.o365_user_sign_in:
    users: "{{ cleared_users }}"
    state: allowed
"""

RETURN = r"""
changed:
  description: Whether any user's sign-in state was changed (in check mode, would be).
  returned: always
  type: bool
  sample: true
state:
  description: The state asked for.
  returned: always
  type: str
  sample: blocked
results:
  description: One entry per user given (each occurrence) and per group member, in order.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user as given, or a group member's UPN.
      type: str
    group:
      description: The group (as given) that brought this user.
      type: str
      returned: for group members
    outcome:
      description:
        - V(blocked) or V(allowed) (changed now), V(unchanged) (already in that state), V(would_block) or
          V(would_allow) (check mode), V(failed), V(unknown) (the answer was lost; the change may or may not have
          been made), V(excluded) (named in O(exclude); not read, not changed).
      type: str
      sample: blocked
    changed:
      description: Whether this user's state was changed (check mode, would be); V(null) when unknown.
      type: bool
    user_id:
      description: The user's object ID, when read.
      type: str
    user_principal_name:
      description: The user principal name, when read.
      type: str
    account_enabled_before:
      description: C(accountEnabled) as read before any change.
      type: bool
    account_enabled:
      description: C(accountEnabled) after the task (check mode, after it would run); V(null) when not known.
      type: bool
    on_premises_sync_enabled:
      description: Whether the account is synced from on-premises Active Directory.
      type: bool
    sessions_valid_from:
      description:
        - The user's C(signInSessionsValidFromDateTime) as read before any change (changing C(accountEnabled) does
          not move it); V(null) when the user was not read.
        - Kept in containment records as the sessions timestamp from before the incident's writes.
      type: str
      sample: "2026-11-02T08:00:00Z"
    status_code:
      description: HTTP status of Graph's answer to the change (or to the read, when the read failed).
      type: int
    request_id:
      description: Graph's C(request-id) of that answer.
      type: str
    error:
      description: On failure, Graph's C(code) and C(message), and C(explanation), what it means and what to do.
      type: dict
  sample:
    - {user: adele@contoso.com, outcome: blocked, changed: true, account_enabled_before: true,
       account_enabled: false, status_code: 204, request_id: 1b2c-...}
changed_count:
  description: How many distinct users were changed (check mode, would be).
  returned: always
  type: int
  sample: 2
unchanged_count:
  description: How many distinct users were already in the state asked for.
  returned: always
  type: int
  sample: 0
failed_count:
  description: How many distinct users could not be read or changed.
  returned: always
  type: int
  sample: 0
unknown_count:
  description: How many distinct users' answers to the change were lost.
  returned: always
  type: int
  sample: 0
failed_users:
  description: The users (as given) that could not be read or changed, in order.
  returned: always
  type: list
  elements: str
unknown_users:
  description: The users whose answer was lost (the change may have been made; running the task again is safe).
  returned: always
  type: list
  elements: str
synced_users:
  description: The users synced from on-premises Active Directory that were changed (or would be).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.o365.admin.plugins.module_utils._errors import TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import checked_concurrency
from ansible_collections.o365.admin.plugins.module_utils._graph_module import users_module
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import Sender
from ansible_collections.o365.admin.plugins.module_utils._outcomes import (
    FAILED, UNKNOWN, base_entry, entry_changed, summarise)
from ansible_collections.o365.admin.plugins.module_utils._sign_in_state import (
    apply_changes, blind_write_warning, diff_entry, explain_failure, read_sign_in_state, synced_warning)
from ansible_collections.o365.admin.plugins.module_utils._targets import resolve_targets

CHANGING = ("blocked", "allowed", "would_block", "would_allow")


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
            entry = dict(user=target.user, outcome=outcome, status_code=target.refusal["status_code"],
                         request_id=target.refusal["request_id"], error=error)
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
        if outcome == UNKNOWN:
            entry["account_enabled"] = None
        elif outcome == FAILED:
            entry["account_enabled"] = change.before
        else:
            entry["account_enabled"] = change.wanted
    if target.group is not None:
        entry["group"] = target.group
    return entry


def run(module, client):
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
    if module._diff:
        result["diff"] = [diff_entry(change) for change in changing]
    troubled = [change for change, outcome in zip(changes, outcomes) if outcome in (FAILED, UNKNOWN)]
    if troubled:
        raise TaskFailed("%d of %d users could not be %s: %s Every user's outcome is in results."
                         % (len(troubled), len(changes), "read" if module.check_mode else params["state"],
                            " ".join(explain_failure(change, permission_proven) for change in troubled[:5])),
                         result)
    return result


def main():
    users_module(dict(state=dict(type="str", choices=["blocked", "allowed"], default="blocked"))).run_and_exit(run)


if __name__ == "__main__":
    main()
