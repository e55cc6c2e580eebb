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
  - Reads each user's C(accountEnabled) first and changes the users whose state differs; running the task again
    changes nothing. Several users are read and changed through Microsoft Graph JSON batching, 20 per call.
  - "A block is never skipped on one read: Graph is eventually consistent, and right after a release (or an admin)
    enabled a user, a read may still say C(accountEnabled: false). With O(state=blocked), a user the read shows
    already blocked is blocked again all the same (the C(PATCH) is idempotent and costs one write): it is reported
    V(unchanged) with RV(results[].block_rewritten) once Graph accepts the write, and fails if Graph refuses it.
    RV(changed) follows the state read. O(state=allowed) is not written again (a stale read there leaves the user
    blocked, which is the safe side)."
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
        - V(blocked) or V(allowed) (changed now), V(unchanged) (already in that state; for O(state=blocked), the
          block written again and accepted, see RV(results[].block_rewritten)), V(would_block) or
          V(would_allow) (check mode), V(failed), V(unknown) (the answer was lost, or a 2xx came back that is not
          Graph's answer - Graph answers the change C(204 No Content) - so the change may or may not have been made),
          V(excluded) (named in O(exclude); not read, not changed).
        - A change is V(blocked) / V(allowed) only on Graph's own answer, as every write of the collection.
      type: str
      sample: blocked
    changed:
      description: Whether this user's state was changed (check mode, would be); V(null) when unknown.
      type: bool
    user_id:
      description: The user's object ID, when given or read; V(null) otherwise.
      type: str
    user_principal_name:
      description: The user principal name, when given or read; V(null) otherwise.
      type: str
    state_read:
      description:
        - V(false) when the app may not read users (no C(User.Read.All)) and the change was written without
          reading the state first (blocking or allowing is safe to repeat). Such a user is reported as changed even
          if it already was in that state, and C(account_enabled_before) is V(null). One warning says so per task.
      type: bool
      returned: when the state could not be read
    block_rewritten:
      description:
        - V(true) when the read showed the user already blocked and the block was written again all the same (a
          single read may be stale); the outcome is then V(unchanged) once Graph accepted it.
      type: bool
      returned: with O(state=blocked), for a user the read showed already blocked (not in check mode)
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
exclude_not_found:
  description:
    - The O(exclude) entries Graph said name no user (404), as given - they protected nobody in this run. The task
      also warns about them. Check each one (a typo in an object ID or UPN?).
  returned: when an exclude entry names no user
  type: list
  elements: str
  sample: [breakglass-typo@contoso.com]
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

from ansible_collections.o365.admin.plugins.module_utils._graph_module import users_module
from ansible_collections.o365.admin.plugins.module_utils._sign_in_state import set_sign_in_state


def run(module, client):
    return set_sign_in_state(module, client)


def main():
    users_module(dict(state=dict(type="str", choices=["blocked", "allowed"], default="blocked"))).run_and_exit(run)


if __name__ == "__main__":
    main()
