# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_containment_evidence_info's options and result, against a mocked Graph (responses); sleeping patched out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from ansible_collections.o365.admin.plugins.module_utils import _evidence
from ansible_collections.o365.admin.plugins.modules.o365_containment_evidence_info import main
from tests.unit.plugins.modules.graph_options import GRAPH_ENDPOINT, graph_options

USER_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
UPN = "adele@contoso.com"


def page(entries):
    return 200, {"Date": "Sun, 06 Dec 2026 12:00:00 GMT", "request-id": "rid"}, json.dumps({"value": entries})


@pytest.fixture
def graph(monkeypatch):
    monkeypatch.setattr(_evidence.time, "sleep", lambda seconds: None)
    logs = {"audit": [], "v1.0": [], "beta": []}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.GET, GRAPH_ENDPOINT + "/v1.0/auditLogs/directoryAudits",
                          callback=lambda request: page(logs["audit"]))
        for version in ("v1.0", "beta"):
            mock.add_callback(responses.GET, re.compile(re.escape(GRAPH_ENDPOINT) + "/%s/auditLogs/signIns" % version),
                              callback=lambda request, version=version: page(logs[version]))
        logs["calls"] = mock.calls
        yield logs


def test_users_without_a_cutoff_fail_before_any_call(run_module, graph):
    failed, result = run_module(main, graph_options(users=[UPN]))
    assert failed and "users needs cutoff" in result["msg"] and len(graph["calls"]) == 0


def test_a_cutoff_without_an_offset_is_refused(run_module, graph):
    failed, result = run_module(main, graph_options(users=[UPN], cutoff="2026-12-06T10:00:00"))
    assert failed and "with an offset" in result["msg"] and len(graph["calls"]) == 0


def test_a_record_that_is_not_json_is_refused(run_module, graph, tmp_path):
    record = tmp_path / "record.json"
    record.write_text("<html>")
    failed, result = run_module(main, graph_options(record_path=str(record)))
    assert failed and "is not JSON" in result["msg"]


def test_a_suspect_is_warned_and_the_beta_is_named(run_module, graph):
    graph["beta"].append({"id": "1", "createdDateTime": "2026-12-06T10:05:00Z", "userId": USER_ID,
                          "userPrincipalName": UPN, "status": {"errorCode": 0},
                          "signInEventTypes": ["nonInteractiveUser"]})
    failed, result = run_module(main, graph_options(users=[UPN], cutoff="2026-12-06T10:00:00Z"), check_mode=True)
    assert not failed and result["changed"] is False
    assert result["users"][0]["verdict"] == "suspect" and result["suspect_users"] == [UPN]
    assert result["users"][0]["sign_ins"][0]["api"] == "beta" and result["reads"]["non_interactive"]["api"] == "beta"
    assert any(warning.startswith("SUSPECT: %s" % UPN) for warning in result["warnings"])
    beta = [c for c in graph["calls"] if "/beta/" in c.request.url][0]
    assert "signInEventTypes/any(t: t eq 'nonInteractiveUser')" in parse_qs(urlsplit(beta.request.url).query)["$filter"][0]


def test_a_record_is_proven_and_the_proof_written_next_to_it(run_module, graph, tmp_path):
    record = tmp_path / "INC.json"
    record.write_text(json.dumps({"kind": "containment", "users": [
        {"user": UPN, "user_id": USER_ID, "user_principal_name": UPN,
         "sessions_valid_from_after": "2026-12-06T10:00:00Z"}]}))
    graph["v1.0"].append({"id": "2", "createdDateTime": "2026-12-06T10:01:00Z", "userId": USER_ID,
                          "userPrincipalName": UPN, "isInteractive": True, "status": {"errorCode": 50057}})
    proof = tmp_path / "INC.proof.json"
    failed, result = run_module(main, graph_options(record_path=str(record), proof_path=str(proof)))
    assert not failed and result["users"][0]["verdict"] == "refused" and result["graph_time"] == "2026-12-06T12:00:00Z"
    document = json.loads(proof.read_text())
    assert document["latest"]["verdicts"] == {UPN: "refused"} and document["readings"][0]["run_id"] == result["run_id"]


class FakeTime:
    """The time module's monotonic clock and sleep as _evidence looks them up when waiting: nothing really sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def young_record(tmp_path):
    record = tmp_path / "INC.json"
    # A minute before Graph's clock (the Date header): every log is young.
    record.write_text(json.dumps({"kind": "containment", "users": [
        {"user": UPN, "user_id": USER_ID, "user_principal_name": UPN,
         "sessions_valid_from_after": "2026-12-06T11:59:00Z"}]}))
    return record


@pytest.mark.parametrize("wait_minutes", [-1, 61])
def test_wait_minutes_out_of_bounds_is_refused_before_any_call(run_module, graph, tmp_path, wait_minutes):
    failed, result = run_module(main, graph_options(record_path=str(young_record(tmp_path)),
                                                    wait_minutes=wait_minutes))
    assert failed and "wait_minutes must be from 0 to 60" in result["msg"] and len(graph["calls"]) == 0


def test_waiting_reads_again_until_the_refusal_is_logged_and_adds_every_reading_to_the_proof(
        run_module, graph, tmp_path, monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(_evidence.time, "monotonic", fake.monotonic)
    refusal = {"id": "3", "createdDateTime": "2026-12-06T11:59:30Z", "userId": USER_ID, "userPrincipalName": UPN,
               "isInteractive": False, "status": {"errorCode": 50173}, "signInEventTypes": ["nonInteractiveUser"]}

    def later(seconds):
        # The refresh refused after the cut-off is logged once the task has waited a minute.
        fake.sleep(seconds)
        if fake.now >= 1060 and not graph["beta"]:
            graph["beta"].append(refusal)

    monkeypatch.setattr(_evidence.time, "sleep", later)
    record = young_record(tmp_path)
    proof = tmp_path / "INC.proof.json"
    failed, result = run_module(main, graph_options(record_path=str(record), proof_path=str(proof), wait_minutes=5))
    assert not failed, result
    assert result["verdicts"] == {UPN: "refused"} and result["pending_users"] == []
    assert result["readings"] == 3 and fake.sleeps == [30.0, 30.0]
    assert result["waited_s"] == 60.0
    assert result["proof"] == {"proof_path": str(proof), "run_id": result["run_id"], "summary": result["summary"],
                               "verdicts": {UPN: "refused"}, "suspect_users": [], "pending_users": [],
                               "readings": 3, "waited_s": 60.0}
    document = json.loads(proof.read_text())
    assert [(r["run_id"], r["attempt"], r["summary"]["refused"]) for r in document["readings"]] == [
        (result["run_id"], 1, 0), (result["run_id"], 2, 0), (result["run_id"], 3, 1)]
    assert len(graph["calls"]) == 9  # three logs, three readings


def test_without_wait_minutes_the_logs_are_read_once(run_module, graph, tmp_path):
    failed, result = run_module(main, graph_options(record_path=str(young_record(tmp_path))))
    assert not failed and result["readings"] == 1 and result["pending_users"] == [UPN]
    assert result["users"][0]["reason"] == "logs_not_mature" and len(graph["calls"]) == 3
    assert result["proof"]["proof_path"] is None and result["run_id"] is None
