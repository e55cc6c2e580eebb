# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.o365.admin.plugins.module_utils import _graph_requests
from ansible_collections.o365.admin.plugins.module_utils._errors import (
    AuthenticationError, GraphApiError, GraphTransportError)
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome, Pacer
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphResponse
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import send_each


class OneShotClient:
    def __init__(self, answer):
        self.answer = answer
        self.sent = []

    def request(self, method, path, params=None, json_body=None, headers=None):
        self.sent.append((method, path, json_body))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_lone_request_goes_straight_with_its_body():
    client = OneShotClient(GraphResponse(204, None, "rid", "crid", 1))
    [answer] = send_each(client, [("PATCH", "/users/a@b.com", {"accountEnabled": False})], 4, 2)
    assert client.sent == [("PATCH", "/users/a@b.com", {"accountEnabled": False})]
    assert (answer.ok, answer.status_code, answer.request_id, answer.unknown) == (True, 204, "rid", False)


def test_a_graph_error_becomes_an_answer_with_graphs_code():
    error = GraphApiError("Microsoft Graph answered HTTP 403 ...", 403, code="Authorization_RequestDenied",
                          graph_message="Insufficient privileges to complete the operation.", request_id="rid-403")
    [answer] = send_each(OneShotClient(error), [("GET", "/users/a@b.com?$select=id")], 4, 2)
    assert not answer.ok and answer.status_code == 403 and answer.request_id == "rid-403"
    assert answer.error == {"code": "Authorization_RequestDenied",
                            "message": "Insufficient privileges to complete the operation."}


def test_no_answer_is_unknown_never_a_failure_or_a_success():
    [answer] = send_each(OneShotClient(GraphTransportError("No answer from ...", "url", 5, may_have_acted=True)),
                         [("PATCH", "/users/a@b.com", {"accountEnabled": False})], 4, 2)
    assert answer.unknown and not answer.ok and answer.status_code is None
    assert "No answer" in answer.error["message"]


def test_a_request_that_never_left_is_failed_not_unknown():
    # A refused connection: nothing reached the service, so nothing may have been done.
    [answer] = send_each(OneShotClient(GraphTransportError("Connection refused ...", "url", 5, may_have_acted=False)),
                         [("PATCH", "/users/a@b.com", {"accountEnabled": False})], 4, 2)
    assert not answer.unknown and not answer.ok and answer.status_code is None
    assert answer.error["message"].startswith("not sent: Connection refused")


def test_an_authentication_error_is_raised_nothing_was_sent():
    with pytest.raises(AuthenticationError):
        send_each(OneShotClient(AuthenticationError("AADSTS7000215")), [("GET", "/users/a@b.com")], 4, 2)


def test_several_requests_go_through_the_batch_runner_in_order(monkeypatch):
    seen = {}

    class FakeRun:
        def __init__(self, client, concurrency, max_retries, stop=None, on_outcome=None):
            seen["args"] = (concurrency, max_retries)

        def run(self, requests):
            seen["requests"] = requests
            return [BatchOutcome(204, None, "r%d" % n, 1) for n in range(len(requests))]

    monkeypatch.setattr(_graph_requests, "BatchRun", FakeRun)
    requests = [("PATCH", "/users/a@b.com", {"accountEnabled": False}), ("GET", "/users/c@d.com")]
    answers = send_each(object(), requests, 3, 1)
    assert seen == {"args": (3, 1), "requests": requests}
    assert [a.request_id for a in answers] == ["r0", "r1"] and all(a.ok for a in answers)


def test_nothing_to_send_sends_nothing():
    assert send_each(OneShotClient(None), [], 4, 2) == []


def test_a_batch_outcome_marked_unknown_stays_unknown(monkeypatch):
    outcome = BatchOutcome(200, None, "r", 1)
    outcome.unknown = True

    class FakeRun:
        def __init__(self, client, concurrency, max_retries, stop=None, on_outcome=None):
            pass

        def run(self, requests):
            return [outcome, BatchOutcome(204, None, "r2", 1)]

    monkeypatch.setattr(_graph_requests, "BatchRun", FakeRun)
    answer = send_each(object(), [("GET", "/users/a@b.com"), ("GET", "/users/c@d.com")], 4, 2)[0]
    assert answer.unknown and not answer.ok


def test_the_writes_of_a_task_share_one_pacer_and_the_reads_another(monkeypatch):
    """Graph's quotas are per app and tenant: what the block's wave learned holds for the revoke's (issue 26)."""
    class FakeRun:
        def __init__(self, client, concurrency, max_retries, stop=None, on_outcome=None):
            self.pacer = None

        def run(self, requests):
            return [BatchOutcome(204, None, "r", 1) for dummy in requests]

    monkeypatch.setattr(_graph_requests, "BatchRun", FakeRun)
    sender = _graph_requests.Sender(object(), 4, 2)
    sender([("GET", "/users/a@b.com"), ("GET", "/users/c@d.com")])
    sender([("PATCH", "/users/a@b.com", {"accountEnabled": False}), ("PATCH", "/users/c@d.com", {"accountEnabled": False})])
    sender([("POST", "/users/a@b.com/revokeSignInSessions"), ("POST", "/users/c@d.com/revokeSignInSessions")])
    sender([("GET", "/users/a@b.com"), ("GET", "/users/c@d.com")])
    read, block, revoke, verify = [run.pacer for run in sender.runs]
    assert isinstance(block, Pacer) and isinstance(read, Pacer)
    assert block is revoke and read is verify and read is not block
    # A wave mixing reads and writes is paced as writes.
    assert sender.pacer_for([("GET", "/users/a@b.com"), ("PATCH", "/users/a@b.com", {})]) is block
