# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Containment (``o365_containment`` ``state: contained``): one pipeline, one token, for every user of the task.

Internal to this collection, may change without notice.

The stages, each one wave of batched requests over the users still in play, in this order:

1. resolve the targets (``_targets.resolve_targets``: users / groups minus exclude, max_users);
2. read each user once (``accountEnabled``, ``signInSessionsValidFromDateTime`` and Graph's ``Date``);
3. with ``revoked_since``, read again the users the first read shows already contained: a user is left alone
   only when two reads agree (Graph is eventually consistent; one read is not enough to skip a block);
4. the writes, in the order asked: block (``PATCH accountEnabled=false``) then revoke, or revoke, block and revoke
   again. The block is written whatever the read said (writing it again is harmless); the revoke goes to every
   user that was to be written, also when its block failed, since ending its sessions still helps;
5. verify: read ``signInSessionsValidFromDateTime`` back and judge it by Graph's clock
   (``_sessions_valid_from.verify_revoked``);
6. the record: one entry per user with what a release needs, written atomically (``ContainmentRecord``).

Every answer is judged by the rules of the other modules (``_outcomes.judge``): a write counts only on Graph's own
answer, a lost or unreadable answer is ``unknown``, a request never sent is ``failed``. A user is ``contained``
only when every step written for it was confirmed (and verified, with ``verify``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time
import uuid

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError, TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import checked_concurrency
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import Sender
from ansible_collections.o365.admin.plugins.module_utils._outcomes import (
    FAILED, UNKNOWN, judge, unreadable, write_answer)
from ansible_collections.o365.admin.plugins.module_utils._report import (
    WRITE_QUOTA, WRITE_QUOTA_WINDOW_S, Report, quota_time_s, write_atomically)
from ansible_collections.o365.admin.plugins.module_utils._revocation import REVOKED, explain_refusal, revoke_answer
from ansible_collections.o365.admin.plugins.module_utils._sessions_valid_from import (
    Reading, format_time, read_many, utc_now, verify_revoked)
from ansible_collections.o365.admin.plugins.module_utils._sign_in_state import (
    STATE_PROPERTIES, SignInChange, explain_change_failure)
from ansible_collections.o365.admin.plugins.module_utils._targets import EmptyScope, resolve_targets
from ansible_collections.o365.admin.plugins.module_utils._user_read import explain_read_failure, read_users_through

MODULE_NAME = "o365.admin.o365_containment"
RECORD_SCHEMA_VERSION = 1
RECORD_KIND = "containment"

# Per-user outcomes.
CONTAINED = "contained"
ALREADY_CONTAINED = "already_contained"
WOULD_CONTAIN = "would_contain"
EXCLUDED = "excluded"
ABSENT = "absent"
HELD_BY_BRAKE = "held"  # with the brake option: nothing written, the blast-radius brake holds (see _brake)
OUTCOMES = (CONTAINED, ALREADY_CONTAINED, WOULD_CONTAIN, EXCLUDED, ABSENT, HELD_BY_BRAKE, FAILED, UNKNOWN)

BLOCK = "block"
REVOKE = "revoke"
BLOCKED = "blocked"
ORDERS = {"block_then_revoke": (BLOCK, REVOKE),
          # Sessions issued between the first revoke and the block must not survive: revoke again after it.
          "revoke_then_block": (REVOKE, BLOCK, REVOKE)}

# The options of state=contained (documented in plugins/modules/o365_containment.py).
CONTAIN_OPTIONS = dict(
    incident=dict(type="str"),
    order=dict(type="str", choices=list(ORDERS), default="block_then_revoke"),
    block_sign_in=dict(type="bool", default=True),
    revoke_sessions=dict(type="bool", default=True),
    revoked_since=dict(type="str"),
    verify=dict(type="bool", default=True),
    absent_is_done=dict(type="bool", default=False),
    report_path=dict(type="path", aliases=["record_path"]),
    record_tenant=dict(type="str"),
    # An incident's containment waits on Graph's round trips, wave after wave: more calls in flight than the bulk
    # modules' 4 (the pacing still follows Graph's 429s).
    batch_concurrency=dict(type="int", default=16),
)
# A message names this many users per cause; the counts are exact.
LISTED = 5


def steps_for(params):
    """The writes each user gets, in order, from ``order``, ``block_sign_in`` and ``revoke_sessions``."""
    wanted = set()
    if params["block_sign_in"]:
        wanted.add(BLOCK)
    if params["revoke_sessions"]:
        wanted.add(REVOKE)
    if not wanted:
        raise ConfigurationError("block_sign_in and revoke_sessions are both false: there is nothing to contain.")
    steps = tuple(step for step in ORDERS[params["order"]] if step in wanted)
    # revoke_then_block without the block is one revoke, not two in a row.
    return tuple(step for index, step in enumerate(steps) if index == 0 or step != steps[index - 1])


def reading_of(read):
    """The sessions Reading carried by one UserRead (the same answer: no second request)."""
    answer = read.answer
    if read.found:
        return Reading(answer.status_code, answer.body, answer.request_id, date=getattr(answer, "date", None))
    error = answer.error
    if answer.ok:  # a 2xx that is not a JSON object: a proxy's page
        error = unreadable(answer, "the user as a JSON object")[1]
    return Reading(answer.status_code, None, answer.request_id, error)


class UserContainment:
    """One distinct user: what was read, each write's answer, the verification, and the outcome."""

    def __init__(self, target):
        self.target = target
        self.read = None          # UserRead of the first read
        self.reading = None       # its sessions Reading (the "before" of verify)
        self.confirmed = None     # the second read's UserRead, for a user the first read showed contained
        self.answers = []         # (step, BatchOutcome), in the order sent
        self.verdict = None
        self.skip = False         # two reads agree: already contained, nothing written
        self.read_failure = None  # why nothing was sent after the read (None: the read allows writing)
        self.absent = False       # with absent_is_done: two reads found no such user (a deleted leaver)

    @property
    def blind(self):
        """The app may not read users (403): the writes go out without reading, as they are safe to repeat."""
        return self.read is not None and not self.read.found and self.read.answer.status_code == 403

    @property
    def properties(self):
        return self.read.properties if self.read is not None and self.read.found else {}

    @property
    def before(self):
        return self.properties.get("account_enabled")

    def last_answer(self, step):
        sent = [answer for name, answer in self.answers if name == step]
        return sent[-1] if sent else None

    def judged(self, step):
        """(word, error) for the last write of ``step``: blocked | revoked | failed | unknown; (None, None) when
        nothing was sent for it."""
        answer = self.last_answer(step)
        if answer is None:
            return None, None
        return judge(answer, write_answer(BLOCKED) if step == BLOCK else revoke_answer)

    def step_outcome(self, step):
        return self.judged(step)[0]

    def step_error(self, step):
        return self.judged(step)[1]


def already_contained(read, steps, since):
    """Whether one read shows the containment asked for already in place: blocked (if blocking) and revoked at
    or after ``since`` (if revoking; without ``since`` nothing proves that, so the user is written)."""
    if read is None or not read.found:
        return False
    if BLOCK in steps and read.properties.get("account_enabled") is not False:
        return False
    if REVOKE in steps:
        if since is None:
            return False
        return reading_of(read).revoked_since(since)
    return True


class ContainmentRun:
    """One task's containment. ``run()`` returns the task's result (or raises TaskFailed with it)."""

    def __init__(self, module, client, since=None, journal=None, stop=None, run_id=None, clock=time.monotonic):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.since = since
        self.journal = journal
        self.clock = clock
        self.started = clock()
        self.run_id = run_id or str(uuid.uuid4())
        self.steps = steps_for(self.params)
        self.verify = bool(self.params["verify"]) and REVOKE in self.steps
        self.sender = Sender(client, checked_concurrency(self.params["batch_concurrency"]),
                             self.params["max_retries"], stop=stop)
        self.target_set = resolve_targets(client, self.params, send=self.sender)
        self.users = [UserContainment(target) for target in self.target_set.distinct()]
        self.refused = [UserContainment(target) for target in self.target_set.blocked()]

    # --- the stages -------------------------------------------------------------------------------------

    def run(self):
        return self.act(self.prepare())

    def prepare(self, admit=None):
        """The reads: every user's state, and the second reads that let a user be skipped. Returns the users to
        write, or None when ``admit(self)``, asked after the first read, says nobody may be written."""
        self._read()
        if admit is not None and not admit(self):
            return None
        self._confirm()
        self._confirm_absent()
        return [user for user in self.users if not user.skip and user.read_failure is None and not user.absent]

    @property
    def read_not_found(self):
        """Whether the first read found nobody (404) for some user."""
        return any(user.read is not None and user.read.not_found for user in self.users)

    def act(self, writing):
        """The writes (in the order asked) and the verification; the task's result."""
        self._start_journal(writing)
        if not self.check_mode:
            for step in self.steps:
                self._write(step, writing)
            if self.verify and not (self.sender.stop is not None and self.sender.stop.is_set()):
                # Interrupted: nothing more is sent, not even reads; Graph's answers to the writes stand.
                self._verify(writing)
        return self._result()

    def _read(self):
        reads = read_users_through(self.sender, [user.target.reference for user in self.users], STATE_PROPERTIES)
        for user, read in zip(self.users, reads):
            user.read = read
            user.reading = reading_of(read)
            if not read.found and not user.blind:
                if read.not_found:
                    user.read_failure = ("User %s was not found in the tenant: check the object ID or UPN (a guest's "
                                         "UPN carries #EXT#)." % user.target.user)
                elif read.answer.status_code is None and not read.answer.unknown:
                    user.read_failure = "Nothing was sent for %s: %s" % (user.target.user, read.answer.error["message"])
                else:
                    user.read_failure = explain_read_failure(read, user.target.user)
            elif user.blind and self.check_mode:
                # Check mode only reads: a user it cannot read cannot be previewed, and says so.
                user.read_failure = explain_read_failure(read, user.target.user)

    def _confirm(self):
        """A second read for the users the first shows already contained; they are skipped only if it agrees."""
        candidates = [user for user in self.users if already_contained(user.read, self.steps, self.since)]
        if not candidates:
            return
        reads = read_users_through(self.sender, [user.target.reference for user in candidates], STATE_PROPERTIES)
        for user, read in zip(candidates, reads):
            user.confirmed = read
            user.skip = already_contained(read, self.steps, self.since)

    def _confirm_absent(self):
        """With absent_is_done, a user read as not found is read again; two 404s make it ``absent`` (done, nothing
        written), so one stale answer of an eventually consistent directory never passes for a deleted user."""
        if not self.params.get("absent_is_done"):
            return
        candidates = [user for user in self.users if user.read is not None and user.read.not_found]
        if not candidates:
            return
        reads = read_users_through(self.sender, [user.target.reference for user in candidates], STATE_PROPERTIES)
        for user, read in zip(candidates, reads):
            if read.not_found:
                user.absent = True
                user.read_failure = None
            elif read.found:
                # The first answer was stale: the user is there, and is contained from this read.
                user.read, user.reading, user.read_failure = read, reading_of(read), None

    def _write(self, step, users):
        if step == BLOCK:
            requests = [("PATCH", user.target.reference.path(), {"accountEnabled": False}) for user in users]
        else:
            requests = [("POST", user.target.reference.path("/revokeSignInSessions")) for user in users]

        def known(index, outcome):  # the journal's line as each answer comes, so a killed run leaves it
            self._journal(users[index], step=step, step_outcome=judge(
                outcome, write_answer(BLOCKED) if step == BLOCK else revoke_answer)[0])

        def sending(indexes):  # before a call leaves: its users, so a kill -9 cannot lose a write Graph made
            self.journal.sending([dict(user=users[i].target.user,
                                       user_id=users[i].properties.get("id") or users[i].target.user_id,
                                       user_principal_name=users[i].target.user_principal_name) for i in indexes],
                                 "block sign-in" if step == BLOCK else "revokeSignInSessions", format_time(utc_now()))

        journal = self.journal is not None
        answers = self.sender(requests, on_outcome=known if journal else None, on_send=sending if journal else None)
        for user, answer in zip(users, answers):
            user.answers.append((step, answer))

    def _verify(self, users):
        revoked = [user for user in users if user.step_outcome(REVOKE) == REVOKED]
        if not revoked:
            return
        before = dict((user.target.reference, user.reading) for user in revoked if not user.blind)
        sent_after = dict((user.target.reference, getattr(user.last_answer(REVOKE), "graph_time_before", None))
                          for user in revoked)
        verdicts = verify_revoked(lambda references: read_many(self.sender, references),
                                  [user.target.reference for user in revoked], before, sent_after)
        for user in revoked:
            user.verdict = verdicts[user.target.reference]

    # --- outcomes ------------------------------------------------------------------------------------------

    def outcome(self, user):
        """(outcome, error) for one distinct user."""
        if user.target.refusal is not None:
            return FAILED, dict(user.target.refusal["error"])
        if user.read_failure is not None:
            return FAILED, dict(user.reading.error or {}, step="read", explanation=user.read_failure)
        if user.absent:
            return ABSENT, None
        if user.skip:
            return ALREADY_CONTAINED, None
        if self.check_mode:
            return WOULD_CONTAIN, None
        words = [(step, user.step_outcome(step), user.step_error(step)) for step in self.steps]
        for wanted in (FAILED, UNKNOWN):
            troubled = [(step, error) for step, word, error in words if word == wanted]
            if troubled:
                step, error = troubled[0]
                return wanted, self._explained(user, step, wanted, error)
        if user.verdict is not None and not user.verdict.verified:
            reading = user.verdict.reading
            if not reading.ok:
                return FAILED, dict(reading.error or {}, step="verify", message="Blocked and revoked (Graph "
                                    "confirmed both) but not verified: the read back failed: %s"
                                    % (reading.error or {}).get("message"))
            return FAILED, {"code": None, "step": "verify", "message": "Graph accepted the revoke, but "
                            "signInSessionsValidFromDateTime read back is %s, %s, after %d read(s)."
                            % (reading.text, user.verdict.reason, user.verdict.reads)}
        return CONTAINED, None

    def _explained(self, user, step, word, error):
        """The step's error with what it means and what to do, in the words of the module that owns the step."""
        error = dict(error or {})
        answer = user.last_answer(step)
        if step == BLOCK:
            change = SignInChange(user.target, user.read, "blocked")
            change.answer = answer
            error.update(step="block sign-in", explanation=explain_change_failure(change, self.block_proven))
        else:
            error.update(step="revoke sessions", explanation=explain_refusal(dict(
                user=user.target.user, error=error, status_code=answer.status_code, request_id=answer.request_id,
                outcome=word), False, granted=getattr(answer, "granted_roles", None)))
        return error

    @property
    def block_proven(self):
        """Graph accepted a block in this run: a 403 for another user is that user's (a sensitive action)."""
        return any(answer.ok for user in self.users for step, answer in user.answers if step == BLOCK)

    def entry(self, target, user):
        """One entry of results and of the record: what a release needs, for one target."""
        base = dict(user=target.user, user_id=target.user_id, user_principal_name=target.user_principal_name,
                    group=target.group, tenant=self.tenant, incident=self.params.get("incident"),
                    run_id=self.run_id)
        if user is None:  # excluded: never read, never written
            base.update(outcome=EXCLUDED, changed=False, account_enabled_before=None, account_enabled_after=None,
                        account_enabled_changed=False, sign_in_outcome=EXCLUDED, revoke_outcome=None,
                        sessions_valid_from_before=None, sessions_valid_from_after=None, revokes=0,
                        block_sign_in=dict(outcome=EXCLUDED, changed=False) if BLOCK in self.steps else None,
                        revoke_sessions=dict(outcome="skipped", skipped="excluded", changed=False)
                        if REVOKE in self.steps else None)
            return base
        word, error = self.outcome(user)
        properties = user.properties
        base["user_id"] = properties.get("id") or target.user_id
        base["user_principal_name"] = properties.get("user_principal_name") or target.user_principal_name
        block = user.step_outcome(BLOCK)
        revoke = user.step_outcome(REVOKE)
        if word == FAILED:
            # Never sent (unreadable, refused at resolution): each step asked for failed for this user.
            block = block or (FAILED if BLOCK in self.steps else None)
            revoke = revoke or (FAILED if REVOKE in self.steps else None)
        sessions_after = None
        if user.verdict is not None and user.verdict.reading.ok:
            sessions_after = user.verdict.reading.text
        elif word == ALREADY_CONTAINED or (self.check_mode and word == WOULD_CONTAIN):
            sessions_after = properties.get("sessions_valid_from")
        blocking = BLOCK in self.steps
        if self.check_mode:
            enabled_after = False if blocking and word in (WOULD_CONTAIN, ALREADY_CONTAINED) else user.before
        elif block == BLOCKED or (blocking and word == ALREADY_CONTAINED):
            enabled_after = False
        elif block == UNKNOWN:
            enabled_after = None
        else:
            enabled_after = user.before
        written = [answer for dummy, answer in user.answers]
        base.update(
            outcome=word,
            # A write whose answer was lost may have acted: never claim it did not.
            changed=None if word == UNKNOWN else (word == CONTAINED or word == WOULD_CONTAIN or any(
                answer.ok for answer in written)),
            account_enabled_before=user.before,
            account_enabled_after=enabled_after,
            # This run turned an enabled account off: the one fact a release acts on (null: the answer was lost).
            account_enabled_changed=None if block == UNKNOWN and not self.check_mode else (
                not self.check_mode and block == BLOCKED and user.before is True),
            sign_in_outcome=("would_block" if self.check_mode and word == WOULD_CONTAIN and BLOCK in self.steps
                             else ("unchanged" if word == ALREADY_CONTAINED and BLOCK in self.steps else block)),
            revoke_outcome=("would_revoke" if self.check_mode and word == WOULD_CONTAIN and REVOKE in self.steps
                            else ("skipped" if word == ALREADY_CONTAINED and REVOKE in self.steps else revoke)),
            revokes=sum(1 for step, dummy in user.answers if step == REVOKE),
            sessions_valid_from_before=properties.get("sessions_valid_from"),
            sessions_valid_from_after=sessions_after,
            on_premises_sync_enabled=properties.get("on_premises_sync_enabled"))
        if word == ABSENT:
            base["sign_in_outcome"] = ABSENT if BLOCK in self.steps else None
            base["revoke_outcome"] = "skipped" if REVOKE in self.steps else None
        if user.blind:
            base["state_read"] = False
        if user.verdict is not None:
            base.update(verified=user.verdict.verified, verify_reads=user.verdict.reads)
        last = written[-1] if written else (user.read.answer if user.read is not None else None)
        if last is not None:
            base.update(status_code=last.status_code, request_id=last.request_id)
        elif user.target.refusal is not None:
            base.update(status_code=user.target.refusal["status_code"], request_id=user.target.refusal["request_id"])
        if error is not None:
            base["error"] = error
        # Each step's own entry, as in schema 1 records written by the role before (readers look them up there).
        base["block_sign_in"] = self._step_entry(user, BLOCK, base["sign_in_outcome"]) if BLOCK in self.steps \
            else None
        base["revoke_sessions"] = self._step_entry(user, REVOKE, base["revoke_outcome"]) if REVOKE in self.steps \
            else None
        if base["revoke_sessions"] is not None:
            base["revoke_sessions"]["sessions_valid_from_before"] = base["sessions_valid_from_before"]
            base["revoke_sessions"]["sessions_valid_from"] = base["sessions_valid_from_after"]
            if user.verdict is not None:
                base["revoke_sessions"].update(verified=user.verdict.verified, verify_reads=user.verdict.reads)
        if base["block_sign_in"] is not None:
            base["block_sign_in"].update(account_enabled_before=user.before, account_enabled=base["account_enabled_after"])
        return base

    def _step_entry(self, user, step, word):
        answer = user.last_answer(step)
        done = (BLOCKED, REVOKED, "would_block", "would_revoke")
        entry = dict(outcome=word, changed=None if word == UNKNOWN else word in done,
                     status_code=answer.status_code if answer is not None else None,
                     request_id=answer.request_id if answer is not None else None)
        if word in (FAILED, UNKNOWN):
            entry["error"] = self._explained(user, step, word, user.step_error(step)) if answer is not None else \
                self.outcome(user)[1]
        return entry

    @property
    def tenant(self):
        return self.params.get("record_tenant") or self.params.get("tenant_id")

    def _result(self):
        by_identity = dict((self.target_set.identity(user.target), user) for user in self.users + self.refused)
        results, outcomes = [], {}
        recorded_at = format_time(utc_now())
        for target in self.target_set.targets:
            identity = self.target_set.identity(target)
            user = None if target.excluded else by_identity[identity]
            entry = self.entry(target, user)
            entry["time"] = recorded_at
            results.append(entry)
            outcomes.setdefault(identity, entry)
        distinct = list(outcomes.values())
        counts = dict(("%s_count" % word, sum(1 for e in distinct if e["outcome"] == word)) for word in OUTCOMES)
        stats = self.sender.stats()
        result = dict(
            state="contained", changed=any(e["changed"] is not False for e in distinct if e["outcome"] != EXCLUDED),
            run_id=self.run_id, incident=self.params.get("incident"), tenant=self.tenant,
            order=self.params["order"], write_order=list(self.steps), check_mode=self.check_mode,
            revoked_since=self.since.text if self.since is not None else None,
            results=results, verified_count=sum(1 for e in distinct if e.get("verified") is True),
            failed_users=list(dict.fromkeys(e["user"] for e in results if e["outcome"] == FAILED)),
            unknown_users=list(dict.fromkeys(e["user"] for e in results if e["outcome"] == UNKNOWN)),
            batches=stats["batches"], retries=stats["retries"],
            elapsed_s=round(self.clock() - self.started, 3))
        result.update(counts)
        # An exclude entry that names nobody protected nobody: warned, and kept in the result and the record.
        self.target_set.announce(self.module, result)
        if self.target_set.groups:
            result["resolved_groups"] = self.target_set.groups
        if self.module._diff:
            result["diff"] = [diff_entry(e, self.steps) for e in distinct
                              if e["outcome"] in (CONTAINED, WOULD_CONTAIN, UNKNOWN)]
        blind = [user.target.user for user in self.users if user.blind and not self.check_mode]
        if blind:
            self.module.warn("The app may not read users (User.Read.All), so %d user(s) were blocked and revoked "
                             "without reading their state first (%s); their record has no state before." % (
                                 len(blind), ", ".join(blind[:LISTED])))
        synced = [e["user"] for e in distinct if e.get("on_premises_sync_enabled") and e["outcome"] in (
            CONTAINED, WOULD_CONTAIN) and BLOCK in self.steps]
        if synced:
            self.module.warn("%s synced from on-premises Active Directory: the next Entra Connect sync writes the "
                             "on-premises state back over this block. Disable the on-premises account%s too."
                             % (", ".join(synced[:LISTED]), "" if len(synced) == 1 else "s"))
        return result

    # --- journal -------------------------------------------------------------------------------------------

    def _start_journal(self, writing):
        if self.journal is None:
            return
        writes = 0 if self.check_mode else len(writing) * len(self.steps)
        self.journal.start(MODULE_NAME, dict(
            run_id=self.run_id, incident=self.params.get("incident"), started_at=format_time(utc_now()),
            users=len(self.users), writes=writes, steps=list(self.steps),
            write_quota="%d writes per %d s (Graph's identity and access write limit, per app and tenant)"
                        % (WRITE_QUOTA, WRITE_QUOTA_WINDOW_S),
            least_time_s=quota_time_s(writes)))

    def _journal(self, user, **line):
        if self.journal is not None:
            self.journal.record(dict(user=user.target.user, user_id=user.properties.get("id") or user.target.user_id,
                                     run_id=self.run_id, time=format_time(utc_now()), **line))


def diff_entry(entry, steps):
    """--diff for one user: sign-in and the sessions timestamp, before and after."""
    name = entry["user"]

    def text(enabled, sessions):
        lines = []
        if BLOCK in steps:
            lines.append("account_enabled: %s" % ("unknown" if enabled is None else str(enabled).lower()))
        if REVOKE in steps:
            lines.append("sessions_valid_from: %s" % (sessions or "none"))
        return "\n".join(lines) + "\n"

    after_sessions = entry.get("sessions_valid_from_after")
    if after_sessions is None and REVOKE in steps:
        after_sessions = "now (revoked)" if entry["outcome"] != UNKNOWN else "unknown"
    return {"before_header": "%s (before)" % name, "after_header": "%s (after)" % name,
            "before": text(entry["account_enabled_before"], entry["sessions_valid_from_before"]),
            "after": text(entry["account_enabled_after"], after_sessions)}


# --- the summary line ------------------------------------------------------------------------------------------

def cause_of(entry):
    """What a failed or unknown user shares with others: the step, HTTP status and Graph's code (else message)."""
    error = entry.get("error") or {}
    status = entry.get("status_code")
    said = error.get("code") or error.get("message") or "no detail"
    return "%s: %s%s" % (error.get("step") or "read", "HTTP %s " % status if status is not None else "", said)


def listing(users):
    """The first LISTED users, and how many more."""
    return ", ".join(users[:LISTED]) + (" and %d more" % (len(users) - LISTED) if len(users) > LISTED else "")


def summary_line(result, record_path=None):
    """One line: the count per outcome (would-be counts in check mode), each shared cause once with its users
    counted, and where the record is."""
    words = [word for word in OUTCOMES if result.get("%s_count" % word)]
    counts = ", ".join("%s %d" % (word, result["%s_count" % word]) for word in words) or "nobody in scope"
    parts = ["%s%s." % ("Check mode (nothing written): " if result.get("check_mode") else "Containment: ", counts)]
    if result.get("check_mode"):
        # Who, on screen: a dry run is read by a person deciding whether to go on.
        would = []
        for entry in result["results"]:
            if entry["outcome"] == WOULD_CONTAIN and entry["user"] not in would:
                would.append(entry["user"])
        if would:
            parts.append("Would %s: %s." % (" and ".join(result.get("write_order") or ["contain"]), listing(would)))
    for word in (FAILED, UNKNOWN):
        by_cause = {}
        seen = set()
        for entry in result["results"]:
            if entry["outcome"] == word and entry["user"] not in seen:
                seen.add(entry["user"])
                by_cause.setdefault(cause_of(entry), []).append(entry["user"])
        for cause, users in sorted(by_cause.items(), key=lambda item: -len(item[1])):
            parts.append("%s (%s): %d user(s): %s." % (word.capitalize(), cause, len(users), listing(users)))
    if result.get(UNKNOWN + "_count"):
        parts.append("An unknown outcome may have acted; running the task again is safe.")
    if record_path:
        parts.append("Record: %s." % record_path)
    return " ".join(parts)


# --- the record ------------------------------------------------------------------------------------------------

def record_document(result, failure=None):
    """The containment record (schema 1, kind containment): what release_user reads, one entry per user."""
    return {
        "schema_version": RECORD_SCHEMA_VERSION, "kind": RECORD_KIND, "module": MODULE_NAME,
        "run_id": result.get("run_id"), "incident": result.get("incident"),
        "tenants": [{"tenant": result.get("tenant"), "failed": failure is not None, "msg": failure}],
        "generated_at": format_time(utc_now().replace(microsecond=0)),
        "check_mode": bool(result.get("check_mode")), "order": result.get("order"),
        "write_order": result.get("write_order"), "steps": schema1_steps(result),
        "revoked_since": result.get("revoked_since"),
        "failed": failure is not None, "msg": failure,
        "summary": dict((name, result[name]) for name in result if name.endswith("_count") or name in (
            "batches", "retries", "elapsed_s", "failed_users", "unknown_users", "interrupted", "exclude_not_found")),
        "users": result.get("results", []),
    }


def schema1_steps(result):
    """The record's ``steps``: each step's summary, in the shape schema 1 gives it."""
    order = result.get("write_order") or []
    users = dict((e.get("user_id") or e["user"], e) for e in result.get("results", []))
    entries = list(users.values())

    def failed(key):
        return any((e.get(key) or {}).get("outcome") in (FAILED, UNKNOWN) for e in entries)

    return {
        "block_sign_in": {
            "run": BLOCK in order, "failed": failed("block_sign_in"),
            "msg": None,  # the record's msg says why, once
            "changed_count": sum(1 for e in entries if (e.get("block_sign_in") or {}).get("changed") is True)},
        "revoke_sessions": {
            "run": REVOKE in order, "failed": failed("revoke_sessions"),
            "msg": None,
            "revoked_count": sum(1 for e in entries if e.get("revoke_outcome") == REVOKED),
            "skipped_count": sum(1 for e in entries if e.get("revoke_outcome") == "skipped"),
            "verified_count": sum(1 for e in entries if e.get("verified") is True)}}


class ContainmentRecord(Report):
    """The containment record at ``report_path``. Path checks, the run's claim on the path (lock, never replacing
    another run's record) and the atomic 0600 write are _report's; the document is the record's own shape
    (record_document)."""

    def __init__(self, path, incident=None, replace=False, check_mode=False):
        super(ContainmentRecord, self).__init__(path, "json", incident=incident, replace=replace,
                                                check_mode=check_mode)

    def write_record(self, document):
        write_atomically(self.path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def record_from_params(params, check_mode=False):
    if not params.get("report_path"):
        return None
    return ContainmentRecord(params["report_path"], incident=params.get("incident"),
                             replace=bool(params.get("report_replace")), check_mode=check_mode)


def run_wide_cause(client):
    """The message of a failure common to every request of the run (the token, the proxy), or None."""
    transport = getattr(client, "transport", None)
    token_source = getattr(client, "token_source", None)
    cause = getattr(transport, "proxy_failure", None) or getattr(token_source, "failure", None)
    return getattr(cause, "message", None) if cause is not None else None


def contain(module, client, since=None, journal=None, stop=None, record=None, brake=None, run_id=None):
    """state=contained: the whole pipeline, the record, and the one-line msg. Raises TaskFailed when any user is
    failed or unknown, or the run was interrupted (every user's outcome is still in the result and the record).

    With an event (``brake``, a _brake.Brake), its user is decided between the first read and the first write (the
    ledger's brake, when there is one), and the slot it took is closed with the outcome after the record is
    written. An unexpected fault leaves the slot started: the next event for the user resumes it."""
    # The record's run ID is the run's: one ID in the record, its journal, every user and the ledger.
    run_id = record.run_id if record is not None else run_id
    if brake is not None and brake.event_deleted:
        return brake.skip_deleted_event().not_contained(run_id)
    try:
        run = ContainmentRun(module, client, since, journal, stop, run_id=run_id)
    except EmptyScope:
        if brake is None:
            raise
        return brake.skip_excluded().not_contained(run_id)
    writing = run.prepare(None if brake is None else (
        lambda read_run: brake.judge(read_run.target_set, read_run.read_not_found).contain))
    if writing is None:
        return brake.not_contained(run_id)
    return _contain(module, client, run, writing, stop, record, brake)


def _contain(module, client, run, writing, stop, record, brake):
    result = run.act(writing)
    failed = bool(result["failed_count"] or result["unknown_count"])
    prefix = ""
    interrupted = stop is not None and stop.is_set()
    if interrupted:
        result["interrupted"] = stop.reason
        prefix = "The run stopped (%s): nothing more was sent. " % stop.reason
        failed = True
    message = prefix + summary_line(result, record.path if record is not None else None)
    cause = run_wide_cause(client)
    if cause is not None:
        # No token, or the proxy wants credentials: that one cause leads (the module says it alone in the end).
        message = "%s %s" % (cause, message)
    document = record_document(result, message if failed else None)
    # The role hands the record on (fact, artifact) from here. Its users are the results: returned once, not twice
    # (a 1,000-user result is megabytes that Ansible copies and scans).
    result["record"] = dict((key, value) for key, value in document.items() if key != "users")
    if record is not None:
        try:
            record.write_record(document)
            result["record_path"] = record.path
        except (IOError, OSError) as error:
            result["record_error"] = ("The record could not be written to %s (%s: %s); every user's outcome is in "
                                      "this task's result." % (record.path, type(error).__name__, error))
            message = "%s%s %s" % (prefix, summary_line(result), result["record_error"])
            failed = True
    if brake is not None:
        message, failed = close_slot(brake, result, message, failed, interrupted)
    if failed:
        # The message goes as the failure's msg; a msg key in the result would override a run-wide cause (no token).
        raise TaskFailed(message, result)
    result["msg"] = message
    return result


def close_slot(brake, result, message, failed, interrupted):
    """Close the brake's slot with the containment's outcome; (message, failed) as they are then. A run stopped by
    a signal leaves it started: the next event for the user resumes it."""
    if not interrupted:
        try:
            brake.finish("failed" if failed else "contained", message if failed else None, result.get("record_path"))
        except (IOError, OSError, ConfigurationError) as error:
            result["brake_error"] = ("The containment could not be closed in the ledger (%s: %s): the event stays "
                                     "unacknowledged, and the next run for the user resumes it." % (
                                         type(error).__name__, error))
            message, failed = "%s %s" % (message, result["brake_error"]), True
    if brake.ledger is not None:
        result["brake"] = brake.result()
    return message, failed
