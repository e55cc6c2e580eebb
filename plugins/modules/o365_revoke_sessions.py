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
    Check mode also reads the user, which needs C(User.Read.All).
options:
  user:
    description:
      - The user, by object ID (a GUID) or by user principal name (UPN), for example V(adele@contoso.com).
      - "A UPN may only hold the characters C(A-Z a-z 0-9 ' . - _ ! # ^ ~) before its single C(@) (no accented
        characters), optionally after a leading C($), and a DNS domain after it. Anything else is rejected before
        any network call."
      - Give the UPN as it is; the module encodes it. A UPN that begins with C($) is addressed as
        C(/users('$name@domain')), and the C(#) of a B2B guest's C(#EXT#) is sent as C(%23).
      - Mutually exclusive with O(users); one of them is required.
    type: str
    aliases: [user_id, user_principal_name, upn]
  users:
    description:
      - Many users at once, each an object ID or a UPN as for O(user). Mutually exclusive with O(user).
      - Every reference is validated first; a single invalid one fails the task before any network call.
        Duplicates (compared without regard to case) are revoked once and reported for each occurrence.
      - The revokes go through Microsoft Graph JSON batching, 20 per call, O(batch_concurrency) calls at a time.
        Items Graph answers with 429, 503 or 504 are sent again in a later batch after their own C(Retry-After),
        within O(max_retries); items that succeeded are never sent again. Once Graph throttles, the module paces
        itself at the rate that was accepted before, instead of sending requests that would come back 429.
      - The task fails if any user failed or has an unknown outcome, and still returns every user's outcome in
        RV(results), in input order.
    type: list
    elements: str
  batch_concurrency:
    description:
      - With O(users), how many C($batch) calls (of up to 20 revokes each) are kept in flight. When one is answered,
        the next goes, so a slow call does not hold up the others.
    type: int
    default: 4
extends_documentation_fragment:
  - o365.admin.graph
  - o365.admin.graph.action_group
attributes:
  check_mode:
    support: full
    description:
      - No revoke is sent. The user is read (with O(users), every user, batched the same way) so that a wrong ID or
        UPN fails the dry run too; if the app may not read users, a warning says the user could not be confirmed.
  diff_mode:
    support: none
    description: There is nothing to compare; a revoke has no before and after that Graph shows.
notes:
  - External (B2B) guests sign in at their home tenant; Graph does not revoke those sessions. The module
    succeeds and warns.
  - A 2xx answer is a revoke only when it is Graph's answer, C(value) V(true), or empty as Microsoft's known-issues
    page describes. With O(users), any other 2xx gives the user the outcome V(unknown).
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
  returned: always
  type: bool
  sample: true
all_sessions_revoked:
  description:
    - Graph's answer (C(value)) to the revoke; V(true) when all the user's refresh tokens are revoked.
    - A 2xx answer without a body counts as V(true). A V(false) answer fails the task.
    - V(null) in check mode.
    - With O(users), whether every user was revoked.
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
  description: The user's object ID, when Graph told it (check mode reads it).
  returned: when known
  type: str
  sample: 6e7b768e-07e2-4810-8459-485f84f8f204
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
  description: With O(users), one entry per user given, in the order given (duplicates included).
  returned: with O(users)
  type: list
  elements: dict
  contains:
    user:
      description: The user as given.
      type: str
    changed:
      description: Whether this user's revoke was sent and accepted (check mode, would be sent); V(false) when the
        outcome is unknown.
      type: bool
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
          answer). It is not a failure to revoke, and running the task again is safe.
        - In check mode, V(would_revoke) for a user that was read (or that the app may not read), else V(failed)
          or V(unknown).
      type: str
      choices: [revoked, failed, unknown, would_revoke]
    error:
      description: Unless the outcome is V(revoked) or V(would_revoke), Graph's C(code) and C(message) for this user,
        or (C(code) V(null)) what happened instead.
      type: dict
  sample:
    - {user: adele@contoso.com, outcome: revoked, changed: true, all_sessions_revoked: true, status_code: 200,
       request_id: 1b2c-...}
    - {user: ghost@contoso.com, outcome: failed, changed: false, all_sessions_revoked: false, status_code: 404,
       request_id: 9d8e-..., error: {code: Request_ResourceNotFound, message: "Resource 'ghost@contoso.com' ..."}}
    - {user: megan@contoso.com, outcome: unknown, changed: false, all_sessions_revoked: null, status_code: null,
       request_id: null, error: {code: null, message: "The $batch call's answer was lost (...); the request may
       have acted; sending it again is safe."}}
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
"""

import time

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    ConfigurationError, GraphApiError, InvalidUserReference, TaskFailed)
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchRun
from ansible_collections.o365.admin.plugins.module_utils._graph_module import GraphModule
from ansible_collections.o365.admin.plugins.module_utils._outcomes import (
    FAILED, base_entry, failure_message, judge, summarise, unreadable)
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference

REVOKE_PERMISSION = "User.RevokeSessions.All"
READ_PERMISSION = "User.Read.All"
SELECT_FOR_CHECK = {"$select": "id,userPrincipalName"}
REVOKED = "revoked"
WOULD_REVOKE = "would_revoke"


def explain(error, reference, permission):
    """Prefix a Graph error with what it means for this user, and what to do about it."""
    if error.status_code == 403:
        error.message = (
            "The app is not allowed to do this for %s. Grant it the Microsoft Graph application permission %s "
            "(type Application, not Delegated) and have an administrator grant admin consent; for a delegated "
            "access_token, the signed-in user also needs a role such as User Administrator. %s"
            % (reference.value, permission, error.message))
    elif error.status_code == 404:
        error.message = (
            "User %s was not found in the tenant: check the object ID or UPN (a guest's UPN carries #EXT#). %s"
            % (reference.value, error.message))
    return error


def confirm_user(module, client, reference, result):
    """Check mode: read the user so a typo fails the dry run; a 403 only means the app may not read users."""
    try:
        response = client.request("GET", reference.path(), params=SELECT_FOR_CHECK)
    except GraphApiError as error:
        if error.status_code != 403:
            raise explain(error, reference, READ_PERMISSION)
        module.warn("Could not confirm that %s exists: the app may not read users (%s needs %s). The revoke would "
                    "still be sent." % (reference.value, error.code, READ_PERMISSION))
        result.update(user_confirmed=False, request_id=error.request_id)
        return
    result.update(user_confirmed=True, user_id=(response.body or {}).get("id"), request_id=response.request_id)


def revoke(client, reference, result):
    try:
        response = client.request("POST", reference.path("/revokeSignInSessions"))
    except GraphApiError as error:
        raise explain(error, reference, REVOKE_PERMISSION)
    body = response.body if isinstance(response.body, dict) else {}
    # Microsoft's known issue: the action may answer without a Boolean; any 2xx is success.
    revoked = body.get("value", True) is True
    result.update(changed=True, all_sessions_revoked=revoked, status_code=response.status_code,
                  request_id=response.request_id)
    if not revoked:
        # Graph accepted the call but said not all sessions were revoked: never report that as success.
        raise TaskFailed("Microsoft Graph accepted the revoke for %s but answered value=false: not all sessions are "
                         "confirmed revoked (request-id %s). Run the task again."
                         % (reference.value, result.get("request_id")), result)


def warn_about_guests(module, references):
    guests = [reference.value for reference in references if reference.is_external_guest]
    if guests:
        module.warn("%s %s B2B guest%s: Graph revokes the sessions issued by this tenant only, not those at the "
                    "guest's home tenant." % (", ".join(guests), "is a" if len(guests) == 1 else "are",
                                              "" if len(guests) == 1 else "s"))


def parse_all(users):
    """Every reference validated before any network call; all invalid ones named at once."""
    references, invalid = [], []
    for user in users:
        try:
            references.append(UserReference.parse(user))
        except InvalidUserReference as error:
            invalid.append(error)
    if len(invalid) == 1:
        raise invalid[0]
    if invalid:
        raise InvalidUserReference("%d invalid user references, nothing was sent: %s"
                                   % (len(invalid), " ".join(error.message for error in invalid)),
                                   [error.user for error in invalid])
    return references


def revoke_answer(outcome):
    """A 2xx to a revoke item: Graph's Boolean, or the documented empty answer; anything else is not a revoke."""
    body = outcome.body
    if body is None or body == "":
        return REVOKED, None  # Microsoft's known issue: the action may answer without a Boolean
    if isinstance(body, dict) and body.get("value") is True:
        return REVOKED, None
    if isinstance(body, dict) and body.get("value") is False:
        return FAILED, {"code": None, "message": "Graph accepted the revoke but answered value=false: not all "
                                                 "sessions are confirmed revoked."}
    return unreadable(outcome, "Graph's answer {\"value\": true}")


def read_answer(outcome):
    """A 2xx to a check-mode read: the user, as a JSON object."""
    if isinstance(outcome.body, dict):
        return WOULD_REVOKE, None
    return unreadable(outcome, "the user as a JSON object")


def user_result(user, outcome, check_mode):
    """One entry of ``results`` from the batch outcome of the user's reference."""
    if check_mode:
        word, error = judge(outcome, read_answer)
        if word == FAILED and outcome.status_code == 403:
            # A 403 on the read only means the app may not read users: the revoke would still be sent.
            word, error = WOULD_REVOKE, None
        entry = base_entry(user, word, error, outcome)
        entry.update(changed=word == WOULD_REVOKE, all_sessions_revoked=None)
        if word == WOULD_REVOKE:
            entry.update(status_code=None, user_confirmed=outcome.ok)
            if outcome.ok:
                entry["user_id"] = outcome.body.get("id")
        return entry
    word, error = judge(outcome, revoke_answer)
    entry = base_entry(user, word, error, outcome)
    # value=false: sent and accepted (changed), but not confirmed. Unknown: never reported as revoked or not.
    accepted = word == REVOKED or (word == FAILED and outcome.ok)
    entry.update(changed=accepted, all_sessions_revoked={REVOKED: True, FAILED: False}.get(word))
    return entry


def run_many(module, client):
    started = time.monotonic()
    if module.params["batch_concurrency"] < 1:
        raise ConfigurationError("batch_concurrency must be 1 or more, not %d." % module.params["batch_concurrency"])
    users = module.params["users"]
    references = parse_all(users)
    warn_about_guests(module, references)
    distinct = list(dict.fromkeys(references))  # duplicates are revoked once, in first-seen order
    if module.check_mode:
        requests = [("GET", "%s?$select=%s" % (r.path(), SELECT_FOR_CHECK["$select"])) for r in distinct]
    else:
        requests = [("POST", r.path("/revokeSignInSessions")) for r in distinct]
    batch = BatchRun(client, module.params["batch_concurrency"], module.params["max_retries"])
    outcomes = dict(zip(distinct, batch.run(requests)))
    results = [user_result(user, outcomes[reference], module.check_mode) for user, reference in zip(users, references)]
    if module.check_mode and any(entry.get("user_confirmed") is False for entry in results):
        module.warn("Some users could not be confirmed: the app may not read users (needs %s). The revokes would "
                    "still be sent." % READ_PERMISSION)
    stats = batch.stats()
    result = dict(
        changed=any(entry["changed"] for entry in results),
        all_sessions_revoked=None if module.check_mode else all(entry["outcome"] == REVOKED for entry in results),
        results=results, batches=stats["batches"], retries=stats["retries"],
        elapsed_s=round(time.monotonic() - started, 3))
    result.update(summarise(results, references, REVOKED, "revoked_count"))
    if result["failed_users"] or result["unknown_users"]:
        hints = {403: "Grant the app the Microsoft Graph application permission %s with admin consent."
                      % (READ_PERMISSION if module.check_mode else REVOKE_PERMISSION),
                 404: "A user answered 404 is not in the tenant (a guest's UPN carries #EXT#)."}
        raise TaskFailed(failure_message(results, "confirmed" if module.check_mode else "revoked",
                                         "read them" if module.check_mode else "revoked them", hints), result)
    return result


def run(module, client):
    if module.params["users"] is not None:
        return run_many(module, client)
    reference = UserReference.parse(module.params["user"])
    result = dict(changed=False, user=module.params["user"], all_sessions_revoked=None, status_code=None,
                  request_id=None)
    warn_about_guests(module, [reference])
    if module.check_mode:
        confirm_user(module, client, reference, result)
        result["changed"] = True
        return result
    revoke(client, reference, result)
    return result


def main():
    module = GraphModule(
        argument_spec=dict(
            user=dict(type="str", aliases=["user_id", "user_principal_name", "upn"]),
            users=dict(type="list", elements="str"),
            batch_concurrency=dict(type="int", default=4),
        ),
        mutually_exclusive=[("user", "users")],
        required_one_of=[("user", "users")],
        supports_check_mode=True,
    )
    module.run_and_exit(run)


if __name__ == "__main__":
    main()
