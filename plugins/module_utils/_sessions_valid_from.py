# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A user's ``signInSessionsValidFromDateTime``: reading it (one user, or many batched), and the two questions
asked of it: was the user revoked since a moment (``revoked_since``), and did a revoke take effect (``verify``).

Internal to this collection, may change without notice.

Graph sets the property to the time of a revoke; refresh and session tokens issued before it are refused
(https://learn.microsoft.com/graph/api/resources/user, signInSessionsValidFromDateTime). It is returned only on
``$select`` and reading it needs ``User.Read.All``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import time

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._outcomes import unreadable
from ansible_collections.o365.admin.plugins.module_utils._user_read import READ_PERMISSION, read_users_through

SELECTED = ("id", "userPrincipalName", "userType", "signInSessionsValidFromDateTime")
SELECT = ",".join(SELECTED)
UTC = datetime.timezone.utc
# Real UTC offsets run from -12:00 to +14:00; ISO 8601 and XML Schema's dateTime allow up to 14:00 either way.
MAX_OFFSET = datetime.timedelta(hours=14)
# A relative revoked_since reaches back at most this far (documented in the option).
MAX_AGO = datetime.timedelta(days=365)
# No Entra ID timestamp is older; earlier moments are typos (and near year 1 an offset overflows datetime).
EARLIEST = datetime.datetime(1970, 1, 1, tzinfo=UTC)
# A moment later than Graph's clock (the Date of its answers) by more than this is refused: a typo, or a wrong
# offset. Graph is the clock the timestamps are compared with, and an automatic containment fills revoked_since from
# Graph's own times (riskLastUpdatedDateTime), so the controller's clock, which may run behind, does not judge it.
FUTURE_ALLOWANCE = datetime.timedelta(minutes=5)
# Before Graph's clock is known (no call made yet), only a moment this far ahead of the controller's is refused: no
# clock is that wrong, so nothing is sent for a certain typo.
CONTROLLER_FUTURE_LIMIT = datetime.timedelta(days=1)
# verify: a read that does not show the revoke yet (Graph is eventually consistent) is read again after these waits,
# 30 s in all (documented in the verify option), before the user fails verification.
VERIFY_REREAD_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 15.0)

# ASCII digits only (\d would take any script's digits), whole string only (\Z, not $: no trailing newline).
ISO_RE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ](?P<hour>[0-9]{2}):"
                    r"(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,12}))?)?"
                    r"(?P<offset>[Zz]|[+-][0-9]{2}:?[0-9]{2})\Z")
RELATIVE_RE = re.compile(r"-(?P<amount>[0-9]+)(?P<unit>[smhdw])\Z")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
FORMS = ("a date-time with an offset, such as 2026-11-24T09:30:00Z or 2026-11-24T10:30:00+01:00 (offsets up to "
         "+/-14:00), or a time ago such as -2h (s, m, h, d or w; at most %d days)" % MAX_AGO.days)


def utc_now():
    return datetime.datetime.now(UTC)


def whole_second(moment):
    """Graph's DateTimeOffset values and its Date header carry whole seconds: compare at that grain."""
    return moment.replace(microsecond=0)


def format_time(moment):
    """Graph's DateTimeOffset form in UTC, e.g. 2026-11-24T10:00:00Z (fractions kept when there are some)."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def _parse_iso(text):
    """(aware datetime, None) from ISO 8601 with an offset, or (None, what is wrong with it)."""
    match = ISO_RE.match(text)
    if not match:
        return None, "not a date-time with an offset"
    offset = match.group("offset")
    if offset in ("Z", "z"):
        zone = UTC
    else:
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if minutes > 59:
            return None, "its offset %s has more than 59 minutes" % offset
        delta = datetime.timedelta(hours=hours, minutes=minutes)
        if delta > MAX_OFFSET:
            return None, "its offset %s is beyond +/-14:00" % offset
        zone = datetime.timezone(delta if offset[0] == "+" else -delta)
    fraction = (match.group("fraction") or "0")[:6].ljust(6, "0")
    try:
        moment = datetime.datetime(int(match.group("year")), int(match.group("month")), int(match.group("day")),
                                   int(match.group("hour")), int(match.group("minute")),
                                   int(match.group("second") or 0), int(fraction), tzinfo=zone)
        return moment.astimezone(UTC), None
    except (ValueError, OverflowError) as error:
        return None, "it is not a valid date-time: %s" % error


def parse_time(text):
    """An aware UTC datetime from ISO 8601 with an offset (Z or +hh:mm); None if ``text`` is not one."""
    if not isinstance(text, str):
        return None
    return _parse_iso(text.strip())[0]


class Since:
    """``revoked_since``: a fixed moment, or a time ago. A time ago is counted back from Graph's own clock (the
    ``Date`` of the answer that carried the timestamp it is compared with), never from the controller's."""

    def __init__(self, text, moment=None, ago=None):
        self.text = text
        self.moment = moment
        self.ago = ago

    def at(self, graph_now=None):
        """The moment, for a comparison with a timestamp Graph gave at ``graph_now`` (None: not known)."""
        if self.moment is not None:
            return self.moment
        return whole_second(graph_now or utc_now()) - self.ago

    def check_not_future(self, graph_now):
        """Refuse (ConfigurationError) a fixed moment more than FUTURE_ALLOWANCE after ``graph_now``, Graph's clock
        (the latest Date of its answers; None: not known, the controller's clock stands in)."""
        if self.moment is None:
            return
        now, whose = (graph_now, "Graph's clock (the Date of its answers)") if graph_now is not None else (
            utc_now(), "the controller's clock (no answer of Graph's carried a Date)")
        _refuse_future(self.text, self.moment, now, FUTURE_ALLOWANCE, whose)

    def __repr__(self):
        return "Since(%r)" % self.text


def _refuse_future(value, moment, now, allowance, whose):
    if moment > now + allowance:
        raise ConfigurationError("revoked_since %r (%s) is in the future: %s says %s. Give the moment the incident "
                                 "started, or a time ago such as -2h."
                                 % (value, format_time(moment), whose, format_time(whole_second(now))))


def parse_since(value, now=None):
    """``revoked_since`` -> Since, or a ConfigurationError saying what is wrong; nothing else escapes.

    ``now``: Graph's clock when known (a moment more than FUTURE_ALLOWANCE after it is refused). Without it, only a
    moment more than CONTROLLER_FUTURE_LIMIT after the controller's clock is refused here; the run then checks the
    moment against Graph's clock once an answer tells it (Since.check_not_future)."""
    if not isinstance(value, str):
        raise ConfigurationError("revoked_since must be a string: %s." % FORMS)
    text = value.strip()
    relative = RELATIVE_RE.match(text)
    if relative:
        amount = relative.group("amount")
        seconds = int(amount) * UNIT_SECONDS[relative.group("unit")] if len(amount) <= 12 else None
        if seconds is None or seconds > MAX_AGO.total_seconds():
            raise ConfigurationError("revoked_since %r reaches back more than %d days; give a date-time instead, "
                                     "such as 2026-11-24T09:30:00Z." % (value, MAX_AGO.days))
        return Since(text, ago=datetime.timedelta(seconds=seconds))
    if text.startswith("+") and RELATIVE_RE.match("-" + text[1:]):
        raise ConfigurationError("revoked_since %r is in the future: a time ago starts with a minus, such as -2h."
                                 % value)
    moment, problem = _parse_iso(text)
    if moment is None:
        raise ConfigurationError("revoked_since %r is not usable (%s); give %s." % (value, problem, FORMS))
    if moment < EARLIEST:
        raise ConfigurationError("revoked_since %r is before 1970; give a moment of the incident, such as "
                                 "2026-11-24T09:30:00Z." % value)
    if now is not None:
        _refuse_future(value, moment, now, FUTURE_ALLOWANCE, "Graph's clock")
    else:
        _refuse_future(value, moment, utc_now(), CONTROLLER_FUTURE_LIMIT, "the controller's clock")
    return Since(text, moment=moment)


class Reading:
    """What a read of the user answered: the timestamp (or None), or the failure."""

    def __init__(self, status_code, body, request_id, error=None, date=None):
        self.status_code = status_code
        self.body = body if isinstance(body, dict) else {}
        self.request_id = request_id
        self.error = error
        self.text = self.body.get("signInSessionsValidFromDateTime")
        self.at = parse_time(self.text) if self.text else None
        self.date = date  # Graph's clock when it answered (its Date header), or None

    @property
    def ok(self):
        return self.error is None

    @property
    def user_id(self):
        return self.body.get("id")

    @property
    def user_principal_name(self):
        return self.body.get("userPrincipalName")

    def revoked_since(self, since):
        """The user was revoked at or after ``since`` (a Since or a datetime; a time ago counts back from this
        answer's Date). A user never revoked has no timestamp: not revoked."""
        if isinstance(since, Since):
            since = since.at(self.date)
        return self.at is not None and self.at >= since


def read_many(send, references):
    """{reference: Reading} for the users given, through ``send`` ([request] -> outcomes; a Sender, or a BatchRun's
    ``run``), each reference read once."""
    distinct = list(dict.fromkeys(references))
    readings = {}
    for reference, read in zip(distinct, read_users_through(getattr(send, "run", send), distinct, SELECTED)):
        answer = read.answer
        if answer.ok and not read.found:
            # A proxy's page or a {} in a 200 is no user's answer: a failed read, never "not revoked since".
            readings[reference] = Reading(answer.status_code, None, answer.request_id, unreadable(
                answer, "the user as a JSON object")[1])
            continue
        readings[reference] = Reading(answer.status_code, answer.body if answer.ok else None, answer.request_id,
                                      None if answer.ok else answer.error, date=getattr(answer, "date", None))
    return readings


def graph_clock(readings):
    """Graph's clock as the latest Date among ``readings`` (Readings), or None when none carried one."""
    dates = [reading.date for reading in readings if getattr(reading, "date", None) is not None]
    return max(dates) if dates else None


def describe_read_failure(reading, purpose):
    """Why the timestamp could not be read, and what to do."""
    error = reading.error or {}
    if reading.status_code is None:  # never sent, or its answer lost: there is no HTTP status to quote
        return "could not read signInSessionsValidFromDateTime for %s: %s" % (purpose, error.get("message"))
    text = "could not read signInSessionsValidFromDateTime for %s: HTTP %s %s" % (
        purpose, reading.status_code, error.get("code") or error.get("message"))
    if reading.status_code == 403:
        text += " (grant the app the Microsoft Graph application permission %s with admin consent)" % READ_PERMISSION
    elif reading.status_code == 404:
        text += " (the user is not in the tenant)"
    return text


# --- verify: did the revoke move the timestamp, judged by Graph's clock --------------------------------------

class Verdict:
    """verify's answer for one user: ``verified``, the last Reading, how many reads it took, and why not."""

    def __init__(self, reading, verified, reads, reason=None):
        self.reading = reading
        self.verified = verified
        self.reads = reads
        self.reason = reason

    def __repr__(self):
        return "Verdict(verified=%r, reads=%r, reason=%r)" % (self.verified, self.reads, self.reason)


def graph_floor(before, graph_time_before):
    """The earliest timestamp a revoke sent after ``before`` (a Reading or None) can set: Graph's time just before
    the revoke was sent, in whole seconds (Graph stamps the revoke at or after it, truncated the same way)."""
    known = [moment for moment in (graph_time_before, before.date if before is not None else None) if moment]
    return whole_second(max(known)) if known else None


def shows_revoke(after, before, floor):
    """None if ``after`` shows the revoke, else why not (it may be a stale read, or the revoke did not act).

    The timestamp must be no earlier than ``floor`` (Graph's time before the revoke was sent) and move past the
    value read before. Both have whole seconds, so an earlier revoke in the very second of ``floor`` leaves the
    value where it was and still counts: a revoke sent after ``floor`` cannot set anything earlier.
    """
    if after.at is None:
        return "no signInSessionsValidFromDateTime"
    stamped = whole_second(after.at)
    if floor is not None and stamped < floor:
        return "before Graph's time %s just before the revoke was sent" % format_time(floor)
    previous = before.at if before is not None and before.ok else None
    if previous is not None:
        previous = whole_second(previous)
        if stamped < previous or (stamped == previous and floor is None):
            return "not past the value read before the revoke (%s)" % format_time(previous)
    return None


def verify_revoked(send, references, before_readings, graph_time_before=None, sleep=None,
                   delays=VERIFY_REREAD_DELAYS_S):
    """{reference: Verdict} for users whose revoke Graph accepted.

    ``send(references) -> {reference: Reading}`` reads users (one batch, or one GET). ``before_readings`` holds
    what was read before the revoke (users missing from it were not read); ``graph_time_before`` is Graph's time
    (a Date header) known before the revokes were sent: one datetime for all, a {reference: datetime}, or None.
    A read that does not show the revoke yet is read again after each of ``delays`` (Graph is eventually
    consistent: a read right after a write may return the old value); a read that fails is final.
    """
    sleep = sleep or time.sleep
    pending = list(dict.fromkeys(references))
    floors = {}
    for reference in pending:
        known = graph_time_before.get(reference) if isinstance(graph_time_before, dict) else graph_time_before
        floors[reference] = graph_floor(before_readings.get(reference), known)
    verdicts, last, reads = {}, {}, 0
    for delay in (0.0,) + tuple(delays):
        if not pending:
            break
        if delay:
            sleep(delay)
        readings = send(pending)
        reads += 1
        waiting = []
        for reference in pending:
            reading = readings[reference]
            if not reading.ok:
                verdicts[reference] = Verdict(reading, False, reads)
                continue
            reason = shows_revoke(reading, before_readings.get(reference), floors[reference])
            if reason is None:
                verdicts[reference] = Verdict(reading, True, reads)
            else:
                last[reference] = (reading, reason)
                waiting.append(reference)
        pending = waiting
    for reference in pending:
        reading, reason = last[reference]
        verdicts[reference] = Verdict(reading, False, reads, reason)
    return verdicts
