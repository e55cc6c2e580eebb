# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The containment ledger of automatic (event-driven) containment: who was contained when, once per window, the
blast-radius brake, and which events have ended.

Internal to this collection, may change without notice.

One JSON document in a state directory, shared by every run and every rulebook instance that points at it. Each
change reads, decides and writes under an exclusive fcntl lock on a lock file beside it, and writes atomically (a
temporary file, then os.replace), so overlapping runs never both take the last slot of the brake and never lose
each other's entries. The lock is on a separate file because os.replace swaps the document's inode.

The document holds ``entries``, one per event a run handled, never rewritten by another run (a run that resumes
an unfinished containment adds itself to ``runs``):

- a *containment* (``slot: true``): a user the run was about to write; it counts towards the brake from
  ``reserved_at`` for one window, from ``state: started`` until the run closes it (``state: ended`` with its
  outcome). A containment left started (the run was stopped) is resumed by the next event for the user.
- a *skip* (``slot: false``, ended at once): excluded, deleted, refused, held back by the brake, or already
  contained within the window. None of these is a containment: none counts towards the brake.

An event (user object ID, ``riskLastUpdatedDateTime``) has *ended* once an ended entry names it: the event source
acknowledges it then and not before.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import copy
import fcntl
import json
import math
import os
import re
import tempfile
import time

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._user_ref import OBJECT_ID_RE

LEDGER_NAME = "containment_ledger.json"
LOCK_NAME = ".containment_ledger.lock"
ALERTS_NAME = "containment_alerts.jsonl"
VERSION = 2
# Ended entries are kept at least this long (and at least one window), so the source can still see its events end.
RETAIN_S = 7 * 86400

# Decisions of reserve().
CONTAIN = "contain"        # a new containment: a slot of the brake taken
RESUME = "resume"          # a containment a stopped run started: finish it (its slot is already counted)
RECENT = "recent"          # contained within the window already: nothing to do
HELD = "held"              # the brake: nobody more within the window
# Decisions taken before any slot (skip()): the user is not written.
EXCLUDED = "excluded"
DELETED = "deleted"
REFUSED = "refused"
SKIPS = (EXCLUDED, DELETED, REFUSED)
ACTING = (CONTAIN, RESUME)
# Outcomes a containment ends with.
CLOSED_OUTCOMES = ("contained", "failed", "refused")

UNITS = {"second": 1, "sec": 1, "s": 1, "minute": 60, "min": 60, "m": 60, "hour": 3600, "h": 3600, "day": 86400,
         "d": 86400}
WINDOW_RE = re.compile(r"^\s*(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z]*)\s*$")


def parse_window(value):
    """Seconds from "10 minutes", "30 seconds", "1 hour" (ansible-rulebook's throttle form), or a number."""
    if isinstance(value, bool):
        raise ConfigurationError("window must be a duration such as '10 minutes', not %r." % (value,))
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = WINDOW_RE.match(str(value or ""))
        unit = (match.group("unit").lower() if match else "") or "seconds"
        unit = unit[:-1] if unit.endswith("s") and unit[:-1] in UNITS else unit
        if not match or unit not in UNITS:
            raise ConfigurationError("window must be a duration such as '10 minutes', '30 seconds', '1 hour' or a "
                                     "number of seconds, not %r." % (value,))
        seconds = float(match.group("number")) * UNITS[unit]
    if math.isnan(seconds) or seconds <= 0 or math.isinf(seconds):
        raise ConfigurationError("window must be a positive duration, not %r." % (value,))
    return seconds


def event_user_id(event):
    """The object ID (lower case) of the user an ``o365_risky_user`` event names; refused before any call."""
    user_id = event.get("id") if isinstance(event, dict) else None
    if not isinstance(user_id, str) or not OBJECT_ID_RE.fullmatch(user_id):
        raise ConfigurationError("event must be an o365_risky_user event naming the user by object ID (id); got %r. "
                                 "Nothing was changed." % (event,))
    return user_id.lower()


def split_list(value):
    """The ``exclude`` entries, through the collection's one list parser (a YAML list, or text with commas or
    newlines: an AWX survey field), each of them text; what names nobody is refused here, before the ledger."""
    from ansible_collections.o365.admin.plugins.module_utils._targets import parse_list
    entries = parse_list(value, "exclude")
    for entry in entries:
        if not isinstance(entry, str) or not entry:
            raise ConfigurationError("exclude holds %r, which is not an object ID or a UPN." % (entry,))
    return entries


def empty_document():
    return {"version": VERSION, "entries": [], "brake_raised_at": None}


def _normalise(document):
    """The document as read; a version-1 ledger (the playbook's) keeps its containments as ended slots."""
    if not isinstance(document, dict):
        raise ValueError("the ledger is not a JSON object")
    if document.get("version") == VERSION:
        if not isinstance(document.get("entries"), list):
            raise ValueError("the ledger has no entries list")
        return document
    upgraded = empty_document()
    for item in document.get("contained") or []:
        upgraded["entries"].append({"user_id": str(item["id"]).lower(), "risk_updated": None, "slot": True,
                                    "state": "ended", "outcome": "contained", "reserved_at": float(item["at"]),
                                    "ended_at": float(item["at"]), "runs": []})
    upgraded["brake_raised_at"] = document.get("brake_raised_at")
    return upgraded


def in_window(at, now, window_s):
    return at is not None and now - window_s < float(at) <= now + window_s


def _find_started(document, user_id):
    return next((entry for entry in document["entries"]
                 if entry["user_id"] == user_id and entry["slot"] and entry["state"] == "started"), None)


def slots_in_window(document, now, window_s):
    """The containments that count towards the brake now: every slot reserved within the window, and every one
    still started (a containment under way counts until it ends, however long it takes)."""
    return [entry for entry in document["entries"] if entry["slot"] and (
        entry["state"] == "started" or in_window(entry["reserved_at"], now, window_s))]


def decide(document, user_id, now, max_users, window_s):
    """(decision, alert): what reserve() does for ``user_id``, from the document alone. Pure, table-tested.

    Only a containment that ended ``contained`` within the window makes the user RECENT: one that failed is tried
    again (it still counts towards the brake, once per user, so trying again takes no second slot)."""
    if _find_started(document, user_id) is not None:
        return RESUME, False
    counted = slots_in_window(document, now, window_s)
    mine = [entry for entry in counted if entry["user_id"] == user_id]
    if any(entry["outcome"] == "contained" for entry in mine):
        return RECENT, False
    if mine:
        return CONTAIN, False
    if len(set(entry["user_id"] for entry in counted)) >= max_users:
        return HELD, not in_window(document.get("brake_raised_at"), now, window_s)
    return CONTAIN, False


def _event_entry(user_id, event, run, now, **fields):
    entry = {"user_id": user_id, "user_principal_name": (event or {}).get("userPrincipalName"),
             "risk_updated": (event or {}).get("riskLastUpdatedDateTime"), "event": event, "runs": [run],
             "reserved_at": now}
    entry.update(fields)
    return entry


def _prune(document, now, window_s):
    keep_s = max(RETAIN_S, window_s)
    document["entries"] = [entry for entry in document["entries"] if entry["state"] == "started" or (
        now - float(entry.get("ended_at") or entry["reserved_at"]) < keep_s)]


def apply_reserve(document, user_id, event, run, now, max_users, window_s):
    """Decide and record (on ``document``, in place). Returns the decision's result dict."""
    decision, alert = decide(document, user_id, now, max_users, window_s)
    result = {"decision": decision, "alert": alert, "user_id": user_id}
    if decision == RESUME:
        entry = _find_started(document, user_id)
        entry["runs"].append(run)
        risk = (event or {}).get("riskLastUpdatedDateTime")
        if risk and risk != entry.get("risk_updated"):
            entry.setdefault("also_events", []).append(risk)
    elif decision == CONTAIN:
        document["entries"].append(_event_entry(user_id, event, run, now, slot=True, state="started",
                                                outcome=None, ended_at=None))
    else:
        outcome = "contained_in_window" if decision == RECENT else "held_by_brake"
        document["entries"].append(_event_entry(user_id, event, run, now, slot=False, state="ended",
                                                outcome=outcome, ended_at=now))
    counted = slots_in_window(document, now, window_s)
    result["contained_in_window"] = sorted(set(entry["user_id"] for entry in counted))
    if decision == HELD and alert:
        document["brake_raised_at"] = now
    _prune(document, now, window_s)
    return result


def alert_message(contained_in_window, window, max_users, held_back, max_users_option="max_users"):
    """The sentence of the brake's alert, for whichever option set the brake (``max_users_option``)."""
    return ("Blast-radius brake: %d users were already contained within %s (%s %d); %s and any further user at risk "
            "are NOT contained automatically. A mass false positive or a tenant-wide attack needs a human decision "
            "now." % (len(contained_in_window), window, max_users_option, max_users, held_back))


def apply_skip(document, user_id, event, run, now, outcome, detail=None):
    """An event whose user is not written (excluded, deleted, refused): ended at once, no slot."""
    if outcome not in SKIPS:
        raise ConfigurationError("a skipped event is excluded, deleted or refused, not %r." % (outcome,))
    document["entries"].append(_event_entry(user_id, event, run, now, slot=False, state="ended", outcome=outcome,
                                            detail=detail, ended_at=now))
    return {"decision": outcome, "alert": False, "user_id": user_id}


def apply_finish(document, user_id, run, now, outcome, detail=None, report=None):
    """Close the user's started containment with ``outcome``; None when there is none this run took or resumed (it
    was closed already, or a later run started another one: that one is the later run's to close)."""
    if outcome not in CLOSED_OUTCOMES:
        raise ConfigurationError("a containment ends contained, failed or refused, not %r." % (outcome,))
    entry = _find_started(document, user_id)
    if entry is None or run not in entry["runs"]:
        return None
    entry.update(state="ended", outcome=outcome, ended_at=now, ended_by=run, detail=detail, report=report)
    return entry


def event_ended(document, user_id, risk_updated):
    """Whether an ended entry names this event (the user, and this riskLastUpdatedDateTime when given)."""
    user_id = user_id.lower()
    for entry in document["entries"]:
        if entry["user_id"] != user_id or entry["state"] != "ended":
            continue
        if not risk_updated or risk_updated == entry.get("risk_updated") or risk_updated in entry.get(
                "also_events", ()):
            return True
    return False


def unfinished(document):
    """The events of containments started and not ended (a stopped run), oldest first."""
    return [copy.deepcopy(entry["event"]) for entry in document["entries"]
            if entry["slot"] and entry["state"] == "started" and isinstance(entry.get("event"), dict)]


class Ledger:
    """The ledger in ``state_dir``: every change under the lock, read-decide-write, atomically."""

    def __init__(self, state_dir, clock=time.time):
        self.state_dir = os.path.abspath(os.path.expanduser(state_dir))
        self.path = os.path.join(self.state_dir, LEDGER_NAME)
        self.lock_path = os.path.join(self.state_dir, LOCK_NAME)
        self.alerts_path = os.path.join(self.state_dir, ALERTS_NAME)
        self.clock = clock

    @contextlib.contextmanager
    def _locked(self, exclusive=True):
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _read(self):
        if not os.path.exists(self.path):
            return empty_document()
        try:
            with open(self.path) as handle:
                return _normalise(json.load(handle))
        except (ValueError, KeyError, TypeError) as error:
            # Fail closed: a ledger nobody can read cannot tell how many were contained, so nobody is.
            raise ConfigurationError("The containment ledger %s cannot be read (%s): the brake cannot count, so "
                                     "nobody is contained automatically. Look at the file, move it away to start "
                                     "a new ledger." % (self.path, error))

    def _write(self, document):
        handle, temporary = tempfile.mkstemp(prefix=".containment_ledger.", dir=self.state_dir)
        try:
            with os.fdopen(handle, "w") as stream:
                json.dump(document, stream, sort_keys=True)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise

    def read(self):
        """The document as it is now (a shared lock: never half a write)."""
        with self._locked(exclusive=False):
            return self._read()

    def change(self, function, write=True):
        """``function(document, now)`` under the exclusive lock; the document is written when ``write``. Without
        ``write`` (check mode) nothing is created: no directory, no lock file (a ledger never locked is read as it
        is, a missing one is empty)."""
        if not write and not os.path.exists(self.lock_path):
            # Nothing to create in check mode: no run has locked this ledger yet, so there is no write to wait for.
            return function(self._read() if os.path.isdir(self.state_dir) else empty_document(), self.clock())
        with self._locked(exclusive=write):
            document = self._read()
            result = function(document, self.clock())
            if write:
                self._write(document)
            return result

    def reserve(self, user_id, event, run, max_users, window_s, write=True):
        def reserve_in(document, now):
            result = apply_reserve(document, user_id.lower(), event, run, now, max_users, window_s)
            if result["alert"] and write:
                # Appended under the same lock: one alert per window, whoever raises it.
                self._append_alert({"brake": "o365_brake_max_users", "max_users": max_users,
                                    "contained_in_window": result["contained_in_window"],
                                    "held_back": user_id.lower(), "window_s": window_s, "at": now, "run": run})
            return result
        return self.change(reserve_in, write)

    def skip(self, user_id, event, run, outcome, detail=None, write=True):
        return self.change(lambda document, now: apply_skip(document, user_id.lower(), event, run, now, outcome,
                                                            detail), write)

    def finish(self, user_id, run, outcome, detail=None, report=None, write=True):
        return self.change(lambda document, now: apply_finish(document, user_id.lower(), run, now, outcome, detail,
                                                              report), write)

    def event_ended(self, user_id, risk_updated):
        return event_ended(self.read(), user_id, risk_updated)

    def unfinished(self):
        return unfinished(self.read())

    def _append_alert(self, alert):
        descriptor = os.open(self.alerts_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        with os.fdopen(descriptor, "a") as stream:
            stream.write(json.dumps(alert, sort_keys=True) + "\n")


def skip_decision(user_id, deleted=False, excluded=False, refusal=None, not_found=False):
    """(decision, detail) for a user that must not be written - EXCLUDED, DELETED or REFUSED - or (None, None) when
    it may be (it then takes a slot of the brake). From what is known before the first write: the event's
    ``isDeleted``, the collection's one judge of ``exclude`` (excluded, or its ``refusal`` when the user could not be
    told apart from an entry), and whether the directory answered 404 for the user. Pure, table-tested."""
    if deleted:
        return DELETED, "Identity Protection lists the user as deleted (isDeleted): there is nobody to contain."
    if excluded:
        return EXCLUDED, "The user is excluded (exclude): never contained."
    if refusal is not None:
        return DELETED if refusal.get("status_code") == 404 else REFUSED, refusal["error"]["message"]
    if not_found:
        return DELETED, "User %s was not found in the directory (deleted): there is nobody to contain." % user_id
    return None, None


def skip_reason(client, user_id, exclude, max_retries, deleted=False, resolve=None, read=None):
    """(decision, detail) for a user that must not be written (skip_decision), or (None, warning) when it may be:
    the run is about to write it, so it takes a slot of the brake.

    The comparison with ``exclude`` is the collection's one judge (_targets.resolve_targets): nothing is compared
    here. A user Identity Protection lists as deleted, or whose directory read says 404, is no containment."""
    if deleted:
        return skip_decision(user_id, deleted=True)
    # Imported here so that the event source, which needs only the ledger, does not load the Graph layer twice.
    from ansible_collections.o365.admin.plugins.module_utils._targets import EmptyScope, resolve_targets
    from ansible_collections.o365.admin.plugins.module_utils._user_read import explain_read_failure, read_users
    resolve = resolve or resolve_targets
    read = read or read_users
    if exclude:
        params = {"user": None, "users": [user_id], "groups": None, "exclude": list(exclude), "max_users": 1,
                  "batch_concurrency": 1, "max_retries": max_retries}
        try:
            target_set = resolve(client, params)
        except EmptyScope:
            return skip_decision(user_id, excluded=True)
        blocked = target_set.blocked()
        if blocked:
            return skip_decision(user_id, refusal=blocked[0].refusal)
    answer = read(client, [_reference(user_id)], ("id", "userPrincipalName"), 1, max_retries)[0]
    if answer.not_found:
        return skip_decision(user_id, not_found=True)
    if answer.failed:
        # Acting needs no read (least privilege): the user is still written, so it takes a slot.
        return None, "User %s could not be read before containing it: %s" % (
            user_id, explain_read_failure(answer, user_id))
    return None, None


def _reference(user_id):
    from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference
    return UserReference.parse(user_id)
