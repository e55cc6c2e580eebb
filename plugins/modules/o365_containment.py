#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_containment
short_description: Contain Microsoft 365 users, or undo a containment from its records
version_added: 0.1.0
description:
  - O(state=released) undoes a containment from its records - it allows sign-in again
    (C(PATCH /users/{id} accountEnabled=true)) for exactly the users the records' runs blocked, and only while
    Microsoft Graph still shows the state those runs left; see O(records).
  - Writes a release record (O(report_path)) with the run's ID, per user the outcome and the reason, what Graph
    showed, when access returns, and the counts C(allowed_count) and C(skipped_count).
  - The app needs C(User.EnableDisableAccount.All) and C(User.Read.All); O(dismiss_risk) needs
    C(IdentityRiskyUser.ReadWrite.All).
options:
  state:
    description:
      - V(released) undoes a containment from O(records).
      - V(contained) is not in this build yet.
    type: str
    choices: [contained, released]
    required: true
extends_documentation_fragment:
  - o365.admin.release
  - o365.admin.targets
  - o365.admin.graph
  - o365.admin.graph.action_group
attributes:
  check_mode:
    support: full
    description: Reads the records and Graph, writes nothing to Graph, and says who V(would_allow).
  diff_mode:
    support: full
    description: C(accountEnabled) before and after for each user allowed (or who would be).
notes:
  - "When access returns: new sign-ins work as soon as Graph answers the change (C(allowed_at)); CAE-aware Exchange
    Online, SharePoint Online and Teams see it within about 15 minutes (C(access_returns_by)). The sessions the
    containment revoked stay revoked: the user signs in again."
seealso:
  - name: "Microsoft Graph: update user"
    description: The call that allows sign-in again (accountEnabled).
    link: https://learn.microsoft.com/graph/api/user-update
  - name: Continuous access evaluation
    description: How soon CAE-aware services see a change of the account.
    link: https://learn.microsoft.com/entra/identity/conditional-access/concept-continuous-access-evaluation
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Undo INC-4711's containment, risk included (run with --check --diff first)
  o365.admin.o365_containment:
    state: released
    records: [INC-4711-record.json]
    exclude: [still.suspicious@contoso.com]
    dismiss_risk: true
    incident: CHG-1234
    report_path: INC-4711-release-{run_id}.json
"""

RETURN = r"""
run_id:
  description: This run's ID, also in its record.
  returned: always
  type: str
  sample: 0b9c2b3e-7f0a-4c52-9d6f-8f4b2a1c3d5e
record:
  description: The release record (as written to O(report_path)) - C(schema_version) 2, C(kind) V(release),
    C(run_id), C(incident), C(records), the counts, and C(users).
  returned: always
  type: dict
results:
  description:
    - One entry per user of the records (of this tenant), and per user named in O(users) that no record holds -
      C(user), C(user_id), C(user_principal_name), C(tenant), C(incident), C(record), C(run_id) (the containment
      run's), C(outcome) (V(allowed), V(would_allow), V(skipped), V(failed), V(unknown)), C(reason),
      C(sessions_valid_from_recorded) and C(sessions_valid_from) (Graph now), C(allowed_at), C(access_returns_by).
  returned: always
  type: list
  elements: dict
allowed_count:
  description: How many users were allowed to sign in again.
  returned: always
  type: int
  sample: 2
would_allow_count:
  description: In check mode, how many users would be allowed again.
  returned: always
  type: int
  sample: 0
skipped_count:
  description: How many users were skipped, each with its reason.
  returned: always
  type: int
  sample: 1
failed_count:
  description: How many users could not be read or allowed.
  returned: always
  type: int
  sample: 0
unknown_count:
  description: How many users' answers to the change were lost (it may have been made; running again is safe).
  returned: always
  type: int
  sample: 0
dismissed_count:
  description: With O(dismiss_risk), how many users' risk was dismissed (or would be).
  returned: always
  type: int
  sample: 2
report_path:
  description: The release record written.
  returned: with O(report_path), when written
  type: str
"""

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BATCH_ARGUMENT_SPEC
from ansible_collections.o365.admin.plugins.module_utils._graph_module import GraphModule
from ansible_collections.o365.admin.plugins.module_utils._release import RELEASE_OPTIONS, run_release
from ansible_collections.o365.admin.plugins.module_utils._targets import (
    TARGETS_ARGUMENT_SPEC, TARGETS_MUTUALLY_EXCLUSIVE)


def run(module, client):
    if module.params["state"] == "released":
        return run_release(module, client)
    raise ConfigurationError("state=contained is not in this branch; use o365.admin.contain_user. Nothing was sent.")


def main():
    spec = dict(TARGETS_ARGUMENT_SPEC)
    spec.update(BATCH_ARGUMENT_SPEC)
    spec.update(RELEASE_OPTIONS)
    spec["state"] = dict(type="str", choices=["contained", "released"], required=True)
    GraphModule(argument_spec=spec, mutually_exclusive=TARGETS_MUTUALLY_EXCLUSIVE, supports_check_mode=True,
                required_if=[("state", "released", ("records",))]).run_and_exit(run)


if __name__ == "__main__":
    main()
