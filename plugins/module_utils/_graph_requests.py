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

from ansible_collections.o365.admin.plugins.module_utils._errors import GraphApiError, GraphTransportError
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome, BatchRun


def send_each(client, requests, concurrency, max_retries):
    """[(method, path) | (method, path, body)] -> one BatchOutcome per request, in order.

    ``path`` is relative to the version root and may carry a query string. Authentication errors are raised: no
    request could be sent at all.
    """
    if not requests:
        return []
    if len(requests) > 1:
        return BatchRun(client, concurrency, max_retries).run(requests)
    request = requests[0]
    method, path, body = request[0], request[1], request[2] if len(request) > 2 else None
    try:
        response = client.request(method, path, json_body=body)
    except GraphApiError as error:
        body = {"error": {"code": error.code, "message": error.graph_message or error.message}}
        return [BatchOutcome(error.status_code, body, error.request_id)]
    except GraphTransportError as error:
        # The request may have reached Graph: its effect is unknown, never assumed either way.
        return [BatchOutcome(None, None, None, unknown=True, reason=error.message)]
    return [BatchOutcome(response.status_code, response.body, response.request_id,
                         date=getattr(response, "date", None))]
