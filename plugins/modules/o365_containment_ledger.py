#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_containment_ledger
short_description: Reserve a slot of the blast-radius brake before an automatic containment, and close it after
version_added: 0.2.0
description:
  - The safety state of automatic (event-driven) containment, kept in Python under an OS lock so that overlapping
    runs, parallel jobs and several rulebook instances sharing one O(state_dir) agree on it.
    M(o365.admin.o365_containment) decides with the same ledger inside the containment (its
    O(o365.admin.o365_containment#module:brake) option, which C(playbooks/contain_risky_user.yml) uses); this module
    is the ledger on its own, for playbooks that contain some other way.
  - O(step=reserve) decides whether the user of O(event) is contained now. A user Identity Protection lists as
    deleted, a user the directory does not know (404), an excluded user and a user that could not be compared with
    O(exclude) are never contained and take no slot of the brake (the comparison is the collection's one judge, the
    one M(o365.admin.o365_user_sign_in) uses). A user contained within O(window) already is not contained again
    (one whose containment failed is tried again). When O(max_users) users were contained within O(window), the
    user is held back, and the first user held back in a window raises the one alert of the window (RV(alert), and
    a line in C(containment_alerts.jsonl)). Otherwise the user takes a slot (RV(decision=contain)), recorded as
    started.
  - A containment recorded as started and never closed (the run was stopped) is resumed by the next event for that
    user (RV(decision=resume)) - it takes no new slot, and the idempotent modules finish it.
  - O(step=finish) closes the user's started containment with O(outcome), when O(run) took or resumed it. The
    event source (C(o365.admin.risky_users) with C(ledger_dir)) acknowledges an event only once its entry is closed.
  - The ledger is C(containment_ledger.json) in O(state_dir), read, decided and written under an exclusive
    C(fcntl) lock on C(.containment_ledger.lock) and replaced atomically; a ledger that cannot be read fails the
    task (the brake cannot count, so nobody is contained).
  - "Permission: none for O(step=finish). O(step=reserve) reads the user (C(User.Read.All)); without it the user is
    still contained (acting needs no read), unless O(exclude) needs the read to tell the user apart."
options:
  step:
    description:
      - V(reserve) before writing anything, V(finish) once the containment ended.
    type: str
    choices: [reserve, finish]
    required: true
  state_dir:
    description:
      - The directory of the ledger and the alerts, shared by every run and rulebook instance that must share one
        brake. Under EDA Controller it must be on a persistent volume (see the Contain automatically guide).
    type: path
    required: true
  event:
    description:
      - The riskyUser event (C(o365_risky_user) of the C(o365.admin.risky_users) event source) - C(id) (the object
        ID, required), C(userPrincipalName), C(riskLastUpdatedDateTime), C(isDeleted).
    type: dict
    required: true
  exclude:
    description:
      - Object IDs or UPNs never contained (break-glass accounts), any case, in either form.
      - A YAML list, or text with one entry per line or entries separated by commas (an AWX survey field).
    type: raw
  max_users:
    description:
      - The blast-radius brake - at most this many users contained within O(window).
    type: int
    default: 5
  window:
    description:
      - The window of the brake and of once-per-window containment - V(10 minutes), V(30 seconds), V(1 hour), or a
        number of seconds.
    type: str
    default: 10 minutes
  outcome:
    description:
      - How the containment ended, for O(step=finish).
    type: str
    choices: [contained, failed, refused]
  detail:
    description:
      - Why, for O(outcome=failed) or O(outcome=refused); kept in the ledger.
    type: str
  report_path:
    description:
      - The containment's report, kept in the ledger entry.
    type: path
  run:
    description:
      - Who is acting, kept in the ledger entry; by default a new identifier, returned in RV(run) for the finish step.
      - Required for O(step=finish) - RV(run) of the reserve step. A run closes only a containment it took or
        resumed.
    type: str
extends_documentation_fragment:
  - o365.admin.graph
  - o365.admin.graph.action_group
attributes:
  check_mode:
    support: full
    description: Decides and reports as it would, without writing the ledger or the alert.
  diff_mode:
    support: none
    description: The ledger is the collection's own state, not Microsoft 365's.
seealso:
  - module: o365.admin.o365_user_sign_in
  - module: o365.admin.o365_revoke_sessions
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Take a slot of the brake (or be held back)
  o365.admin.o365_containment_ledger:
    step: reserve
    state_dir: /var/lib/eda/o365
    event: "{{ ansible_eda.event.o365_risky_user }}"
    exclude: "{{ o365_exclude }}"
    max_users: 5
    window: 10 minutes
  register: slot

- name: Contain
  ansible.builtin.include_role:
    name: o365.admin.contain_user
  vars:
    contain_user_users: ["{{ slot.user_id }}"]
    contain_user_exclude: "{{ slot.exclude }}"
  when: slot.contain

- name: Close the slot
  o365.admin.o365_containment_ledger:
    step: finish
    state_dir: /var/lib/eda/o365
    event: "{{ ansible_eda.event.o365_risky_user }}"
    run: "{{ slot.run }}"
    outcome: contained
  when: slot.contain
"""

RETURN = r"""
decision:
  description:
    - For O(step=reserve) - V(contain) (a slot taken), V(resume) (finish a stopped containment), V(recent) (contained
      within the window), V(held) (the brake), V(excluded), V(deleted) or V(refused) (could not be compared with
      O(exclude)). For O(step=finish) - V(finished), or V(closed) when there was nothing started by this O(run) to
      close.
  returned: always
  type: str
  sample: contain
contain:
  description: Whether the run must contain the user now (V(contain) or V(resume)).
  returned: always
  type: bool
user_id:
  description: The user's object ID, lower case.
  returned: always
  type: str
  sample: 6e7b768e-07e2-4810-8459-485f84f8f204
detail:
  description: Why the user is not contained, or a warning about it; V(null) otherwise.
  returned: always
  type: str
alert:
  description: Whether this run raised the brake's one alert of the window.
  returned: always
  type: bool
alert_message:
  description: The alert's sentence, when RV(alert).
  returned: when alert
  type: str
contained_in_window:
  description: The object IDs that count towards the brake now.
  returned: for step=reserve
  type: list
  elements: str
exclude:
  description: O(exclude) as a list, for the modules the playbook calls next.
  returned: always
  type: list
  elements: str
run:
  description: The run's identifier, to give to O(step=finish).
  returned: always
  type: str
"""

import socket
import uuid

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._graph_module import GraphModule
from ansible_collections.o365.admin.plugins.module_utils._ledger import (
    ACTING, HELD, Ledger, alert_message, event_user_id, parse_window, skip_reason, split_list)


def run(module, client):
    params = module.params
    user_id = event_user_id(params["event"])
    exclude = split_list(params["exclude"])
    ledger = Ledger(params["state_dir"])
    write = not module.check_mode
    run_id = params["run"] or "%s/%s" % (socket.gethostname(), uuid.uuid4())
    result = dict(user_id=user_id, exclude=exclude, run=run_id, alert=False, detail=None)
    if params["step"] == "finish":
        if not params["outcome"]:
            raise ConfigurationError("step=finish needs outcome (contained, failed or refused).")
        entry = ledger.finish(user_id, run_id, params["outcome"], params["detail"], params["report_path"], write)
        result.update(changed=entry is not None, contain=False, decision="finished" if entry else "closed")
        return result
    if params["max_users"] < 1:
        raise ConfigurationError("max_users must be 1 or more, not %d." % params["max_users"])
    window_s = parse_window(params["window"])
    skip, detail = skip_reason(client, user_id, exclude, params["max_retries"],
                               deleted=params["event"].get("isDeleted") is True)
    if skip is not None:
        result.update(ledger.skip(user_id, params["event"], run_id, skip, detail, write))
        result.update(changed=write, contain=False, detail=detail)
        return result
    if detail:
        module.warn(detail)
    result.update(ledger.reserve(user_id, params["event"], run_id, params["max_users"], window_s, write))
    result.update(changed=write, contain=result["decision"] in ACTING, detail=detail)
    if result["decision"] == HELD and result["alert"]:
        result["alert_message"] = alert_message(result["contained_in_window"], params["window"], params["max_users"],
                                                params["event"].get("userPrincipalName") or user_id)
    return result


def main():
    GraphModule(argument_spec=dict(
        step=dict(type="str", choices=["reserve", "finish"], required=True),
        state_dir=dict(type="path", required=True),
        event=dict(type="dict", required=True),
        exclude=dict(type="raw"),
        max_users=dict(type="int", default=5),
        window=dict(type="str", default="10 minutes"),
        outcome=dict(type="str", choices=["contained", "failed", "refused"]),
        detail=dict(type="str"),
        report_path=dict(type="path"),
        run=dict(type="str"),
    ), supports_check_mode=True,
        # Only the run that took or resumed a containment closes it: finish names that run (reserve's run).
        required_if=[("step", "finish", ("run", "outcome"))]).run_and_exit(run)


if __name__ == "__main__":
    main()
