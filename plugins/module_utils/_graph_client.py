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
import http.client
import json
import random
import re
import ssl
import threading
import time
import uuid
from datetime import timezone
from urllib.parse import urlsplit

try:
    import requests
    import urllib3
except ImportError:  # the module base reports it with missing_required_lib
    requests = urllib3 = None

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    GraphApiError, GraphTransportError, O365AdminError, ProxyAuthenticationError)
from ansible_collections.o365.admin.plugins.module_utils._version import COLLECTION_VERSION

# Graph's throttling guidance: retry 429, 503 and 504 after Retry-After; other errors are final.
RETRYABLE_STATUSES = frozenset([429, 503, 504])
# Answers that a token from the cache file may cause (revoked, or older than a permission just granted).
STALE_TOKEN_STATUSES = frozenset([401, 403])
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 32.0
# No single wait is longer, whatever Retry-After says: a longer one is more likely a broken or hostile answer than
# throttling worth sitting through in an incident, and max_retries times this bounds the waiting of any request.
# Documented in the max_retries option (plugins/doc_fragments/graph.py) and the README.
MAX_RETRY_WAIT_S = 60.0
# delta-seconds longer than this are simply "very long" (and would overflow float() at a few hundred digits).
_RETRY_AFTER_MAX_DIGITS = 9
_ASCII_DIGITS = re.compile(r"\A[0-9]+\Z")
USER_AGENT = "o365.admin/%s (Ansible collection)" % COLLECTION_VERSION


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After value, or None if absent or unreadable.

    Reads delta-seconds in ASCII digits or an HTTP date (RFC 9110), as a header string or, inside a $batch item's
    JSON headers, a non-negative integer. Anything else (signs, fractions, "²", garbage) is as good as absent.
    The result is not capped: retry_delay caps it.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value:
        return None
    if _ASCII_DIGITS.match(value):
        return float("inf") if len(value.lstrip("0")) > _RETRY_AFTER_MAX_DIGITS else float(value)
    when = parse_http_date(value)
    if when is None:
        return None
    now = time.time() if now is None else now
    try:
        return max(0.0, when.timestamp() - now)
    except (OverflowError, ValueError, OSError):
        return None


def parse_http_date(value):
    """An aware UTC datetime from an HTTP ``Date`` value (RFC 9110, whole seconds), or None if absent or unreadable.

    Graph's ``Date`` is Graph's own clock: what verify and relative ``revoked_since`` judge against, never the
    controller's clock.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000" means UTC with no offset known (RFC 5322)
        when = when.replace(tzinfo=timezone.utc)
    try:
        return when.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


def backoff_delay(attempt, rng=random.random):
    """Full-jitter exponential backoff for a retry that has no Retry-After (attempt counts from 1)."""
    return rng() * min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2 ** min(attempt - 1, 16)))


def retry_delay(retry_after, attempt, rng=random.random):
    """Seconds before retry ``attempt``: the service's Retry-After if it sent a readable one, else backoff.

    Never more than MAX_RETRY_WAIT_S.
    """
    delay = parse_retry_after(retry_after)
    return min(MAX_RETRY_WAIT_S, backoff_delay(attempt, rng) if delay is None else delay)


# Runs of characters that could be a token, a secret or a key: never quoted back to the user.
_SECRET_LIKE = re.compile(r"[A-Za-z0-9+/=_~.-]{24,}")


def safe_excerpt(value, limit=200):
    """A short, single-line quote of an answer that was not what we expected (text, bytes, or parsed JSON), with
    anything secret-like masked."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif value is None or isinstance(value, str):
        text = value or ""
    else:
        text = repr(value)
    text = " ".join(text.split())
    text = _SECRET_LIKE.sub("[...]", text)
    return text if len(text) <= limit else text[:limit] + "..."


def describe_answer(response):
    """What an unexpected answer was: content type, size and a secret-free excerpt."""
    content = response.content or b""
    content_type = response.headers.get("Content-Type") or "no content type"
    if not content:
        return "%s, empty body" % content_type
    return "%s, %d bytes: %r" % (content_type, len(content), safe_excerpt(content))


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
        message += ": %s" % safe_excerpt(raw_text, 300)
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
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
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


def _exception_chain(exc):
    """The exception and every exception it wraps (requests and urllib3 nest them in args, reason and context)."""
    seen, pending = [], [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is known for known in seen):
            continue
        seen.append(current)
        pending.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return seen


class _Failure:
    """How one attempt failed: whether to retry, whether the request may have been carried out, and why."""

    def __init__(self, reason, retry, may_have_acted, untrusted_certificate=False):
        self.reason = reason
        self.retry = retry
        self.may_have_acted = may_have_acted
        self.untrusted_certificate = untrusted_certificate


def _certificate_failure(chain):
    for exc in chain:
        if isinstance(exc, ssl.SSLCertVerificationError):
            detail = getattr(exc, "verify_message", None)
            return "certificate verify failed: %s" % detail if detail else str(exc)
        if isinstance(exc, ssl.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return "certificate verify failed"
    return None


def classify_failure(exc, timeout):
    """Turn what requests, urllib3, http.client or the OS raised for one attempt into a _Failure."""
    chain = _exception_chain(exc)
    untrusted = _certificate_failure(chain)
    if untrusted is not None:
        return _Failure(untrusted, retry=False, may_have_acted=False, untrusted_certificate=True)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _Failure("no connection within %s s" % timeout, retry=True, may_have_acted=False)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return _Failure("no answer within %s s (read timeout)" % timeout, retry=True, may_have_acted=True)
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return _Failure("the answer was cut off or could not be decoded (%s)" % _describe(exc), retry=True,
                        may_have_acted=True)
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader)):
        # The request could not even be built: sending again cannot help.
        return _Failure(_describe(exc), retry=False, may_have_acted=False)
    if isinstance(exc, (requests.exceptions.ConnectionError, http.client.HTTPException, urllib3.exceptions.HTTPError)) \
            or (isinstance(exc, OSError) and not isinstance(exc, requests.exceptions.RequestException)):
        # Refused, unresolvable or unreachable: the request never left. Anything else (a reset or a close after
        # it was sent) may have come after the service acted.
        never_sent = any(isinstance(e, (urllib3.exceptions.NewConnectionError, ConnectionRefusedError,
                                        requests.exceptions.ProxyError, requests.exceptions.SSLError))
                         for e in chain)
        return _Failure(_describe(exc), retry=True, may_have_acted=not never_sent)
    # Too many redirects and the like: final, and what was sent may have acted.
    return _Failure(_describe(exc), retry=False, may_have_acted=True)


# What urllib3 raises when the proxy refuses the CONNECT tunnel: "Tunnel connection failed: 407 Proxy
# Authentication Required".
_PROXY_407 = re.compile(r"\b407\b")


def proxy_refused(exc):
    """True if what requests raised is the proxy answering 407 to the CONNECT that opens an https tunnel."""
    chain = _exception_chain(exc)
    return any(isinstance(e, requests.exceptions.ProxyError) for e in chain) and any(
        isinstance(e, OSError) and _PROXY_407.search(str(e)) for e in chain)


def proxy_for(session, url):
    """The proxy requests uses for ``url`` (from HTTPS_PROXY, HTTP_PROXY, NO_PROXY), without its credentials."""
    try:
        settings = session.merge_environment_settings(url, {}, None, None, None)
        proxy = requests.utils.select_proxy(url, settings.get("proxies") or {})
    except (ValueError, TypeError, AttributeError):
        return None
    if not proxy:
        return None
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    try:
        port = ":%d" % parts.port if parts.port else ""
    except ValueError:
        port = ""
    return "%s://%s%s" % (parts.scheme, parts.hostname or "", port)


def proxy_authentication_error(url, proxy):
    """407 from the proxy: its credentials, not Graph's or Entra ID's; nothing reached the service."""
    host = urlsplit(url).hostname or url
    return ProxyAuthenticationError(
        "The HTTP proxy %s refused the request to %s with 407 Proxy Authentication Required: it wants a user name "
        "and password that it did not get, or got wrong. Check the credentials in HTTPS_PROXY (written as "
        "http://user:password@proxy:port; percent-encode special characters in the password), or NO_PROXY if %s "
        "should not go through the proxy. Nothing reached %s, and the request was not retried."
        % (proxy or "(from HTTPS_PROXY)", host, host, host), url, proxy)


def transport_error(url, attempts, failure, may_have_acted):
    """The GraphTransportError for a request that got no usable answer; says what to check and what it means."""
    host = urlsplit(url).hostname or url
    if failure.untrusted_certificate:
        return GraphTransportError(
            "The TLS certificate of %s is not trusted (%s). Behind a TLS-inspecting proxy, set ca_path to the "
            "proxy's CA bundle.%s" % (host, failure.reason, "" if may_have_acted else " Nothing was sent."),
            url, attempts, may_have_acted)
    if may_have_acted:
        return GraphTransportError(
            "The answer from %s was lost after %d attempt(s): %s. The request may have been carried out; check the "
            "network path, proxy settings (HTTPS_PROXY, NO_PROXY) and timeout, and run the task again to be sure."
            % (url, attempts, failure.reason), url, attempts, True)
    return GraphTransportError(
        "No answer from %s after %d attempt(s): %s. Nothing reached the service; check the network path, proxy "
        "settings (HTTPS_PROXY, NO_PROXY) and timeout." % (url, attempts, failure.reason), url, attempts, False)


class HttpTransport:
    """Sends requests on one session with a timeout, retrying throttling, 503/504 and connection errors.

    The one place where what requests, urllib3 and the OS raise becomes a typed error (GraphTransportError).
    """

    def __init__(self, session, timeout, max_retries, verify=True, sleep=None, rng=None):
        self.session = session
        # Passed on every call: requests lets REQUESTS_CA_BUNDLE beat a session-level verify.
        self.verify = verify
        self.timeout = timeout
        self.max_retries = max_retries
        self.sleep = sleep or time.sleep
        self.rng = rng or random.random
        self.stats = RetryStats()
        self.proxy_failure = None  # the proxy's 407, once met: every later request would meet it too

    def send(self, method, url, headers=None, **kwargs):
        """Return the final requests.Response (possibly an error status); raise GraphTransportError if none came."""
        headers = dict(headers or {})
        headers.setdefault("User-Agent", USER_AGENT)
        attempt = 0
        waited_s = 0.0
        may_have_acted = False  # once one attempt may have been carried out, the whole request may have been
        while True:
            attempt += 1
            # A fresh client-request-id per attempt lets Microsoft support find each one.
            headers["client-request-id"] = str(uuid.uuid4())
            try:
                response = self.session.request(method, url, headers=headers, timeout=self.timeout,
                                                verify=self.verify, **kwargs)
            except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, http.client.HTTPException,
                    OSError) as exc:
                if proxy_refused(exc):
                    raise self._proxy_refused(url)
                failure = classify_failure(exc, self.timeout)
                may_have_acted = may_have_acted or failure.may_have_acted
                if not failure.retry or attempt > self.max_retries:
                    raise transport_error(url, attempt, failure, may_have_acted)
                waited_s += self._wait(retry_delay(None, attempt, self.rng))
                continue
            if response.status_code == 407:  # a plain-http forward proxy answers 407 itself
                raise self._proxy_refused(url)
            response.attempts = attempt
            response.waited_s = waited_s
            if response.status_code not in RETRYABLE_STATUSES or attempt > self.max_retries:
                return response
            waited_s += self._wait(retry_delay(response.headers.get("Retry-After"), attempt, self.rng))

    def _proxy_refused(self, url):
        self.proxy_failure = proxy_authentication_error(url, proxy_for(self.session, url))
        return self.proxy_failure

    def _wait(self, seconds):
        self.stats.add(seconds)
        self.sleep(seconds)
        return seconds


def _describe(exc):
    # requests wraps urllib3 errors several levels deep; the innermost reason is the readable one.
    reason = exc
    for dummy in range(20):  # a cycle or a deep chain ends here
        if isinstance(getattr(reason, "reason", None), BaseException) and reason.reason is not reason:
            reason = reason.reason
        else:
            # ProtocolError("Connection aborted.", RemoteDisconnected(...)): the wrapped exception says more.
            wrapped = [arg for arg in reason.args if isinstance(arg, BaseException) and arg is not reason]
            if not wrapped:
                break
            reason = wrapped[-1]
    return str(reason) or reason.__class__.__name__


class GraphResponse:
    """A 2xx answer. ``body`` is the decoded JSON, None when there was no body or it was not JSON:
    ``has_body`` and ``received`` (content type, size and a secret-free excerpt) tell those apart."""

    def __init__(self, status_code, body, request_id, client_request_id, attempts, has_body=None, received=None,
                 token_generation=None, date=None):
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.attempts = attempts
        self.has_body = body is not None if has_body is None else has_body
        self.received = received
        # Which token the answered request carried (see the token source's renew_stale).
        self.token_generation = token_generation
        # Graph's clock when it answered (its Date header, whole seconds), or None.
        self.date = date


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
        token, generation = self.token_source.current_token()
        headers["Authorization"] = "Bearer %s" % token
        response = self.transport.send(method, url, headers=headers, params=params, **kwargs)
        if response.status_code in STALE_TOKEN_STATUSES and self.token_source.renew_stale(generation):
            token, generation = self.token_source.current_token()
            headers["Authorization"] = "Bearer %s" % token
            response = self.transport.send(method, url, headers=headers, params=params, **kwargs)
        body = _decode_json(response)
        if 200 <= response.status_code < 300:
            return GraphResponse(response.status_code, body, response.headers.get("request-id"),
                                 response.headers.get("client-request-id"), response.attempts,
                                 has_body=bool(response.content), received=describe_answer(response),
                                 token_generation=generation,
                                 date=parse_http_date(response.headers.get("Date")))
        error = graph_error_from_response(response.status_code, body, response.headers, response.attempts,
                                          response.waited_s, response.request.headers.get("client-request-id"),
                                          response.text)
        if response.status_code == 403:
            error.granted_roles = self.granted_roles()
        raise error

    def granted_roles(self):
        """The application permissions the token in use lists, or None if it cannot tell (see _permissions)."""
        roles = getattr(self.token_source, "granted_roles", None)
        return roles() if roles is not None else None

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
