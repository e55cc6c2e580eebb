#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_risky_user
short_description: Confirm Microsoft 365 users compromised, or dismiss their risk, in Entra ID Protection
version_added: 0.1.0
description:
  - Tells Microsoft Entra ID Protection that users are compromised
    (C(POST /identityProtection/riskyUsers/confirmCompromised)), which sets their user risk to high and so feeds
    Identity Protection's own risk-based policies, or dismisses their risk (C(POST /identityProtection/riskyUsers/dismiss)),
    which sets it to none.
  - Confirming a user compromised neither blocks sign-in nor revokes sessions; do those with
    M(o365.admin.o365_user_sign_in) and M(o365.admin.o365_revoke_sessions) (or the C(o365.admin.contain_user) role).
  - Every user is first read in the directory (C(GET /users/{id | userPrincipalName}), batched) to get its object
    ID, then the risky users are listed (C(GET /identityProtection/riskyUsers)) to get each one's current
    C(riskState); only the users whose state differs are sent, so RV(changed) is exact and running the task again
    changes nothing. A user already V(confirmedCompromised) is not confirmed again; a user whose risk is V(none),
    V(dismissed), V(remediated) or V(confirmedSafe) has nothing to dismiss.
  - The actions go out with at most 60 object IDs per call (the limit Microsoft documents for dismiss; none is
    documented for confirmCompromised, which gets the same) and never through JSON batching.
  - Identity Protection accepts one request per second per tenant for all apps together, and its 429 answers carry
    no C(Retry-After). The module sends at most one Identity Protection request per second and backs off
    exponentially when throttled (up to O(max_retries) times).
  - Success is Graph's own answer only - its documented C(204 No Content) (or a 2xx carrying a JSON object of
    Graph's), the rule every write of the collection follows. An answer lost after sending, or a 2xx that is not
    Graph's (a proxy's page), is V(unknown) - the change may have been made, and running the task again is safe.
  - "Permissions: the Microsoft Graph application permissions C(IdentityRiskyUser.ReadWrite.All) and
    C(User.Read.All), with admin consent (O(groups) also needs C(GroupMember.Read.All)). The riskyUsers API requires
    a Microsoft Entra ID P2 licence; without it Graph refuses (HTTP 403) and the module says so."
  - Not available in the China cloud operated by 21Vianet; with O(cloud=china) (or a Graph endpoint there) the
    module fails before any call.
options:
  state:
    description:
      - V(compromised) confirms the users compromised (risk level high, risk state C(confirmedCompromised)).
      - V(dismissed) dismisses their risk (risk level none, risk state C(dismissed)).
    type: str
    choices: [compromised, dismissed]
    required: true
extends_documentation_fragment:
  - o365.admin.graph
  - o365.admin.graph.action_group
  - o365.admin.targets
attributes:
  check_mode:
    support: full
    description:
      - Reads every user and its risk, and reports who would change (RV(results[].outcome)); nothing is sent.
  diff_mode:
    support: full
    description: C(riskState) before and after, for each user that changes (or would change).
notes:
  - The task fails if any user could not be read or changed, and still returns every user's outcome.
seealso:
  - module: o365.admin.o365_risky_user_info
  - module: o365.admin.o365_user_sign_in
  - module: o365.admin.o365_revoke_sessions
  - name: "Microsoft Graph: riskyUser: confirmCompromised"
    description: The API behind O(state=compromised).
    link: https://learn.microsoft.com/graph/api/riskyuser-confirmcompromised
  - name: "Microsoft Graph: riskyUser: dismiss"
    description: The API behind O(state=dismissed).
    link: https://learn.microsoft.com/graph/api/riskyuser-dismiss
  - name: "Microsoft Graph: service-specific throttling limits"
    description: Identity Protection's one request per second per tenant.
    link: https://learn.microsoft.com/graph/throttling-limits
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Confirm Adele compromised after containing her (Identity Protection's policies then treat her as high risk)
  o365.admin.o365_risky_user:
    user: adele.vance@contoso.com
    state: compromised

- name: A false positive - dismiss the risk of two users
  o365.admin.o365_risky_user:
    users:
      - alex.wilber@contoso.com
      - 87d349ed-44d7-43e1-9a83-5f2406dee5bd
    state: dismissed
"""

RETURN = r"""
changed:
  description: Whether any user's risk state changed (or may have, when an answer was lost).
  returned: always
  type: bool
state:
  description: The O(state) asked for.
  returned: always
  type: str
  sample: compromised
results:
  description: One entry per user given (each occurrence) and per group member, in order.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user as given, or a group member's UPN.
      type: str
    outcome:
      description:
        - V(compromised) or V(dismissed) - Graph answered this user's change (204).
        - V(would_compromise) or V(would_dismiss) - check mode, it would change.
        - V(unchanged) - the risk state was already what O(state) leaves behind.
        - V(excluded) - O(exclude) names the user; nothing was read or sent.
        - V(failed) - the user could not be read, or Graph refused the change.
        - V(unknown) - the answer was lost or was not Graph's; the change may have been made.
      type: str
      sample: compromised
    changed:
      description: Whether this user changed; V(null) when unknown.
      type: bool
    user_id:
      description: The user's object ID (what the action is sent with).
      type: str
    user_principal_name:
      description: The user principal name.
      type: str
    risk_level_before:
      description: C(riskLevel) before; V(none) for a user Identity Protection never flagged.
      type: str
    risk_state_before:
      description: C(riskState) before; V(none) for a user Identity Protection never flagged.
      type: str
    risk_state:
      description: C(riskState) after (check mode, would be); V(null) when unknown.
      type: str
    status_code:
      description: HTTP status of Graph's answer to this user's read or change (V(null) when none came).
      type: int
    request_id:
      description: Graph's C(request-id) of that answer.
      type: str
    error:
      description: On failure or unknown, Graph's C(code) and C(message), and C(explanation), what it means and what to do.
      type: dict
  sample:
    - {user: adele.vance@contoso.com, outcome: compromised, changed: true, risk_state_before: atRisk,
       risk_state: confirmedCompromised, status_code: 204, request_id: 1b2c-...}
changed_count:
  description: How many distinct users were changed (check mode, would be).
  returned: always
  type: int
unchanged_count:
  description: How many distinct users were already in the state asked for.
  returned: always
  type: int
failed_count:
  description: How many distinct users could not be read or changed.
  returned: always
  type: int
unknown_count:
  description: How many distinct users' answers to the change were lost.
  returned: always
  type: int
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
action_calls:
  description: How many confirmCompromised or dismiss calls were sent (at most 60 users each).
  returned: always
  type: int
"""

from ansible_collections.o365.admin.plugins.module_utils._graph_module import users_module
from ansible_collections.o365.admin.plugins.module_utils._risky_users import set_risk_state


def run(module, client):
    return set_risk_state(module, client)


def main():
    users_module(dict(state=dict(type="str", choices=["compromised", "dismissed"], required=True))).run_and_exit(run)


if __name__ == "__main__":
    main()
