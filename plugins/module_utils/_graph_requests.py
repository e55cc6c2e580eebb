# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One or many Graph requests, one answer each: a single request goes straight to Graph, several through $batch.

Internal to this collection, may change without notice.

A lone request gains nothing from $batch and, sent as itself, is checked against Graph's contract by a validating
proxy; several go through BatchRun (20 per call, retries, pacing). Either way the caller gets one BatchOutcome per
request, in order: the same ``ok`` / ``unknown`` / ``error`` / ``reason`` whichever way it went.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    GraphApiError, GraphTransportError, ProxyAuthenticationError)
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import (
    INTERRUPTED, WRITE_METHODS, BatchOutcome, BatchRequest, BatchRun, Pacer)


def send_each(client, requests, concurrency, max_retries):
    """[(method, path) | (method, path, body)] -> one BatchOutcome per request, in order.

    ``path`` is relative to the version root and may carry a query string. Authentication errors are raised: no
    request could be sent at all.
    """
    return Sender(client, concurrency, max_retries)(requests)


class Sender:
    """Sends requests and keeps count: callable as ``sender(requests)`` -> one BatchOutcome per request.

    Whichever way a request goes, its outcome means the same: ``ok`` only for a 2xx Graph answered (a 2xx whose body
    is not JSON keeps a description of it as ``body``, so nobody mistakes a proxy's page for an empty answer),
    ``unknown`` when it may have acted and the answer is lost, failed with ``reason`` when it was never sent.
    """

    def __init__(self, client, concurrency, max_retries, lone_request_direct=True, stop=None):
        self.client = client
        self.stop = stop  # the run's Interruption (or any is_set()): once set, nothing more is sent
        self.concurrency = concurrency
        self.max_retries = max_retries
        # A lone request goes straight to Graph (a validating proxy sees it); a bulk task may keep $batch for it.
        self.lone_request_direct = lone_request_direct
        self.runs = []
        # One pacer for the writes and one for the reads of the whole task, not one per wave: Graph's quotas are
        # per app and tenant, so the write quota one wave learned (the block) still holds for the next (the
        # revoke), which would otherwise meet a full window with every call in flight and learn it again from
        # a burst of 429s.
        self.pacers = {}

    def __call__(self, requests, on_outcome=None, on_send=None):
        """One BatchOutcome per request, in order; ``on_outcome(index, outcome)`` as each becomes final;
        ``on_send([index, ...])`` before each call that carries them leaves."""
        if not requests:
            return []
        if self.stopped():
            outcomes = [BatchOutcome(None, None, None, 0, reason="not sent: %s" % INTERRUPTED) for dummy in requests]
            for index, outcome in enumerate(outcomes):
                if on_outcome is not None:
                    on_outcome(index, outcome)
            return outcomes
        if len(requests) > 1 or not self.lone_request_direct:
            hooks = dict(on_outcome=on_outcome)
            if on_send is not None:
                hooks["on_send"] = on_send
            run = BatchRun(self.client, self.concurrency, self.max_retries, stop=self.stop, **hooks)
            run.pacer = self.pacer_for(requests)
            self.runs.append(run)
            return run.run(requests)
        if on_send is not None:
            on_send([0])
        outcome = self._send_one(BatchRequest.of(requests[0]))
        if on_outcome is not None:
            on_outcome(0, outcome)
        return [outcome]

    def stopped(self):
        return self.stop is not None and self.stop.is_set()

    def pacer_for(self, requests):
        """The task's pacer for these requests (on BatchRun's clock): the writes' if any of them writes, else the
        reads'."""
        kind = "write" if any(BatchRequest.of(request).method in WRITE_METHODS for request in requests) else "read"
        if kind not in self.pacers:
            self.pacers[kind] = Pacer(time.monotonic())
        return self.pacers[kind]

    def _send_one(self, request):
        try:
            response = self.client.request(request.method, request.url, json_body=request.body,
                                           headers=request.headers or None)
        except GraphApiError as error:
            body = {"error": {"code": error.code, "message": error.graph_message or error.message}}
            outcome = BatchOutcome(error.status_code, body, error.request_id, error.attempts, exception=error)
            outcome.granted_roles = error.granted_roles  # a 403's: what the refused token holds
            return outcome
        except ProxyAuthenticationError:
            raise  # the proxy's 407: nothing reached Graph, and the task says so once
        except GraphTransportError as error:
            if error.may_have_acted:
                # The request may have reached Graph: its effect is unknown, never assumed either way.
                return BatchOutcome(None, None, None, error.attempts, unknown=True, reason=error.message,
                                    exception=error)
            return BatchOutcome(None, None, None, error.attempts, reason="not sent: %s" % error.message,
                                exception=error)
        body = response.body
        if body is None and response.has_body:
            body = response.received or "a body that is not JSON"
        return BatchOutcome(response.status_code, body, response.request_id, response.attempts,
                            date=getattr(response, "date", None))

    def stats(self):
        """$batch calls and retries (item retries of every run, plus the transport's own)."""
        transport_retries = self.client.transport.stats.retries
        return {"batches": sum(run.stats()["batches"] for run in self.runs),
                "retries": transport_retries + sum(run.stats()["retries"] - transport_retries for run in self.runs)}
