# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One or many Graph requests, one answer each: a single request goes straight to Graph, several through $batch.

Internal to this collection, may change without notice.

A lone request gains nothing from $batch and, sent as itself, is checked against Graph's contract by a validating
proxy; several go through BatchRun (20 per call, retries, pacing). Either way the caller gets one GraphAnswer per
request, in order.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.o365.admin.plugins.module_utils._errors import GraphApiError, GraphTransportError
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchRun
from ansible_collections.o365.admin.plugins.module_utils._graph_client import error_envelope


class GraphAnswer:
    """Graph's answer to one request: ``ok`` (a 2xx), or its error; ``unknown`` when no answer could be read."""

    def __init__(self, status_code, body, request_id, unknown=False, reason=None):
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.unknown = unknown
        self.reason = reason  # why there is no Graph answer to show (lost, or never sent)

    @property
    def ok(self):
        return not self.unknown and self.status_code is not None and 200 <= self.status_code < 300

    @property
    def error(self):
        """{code, message}: Graph's own, or what is known when Graph's envelope is missing."""
        code, message, dummy = error_envelope(self.body)
        if code or message:
            return {"code": code, "message": message}
        if self.reason:
            return {"code": None, "message": self.reason}
        if self.unknown:
            return {"code": None, "message": "No readable answer from Microsoft Graph."}
        return {"code": None, "message": "HTTP %s" % self.status_code}

    @classmethod
    def from_batch(cls, outcome):
        return cls(outcome.status_code, outcome.body, outcome.request_id, bool(getattr(outcome, "unknown", False)),
                   getattr(outcome, "reason", None))

    @classmethod
    def from_error(cls, error):
        body = {"error": {"code": error.code, "message": error.graph_message or error.message}}
        return cls(error.status_code, body, error.request_id)


def send_each(client, requests, concurrency, max_retries):
    """[(method, path) | (method, path, body)] -> one GraphAnswer per request, in order.

    ``path`` is relative to the version root and may carry a query string. Authentication errors are raised: no
    request could be sent at all.
    """
    if not requests:
        return []
    if len(requests) > 1:
        return [GraphAnswer.from_batch(outcome) for outcome in BatchRun(client, concurrency, max_retries).run(requests)]
    request = requests[0]
    method, path, body = request[0], request[1], request[2] if len(request) > 2 else None
    try:
        response = client.request(method, path, json_body=body)
    except GraphApiError as error:
        return [GraphAnswer.from_error(error)]
    except GraphTransportError as error:
        # The request may have reached Graph: its effect is unknown, never assumed either way.
        return [GraphAnswer(None, None, None, unknown=True, reason=error.message)]
    return [GraphAnswer(response.status_code, response.body, response.request_id)]
