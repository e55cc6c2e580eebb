#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_containment
short_description: Contain Microsoft 365 users (block sign-in, revoke sessions, verify, record), or undo it from the record
version_added: 0.1.0
description:
  - "O(state=contained) contains users in Microsoft's emergency order, in one process with one access token:
    block sign-in (C(PATCH /users/{id}) with C(accountEnabled) V(false)), then revoke every sign-in session
    (C(POST /users/{id}/revokeSignInSessions)), then read back C(signInSessionsValidFromDateTime) and judge it by
    Graph's clock, then write the containment record that a release reads."
  - Each stage is one wave of Microsoft Graph JSON batching (20 requests per C($batch) call) over every user, so
    1,000 users cost about 200 Graph calls (read, block, revoke, verify), not one task per step and user.
  - The users are O(user), O(users) and the members of O(groups) (nested groups included) minus O(exclude), at most
    O(max_users), compared by identity (an object ID and a UPN of the same person are one user).
  - Each user is read once first (C(accountEnabled), C(signInSessionsValidFromDateTime)); the block is written even
    when that read says the user is already blocked (writing it again is harmless, and one read of an eventually
    consistent directory is not proof). The revoke goes out after the block has been answered, also for a user
    whose block failed.
  - "Re-runs: with O(revoked_since) (the moment the incident started), a user whose read shows sign-in blocked and
    sessions revoked at or after that moment is read a second time; when both reads agree, the user is
    V(already_contained) and nothing is written for it. A second identical run then writes nothing. Without
    O(revoked_since) every run blocks and revokes again (safe, but not changeless)."
  - The task fails if any user is V(failed) or V(unknown), and still returns every user's outcome in RV(results) and
    in the record.
  - "Permissions (application, admin consent): C(User.EnableDisableAccount.All), C(User.RevokeSessions.All) and
    C(User.Read.All); O(groups) also needs C(GroupMember.Read.All). Blocking a user who holds an Entra admin role
    also needs an Entra role for the app (Microsoft's 'Who can perform sensitive actions')."
  - O(state=released) undoes a containment from its records - it allows sign-in again
    (C(PATCH /users/{id} accountEnabled=true)) for exactly the users the records' runs blocked, and only while
    Microsoft Graph still shows the state those runs left; see O(records). It writes a release record
    (O(report_path)) with the run's ID, per user the outcome and the reason, what Graph showed, when access
    returns, and the counts C(allowed_count) and C(skipped_count). It needs C(User.EnableDisableAccount.All) and
    C(User.Read.All); O(dismiss_risk) needs C(IdentityRiskyUser.ReadWrite.All).
options:
  state:
    description:
      - V(contained) blocks sign-in, revokes the sessions, verifies and records.
      - V(released) undoes a containment from O(records) (the options of the release are documented with it).
    type: str
    choices: [contained, released]
    required: true
  incident:
    description:
      - The incident reference (a ticket number such as V(INC-4711)) kept in the record beside the run's ID and for
        every user, so that a release can be traced to it.
      - With O(state=released), defaults to the records' incidents.
    type: str
  order:
    description:
      - V(block_then_revoke) is Microsoft's emergency order - a revoked user cannot sign straight back in.
      - V(revoke_then_block) revokes first, then blocks, then revokes again after the block, so that sessions
        issued between the first revoke and the block do not survive.
    type: str
    choices: [block_then_revoke, revoke_then_block]
    default: block_then_revoke
  block_sign_in:
    description: Whether to block sign-in (C(accountEnabled) V(false)).
    type: bool
    default: true
  revoke_sessions:
    description: Whether to revoke the sign-in sessions.
    type: bool
    default: true
  revoked_since:
    description:
      - When the incident started; makes re-runs write nothing for users already contained since then (see the
        description). An ISO 8601 date-time with an offset, such as V(2026-11-24T09:30:00Z), or a time ago, such as
        V(-2h), counted back from Graph's clock - the same forms as M(o365.admin.o365_revoke_sessions)'s.
    type: str
  verify:
    description:
      - Read each revoked user's C(signInSessionsValidFromDateTime) back (batched) and require it to show the revoke,
        judged by Graph's clock (no earlier than Graph's time before the revoke, and past the value read before).
        A read that does not show it yet is read again after 1, 2, 4, 8 and 15 seconds; then the user fails.
      - The value read is the record's C(sessions_valid_from_after), the timestamp the revoke wrote.
    type: bool
    default: true
  absent_is_done:
    description:
      - For offboarding from a list that names people already deleted (a weekly HR export) - a user Microsoft Graph
        answers 404 for, twice (one answer of an eventually consistent directory is not proof), is V(absent) in the
        results and the record - done, nothing written, not a failure.
      - V(false) (the default) - such a user is V(failed) and fails the task, as a typo in an object ID should.
      - Applies to the users given, within O(max_users); an O(exclude) entry that names nobody is a warning either way.
    type: bool
    default: false
  report_path:
    description:
      - The run's record, JSON, written atomically with mode 0600 on the host that runs the module, also when
        the task fails and in check mode. The directory must exist. Relative paths start in the directory
        ansible-playbook was run from.
      - A run owns its record - it carries the run's C(run_id). A path that already holds a file (another run's
        record, or a killed run's journal) fails the task before any call unless O(report_replace) is set; check
        mode never writes over a real run's record; a C({run_id}) in the path gives each run a file of its own; a
        lock (C(.<name>.lock) beside it) refuses a second run on the same path while the first one runs.
      - "While the run goes, the file is its journal (JSON Lines: a plan line, then a line per user and write as
        each answer comes), so that a run killed outright leaves what was sent."
      - "The record: C(schema_version) 1, C(kind) V(containment), C(run_id), C(incident), C(tenants),
        C(check_mode), C(order), C(write_order), C(steps) (each step's summary), C(revoked_since), C(summary) and
        C(users), one entry per user as in
        RV(results): object ID, UPN, tenant, incident, run ID, outcome, C(account_enabled_before),
        C(account_enabled_after), C(account_enabled_changed) (this run turned an enabled account off: what a
        release undoes), C(sessions_valid_from_before) and C(sessions_valid_from_after), the status, request-id and
        error."
    type: path
    aliases: [record_path]
  report_replace:
    description:
      - Replace a record already at O(report_path) on purpose (never, in check mode, a real run's record).
    type: bool
    default: false
  record_tenant:
    description:
      - The tenant named in the record (its ID or domain, or an inventory name for it). Default O(tenant_id).
    type: str
  event:
    description:
      - "An Entra ID Protection riskyUser event - C(ansible_eda.event.o365_risky_user) of the C(o365.admin.risky_users)
        event source: C(id) (the object ID, required), C(userPrincipalName), C(riskLastUpdatedDateTime),
        C(isDeleted). Contains that one user, instead of O(user), O(users) or O(groups)."
      - Unless O(revoked_since) is given, it is the event's C(riskLastUpdatedDateTime) - a re-run for the same event
        writes nothing once two reads agree the user was contained since the risk was raised.
      - A user the event marks C(isDeleted) is not contained (nothing is sent).
    type: dict
  brake:
    description:
      - "The blast-radius brake of automatic containment, decided in this task between the read of the O(event)'s
        user and the first write, under an OS lock on the ledger that every run sharing O(brake.state_dir) uses
        (overlapping runs, parallel jobs, several rulebook instances)."
      - "An excluded user, a user that could not be told apart from an O(exclude) entry, a user the directory
        answers 404 for and a deleted event's user are not written and take no slot; the one that could not be told
        apart fails the task. When the read that compares the user with O(exclude) was never sent (the run was
        stopped, no token), nothing is decided and the ledger is left as it was - the task fails and the event stays
        unacknowledged."
      - A user contained within
        O(brake.window) already is not contained again. When O(brake.max_users) users were contained within the
        window, the user is held back and nothing is written; the first user held back in a window raises the
        window's one alert (RV(brake.alert), and a line in C(containment_alerts.jsonl)).
      - The slot is closed with the containment's outcome once the record is written (the event source's
        C(ledger_dir) acknowledges the event then); a run stopped by a signal leaves it started, and the next
        event for the user resumes it, as does a fault of the module itself. Only the run that took or resumed a
        slot closes it. A user whose containment failed within the window is tried again by its next event. The
        same ledger as M(o365.admin.o365_containment_ledger)'s.
      - Needs O(event).
    type: dict
    suboptions:
      state_dir:
        description:
          - The directory of the ledger (C(containment_ledger.json)) and the alerts. Under EDA Controller, on a
            persistent volume.
        type: path
        required: true
      max_users:
        description: At most this many users contained within O(brake.window).
        type: int
        default: 5
      window:
        description:
          - The window of the brake and of once-per-window containment - V(10 minutes), V(30 seconds), V(1 hour), or
            a number of seconds.
        type: str
        default: 10 minutes
  batch_concurrency:
    description:
      - How many C($batch) calls (of up to 20 requests each) are kept in flight, from 1 to 32. Higher than the
        other modules' 4 by default - a containment is four waves of round trips and an incident waits on them;
        items Graph answers 429 go again after their own C(Retry-After), and once Graph throttles the module paces
        itself at the rate that was accepted.
    type: int
    default: 16
extends_documentation_fragment:
  - o365.admin.release
  - o365.admin.targets
  - o365.admin.graph
  - o365.admin.graph.action_group
attributes:
  check_mode:
    support: full
    description:
      - "Reads only (every user, batched, and the second read of O(revoked_since)); nothing is written but the
        record, which says C(check_mode) V(true). Each user is V(would_contain), V(already_contained) or V(failed)
        (could not be read), and RV(msg) gives the would-be counts."
  diff_mode:
    support: full
    description: C(accountEnabled) and C(signInSessionsValidFromDateTime) before and after, per user contained (or
      that would be).
notes:
  - Users synced from on-premises Active Directory are blocked in the cloud, but the next Entra Connect sync writes
    the on-premises state back; the module warns.
  - "A write counts only on Graph's own answer (C(204) to the block, C({\"value\": true}) or an empty 2xx to the
    revoke). A lost answer, or a 2xx that is not Graph's (a proxy's HTML page), is V(unknown), never success."
seealso:
  - module: o365.admin.o365_user_sign_in
  - module: o365.admin.o365_revoke_sessions
  - name: Revoke user access in an emergency in Microsoft Entra ID
    description: Microsoft's order of steps (block sign-in, revoke sessions).
    link: https://learn.microsoft.com/entra/identity/users/users-revoke-access
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Incident INC-4711 - contain two accounts and the Finance group, never the break-glass accounts
  o365.admin.o365_containment:
    state: contained
    users:
      - adele.vance@contoso.com
      - 6e7b768e-07e2-4810-8459-485f84f8f204
    groups: [Finance]
    exclude: [breakglass1@contoso.com, breakglass2@contoso.com]
    max_users: 500
    incident: INC-4711
    revoked_since: "{{ incident_started_at }}"  # a re-run writes nothing for users already contained
    report_path: /var/lib/o365/INC-4711-containment.json
  register: containment

- name: Dry run of the same - who would be contained (reads only)
  o365.admin.o365_containment:
    state: contained
    groups: [Finance]
    exclude: [breakglass1@contoso.com]
    incident: INC-4711
  check_mode: true
  diff: true

- name: Weekly offboarding - block and revoke the leavers from HR's list, keep the record
  o365.admin.o365_containment:
    state: contained
    users: "{{ leavers }}"
    incident: "OFFBOARD-{{ now(utc=true).strftime('%Y-%m-%d') }}"
    revoked_since: "-7d"
    report_path: "/srv/records/offboarding-{{ now(utc=true).strftime('%Y-%m-%d') }}-{run_id}.json"

- name: Event-Driven Ansible - contain the user a riskyUser event names, behind the blast-radius brake
  o365.admin.o365_containment:
    state: contained
    event: "{{ ansible_eda.event.o365_risky_user }}"
    brake:
      state_dir: /var/lib/eda/o365
      max_users: 5
      window: 10 minutes
    exclude: [breakglass1@contoso.com, breakglass2@contoso.com]
    report_path: "/var/lib/eda/o365/reports/contain-{{ ansible_eda.event.o365_risky_user.id }}-{run_id}.json"
  register: containment

- name: Undo INC-4711's containment, risk included (run with --check --diff first)
  o365.admin.o365_containment:
    state: released
    records: [/var/lib/o365/INC-4711-containment.json]
    exclude: [still.suspicious@contoso.com]
    dismiss_risk: true
    incident: CHG-1234
    report_path: /var/lib/o365/INC-4711-release-{run_id}.json
"""

RETURN = r"""
msg:
  description:
    - One line - the count per outcome (would-be counts in check mode), each cause shared by failed or unknown users
      said once with those users counted, and the record's path.
  returned: always
  type: str
  sample: "Containment: contained 998, failed 2. Failed (block sign-in: HTTP 403 Authorization_RequestDenied): 2
    user(s): it.admin@contoso.com, ceo@contoso.com. Record: /srv/records/INC-4711.json."
changed:
  description: Whether any user was written (check mode, would be); V(true) also when an answer was lost.
  returned: always
  type: bool
state:
  description: The state asked for.
  returned: always
  type: str
  sample: contained
run_id:
  description: This run's ID, in the record and each of its users.
  returned: always
  type: str
incident:
  description: O(incident) as given.
  returned: always
  type: str
tenant:
  description: The tenant named in the record.
  returned: always
  type: str
write_order:
  description: The writes each user got, in order (V(block), V(revoke)).
  returned: always
  type: list
  elements: str
  sample: [block, revoke]
results:
  description: One entry per user given (duplicates included) and per group member, in order, excluded users too.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user as given, or a group member's UPN.
      type: str
    user_id:
      description: The object ID (given, listed or read).
      type: str
    user_principal_name:
      description: The UPN (given, listed or read).
      type: str
    group:
      description: The group (as given) that brought the user; V(null) otherwise.
      type: str
    tenant:
      description: The tenant named in the record.
      type: str
    incident:
      description: O(incident).
      type: str
    run_id:
      description: This run's ID.
      type: str
    outcome:
      description:
        - V(contained) - every write Graph confirmed (and, with O(verify), the revoke seen by Graph's clock).
        - V(already_contained) - two reads showed the user blocked and revoked since O(revoked_since); nothing sent.
        - V(would_contain) - check mode.
        - V(excluded) - named in O(exclude); never read nor written.
        - V(absent) - with O(absent_is_done), Graph has no such user (read twice); nothing written.
        - V(failed) - Graph refused a write, the user could not be read (nothing sent), or verify failed.
        - V(unknown) - an answer was lost or was not Graph's (a proxy's page); it may have acted; a re-run is safe.
        - "With O(brake), when the brake keeps the event's user from any write: V(held) (the brake holds),
          V(already_contained) (contained within the window), V(excluded), V(absent) (deleted) or V(failed) (could
          not be told apart from an O(exclude) entry); the entry then carries C(decision) and C(detail) instead of
          the steps."
      type: str
      choices: [contained, already_contained, would_contain, excluded, absent, held, failed, unknown]
    changed:
      description: Whether this user was written (check mode, would be); V(null) when unknown.
      type: bool
    account_enabled_before:
      description: C(accountEnabled) as read before any write; V(null) when not read.
      type: bool
    account_enabled_after:
      description: C(accountEnabled) after the run, as Graph confirmed it; V(null) when not known.
      type: bool
    account_enabled_changed:
      description: Whether this run turned an enabled account off (what a release undoes). Never V(true) in check mode.
      type: bool
    sign_in_outcome:
      description: The block's own outcome - V(blocked), V(unchanged), V(would_block), V(failed), V(unknown), V(excluded), or V(null) when not sent.
      type: str
    revoke_outcome:
      description: The last revoke's outcome - V(revoked), V(skipped), V(would_revoke), V(failed), V(unknown), or V(null) when not sent.
      type: str
    revokes:
      description: How many revokes were sent for this user by this run (2 with V(revoke_then_block)).
      type: int
    sessions_valid_from_before:
      description: C(signInSessionsValidFromDateTime) read before any write.
      type: str
    sessions_valid_from_after:
      description: The same read back by O(verify) - the timestamp the revoke wrote.
      type: str
    verified:
      description: With O(verify), whether the read back shows the revoke.
      type: bool
      returned: when verified
    verify_reads:
      description: How many reads verify took.
      type: int
      returned: when verified
    status_code:
      description: HTTP status of the user's last answer.
      type: int
    request_id:
      description: Graph's C(request-id) of that answer.
      type: str
    error:
      description: For V(failed) and V(unknown), Graph's C(code) and C(message) (or what happened instead) and the C(step).
      type: dict
    block_sign_in:
      description: The block's own entry - C(outcome), C(changed), C(status_code), C(request_id), C(error),
        C(account_enabled_before), C(account_enabled); V(null) when blocking is off.
      type: dict
    revoke_sessions:
      description: The last revoke's own entry - C(outcome), C(changed), C(status_code), C(request_id), C(error),
        C(sessions_valid_from_before), C(sessions_valid_from), C(verified), C(verify_reads); V(null) when revoking
        is off.
      type: dict
    time:
      description: When the outcome was recorded (UTC).
      type: str
contained_count:
  description: Distinct users contained.
  returned: always
  type: int
already_contained_count:
  description: Distinct users already contained (nothing written).
  returned: always
  type: int
would_contain_count:
  description: In check mode, distinct users that would be contained.
  returned: always
  type: int
excluded_count:
  description: Distinct users excluded.
  returned: always
  type: int
exclude_not_found:
  description:
    - The O(exclude) entries Graph said name no user (404), as given - they protected nobody in this run. The task
      also warns about them, and the record keeps them in its C(summary).
  returned: when an exclude entry names no user
  type: list
  elements: str
  sample: [breakglass-typo@contoso.com]
absent_count:
  description: With O(absent_is_done), distinct users Graph has no more (nothing written).
  returned: always
  type: int
held_count:
  description: With O(brake), 1 when the brake held the event's user back (nothing written), else 0.
  returned: always
  type: int
failed_count:
  description: Distinct users failed.
  returned: always
  type: int
unknown_count:
  description: Distinct users whose outcome is unknown.
  returned: always
  type: int
verified_count:
  description: Distinct users verified.
  returned: always
  type: int
failed_users:
  description: The users (as given) that failed.
  returned: always
  type: list
  elements: str
unknown_users:
  description: The users (as given) whose outcome is unknown.
  returned: always
  type: list
  elements: str
batches:
  description: C($batch) calls made, retries included.
  returned: always
  type: int
retries:
  description: Requests or items sent again after 429, 503, 504 or a network error.
  returned: always
  type: int
elapsed_s:
  description: Seconds the run took.
  returned: always
  type: float
record:
  description:
    - The containment record as written to O(report_path) (also without it), but for its C(users), which are
      RV(results) - C(schema_version), C(kind), C(run_id), C(incident), C(tenants), C(check_mode), C(order),
      C(write_order), C(steps) and C(summary). The role P(o365.admin.contain_user#role) publishes it with its
      C(users) as its fact and artifact.
  returned: always
  type: dict
allowed_count:
  description: With O(state=released), how many users were allowed to sign in again.
  returned: with O(state=released)
  type: int
  sample: 2
would_allow_count:
  description: With O(state=released), in check mode, how many users would be allowed again.
  returned: with O(state=released)
  type: int
  sample: 0
skipped_count:
  description: With O(state=released), how many users were skipped, each with its reason.
  returned: with O(state=released)
  type: int
  sample: 1
dismissed_count:
  description: With O(state=released) and O(dismiss_risk), how many users' risk was dismissed (or would be).
  returned: with O(state=released)
  type: int
  sample: 2
report_path:
  description: With O(state=released), the release record written.
  returned: with O(state=released) and O(report_path), when written
  type: str
record_path:
  description: The record written (O(report_path)).
  returned: with O(report_path), when written
  type: str
brake:
  description:
    - With O(brake), what the brake decided, and the ledger's slot.
  returned: when brake is given
  type: dict
  contains:
    decision:
      description:
        - V(contain) (a slot taken), V(resume) (a stopped run's containment finished), V(recent) (contained within
          the window already), V(held) (the brake), V(excluded), V(deleted) or V(refused) (could not be compared
          with O(exclude)). Only V(contain) and V(resume) write anything.
      type: str
      sample: contain
    contain:
      description: Whether the user was written (V(contain) or V(resume)).
      type: bool
    user_id:
      description: The event's user, lower case.
      type: str
    run:
      description: This run in the ledger - the host and RV(run_id).
      type: str
    detail:
      description: Why the user was not written, or V(null).
      type: str
    alert:
      description: Whether this run raised the brake's one alert of the window.
      type: bool
    alert_message:
      description: The alert's sentence, when RV(brake.alert).
      type: str
      returned: when alert
    contained_in_window:
      description: The object IDs that count towards the brake now.
      type: list
      elements: str
    state_dir:
      description: The ledger's directory.
      type: str
    closed:
      description: Whether this run closed the slot (another run may have closed a resumed one first).
      type: bool
      returned: when the slot was closed
  sample:
    decision: contain
    contain: true
    user_id: 6e7b768e-07e2-4810-8459-485f84f8f204
    alert: false
brake_error:
  description: Why the slot could not be closed in the ledger (the task fails; the event stays unacknowledged).
  returned: when the ledger could not be written after the containment
  type: str
record_error:
  description: Why the record could not be written (the task fails).
  returned: when the record could not be written
  type: str
diff:
  description: With C(--diff), before and after per user contained.
  returned: in diff mode
  type: list
  elements: dict
"""


from ansible_collections.o365.admin.plugins.module_utils._brake import EVENT_OPTIONS, Brake, apply_event
from ansible_collections.o365.admin.plugins.module_utils._containment import (
    CONTAIN_OPTIONS, contain, record_from_params)
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BATCH_ARGUMENT_SPEC
from ansible_collections.o365.admin.plugins.module_utils._graph_module import GraphModule
from ansible_collections.o365.admin.plugins.module_utils._interruption import Interruption
from ansible_collections.o365.admin.plugins.module_utils._release import RELEASE_OPTIONS, run_release
from ansible_collections.o365.admin.plugins.module_utils._report import new_run_id
from ansible_collections.o365.admin.plugins.module_utils._sessions_valid_from import parse_since
from ansible_collections.o365.admin.plugins.module_utils._targets import (
    TARGETS_ARGUMENT_SPEC, TARGETS_MUTUALLY_EXCLUSIVE)


def run(module, client):
    if module.params["state"] == "released":
        return run_release(module, client)
    # Everything the user typed is checked before any network call (the record's path is claimed for this run).
    apply_event(module.params)
    record = record_from_params(module.params, check_mode=module.check_mode)
    run_id = record.run_id if record is not None else new_run_id()
    brake = Brake.from_params(module.params, run_id, check_mode=module.check_mode)
    since = parse_since(module.params["revoked_since"]) if module.params["revoked_since"] else None
    journal = record.journal() if record else None
    module.interruption = interruption = Interruption().install()
    try:
        return contain(module, client, since, journal, interruption, record, brake, run_id)
    finally:
        interruption.restore()
        if journal is not None:
            journal.close()
        if record is not None:
            record.close()


def main():
    spec = dict(TARGETS_ARGUMENT_SPEC)
    spec.update(BATCH_ARGUMENT_SPEC)
    # One option table: the release's records and dismiss_risk join the containment's options (incident,
    # report_path and report_replace mean the same for both states).
    spec.update(RELEASE_OPTIONS)
    spec.update(CONTAIN_OPTIONS)
    spec.update(EVENT_OPTIONS)
    spec["state"] = dict(type="str", choices=["contained", "released"], required=True)
    # A containment names its users (or an event names its one user); a release takes them from its records (users
    # then only narrows it).
    module = GraphModule(argument_spec=spec, supports_check_mode=True,
                         mutually_exclusive=TARGETS_MUTUALLY_EXCLUSIVE + [
                             ("event", "user"), ("event", "users"), ("event", "groups"), ("event", "records"),
                             ("brake", "records")],
                         required_if=[("state", "contained", ("user", "users", "groups", "event"), True),
                                      ("state", "released", ("records",))],
                         required_by={"brake": "event"})
    module.run_and_exit_stoppable(run)


if __name__ == "__main__":
    main()
