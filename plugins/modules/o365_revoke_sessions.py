#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_revoke_sessions
short_description: Revoke a Microsoft 365 user's sign-in sessions
version_added: 0.1.0
description:
  - Invalidates every refresh token issued to applications for a user, and the session cookies in the user's
    browser, through Microsoft Graph C(POST /users/{id | userPrincipalName}/revokeSignInSessions).
  - The user must sign in again to every application. Use it to throw a departing or compromised user out now.
  - There may be a delay of a few minutes before the tokens stop working; access tokens already issued stay
    valid until they expire.
  - The app needs the Microsoft Graph application permission C(User.RevokeSessions.All), with admin consent.
    Check mode, O(verify) and O(revoked_since) also read users, which needs C(User.Read.All); O(groups) needs
    C(GroupMember.Read.All) (and C(Member.Read.Hidden) for groups with hidden membership).
  - With O(users) or O(groups), the task fails if any user failed, and still returns every user's outcome in
    RV(results), in input order. Duplicates are revoked once.
  - For incidents, O(groups) with O(exclude) and O(max_users) names who is signed out, O(revoked_since) makes
    re-runs skip users already revoked, O(verify) reads back the proof, and O(report_path) keeps the record.
options:
  verify:
    description:
      - After the revokes, read each revoked user's C(signInSessionsValidFromDateTime) (batched) and require it to
        show the revoke, judged by Graph's own clock, never the controller's. Graph sets it to the time of the
        revoke; tokens issued before it are refused.
      - The value must be no earlier than Graph's time just before the revoke was sent (the C(Date) header of
        Graph's answer to the read before it; both have whole seconds), and move past the value read then. Each
        user is read before the revoke for this, unless O(revoked_since) already read them.
      - Graph is eventually consistent, so a read right after the revoke may still return the old value. A read
        that does not show the revoke is read again after 1, 2, 4, 8 and 15 seconds (6 reads and 30 seconds at
        most); then the user fails the task, with a message saying what was read.
      - Each user's result gets RV(results[].sessions_valid_from) (the value read), RV(results[].verified) and
        RV(results[].verify_reads).
      - Reading needs the application permission C(User.Read.All).
    type: bool
    default: false
  revoked_since:
    description:
      - Revoke only the users not already revoked since this moment, which makes an incident runbook safe to run
        again and resumable, for example V({{ incident_started_at }}).
      - An ISO 8601 date-time with an offset, such as V(2026-11-24T09:30:00Z) or V(2026-11-24T10:30:00+01:00), or
        a time ago, such as V(-2h) (units C(s), C(m), C(h), C(d), C(w)).
      - The offset is C(Z) or at most 14:00 either way (with at most 59 minutes). The moment is 1970 or later and
        not more than 5 minutes ahead of Graph's clock (the C(Date) of the answers to the reads, before anything is
        written; a future moment is refused), whatever the controller's clock says, so that a moment taken from
        Graph (such as C(riskLastUpdatedDateTime)) works on a controller whose clock runs behind. A moment more than
        a day ahead of the controller's clock is refused before any call. A time ago reaches back at most 365 days
        and is counted back from Graph's clock (the C(Date) of the answer that carried each user's timestamp), not
        the controller's. Anything else fails the task before any call.
      - Each user's C(signInSessionsValidFromDateTime) is read first (batched). Users revoked at or after this
        moment are not revoked again; they are reported with C(changed=false), C(outcome=skipped) and
        C(skipped=already revoked at <time>). A user whose timestamp cannot be read is not revoked and fails.
      - Reading needs the application permission C(User.Read.All).
    type: str
  report_path:
    description:
      - "Write every user's result to this file on the host that runs the module (normally the controller), for an
        audit trail or an incident record. Per user: the user as given, object ID and UPN when known, source group, outcome
        (revoked, skipped, failed, would_revoke), HTTP status, Graph's error code and message, request-id,
        C(signInSessionsValidFromDateTime) before and after, and the time."
      - Written atomically (a temporary file renamed into place) with mode 0600, also when the task fails, so a
        partial run leaves its record. The directory must exist. A relative path starts in the directory
        ansible-playbook was run from.
      - A run owns its record - the report and each journal line carry the run's ID (C(run_id)). A path that already
        holds a file (another run's record, or the journal of a run that was killed) fails the task before any
        call, unless O(report_replace) is set; check mode never writes over a real run's record. A C({run_id}) in
        the path gives each run a file of its own. A lock (C(.<name>.lock) beside the file) refuses a second run on
        the same path while the first is writing it.
      - "While the run goes, the file is its journal (JSON Lines, mode 0600, each line flushed), whatever
        O(report_format): the first line is the plan, C({\"journal\": \"o365.admin journal 1\", \"run_id\": ...,
        \"plan\": {...}}) with
        C(users) (distinct users), C(writes) (revokes to send), C(write_quota) and C(least_time_s), the least time
        Graph's documented write quota (3,000 identity writes per 150 s per app and tenant) allows for them; before
        each C($batch) call of revokes leaves, a line C({\"sending\": \"revokeSignInSessions\", \"outcome\":
        \"unknown\", \"users\": [...]}) naming its users, so a run killed outright leaves every user it may have
        revoked in the journal; then one line per user as soon as its outcome is known, in the shape of RV(results) (a later line for the same
        user, such as its O(verify) result, supersedes an earlier one). Follow a long run with C(tail -F <report_path>).
        At the end the final report replaces the journal."
      - If the report cannot be written at the end (directory removed, disk full, no permission), the task fails
        with every user's outcome still in RV(results) and the reason in RV(report_error); the revokes already
        done stand. A journal that cannot be written only warns; the run goes on.
      - "Interrupted (SIGINT or SIGTERM, which ansible-playbook passes on to the module; or ansible-playbook killed,
        as ansible-runner's cancel does): the module sends nothing more, waits up to 10 s for the answers in
        flight, gives every user an outcome (those sent without an answer V(unknown), those never sent V(failed)
        C(not sent: the run was interrupted)), writes the report and fails. Ansible has stopped by then, so the
        task's result is not shown: the report is the record. Killed outright (SIGKILL, or an AWX job's container
        removed after a cancel), the module leaves the journal written so far, where O(report_path) is on storage
        that outlives the job."
      - The JSON report holds RV(results) exactly, with the summary and the failure message; the CSV report has one
        row per entry of RV(results).
      - In the CSV report a cell that begins with V(=), V(+), V(-), V(@), a tab or a carriage return is written with a
        single quote in front (OWASP's rule against CSV injection), so that a spreadsheet shows it as text and never
        runs it as a formula. Rows end in CRLF (RFC 4180).
    type: path
  report_format:
    description:
      - The format of O(report_path). Defaults to V(csv) when the file name ends in C(.csv), else V(json).
    type: str
    choices: [json, csv]
  report_replace:
    description:
      - Replace a file already at O(report_path) (another run's record) on purpose. Never in check mode over the
        record of a real run.
    type: bool
    default: false
extends_documentation_fragment:
  - o365.admin.targets
  - o365.admin.graph
  - o365.admin.graph.action_group
attributes:
  check_mode:
    support: full
    description:
      - No revoke is sent. The user is read (with O(users) or O(groups), every user, batched the same way) so that
        a wrong ID or UPN fails the dry run too; if the app may not read users, a warning says the user could not
        be confirmed. Groups are resolved and expanded, and O(max_users) applies, as in a real run.
      - With O(revoked_since), each user is reported as V(would_revoke) or V(skipped), as the real run would.
  diff_mode:
    support: none
    description: There is nothing to compare; a revoke has no before and after that Graph shows.
notes:
  - External (B2B) guests sign in at their home tenant; Graph does not revoke those sessions. The module
    succeeds and warns.
  - A revoke is confirmed only by Graph's answer, C(value) V(true) (Graph answers 200 with a Boolean), or by a 2xx
    without a body (204, as Microsoft's known-issues page allows). Any other 2xx, such as an HTML page from a proxy
    or Graph's error envelope, fails the task with what was received (content type and a short excerpt).
    With O(users) or O(groups), any other 2xx gives the user the outcome V(unknown).
seealso:
  - name: "Microsoft Graph: user: revokeSignInSessions"
    description: The API this module calls, its permissions and caveats.
    link: https://learn.microsoft.com/graph/api/user-revokesigninsessions
  - name: Microsoft Graph throttling guidance
    description: How 429 answers and Retry-After work.
    link: https://learn.microsoft.com/graph/throttling
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Revoke the sessions of a user by object ID, with a certificate credential
  o365.admin.o365_revoke_sessions:
    user: 6e7b768e-07e2-4810-8459-485f84f8f204
    tenant_id: contoso.onmicrosoft.com
    client_id: 00001111-aaaa-2222-bbbb-3333cccc4444
    client_certificate_path: /etc/o365/revoke-app.pem

- name: Revoke by UPN, credentials from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET
  o365.admin.o365_revoke_sessions:
    user: adele.vance@contoso.com

- name: Dry run, confirm the user exists and send no revoke
  o365.admin.o365_revoke_sessions:
    user: adele.vance@contoso.com
  check_mode: true

- name: Offboard a list of users in one task (batched, 20 revokes per Graph call)
  o365.admin.o365_revoke_sessions:
    users: "{{ departing_users }}"
  register: offboarding

- name: Incident - sign out everyone in Finance (nested groups too) but the break-glass accounts, re-runnable
  o365.admin.o365_revoke_sessions:
    groups:
      - Finance
      - 02bd9fd6-8f93-4758-87c3-1fb73740a315
    exclude:
      - breakglass1@contoso.com
      - breakglass2@contoso.com
    max_users: 3000
    revoked_since: "{{ incident_started_at }}"  # users revoked since then are skipped on a re-run
    verify: true
    report_path: "{{ playbook_dir }}/INC-4711-revocations.csv"
  register: containment

- name: Dry run of the same, listing who would be revoked and who skipped
  o365.admin.o365_revoke_sessions:
    groups: [Finance]
    revoked_since: "-2h"
  check_mode: true

- name: Show who could not be revoked
  ansible.builtin.debug:
    var: offboarding.failed_users

- name: Set the connection once for every o365.admin module
  module_defaults:
    group/o365.admin.graph:
      tenant_id: "{{ o365_tenant_id }}"
      client_id: "{{ o365_client_id }}"
      client_secret: "{{ o365_client_secret }}"
  block:
    - name: Revoke a B2B guest's sessions in this tenant (warns that home-tenant sessions are not revoked)
      o365.admin.o365_revoke_sessions:
        user: "AdeleVance_adatum.com#EXT#@contoso.onmicrosoft.com"

    - name: Revoke in GCC High
      o365.admin.o365_revoke_sessions:
        user: "$svc-legacy@contoso.us"
        cloud: usgov
"""

RETURN = r"""
changed:
  description:
    - Whether a revoke was sent and accepted (in check mode, whether one would be sent).
    - With O(users), whether any user was revoked.
    - V(true) also when a revoke's answer was lost or could not be read (outcome V(unknown)), as it may have been
      carried out.
  returned: always
  type: bool
  sample: true
all_sessions_revoked:
  description:
    - Graph's answer (C(value)) to the revoke; V(true) when all the user's refresh tokens are revoked.
    - A 2xx answer without a body counts as V(true). A V(false) answer fails the task, and so does a 2xx that is
      not Graph's answer (a proxy's page, V(null) then, outcome V(unknown)).
    - V(null) in check mode, and when the outcome is unknown.
    - With O(users), whether every user in scope (not excluded) was revoked, now or already since
      O(revoked_since); never V(true) for a scope with nobody in it.
    - A failed O(verify) read does not change it - Graph's own confirmation of the revoke stands, and the task
      fails saying the user is revoked but not verified.
  returned: always
  type: bool
  sample: true
status_code:
  description: HTTP status of Graph's answer to the revoke; V(null) in check mode.
  returned: with O(user)
  type: int
  sample: 200
user:
  description: The user as given.
  returned: with O(user)
  type: str
  sample: adele.vance@contoso.com
user_id:
  description: The user's object ID, when it was given or Graph told it (V(null) otherwise).
  returned: with O(user)
  type: str
  sample: 6e7b768e-07e2-4810-8459-485f84f8f204
outcome:
  description:
    - With O(user), V(revoked), V(skipped) or V(would_revoke) (check mode) on success; V(failed) or V(unknown) on
      failure, as RV(results[].outcome) - one user is judged by the same rule as many.
  returned: with O(user)
  type: str
  sample: revoked
msg:
  description:
    - With O(user), when it was skipped, why (already revoked at a time after O(revoked_since), or excluded).
    - On failure, what went wrong and what to do.
  returned: on failure, or with O(user) when skipped
  type: str
  sample: "adele@contoso.com was not revoked: already revoked at 2026-11-24T09:41:07Z."
sessions_valid_from_before:
  description: With O(user) and O(revoked_since) or O(verify), the user's C(signInSessionsValidFromDateTime) read
    before the revoke.
  returned: with O(user) and O(revoked_since) or O(verify)
  type: str
  sample: "2026-11-02T08:00:00Z"
sessions_valid_from:
  description: With O(user) and O(verify), the user's C(signInSessionsValidFromDateTime) read after the revoke.
  returned: with O(user) and O(verify)
  type: str
  sample: "2026-11-24T09:41:07Z"
verified:
  description: With O(user) and O(verify), whether the timestamp shows the revoke took effect.
  returned: with O(user) and O(verify)
  type: bool
  sample: true
verify_reads:
  description:
    - With O(user) and O(verify), how many reads after the revoke it took to see the revoke (1 to 6), or were made
      before the user failed verification. More than 1 means Graph's first answers still showed the old value.
  returned: with O(user) and O(verify), once the revoke was accepted
  type: int
  sample: 1
user_confirmed:
  description: In check mode, whether the user could be read (V(false) when the app lacks C(User.Read.All)).
  returned: in check mode
  type: bool
  sample: true
request_id:
  description: Graph's C(request-id) of the last call, for Microsoft support.
  returned: with O(user)
  type: str
  sample: 0f8e3a24-95a8-4a6e-bb6a-1d0f7a0f5f9e
results:
  description:
    - With O(users) or O(groups), one entry per user given, in the order given (duplicates included), then each
      group member not already listed, in the order Graph lists them; excluded users are listed as skipped.
  returned: with O(users) or O(groups)
  type: list
  elements: dict
  contains:
    user:
      description: The user as given.
      type: str
    changed:
      description: Whether this user's revoke was sent and accepted (check mode, would be sent); V(null) when the
        outcome is unknown (it may have been carried out).
      type: bool
    user_id:
      description: The user's object ID when known (given, listed by a group, or read); V(null) otherwise.
        Duplicates named in another form carry the same ID.
      type: str
    user_principal_name:
      description: The user's UPN when known; V(null) otherwise.
      type: str
    all_sessions_revoked:
      description: Graph's C(value) for this user; V(false) when it failed; V(null) when the outcome is unknown and
        in check mode.
      type: bool
    status_code:
      description: HTTP status of this user's item in the batch answer; V(null) in check mode.
      type: int
    request_id:
      description: Graph's C(request-id) for this user's item (or its batch).
      type: str
    user_confirmed:
      description: Check mode only, whether the user could be read.
      type: bool
    outcome:
      description:
        - V(revoked) when Graph answered this user's revoke with C(value) V(true) (or the documented empty 2xx).
        - V(failed) when Graph refused it (RV(results[].error) has Graph's code and message), answered
          C(value) V(false), or it was never sent (RV(results[].status_code) is then V(null) and the message says
          why).
        - V(unknown) when the revoke may have been carried out but its answer was lost or could not be read (a
          connection cut, a gateway timeout, a C($batch) answer of the wrong shape, a 2xx that is not Graph's
          answer, or the run was interrupted before it came). It is not a failure to revoke, and running the task
          again is safe.
        - In check mode, V(would_revoke) for a user that was read (or that the app may not read), else V(failed)
          or V(unknown).
        - V(skipped) for a user not acted on (see RV(results[].skipped)).
      type: str
      choices: [revoked, failed, unknown, would_revoke, skipped]
      sample: revoked
    error:
      description: Unless the outcome is V(revoked) or V(would_revoke), Graph's C(code) and C(message) for this user,
        or (C(code) V(null)) what happened instead.
      type: dict
    skipped:
      description:
        - Why the user was not revoked, such as V(already revoked at 2026-11-24T09:41:07Z) or V(excluded).
        - The module never returns a top-level C(skipped), so C(changed_when), C(failed_when) and C(is skipped)
          work alike on every ansible-core. When every user is skipped, ansible-core 2.20 and earlier still
          display the task as skipped (they infer it from RV(results)); 2.21 displays it as C(ok).
      type: str
      returned: when skipped
    group:
      description: The group (as given in O(groups)) that brought this user.
      type: str
      returned: for users that came from O(groups)
    sessions_valid_from_before:
      description: With O(revoked_since) or O(verify), the user's C(signInSessionsValidFromDateTime) read before
        revoking.
      type: str
      returned: with O(revoked_since), or O(verify) for users sent a revoke
    sessions_valid_from:
      description: With O(verify), the user's C(signInSessionsValidFromDateTime) read after the revoke.
      type: str
      returned: with O(verify), for users revoked
    verified:
      description: With O(verify), whether the timestamp shows the revoke took effect.
      type: bool
      returned: with O(verify), for users revoked
    verify_reads:
      description: With O(verify), how many reads after the revoke it took to see it (1 to 6), or were made before
        the user failed verification.
      type: int
      returned: with O(verify), for users revoked
    time:
      description: When the module recorded this user's outcome (UTC).
      type: str
  sample:
    - {user: adele@contoso.com, outcome: revoked, changed: true, all_sessions_revoked: true, status_code: 200,
       request_id: 1b2c-...}
    - {user: ghost@contoso.com, outcome: failed, changed: false, all_sessions_revoked: false, status_code: 404,
       request_id: 9d8e-..., error: {code: Request_ResourceNotFound, message: "Resource 'ghost@contoso.com' ..."}}
    - {user: megan@contoso.com, outcome: unknown, changed: false, all_sessions_revoked: null, status_code: null,
       request_id: null, error: {code: null, message: "The $batch call's answer was lost (...); the request may
       have acted; sending it again is safe."}}
resolved_groups:
  description: With O(groups), each group as given, its object ID, display name and how many user members it has.
  returned: with O(groups)
  type: list
  elements: dict
  sample: [{group: Finance, id: 02bd9fd6-8f93-4758-87c3-1fb73740a315, display_name: Finance, user_count: 2500}]
exclude_not_found:
  description:
    - The O(exclude) entries Graph said name no user (404), as given - they protected nobody in this run. The task
      also warns about them. Check each one (a typo in an object ID or UPN?).
  returned: when an exclude entry names no user
  type: list
  elements: str
  sample: [breakglass-typo@contoso.com]
skipped_count:
  description: With O(users) or O(groups), how many distinct users were skipped (already revoked, or excluded).
  returned: with O(users) or O(groups)
  type: int
  sample: 3
verified_count:
  description: With O(users) or O(groups), how many distinct users passed O(verify).
  returned: with O(users) or O(groups)
  type: int
  sample: 2497
report_path:
  description: The report file written, when O(report_path) is set.
  returned: with O(report_path), when the report was written
  type: str
  sample: /var/lib/awx/incidents/INC-4711-revocations.json
report_error:
  description:
    - Why the report could not be written to O(report_path) (the task fails; every user's outcome is still in
      RV(results)).
  returned: when the report could not be written
  type: str
  sample: "The report could not be written to /srv/records/INC-4711.csv (FileNotFoundError: ...); every user's
    outcome is in this task's result, and the file may still hold the run's journal."
interrupted:
  description:
    - Why the run stopped before its end - V(interrupted by SIGINT), V(interrupted by SIGTERM), or ansible-playbook
      gone. Nothing more was sent after it; the task fails. Found in the report, since Ansible no longer shows the
      task's result by then.
  returned: when the run was interrupted
  type: str
  sample: interrupted by SIGTERM
revoked_count:
  description: With O(users), how many distinct users were revoked (outcome V(revoked)).
  returned: with O(users)
  type: int
  sample: 998
failed_count:
  description: With O(users), how many distinct users failed (outcome V(failed)).
  returned: with O(users)
  type: int
  sample: 1
unknown_count:
  description: With O(users), how many distinct users have an unknown outcome (answer lost or unreadable).
  returned: with O(users)
  type: int
  sample: 1
failed_users:
  description: With O(users), the users (as given) whose outcome is V(failed), in input order.
  returned: with O(users)
  type: list
  elements: str
  sample: [ghost@contoso.com]
unknown_users:
  description:
    - With O(users), the users (as given) whose outcome is V(unknown), in input order.
    - Their revoke may have been carried out; run the task again for them.
  returned: with O(users)
  type: list
  elements: str
  sample: [megan@contoso.com]
batches:
  description: With O(users), how many C($batch) calls were made, retries included.
  returned: with O(users)
  type: int
  sample: 50
retries:
  description: With O(users), how many requests or items were sent again after 429, 503, 504 or a network error.
  returned: with O(users)
  type: int
  sample: 0
elapsed_s:
  description: With O(users), the seconds the run took, waits for Retry-After included.
  returned: with O(users)
  type: float
  sample: 1.42
error:
  description: Graph's or Entra ID's error code and message.
  returned: on failure
  type: dict
  sample: {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}
may_have_acted:
  description:
    - When no usable answer came (connection reset, read timeout, a body cut off), whether the request may still
      have been carried out (V(true)), or certainly never reached the service (V(false), for example a refused
      connection or an untrusted certificate). With V(true), run the task again; revoking again is harmless.
  returned: when the task failed without an answer
  type: bool
  sample: true
"""


from ansible_collections.o365.admin.plugins.module_utils._errors import O365AdminError, TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import STOP_GRACE_S
from ansible_collections.o365.admin.plugins.module_utils._graph_module import users_module
from ansible_collections.o365.admin.plugins.module_utils._interruption import Interruption
from ansible_collections.o365.admin.plugins.module_utils._report import Report
from ansible_collections.o365.admin.plugins.module_utils._revocation import error_row, run_many, run_one, write_report
from ansible_collections.o365.admin.plugins.module_utils._sessions_valid_from import parse_since


def save_report(report, result, failure):
    """Write the report; None, or why it could not be written (the results stay in the task's result)."""
    try:
        write_report(report, result, failure)
    except (IOError, OSError) as error:
        return ("The report could not be written to %s (%s: %s); every user's outcome is in this task's result%s."
                % (report.path, type(error).__name__, error,
                   ", and the file may still hold the run's journal" if result.get("results") else ""))
    return None


def run(module, client):
    # Everything the user typed is checked before any network call.
    since = parse_since(module.params["revoked_since"]) if module.params["revoked_since"] else None
    # The path is this run's from here on: another run's record there is refused, and the lock held to the end.
    report = Report.from_params(module.params, check_mode=module.check_mode)
    journal = report.journal() if report else None
    # SIGINT, SIGTERM or ansible-playbook gone: nothing more is sent, every user still gets an outcome.
    module.interruption = interruption = Interruption().install()
    try:
        return _run(module, client, report, since, journal, interruption)
    finally:
        interruption.restore()
        if journal is not None:
            journal.close()
        if report is not None:
            report.close()


def _run(module, client, report, since, journal, interruption):
    failure = None
    try:
        if module.params["user"] is not None:
            result = run_one(module, client, since, journal, interruption)
        else:
            result = run_many(module, client, since, journal, interruption)
    except TaskFailed as error:
        result, failure = error.result, error.message
    except O365AdminError as error:
        if report:
            problem = save_report(report, error_row(module.params["user"], error), error.message)
            if problem:
                error.message = "%s %s" % (error.message, problem.replace(
                    "every user's outcome is in this task's result", "nothing else was recorded"))
        raise
    if journal is not None and journal.problem:
        module.warn("The journal at %s stopped (%s): progress is no longer shown there; the final report is still "
                    "written at the end." % (report.path, journal.problem))
    if interruption.is_set():
        result["interrupted"] = interruption.reason
        failure = ("The run stopped (%s): no more requests were sent, answers in flight were waited for at most %d s, "
                   "and every user has an outcome (unknown: sent, answer not seen; failed: not sent). %s"
                   % (interruption.reason, STOP_GRACE_S, failure or "")).strip()
    if report:
        problem = save_report(report, result, failure)
        if problem:
            # The audit record asked for is missing: the task fails, with every outcome in its result.
            result["report_error"] = problem
            failure = "%s %s" % (failure, problem) if failure else problem
        else:
            result["report_path"] = report.path
    if failure is not None:
        raise TaskFailed(failure, result)
    if module.params["user"] is not None and "skipped" in result:
        # A top-level "skipped" is Ansible's own: it would mark the task skipped and callbacks would drop the reason.
        result["msg"] = "%s was not revoked: %s." % (result["user"], result.pop("skipped"))
    return result


def main():
    module = users_module(dict(
        verify=dict(type="bool", default=False),
        revoked_since=dict(type="str"),
        report_path=dict(type="path"),
        report_format=dict(type="str", choices=["json", "csv"]),
        report_replace=dict(type="bool", default=False),
    ))
    module.run_and_exit_stoppable(run)


if __name__ == "__main__":
    main()
