# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One requests.Session for Graph and msal: timeouts, retries, Retry-After, error parsing.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import json
import random
import threading
import time
import uuid
from urllib.parse import urlsplit

try:
    import requests
except ImportError:  # the module base reports it with missing_required_lib
    requests = None

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    GraphApiError, GraphTransportError, O365AdminError)
from ansible_collections.o365.admin.plugins.module_utils._version import COLLECTION_VERSION

# Graph's throttling guidance: retry 429, 503 and 504 after Retry-After; other errors are final.
RETRYABLE_STATUSES = frozenset([429, 503, 504])
# Answers that a token from the cache file may cause (revoked, or older than a permission just granted).
STALE_TOKEN_STATUSES = frozenset([401, 403])
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 32.0
USER_AGENT = "o365.admin/%s (Ansible collection)" % COLLECTION_VERSION


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None if absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def backoff_delay(attempt, rng=random.random):
    """Full-jitter exponential backoff for a retry that has no Retry-After (attempt counts from 1)."""
    return rng() * min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2 ** (attempt - 1)))


def retry_delay(retry_after, attempt, rng=random.random):
    """Seconds before retry ``attempt``: the service's Retry-After if it sent a readable one, else backoff."""
    delay = parse_retry_after(retry_after)
    return backoff_delay(attempt, rng) if delay is None else delay


def _header(headers, name):
    return headers.get(name) if headers is not None else None


def error_envelope(body):
    """(code, message, innerError) from Graph's {"error": {"code", "message", "innerError"}}; Nones and {} if absent."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    inner = error.get("innerError") or error.get("innererror") or {}
    return error.get("code"), error.get("message"), inner if isinstance(inner, dict) else {}


def graph_error_from_response(status_code, body, headers, attempts=1, waited_s=0.0, client_request_id=None,
                              raw_text=None):
    """Build a GraphApiError from Graph's error envelope."""
    code, graph_message, inner = error_envelope(body)
    request_id = _header(headers, "request-id") or inner.get("request-id")
    # The id we sent is the one to quote; Graph echoes it in a header and in innerError.
    client_request_id = client_request_id or _header(headers, "client-request-id") or inner.get("client-request-id")
    message = "Microsoft Graph answered HTTP %s" % status_code
    if code:
        message += " %s" % code
    if graph_message:
        message += ": %s" % graph_message
    elif not code and raw_text:
        # Not Graph's envelope (a proxy or gateway answered): its own words are the best clue.
        message += ": %s" % raw_text.strip()[:300]
    if request_id:
        message += " (request-id %s)" % request_id
    message += "."
    if status_code in RETRYABLE_STATUSES:
        message += (" Gave up after %d attempts and %.1f s of waiting as Graph asked; try again later or raise "
                    "max_retries." % (attempts, waited_s))
    elif status_code == 401:
        message += (" Graph rejected the access token: it expired, or was issued for another cloud, tenant or "
                    "resource than this graph_endpoint.")
    return GraphApiError(message, status_code, code=code, graph_message=graph_message, request_id=request_id,
                         client_request_id=client_request_id, attempts=attempts)


def _decode_json(response):
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


class RetryStats:
    """What the retries cost, so a module can show it in its result."""

    def __init__(self):
        self.retries = 0
        self.waited_s = 0.0
        self._lock = threading.Lock()  # parallel $batch calls share one transport

    def add(self, seconds):
        with self._lock:
            self.retries += 1
            self.waited_s += seconds

    def as_dict(self):
        return {"retries": self.retries, "retry_wait_s": round(self.waited_s, 3)}


class HttpTransport:
    """Sends requests on one session with a timeout, retrying throttling, 503/504 and connection errors."""

    def __init__(self, session, timeout, max_retries, verify=True, sleep=None, rng=None):
        self.session = session
        # Passed on every call: requests lets REQUESTS_CA_BUNDLE beat a session-level verify.
        self.verify = verify
        self.timeout = timeout
        self.max_retries = max_retries
        self.sleep = sleep or time.sleep
        self.rng = rng or random.random
        self.stats = RetryStats()

    def send(self, method, url, headers=None, **kwargs):
        """Return the final requests.Response (possibly an error status); raise GraphTransportError if none came."""
        headers = dict(headers or {})
        headers.setdefault("User-Agent", USER_AGENT)
        attempt = 0
        waited_s = 0.0
        while True:
            attempt += 1
            # A fresh client-request-id per attempt lets Microsoft support find each one.
            headers["client-request-id"] = str(uuid.uuid4())
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.timeout,
                                                verify=self.verify, **kwargs)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if attempt > self.max_retries:
                    raise GraphTransportError(
                        "No answer from %s after %d attempt(s): %s. Check the network path, proxy settings "
                        "(HTTPS_PROXY, NO_PROXY) and timeout." % (url, attempt, _describe(exc)), url, attempt)
                waited_s += self._wait(backoff_delay(attempt, self.rng))
                continue
            response.attempts = attempt
            response.waited_s = waited_s
            if response.status_code not in RETRYABLE_STATUSES or attempt > self.max_retries:
                return response
            waited_s += self._wait(retry_delay(response.headers.get("Retry-After"), attempt, self.rng))

    def _wait(self, seconds):
        self.stats.add(seconds)
        self.sleep(seconds)
        return seconds


def _describe(exc):
    # requests wraps urllib3 errors several levels deep; the innermost reason is the readable one.
    reason = exc
    while getattr(reason, "reason", None) is not None and reason.reason is not reason:
        reason = reason.reason
    while reason.args and isinstance(reason.args[0], Exception):
        reason = reason.args[0]
    return str(reason) or exc.__class__.__name__


class GraphResponse:
    """A successful Graph answer."""

    def __init__(self, status_code, body, request_id, client_request_id, attempts):
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.attempts = attempts


class GraphClient:
    """Calls Microsoft Graph v1.0 with a bearer token from ``token_source`` (anything with ``get_token()``)."""

    def __init__(self, transport, graph_endpoint, token_source, api_version="v1.0"):
        self.transport = transport
        self.base_url = "%s/%s" % (graph_endpoint.rstrip("/"), api_version)
        self.token_source = token_source

    def request(self, method, path, params=None, json_body=None, headers=None):
        """Send one Graph request; return a GraphResponse for any 2xx, raise GraphApiError otherwise.

        ``path`` is relative to the version root, or an absolute ``@odata.nextLink`` under it.
        """
        kwargs = {}
        extra_headers = headers
        headers = {"Accept": "application/json"}
        headers.update(extra_headers or {})
        if json_body is not None:
            headers["Content-Type"] = "application/json"
            kwargs["data"] = json.dumps(json_body)
        url = self._url(path)
        headers["Authorization"] = "Bearer %s" % self.token_source.get_token()
        response = self.transport.send(method, url, headers=headers, params=params, **kwargs)
        if response.status_code in STALE_TOKEN_STATUSES and self.token_source.renew_stale():
            headers["Authorization"] = "Bearer %s" % self.token_source.get_token()
            response = self.transport.send(method, url, headers=headers, params=params, **kwargs)
        body = _decode_json(response)
        if 200 <= response.status_code < 300:
            return GraphResponse(response.status_code, body, response.headers.get("request-id"),
                                 response.headers.get("client-request-id"), response.attempts)
        raise graph_error_from_response(response.status_code, body, response.headers, response.attempts,
                                        response.waited_s, response.request.headers.get("client-request-id"),
                                        response.text)

    def _url(self, path):
        if path.startswith("/"):
            return self.base_url + path
        # An @odata.nextLink is absolute: follow it only on the endpoint and version this client was given,
        # so a tampered or misrouted link cannot carry the bearer token to another host.
        link, base = urlsplit(path), urlsplit(self.base_url)
        if ((link.scheme.lower(), link.netloc.lower()) != (base.scheme.lower(), base.netloc.lower())
                or not link.path.startswith(base.path + "/")):
            raise O365AdminError("Microsoft Graph returned a next-page link outside %s (%s://%s%s); it was not "
                                 "followed." % (self.base_url, link.scheme, link.netloc, link.path))
        return path

    def get_all(self, path, params=None, headers=None):
        """Every item of a collection: GET ``path``, then each ``@odata.nextLink`` to the end (it carries the
        query, so it is sent as it is)."""
        items = []
        body = self.request("GET", path, params=params, headers=headers).body or {}
        items.extend(body.get("value") or [])
        followed = set()
        while body.get("@odata.nextLink"):
            link = body["@odata.nextLink"]
            if link in followed:
                raise O365AdminError("Microsoft Graph returned the same next-page link twice (%s); stopped paging."
                                     % urlsplit(link).path)
            followed.add(link)
            body = self.request("GET", link, headers=headers).body or {}
            items.extend(body.get("value") or [])
        return items
