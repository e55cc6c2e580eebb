#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_risky_user_info
short_description: List the users Microsoft Entra ID Protection considers at risk
version_added: 0.1.0
description:
  - Lists Microsoft Entra ID Protection's risky users through Microsoft Graph
    (C(GET /identityProtection/riskyUsers) with C($filter) on C(riskLevel) and C(riskState), following every
    C(@odata.nextLink)), with each user's object ID, user principal name, risk level, risk state, risk detail and
    when the risk last changed.
  - RV(user_ids) feeds the O(o365.admin.o365_user_sign_in#module:users) option of the other modules directly, for
    example to block and revoke every user at high risk.
  - Identity Protection keeps the risk records of users deleted from the directory (C(isDeleted) true). They are
    left out of RV(risky_users), RV(user_ids) and RV(user_principal_names) (there is nobody to act on) unless
    O(include_deleted=true); RV(deleted_count) says how many were left out.
  - Never changes anything.
  - Identity Protection accepts one request per second per tenant for all apps together, and its 429 answers carry
    no C(Retry-After). The module sends at most one request per second (pages of 500 users) and backs off
    exponentially when throttled (up to O(max_retries) times).
  - "Permission: the Microsoft Graph application permission C(IdentityRiskyUser.Read.All) (or
    C(IdentityRiskyUser.ReadWrite.All)), with admin consent. The riskyUsers API requires a Microsoft Entra ID P2
    licence; without it Graph refuses (HTTP 403) and the module says so."
  - Not available in the China cloud operated by 21Vianet; with O(cloud=china) the module fails before any call.
options:
  risk_levels:
    description:
      - Only users at one of these risk levels. Empty or omitted, any level.
    type: list
    elements: str
    choices: [low, medium, high, hidden, none]
  risk_states:
    description:
      - Only users in one of these risk states. An empty list means any state.
      - V(atRisk) is a risk nobody has acted on yet; V(confirmedCompromised) one an admin confirmed; V(dismissed),
        V(remediated) and V(confirmedSafe) are closed.
    type: list
    elements: str
    choices: [none, confirmedSafe, remediated, dismissed, atRisk, confirmedCompromised]
    default: [atRisk]
  include_deleted:
    description:
      - Also return the risky users deleted from the directory (C(isDeleted) true). Their object IDs name nobody, so
        feeding them to the other modules fails for each of them.
    type: bool
    default: false
    version_added: 0.2.0
extends_documentation_fragment:
  - o365.admin.graph
  - o365.admin.graph.action_group
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode changes nothing in what it does.
  diff_mode:
    support: none
    description: The module changes nothing, so there is nothing to compare.
seealso:
  - module: o365.admin.o365_risky_user
  - module: o365.admin.o365_user_sign_in
  - module: o365.admin.o365_revoke_sessions
  - name: "Microsoft Graph: List riskyUsers"
    description: The API this module calls, its filters and its licence.
    link: https://learn.microsoft.com/graph/api/riskyuser-list
  - name: "Microsoft Graph: service-specific throttling limits"
    description: Identity Protection's one request per second per tenant.
    link: https://learn.microsoft.com/graph/throttling-limits
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Who is at high risk right now?
  o365.admin.o365_risky_user_info:
    risk_levels: [high]
  register: risky

- name: Block their sign-in (a break-glass account is never touched)
  o365.admin.o365_user_sign_in:
    users: "{{ risky.user_ids }}"
    exclude: [breakglass@contoso.com]
    state: blocked
  when: risky.user_ids | length > 0

- name: Every risky user an admin confirmed compromised, at any level
  o365.admin.o365_risky_user_info:
    risk_states: [confirmedCompromised]
  register: confirmed
"""

RETURN = r"""
changed:
  description: Always V(false); the module only reads.
  returned: always
  type: bool
  sample: false
risky_users:
  description: Every risky user that matches, in Graph's order.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The user's object ID.
      type: str
      sample: 6e7b768e-07e2-4810-8459-485f84f8f204
    user_principal_name:
      description: The user principal name.
      type: str
      sample: adele.vance@contoso.com
    user_display_name:
      description: The display name.
      type: str
    risk_level:
      description: C(riskLevel) - V(low), V(medium), V(high), V(hidden) or V(none).
      type: str
      sample: high
    risk_state:
      description: C(riskState) - V(atRisk), V(confirmedCompromised), V(dismissed), V(remediated), V(confirmedSafe) or V(none).
      type: str
      sample: atRisk
    risk_detail:
      description: C(riskDetail), what last changed the risk (for example V(adminConfirmedUserCompromised)).
      type: str
      sample: none
    risk_last_updated:
      description: C(riskLastUpdatedDateTime), when the risk last changed (UTC).
      type: str
      sample: "2026-11-29T10:00:00Z"
    is_deleted:
      description: Whether the user has been deleted.
      type: bool
    is_processing:
      description: Whether Identity Protection is still processing the user's risk.
      type: bool
user_ids:
  description: The object IDs of RV(risky_users), in the same order; give them to O(o365.admin.o365_user_sign_in#module:users).
  returned: always
  type: list
  elements: str
  sample: [6e7b768e-07e2-4810-8459-485f84f8f204]
user_principal_names:
  description: Their user principal names, in the same order.
  returned: always
  type: list
  elements: str
deleted_count:
  description: How many risky users deleted from the directory matched and were left out (0 with O(include_deleted=true)).
  returned: always
  type: int
  sample: 0
count:
  description: How many risky users matched (and are returned).
  returned: always
  type: int
  sample: 1
filter:
  description: The C($filter) sent to Graph, or V(null) when none.
  returned: always
  type: str
  sample: "riskLevel eq microsoft.graph.riskLevel'high' and riskState eq microsoft.graph.riskState'atRisk'"
"""

from ansible_collections.o365.admin.plugins.module_utils._graph_module import GraphModule
from ansible_collections.o365.admin.plugins.module_utils._risky_users import (
    RISK_LEVELS, RISK_STATES, checked_values, is_deleted, list_risky_users, refuse_china, risk_filter,
    risky_user_entry)


def run(module, client):
    levels = checked_values("risk_levels", module.params["risk_levels"], RISK_LEVELS)
    states = checked_values("risk_states", module.params["risk_states"], RISK_STATES)
    refuse_china(module.params)
    items = list_risky_users(client, levels, states)
    kept = [item for item in items if module.params["include_deleted"] or not is_deleted(item)]
    users = [risky_user_entry(item) for item in kept]
    return dict(changed=False, risky_users=users, user_ids=[user["id"] for user in users],
                user_principal_names=[user["user_principal_name"] for user in users], count=len(users),
                deleted_count=len(items) - len(kept), filter=risk_filter(levels, states))


def main():
    GraphModule(argument_spec=dict(
        risk_levels=dict(type="list", elements="str", choices=list(RISK_LEVELS)),
        risk_states=dict(type="list", elements="str", choices=list(RISK_STATES), default=["atRisk"]),
        include_deleted=dict(type="bool", default=False),
    ), supports_check_mode=True).run_and_exit(run)


if __name__ == "__main__":
    main()
