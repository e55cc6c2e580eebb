# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Proof that a containment held, from Entra ID's own logs: the directory audit entries of the revoke and the block,
the sign-ins after each user's cut-off, and a verdict per user.

Internal to this collection, may change without notice.

Reads go by time window, never per user: one paged query for the directory audits, one for the interactive sign-ins
(v1.0) and one for the non-interactive sign-ins (beta: v1.0 lists interactive sign-ins only), joined locally by object
ID or user principal name. Every page waits its turn in a ReportsPacer: Graph's reports limit is about 5 requests per
10 s per app and tenant (learn.microsoft.com/graph/throttling-limits, "Identity and access reports"), so 500 users
cost a handful of calls, not 1,500.

The verdict is a total function of what was read (judge): a success that a token from before the cut-off could
explain is ``suspect`` whatever else failed; a log that could not be read makes the rest ``unprovable`` (with the
reason and when to ask again), never "nothing happened".

Waiting (gather_until_settled) reads again only while some verdict can still change with time - logs not mature
yet, or a read that failed for a passing reason - and never past the wait given: a final verdict is not re-read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fcntl
import json
import os
import time
import uuid
from collections import deque

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    AuthenticationError, ConfigurationError, GraphApiError, GraphTransportError, O365AdminError)
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphClient
from ansible_collections.o365.admin.plugins.module_utils._graph_pages import TooManyPages, collection_pages
from ansible_collections.o365.admin.plugins.module_utils._report import write_atomically

REFUSED = "refused"
NO_ACTIVITY_YET = "no_activity_yet"
FRESH_STRONG_SIGN_IN = "fresh_strong_sign_in"
SUSPECT = "suspect"
UNPROVABLE = "unprovable"
VERDICTS = (REFUSED, NO_ACTIVITY_YET, FRESH_STRONG_SIGN_IN, SUSPECT, UNPROVABLE)
# What each verdict shows, said in the result and the proof record (docs/docsite/rst/proving_a_containment.rst).
PROVES = {
    REFUSED: "Entra refused at least one sign-in after the cut-off because of the containment, and no sign-in after "
             "it succeeded in the logs read.",
    NO_ACTIVITY_YET: "Nothing after the cut-off in the logs read: no proof either way yet (no client tried, or the "
                     "logs have not caught up).",
    FRESH_STRONG_SIGN_IN: "Someone signed in interactively after the cut-off (fresh credentials under the tenant's "
                          "sign-in policy, not an old refresh token); no old token was seen to succeed.",
    SUSPECT: "A sign-in after the cut-off succeeded without a fresh interactive sign-in before it: a token issued "
             "before the cut-off may still work. Investigate now.",
    UNPROVABLE: "The logs needed could not be read; nothing is proven.",
}
# Entra's error codes (login.microsoftonline.com/error): what a containment makes Entra answer.
REFUSAL_CODES = {50173: "grant revoked (token issued before the cut-off)", 50057: "user account disabled"}
REVOKE_ACTIVITIES = ("Update StsRefreshTokenValidFrom Timestamp", "Invalidate all refresh tokens for user")
BLOCK_ACTIVITIES = ("Disable account",)
REPORTS_LIMIT = 5
REPORTS_WINDOW_S = 10.0
PACING_MARGIN_S = 0.5
SIGN_IN_PAGE_SIZE = 1000
AUDIT_PAGE_SIZE = 999
# How long after an event its log entry can take: audit and interactive sign-ins 5 min (Microsoft's 99th
# percentile); non-interactive sign-ins about 30 min (observed by third parties; Microsoft states no figure).
MATURITY = {"audit": datetime.timedelta(minutes=5), "interactive": datetime.timedelta(minutes=5),
            "non_interactive": datetime.timedelta(minutes=30)}
NON_PREMIUM = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
AUDITS = "/auditLogs/directoryAudits"
SIGN_INS = "/auditLogs/signIns"
NON_INTERACTIVE_FILTER = "signInEventTypes/any(t: t eq 'nonInteractiveUser')"
PROOF_KIND = "containment_proof"
# Reasons a log read fails that a later read can cure. A missing licence or permission stays until someone acts, and
# too many entries only grows: waiting for those would spend the wait and prove nothing more.
PASSING_FAILURES = ("throttled", "unreachable", "graph_error", "unexpected_answer")
PASSING_AGAIN_AFTER = datetime.timedelta(minutes=1)
WAIT_MINUTES_MAX = 60
# While waiting, read again at least this often (a refusal can be logged long before the logs are mature: the 99th
# percentile is when they are, not when most entries arrive) and no more often than the floor (3 reports requests
# each time).
WAIT_POLL_S = 30.0
WAIT_FLOOR_S = 5.0


def parse_time(value):
    """An aware UTC datetime from Graph's DateTimeOffset text (fractions and offsets allowed), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    if "." in text:
        head, dummy, rest = text.partition(".")
        digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
        text = head + "." + (digits[:6] or "0") + rest[len(digits):]
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None  # a time without an offset cannot be placed against Graph's clock
    return when.astimezone(datetime.timezone.utc)


def graph_literal(when):
    """A $filter DateTimeOffset literal (whole seconds, rounded down so the window never starts late)."""
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso(when):
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


class ReportsPacer:
    """At most ``limit`` requests in any ``window_s`` seconds: ``wait()`` before each one (sliding window)."""

    def __init__(self, limit=REPORTS_LIMIT, window_s=REPORTS_WINDOW_S, clock=time.monotonic, sleep=time.sleep,
                 margin_s=PACING_MARGIN_S):
        self.limit = limit
        # Graph counts arrivals, not sends: a request can arrive sooner after its window's first one than it left.
        self.window_s = window_s + margin_s
        self.clock = clock
        self.sleep = sleep
        self.waited_s = 0.0
        self.calls = 0
        self._sent = deque()

    def wait(self):
        now = self.clock()
        while self._sent and now - self._sent[0] >= self.window_s:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            pause = self._sent[0] + self.window_s - now
            if pause > 0:
                self.sleep(pause)
                self.waited_s += pause
            self._sent.popleft()
        self._sent.append(self.clock())
        self.calls += 1


class Subject:
    """One user to prove: as given, its object ID and/or UPN, and its cut-off (Graph's time; None if unknown)."""

    def __init__(self, user, user_id=None, user_principal_name=None, cutoff=None, tenant=None):
        self.user = user
        self.user_id = user_id
        self.user_principal_name = user_principal_name
        self.cutoff = cutoff
        self.tenant = tenant  # as the record names it (a merged record of many tenants); None when not said

    def keys(self):
        return [key.lower() for key in (self.user_id, self.user_principal_name) if isinstance(key, str) and key]


def subject_for(user, cutoff):
    """A Subject from a user as given (object ID or UPN) and a cut-off."""
    text = str(user).strip()
    if "@" in text:
        return Subject(text, None, text, cutoff)
    return Subject(text, text, None, cutoff)


def subjects_from_record(document, fallback_cutoff=None):
    """The users of a containment record and each one's cut-off: the contain_user role's record (users[] with
    sessions_valid_from_after), or a module report such as o365_revoke_sessions' (results[] with
    sessions_valid_from). The cut-off is the user's signInSessionsValidFromDateTime read back after the revoke;
    without one, ``fallback_cutoff`` (may be None: that user is then unprovable)."""
    if not isinstance(document, dict):
        raise ConfigurationError("The containment record is not a JSON object.")
    if isinstance(document.get("users"), list):
        entries, key = document["users"], "sessions_valid_from_after"
    elif isinstance(document.get("results"), list):
        entries, key = document["results"], "sessions_valid_from"
    else:
        raise ConfigurationError("The file is not a containment record: it has neither users (the contain_user "
                                 "role's record) nor results (a module's report).")
    subjects, seen = [], set()
    for entry in entries:
        if not isinstance(entry, dict) or not (entry.get("user") or entry.get("user_id")
                                               or entry.get("user_principal_name")):
            continue
        revoke = entry.get("revoke_sessions") if isinstance(entry.get("revoke_sessions"), dict) else {}
        cutoff = parse_time(entry.get(key)) or parse_time(revoke.get("sessions_valid_from")) or fallback_cutoff
        subject = Subject(entry.get("user") or entry.get("user_principal_name") or entry.get("user_id"),
                          entry.get("user_id"), entry.get("user_principal_name"), cutoff, entry.get("tenant"))
        if not subject.keys():
            subject = subject_for(subject.user, cutoff)
            subject.tenant = entry.get("tenant")
        identity = tuple(subject.keys())
        if identity in seen:
            continue
        seen.add(identity)
        subjects.append(subject)
    return subjects


def read_record(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError) as error:
        raise ConfigurationError("record_path %s could not be read: %s." % (path, error))
    except ValueError as error:
        raise ConfigurationError("record_path %s is not JSON: %s." % (path, error))


class StreamRead:
    """One log read: its items, calls, Graph's clock at the last answer, or why it failed (a reason word)."""

    def __init__(self, name, api):
        self.name = name
        self.api = api
        self.items = []
        self.calls = 0
        self.pages = 0
        self.graph_time = None
        self.reason = None
        self.message = None

    @property
    def ok(self):
        return self.reason is None

    def as_dict(self):
        return {"api": self.api, "read": self.ok, "entries": len(self.items), "calls": self.calls,
                "pages": self.pages, "reason": self.reason, "message": self.message}


def failure_reason(error):
    """A reason word for a failed log read: no_licence, no_permission, throttled, unreachable, graph_error, no_token
    or unexpected_answer."""
    if isinstance(error, AuthenticationError):
        return "no_token"  # Entra ID refused the credentials: waiting will not change them
    if isinstance(error, GraphApiError):
        if error.status_code == 403 and error.code == NON_PREMIUM:
            return "no_licence"
        if error.status_code in (401, 403):
            return "no_permission"
        if error.status_code == 429:
            return "throttled"
        return "graph_error"
    if isinstance(error, GraphTransportError):
        return "unreachable"
    return "unexpected_answer"


def read_log(client, stream, path, params, pacer, max_pages=None):
    """Every page of one log query into ``stream`` (at most ``max_pages``: more is the failure
    ``too_many_entries``, never a partial read taken for a whole one); a failure is kept in it, never raised."""
    def before_request():
        pacer.wait()
        stream.calls += 1
    try:
        for response, values in collection_pages(client, path, "log entries (%s)" % path, params,
                                                 before_request=before_request, max_pages=max_pages):
            stream.pages += 1
            stream.graph_time = response.date or stream.graph_time
            stream.items.extend(item for item in values if isinstance(item, dict))
    except TooManyPages:
        stream.reason = "too_many_entries"
        stream.message = ("More than %d pages of entries since the earliest cut-off; prove fewer or more recent "
                          "containments per run, or raise max_pages." % max_pages)
    except O365AdminError as error:
        stream.reason = failure_reason(error)
        stream.message = error.message if hasattr(error, "message") else str(error)
    return stream


def beta_client(client):
    """A client for Graph's beta endpoint on the same transport and token (the beta is named in every result)."""
    endpoint = client.base_url.rsplit("/", 1)[0]
    return GraphClient(client.transport, endpoint, client.token_source, api_version="beta")


def sign_in_entry(item, api):
    """One sign-in, snake_case; ``api`` says which endpoint listed it (v1.0 or beta)."""
    status = item.get("status") if isinstance(item.get("status"), dict) else {}
    code = status.get("errorCode")
    interactive = item.get("isInteractive")
    types = item.get("signInEventTypes")
    if isinstance(types, list) and types:
        interactive = "interactiveUser" in types
    return {"time": item.get("createdDateTime"), "interactive": bool(interactive), "api": api,
            "error_code": code if isinstance(code, int) else None, "failure_reason": status.get("failureReason"),
            "app": item.get("appDisplayName"), "app_id": item.get("appId"), "ip_address": item.get("ipAddress"),
            "session_id": item.get("sessionId"), "authentication_requirement": item.get("authenticationRequirement"),
            "correlation_id": item.get("correlationId"), "id": item.get("id")}


def audit_entry(item):
    initiator = item.get("initiatedBy") if isinstance(item.get("initiatedBy"), dict) else {}
    app = initiator.get("app") if isinstance(initiator.get("app"), dict) else None
    user = initiator.get("user") if isinstance(initiator.get("user"), dict) else None
    if user:
        who, who_id = user.get("userPrincipalName") or user.get("displayName"), user.get("id")
    elif app:
        who, who_id = app.get("displayName") or app.get("servicePrincipalName"), app.get("appId")
    else:
        who = who_id = None
    return {"activity": item.get("activityDisplayName"), "time": item.get("activityDateTime"),
            "initiated_by": who, "initiated_by_id": who_id, "correlation_id": item.get("correlationId"),
            "result": item.get("result"), "id": item.get("id")}


def judge(cutoff, sign_ins, streams, now):
    """The verdict for one user: (verdict, reason, ask_again_after).

    ``sign_ins``: the user's entries at or after ``cutoff`` (sign_in_entry dicts); ``streams``: name -> StreamRead
    for each log read (interactive, and non_interactive unless it was not asked for); ``now``: Graph's clock.
    """
    if cutoff is None:
        return UNPROVABLE, "no_cutoff", None
    timed = sorted(((parse_time(s["time"]), s) for s in sign_ins if parse_time(s["time"])), key=lambda p: p[0])
    fresh = [(when, s) for when, s in timed if s["interactive"] and s["error_code"] == 0 and when >= cutoff]

    def explained(when, entry):
        # A refresh after a fresh interactive sign-in may use the new session's token; the same session when both
        # entries name one.
        return any(cutoff <= at <= when and (not other.get("session_id") or not entry.get("session_id")
                                             or other["session_id"] == entry["session_id"])
                   for at, other in fresh)

    suspects = [s for when, s in timed if when >= cutoff and s["error_code"] == 0 and not s["interactive"]
                and not explained(when, s)]
    if suspects:
        return SUSPECT, "success_after_cutoff", None
    failed = [stream for stream in streams.values() if not stream.ok]
    if failed:
        reasons = sorted(set(stream.reason for stream in failed))
        ask = now + PASSING_AGAIN_AFTER if set(reasons) <= set(PASSING_FAILURES) else None
        return UNPROVABLE, ",".join(reasons), ask
    if fresh:
        return FRESH_STRONG_SIGN_IN, "interactive_success_after_cutoff", None
    if any(s["error_code"] in REFUSAL_CODES for when, s in timed if when >= cutoff):
        return REFUSED, ",".join(sorted(set("AADSTS%d" % s["error_code"] for when, s in timed
                                            if s["error_code"] in REFUSAL_CODES))), None
    mature_at = cutoff + max(MATURITY[name] for name in streams)
    if now < mature_at:
        return NO_ACTIVITY_YET, "logs_not_mature", mature_at
    return NO_ACTIVITY_YET, "no_attempt_seen", None


def audit_state(entries, cutoff, stream, now):
    """found | not_yet (within the audit latency) | missing | unreadable | no_cutoff."""
    if not stream.ok:
        return "unreadable"
    if entries:
        return "found"
    if cutoff is None:
        return "no_cutoff"
    return "not_yet" if now < cutoff + MATURITY["audit"] else "missing"


def _index(subjects):
    by_key = {}
    for subject in subjects:
        for key in subject.keys():
            by_key.setdefault(key, subject)
    return by_key


def _owner(by_key, *keys):
    for key in keys:
        if isinstance(key, str) and key.lower() in by_key:
            return by_key[key.lower()]
    return None


def gather_evidence(client, subjects, non_interactive=True, audit_lookback=datetime.timedelta(hours=1),
                    pacer=None, now=None, max_pages=None, tenant=None):
    """Read the logs once for all ``subjects`` and judge each; returns the module's result (without changed)."""
    pacer = pacer or ReportsPacer()
    cutoffs = [s.cutoff for s in subjects if s.cutoff is not None]
    audit = StreamRead("audit", "v1.0")
    streams = {"interactive": StreamRead("interactive", "v1.0")}
    if non_interactive:
        streams["non_interactive"] = StreamRead("non_interactive", "beta")
    if cutoffs:
        start = min(cutoffs)
        read_log(client, audit, AUDITS, {"$filter": "activityDateTime ge %s" % graph_literal(start - audit_lookback),
                                         "$top": str(AUDIT_PAGE_SIZE)}, pacer, max_pages)
        read_log(client, streams["interactive"], SIGN_INS,
                 {"$filter": "createdDateTime ge %s" % graph_literal(start), "$top": str(SIGN_IN_PAGE_SIZE)}, pacer,
                 max_pages)
        if non_interactive:
            read_log(beta_client(client), streams["non_interactive"], SIGN_INS,
                     {"$filter": "createdDateTime ge %s and %s" % (graph_literal(start), NON_INTERACTIVE_FILTER),
                      "$top": str(SIGN_IN_PAGE_SIZE)}, pacer, max_pages)
    clock = [s.graph_time for s in [audit] + list(streams.values()) if s.graph_time is not None]
    now = now or (max(clock) if clock else datetime.datetime.now(datetime.timezone.utc))

    by_key = _index(subjects)
    found = dict((id(s), {"revoke": [], "block": [], "sign_ins": []}) for s in subjects)
    for item in audit.items:
        activity = item.get("activityDisplayName")
        kind = "revoke" if activity in REVOKE_ACTIVITIES else "block" if activity in BLOCK_ACTIVITIES else None
        if kind is None:
            continue
        for target in item.get("targetResources") or []:
            if not isinstance(target, dict):
                continue
            subject = _owner(by_key, target.get("id"), target.get("userPrincipalName"))
            if subject is not None:
                found[id(subject)][kind].append(audit_entry(item))
    for name, stream in streams.items():
        for item in stream.items:
            subject = _owner(by_key, item.get("userId"), item.get("userPrincipalName"))
            when = parse_time(item.get("createdDateTime"))
            if subject is None or subject.cutoff is None or when is None or when < subject.cutoff:
                continue
            found[id(subject)]["sign_ins"].append(sign_in_entry(item, stream.api))

    users, summary = [], dict((verdict, 0) for verdict in VERDICTS)
    for subject in subjects:
        mine = found[id(subject)]
        mine["sign_ins"].sort(key=lambda s: s["time"] or "")
        if tenant and subject.tenant and subject.tenant.lower() != tenant.lower():
            # This tenant's logs say nothing of another tenant's user: never "no activity".
            verdict, reason, ask = UNPROVABLE, "other_tenant", None
        else:
            verdict, reason, ask = judge(subject.cutoff, mine["sign_ins"], streams, now)
        summary[verdict] += 1
        lookback_start = subject.cutoff - audit_lookback if subject.cutoff else None
        revokes = [e for e in mine["revoke"] if lookback_start is None or
                   (parse_time(e["time"]) or lookback_start) >= lookback_start]
        users.append({
            "user": subject.user, "user_id": subject.user_id, "user_principal_name": subject.user_principal_name,
            "cutoff": iso(subject.cutoff), "verdict": verdict, "reason": reason, "proves": PROVES[verdict],
            "ask_again_after": iso(ask),
            "audit": {"revoke": revokes, "block": mine["block"],
                      "revoke_state": audit_state(revokes, subject.cutoff, audit, now),
                      "block_state": audit_state(mine["block"], subject.cutoff, audit, now)},
            "sign_ins": mine["sign_ins"],
            "refused_count": sum(1 for s in mine["sign_ins"] if s["error_code"] in REFUSAL_CODES),
            "success_count": sum(1 for s in mine["sign_ins"] if s["error_code"] == 0),
            "logs_read": sorted(name for name, stream in streams.items() if stream.ok),
        })
    reads = dict((name, stream.as_dict()) for name, stream in streams.items())
    reads["audit"] = audit.as_dict()
    calls = {"v1.0": audit.calls + streams["interactive"].calls,
             "beta": streams["non_interactive"].calls if non_interactive else 0}
    return {"users": users, "summary": summary, "suspect_users": [u["user"] for u in users if u["verdict"] == SUSPECT],
            "verdicts": dict((u["user"], u["verdict"]) for u in users),
            "reads": reads, "calls": calls, "paced_wait_s": round(pacer.waited_s, 3), "graph_time": iso(now)}


def can_change(user):
    """Whether a later reading can change this user's verdict: nothing logged yet while the logs are young, or a log
    read that failed for a passing reason (judge gives these, and only these, a time to ask again)."""
    return user["verdict"] in (NO_ACTIVITY_YET, UNPROVABLE) and user["ask_again_after"] is not None


def next_pause(result, left_s, poll_s=WAIT_POLL_S, floor_s=WAIT_FLOOR_S):
    """Seconds to sleep before the next reading, or None when there is none: no verdict can change any more, or the
    wait is over. Never past the earliest ask_again_after (by Graph's clock), nor past the end of the wait."""
    waiting = [user for user in result["users"] if can_change(user)]
    if not waiting or left_s <= 0:
        return None
    graph_now = parse_time(result["graph_time"])
    due = min(parse_time(user["ask_again_after"]) for user in waiting)
    until_due = (due - graph_now).total_seconds() if graph_now and due else poll_s
    return min(max(until_due, floor_s), poll_s, left_s)


def gather_until_settled(client, subjects, wait_s=0, clock=None, sleep=None, on_reading=None, **options):
    """Read the logs (gather_evidence) and, while some verdict can still change and ``wait_s`` lasts, read again.

    Every reading goes to ``on_reading(result, attempt)`` (the proof record) as it is made. All readings share one
    ReportsPacer, so the reports limit holds across them. ``clock`` (monotonic seconds) and ``sleep`` default to the
    time module's, looked up when called. The last reading is returned with ``readings``, ``waited_s`` (the whole
    wait, reading included) and ``pending_users`` (whose verdict could still change when the wait ended).
    """
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    pacer = options.pop("pacer", None) or ReportsPacer(clock=clock, sleep=sleep)
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        result = gather_evidence(client, subjects, pacer=pacer, **options)
        if on_reading is not None:
            on_reading(result, attempt)
        pause = next_pause(result, started + wait_s - clock())
        if pause is None:
            break
        sleep(pause)
    result.update(readings=attempt, waited_s=round(clock() - started, 3),
                  pending_users=[user["user"] for user in result["users"] if can_change(user)])
    return result


def write_proof(path, record_path, result, run_id=None, clock=None, attempt=1):
    """Add this run's reading to the proof record at ``path`` (made if absent), under an OS lock, atomically.

    Earlier readings are kept (the logs mature; each run's reading is its own); a file at ``path`` that is not a
    proof record, or a proof of another containment record, is never replaced."""
    run_id = run_id or str(uuid.uuid4())
    read_at = (clock or (lambda: datetime.datetime.now(datetime.timezone.utc)))()
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConfigurationError("proof_path %s: the directory %s does not exist." % (path, directory))
    with open(os.path.abspath(path) + ".lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            document = None
            if os.path.exists(path):
                try:
                    with open(path) as handle:
                        document = json.load(handle)
                except ValueError:
                    document = None
                if not isinstance(document, dict) or document.get("kind") != PROOF_KIND:
                    raise ConfigurationError("proof_path %s holds something that is not a containment proof; it was "
                                             "not replaced. Give another proof_path." % path)
                if record_path and document.get("record_path") not in (None, os.path.abspath(record_path)):
                    raise ConfigurationError("proof_path %s is the proof of another record (%s); it was not "
                                             "replaced." % (path, document.get("record_path")))
            document = document or {"kind": PROOF_KIND, "schema_version": 1,
                                    "record_path": os.path.abspath(record_path) if record_path else None,
                                    "readings": []}
            reading = {"run_id": run_id, "attempt": attempt, "read_at": iso(read_at),
                       "graph_time": result["graph_time"],
                       "summary": result["summary"], "reads": result["reads"], "calls": result["calls"],
                       "users": result["users"]}
            document["readings"].append(reading)
            document["latest"] = {"run_id": run_id, "attempt": attempt, "read_at": reading["read_at"],
                                  "summary": result["summary"],
                                  "verdicts": dict((u["user"], u["verdict"]) for u in result["users"]),
                                  "suspect_users": result["suspect_users"]}
            write_atomically(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return run_id
