# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_containment: the stages, the outcome rules and the summary line, with a stub client answering $batch."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json

import pytest

from ansible_collections.o365.admin.plugins.module_utils._containment import (
    BLOCK, REVOKE, ContainmentRecord, ContainmentRun, already_contained, contain, steps_for, summary_line)
from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError, TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphResponse
from ansible_collections.o365.admin.plugins.module_utils._user_read import UserRead

UTC = datetime.timezone.utc
GRAPH_NOW = datetime.datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


class Stats:
    retries = 0


class Transport:
    stats = Stats()


class StubTenant:
    """Answers $batch like Graph for users ``u<n>@contoso.com``; ``item_answers`` scripts an item's answer by
    (method, user) as (status, body)."""

    transport = Transport()

    def __init__(self, count):
        self.users = {}
        for n in range(count):
            upn = "u%d@contoso.com" % n
            self.users[upn] = {"id": "00000000-0000-4000-8000-%012d" % n, "userPrincipalName": upn,
                               "userType": "Member", "accountEnabled": True, "onPremisesSyncEnabled": None,
                               "signInSessionsValidFromDateTime": "2026-01-01T00:00:00Z"}
        self.item_answers = {}
        self.calls = []
        self.clock = GRAPH_NOW

    def request(self, method, path, params=None, json_body=None, headers=None):
        self.clock += datetime.timedelta(seconds=1)
        if path != "/$batch":  # a lone request goes straight to Graph
            self.calls.append([method + " " + path])
            answer = self.answer(dict(method=method, url=path, body=json_body))
            assert 200 <= answer["status"] < 300, answer  # the tests script refusals inside $batch only
            body = answer.get("body")
            if isinstance(body, str):
                return GraphResponse(answer["status"], None, "rid", None, 1, has_body=True, received="text/html",
                                     date=self.clock)
            return GraphResponse(answer["status"], body, "rid", None, 1, date=self.clock)
        self.calls.append([item["method"] + " " + item["url"] for item in json_body["requests"]])
        answers = [dict(self.answer(item), id=item["id"]) for item in json_body["requests"]]
        return GraphResponse(200, {"responses": answers}, "rid-call", None, 1, date=self.clock)

    def answer(self, item):
        upn = item["url"].split("/users/")[1].split("?")[0].split("/")[0]
        kind = "revoke" if item["url"].endswith("/revokeSignInSessions") else item["method"]
        scripted = self.item_answers.get((kind, upn))
        if isinstance(scripted, list):  # answers for the next attempts, then Graph's own
            scripted = scripted.pop(0) if scripted else None
        if scripted is not None:
            status, body = scripted[:2]
            return {"status": status, "body": body, "headers": scripted[2] if len(scripted) > 2 else {}}
        user = self.users[upn]
        if kind == "GET":
            select = item["url"].split("$select=")[1].split(",")
            return {"status": 200, "body": dict((name, user[name]) for name in select)}
        if kind == "PATCH":
            user["accountEnabled"] = item["body"]["accountEnabled"]
            return {"status": 204}
        user["signInSessionsValidFromDateTime"] = self.clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"status": 200, "body": {"value": True}}


class Module:
    def __init__(self, check_mode=False, diff=False, **params):
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []
        self.params = dict(user=None, users=None, groups=None, exclude=None, max_users=1000, batch_concurrency=4,
                           max_retries=0, tenant_id="contoso.onmicrosoft.com", incident="INC-9",
                           order="block_then_revoke", block_sign_in=True, revoke_sessions=True, revoked_since=None,
                           verify=True, report_path=None, record_tenant=None, absent_is_done=False)
        self.params.update(params)

    def warn(self, text):
        self.warnings.append(text)


def upns(count):
    return ["u%d@contoso.com" % n for n in range(count)]


def test_steps_follow_order_and_switches():
    base = dict(order="block_then_revoke", block_sign_in=True, revoke_sessions=True)
    assert steps_for(base) == (BLOCK, REVOKE)
    assert steps_for(dict(base, order="revoke_then_block")) == (REVOKE, BLOCK, REVOKE)
    assert steps_for(dict(base, order="revoke_then_block", block_sign_in=False)) == (REVOKE,)
    assert steps_for(dict(base, revoke_sessions=False)) == (BLOCK,)
    with pytest.raises(ConfigurationError):
        steps_for(dict(base, block_sign_in=False, revoke_sessions=False))


def read_of(enabled, sessions, status=200):
    body = {"id": "x", "accountEnabled": enabled, "signInSessionsValidFromDateTime": sessions}
    answer = BatchOutcome(status, body if status == 200 else None, "rid", date=GRAPH_NOW)
    return UserRead(answer, {"account_enabled": enabled, "sessions_valid_from": sessions} if status == 200 else {})


def test_already_contained_needs_the_block_and_a_revoke_since_the_moment():
    since = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    steps = (BLOCK, REVOKE)
    assert already_contained(read_of(False, "2026-11-24T09:30:00Z"), steps, since)
    assert not already_contained(read_of(True, "2026-11-24T09:30:00Z"), steps, since)
    assert not already_contained(read_of(False, "2026-11-24T08:59:59Z"), steps, since)
    # Without a moment nothing proves the revoke: the user is written.
    assert not already_contained(read_of(False, "2026-11-24T09:30:00Z"), steps, None)
    assert not already_contained(read_of(None, None, status=503), steps, since)


def test_1000_users_cost_200_calls_in_four_waves_block_before_revoke():
    tenant = StubTenant(1000)
    result = ContainmentRun(Module(users=upns(1000)), tenant).run()
    assert result["contained_count"] == 1000 and result["verified_count"] == 1000
    assert len(tenant.calls) == 200
    kinds = [set(item.split(" ")[0] + ("R" if item.endswith("revokeSignInSessions") else "") for item in call)
             for call in tenant.calls]
    assert kinds == [{"GET"}] * 50 + [{"PATCH"}] * 50 + [{"POSTR"}] * 50 + [{"GET"}] * 50


def test_a_proxy_page_for_one_write_is_unknown_and_a_throttled_user_is_retried():
    tenant = StubTenant(3)
    tenant.item_answers[("revoke", "u1@contoso.com")] = (200, "<html>Access policy</html>")
    tenant.item_answers[("PATCH", "u2@contoso.com")] = [
        (429, {"error": {"code": "TooManyRequests", "message": "slow down"}}, {"Retry-After": "0"})]
    module = Module(users=upns(3), max_retries=2)
    with pytest.raises(TaskFailed) as failure:
        contain(module, tenant)
    result = failure.value.result
    assert result["retries"] == 1 and result["results"][2]["sign_in_outcome"] == "blocked"
    assert [e["outcome"] for e in result["results"]] == ["contained", "unknown", "contained"]
    unknown = result["results"][1]
    assert unknown["changed"] is None and unknown["revoke_outcome"] == "unknown"
    assert "Unknown (revoke sessions: HTTP 200" in failure.value.message and "msg" not in result


def test_a_user_that_cannot_be_read_is_not_written():
    tenant = StubTenant(2)
    tenant.item_answers[("GET", "u0@contoso.com")] = (503, {"error": {"code": "ServiceUnavailable", "message": "x"}})
    with pytest.raises(TaskFailed) as failure:
        contain(Module(users=upns(2)), tenant)
    result = failure.value.result
    assert [e["outcome"] for e in result["results"]] == ["failed", "contained"]
    assert not any("u0@" in item for call in tenant.calls[1:] for item in call if not item.startswith("GET"))


def test_a_revoke_that_does_not_move_the_timestamp_fails_verification(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    tenant = StubTenant(1)
    tenant.item_answers[("revoke", "u0@contoso.com")] = (200, {"value": True})  # accepted, timestamp kept
    with pytest.raises(TaskFailed) as failure:
        contain(Module(users=upns(1)), tenant)
    entry = failure.value.result["results"][0]
    assert entry["outcome"] == "failed" and entry["verified"] is False and entry["error"]["step"] == "verify"
    assert entry["verify_reads"] == 6


def test_summary_says_a_shared_cause_once_with_the_users_counted():
    results = [dict(user="u%d" % n, outcome="failed", status_code=403,
                    error={"code": "Authorization_RequestDenied", "step": "block sign-in"}) for n in range(7)]
    results.append(dict(user="v", outcome="contained"))
    line = summary_line(dict(results=results, contained_count=1, failed_count=7), "/r.json")
    assert line.count("Authorization_RequestDenied") == 1
    assert "7 user(s): u0, u1, u2, u3, u4 and 2 more." in line
    assert line.startswith("Containment: contained 1, failed 7.") and line.endswith("Record: /r.json.")


def test_check_mode_summary_names_who_would_be_contained():
    results = [dict(user="u%d" % n, outcome="would_contain") for n in range(7)]
    results.append(dict(user="x", outcome="excluded"))
    line = summary_line(dict(results=results, check_mode=True, would_contain_count=7, excluded_count=1,
                             write_order=["block", "revoke"]))
    assert line.startswith("Check mode (nothing written): would_contain 7, excluded 1.")
    assert "Would block and revoke: u0, u1, u2, u3, u4 and 2 more." in line and "x" not in line.split("excluded 1.")[1]


NOT_FOUND = (404, {"error": {"code": "Request_ResourceNotFound", "message": "Resource 'u1' does not exist."}})


def test_a_deleted_leaver_is_absent_only_when_asked_and_read_twice():
    # Two such users, so that the second read is a $batch call too (the stub answers refusals in $batch only).
    gone = ["u1@contoso.com", "u2@contoso.com"]

    def tenant_with(answers):
        tenant = StubTenant(4)
        for upn in gone:
            tenant.item_answers[("GET", upn)] = list(answers)
        return tenant

    tenant = tenant_with([NOT_FOUND, NOT_FOUND])
    result = contain(Module(users=upns(4), absent_is_done=True), tenant)
    by_user = dict((e["user"], e) for e in result["results"])
    assert [by_user[upn]["outcome"] for upn in gone] == ["absent", "absent"]
    assert not any(by_user[upn]["changed"] for upn in gone)
    assert result["absent_count"] == 2 and result["contained_count"] == 2 and result["failed_count"] == 0
    assert not any(upn in call for calls in tenant.calls for call in calls if not call.startswith("GET")
                   for upn in gone)
    assert "absent 2" in result["msg"]

    # One 404 is not proof (an eventually consistent directory): read again, found, contained.
    result = contain(Module(users=upns(4), absent_is_done=True), tenant_with([NOT_FOUND]))
    assert result["contained_count"] == 4 and result["absent_count"] == 0

    # Off (the default): a user Graph does not have fails the task.
    with pytest.raises(TaskFailed) as failure:
        contain(Module(users=upns(4)), tenant_with([NOT_FOUND, NOT_FOUND]))
    assert [e["outcome"] for e in failure.value.result["results"]] == ["contained", "failed", "failed", "contained"]


def test_the_journal_names_each_calls_users_before_the_call_leaves(tmp_path):
    record_path = str(tmp_path / "record.json")
    record = ContainmentRecord(record_path)
    journal = record.journal()
    seen = []

    class Watching(StubTenant):
        def request(self, method, path, params=None, json_body=None, headers=None):
            if path == "/$batch" and json_body["requests"][0]["method"] != "GET":
                with open(record_path) as handle:
                    lines = [json.loads(line) for line in handle if line.strip()]
                named = set(u["user"] for line in lines if "sending" in line for u in line["users"])
                seen.append(all(item["url"].split("/")[2] in named for item in json_body["requests"]))
            return StubTenant.request(self, method, path, params, json_body, headers)

    contain(Module(users=upns(3), report_path=record_path), Watching(3), journal=journal, record=record)
    journal.close()
    record.close()
    assert seen == [True, True]  # the block's call and the revoke's call, each journalled before it left


def test_an_exclude_entry_naming_nobody_is_warned_and_kept():
    tenant = StubTenant(2)
    typos = ["00000000-0000-4000-8000-0000000000aa", "00000000-0000-4000-8000-0000000000bb"]
    for typo in typos:  # two, so that their reads go in one $batch call
        tenant.item_answers[("GET", typo)] = NOT_FOUND
    module = Module(users=upns(2), exclude=typos)
    result = contain(module, tenant)
    assert result["exclude_not_found"] == typos and result["record"]["summary"]["exclude_not_found"] == typos
    assert any(typos[0] in warning for warning in module.warnings)
    assert result["contained_count"] == 2


def test_the_record_carries_what_a_release_needs(tmp_path):
    tenant = StubTenant(2)
    tenant.users["u1@contoso.com"]["accountEnabled"] = False
    path = str(tmp_path / "record.json")
    result = contain(Module(users=upns(2), report_path=path), tenant, record=ContainmentRecord(path))
    with open(path) as handle:
        record = json.load(handle)
    assert "users" not in result["record"] and record["users"] == result["results"]
    assert (record["schema_version"], record["kind"], record["check_mode"]) == (1, "containment", False)
    first, second = record["users"]
    for name in ("user_id", "user_principal_name", "tenant", "incident", "run_id", "outcome",
                 "account_enabled_before", "account_enabled_after", "account_enabled_changed",
                 "sessions_valid_from_before", "sessions_valid_from_after"):
        assert name in first
    assert (first["account_enabled_changed"], second["account_enabled_changed"]) == (True, False)
    assert first["sessions_valid_from_after"] == tenant.users["u0@contoso.com"]["signInSessionsValidFromDateTime"]
    assert first["run_id"] == record["run_id"] == result["run_id"]


class StopAfterBlocks:
    """An interruption that comes once the block wave has been answered."""

    reason = "interrupted by SIGTERM"

    def __init__(self, tenant):
        self.tenant = tenant

    def is_set(self):
        return any(item.startswith("PATCH") for call in self.tenant.calls for item in call)


def test_an_interrupted_run_sends_nothing_more_and_every_user_has_an_outcome():
    tenant = StubTenant(3)
    stop = StopAfterBlocks(tenant)
    with pytest.raises(TaskFailed) as failure:
        contain(Module(users=upns(3)), tenant, stop=stop)
    result = failure.value.result
    assert result["interrupted"] == "interrupted by SIGTERM"
    assert not any(item.endswith("revokeSignInSessions") for call in tenant.calls for item in call)
    assert [(e["outcome"], e["sign_in_outcome"], e["revoke_outcome"]) for e in result["results"]] == [
        ("failed", "blocked", "failed")] * 3
    assert failure.value.message.startswith("The run stopped (interrupted by SIGTERM)")
