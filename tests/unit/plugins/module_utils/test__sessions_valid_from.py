# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._sessions_valid_from import (
    Reading, describe_read_failure, format_time, parse_since, parse_time, read_many)
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference

UTC = datetime.timezone.utc
NOON = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize("text, expected", [
    ("2026-11-24T12:00:00Z", NOON),
    ("2026-11-24T13:00:00+01:00", NOON),
    ("2026-11-24T07:30:00-0430", NOON),
    ("2026-11-24T12:00Z", NOON),
    ("2026-11-24T12:00:00.1234567Z", NOON + datetime.timedelta(microseconds=123456)),
    ("2026-11-24 12:00:00z", NOON),
])
def test_iso_times_with_an_offset_parse(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["2026-11-24T12:00:00", "2026-11-24", "yesterday", "2026-13-01T00:00:00Z", "", None])
def test_times_without_an_offset_or_invalid_are_not_times(text):
    assert parse_time(text) is None


def test_revoked_since_takes_relative_forms_and_refuses_naive_times():
    assert parse_since("-2h", now=NOON) == NOON - datetime.timedelta(hours=2)
    assert parse_since("-90s", now=NOON) == NOON - datetime.timedelta(seconds=90)
    assert parse_since("-1w", now=NOON) == NOON - datetime.timedelta(days=7)
    assert parse_since("2026-11-24T13:00:00+01:00") == NOON
    with pytest.raises(ConfigurationError) as caught:
        parse_since("2026-11-24T12:00:00")
    assert "with an offset" in caught.value.message and "-2h" in caught.value.message
    with pytest.raises(ConfigurationError):
        parse_since("+2h")


def test_format_is_graphs_utc_form():
    assert format_time(NOON) == "2026-11-24T12:00:00Z"
    assert format_time(parse_time("2026-11-24T13:00:00+01:00")) == "2026-11-24T12:00:00Z"


def test_revoked_since_is_at_or_after_and_a_user_never_revoked_is_not():
    reading = Reading(200, {"signInSessionsValidFromDateTime": "2026-11-24T12:00:00Z"}, "r")
    assert reading.revoked_since(NOON) and not reading.revoked_since(NOON + datetime.timedelta(seconds=1))
    assert not Reading(200, {"signInSessionsValidFromDateTime": None}, "r").revoked_since(NOON)


def test_verification_allows_sixty_seconds_of_skew_and_no_more():
    reading = Reading(200, {"signInSessionsValidFromDateTime": "2026-11-24T12:00:00Z"}, "r")
    assert reading.confirms_revoke_sent_at(NOON + datetime.timedelta(seconds=60))
    assert not reading.confirms_revoke_sent_at(NOON + datetime.timedelta(seconds=61))
    assert not Reading(200, {}, "r").confirms_revoke_sent_at(NOON)


class FakeBatch:
    def __init__(self, outcomes):
        self.outcomes = outcomes
        self.requests = None

    def run(self, requests):
        self.requests = requests
        return self.outcomes


def test_read_many_selects_the_timestamp_once_per_user_and_keeps_failures():
    adele, ghost = UserReference.parse("adele@contoso.com"), UserReference.parse("ghost@contoso.com")
    batch = FakeBatch([BatchOutcome(200, {"id": "a1", "signInSessionsValidFromDateTime": "2026-11-24T12:00:00Z"},
                                    "r1", 1),
                       BatchOutcome(404, {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}, "r2", 1)])
    readings = read_many(batch, [adele, ghost, adele])
    assert batch.requests == [
        ("GET", "/users/adele@contoso.com?$select=id,userPrincipalName,userType,signInSessionsValidFromDateTime"),
        ("GET", "/users/ghost@contoso.com?$select=id,userPrincipalName,userType,signInSessionsValidFromDateTime")]
    assert readings[adele].at == NOON and readings[adele].user_id == "a1"
    assert not readings[ghost].ok and readings[ghost].error["code"] == "Request_ResourceNotFound"
    assert "not in the tenant" in describe_read_failure(readings[ghost], "verify")
    denied = Reading(403, None, "r3", {"code": "Authorization_RequestDenied", "message": "no"})
    assert "User.Read.All" in describe_read_failure(denied, "revoked_since")
