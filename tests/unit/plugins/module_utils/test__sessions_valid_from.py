# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._sessions_valid_from import (
    EARLIEST, VERIFY_REREAD_DELAYS_S, Reading, describe_read_failure, format_time, graph_clock, parse_since,
    parse_time, read_many, verify_revoked)
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


def test_revoked_since_takes_relative_forms_counted_back_from_graphs_clock_and_refuses_naive_times():
    assert parse_since("-2h", now=NOON).at(NOON) == NOON - datetime.timedelta(hours=2)
    assert parse_since("-90s").at(NOON) == NOON - datetime.timedelta(seconds=90)
    # Graph's Date is what "ago" counts back from, whatever the controller's clock says.
    graph_now = NOON + datetime.timedelta(minutes=7)
    assert parse_since("-1w", now=NOON).at(graph_now) == graph_now - datetime.timedelta(days=7)
    assert parse_since("2026-11-24T13:00:00+01:00", now=NOON).at(graph_now) == NOON
    with pytest.raises(ConfigurationError) as caught:
        parse_since("2026-11-24T12:00:00", now=NOON)
    assert "with an offset" in caught.value.message and "-2h" in caught.value.message
    with pytest.raises(ConfigurationError) as caught:
        parse_since("+2h", now=NOON)
    assert "in the future" in caught.value.message


@pytest.mark.parametrize("value, says", [
    ("2026-11-24T12:00:00+24:00", "beyond +/-14:00"),  # issue 18: ended in "unexpected error"
    ("2026-11-24T12:00:00-14:01", "beyond +/-14:00"),
    ("2026-11-24T12:00:00+05:99", "more than 59 minutes"),  # issue 18: was taken as +06:39
    ("-99999999999w", "more than 365 days"),  # issue 18: ended in "unexpected error"
    ("-" + "9" * 400 + "s", "more than 365 days"),
    ("-366d", "more than 365 days"),
    ("2026-11-24T12:06:00Z", "in the future"),
    ("2099-01-01T00:00:00Z", "in the future"),
    ("9999-12-31T23:59:59-14:00", "not a valid date-time"),
    ("0001-01-01T00:00:00+14:00", "not a valid date-time"),
    ("1969-12-31T23:59:59Z", "before 1970"),
    ("2026-02-30T12:00:00Z", "not a valid date-time"),
    ("2026-11-24T24:00:00Z", "not a valid date-time"),
    ("2026-11-24T12:00:60Z", "not a valid date-time"),
    ("\uff12\uff10\uff12\uff16-11-24T12:00:00Z", "not a date-time with an offset"),  # full-width digits
    ("2026-11-24T12:00:00Z\nx", "not a date-time with an offset"),
])
def test_revoked_since_out_of_bounds_is_a_clear_configuration_error(value, says):
    with pytest.raises(ConfigurationError) as caught:
        parse_since(value, now=NOON)
    assert says in caught.value.message and "revoked_since" in caught.value.message


@pytest.mark.parametrize("value, moment", [
    ("2026-11-24T12:05:00Z", NOON + datetime.timedelta(minutes=5)),  # within the 5 minutes allowed for skew
    ("2026-11-25T02:00:00+14:00", NOON),
    ("2026-11-23T22:00:00-14:00", NOON),
    ("2026-11-24T17:45:00+0545", NOON),
    ("1970-01-01T00:00:00Z", datetime.datetime(1970, 1, 1, tzinfo=UTC)),
])
def test_revoked_since_within_bounds_is_taken(value, moment):
    assert parse_since(value, now=NOON).at() == moment
    assert parse_since("-365d", now=NOON).ago == datetime.timedelta(days=365)


DIGITS = st.integers(0, 99).map(lambda n: "%02d" % n)
ISO_LIKE = st.builds(
    lambda year, month, day, hour, minute, second, fraction, offset: "%04d-%s-%sT%s:%s%s%s" % (
        year, month, day, hour, minute, second, offset),
    st.integers(0, 9999), DIGITS, DIGITS, DIGITS, DIGITS,
    st.sampled_from(["", ":00"]) | DIGITS.map(lambda d: ":" + d), st.none(),
    st.sampled_from(["Z", "z", ""]) | st.builds(lambda sign, h, m, colon: sign + h + colon + m,
                                                st.sampled_from("+-"), DIGITS, DIGITS, st.sampled_from(["", ":"])))
RELATIVE_LIKE = st.builds(lambda sign, amount, unit: sign + amount + unit, st.sampled_from(["-", "+", ""]),
                          st.text("0123456789", min_size=1, max_size=16), st.sampled_from("smhdwy"))


@settings(max_examples=int(os.environ.get("O365_FUZZ_EXAMPLES", "300")), deadline=None)
@given(value=ISO_LIKE | RELATIVE_LIKE | st.text(max_size=40))
def test_any_revoked_since_is_taken_and_round_trips_or_is_a_configuration_error(value):
    try:
        since = parse_since(value, now=NOON)
    except ConfigurationError as error:
        assert "revoked_since" in error.message
        return
    if since.moment is not None:
        assert EARLIEST <= since.moment <= NOON + datetime.timedelta(minutes=5)
        again = parse_since(format_time(since.moment), now=NOON)
        assert again.moment == since.moment and again.at() == since.at()
    else:
        assert datetime.timedelta(0) <= since.ago <= datetime.timedelta(days=365)
        again = parse_since("-%ds" % since.ago.total_seconds(), now=NOON)
        assert again.ago == since.ago and again.at(NOON) == since.at(NOON)


def test_format_is_graphs_utc_form():
    assert format_time(NOON) == "2026-11-24T12:00:00Z"
    assert format_time(parse_time("2026-11-24T13:00:00+01:00")) == "2026-11-24T12:00:00Z"


def test_revoked_since_is_at_or_after_and_a_user_never_revoked_is_not():
    reading = Reading(200, {"signInSessionsValidFromDateTime": "2026-11-24T12:00:00Z"}, "r")
    assert reading.revoked_since(NOON) and not reading.revoked_since(NOON + datetime.timedelta(seconds=1))
    assert not Reading(200, {"signInSessionsValidFromDateTime": None}, "r").revoked_since(NOON)


def test_a_relative_revoked_since_counts_back_from_the_date_of_graphs_answer_not_the_controllers_clock():
    """The controller's clock is 10 minutes behind Graph's: "-5m" means 5 minutes before Graph's now."""
    graph_now = datetime.datetime.now(UTC).replace(microsecond=0) + datetime.timedelta(minutes=10)
    revoked_3_minutes_ago = format_time(graph_now - datetime.timedelta(minutes=3))
    reading = Reading(200, {"signInSessionsValidFromDateTime": revoked_3_minutes_ago}, "r", date=graph_now)
    assert reading.revoked_since(parse_since("-5m"))
    assert not reading.revoked_since(parse_since("-2m"))


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


# --- verify: Graph is the clock --------------------------------------------------------------------------------

def at(moment, date=None):
    """A read of the user answering ``moment`` (a datetime, or None: never revoked) at Graph time ``date``."""
    text = format_time(moment) if moment is not None else None
    return Reading(200, {"id": "a1", "signInSessionsValidFromDateTime": text}, "r", date=date)


class ScriptedReads:
    """send() for verify_revoked: each call answers the next scripted Reading per user; records the waits."""

    def __init__(self, script):
        self.script = dict((reference, list(readings)) for reference, readings in script.items())
        self.calls = []
        self.waits = []

    def __call__(self, references):
        self.calls.append(list(references))
        return dict((reference, self.script[reference].pop(0)) for reference in references)


ADELE = UserReference.parse("adele@contoso.com")
BEN = UserReference.parse("ben@contoso.com")
# Graph's clock, 10 minutes ahead of any controller: nothing below depends on the controller's clock.
T = datetime.datetime(2030, 5, 1, 9, 30, 0, tzinfo=UTC)
SECOND = datetime.timedelta(seconds=1)


def verify(script, before, graph_time_before=None):
    send = ScriptedReads(script)
    verdicts = verify_revoked(send, list(script), before, graph_time_before, sleep=send.waits.append)
    return verdicts, send


def test_one_stale_read_after_a_revoke_that_took_effect_verifies_on_the_second_read():
    """Issue 18: the read right after the revoke returns the old value (Graph is eventually consistent)."""
    old = datetime.datetime(2026, 1, 1, tzinfo=UTC)
    before = {ADELE: at(old, date=T)}
    verdicts, send = verify({ADELE: [at(old, date=T + SECOND), at(T + SECOND, date=T + 2 * SECOND)]}, before)
    assert verdicts[ADELE].verified and verdicts[ADELE].reads == 2
    assert send.waits == [VERIFY_REREAD_DELAYS_S[0]]


def test_a_revoke_that_did_not_move_the_timestamp_fails_though_an_earlier_revoke_was_30_s_before():
    """Issue 18: the old check (controller's clock minus 60 s) passed this with the old value."""
    earlier_revoke = T - 30 * SECOND
    before = {ADELE: at(earlier_revoke, date=T)}
    reads = [at(earlier_revoke, date=T + n * SECOND) for n in range(1, 10)]
    verdicts, send = verify({ADELE: reads}, before)
    verdict = verdicts[ADELE]
    assert not verdict.verified and verdict.reads == 1 + len(VERIFY_REREAD_DELAYS_S)
    assert "before Graph's time 2030-05-01T09:30:00Z just before the revoke was sent" in verdict.reason
    assert send.waits == list(VERIFY_REREAD_DELAYS_S) and sum(send.waits) == 30.0


def test_a_timestamp_from_another_revoke_between_the_read_and_ours_is_not_ours():
    before = {ADELE: at(T - 100 * SECOND, date=T - 90 * SECOND)}
    verdicts, dummy = verify({ADELE: [at(T - 10 * SECOND)] * 6}, before, graph_time_before=T)
    assert not verdicts[ADELE].verified and "just before the revoke" in verdicts[ADELE].reason


def test_whole_seconds_an_earlier_revoke_in_the_same_second_as_graphs_time_still_counts():
    """Both signInSessionsValidFromDateTime and Date have whole seconds: a revoke sent after Graph's 09:30:00 that
    lands in that second leaves 09:30:00 where an earlier revoke of that second put it."""
    before = {ADELE: at(T, date=T + datetime.timedelta(milliseconds=900))}
    verdicts, send = verify({ADELE: [at(T, date=T + SECOND)]}, before)
    assert verdicts[ADELE].verified and verdicts[ADELE].reads == 1 and send.waits == []


def test_without_graphs_time_the_timestamp_must_move_past_the_value_read_before():
    before = {ADELE: at(T), BEN: at(T)}
    verdicts, dummy = verify({ADELE: [at(T + SECOND)], BEN: [at(T)] * 6}, before)
    assert verdicts[ADELE].verified and not verdicts[BEN].verified
    assert "not past the value read before the revoke (2030-05-01T09:30:00Z)" in verdicts[BEN].reason


def test_a_user_never_revoked_before_is_verified_by_any_timestamp_no_earlier_than_graphs_time():
    before = {ADELE: at(None, date=T), BEN: at(None, date=T)}
    verdicts, dummy = verify({ADELE: [at(T)], BEN: [at(None), at(T - SECOND), at(T + 5 * SECOND)]}, before)
    assert (verdicts[ADELE].verified, verdicts[ADELE].reads) == (True, 1)
    assert (verdicts[BEN].verified, verdicts[BEN].reads) == (True, 3)


def test_only_the_stale_users_are_read_again_and_a_failed_read_is_final():
    denied = Reading(403, None, "r3", {"code": "Authorization_RequestDenied", "message": "no"})
    ghost = UserReference.parse("ghost@contoso.com")
    before = {ADELE: at(T - SECOND, date=T), BEN: at(T - SECOND, date=T)}
    verdicts, send = verify({ADELE: [at(T + SECOND)], BEN: [at(T - SECOND), at(T + SECOND)], ghost: [denied]},
                            before)
    assert send.calls == [[ADELE, BEN, ghost], [BEN]]
    outcomes = [(verdicts[u].verified, verdicts[u].reads) for u in (ADELE, BEN, ghost)]
    assert outcomes == [(True, 1), (True, 2), (False, 1)]
    assert not verdicts[ghost].reading.ok


def test_graphs_time_before_each_revoke_may_be_given_per_user():
    """In a long bulk run, the revoke of a late $batch call went out long after the read before it: the Date of
    the answers before that call is the tighter bound."""
    before = {ADELE: at(T - 100 * SECOND, date=T - 90 * SECOND), BEN: at(T - 100 * SECOND, date=T - 90 * SECOND)}
    verdicts, dummy = verify({ADELE: [at(T - 10 * SECOND)] * 6, BEN: [at(T - 10 * SECOND)]}, before,
                             graph_time_before={ADELE: T, BEN: None})
    assert not verdicts[ADELE].verified and verdicts[BEN].verified


def test_a_fixed_revoked_since_is_judged_by_graphs_clock_not_the_controllers():
    # The controller runs 9 minutes behind Graph: a moment 1 minute before Graph's now is 8 minutes ahead of it.
    controller = datetime.datetime.now(datetime.timezone.utc)
    graph_now = controller + datetime.timedelta(minutes=9)
    value = format_time((graph_now - datetime.timedelta(minutes=1)).replace(microsecond=0))
    since = parse_since(value)  # no call made yet: only a moment a day ahead of the controller is refused here
    since.check_not_future(graph_now)
    with pytest.raises(ConfigurationError) as caught:
        since.check_not_future(graph_now - datetime.timedelta(minutes=10))
    assert "in the future: Graph's clock" in caught.value.message
    # No answer carried a Date: the controller's clock stands in, with the same allowance.
    with pytest.raises(ConfigurationError) as caught:
        since.check_not_future(None)
    assert "the controller's clock" in caught.value.message
    parse_since("-2h").check_not_future(None)  # a time ago is never in the future
    with pytest.raises(ConfigurationError):
        parse_since(format_time(controller + datetime.timedelta(days=2)))


def test_graphs_clock_is_the_latest_date_among_the_readings():
    class Reading:
        def __init__(self, date):
            self.date = date
    assert graph_clock([Reading(None), Reading(NOON), Reading(NOON - datetime.timedelta(seconds=3))]) == NOON
    assert graph_clock([Reading(None)]) is None and graph_clock([]) is None
