#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_containment_evidence_info
short_description: Prove from Entra ID's own logs that contained users' old tokens were turned away
version_added: 0.1.0
description:
  - For each contained user, reads what Microsoft Entra ID itself logged after the user's cut-off (the moment its
    refresh tokens stopped being valid, C(signInSessionsValidFromDateTime) after the revoke) and gives a verdict.
  - "The directory audit entries of the revoke (C(Update StsRefreshTokenValidFrom Timestamp)) and the block
    (C(Disable account)): who, when, C(correlationId). From C(GET /v1.0/auditLogs/directoryAudits)."
  - "The sign-ins after the cut-off with their result codes: interactive ones from C(GET /v1.0/auditLogs/signIns),
    non-interactive ones (refresh tokens) from the B(beta) endpoint C(GET /beta/auditLogs/signIns) with the
    C(signInEventTypes) filter, the only place Graph lists them. Every sign-in in the result says which API listed it
    (C(api) in RV(users[].sign_ins)). The beta may change without notice; O(non_interactive=false) reads v1.0 only."
  - "Verdicts: V(refused) (Entra turned away an attempt after the cut-off with 50173, grant revoked, or 50057, user
    disabled, and nothing succeeded: the proof); V(no_activity_yet) (nothing logged after the cut-off yet; see
    RV(users[].ask_again_after)); V(fresh_strong_sign_in) (an interactive sign-in succeeded after the cut-off: fresh
    credentials, not an old token); V(suspect) (a non-interactive sign-in succeeded after the cut-off with no fresh
    interactive sign-in before it: a token issued before the cut-off may still work; the module warns loudly);
    V(unprovable) (a log could not be read: no Entra ID P1 licence, a missing permission, throttled or unreachable;
    see RV(users[].reason) and RV(users[].ask_again_after))."
  - Reads by time window, not per user - three paged queries for any number of users, joined locally by object ID
    or user principal name - and paces them within Graph's reports limit (about 5 requests per 10 seconds per app
    and tenant); a 429 is retried after its C(Retry-After).
  - Never changes anything in the tenant (C(changed) is always false). With O(proof_path) it adds this run's reading
    to a proof record on disk (under a file lock, atomically; earlier readings are kept), also in check mode.
  - "Permissions: C(AuditLog.Read.All) for the audit entries; C(AuditLog.Read.All) and C(Directory.Read.All) for
    the sign-in logs, which also need a Microsoft Entra ID P1 or P2 licence in the tenant. A missing one makes that
    log unreadable and the verdict V(unprovable) with its reason; the other logs are still read."
options:
  users:
    description:
      - The users to prove, by object ID or user principal name, all with the same O(cutoff).
      - Sign-ins and audit entries are matched to a user by the form given (ID or UPN).
    type: list
    elements: str
  cutoff:
    description:
      - The cut-off for O(users) (or for users of O(record_path) whose record holds none), an ISO 8601 date and
        time with an offset, such as V(2026-12-06T10:00:00Z). Use the user's C(signInSessionsValidFromDateTime)
        after the revoke, by Graph's clock; an earlier cut-off only flags more, a later one could miss a success.
    type: str
  record_path:
    description:
      - A containment record to prove - the JSON file of the P(o365.admin.contain_user#role) role
        (C(contain_user_report_path)) or the report of M(o365.admin.o365_revoke_sessions) (O(o365.admin.o365_revoke_sessions#module:report_path)).
      - Each user's cut-off is the C(signInSessionsValidFromDateTime) read back after its revoke.
    type: path
  non_interactive:
    description:
      - Also read non-interactive sign-ins (refresh tokens, the attacker's usual way back) through Graph's B(beta)
        endpoint. Without them a success with an old refresh token cannot be seen, and V(refused) rests on
        interactive sign-ins only (RV(users[].logs_read) says which logs a verdict rests on).
    type: bool
    default: true
  audit_lookback_minutes:
    description:
      - How far before the earliest cut-off to read directory audit entries (the block usually comes before the
        revoke).
    type: int
    default: 60
  max_pages:
    description:
      - At most this many pages (of up to 1,000 entries) per log. A log with more is C(too_many_entries) and the
        verdicts V(unprovable); a partial read is never taken for a whole one. Prove fewer or more recent
        containments per run rather than raising it far (each page is one request of the reports limit).
    type: int
    default: 100
  proof_path:
    description:
      - Add this run's reading (verdicts, evidence, reads, calls) to the proof record at this path, made when
        absent. A file there that is not a containment proof, or the proof of another record, is never replaced.
      - With O(wait_minutes), every reading is added as it is made (C(attempt) 1, 2, ... under one C(run_id)).
    type: path
  wait_minutes:
    description:
      - Wait up to this many minutes while the logs mature, reading again until no verdict can change with time
        or the wait is over. V(0) reads once.
      - A verdict can change with time while it is V(no_activity_yet) with the logs not mature yet
        (V(logs_not_mature)) or V(unprovable) for a passing reason (V(throttled), V(unreachable), V(graph_error),
        V(unexpected_answer)) - exactly the users with an RV(users[].ask_again_after). V(refused),
        V(fresh_strong_sign_in), V(suspect), V(no_activity_yet) with mature logs and V(unprovable) for a licence, a
        permission, the credentials or too many entries end the wait for that user.
      - Reads again every 30 seconds at most, and at the earliest RV(users[].ask_again_after); each reading is 3
        requests or more (one per page), paced with the others within the reports limit.
      - At most V(60). The task holds its host for the whole wait; a longer wait is a later run of the module (or
        of C(playbooks/prove_containment.yml)).
    type: int
    default: 0
extends_documentation_fragment:
  - o365.admin.graph
  - o365.admin.graph.action_group
attributes:
  check_mode:
    support: full
    description: The module only reads the tenant; check mode changes nothing in what it does.
  diff_mode:
    support: none
    description: The module changes nothing in the tenant, so there is nothing to compare.
notes:
  - "Microsoft gives 2 minutes (95th percentile) and 5 minutes (99th) for audit and sign-in entries to appear;
    non-interactive sign-ins have been measured at 15 to 30 minutes. Run again later (RV(users[].ask_again_after)),
    or wait in the task (O(wait_minutes)): verdicts move from V(no_activity_yet) to V(refused) as the logs mature."
  - A revoke does not end access tokens already issued (about an hour; CAE-capable Exchange, SharePoint and Teams
    clients end them within minutes), nor guests' sessions (they sign in at their home tenant). The guide "Proving a
    containment" says what each verdict proves and what it does not.
seealso:
  - module: o365.admin.o365_revoke_sessions
  - module: o365.admin.o365_user_sign_in
  - name: "Microsoft Graph: List directoryAudits"
    description: The audit log API, its filter and permissions.
    link: https://learn.microsoft.com/graph/api/directoryaudit-list
  - name: "Microsoft Graph: List signIns"
    description: The sign-in log API, its licence and permissions.
    link: https://learn.microsoft.com/graph/api/signin-list
  - name: "Microsoft Graph: service-specific throttling limits"
    description: The identity and access reports limit.
    link: https://learn.microsoft.com/graph/throttling-limits
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Prove the containment recorded by the contain_user role
  o365.admin.o365_containment_evidence_info:
    record_path: /var/lib/incidents/INC-1234/containment.json
    proof_path: /var/lib/incidents/INC-1234/containment.proof.json
  register: evidence

- name: Say which users are proven
  ansible.builtin.debug:
    msg: "{{ evidence.summary }}"

- name: Prove it, reading again for up to 10 minutes while the logs mature
  o365.admin.o365_containment_evidence_info:
    record_path: /var/lib/incidents/INC-1234/containment.json
    proof_path: /var/lib/incidents/INC-1234/containment.proof.json
    wait_minutes: 10
  register: evidence

- name: Two users revoked at a known moment, v1.0 only
  o365.admin.o365_containment_evidence_info:
    users: [adele.vance@contoso.com, 87d349ed-44d7-43e1-9a83-5f2406dee5bd]
    cutoff: "2026-12-06T10:00:00Z"
    non_interactive: false
"""

RETURN = r"""
changed:
  description: Always V(false); the module only reads the tenant.
  returned: always
  type: bool
  sample: false
users:
  description: One entry per user, in the order given (or of the record).
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user as given or as the record names it.
      type: str
    user_id:
      description: The object ID, when given or recorded.
      type: str
    user_principal_name:
      description: The user principal name, when given or recorded.
      type: str
    cutoff:
      description: The cut-off the sign-ins were judged against (UTC), or V(null) when none was known.
      type: str
      sample: "2026-12-06T10:00:00Z"
    verdict:
      description: V(refused), V(no_activity_yet), V(fresh_strong_sign_in), V(suspect) or V(unprovable).
      type: str
      sample: refused
    reason:
      description:
        - Why. For V(refused) the codes seen (V(AADSTS50173), V(AADSTS50057)); for V(no_activity_yet)
          V(logs_not_mature) or V(no_attempt_seen); for V(unprovable) one or more of V(no_licence),
          V(no_permission), V(no_token) (Entra ID refused the credentials), V(throttled), V(unreachable),
          V(graph_error), V(unexpected_answer), V(too_many_entries),
          V(no_cutoff), V(other_tenant) (a merged record's user of another tenant than the one connected to).
      type: str
    proves:
      description: What the verdict shows, in a sentence.
      type: str
    ask_again_after:
      description:
        - When running again can tell more (UTC), or V(null) when waiting will not help (a final verdict, or a log
          unreadable for a licence, a permission or too many entries).
        - For V(logs_not_mature) the moment the slowest log read is mature; an attempt can be logged before it.
      type: str
    audit:
      description: The directory audit entries of the revoke and the block for this user, and whether they were found.
      type: dict
      contains:
        revoke:
          description: Entries of the revoke - activity, time, initiated_by, initiated_by_id, correlation_id, result, id.
          type: list
          elements: dict
        block:
          description: Entries of the block, as above.
          type: list
          elements: dict
        revoke_state:
          description: V(found), V(not_yet) (within the audit latency), V(missing), V(unreadable) or V(no_cutoff).
          type: str
        block_state:
          description: As RV(users[].audit.revoke_state), for the block.
          type: str
    sign_ins:
      description:
        - Sign-ins at or after the cut-off, oldest first - time, interactive, api (V(v1.0) or V(beta)), error_code
          (0 is success), failure_reason, app, app_id, ip_address, session_id, authentication_requirement (beta only),
          correlation_id, id.
      type: list
      elements: dict
    refused_count:
      description: Sign-ins after the cut-off refused with 50173 or 50057.
      type: int
    success_count:
      description: Sign-ins after the cut-off that succeeded.
      type: int
    logs_read:
      description: The sign-in logs the verdict rests on (V(interactive), V(non_interactive)).
      type: list
      elements: str
summary:
  description: How many users got each verdict.
  returned: always
  type: dict
  sample: {refused: 2, no_activity_yet: 1, fresh_strong_sign_in: 0, suspect: 0, unprovable: 0}
suspect_users:
  description: The users whose verdict is V(suspect).
  returned: always
  type: list
  elements: str
verdicts:
  description: Each user's verdict, by the user as given or as the record names it.
  returned: always
  type: dict
  sample: {adele.vance@contoso.com: refused}
readings:
  description: How many times the logs were read (1 without O(wait_minutes)); the result is the last reading.
  returned: always
  type: int
  sample: 3
waited_s:
  description: Seconds from the first reading's start to the end of the last one (pacing and waiting included).
  returned: always
  type: float
  sample: 64.2
pending_users:
  description:
    - The users whose verdict could still change with time when the task ended (RV(users[].ask_again_after) set);
      empty when every verdict is final for now. Run again after their RV(users[].ask_again_after).
  returned: always
  type: list
  elements: str
proof:
  description:
    - What a role or a playbook hands on (a fact, C(set_stats)) - the proof record's path and this run's ID,
      RV(summary), RV(verdicts), RV(suspect_users), RV(pending_users), RV(readings) and RV(waited_s).
  returned: always
  type: dict
reads:
  description: Each log read (C(audit), C(interactive), C(non_interactive)) - api (V(v1.0) or V(beta)), read, entries, calls, pages, reason, message.
  returned: always
  type: dict
calls:
  description: Graph calls made, by API version.
  returned: always
  type: dict
  sample: {v1.0: 2, beta: 1}
paced_wait_s:
  description: Seconds spent waiting to stay within the reports limit.
  returned: always
  type: float
graph_time:
  description: Graph's clock at the last answer (its C(Date) header), what maturity is judged against.
  returned: always
  type: str
proof_path:
  description: The proof record this reading was added to, or V(null).
  returned: always
  type: str
run_id:
  description: This run's ID in the proof record, or V(null) without O(proof_path).
  returned: always
  type: str
"""

import datetime
import uuid

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._graph_auth import ConnectionSettings
from ansible_collections.o365.admin.plugins.module_utils._evidence import (
    SUSPECT, WAIT_MINUTES_MAX, gather_until_settled, parse_time, read_record, subject_for, subjects_from_record,
    write_proof)
from ansible_collections.o365.admin.plugins.module_utils._graph_module import GraphModule


def run(module, client):
    params = module.params
    cutoff = None
    if params["cutoff"]:
        cutoff = parse_time(params["cutoff"])
        if cutoff is None:
            raise ConfigurationError("cutoff %r is not an ISO 8601 date and time with an offset (such as "
                                     "2026-12-06T10:00:00Z)." % params["cutoff"])
    if params["record_path"]:
        subjects = subjects_from_record(read_record(params["record_path"]), cutoff)
    else:
        if cutoff is None:
            raise ConfigurationError("users needs cutoff: the moment their tokens stopped being valid.")
        subjects = [subject_for(user, cutoff) for user in params["users"]]
    if params["audit_lookback_minutes"] < 0:
        raise ConfigurationError("audit_lookback_minutes must be 0 or more.")
    if params["max_pages"] < 1:
        raise ConfigurationError("max_pages must be 1 or more.")
    if not 0 <= params["wait_minutes"] <= WAIT_MINUTES_MAX:
        raise ConfigurationError("wait_minutes must be from 0 to %d." % WAIT_MINUTES_MAX)
    run_id = str(uuid.uuid4()) if params["proof_path"] else None

    def add_reading(reading, attempt):
        if run_id is not None:
            write_proof(params["proof_path"], params["record_path"], reading, run_id=run_id, attempt=attempt)

    result = gather_until_settled(client, subjects, params["wait_minutes"] * 60.0, on_reading=add_reading,
                                  non_interactive=params["non_interactive"],
                                  audit_lookback=datetime.timedelta(minutes=params["audit_lookback_minutes"]),
                                  max_pages=params["max_pages"], tenant=ConnectionSettings(params).tenant_id)
    for user in result["users"]:
        if user["verdict"] == SUSPECT:
            module.warn("SUSPECT: %s signed in successfully after the cut-off %s without a fresh interactive sign-in "
                        "before it - a token issued before the cut-off may still work. Investigate now: see "
                        "users[].sign_ins." % (user["user"], user["cutoff"]))
    result.update(changed=False, proof_path=params["proof_path"], run_id=run_id)
    result["proof"] = dict((key, result[key]) for key in (
        "proof_path", "run_id", "summary", "verdicts", "suspect_users", "pending_users", "readings", "waited_s"))
    return result


def main():
    GraphModule(argument_spec=dict(
        users=dict(type="list", elements="str"),
        cutoff=dict(type="str"),
        record_path=dict(type="path"),
        non_interactive=dict(type="bool", default=True),
        audit_lookback_minutes=dict(type="int", default=60),
        max_pages=dict(type="int", default=100),
        proof_path=dict(type="path"),
        wait_minutes=dict(type="int", default=0),
    ), mutually_exclusive=[("users", "record_path")], required_one_of=[("users", "record_path")],
        supports_check_mode=True).run_and_exit(run)


if __name__ == "__main__":
    main()
