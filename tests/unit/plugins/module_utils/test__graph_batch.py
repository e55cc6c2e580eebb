# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import threading

from ansible_collections.o365.admin.plugins.module_utils._errors import GraphApiError
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BATCH_SIZE, BatchRun, Pacer
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphResponse, RetryStats


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeTransport:
    def __init__(self):
        self.stats = RetryStats()


class FakeToken:
    def __init__(self, renewable=False):
        self.renewable = renewable
        self.renewals = 0

    def renew_stale(self):
        if self.renewable:
            self.renewable = False
            self.renewals += 1
            return True
        return False


class FakeGraph:
    """Answers $batch calls with ``answer(item) -> (status, headers, body)``; records what it was sent."""

    def __init__(self, answer, token=None):
        self.answer = answer
        self.token_source = token or FakeToken()
        self.transport = FakeTransport()
        self.calls = []
        self._lock = threading.Lock()

    def request(self, method, path, params=None, json_body=None):
        assert (method, path) == ("POST", "/$batch")
        items = json_body["requests"]
        assert len(items) <= BATCH_SIZE
        with self._lock:
            self.calls.append(items)
        responses = []
        for item in items:
            status, headers, body = self.answer(item)
            responses.append({"id": item["id"], "status": status, "headers": headers, "body": body})
        random.shuffle(responses)  # Graph answers in any order
        return GraphResponse(200, {"responses": responses}, "batch-rid", None, 1)


def ok(item):
    return 200, {"Content-Type": "application/json"}, {"value": True, "url": item["url"]}


def revokes(count):
    return [("POST", "/users/user%04d@contoso.com/revokeSignInSessions" % n) for n in range(count)]


def make_run(graph, concurrency=4, max_retries=3):
    clock = FakeClock()
    return BatchRun(graph, concurrency, max_retries, clock=clock, sleep=clock.sleep), clock


def test_results_come_back_in_request_order_twenty_per_batch():
    graph = FakeGraph(ok)
    run, dummy = make_run(graph)
    outcomes = run.run(revokes(45))
    assert [o.body["url"] for o in outcomes] == [url for dummy_method, url in revokes(45)]
    assert all(o.ok and o.attempts == 1 and o.request_id == "batch-rid" for o in outcomes)
    assert sorted(len(call) for call in graph.calls) == [5, 20, 20]
    assert run.stats() == {"batches": 3, "retries": 0, "throttled": 0}


def test_write_items_carry_content_type_and_an_empty_body_reads_do_not():
    graph = FakeGraph(ok)
    make_run(graph)[0].run([("POST", "/users/a@contoso.com/revokeSignInSessions"), ("GET", "/users/b@contoso.com")])
    post, get = sorted(graph.calls[0], key=lambda item: item["method"], reverse=True)
    assert post["headers"] == {"Content-Type": "application/json"} and post["body"] == {}
    assert "headers" not in get and "body" not in get


def test_throttled_items_alone_are_retried_after_their_own_retry_after():
    seen = {}

    def answer(item):
        seen[item["url"]] = seen.get(item["url"], 0) + 1
        if item["id"] in ("3", "7") and seen[item["url"]] == 1:
            return 429, {"Retry-After": "5"}, {"error": {"code": "TooManyRequests", "message": "Slow down."}}
        return ok(item)

    graph = FakeGraph(answer)
    run, clock = make_run(graph)
    start = clock.now
    outcomes = run.run(revokes(10))
    assert all(o.ok for o in outcomes)
    assert [o.attempts for o in outcomes] == [1, 1, 1, 2, 1, 1, 1, 2, 1, 1]
    assert sorted(item["id"] for item in graph.calls[1]) == ["3", "7"]  # never the items that succeeded
    assert clock.now - start >= 5.0
    assert run.stats() == {"batches": 2, "retries": 2, "throttled": 2}


def test_unavailable_items_back_off_and_retries_are_bounded():
    def answer(item):
        if item["id"] == "0":
            return 503, {}, {"error": {"code": "serviceNotAvailable", "message": "Busy.",
                                       "innerError": {"request-id": "item-rid"}}}
        return ok(item)

    graph = FakeGraph(answer)
    run, dummy = make_run(graph, max_retries=2)
    outcomes = run.run(revokes(3))
    assert not outcomes[0].ok and outcomes[0].status_code == 503 and outcomes[0].attempts == 3
    assert outcomes[0].error == {"code": "serviceNotAvailable", "message": "Busy."}
    assert outcomes[0].request_id == "item-rid"
    assert outcomes[1].ok and outcomes[2].ok and len(graph.calls) == 3


def test_item_failures_are_final_and_kept_per_item():
    def answer(item):
        if item["id"] == "1":
            return 404, {}, {"error": {"code": "Request_ResourceNotFound", "message": "Gone."}}
        return ok(item)

    outcomes = make_run(FakeGraph(answer))[0].run(revokes(3))
    assert [o.status_code for o in outcomes] == [200, 404, 200]
    assert outcomes[1].error["code"] == "Request_ResourceNotFound" and outcomes[1].attempts == 1


def test_a_failed_batch_call_gives_every_item_its_error():
    class Refusing(FakeGraph):
        def request(self, method, path, params=None, json_body=None):
            raise GraphApiError("Microsoft Graph answered HTTP 401", 401, code="InvalidAuthenticationToken",
                                request_id="rid-401")

    outcomes = make_run(Refusing(ok))[0].run(revokes(25))
    assert len(outcomes) == 25
    assert all(o.status_code == 401 and o.error["code"] == "InvalidAuthenticationToken" for o in outcomes)


def test_pacing_learns_the_quota_from_the_first_throttled_wave():
    """A quota of 100 writes per 10 s: after the first 429s, never more than 100 per window are sent."""
    clock = FakeClock()
    accepted_at = []

    def answer(item):
        window = [t for t in accepted_at if t > clock.now - 10.0]
        if len(window) >= 100:
            return 429, {"Retry-After": str(int(window[0] + 10.0 - clock.now) + 1)}, {"error": {"code": "TooManyRequests"}}
        accepted_at.append(clock.now)
        return ok(item)

    graph = FakeGraph(answer)
    run = BatchRun(graph, 4, 10, clock=clock, sleep=clock.sleep)
    outcomes = run.run(revokes(450))
    assert all(o.ok for o in outcomes)
    assert run.throttled <= 2 * 4 * BATCH_SIZE  # the discovery wave, and at most one more
    assert clock.now - 1000.0 <= 4 * 11.0 + 1  # 450 writes at 100 per window: about four windows


def test_pacer_is_free_until_throttled_then_slides_over_what_was_accepted():
    pacer = Pacer(now=0.0)
    assert pacer.allowance(0.0) is None
    pacer.record(1.0, accepted=80, retry_after=None)
    pacer.record(2.0, accepted=60, retry_after=15.0)
    assert pacer.limit == 140 and pacer.window_s == 15.0
    assert pacer.allowance(10.0) == 0 and pacer.next_opening(10.0) == 17.0
    assert pacer.allowance(17.0) == 140  # both waves are more than 15 s old
    pacer.record(17.5, accepted=80, retry_after=None)
    pacer.record(17.8, accepted=60, retry_after=None)
    assert pacer.allowance(20.0) == 0 and pacer.next_opening(20.0) == 32.5
    assert pacer.allowance(32.5) == 80 and pacer.allowance(33.0) == 140


def test_items_refused_for_a_stale_cached_token_go_again_once_with_a_new_token():
    def answer(item):
        if graph.token_source.renewals == 0:
            return 403, {}, {"error": {"code": "Authorization_RequestDenied", "message": "No."}}
        return ok(item)

    graph = FakeGraph(answer, FakeToken(renewable=True))
    run, dummy = make_run(graph)
    outcomes = run.run(revokes(30))
    assert all(o.ok and o.attempts == 1 for o in outcomes)
    assert graph.token_source.renewals == 1 and len(graph.calls) == 4


def test_a_403_with_a_fresh_token_is_final():
    graph = FakeGraph(lambda item: (403, {}, {"error": {"code": "Authorization_RequestDenied", "message": "No."}}))
    outcomes = make_run(graph)[0].run(revokes(3))
    assert [o.status_code for o in outcomes] == [403, 403, 403] and len(graph.calls) == 1
