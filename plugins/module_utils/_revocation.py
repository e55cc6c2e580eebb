# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Revoking users' sign-in sessions (``POST /users/{id | userPrincipalName}/revokeSignInSessions``) for one user
or many, down one path: resolve the targets, read what ``revoked_since`` needs, decide, write (or, in check mode,
read), verify, and shape each user's outcome, the summary and the report rows of o365_revoke_sessions.

A single ``user`` is a run over one target; its entry becomes the task's result. A lone request goes straight to
Graph, several through $batch (``_graph_requests.Sender``); either way each answer is judged by the same rule:
a revoke is confirmed only by Graph's own answer (``{"value": true}``, or the documented empty 2xx), anything else
after sending is ``unknown``, and a request known not to have been sent is ``failed``. A follow-up read that fails
(verify) never rewrites what Graph already confirmed.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.o365.admin.plugins.module_utils._errors import TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import checked_concurrency
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import Sender
from ansible_collections.o365.admin.plugins.module_utils._outcomes import (
    FAILED, UNKNOWN, base_entry, failure_message, judge, summarise, unreadable)
from ansible_collections.o365.admin.plugins.module_utils._permissions import permission_sentence
from ansible_collections.o365.admin.plugins.module_utils._report import (
    WRITE_QUOTA, WRITE_QUOTA_WINDOW_S, quota_time_s)
from ansible_collections.o365.admin.plugins.module_utils._sessions_valid_from import (
    VERIFY_REREAD_DELAYS_S, describe_read_failure, format_time, graph_clock, read_many, utc_now, verify_revoked)
from ansible_collections.o365.admin.plugins.module_utils._targets import resolve_targets
from ansible_collections.o365.admin.plugins.module_utils._user_read import READ_PERMISSION

MODULE_NAME = "o365.admin.o365_revoke_sessions"
REVOKE_PERMISSION = "User.RevokeSessions.All"
SELECT_FOR_CHECK = "id,userPrincipalName"
REVOKED = "revoked"
WOULD_REVOKE = "would_revoke"
SKIPPED = "skipped"
NOT_FOUND_HINT = "check the object ID or UPN (a guest's UPN carries #EXT#)"


def explain_refusal(entry, check_mode, said=None, granted=None):
    """What Graph's refusal (or a lost answer) for one user means, and what to do: the single-user message.
    ``said``: the fullest account of Graph's answer (the typed error's message), else the entry's error;
    ``granted``: the application permissions the refused token holds (None: it cannot tell)."""
    user, error, status = entry["user"], entry.get("error") or {}, entry.get("status_code")
    if said is None:
        said = error.get("message") or ""
        if entry.get("request_id"):
            said += " (request-id %s)" % entry["request_id"]
    if entry["outcome"] == UNKNOWN and check_mode:
        return "%s could not be confirmed: %s" % (user, said)
    if entry["outcome"] == UNKNOWN:
        return ("The revoke for %s is not confirmed: %s Graph may have revoked the sessions; running the task again "
                "is safe." % (user, said))
    permission = READ_PERMISSION if check_mode else REVOKE_PERMISSION
    told = permission_sentence(permission, granted) if status == 403 else None
    if told:  # the token in hand says what the app holds
        return "The app is not allowed to do this for %s. %s. %s" % (user, told, said)
    if status == 403:
        return ("The app is not allowed to do this for %s. Grant it the Microsoft Graph application permission %s "
                "(type Application, not Delegated) and have an administrator grant admin consent; for a delegated "
                "access_token, the signed-in user also needs a role such as User Administrator. %s"
                % (user, permission, said))
    if status == 404:
        return "User %s was not found in the tenant: %s. %s" % (user, NOT_FOUND_HINT, said)
    return "%s was not %s: %s" % (user, "confirmed" if check_mode else "revoked", said)


def warn_about_guests(module, targets):
    guests = [target.user for target in targets if target.is_guest]
    if guests:
        listed = ", ".join(guests[:10]) + (" and %d more" % (len(guests) - 10) if len(guests) > 10 else "")
        module.warn("%d B2B guest%s (%s): Graph revokes the sessions issued by this tenant only, not those at the "
                    "guest's home tenant." % (len(guests), "" if len(guests) == 1 else "s", listed))


def revoke_answer(outcome):
    """A 2xx to a revoke: Graph's Boolean, or the documented empty answer; anything else is not a revoke."""
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
    if isinstance(outcome.body, dict) and "error" not in outcome.body:
        return WOULD_REVOKE, None
    return unreadable(outcome, "the user as a JSON object")


def user_result(user, outcome, check_mode):
    """One entry of ``results`` from the outcome of the user's request (the revoke, or check mode's read)."""
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
    if word == UNKNOWN:
        # Sent, answer lost or unreadable: Graph may have revoked. Never reported as revoked, nor as not revoked.
        entry.update(changed=None, all_sessions_revoked=None)
    else:
        # value=false: sent and accepted (changed), but not confirmed.
        entry.update(changed=word == REVOKED or outcome.ok, all_sessions_revoked=word == REVOKED)
    return entry


def skipped_entry(user, reason):
    return dict(user=user, changed=False, all_sessions_revoked=None, status_code=None, request_id=None,
                outcome=SKIPPED, skipped=reason)


def refused_entry(target, check_mode):
    """A target nothing may be sent for (named nobody, or could not be told apart from an exclude)."""
    refusal = target.refusal
    return dict(user=target.user, changed=False, all_sessions_revoked=None if check_mode else False,
                status_code=refusal["status_code"], request_id=refusal["request_id"], outcome=FAILED,
                error=dict(refusal["error"]))


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
    """verify's Verdict into the user's entry: verified, or the user failed (with what was read, and why). A read
    that fails leaves Graph's confirmation of the revoke as it is: the user is revoked but not verified."""
    reading = verdict.reading
    entry["verify_reads"] = verdict.reads
    if not reading.ok:
        entry.update(verified=False, error=dict(reading.error or {}))
        entry["error"]["message"] = "Revoked (Graph confirmed it) but not verified: %s. %s" % (
            describe_read_failure(reading, "verify"), entry["error"].get("message") or "")
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


class RevocationRun:
    """One task's revocation, one user or many: every distinct directory object decided and written once."""

    def __init__(self, module, client, since, journal=None, stop=None):
        """``journal``: a _report.Journal told the plan and each outcome as it is known; ``stop``: the run's
        Interruption (anything with is_set()), after which nothing more is sent."""
        self.module = module
        self.journal = journal
        self.stop = stop
        self.check_mode = module.check_mode
        self.since = since
        params = module.params
        concurrency = checked_concurrency(params["batch_concurrency"]) if params.get("user") is None else \
            params["batch_concurrency"]
        # One user goes straight to Graph; a bulk run keeps $batch, also for a lone remaining request.
        self.client = client
        self.sender = Sender(client, concurrency, params["max_retries"],
                             lone_request_direct=params.get("user") is not None, stop=stop)
        self.target_set = resolve_targets(client, params, send=self.sender)
        self.entries = {}  # identity -> entry
        self.outcomes = {}  # identity -> the outcome of its request (its typed error, when sent alone)
        self.phase_failed = {"read": [], "verify": []}

    def identity(self, target):
        return self.target_set.identity(target)

    def granted_roles(self):
        """The application permissions of the token the run used (None when the token cannot tell)."""
        granted = getattr(self.client, "granted_roles", None)
        return granted() if granted is not None else None

    def run(self):
        distinct = self.target_set.distinct()
        warn_about_guests(self.module, distinct)
        for target in self.target_set.blocked():
            self.entries[self.identity(target)] = refused_entry(target, self.check_mode)
        readings = read_many(self.sender, [t.reference for t in distinct]) if self.since is not None else {}
        if readings:
            # A fixed revoked_since is judged by Graph's clock (the Date of these reads), before anything is written.
            self.since.check_not_future(graph_clock(readings.values()))
        to_send = []
        for target in distinct:
            reading = readings.get(target.reference)
            if reading is None:
                to_send.append(target)
            elif not reading.ok:
                self.entries[self.identity(target)] = read_failure_entry(target.user, reading, self.check_mode)
                self.phase_failed["read"].append(self.identity(target))
            elif reading.revoked_since(self.since):
                entry = skipped_entry(target.user, "already revoked at %s" % reading.text)
                record_reading(entry, reading, "sessions_valid_from_before")
                self.entries[self.identity(target)] = entry
            else:
                to_send.append(target)
        self._start_journal(distinct, to_send)
        self._send(to_send, readings)
        if self.module.params["verify"] and not self.check_mode and not self.stopped():
            self._verify(to_send)
        results = self._results()
        if self.check_mode and any(entry.get("user_confirmed") is False for entry in results):
            self.module.warn("Some users could not be confirmed: the app may not read users (needs %s). The revokes "
                             "would still be sent." % READ_PERMISSION)
        return results

    def stopped(self):
        return self.stop is not None and self.stop.is_set()

    def _start_journal(self, distinct, to_send):
        """The journal's first line, the plan; then the outcomes already known (refused, skipped, not readable)."""
        if self.journal is None:
            return
        writes = 0 if self.check_mode else len(to_send)
        self.journal.start(MODULE_NAME, dict(
            started_at=format_time(utc_now()), users=len(distinct), writes=writes,
            write_quota="%d writes per %d s (Graph's identity and access write limit, per app and tenant)"
                        % (WRITE_QUOTA, WRITE_QUOTA_WINDOW_S),
            least_time_s=quota_time_s(writes)))
        for target in distinct:
            if self.identity(target) in self.entries:
                self._journal(target, self.entries[self.identity(target)])

    def _journal(self, target, entry):
        if self.journal is not None:
            line = dict(entry, time=format_time(utc_now()))
            line.setdefault("user_id", target.user_id)
            line.setdefault("user_principal_name", target.user_principal_name)
            self.journal.record(line)

    def _journal_sending(self, targets, indexes):
        """Before a revoke call leaves: its users, in the journal (Journal.sending)."""
        if self.journal is not None and hasattr(self.journal, "sending"):
            self.journal.sending([dict(user=targets[i].user, user_id=targets[i].user_id,
                                       user_principal_name=targets[i].user_principal_name) for i in indexes],
                                 "revokeSignInSessions", format_time(utc_now()))

    def _send(self, to_send, readings):
        self.before = readings
        if self.module.params["verify"] and not self.check_mode and self.since is None and to_send:
            # What verify judges against: each user's timestamp and Graph's time (Date) before the revoke is sent.
            self.before = read_many(self.sender, [t.reference for t in to_send])
        if self.check_mode and self.since is None:
            requests = [("GET", "%s?$select=%s" % (t.reference.path(), SELECT_FOR_CHECK)) for t in to_send]
        elif self.check_mode:
            requests = []  # the read above confirmed each user
        else:
            requests = [("POST", t.reference.path("/revokeSignInSessions")) for t in to_send]

        def known(index, outcome):  # as each answer comes: the journal's line for the user
            self._journal(to_send[index], user_result(to_send[index].user, outcome, self.check_mode))

        sending = None
        if self.journal is not None and not self.check_mode:
            def sending(indexes):
                self._journal_sending(to_send, indexes)
        outcomes = self.sender(requests, on_outcome=known if self.journal is not None else None, on_send=sending)
        for target, outcome in zip(to_send, outcomes):
            self.entries[self.identity(target)] = user_result(target.user, outcome, self.check_mode)
            self.outcomes[self.identity(target)] = outcome
        for target in to_send[len(outcomes):]:  # check mode with revoked_since: read, not revoked since
            self.entries[self.identity(target)] = dict(
                user=target.user, outcome=WOULD_REVOKE, changed=True, all_sessions_revoked=None, status_code=None,
                request_id=readings[target.reference].request_id, user_confirmed=True)
        for target in to_send:
            reading = self.before.get(target.reference)
            if reading is not None and reading.ok:
                record_reading(self.entries[self.identity(target)], reading, "sessions_valid_from_before")

    def _verify(self, sent):
        revoked = [t for t in sent if self.entries[self.identity(t)]["outcome"] == REVOKED]
        if not revoked:
            return
        # Graph's time when each revoke went out, as far as the run knew it (the Date of the answers before it).
        sent_after = dict((t.reference, getattr(self.outcomes[self.identity(t)], "graph_time_before", None))
                          for t in revoked)
        verdicts = verify_revoked(lambda references: read_many(self.sender, references),
                                  [t.reference for t in revoked], self.before, sent_after)
        for target in revoked:
            if not apply_verification(self.entries[self.identity(target)], verdicts[target.reference]):
                self.phase_failed["verify"].append(self.identity(target))
            self._journal(target, self.entries[self.identity(target)])

    def _results(self):
        """One entry per reference given (and per group member), in order; duplicates share their user's entry."""
        recorded_at = format_time(utc_now())
        results = []
        for target in self.target_set.targets:
            if target.excluded:
                entry = skipped_entry(target.user, "excluded")
            else:
                entry = dict(self.entries[self.identity(target)], user=target.user)
            for name, value in target.describe().items():
                entry.setdefault(name, value)
            # Every entry names the directory object as far as it is known, so records join by object ID.
            entry.setdefault("user_id", target.user_id)
            entry.setdefault("user_principal_name", target.user_principal_name)
            entry["time"] = recorded_at
            results.append(entry)
        return results

    def identities(self):
        return [self.identity(target) for target in self.target_set.targets]

    def distinct_count(self, results, predicate):
        """How many distinct users (not entries: duplicates count once) have a result matching ``predicate``."""
        return len(set(identity for identity, entry in zip(self.identities(), results) if predicate(entry)))

    def failure_summary(self, results):
        """Why the run fails: the revokes (or check-mode reads), then revoked_since reads, then verification."""
        read_failed, verify_failed = set(self.phase_failed["read"]), set(self.phase_failed["verify"])
        pairs = list(zip(self.identities(), results))
        others = [e for i, e in pairs if i not in read_failed and i not in verify_failed]
        messages = []
        if any(e["outcome"] in (FAILED, UNKNOWN) for e in others):
            permission = READ_PERMISSION if self.check_mode else REVOKE_PERMISSION
            told = permission_sentence(permission, self.granted_roles())
            hints = {403: "%s." % told if told else "Grant the app the Microsoft Graph application permission %s "
                                                    "with admin consent." % permission,
                     404: "A user answered 404 is not in the tenant (a guest's UPN carries #EXT#)."}
            messages.append(failure_message(others, "confirmed" if self.check_mode else "revoked",
                                            "read them" if self.check_mode else "revoked them", hints))
        reads = [e for i, e in pairs if i in read_failed]
        if reads:
            messages.append("%d user(s) were not %s because revoked_since could not be checked: %s." % (
                len(reads), "confirmed" if self.check_mode else "revoked",
                "; ".join("%s (%s)" % (e["user"], e["error"]["message"]) for e in reads[:10])))
        verifies = [e for i, e in pairs if i in verify_failed]
        if verifies:
            messages.append(verification_message(verifies))
        return " ".join(messages)


def run_many(module, client, since, journal=None, stop=None):
    started = time.monotonic()
    revocation = RevocationRun(module, client, since, journal, stop)
    results = revocation.run()
    check_mode = module.check_mode
    # The users in scope (not excluded): each revoked now, or already revoked since revoked_since.
    in_scope = [entry for entry in results if entry.get("skipped") != "excluded"]
    stats = revocation.sender.stats()
    result = dict(
        # A revoke whose answer was lost may have been carried out: never claim nothing changed.
        changed=any(entry["changed"] is not False for entry in results),
        # Never true for a scope with nobody in it.
        all_sessions_revoked=None if check_mode else bool(in_scope) and all(
            e["outcome"] == REVOKED or e["outcome"] == SKIPPED for e in in_scope),
        results=results, batches=stats["batches"], retries=stats["retries"],
        elapsed_s=round(time.monotonic() - started, 3))
    result.update(summarise(results, revocation.identities(), REVOKED, "revoked_count"))
    result.update(skipped_count=revocation.distinct_count(results, lambda e: e["outcome"] == SKIPPED),
                  verified_count=revocation.distinct_count(results, lambda e: e.get("verified") is True))
    if revocation.target_set.groups:
        result["resolved_groups"] = revocation.target_set.groups
    revocation.target_set.announce(module, result)
    if result["failed_users"] or result["unknown_users"] or revocation.phase_failed["verify"]:
        raise TaskFailed(revocation.failure_summary(results), result)
    return result


def run_one(module, client, since, journal=None, stop=None):
    """One ``user``: a run over one target, whose entry becomes the result (no results list)."""
    revocation = RevocationRun(module, client, since, journal, stop)
    results = revocation.run()
    entry = dict(results[0])
    entry.pop("time", None)
    entry.pop("group", None)
    result = dict(entry, user=module.params["user"])
    revocation.target_set.announce(module, result)
    if "skipped" in result:
        return result
    if revocation.phase_failed["read"]:
        raise TaskFailed("%s was not %s: %s" % (result["user"], "confirmed" if module.check_mode else "revoked",
                                                result["error"]["message"]), result)
    if revocation.phase_failed["verify"]:
        raise TaskFailed("%s failed verification: %s" % (result["user"], result["error"]["message"]), result)
    if result["outcome"] == UNKNOWN:
        # It may have acted: the task's changed must not say it did not.
        result["changed"] = True
    if result["outcome"] in (FAILED, UNKNOWN):
        outcome = revocation.outcomes.get(revocation.identity(revocation.target_set.targets[0]))
        exception = getattr(outcome, "exception", None)
        said = None
        if exception is not None:
            # The typed error of the request sent alone: its message and details are the fullest account.
            for name, value in exception.details().items():
                result.setdefault(name, value)
            if outcome.reason:  # no answer from Graph at all
                raise TaskFailed("%s %s" % (exception.message, _single_hint(result)), result)
            said = exception.message
        raise TaskFailed(explain_refusal(result, module.check_mode, said, getattr(outcome, "granted_roles", None)),
                         result)
    return result


def _single_hint(result):
    if result["outcome"] == UNKNOWN:
        return "Graph may have revoked the sessions of %s; running the task again is safe." % result["user"]
    return "Nothing was sent for %s." % result["user"]


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
        "unknown_count", "failed_users", "unknown_users", "exclude_not_found", "resolved_groups", "batches", "retries", "elapsed_s",
        "interrupted")
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
