# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_revoke_sessions's incident options (groups, exclude, max_users, revoked_since, verify, report_path)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import uuid

import pytest
import responses

from ansible_collections.o365.admin.plugins.modules.o365_revoke_sessions import main
from tests.unit.plugins.modules.graph_options import GRAPH, graph_options

GROUP_ID = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
OLD = "2026-01-01T00:00:00Z"
RECENT = "2026-11-24T12:00:00Z"


def user_id(n):
    return str(uuid.UUID(int=n))


class FakeTenant:
    """$batch answers from a table of users: reads give the timestamp, revokes move it (unless frozen)."""

    def __init__(self, timestamps, frozen=(), revoke_status=None):
        self.timestamps = dict(timestamps)
        self.frozen = set(frozen)
        self.revoke_status = revoke_status or {}
        self.revoked = []

    def key(self, url):
        return url.split("?")[0].split("/")[2]

    def answer(self, item):
        key = self.key(item["url"])
        if key not in self.timestamps:
            return 404, {"error": {"code": "Request_ResourceNotFound", "message": "Gone."}}
        if item["method"] == "GET":
            return 200, {"id": key if "@" not in key else "id-" + key, "signInSessionsValidFromDateTime":
                         self.timestamps[key]}
        status = self.revoke_status.get(key, 200)
        if status != 200:
            return status, {"error": {"code": "TooManyRequests", "message": "Slow down."}}
        self.revoked.append(key)
        if key not in self.frozen:
            self.timestamps[key] = "2099-01-01T00:00:00Z"
        return 200, {"value": True}

    def callback(self, request):
        answers = []
        for item in json.loads(request.body)["requests"]:
            status, body = self.answer(item)
            answers.append({"id": item["id"], "status": status, "headers": {}, "body": body})
        return 200, {"request-id": "batch-rid"}, json.dumps({"responses": answers})

    def serve(self):
        responses.add_callback(responses.POST, GRAPH + "/$batch", callback=self.callback)


def serve_group(members):
    responses.get(GRAPH + "/groups/" + GROUP_ID, json={"id": GROUP_ID, "displayName": "Finance"})
    responses.get(GRAPH + "/groups/%s/transitiveMembers/microsoft.graph.user" % GROUP_ID,
                  json={"@odata.count": len(members), "value": [
                      {"id": user_id(n), "userPrincipalName": "user%d@contoso.com" % n, "userType": "Member"}
                      for n in members]})


@responses.activate
def test_max_users_refuses_a_group_before_any_revoke(run_module):
    serve_group(range(1, 6))
    failed, result = run_module(main, graph_options(groups=[GROUP_ID], max_users=4))
    assert failed and "5 users would be acted on, more than max_users (4)" in result["msg"]
    assert all(call.request.method == "GET" for call in responses.calls)


@responses.activate
def test_group_members_minus_exclude_are_revoked_by_object_id(run_module):
    serve_group(range(1, 5))
    tenant = FakeTenant({user_id(n): OLD for n in range(1, 5)})
    tenant.serve()
    failed, result = run_module(main, graph_options(groups=[GROUP_ID], exclude=["user2@contoso.com"]))
    assert not failed, result["msg"]
    assert tenant.revoked == [user_id(1), user_id(3), user_id(4)]
    assert [e["outcome"] for e in result["results"]] == ["revoked", "skipped", "revoked", "revoked"]
    assert result["results"][1]["skipped"] == "excluded" and result["results"][0]["group"] == GROUP_ID
    assert (result["revoked_count"], result["skipped_count"]) == (3, 1)


@responses.activate
def test_revoked_since_skips_users_already_revoked_and_check_mode_says_who_would_be(run_module):
    tenant = FakeTenant({"a@contoso.com": OLD, "b@contoso.com": RECENT})
    tenant.serve()
    failed, result = run_module(main, graph_options(users=["a@contoso.com", "b@contoso.com"],
                                                    revoked_since="2026-11-24T11:00:00Z"), check_mode=True)
    assert not failed and tenant.revoked == []
    assert [e["outcome"] for e in result["results"]] == ["would_revoke", "skipped"]
    assert result["results"][1]["skipped"] == "already revoked at %s" % RECENT
    failed, result = run_module(main, graph_options(users=["a@contoso.com", "b@contoso.com"],
                                                    revoked_since="2026-11-24T11:00:00Z"))
    assert not failed and tenant.revoked == ["a@contoso.com"]
    assert result["results"][0]["sessions_valid_from_before"] == OLD
    assert (result["revoked_count"], result["skipped_count"], result["changed"]) == (1, 1, True)


@responses.activate
def test_a_user_that_cannot_be_read_for_revoked_since_is_not_revoked(run_module):
    tenant = FakeTenant({"a@contoso.com": OLD})
    tenant.serve()
    failed, result = run_module(main, graph_options(users=["a@contoso.com", "ghost@contoso.com"], revoked_since="-1h"))
    assert failed and tenant.revoked == ["a@contoso.com"]
    assert result["failed_users"] == ["ghost@contoso.com"]
    assert "revoked_since could not be checked" in result["msg"] and "not in the tenant" in result["msg"]


@responses.activate
def test_verify_fails_the_user_whose_timestamp_stayed(run_module, tmp_path, no_sleep):
    tenant = FakeTenant({"a@contoso.com": OLD, "b@contoso.com": OLD}, frozen=["b@contoso.com"])
    tenant.serve()
    report = str(tmp_path / "report.json")
    failed, result = run_module(main, graph_options(users=["a@contoso.com", "b@contoso.com"], verify=True,
                                                    report_path=report))
    assert failed and "1 user(s) failed verification: b@contoso.com" in result["msg"]
    assert "read back is %s" % OLD in result["msg"]
    assert [e.get("verified") for e in result["results"]] == [True, False]
    # The stale-looking read is read again (Graph is eventually consistent) before b fails: 30 s of waits in all.
    assert [e.get("verify_reads") for e in result["results"]] == [1, 6] and sum(no_sleep) == 30.0
    assert result["verified_count"] == 1 and result["all_sessions_revoked"] is False
    with open(report) as handle:
        assert json.load(handle)["results"] == result["results"]


@responses.activate
def test_throttled_revokes_are_failures_not_successes_and_the_report_says_so(run_module, tmp_path, no_sleep):
    tenant = FakeTenant({"a@contoso.com": OLD, "b@contoso.com": OLD}, revoke_status={"b@contoso.com": 429})
    tenant.serve()
    report = str(tmp_path / "report.csv")
    failed, result = run_module(main, graph_options(users=["a@contoso.com", "b@contoso.com"], report_path=report,
                                                    max_retries=0))
    assert failed and result["failed_users"] == ["b@contoso.com"]
    with open(report) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 3 and ",failed," in lines[2] and "TooManyRequests" in lines[2]


@responses.activate
def test_one_user_already_revoked_is_not_revoked_again(run_module, tmp_path):
    responses.get(GRAPH + "/users/a@contoso.com", json={"id": "a1", "signInSessionsValidFromDateTime": RECENT})
    report = str(tmp_path / "one.csv")
    failed, result = run_module(main, graph_options(user="a@contoso.com", revoked_since="2026-11-24T11:00:00+00:00",
                                                    report_path=report))
    assert not failed and result["changed"] is False and result["outcome"] == "skipped"
    assert result["msg"] == "a@contoso.com was not revoked: already revoked at %s." % RECENT
    assert "skipped" not in result
    assert len(responses.calls) == 1 and responses.calls[0].request.method == "GET"
    with open(report) as handle:
        assert "already revoked at %s" % RECENT in handle.read()


@responses.activate
def test_one_user_verified_after_the_revoke(run_module, no_sleep):
    responses.post(GRAPH + "/users/a@contoso.com/revokeSignInSessions", json={"value": True})
    responses.get(GRAPH + "/users/a@contoso.com", json={"id": "a1", "signInSessionsValidFromDateTime": OLD})
    failed, result = run_module(main, graph_options(user="a@contoso.com", verify=True))
    assert failed and result["verified"] is False and "a@contoso.com failed verification" in result["msg"]


def test_bad_options_fail_before_any_call(run_module, tmp_path):
    failed, result = run_module(main, graph_options(users=["a@contoso.com"], revoked_since="2026-11-24"))
    assert failed and "revoked_since" in result["msg"]
    failed, result = run_module(main, graph_options(users=["a@contoso.com"], report_path=str(tmp_path / "no" / "r.json")))
    assert failed and "does not exist" in result["msg"]
    failed, result = run_module(main, graph_options(user="a@contoso.com", groups=["Finance"]))
    assert failed and "mutually exclusive" in result["msg"]


@responses.activate
@pytest.mark.parametrize("how, check_mode", [("revoked_since", False), ("revoked_since", True)])
def test_every_user_skipped_is_not_a_skipped_task_result(run_module, how, check_mode):
    # A top-level "skipped" would make Ansible ignore the user's changed_when / failed_when on such a run.
    tenant = FakeTenant({"a@contoso.com": RECENT, "b@contoso.com": RECENT})
    tenant.serve()
    users = ["a@contoso.com", "b@contoso.com"]
    options = dict(revoked_since="2026-11-24T11:00:00Z") if how == "revoked_since" else dict(exclude=users)
    failed, result = run_module(main, graph_options(users=users, **options), check_mode=check_mode)
    assert not failed and tenant.revoked == []
    assert [e["outcome"] for e in result["results"]] == ["skipped", "skipped"] and result["skipped_count"] == 2
    assert "skipped" not in result and result["changed"] is False


@responses.activate
@pytest.mark.parametrize("check_mode", [False, True])
def test_every_user_excluded_fails_like_an_empty_list(run_module, check_mode):
    # Nobody left to act on is not a success over nobody: refused before any call, as users: [] is.
    tenant = FakeTenant({"a@contoso.com": OLD})
    tenant.serve()
    failed, result = run_module(main, graph_options(users=["a@contoso.com", "A@contoso.com"],
                                                    exclude=["a@CONTOSO.com"]), check_mode=check_mode)
    assert failed and "Every user named (2) is excluded" in result["msg"] and "nothing was sent" in result["msg"]
    assert tenant.revoked == [] and len(responses.calls) == 0


@responses.activate
def test_a_full_disk_at_the_end_fails_the_task_with_every_result(run_module, tmp_path, monkeypatch):
    """Issue 18: a report that could not be written (here ENOSPC) ended in "unexpected error (OSError ...)" with no
    results, though the revokes were sent and answered."""
    import errno
    from ansible_collections.o365.admin.plugins.module_utils import _report

    tenant = FakeTenant({"a@contoso.com": OLD, "b@contoso.com": OLD})
    tenant.serve()

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_report, "write_atomically", full)
    failed, result = run_module(main, graph_options(users=["a@contoso.com", "b@contoso.com"],
                                                    report_path=str(tmp_path / "report.json")))
    assert failed and tenant.revoked == ["a@contoso.com", "b@contoso.com"]
    assert "The report could not be written to %s" % (tmp_path / "report.json") in result["msg"]
    assert "No space left on device" in result["report_error"] and "unexpected error" not in result["msg"]
    assert [e["outcome"] for e in result["results"]] == ["revoked", "revoked"] and result["revoked_count"] == 2
    assert "report_path" not in result


@responses.activate
def test_the_journal_holds_the_plan_then_each_outcome(run_module, tmp_path, monkeypatch):
    from ansible_collections.o365.admin.plugins.module_utils import _report

    tenant = FakeTenant({"a@contoso.com": OLD, "b@contoso.com": OLD}, revoke_status={"b@contoso.com": 404})
    tenant.serve()
    seen = []
    real_write = _report.Report.write

    def write(report, *args, **kwargs):  # what the journal holds just before the final report replaces it
        with open(report.path) as handle:
            seen.extend(json.loads(line) for line in handle)
        real_write(report, *args, **kwargs)

    monkeypatch.setattr(_report.Report, "write", write)
    report = str(tmp_path / "report.csv")
    failed, result = run_module(main, graph_options(users=["a@contoso.com", "b@contoso.com", "A@contoso.com"],
                                                    report_path=report))
    assert failed
    plan = seen[0]["plan"]
    assert (plan["users"], plan["writes"], plan["least_time_s"]) == (2, 2, 0) and "3000 writes per 150 s" in \
        plan["write_quota"]
    # Before the revokes leave, a line names their users (issue 25): a kill -9 after it loses nobody.
    assert seen[1]["sending"] == "revokeSignInSessions" and seen[1]["outcome"] == "unknown"
    assert sorted(u["user"] for u in seen[1]["users"]) == ["a@contoso.com", "b@contoso.com"]
    journaled = sorted((line["user"], line["outcome"]) for line in seen[2:])
    assert journaled == [("a@contoso.com", "revoked"), ("b@contoso.com", "failed")]
    assert seen[0]["run_id"]
    with open(report) as handle:  # the final report (CSV) replaced the journal
        assert handle.readline().startswith("user,user_id,")
