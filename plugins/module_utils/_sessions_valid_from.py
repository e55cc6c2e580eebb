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

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError, GraphApiError
from ansible_collections.o365.admin.plugins.module_utils._outcomes import unreadable
from ansible_collections.o365.admin.plugins.module_utils._user_read import READ_PERMISSION, read_users_through
# The module's clock and Graph's may differ; a timestamp this much before the moment of the revoke still counts.
CLOCK_SKEW = datetime.timedelta(seconds=60)
SELECTED = ("id", "userPrincipalName", "userType", "signInSessionsValidFromDateTime")
SELECT = ",".join(SELECTED)
UTC = datetime.timezone.utc

ISO_RE = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})"
                    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,12}))?)?"
                    r"(?P<offset>[Zz]|[+-]\d{2}:?\d{2})$")
RELATIVE_RE = re.compile(r"^-(?P<amount>\d+)(?P<unit>[smhdw])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def utc_now():
    return datetime.datetime.now(UTC)


def format_time(moment):
    """Graph's DateTimeOffset form in UTC, e.g. 2026-11-24T10:00:00Z (fractions kept when there are some)."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_time(text):
    """An aware datetime from ISO 8601 with an offset (Z or +hh:mm); None if ``text`` is not one."""
    match = ISO_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    offset = match.group("offset")
    if offset in ("Z", "z"):
        zone = UTC
    else:
        digits = offset[1:].replace(":", "")
        delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        zone = datetime.timezone(delta if offset[0] == "+" else -delta)
    fraction = (match.group("fraction") or "0")[:6].ljust(6, "0")
    try:
        date = datetime.datetime.strptime(match.group("date"), "%Y-%m-%d")
        return datetime.datetime(date.year, date.month, date.day, int(match.group("hour")),
                                 int(match.group("minute")), int(match.group("second") or 0), int(fraction),
                                 tzinfo=zone)
    except ValueError:
        return None


def parse_since(value, now=None):
    """``revoked_since``: ISO 8601 with an offset, or relative to now such as ``-2h`` (s, m, h, d, w)."""
    relative = RELATIVE_RE.match(value.strip())
    if relative:
        seconds = int(relative.group("amount")) * UNIT_SECONDS[relative.group("unit")]
        return (now or utc_now()) - datetime.timedelta(seconds=seconds)
    moment = parse_time(value)
    if moment is None:
        raise ConfigurationError(
            "revoked_since %r is not a date-time with an offset, such as 2026-11-24T09:30:00Z or "
            "2026-11-24T10:30:00+01:00, nor a time ago such as -2h (s, m, h, d or w)." % value)
    return moment


class Reading:
    """What a read of the user answered: the timestamp (or None), or the failure."""

    def __init__(self, status_code, body, request_id, error=None):
        self.status_code = status_code
        self.body = body if isinstance(body, dict) else {}
        self.request_id = request_id
        self.error = error
        self.text = self.body.get("signInSessionsValidFromDateTime")
        self.at = parse_time(self.text) if self.text else None

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
        """The user was revoked at or after ``since`` (a user never revoked has no timestamp: not revoked)."""
        return self.at is not None and self.at >= since

    def confirms_revoke_sent_at(self, sent_at):
        """The timestamp moved to the revoke: at or after ``sent_at``, within the clock skew."""
        return self.at is not None and self.at >= sent_at - CLOCK_SKEW


def read_one(client, reference):
    """One user's Reading; a Graph error becomes a failed Reading (the caller says what it means)."""
    try:
        response = client.request("GET", reference.path(), params={"$select": SELECT})
    except GraphApiError as error:
        return Reading(error.status_code, None, error.request_id,
                       {"code": error.code, "message": error.graph_message or error.message})
    return Reading(response.status_code, response.body, response.request_id)


def read_many(send, references):
    """{reference: Reading} for the users given, through ``send`` ([request] -> outcomes; a Sender, or a BatchRun's
    ``run``), each reference read once."""
    distinct = list(dict.fromkeys(references))
    readings = {}
    for reference, read in zip(distinct, read_users_through(getattr(send, "run", send), distinct, SELECTED)):
        answer = read.answer
        if answer.ok and not isinstance(answer.body, dict):
            # A proxy's page in a 200 holds no timestamp: a failed read, never "not revoked since".
            readings[reference] = Reading(answer.status_code, None, answer.request_id, unreadable(
                answer, "the user as a JSON object")[1])
            continue
        readings[reference] = Reading(answer.status_code, answer.body if answer.ok else None, answer.request_id,
                                      None if answer.ok else answer.error)
    return readings


def describe_read_failure(reading, purpose):
    """Why the timestamp could not be read, and what to do."""
    error = reading.error or {}
    text = "could not read signInSessionsValidFromDateTime for %s: HTTP %s %s" % (
        purpose, reading.status_code, error.get("code") or error.get("message"))
    if reading.status_code == 403:
        text += " (grant the app the Microsoft Graph application permission %s with admin consent)" % READ_PERMISSION
    elif reading.status_code == 404:
        text += " (the user is not in the tenant)"
    return text
