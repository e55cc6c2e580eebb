# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verdicts, pacing, paging, the local join and the proof record of plugins/module_utils/_evidence.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

import pytest

from ansible_collections.o365.admin.plugins.module_utils import _evidence as evidence
from ansible_collections.o365.admin.plugins.module_utils._errors import (
    AuthenticationError, ConfigurationError, GraphApiError, GraphTransportError)
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphResponse

UTC = datetime.timezone.utc
CUT = datetime.datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC)


def at(minutes):
    return (CUT + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.1234567Z")


def sign_in(minutes, code, interactive=False, session=None):
    return {"time": at(minutes), "interactive": interactive, "error_code": code, "session_id": session}


def streams(*failed, non_interactive=True):
    found = {"interactive": evidence.StreamRead("interactive", "v1.0")}
    if non_interactive:
        found["non_interactive"] = evidence.StreamRead("non_interactive", "beta")
    for name, reason in failed:
        found[name].reason = reason
    return found


LATE = CUT + datetime.timedelta(hours=2)
EARLY = CUT + datetime.timedelta(minutes=1)

# (case, cutoff, sign-ins after it, failed streams, now, verdict, reason)
CASES = [
    ("nothing, logs young", CUT, [], (), EARLY, "no_activity_yet", "logs_not_mature"),
    ("nothing, logs mature", CUT, [], (), LATE, "no_activity_yet", "no_attempt_seen"),
    ("refresh refused 50173", CUT, [sign_in(3, 50173)], (), LATE, "refused", "AADSTS50173"),
    ("disabled 50057 and 50173", CUT, [sign_in(3, 50057, True), sign_in(4, 50173)], (), EARLY, "refused",
     "AADSTS50057,AADSTS50173"),
    ("other failure only", CUT, [sign_in(3, 50126, True)], (), LATE, "no_activity_yet", "no_attempt_seen"),
    ("late refresh success", CUT, [sign_in(3, 50173), sign_in(12, 0)], (), LATE, "suspect", "success_after_cutoff"),
    ("refresh success after a fresh sign-in", CUT, [sign_in(5, 0, True), sign_in(6, 0)], (), LATE,
     "fresh_strong_sign_in", "interactive_success_after_cutoff"),
    ("refresh success before the fresh sign-in", CUT, [sign_in(4, 0), sign_in(5, 0, True)], (), LATE, "suspect",
     "success_after_cutoff"),
    ("refresh of another session than the fresh one", CUT, [sign_in(5, 0, True, "s1"), sign_in(6, 0, False, "s0")],
     (), LATE, "suspect", "success_after_cutoff"),
    ("refresh of the fresh session", CUT, [sign_in(5, 0, True, "s1"), sign_in(6, 0, False, "s1")], (), LATE,
     "fresh_strong_sign_in", "interactive_success_after_cutoff"),
    ("no licence", CUT, [], (("interactive", "no_licence"), ("non_interactive", "no_licence")), LATE,
     "unprovable", "no_licence"),
    ("beta refused, interactive refusal seen", CUT, [sign_in(3, 50057, True)],
     (("non_interactive", "no_permission"),), LATE, "unprovable", "no_permission"),
    ("throttled", CUT, [], (("interactive", "throttled"),), LATE, "unprovable", "throttled"),
    ("suspect beats an unreadable log", CUT, [sign_in(3, 0)], (("interactive", "unreachable"),), LATE, "suspect",
     "success_after_cutoff"),
    ("no cut-off", None, [], (), LATE, "unprovable", "no_cutoff"),
]


@pytest.mark.parametrize("case,cutoff,entries,failed,now,verdict,reason", CASES, ids=[c[0] for c in CASES])
def test_judge(case, cutoff, entries, failed, now, verdict, reason):
    got = evidence.judge(cutoff, entries, streams(*failed), now)
    assert got[:2] == (verdict, reason), case


def test_no_activity_yet_says_when_to_ask_again_by_the_slowest_log_read():
    assert evidence.judge(CUT, [], streams(), EARLY)[2] == CUT + datetime.timedelta(minutes=30)
    assert evidence.judge(CUT, [], streams(non_interactive=False), EARLY)[2] == CUT + datetime.timedelta(minutes=5)


# (failed streams, whether a later reading can cure them)
ASK_AGAIN = [
    ((("interactive", "no_licence"),), False),
    ((("interactive", "no_permission"),), False),
    ((("interactive", "too_many_entries"),), False),
    ((("interactive", "no_token"),), False),
    ((("interactive", "throttled"),), True),
    ((("interactive", "unreachable"),), True),
    ((("interactive", "graph_error"),), True),
    ((("interactive", "unexpected_answer"),), True),
    # One log that stays unreadable keeps the verdict unprovable however the other one recovers.
    ((("interactive", "throttled"), ("non_interactive", "no_permission")), False),
]


@pytest.mark.parametrize("failed,passing", ASK_AGAIN, ids=["+".join(r for n, r in c[0]) for c in ASK_AGAIN])
def test_unprovable_asks_again_only_when_time_can_cure_the_failed_read(failed, passing):
    verdict, dummy, ask = evidence.judge(CUT, [], streams(*failed), LATE)
    assert verdict == "unprovable"
    assert ask == (LATE + datetime.timedelta(minutes=1) if passing else None)


@pytest.mark.parametrize("error,reason", [
    (GraphApiError("x", 403, code="Authentication_RequestFromNonPremiumTenantOrB2CTenant"), "no_licence"),
    (GraphApiError("x", 403, code="Authorization_RequestDenied"), "no_permission"),
    (GraphApiError("x", 429, code="TooManyRequests"), "throttled"),
    (GraphApiError("x", 500, code="generalException"), "graph_error"),
    (GraphTransportError("x"), "unreachable"),
    (AuthenticationError("x", error="invalid_client", error_codes=[7000215]), "no_token"),
])
def test_failure_reasons(error, reason):
    assert evidence.failure_reason(error) == reason


@pytest.mark.parametrize("text,expected", [
    ("2026-12-06T10:00:00Z", CUT),
    ("2026-12-06T10:00:00.7215374Z", CUT.replace(microsecond=721537)),
    ("2026-12-06T11:00:00+01:00", CUT),
    ("2026-12-06T10:00:00", None),
    ("yesterday", None),
    (None, None),
])
def test_parse_time(text, expected):
    assert evidence.parse_time(text) == expected


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_pacer_never_lets_more_than_five_requests_into_any_ten_seconds():
    fake = FakeClock()
    pacer = evidence.ReportsPacer(5, 10.0, fake.clock, fake.sleep)
    sent = []
    for dummy in range(12):
        pacer.wait()
        sent.append(fake.now)
        fake.now += 0.1
    for index in range(len(sent) - 5):
        assert sent[index + 5] - sent[index] >= 10.0 - 1e-9
    assert pacer.calls == 12 and pacer.waited_s == pytest.approx(sum(fake.sleeps))
    assert fake.sleeps  # it did wait


def test_pacer_does_not_wait_when_requests_are_spread():
    fake = FakeClock()
    pacer = evidence.ReportsPacer(5, 10.0, fake.clock, fake.sleep)
    for dummy in range(10):
        pacer.wait()
        fake.now += 2.5
    assert fake.sleeps == []


class FakeClient:
    """Answers GET by path from pages; records every call (path, params)."""

    base_url = "https://graph.example/v1.0"
    transport = token_source = None

    def __init__(self, pages, failures=None):
        self.pages = pages
        self.failures = failures or {}
        self.calls = []

    def request(self, method, path, params=None, json_body=None, headers=None):
        self.calls.append((path, params))
        key = path if path.startswith("/") or path.startswith("http") else path
        if key in self.failures:
            raise self.failures[key]
        body = self.pages[key]
        return GraphResponse(200, body, "req", "creq", 1, date=LATE)


def test_read_log_follows_every_page_each_paced():
    link = "https://graph.example/v1.0/auditLogs/signIns?$skiptoken=abc"
    client = FakeClient({"/auditLogs/signIns": {"value": [{"id": "1"}], "@odata.nextLink": link},
                         link: {"value": [{"id": "2"}]}})
    fake = FakeClock()
    pacer = evidence.ReportsPacer(5, 10.0, fake.clock, fake.sleep)
    stream = evidence.read_log(client, evidence.StreamRead("interactive", "v1.0"), "/auditLogs/signIns",
                               {"$top": "1000"}, pacer)
    assert stream.ok and [i["id"] for i in stream.items] == ["1", "2"]
    assert stream.pages == 2 and pacer.calls == 2 and client.calls[1] == (link, None)


def test_read_log_keeps_a_failure_instead_of_raising():
    client = FakeClient({}, {"/auditLogs/signIns": GraphApiError(
        "licence", 403, code="Authentication_RequestFromNonPremiumTenantOrB2CTenant")})
    stream = evidence.read_log(client, evidence.StreamRead("interactive", "v1.0"), "/auditLogs/signIns", {},
                               evidence.ReportsPacer(clock=FakeClock().clock, sleep=FakeClock().sleep))
    assert not stream.ok and stream.reason == "no_licence"


def test_read_log_refuses_an_answer_that_is_not_a_page():
    client = FakeClient({"/auditLogs/signIns": {"error": "html"}})
    stream = evidence.read_log(client, evidence.StreamRead("interactive", "v1.0"), "/auditLogs/signIns", {},
                               evidence.ReportsPacer(clock=FakeClock().clock, sleep=FakeClock().sleep))
    assert stream.reason == "unexpected_answer"


def graph_sign_in(user_id, upn, minutes, code, interactive):
    return {"id": "s%s%d" % (user_id, minutes), "createdDateTime": at(minutes), "userId": user_id,
            "userPrincipalName": upn, "isInteractive": interactive, "status": {"errorCode": code},
            "signInEventTypes": ["interactiveUser" if interactive else "nonInteractiveUser"]}


def test_gather_joins_many_users_locally_with_three_queries():
    users = [evidence.Subject("u%d@x" % n, "id-%d" % n, "u%d@x" % n, CUT) for n in range(50)]
    non_interactive = [graph_sign_in("id-%d" % n, "u%d@x" % n, 3, 50173, False) for n in range(50)]
    non_interactive.append(graph_sign_in("id-7", "u7@x", 9, 0, False))           # the suspect
    non_interactive.append(graph_sign_in("id-8", "u8@x", -5, 0, False))          # before the cut-off: ignored
    non_interactive.append(graph_sign_in("stranger", "s@x", 3, 0, False))        # not ours
    audit = [{"activityDisplayName": "Update StsRefreshTokenValidFrom Timestamp", "activityDateTime": at(0),
              "correlationId": "c-%d" % n, "result": "success",
              "initiatedBy": {"app": {"appId": "a", "displayName": "containment"}},
              "targetResources": [{"id": "id-%d" % n, "userPrincipalName": "u%d@x" % n, "type": "User"}]}
             for n in range(50)]
    client = FakeClient({"/auditLogs/directoryAudits": {"value": audit},
                         "/auditLogs/signIns": {"value": []}})
    beta = FakeClient({"/auditLogs/signIns": {"value": non_interactive}})
    original = evidence.beta_client
    evidence.beta_client = lambda c: beta
    try:
        fake = FakeClock()
        result = evidence.gather_evidence(client, users, pacer=evidence.ReportsPacer(clock=fake.clock,
                                                                                     sleep=fake.sleep))
    finally:
        evidence.beta_client = original
    assert len(client.calls) + len(beta.calls) == 3
    assert result["calls"] == {"v1.0": 2, "beta": 1}
    assert result["summary"]["refused"] == 49 and result["suspect_users"] == ["u7@x"]
    assert "signInEventTypes/any(t: t eq 'nonInteractiveUser')" in beta.calls[0][1]["$filter"]
    first = result["users"][0]
    assert first["audit"]["revoke_state"] == "found" and first["audit"]["revoke"][0]["initiated_by"] == "containment"
    assert first["sign_ins"][0]["api"] == "beta" and first["refused_count"] == 1
    assert result["users"][8]["success_count"] == 0  # its success came before the cut-off


def test_records_of_the_role_and_of_the_module():
    role = {"kind": "containment", "users": [
        {"user": "a@x", "user_id": "id-a", "user_principal_name": "a@x", "sessions_valid_from_after": at(0)},
        {"user": "b@x", "user_id": None, "user_principal_name": None, "sessions_valid_from_after": None},
        {"user": "a@x", "user_id": "id-a", "user_principal_name": "a@x", "sessions_valid_from_after": at(0)}]}
    subjects = evidence.subjects_from_record(role)
    expected = [("a@x", "id-a", CUT.replace(microsecond=123456)), ("b@x", None, None)]
    assert [(s.user, s.user_id, s.cutoff) for s in subjects] == expected
    assert subjects[1].keys() == ["b@x"]
    report = {"report_format_version": 1, "results": [{"user": "id-c", "sessions_valid_from": "2026-12-06T10:00:00Z"}]}
    assert evidence.subjects_from_record(report)[0].keys() == ["id-c"]
    assert evidence.subjects_from_record(role, CUT)[1].cutoff == CUT
    with pytest.raises(ConfigurationError):
        evidence.subjects_from_record({"something": "else"})


def result_for(summary):
    return {"graph_time": "2026-12-06T12:00:00Z", "summary": summary, "reads": {}, "calls": {}, "users": [],
            "suspect_users": []}


def test_proof_record_keeps_every_reading_and_never_replaces_another_file(tmp_path):
    proof, record = str(tmp_path / "c.proof.json"), str(tmp_path / "c.json")
    evidence.write_proof(proof, record, result_for({"no_activity_yet": 1}), run_id="r1")
    evidence.write_proof(proof, record, result_for({"refused": 1}), run_id="r2")
    with open(proof) as handle:
        document = json.load(handle)
    assert [r["run_id"] for r in document["readings"]] == ["r1", "r2"]
    assert document["latest"]["run_id"] == "r2" and document["record_path"] == record
    with pytest.raises(ConfigurationError):
        evidence.write_proof(proof, str(tmp_path / "other.json"), result_for({}))
    other = tmp_path / "notes.json"
    other.write_text('{"mine": true}')
    with pytest.raises(ConfigurationError):
        evidence.write_proof(str(other), record, result_for({}))
    assert json.loads(other.read_text()) == {"mine": True}


def test_more_pages_than_allowed_is_a_failed_read_never_a_partial_one():
    link = "https://graph.example/v1.0/auditLogs/signIns?$skiptoken=abc"
    client = FakeClient({"/auditLogs/signIns": {"value": [{"id": "1"}], "@odata.nextLink": link},
                         link: {"value": [{"id": "2"}]}})
    fake = FakeClock()
    stream = evidence.read_log(client, evidence.StreamRead("interactive", "v1.0"), "/auditLogs/signIns", {},
                               evidence.ReportsPacer(clock=fake.clock, sleep=fake.sleep), max_pages=1)
    assert stream.reason == "too_many_entries" and len(client.calls) == 1


def test_a_merged_records_user_of_another_tenant_is_unprovable_here():
    users = [evidence.Subject("a@x", "id-a", "a@x", CUT, tenant="tenant-one"),
             evidence.Subject("b@y", "id-b", "b@y", CUT, tenant="TENANT-TWO"),
             evidence.Subject("c@x", "id-c", "c@x", CUT)]
    client = FakeClient({"/auditLogs/directoryAudits": {"value": []}, "/auditLogs/signIns": {"value": [
        graph_sign_in("id-%s" % n, "%s@x" % n, 3, 50057, True) for n in "abc"]}})
    fake = FakeClock()
    result = evidence.gather_evidence(client, users, non_interactive=False, tenant="Tenant-Two",
                                      pacer=evidence.ReportsPacer(clock=fake.clock, sleep=fake.sleep))
    assert [(u["verdict"], u["reason"]) for u in result["users"]] == [
        ("unprovable", "other_tenant"), ("refused", "AADSTS50057"), ("refused", "AADSTS50057")]


# --- Waiting while the logs mature ----------------------------------------------------------------------------------
def user(verdict, reason, ask=None, name="a@x"):
    return {"user": name, "verdict": verdict, "reason": reason, "ask_again_after": ask}


MATURE_AT = "2026-12-06T10:05:00Z"
NOW = "2026-12-06T10:01:00Z"
# (case, the reading's users, whether a later reading can change one of them)
FINAL = [
    ("refused", [user("refused", "AADSTS50173")], False),
    ("fresh strong sign-in", [user("fresh_strong_sign_in", "interactive_success_after_cutoff")], False),
    ("suspect", [user("suspect", "success_after_cutoff")], False),
    ("nothing in mature logs", [user("no_activity_yet", "no_attempt_seen")], False),
    ("no licence", [user("unprovable", "no_licence")], False),
    ("no permission", [user("unprovable", "no_permission")], False),
    ("too many entries", [user("unprovable", "too_many_entries")], False),
    ("no cut-off", [user("unprovable", "no_cutoff")], False),
    ("other tenant", [user("unprovable", "other_tenant")], False),
    ("logs not mature", [user("no_activity_yet", "logs_not_mature", MATURE_AT)], True),
    ("throttled", [user("unprovable", "throttled", "2026-12-06T10:02:00Z")], True),
    ("one refused, one young", [user("refused", "AADSTS50057"),
                                user("no_activity_yet", "logs_not_mature", MATURE_AT, "b@x")], True),
]


@pytest.mark.parametrize("case,users,changes", FINAL, ids=[c[0] for c in FINAL])
def test_which_verdicts_a_later_reading_can_change(case, users, changes):
    result = {"users": users, "graph_time": NOW}
    assert any(evidence.can_change(u) for u in users) is changes, case
    assert (evidence.next_pause(result, 600) is not None) is changes, case


# (case, ask_again_after of the waiting users, seconds left, pause)
PAUSES = [
    ("mature in 4 minutes: poll every 30 s", [MATURE_AT], 600, 30.0),
    ("due in 12 s", ["2026-12-06T10:01:12Z"], 600, 12.0),
    ("the earliest of two", ["2026-12-06T10:01:20Z", "2026-12-06T10:01:12Z"], 600, 12.0),
    ("due now: the floor", [NOW], 600, 5.0),
    ("overdue: the floor", ["2026-12-06T10:00:00Z"], 600, 5.0),
    ("never past the end of the wait", [MATURE_AT], 7, 7.0),
    ("the wait is over", [MATURE_AT], 0, None),
    ("the wait is past", [MATURE_AT], -3, None),
]


@pytest.mark.parametrize("case,asks,left,pause", PAUSES, ids=[c[0] for c in PAUSES])
def test_next_pause(case, asks, left, pause):
    result = {"graph_time": NOW, "users": [user("no_activity_yet", "logs_not_mature", ask, "u%d@x" % n)
                                           for n, ask in enumerate(asks)] + [user("refused", "AADSTS50173")]}
    assert evidence.next_pause(result, left) == pause, case


class MaturingClient(FakeClient):
    """The interactive log shows the refusal from the ``shows_at``-th read of it on (the clock is the fake one)."""

    def __init__(self, fake, shows_at, refusal=50057, throttled_reads=()):
        FakeClient.__init__(self, {})
        self.fake = fake
        self.shows_at = shows_at
        self.refusal = refusal
        self.throttled_reads = throttled_reads
        self.reads = 0

    def request(self, method, path, params=None, json_body=None, headers=None):
        self.calls.append((path, params))
        # Graph's clock: a minute after the cut-off when the wait starts, then as the fake clock goes.
        graph_now = CUT + datetime.timedelta(minutes=1, seconds=self.fake.now)
        if path != "/auditLogs/signIns":
            return GraphResponse(200, {"value": []}, "req", "creq", 1, date=graph_now)
        self.reads += 1
        if self.reads in self.throttled_reads:
            raise GraphApiError("slow down", 429, code="TooManyRequests")
        value = [graph_sign_in("id-a", "a@x", 1, self.refusal, True)] if self.reads >= self.shows_at else []
        return GraphResponse(200, {"value": value}, "req", "creq", 1, date=graph_now)


def settle(client, fake, wait_s):
    readings = []
    result = evidence.gather_until_settled(
        client, [evidence.Subject("a@x", "id-a", "a@x", CUT)], wait_s, clock=fake.clock, sleep=fake.sleep,
        on_reading=lambda reading, attempt: readings.append((attempt, reading["users"][0]["verdict"])),
        non_interactive=False)
    return result, readings


# (case, the read of the interactive log that first shows the refusal, throttled reads, wait s,
#  the readings' verdicts, pending at the end)
SETTLE = [
    ("no wait: one reading", 2, (), 0, ["no_activity_yet"], ["a@x"]),
    ("refused on the third reading", 3, (), 300, ["no_activity_yet", "no_activity_yet", "refused"], []),
    ("refused at once: no second reading", 1, (), 300, ["refused"], []),
    ("the wait ends first", 99, (), 50, ["no_activity_yet", "no_activity_yet", "no_activity_yet"], ["a@x"]),
    ("throttled, then refused", 1, (1,), 300, ["unprovable", "refused"], []),
]


@pytest.mark.parametrize("case,shows_at,throttled,wait_s,verdicts,pending", SETTLE, ids=[c[0] for c in SETTLE])
def test_gather_until_settled_reads_again_until_no_verdict_can_change(
        case, shows_at, throttled, wait_s, verdicts, pending):
    fake = FakeClock()
    client = MaturingClient(fake, shows_at, throttled_reads=throttled)
    result, readings = settle(client, fake, wait_s)
    assert readings == list(enumerate(verdicts, 1)), case
    assert result["readings"] == len(verdicts) and result["pending_users"] == pending
    assert result["users"][0]["verdict"] == verdicts[-1]
    assert result["waited_s"] == pytest.approx(fake.now) and fake.now <= wait_s + 1e-9
    # Two requests per reading: the audit log and the interactive sign-ins.
    assert len(client.calls) == 2 * len(verdicts)


def test_waiting_for_a_final_licence_failure_does_not_spend_the_wait():
    fake = FakeClock()
    client = FakeClient({"/auditLogs/directoryAudits": {"value": []}}, {"/auditLogs/signIns": GraphApiError(
        "licence", 403, code="Authentication_RequestFromNonPremiumTenantOrB2CTenant")})
    result, readings = settle(client, fake, 3600)
    assert readings == [(1, "unprovable")] and fake.sleeps == [] and result["pending_users"] == []


def test_readings_of_one_waiting_run_share_its_run_id_in_the_proof(tmp_path):
    proof, record = str(tmp_path / "c.proof.json"), str(tmp_path / "c.json")
    evidence.write_proof(proof, record, result_for({"no_activity_yet": 1}), run_id="r1", attempt=1)
    evidence.write_proof(proof, record, result_for({"refused": 1}), run_id="r1", attempt=2)
    with open(proof) as handle:
        document = json.load(handle)
    assert [(r["run_id"], r["attempt"]) for r in document["readings"]] == [("r1", 1), ("r1", 2)]
    assert document["latest"]["attempt"] == 2 and document["latest"]["summary"] == {"refused": 1}
