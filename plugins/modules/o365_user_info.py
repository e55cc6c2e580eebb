#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_user_info
short_description: Read Microsoft 365 users' sign-in state and identity
version_added: 0.1.0
description:
  - Reads one user, a list of users, or the transitive user members of groups through Microsoft Graph
    (C(GET /users/{id | userPrincipalName}) with C($select), batched for many users). For each - object ID, user
    principal name, display name, user type, whether sign-in is allowed (C(accountEnabled)), whether the account
    is synced from on-premises Active Directory, and since when sign-in sessions are valid.
  - Never changes anything.
  - A user that does not exist is reported with RV(users[].found=false); it does not fail the task.
  - The app needs the Microsoft Graph application permission C(User.Read.All); reading O(groups) also needs
    C(GroupMember.Read.All).
options:
  max_users:
    description:
      - The most distinct users the task reads, after O(exclude). With more, the task fails before reading any
        user, naming the count. Raise it on purpose for a larger read.
    type: int
    default: 1000
extends_documentation_fragment:
  - o365.admin.graph
  - o365.admin.graph.action_group
  - o365.admin.targets
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode changes nothing in what it does.
  diff_mode:
    support: none
    description: The module changes nothing, so there is nothing to compare.
notes:
  - Excluded users (O(exclude)) are listed with RV(users[].excluded=true) and are not read.
seealso:
  - module: o365.admin.o365_user_sign_in
  - module: o365.admin.o365_revoke_sessions
  - name: "Microsoft Graph: Get user"
    description: The API this module calls, and the properties returned only with C($select).
    link: https://learn.microsoft.com/graph/api/user-get
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Is Adele allowed to sign in, and is her account synced from AD?
  o365.admin.o365_user_info:
    user: adele.vance@contoso.com
  register: adele

- name: Show it
  ansible.builtin.debug:
    msg: "{{ adele.users[0].account_enabled }} / synced: {{ adele.users[0].on_premises_sync_enabled }}"

- name: Read every member of a group (nested groups included), leaving out a break-glass account
  o365.admin.o365_user_info:
    groups: [Finance]
    exclude: [breakglass@contoso.com]
  register: finance

- name: Users of the group who can still sign in
  ansible.builtin.debug:
    msg: "{{ finance.users | selectattr('found') | selectattr('account_enabled') | map(attribute='user') }}"
"""

RETURN = r"""
changed:
  description: Always V(false); the module only reads.
  returned: always
  type: bool
  sample: false
users:
  description: One entry per user given (each occurrence) and per group member, in order.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user as given, or a group member's UPN.
      type: str
      sample: adele.vance@contoso.com
    group:
      description: The group (as given) that brought this user, when it came from O(groups).
      type: str
      returned: for group members
    found:
      description: Whether the user exists (V(false) when Graph answered 404). V(null) for an excluded user.
      type: bool
    excluded:
      description: Whether O(exclude) names this user (then it is not read).
      type: bool
    id:
      description: The user's object ID.
      type: str
      returned: when found
      sample: 6e7b768e-07e2-4810-8459-485f84f8f204
    user_principal_name:
      description: The user principal name.
      type: str
      returned: when found
    display_name:
      description: The display name.
      type: str
      returned: when found
    user_type:
      description: V(Member) or V(Guest).
      type: str
      returned: when found
    account_enabled:
      description: Whether the user may sign in (V(false) when sign-in is blocked).
      type: bool
      returned: when found
    on_premises_sync_enabled:
      description:
        - V(true) when the account is synced from on-premises Active Directory (changes made in the cloud are
          overwritten by the next sync); V(null) when it never was.
      type: bool
      returned: when found
    sessions_valid_from:
      description: C(signInSessionsValidFromDateTime); sessions and refresh tokens issued earlier are refused.
      type: str
      returned: when found
      sample: "2026-11-24T10:00:00Z"
    status_code:
      description: HTTP status of Graph's answer for this user.
      type: int
    request_id:
      description: Graph's C(request-id) for this user's answer.
      type: str
    error:
      description: Graph's C(code) and C(message) when the user was not found or could not be read.
      type: dict
      returned: when not found or failed
found_count:
  description: How many distinct users were found.
  returned: always
  type: int
  sample: 12
not_found_users:
  description: The users (as given) Graph does not know, in order.
  returned: always
  type: list
  elements: str
  sample: [ghost@contoso.com]
"""

from ansible_collections.o365.admin.plugins.module_utils._graph_module import users_module
from ansible_collections.o365.admin.plugins.module_utils._user_info import read_user_info


def run(module, client):
    return read_user_info(module, client)


def main():
    users_module().run_and_exit(run)


if __name__ == "__main__":
    main()
