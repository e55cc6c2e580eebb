# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Many Graph requests through JSON batching ($batch): 20 per call, several calls in flight, per-item retries
after each item's own Retry-After, and pacing at the rate Graph's throttling reveals.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import random
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.o365.admin.plugins.module_utils._errors import O365AdminError
from ansible_collections.o365.admin.plugins.module_utils._graph_client import (
    RETRYABLE_STATUSES, STALE_TOKEN_STATUSES, error_envelope, retry_delay)

BATCH_SIZE = 20  # Graph's limit per $batch call


class BatchOutcome:
    """The final answer to one request of the batch run."""

    def __init__(self, status_code, body, request_id, attempts):
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.attempts = attempts

    @property
    def ok(self):
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def error(self):
        """Graph's {code, message} for a failed request."""
        code, message, dummy = error_envelope(self.body)
        if code or message:
            return {"code": code, "message": message}
        return {"code": None, "message": "HTTP %s" % self.status_code}


class _Item:
    def __init__(self, index, method, url, body=None):
        self.index = index
        self.method = method
        self.url = url
        self.body = body
        self.wave = None
        self.attempts = 0
        self.not_before = 0.0
        self.outcome = None

    def as_request(self):
        request = {"id": str(self.index), "method": self.method, "url": self.url}
        if self.method in ("POST", "PATCH", "PUT"):
            # Graph rejects a write item without a Content-Type header and a body, even an action's empty one.
            request.update(headers={"Content-Type": "application/json"}, body=self.body if self.body is not None else {})
        return request


class Pacer:
    """Sends freely until Graph throttles; then at most what was accepted before that, per Retry-After window.

    Graph's write quotas (e.g. 3,000 identity writes per 150 s per app and tenant) are not announced; the first
    429 reveals both how much fits (what was accepted so far) and how long a window lasts (its Retry-After).
    Pacing at that rate keeps the run near the time the quota forces, without a storm of requests answered 429.
    Accepted writes are logged at the time their answer came (never earlier than Graph counted them), and the
    window slides over that log.
    """

    def __init__(self, now):
        self.limit = None
        self.window_s = None
        self.blocked_until = now
        self._accepted = collections.deque()  # (answer time, writes accepted)

    def _in_window(self, now):
        if self.window_s is not None:
            while self._accepted and self._accepted[0][0] <= now - self.window_s:
                self._accepted.popleft()
        return sum(count for dummy, count in self._accepted)

    def allowance(self, now):
        """How many requests may go now (None: no limit learned yet)."""
        if self.limit is None:
            return None
        if now < self.blocked_until:
            return 0
        return max(0, self.limit - self._in_window(now))

    def next_opening(self, now):
        """When the allowance grows again (only asked when it is 0)."""
        if now < self.blocked_until:
            return self.blocked_until
        return self._accepted[0][0] + self.window_s if self._accepted else now

    def record(self, now, accepted, retry_after):
        """One wave's answers came at ``now``: ``accepted`` writes, and the largest Retry-After of its 429s."""
        if accepted:
            self._accepted.append((now, accepted))
        if retry_after is not None:
            self.window_s = max(self.window_s or 0.0, retry_after, 1.0)
            self.limit = max(BATCH_SIZE, self._in_window(now))
            self.blocked_until = now + retry_after


class BatchRun:
    """Sends ``requests`` [(method, relative url) or (method, relative url, body)] and returns one BatchOutcome per
    request, in order."""

    def __init__(self, client, concurrency, max_retries, clock=time.monotonic, sleep=None, rng=random.random):
        self.client = client
        self.concurrency = max(1, concurrency)
        self.max_retries = max_retries
        self.clock = clock
        self.sleep = sleep or time.sleep
        self.rng = rng
        self.batches = 0
        self.item_retries = 0
        self.throttled = 0
        self.waves = 0
        self.renewed_after_wave = None

    def run(self, requests):
        items = [_Item(index, *request) for index, request in enumerate(requests)]
        pacer = Pacer(self.clock())
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            waiting = list(items)
            while waiting:
                now = self.clock()
                allowance = pacer.allowance(now)
                if allowance == 0:
                    self.sleep(max(0.0, pacer.next_opening(now) - now))
                    continue
                wave = [item for item in waiting if item.not_before <= now][:self.concurrency * BATCH_SIZE]
                if allowance is not None:
                    wave = wave[:allowance]
                if not wave:
                    self.sleep(max(0.0, min(item.not_before for item in waiting) - now))
                    continue
                self.waves += 1
                for item in wave:
                    item.wave = self.waves
                chunks = [wave[start:start + BATCH_SIZE] for start in range(0, len(wave), BATCH_SIZE)]
                self.batches += len(chunks)
                answers = list(pool.map(self._send, chunks))
                now = self.clock()
                accepted, retry_after = 0, None
                for chunk, answer in zip(chunks, answers):
                    chunk_accepted, chunk_retry_after = self._settle(chunk, answer, now)
                    accepted += chunk_accepted
                    if chunk_retry_after is not None:
                        retry_after = max(retry_after or 0.0, chunk_retry_after)
                pacer.record(now, accepted, retry_after)
                waiting = [item for item in waiting if item.outcome is None]
        return [item.outcome for item in items]

    def _send(self, chunk):
        try:
            return self.client.request("POST", "/$batch", json_body={"requests": [i.as_request() for i in chunk]})
        except O365AdminError as error:  # the whole call failed: every item of it shares that answer
            return error

    def _settle(self, chunk, answer, now):
        """Record final outcomes, schedule retries; return (accepted count, largest throttling Retry-After)."""
        if isinstance(answer, O365AdminError):
            for item in chunk:
                item.attempts += 1
                item.outcome = BatchOutcome(getattr(answer, "status_code", None),
                                            {"error": {"code": getattr(answer, "code", None),
                                                       "message": answer.message}},
                                            getattr(answer, "request_id", None), item.attempts)
            return 0, None
        by_id = {}
        for response in (answer.body or {}).get("responses", []):
            by_id[str(response.get("id"))] = response
        accepted, throttled_retry_after = 0, None
        for item in chunk:
            item.attempts += 1
            response = by_id.get(str(item.index), {"status": 503, "headers": {}, "body": None})
            status = response.get("status")
            headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
            body = response.get("body")
            if status in STALE_TOKEN_STATUSES and self._sent_with_stale_token(item):
                item.attempts -= 1  # not the item's fault: it goes again, now, with the new token
                item.not_before = now
                continue
            if status in RETRYABLE_STATUSES and item.attempts <= self.max_retries:
                delay = retry_delay(headers.get("retry-after"), item.attempts, self.rng)
                if status == 429:
                    self.throttled += 1
                    throttled_retry_after = max(throttled_retry_after or 0.0, delay)
                item.not_before = now + delay
                self.item_retries += 1
                continue
            request_id = headers.get("request-id") or error_envelope(body)[2].get("request-id") or answer.request_id
            item.outcome = BatchOutcome(status, body, request_id, item.attempts)
            if item.outcome.ok:
                accepted += 1
        return accepted, throttled_retry_after

    def _sent_with_stale_token(self, item):
        """A 401/403 from a token out of the cache file: renew it once per run; resend what the old one carried."""
        if self.renewed_after_wave is None and self.client.token_source.renew_stale():
            self.renewed_after_wave = self.waves
        return self.renewed_after_wave is not None and item.wave <= self.renewed_after_wave

    def stats(self):
        return {"batches": self.batches, "retries": self.item_retries + self.client.transport.stats.retries,
                "throttled": self.throttled}
