# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Revoking users' sign-in sessions (``POST /users/{id | userPrincipalName}/revokeSignInSessions``): one user
straight to Graph, many through $batch; check mode, ``revoked_since`` and ``verify`` reads; each user's outcome,
the summary and the report rows of o365_revoke_sessions.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.o365.admin.plugins.module_utils._errors import GraphApiError, TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchRun, checked_concurrency
from ansible_collections.o365.admin.plugins.module_utils._graph_client import error_envelope
from ansible_collections.o365.admin.plugins.module_utils._outcomes import (
    FAILED, UNKNOWN, base_entry, failure_message, judge, summarise, unreadable)
from ansible_collections.o365.admin.plugins.module_utils._sessions_valid_from import (
    VERIFY_REREAD_DELAYS_S, describe_read_failure, format_time, read_many, read_one, utc_now, verify_revoked)
from ansible_collections.o365.admin.plugins.module_utils._targets import resolve_targets
from ansible_collections.o365.admin.plugins.module_utils._user_read import READ_PERMISSION

MODULE_NAME = "o365.admin.o365_revoke_sessions"
REVOKE_PERMISSION = "User.RevokeSessions.All"
SELECT_FOR_CHECK = {"$select": "id,userPrincipalName"}
REVOKED = "revoked"
WOULD_REVOKE = "would_revoke"
SKIPPED = "skipped"


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
    if not isinstance(response.body, dict):
        # A proxy's page in a 200 is not Graph saying the user exists: the dry run must not pass on it.
        result.update(user_confirmed=False, status_code=response.status_code, request_id=response.request_id)
        raise TaskFailed("%s could not be confirmed: HTTP %s came back without Graph's answer (%s). A proxy or "
                         "gateway may have answered instead of Graph (check HTTPS_PROXY, NO_PROXY and "
                         "graph_endpoint)." % (reference.value, response.status_code, response.received), result)
    result.update(user_confirmed=True, user_id=response.body.get("id"), request_id=response.request_id)


def revoke(client, reference, result):
    try:
        response = client.request("POST", reference.path("/revokeSignInSessions"))
    except GraphApiError as error:
        raise explain(error, reference, REVOKE_PERMISSION)
    body = response.body
    result.update(status_code=response.status_code, request_id=response.request_id)
    # Graph answers {"value": true}; Microsoft's known issue lets it answer 204 or an empty 2xx instead.
    empty_success = response.status_code == 204 or not response.has_body
    if not empty_success and not (isinstance(body, dict) and isinstance(body.get("value"), bool)):
        # An HTML page from a proxy, Graph's error envelope, JSON without value: not Graph saying it revoked.
        code, graph_message, dummy = error_envelope(body)
        result.update(changed=False, all_sessions_revoked=False,
                      error={"code": code, "message": graph_message or "not Graph's answer: %s" % response.received})
        raise TaskFailed("The revoke for %s is not confirmed: HTTP %s came back without Graph's answer (%s). A proxy "
                         "or gateway may have answered instead of Graph (check HTTPS_PROXY, NO_PROXY and "
                         "graph_endpoint); run the task again." % (reference.value, response.status_code,
                                                                   response.received), result)
    revoked = empty_success or body["value"] is True
    result.update(changed=True, all_sessions_revoked=revoked)
    if not revoked:
        # Graph accepted the call but said not all sessions were revoked: never report that as success.
        raise TaskFailed("Microsoft Graph accepted the revoke for %s but answered value=false: not all sessions are "
                         "confirmed revoked (request-id %s). Run the task again."
                         % (reference.value, result.get("request_id")), result)


def warn_about_guests(module, targets):
    guests = [target.user for target in targets if target.is_guest]
    if guests:
        listed = ", ".join(guests[:10]) + (" and %d more" % (len(guests) - 10) if len(guests) > 10 else "")
        module.warn("%d B2B guest%s (%s): Graph revokes the sessions issued by this tenant only, not those at the "
                    "guest's home tenant." % (len(guests), "" if len(guests) == 1 else "s", listed))


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


def skipped_entry(user, reason):
    return dict(user=user, changed=False, all_sessions_revoked=None, status_code=None, request_id=None,
                outcome=SKIPPED, skipped=reason)


def read_failure_entry(user, reading, check_mode):
    """revoked_since could not be read: nothing is sent for this user."""
    entry = dict(user=user, changed=False, all_sessions_revoked=None if check_mode else False,
                 status_code=reading.status_code, request_id=reading.request_id, outcome=FAILED,
                 error=dict(reading.error or {}))
    entry["error"]["message"] = "Not revoked: %s. %s" % (describe_read_failure(reading, "revoked_since"),
                                                         entry["error"].get("message") or "")
    return entry


def record_reading(entry, reading, key):
    """The timestamp read, and the user's ID and UPN when the read told them."""
    entry[key] = reading.text
    if reading.user_id:
        entry.setdefault("user_id", reading.user_id)
    if reading.user_principal_name:
        entry.setdefault("user_principal_name", reading.user_principal_name)


def apply_verification(entry, verdict):
    """verify's Verdict into the user's entry: verified, or the user failed (with what was read, and why)."""
    reading = verdict.reading
    entry["verify_reads"] = verdict.reads
    if not reading.ok:
        entry.update(verified=False, error=dict(reading.error or {}))
        entry["error"]["message"] = "Revoke sent but not verified: %s. %s" % (
            describe_read_failure(reading, "verify"), entry["error"].get("message") or "")
        entry["outcome"] = FAILED
        return False
    record_reading(entry, reading, "sessions_valid_from")
    if verdict.verified:
        entry["verified"] = True
        return True
    entry.update(verified=False, all_sessions_revoked=False, outcome=FAILED, error={
        "code": None, "message": "Graph accepted the revoke, but signInSessionsValidFromDateTime read back is %s, "
                                 "%s, after %d read(s) over %g s: the sessions are not shown revoked."
                                 % (reading.text, verdict.reason, verdict.reads,
                                    sum(VERIFY_REREAD_DELAYS_S[:verdict.reads - 1]))})
    return False


def verification_message(failed):
    listed = "; ".join("%s: %s" % (e["user"], e["error"]["message"]) for e in failed[:10])
    more = " and %d more" % (len(failed) - 10) if len(failed) > 10 else ""
    return "%d user(s) failed verification: %s%s." % (len(failed), listed, more)


def distinct_count(target_set, results, predicate):
    """How many distinct users (not entries: duplicates count once) have a result matching ``predicate``."""
    return len(set(t.key for t, entry in zip(target_set.targets, results) if predicate(entry)))


def failure_summary(target_set, results, phase_failed, check_mode):
    """Why a bulk run fails: the revokes (or check-mode reads), then revoked_since reads, then verification."""
    failed_keys = set(phase_failed["read"]) | set(phase_failed["verify"])
    others = [e for t, e in zip(target_set.targets, results) if t.key not in failed_keys]
    messages = []
    if any(e["outcome"] in (FAILED, UNKNOWN) for e in others):
        hints = {403: "Grant the app the Microsoft Graph application permission %s with admin consent."
                      % (READ_PERMISSION if check_mode else REVOKE_PERMISSION),
                 404: "A user answered 404 is not in the tenant (a guest's UPN carries #EXT#)."}
        messages.append(failure_message(others, "confirmed" if check_mode else "revoked",
                                        "read them" if check_mode else "revoked them", hints))
    reads = [e for t, e in zip(target_set.targets, results) if t.key in phase_failed["read"]]
    if reads:
        messages.append("%d user(s) were not %s because revoked_since could not be checked: %s." % (
            len(reads), "confirmed" if check_mode else "revoked",
            "; ".join("%s (%s)" % (e["user"], e["error"]["message"]) for e in reads[:10])))
    verifies = [e for t, e in zip(target_set.targets, results) if t.key in phase_failed["verify"]]
    if verifies:
        messages.append(verification_message(verifies))
    return " ".join(messages)


def retries_of(runs, client):
    """Item retries of every batch run, plus the transport's own retries (which each run's stats include)."""
    transport_retries = client.transport.stats.retries
    return transport_retries + sum(run.stats()["retries"] - transport_retries for run in runs)


def run_many(module, client, since):
    started = time.monotonic()
    check_mode = module.check_mode
    concurrency = checked_concurrency(module.params["batch_concurrency"])
    target_set = resolve_targets(client, module.params)
    distinct = target_set.distinct()
    warn_about_guests(module, distinct)
    runs = []

    def batch():
        runs.append(BatchRun(client, concurrency, module.params["max_retries"]))
        return runs[-1]

    entries, to_send, phase_failed = {}, [], {"read": [], "verify": []}
    readings = read_many(batch(), [t.reference for t in distinct]) if since is not None else {}
    for target in distinct:
        reading = readings.get(target.reference)
        if reading is None:
            to_send.append(target)
        elif not reading.ok:
            entries[target.key] = read_failure_entry(target.user, reading, check_mode)
            phase_failed["read"].append(target.key)
        elif reading.revoked_since(since):
            entries[target.key] = skipped_entry(target.user, "already revoked at %s" % reading.text)
            record_reading(entries[target.key], reading, "sessions_valid_from_before")
        else:
            to_send.append(target)

    if check_mode and since is None:
        requests = [("GET", "%s?$select=%s" % (t.reference.path(), SELECT_FOR_CHECK["$select"])) for t in to_send]
    elif check_mode:
        requests = []  # the read above confirmed each user
    else:
        requests = [("POST", t.reference.path("/revokeSignInSessions")) for t in to_send]
    before = readings
    if module.params["verify"] and not check_mode and since is None and to_send:
        # What verify judges against: each user's timestamp and Graph's time (Date) before the revoke is sent.
        before = read_many(batch(), [t.reference for t in to_send])
    outcomes = batch().run(requests) if requests else []
    for target, outcome in zip(to_send, outcomes):
        entries[target.key] = user_result(target.user, outcome, check_mode)
    for target in to_send[len(outcomes):]:  # check mode with revoked_since: read, not revoked since
        entries[target.key] = dict(user=target.user, outcome=WOULD_REVOKE, changed=True, all_sessions_revoked=None,
                                   status_code=None, request_id=readings[target.reference].request_id,
                                   user_confirmed=True)
    for target in to_send:
        if target.reference in before and before[target.reference].ok:
            record_reading(entries[target.key], before[target.reference], "sessions_valid_from_before")

    if module.params["verify"] and not check_mode:
        revoked = [t for t in to_send if entries[t.key]["outcome"] == REVOKED]
        # Graph's time when each revoke went out, as far as the run knew it (the Date of the answers before it).
        sent_after = dict((t.reference, getattr(outcome, "graph_time_before", None))
                          for t, outcome in zip(to_send, outcomes))
        verdicts = verify_revoked(lambda references: read_many(batch(), references),
                                  [t.reference for t in revoked], before, sent_after) if revoked else {}
        for target in revoked:
            if not apply_verification(entries[target.key], verdicts[target.reference]):
                phase_failed["verify"].append(target.key)

    recorded_at = format_time(utc_now())
    results = []
    for target in target_set.targets:
        if target.excluded:
            entry = skipped_entry(target.user, "excluded")
        else:
            entry = dict(entries[target.key], user=target.user)
        for name, value in target.describe().items():
            entry.setdefault(name, value)
        entry["time"] = recorded_at
        results.append(entry)

    if check_mode and any(entry.get("user_confirmed") is False for entry in results):
        module.warn("Some users could not be confirmed: the app may not read users (needs %s). The revokes would "
                    "still be sent." % READ_PERMISSION)
    acted = [entry for entry in results if entry["outcome"] != SKIPPED]
    result = dict(
        changed=any(entry["changed"] for entry in results),
        all_sessions_revoked=None if check_mode else all(entry["outcome"] == REVOKED for entry in acted),
        results=results, batches=sum(run.stats()["batches"] for run in runs), retries=retries_of(runs, client),
        elapsed_s=round(time.monotonic() - started, 3))
    result.update(summarise(results, [t.key for t in target_set.targets], REVOKED, "revoked_count"))
    result.update(skipped_count=distinct_count(target_set, results, lambda e: e["outcome"] == SKIPPED),
                  verified_count=distinct_count(target_set, results, lambda e: e.get("verified") is True))
    if target_set.groups:
        result["resolved_groups"] = target_set.groups
    if result["failed_users"] or result["unknown_users"]:
        raise TaskFailed(failure_summary(target_set, results, phase_failed, check_mode), result)
    return result


def run_one(module, client, since):
    """One ``user``: the result's keys describe that user (no results list)."""
    target = resolve_targets(client, module.params).targets[0]
    result = dict(changed=False, user=module.params["user"], all_sessions_revoked=None, status_code=None,
                  request_id=None)
    if target.excluded:
        result.update(outcome="skipped", skipped="excluded")
        return result
    reference = target.reference
    warn_about_guests(module, [target])
    reading = None
    if since is not None:
        reading = read_one(client, reference)
        if not reading.ok:
            raise TaskFailed("%s was not %s: %s. %s" % (
                reference.value, "confirmed" if module.check_mode else "revoked",
                describe_read_failure(reading, "revoked_since"), (reading.error or {}).get("message") or ""),
                dict(result, status_code=reading.status_code, request_id=reading.request_id,
                     error=reading.error, outcome="failed"))
        record_reading(result, reading, "sessions_valid_from_before")
        result["request_id"] = reading.request_id
        if reading.revoked_since(since):
            result.update(outcome="skipped", skipped="already revoked at %s" % reading.text)
            return result
        if module.check_mode:
            result.update(changed=True, user_confirmed=True, outcome="would_revoke")
            return result
    elif module.check_mode:
        confirm_user(module, client, reference, result)
        result.update(changed=True, outcome="would_revoke")
        return result
    if module.params["verify"] and since is None:
        # What verify judges against: the timestamp and Graph's time (Date) before the revoke is sent.
        reading = read_one(client, reference)
        if reading.ok:
            record_reading(result, reading, "sessions_valid_from_before")
    revoke(client, reference, result)
    result["outcome"] = "revoked"
    if module.params["verify"]:
        verdict = verify_revoked(lambda references: dict((r, read_one(client, r)) for r in references),
                                 [reference], {reference: reading})[reference]
        if not apply_verification(result, verdict):
            raise TaskFailed("%s failed verification: %s" % (reference.value, result["error"]["message"]), result)
    return result


def single_entry(result):
    """The report row of a one-user run."""
    names = ("user", "user_id", "user_principal_name", "outcome", "changed", "all_sessions_revoked", "status_code",
             "request_id", "error", "skipped", "sessions_valid_from_before", "sessions_valid_from", "verified",
             "verify_reads", "user_confirmed")
    entry = dict((name, result[name]) for name in names if name in result)
    entry.setdefault("outcome", "failed" if "error" in result else "revoked")
    entry["time"] = format_time(utc_now())
    return entry


def summary_of(result):
    return dict((name, result[name]) for name in (
        "changed", "all_sessions_revoked", "revoked_count", "skipped_count", "verified_count", "failed_count",
        "unknown_count", "failed_users", "unknown_users", "resolved_groups", "batches", "retries", "elapsed_s")
        if name in result)


def write_report(report, result=None, failure=None):
    """The report for the outcome so far; a one-user run's result becomes its single row."""
    result = result or {}
    if "results" in result:
        results = result["results"]
    elif result.get("user") is not None:
        results = [single_entry(result)]
    else:
        results = []
    report.write(MODULE_NAME, format_time(utc_now()), results, summary_of(result), failure)


def error_row(user, error):
    """The report row of a one-user run that ended on an error; None for a bulk run (no user was reached)."""
    if user is None:
        return None
    lost = getattr(error, "may_have_acted", False)  # the revoke went out and its answer was lost
    return dict(user=user, changed=False, all_sessions_revoked=None if lost else False,
                outcome=UNKNOWN if lost else FAILED, status_code=getattr(error, "status_code", None),
                request_id=getattr(error, "request_id", None),
                error={"code": getattr(error, "code", None),
                       "message": getattr(error, "graph_message", None) or error.message})
