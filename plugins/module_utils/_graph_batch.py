# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Many Graph requests (GET, POST, PATCH, ...) through JSON batching ($batch): 20 per call, up to
``concurrency`` calls in flight at every moment, per-item retries after each item's own Retry-After, pacing at
the rate Graph's throttling reveals, and one outcome per request, in input order, whatever Graph or the network
does.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import concurrent.futures
import heapq
import math
import random
import time

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    AuthenticationError, ConfigurationError, GraphApiError, GraphTransportError, O365AdminError,
    ProxyAuthenticationError)
from ansible_collections.o365.admin.plugins.module_utils._graph_client import (
    RETRYABLE_STATUSES, STALE_TOKEN_STATUSES, error_envelope, parse_http_date, retry_delay, safe_excerpt)

BATCH_SIZE = 20  # Graph's limit per $batch call
# More $batch calls in flight than the session's connection pool (32) only queue; Graph throttles long before.
MAX_BATCH_CONCURRENCY = 32
# The option every module acting on many users takes (documented in the o365.admin.targets doc fragment).
BATCH_ARGUMENT_SPEC = dict(batch_concurrency=dict(type="int", default=4))
WRITE_METHODS = frozenset(["POST", "PATCH", "PUT"])
# Whole $batch calls failing in a row (no answer, or refused) before the rest is not sent: with the network or
# the token endpoint gone, thousands of users must not each wait out their retries.
CONSECUTIVE_CALL_FAILURES_LIMIT = 8
UNREADABLE = "Graph's answer could not be read"
# Something due within this much of now goes now: clocks and timers are not finer, and waiting for less than
# this could spin.
DUE_SLACK_S = 0.001
LOST_HINT = "the request may have acted; sending it again is safe"
# 429s on this many different items within EVIDENCE_PERIOD_S are the tenant's quota showing; fewer are items
# throttled on their own, which only wait out their own Retry-After.
QUOTA_EVIDENCE_ITEMS = 3
EVIDENCE_PERIOD_S = 10.0
# Graph's identity and access limits (https://learn.microsoft.com/graph/throttling-limits): a throttled answer
# names the limit it hit; x-ms-throttle-limit-percentage (0.8 to 1.8) is the share of the limit used.
THROTTLE_SCOPE_HEADERS = ("x-ms-throttle-scope", "x-ms-throttle-information")
LIMIT_PERCENTAGE_HEADER = "x-ms-throttle-limit-percentage"
# Once the run is asked to stop (SIGINT, SIGTERM), how long the answers already in flight are waited for; and how
# often, while waiting for answers, whether a stop was asked is looked at.
STOP_GRACE_S = 10.0
STOP_POLL_S = 0.2
INTERRUPTED = "the run was interrupted"


def run_wide_reason(error):
    """What a user's entry says when its request was not sent because of a cause common to the whole run: short,
    for the cause itself is the task's message (AuthenticationError, ProxyAuthenticationError)."""
    if isinstance(error, AuthenticationError):
        return "no access token (Entra ID did not issue one; the task's message says why)"
    if isinstance(error, ProxyAuthenticationError):
        return "the HTTP proxy asked for its credentials (407; the task's message says which)"
    return getattr(error, "message", None) or "%s: %s" % (type(error).__name__, error)


def checked_concurrency(value):
    """``batch_concurrency`` as given, if it is within 1..MAX_BATCH_CONCURRENCY; else a ConfigurationError."""
    if not 1 <= value <= MAX_BATCH_CONCURRENCY:
        raise ConfigurationError("batch_concurrency must be 1 or more and at most %d, not %d."
                                 % (MAX_BATCH_CONCURRENCY, value))
    return value


class BatchOutcome:
    """The final answer to one request of the batch run.

    ``ok``: Graph answered this very request with a 2xx. ``unknown``: the request may have acted but its answer
    was lost or unreadable (``status_code`` is then None: no status is invented). Otherwise it failed: Graph's
    status and error, or (``status_code`` None, not unknown) it was never sent.
    """

    def __init__(self, status_code, body, request_id, attempts=1, unknown=False, reason=None, exception=None,
                 date=None, graph_time_before=None):
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.attempts = attempts
        self.unknown = unknown
        self.reason = reason  # why there is no Graph answer to show (unknown, or not sent)
        # The typed error a request sent on its own ended with (its message and details are the fullest account).
        self.exception = exception
        self.granted_roles = None  # for a 403: the refused token's application permissions (None: cannot tell)
        # Graph's clock when it answered: the item's own Date header, else its $batch call's (whole seconds).
        self.date = date
        # Graph's clock before this request's last attempt was sent: the latest Date of this run's answers by
        # then (None before the first). A revoke it carried cannot be stamped earlier (what verify checks).
        self.graph_time_before = graph_time_before

    @property
    def ok(self):
        return not self.unknown and isinstance(self.status_code, int) and 200 <= self.status_code < 300

    @property
    def error(self):
        """{code, message}: Graph's for a failed request, ours when there is no Graph answer."""
        if self.reason:
            return {"code": None, "message": self.reason}
        code, message, dummy = error_envelope(self.body)
        if code or message:
            return {"code": code, "message": message}
        if self.unknown:
            return {"code": None, "message": "No readable answer from Microsoft Graph."}
        return {"code": None, "message": "HTTP %s" % self.status_code}

    def __repr__(self):
        return "BatchOutcome(%r, unknown=%r, attempts=%r)" % (self.status_code, self.unknown, self.attempts)


class BatchRequest:
    """One request for the run; ``(method, url)`` and ``(method, url, body)`` tuples are turned into these.

    ``url`` is relative to the version root, query string included (``/users/x?$select=id``).
    """

    def __init__(self, method, url, body=None, headers=None):
        self.method = method.upper()
        self.url = url
        self.body = body
        self.headers = dict(headers or {})

    @classmethod
    def of(cls, request):
        if isinstance(request, cls):
            return request
        return cls(*request)

    def as_item(self, item_id):
        item = {"id": item_id, "method": self.method, "url": self.url}
        headers = dict(self.headers)
        body = self.body
        if self.method in WRITE_METHODS and body is None:
            # Graph rejects a write item without a Content-Type header and a body, even an action's empty one.
            body = {}
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
            item["body"] = body
        if headers:
            item["headers"] = headers
        return item


class _Item:
    def __init__(self, index, request):
        self.index = index
        self.request = request
        self.attempts = 0
        self.not_before = 0.0
        self.resent_for_token = False
        self.graph_time_before = None  # the run's latest Date of Graph when this item last went out
        self.last_answer = None  # Graph's answer that sent it round again: its outcome if it cannot go again
        self.outcome = None

    def __lt__(self, other):  # heap order among equal times: input order
        return self.index < other.index


def quota_signal(status, headers):
    """Whether one item's answer shows the tenant's quota itself: a 429 naming the limit it hit, or any answer
    saying the limit is used up (x-ms-throttle-limit-percentage of 1.0 or more)."""
    if status == 429 and any(name in headers for name in THROTTLE_SCOPE_HEADERS):
        return True
    try:
        return float(str(headers.get(LIMIT_PERCENTAGE_HEADER))) >= 1.0
    except (TypeError, ValueError):
        return False


class Pacer:
    """Sends freely until Graph shows its quota; then at most what was accepted before that, per window, raised
    again additively while no 429 comes.

    Graph's write quotas (e.g. 3,000 identity writes per 150 s per app and tenant) are not announced. A 429 on one
    item is not the quota: that item waits out its own Retry-After and nothing else slows down. The quota shows as
    429s on several items at once (QUOTA_EVIDENCE_ITEMS within EVIDENCE_PERIOD_S), or as Graph's throttle headers;
    then what was accepted so far is how much fits, and the Retry-After is how long a window lasts. Pacing at that
    rate keeps the run near the time the quota forces, without a storm of requests answered 429. Each answer
    without a 429 then raises the limit by one $batch call's worth per window's worth accepted (additive increase,
    as TCP's congestion avoidance), so a quota that has gone, or was overestimated, stops slowing the run.
    Accepted requests are logged at the time their answer came (never earlier than Graph counted them), and the
    window slides over that log; requests in flight count against the allowance until they are answered.
    """

    def __init__(self, now):
        self.limit = None
        self.window_s = None
        self.blocked_until = now
        self._accepted = collections.deque()  # (answer time, requests accepted)
        self._accepted_total = 0
        self._throttled = collections.deque()  # (answer time, items answered 429) not yet taken as the quota

    def _in_window(self, now):
        if self.window_s is not None:
            while self._accepted and self._accepted[0][0] <= now - self.window_s + DUE_SLACK_S:
                self._accepted_total -= self._accepted.popleft()[1]
        return self._accepted_total

    def allowance(self, now, in_flight=0):
        """How many more requests may go now (None: no limit learned yet)."""
        if self.limit is None:
            return None
        if now + DUE_SLACK_S < self.blocked_until:
            return 0
        return max(0, int(self.limit) - self._in_window(now) - in_flight)

    def next_opening(self, now):
        """When the allowance grows again without any answer coming (only asked when it is 0)."""
        if now + DUE_SLACK_S < self.blocked_until:
            return self.blocked_until
        return self._accepted[0][0] + self.window_s if self._accepted else now

    def record(self, now, accepted, retry_after, throttled=0, quota_shown=False):
        """One call's answer came at ``now``: ``accepted`` requests, ``throttled`` items answered 429 (the largest
        Retry-After among them), and whether an answer carried Graph's own sign of the quota."""
        if accepted:
            self._accepted.append((now, accepted))
            self._accepted_total += accepted
        if throttled:
            self._throttled.append((now, throttled))
        while self._throttled and self._throttled[0][0] < now - EVIDENCE_PERIOD_S:
            self._throttled.popleft()
        if quota_shown or sum(count for dummy, count in self._throttled) >= QUOTA_EVIDENCE_ITEMS:
            self._throttled.clear()
            self.window_s = max(self.window_s or 0.0, retry_after or 0.0, 1.0)
            self.limit = max(BATCH_SIZE, self._in_window(now))
            if retry_after is not None:
                self.blocked_until = max(self.blocked_until, now + retry_after)
        elif self.limit is not None and accepted and not throttled:
            self.limit += float(BATCH_SIZE) * accepted / self.limit


class ThreadDispatcher:
    """Runs $batch calls on a thread pool; the runner waits for whichever finishes first."""

    def __init__(self, workers, sleep):
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        self._sleep = sleep

    def submit(self, call, chunk):
        return self._pool.submit(call, chunk)

    def wait(self, handles, timeout):
        """The handles that finished, waiting at most ``timeout`` s (None: until one does) for the first."""
        if not handles:
            self._sleep(timeout)
            return set()
        done, dummy = concurrent.futures.wait(handles, timeout=timeout,
                                              return_when=concurrent.futures.FIRST_COMPLETED)
        return done

    @staticmethod
    def result(handle):
        return handle.result()

    def close(self, wait=True):
        if wait:
            self._pool.shutdown(wait=True)
            return
        try:
            self._pool.shutdown(wait=False, cancel_futures=True)
        except TypeError:  # Python before 3.9
            self._pool.shutdown(wait=False)


class BatchRun:
    """Sends ``requests`` and returns one BatchOutcome per request, in order. Never raises for what Graph, the
    network or the token endpoint does: every request gets an outcome.

    A request is a ``(method, url)`` or ``(method, url, body)`` tuple or a BatchRequest. ``concurrency`` $batch
    calls are kept in flight: when one answers, the next goes. Items answered 429/503/504 go again after their
    own Retry-After (at most ``max_retries`` times) while the rest keep flowing; 401/403 answers to a request that
    carried a stale token are sent again with the new one.
    """

    def __init__(self, client, concurrency, max_retries, clock=time.monotonic, sleep=None, rng=random.random,
                 dispatcher=None, stop=None, on_outcome=None, stop_grace_s=STOP_GRACE_S, on_send=None, pacer=None):
        self.client = client
        # What an earlier run of the same kind learned of the quota (see Sender); None: this run learns its own.
        self.pacer = pacer
        # Cooperative stop: anything with is_set() (an Interruption, a threading.Event). Once set, nothing new is
        # sent, answers in flight are waited for stop_grace_s at most, and every item left gets its outcome.
        self.stop = stop
        self.stop_grace_s = stop_grace_s
        self.stopped = False
        # Called as on_outcome(index, outcome) as soon as each item's outcome is final (the journal).
        self.on_outcome = on_outcome
        # Called as on_send([index, ...]) before each $batch call leaves, on this thread (the journal's line naming
        # whom the call may write: after a crash, nobody it reached is missing from the record).
        self.on_send = on_send
        self.concurrency = max(1, concurrency)
        self.max_retries = max_retries
        self.clock = clock
        self.sleep = sleep or time.sleep
        self.rng = rng
        self.dispatcher = dispatcher
        self.batches = 0
        self.item_retries = 0
        self.throttled = 0
        self.resent_for_token = 0
        self.max_in_flight = 0
        self._renewals = {}  # token generation -> whether its 401/403s are worth resending
        self._halt_reason = None
        self._call_failures_in_a_row = 0
        self._latest_date = None  # the latest Date of Graph's answers to this run's calls

    def run(self, requests):
        items = [_Item(index, BatchRequest.of(request)) for index, request in enumerate(requests)]
        fresh = collections.deque(items)
        retries = []  # heap of (not_before, item)
        in_flight = {}  # handle -> the items its $batch call carries
        items_in_flight = 0
        pacer = self.pacer if self.pacer is not None else Pacer(self.clock())
        dispatcher = self.dispatcher or ThreadDispatcher(self.concurrency, self.sleep)
        stop_deadline = None
        try:
            while fresh or retries or in_flight:
                now = self.clock()
                if self._halt_reason is not None:
                    self._never_send(fresh, retries)
                if self.stop is not None and self.stop.is_set():
                    if stop_deadline is None:
                        self.stopped = True
                        stop_deadline = now + self.stop_grace_s
                        self._never_send(fresh, retries, "not sent: %s" % INTERRUPTED)
                    if not in_flight or now >= stop_deadline:
                        self._abandon(in_flight)
                        break
                # Keep every slot busy, as far as the pacing allows.
                while len(in_flight) < self.concurrency:
                    allowance = pacer.allowance(now, items_in_flight)
                    size = BATCH_SIZE if allowance is None else min(BATCH_SIZE, allowance)
                    chunk = self._take_ready(fresh, retries, now, size)
                    if not chunk:
                        break
                    for item in chunk:
                        item.attempts += 1
                        item.graph_time_before = self._latest_date
                    if self.on_send is not None:
                        self.on_send([item.index for item in chunk])
                    in_flight[dispatcher.submit(self._send, chunk)] = chunk
                    items_in_flight += len(chunk)
                    self.batches += 1
                    self.max_in_flight = max(self.max_in_flight, len(in_flight))
                if not in_flight and not fresh and not retries:
                    break
                timeout = self._timeout(fresh, retries, pacer, now, len(in_flight), items_in_flight)
                if self.stop is not None:
                    # Waiting is cut short to look at the stop again (a signal handler cannot wake this wait).
                    timeout = STOP_POLL_S if timeout is None else min(timeout, STOP_POLL_S)
                    if stop_deadline is not None:
                        timeout = max(0.0, min(timeout, stop_deadline - now))
                done = dispatcher.wait(set(in_flight), timeout)
                now = self.clock()
                for handle in sorted(done, key=lambda h: in_flight[h][0].index):
                    chunk = in_flight.pop(handle)
                    items_in_flight -= len(chunk)
                    accepted, retry_after, throttled, quota_shown = self._settle(
                        chunk, dispatcher.result(handle), now, fresh, retries)
                    pacer.record(now, accepted, retry_after, throttled, quota_shown)
        finally:
            if self.dispatcher is None:
                # After a stop, calls still in flight are not waited for again: their items are already unknown.
                dispatcher.close(wait=not self.stopped)
        for item in items:
            if item.outcome is None:  # cannot happen; if it did, the item must still be listed, as the worst true
                item.outcome = BatchOutcome(None, None, None, item.attempts, unknown=True,
                                            reason="No outcome was recorded; %s." % LOST_HINT)
        return [item.outcome for item in items]

    def _abandon(self, in_flight):
        """The stop's grace is over: what is still in flight was sent and its answer is not waited for."""
        for chunk in in_flight.values():
            for item in chunk:
                self._final(item, BatchOutcome(
                    None, None, None, item.attempts, unknown=True, graph_time_before=item.graph_time_before,
                    reason="%s before the answer came (sent, not awaited); %s." % (
                        INTERRUPTED.capitalize(), LOST_HINT)))
        in_flight.clear()

    def _final(self, item, outcome):
        """``outcome`` is the item's last word: record it and tell on_outcome."""
        item.outcome = outcome
        if self.on_outcome is not None:
            self.on_outcome(item.index, outcome)

    @staticmethod
    def _take_ready(fresh, retries, now, size):
        """Up to ``size`` items that may go now: retries that are due first (they are the oldest), then new ones."""
        chunk = []
        while retries and len(chunk) < size and retries[0][0] <= now + DUE_SLACK_S:
            chunk.append(heapq.heappop(retries)[1])
        while fresh and len(chunk) < size:
            chunk.append(fresh.popleft())
        return chunk

    def _timeout(self, fresh, retries, pacer, now, calls_in_flight, items_in_flight):
        """How long to wait for an answer before something else may be sent (None: until an answer comes)."""
        if calls_in_flight >= self.concurrency or not (fresh or retries):
            return None
        if pacer.allowance(now, items_in_flight) == 0:
            wake = pacer.next_opening(now)  # may be now: then only an answer frees the allowance
        else:
            wake = retries[0][0]  # with an allowance, only retries not yet due are left
        if wake <= now + DUE_SLACK_S:
            return None if calls_in_flight else DUE_SLACK_S
        return wake - now

    def _send(self, chunk):
        """Runs on a worker thread: one $batch call; any error comes back as the answer, never raised."""
        try:
            return self.client.request("POST", "/$batch", json_body={
                "requests": [item.request.as_item(str(item.index)) for item in chunk]})
        except O365AdminError as error:
            return error
        except Exception as error:  # pylint: disable=broad-exception-caught
            # Whatever it was, the items it touched get an outcome and the run goes on.
            return error

    # --- answers ---------------------------------------------------------------------------------

    def _settle(self, chunk, answer, now, fresh, retries):
        """Give each item of an answered call its outcome or its next attempt; return (accepted, the largest
        Retry-After of its 429s, how many items were answered 429, whether Graph's headers showed the quota)."""
        if isinstance(answer, BaseException):
            self._settle_failed_call(chunk, answer)
            return 0, None, 0, False
        self._call_failures_in_a_row = 0
        call_date = getattr(answer, "date", None)
        if call_date is not None and (self._latest_date is None or call_date > self._latest_date):
            self._latest_date = call_date
        responses, problem = self._responses_by_id(chunk, answer.body)
        accepted, throttled_retry_after, throttled, quota_shown = 0, None, 0, False
        for item in chunk:
            response = responses.get(str(item.index))
            if response is None and problem is None and self._halt_reason is None and \
                    item.attempts <= self.max_retries:
                # A readable answer that leaves this request out: its answer was lost, and the operations sent
                # here are safe to repeat, so it goes again (max_retries' documented promise); unknown only once
                # the retries are spent.
                self.item_retries += 1
                item.last_answer = None
                heapq.heappush(retries, (now + self._item_delay(None, item.attempts), item))
                continue
            if response is None or isinstance(response, str):
                why = response or problem or "it holds no answer for this request"
                self._final(item, BatchOutcome(None, None, answer.request_id, item.attempts, unknown=True,
                                               reason="%s: %s; %s." % (UNREADABLE, why, LOST_HINT)))
                continue
            status = response["status"]
            headers = response.get("headers")
            headers = dict((str(k).lower(), v) for k, v in headers.items()) if isinstance(headers, dict) else {}
            body = response.get("body")
            quota_shown = quota_shown or quota_signal(status, headers)
            if status in STALE_TOKEN_STATUSES and not item.resent_for_token and \
                    self._stale_token(getattr(answer, "token_generation", None)):
                # Not the item's fault: it goes again at once, with the new token.
                item.resent_for_token = True
                item.last_answer = (status, body, headers.get("request-id") or answer.request_id)
                item.attempts -= 1
                self.resent_for_token += 1
                heapq.heappush(retries, (now, item))
                continue
            if self._halt_reason is None and status in RETRYABLE_STATUSES and item.attempts <= self.max_retries:
                delay = self._item_delay(headers.get("retry-after"), item.attempts)
                if status == 429:
                    self.throttled += 1
                    throttled += 1
                    throttled_retry_after = max(throttled_retry_after or 0.0, delay)
                self.item_retries += 1
                item.last_answer = (status, body, headers.get("request-id") or answer.request_id)
                heapq.heappush(retries, (now + delay, item))
                continue
            inner_request_id = error_envelope(body)[2].get("request-id")
            request_id = headers.get("request-id") or inner_request_id or answer.request_id
            date = parse_http_date(headers.get("date")) or getattr(answer, "date", None)
            outcome = BatchOutcome(status, body, request_id if isinstance(request_id, str) else None,
                                   item.attempts, date=date, graph_time_before=item.graph_time_before)
            if status == 403 and hasattr(self.client, "granted_roles"):
                # What the refused token holds, to name the missing permission.
                outcome.granted_roles = self.client.granted_roles()
            self._final(item, outcome)
            if item.outcome.ok:
                accepted += 1
        return accepted, throttled_retry_after, throttled, quota_shown

    @staticmethod
    def _responses_by_id(chunk, body):
        """{item id: Graph's answer dict, or why it cannot be used}, and what is wrong with the whole answer."""
        if not isinstance(body, dict):
            return {}, "a 2xx answer to the $batch call that is %s" % (
                "empty or not JSON" if body is None else "JSON but not an object: %s" % safe_excerpt(body))
        answers = body.get("responses")
        if not isinstance(answers, list):
            return {}, "a 2xx answer to the $batch call without a list of responses: %s" % safe_excerpt(body)
        wanted = set(str(item.index) for item in chunk)
        by_id = {}
        for answer in answers:
            if not isinstance(answer, dict) or not isinstance(answer.get("id"), str) or answer["id"] not in wanted:
                continue
            item_id = answer["id"]
            status = answer.get("status")
            if item_id in by_id:
                by_id[item_id] = "Graph answered this request more than once"
            elif isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                by_id[item_id] = "its answer has no valid HTTP status: %s" % safe_excerpt(answer)
            else:
                by_id[item_id] = answer
        return by_id, None

    def _settle_failed_call(self, chunk, error):
        """The whole call failed: every item shares what is known of its fate."""
        self._call_failures_in_a_row += 1
        message = getattr(error, "message", None) or "%s: %s" % (type(error).__name__, error)
        fate = self._call_fate(error)
        if fate == "refused":  # Graph refused the call as a whole: no item of it was carried out
            outcome = dict(status_code=error.status_code, request_id=error.request_id,
                           body={"error": {"code": error.code, "message": error.message}})
        elif fate == "lost":
            outcome = dict(status_code=None, body=None, request_id=getattr(error, "request_id", None), unknown=True,
                           reason="The $batch call's answer was lost (%s); %s." % (message.rstrip("."), LOST_HINT))
        else:
            outcome = dict(status_code=None, body=None, request_id=None, reason="not sent: %s" % message)
            if not isinstance(error, GraphTransportError) or isinstance(error, ProxyAuthenticationError):
                # No token, or the proxy's 407: the same cause would stop every call after this one. It is the
                # task's message, said once; each user's entry only points to it.
                self._halt_reason = self._halt_reason or run_wide_reason(error)
                outcome["reason"] = "not sent: %s" % run_wide_reason(error)
        for item in chunk:
            self._final(item, BatchOutcome(attempts=item.attempts, **outcome))
        if self._call_failures_in_a_row >= CONSECUTIVE_CALL_FAILURES_LIMIT and self._halt_reason is None:
            self._halt_reason = "%d $batch calls in a row failed, the last with: %s" % (
                self._call_failures_in_a_row, message)

    @staticmethod
    def _call_fate(error):
        """'refused' (Graph answered no), 'lost' (it may have acted, the answer is gone) or 'not_sent'."""
        if isinstance(error, GraphApiError):
            # A 5xx other than 503 may come from a gateway after Graph carried the items out.
            return "refused" if error.status_code < 500 or error.status_code == 503 else "lost"
        if isinstance(error, GraphTransportError):
            return "lost" if getattr(error, "may_have_acted", True) else "not_sent"
        if isinstance(error, O365AdminError):
            return "not_sent"  # raised before sending: the token, the configuration
        return "lost"  # anything unforeseen: assume the worst that is still true

    def _never_send(self, fresh, retries, reason=None):
        """The run stops: what was never sent fails with the reason; what waits to go again keeps Graph's answer
        (a 429, 503 or 504: not carried out)."""
        reason = reason or "not sent: %s" % self._halt_reason
        while fresh:
            item = fresh.popleft()
            self._final(item, BatchOutcome(None, None, None, item.attempts, reason=reason))
        while retries:
            item = heapq.heappop(retries)[1]
            if item.last_answer is None:  # left out of an answer, waiting to go again: it may have acted
                self._final(item, BatchOutcome(None, None, None, max(1, item.attempts), unknown=True, reason=(
                    "%s: it holds no answer for this request; %s." % (UNREADABLE, LOST_HINT))))
                continue
            status, body, request_id = item.last_answer
            self._final(item, BatchOutcome(status, body, request_id if isinstance(request_id, str) else None,
                                           max(1, item.attempts)))

    def _stale_token(self, generation):
        """A 401/403 to a request carrying token ``generation``: resend it? Asks the token source once per
        generation; if renewing fails, the 401/403 stands and nothing more is sent."""
        if generation not in self._renewals:
            try:
                self._renewals[generation] = bool(self.client.token_source.renew_stale(generation))
            except O365AdminError as error:
                self._renewals[generation] = False
                self._halt_reason = "a new access token could not be obtained: %s" % run_wide_reason(error)
        return self._renewals[generation]

    def _item_delay(self, retry_after, attempt):
        # An item's headers are JSON: Retry-After may come as a number.
        try:
            delay = retry_delay(None if retry_after is None else str(retry_after), attempt, self.rng)
        except (ValueError, OverflowError):
            delay = None
        if delay is None or not math.isfinite(delay) or delay < 0:
            delay = retry_delay(None, attempt, self.rng)
        return delay

    def stats(self):
        return {"batches": self.batches, "retries": self.item_retries + self.client.transport.stats.retries,
                "throttled": self.throttled, "resent_for_token": self.resent_for_token,
                "max_in_flight": self.max_in_flight}
