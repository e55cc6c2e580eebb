# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import email.utils
import http.client
import ssl

import pytest
import requests
import responses
import urllib3

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    GraphApiError, GraphTransportError, ProxyAuthenticationError)
from ansible_collections.o365.admin.plugins.module_utils._graph_client import (
    BACKOFF_CAP_S, MAX_RETRY_WAIT_S, USER_AGENT, GraphClient, HttpTransport, backoff_delay, graph_error_from_response,
    parse_http_date, parse_retry_after, retry_delay, safe_excerpt)
from ansible_collections.o365.admin.plugins.module_utils._version import COLLECTION_VERSION

GRAPH = "https://graph.example.test"
REVOKE_URL = GRAPH + "/v1.0/users/adele@contoso.com/revokeSignInSessions"


class FixedToken:
    def __init__(self, renewable=False):
        self.renewable = renewable
        self.token = "token-1"
        self.generation = 1

    def get_token(self):
        return self.token

    def current_token(self):
        return self.token, self.generation

    def renew_stale(self, generation=None):
        if not self.renewable:
            return False
        self.renewable, self.token, self.generation = False, "token-2", 2
        return True


def make_client(max_retries=3, waits=None, token=None):
    waits = [] if waits is None else waits
    transport = HttpTransport(requests.Session(), timeout=5, max_retries=max_retries, sleep=waits.append,
                              rng=lambda: 0.5)
    return GraphClient(transport, GRAPH + "/", token or FixedToken())


def graph_error(code, message):
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": "2026-11-24T10:00:00", "request-id": "inner-rid",
                                     "client-request-id": "inner-crid"}}}


@pytest.mark.parametrize("header, expected", [
    ("7", 7.0),
    (" 0 ", 0.0),
    (None, None),
    ("", None),
    ("soon", None),
    ("-3", None),
])
def test_retry_after_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_retry_after_http_date_counts_from_now():
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(12.0)
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap():
    assert backoff_delay(1, rng=lambda: 1.0) == 1.0
    assert backoff_delay(3, rng=lambda: 1.0) == 4.0
    assert backoff_delay(30, rng=lambda: 1.0) == BACKOFF_CAP_S
    assert backoff_delay(3, rng=lambda: 0.0) == 0.0


@responses.activate
def test_graphs_date_header_is_kept_as_graphs_clock():
    responses.post(REVOKE_URL, json={"value": True}, headers={"Date": "Tue, 24 Nov 2026 10:00:07 GMT"})
    response = make_client().request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert response.date == datetime.datetime(2026, 11, 24, 10, 0, 7, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("value, expected", [
    ("Tue, 24 Nov 2026 10:00:07 GMT", datetime.datetime(2026, 11, 24, 10, 0, 7, tzinfo=datetime.timezone.utc)),
    ("Tue, 24 Nov 2026 11:00:07 +0100", datetime.datetime(2026, 11, 24, 10, 0, 7, tzinfo=datetime.timezone.utc)),
    ("Tue, 24 Nov 2026 10:00:07 -0000", datetime.datetime(2026, 11, 24, 10, 0, 7, tzinfo=datetime.timezone.utc)),
    (None, None), ("", None), ("yesterday", None), ("Tue, 99 Nov 2026 10:00:07 GMT", None), (7, None),
    ("Fri, 31 Dec 9999 23:59:59 -2359", None),  # past datetime.max in UTC
])
def test_an_unreadable_date_is_as_good_as_absent(value, expected):
    assert parse_http_date(value) == expected


@responses.activate
def test_success_returns_body_status_and_ids():
    responses.post(REVOKE_URL, json={"value": True}, status=200, headers={"request-id": "rid-1"})
    response = make_client().request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert (response.status_code, response.request_id, response.attempts) == (200, "rid-1", 1)
    assert response.body == {"value": True}
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer token-1"
    assert sent.headers["User-Agent"] == USER_AGENT
    assert COLLECTION_VERSION in USER_AGENT
    assert sent.body is None


@responses.activate
def test_429_is_retried_after_its_retry_after():
    responses.post(REVOKE_URL, status=429, headers={"Retry-After": "3"}, json=graph_error("TooManyRequests", "slow"))
    responses.post(REVOKE_URL, status=200, json={"value": True})
    waits = []
    client = make_client(waits=waits)
    response = client.request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert response.status_code == 200 and response.attempts == 2
    assert waits == [3.0]
    assert client.transport.stats.as_dict() == {"retries": 1, "retry_wait_s": 3.0}
    ids = [call.request.headers["client-request-id"] for call in responses.calls]
    assert len(set(ids)) == 2


@responses.activate
@pytest.mark.parametrize("status", [503, 504])
def test_unavailable_without_retry_after_backs_off(status):
    responses.post(REVOKE_URL, status=status)
    responses.post(REVOKE_URL, status=status)
    responses.post(REVOKE_URL, status=200, json={"value": True})
    waits = []
    make_client(waits=waits).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert waits == [0.5, 1.0]  # rng 0.5 times 1 s, then 2 s


@responses.activate
@pytest.mark.parametrize("status, code", [(400, "Request_BadRequest"), (401, "InvalidAuthenticationToken"),
                                          (403, "Authorization_RequestDenied"), (404, "Request_ResourceNotFound"),
                                          (500, "UnknownError")])
def test_other_errors_are_not_retried_and_carry_graph_details(status, code):
    responses.post(REVOKE_URL, status=status, json=graph_error(code, "Nope."), headers={"request-id": "rid-h"})
    waits = []
    with pytest.raises(GraphApiError) as error:
        make_client(waits=waits).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert len(responses.calls) == 1 and waits == []
    assert (error.value.status_code, error.value.code, error.value.graph_message) == (status, code, "Nope.")
    assert error.value.request_id == "rid-h"
    assert error.value.client_request_id == responses.calls[0].request.headers["client-request-id"]
    assert "HTTP %d %s: Nope. (request-id rid-h)." % (status, code) in error.value.message


@responses.activate
def test_retries_are_bounded_and_the_final_error_says_how_many():
    for dummy in range(3):
        responses.post(REVOKE_URL, status=429, headers={"Retry-After": "1"},
                       json=graph_error("TooManyRequests", "Too many requests."))
    waits = []
    with pytest.raises(GraphApiError) as error:
        make_client(max_retries=2, waits=waits).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert len(responses.calls) == 3 and waits == [1.0, 1.0]
    assert error.value.attempts == 3
    assert "after 3 attempts and 2.0 s of waiting" in error.value.message
    assert "max_retries" in error.value.message


@responses.activate
def test_connection_errors_are_retried_then_reported():
    responses.post(REVOKE_URL, body=requests.exceptions.ConnectionError("Connection refused"))
    responses.post(REVOKE_URL, body=requests.exceptions.ConnectionError("Connection refused"))
    waits = []
    with pytest.raises(GraphTransportError) as error:
        make_client(max_retries=1, waits=waits).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert len(responses.calls) == 2 and waits == [0.5]
    assert "after 2 attempt(s): Connection refused" in error.value.message
    assert error.value.fail_json_kwargs()["attempts"] == 2


@responses.activate
def test_json_body_and_query_parameters_are_sent():
    responses.post(GRAPH + "/v1.0/$batch", json={"responses": []})
    make_client().request("POST", "/$batch", json_body={"requests": []})
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"
    assert responses.calls[0].request.body == '{"requests": []}'


def test_error_details_fall_back_to_the_inner_error():
    error = graph_error_from_response(404, graph_error("Request_ResourceNotFound", "Gone."), {})
    assert (error.request_id, error.client_request_id) == ("inner-rid", "inner-crid")
    assert error.fail_json_kwargs()["error"] == {"code": "Request_ResourceNotFound", "message": "Gone."}


@pytest.mark.parametrize("body", [None, "not json", {"error": "flat"}, {"unexpected": 1}])
def test_error_without_an_envelope_still_names_the_status(body):
    error = graph_error_from_response(502, body, {})
    assert error.message.startswith("Microsoft Graph answered HTTP 502")
    assert error.code is None


def test_unauthorized_error_hints_at_the_token():
    error = graph_error_from_response(401, graph_error("InvalidAuthenticationToken", "Token expired."), {})
    assert "access token" in error.message


def test_a_foreign_error_body_is_quoted():
    error = graph_error_from_response(500, {"title": "Request/Response not valid"}, {},
                                      raw_text='{"title": "Request/Response not valid"}')
    assert 'Request/Response not valid' in error.message


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_cached_token_is_renewed_once(status):
    responses.post(REVOKE_URL, status=status, json=graph_error("Authorization_RequestDenied", "No."))
    responses.post(REVOKE_URL, json={"value": True})
    response = make_client(token=FixedToken(renewable=True)).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert response.status_code == 200
    assert [c.request.headers["Authorization"] for c in responses.calls] == ["Bearer token-1", "Bearer token-2"]


# --- Retry-After: ASCII digits or an HTTP date, every wait capped (issue 10 #3) --------------------------------

@pytest.mark.parametrize("value, expected", [
    (7, 7.0),                   # an integer, as in a $batch item's JSON headers
    (0, 0.0),
    ("0007", 7.0),
    (-1, None),
    (True, None),
    (1.5, None),
    ("1.5", None),
    ("+3", None),
    ("\u00b2", None),           # passes str.isdigit(), fails float()
    ("\u0663", None),           # an Arabic-Indic digit
    ("7 seconds", None),
    (b"7", None),
    ({"seconds": 7}, None),
    ("9" * 400, float("inf")),  # readable, and longer than any wait
    ("99999999999", float("inf")),
])
def test_retry_after_reads_ascii_digits_and_ints_only(value, expected):
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize("value", ["99999999999", "9" * 400, 10 ** 12, "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_every_wait_is_capped(value):
    assert retry_delay(value, 1, rng=lambda: 0.5) == MAX_RETRY_WAIT_S


@pytest.mark.parametrize("value", ["\u00b2", "garbage", "Sun, 99 Foo 2026 99:99:99 GMT", 1.5, -4, None])
def test_unreadable_retry_after_is_as_good_as_absent(value):
    assert retry_delay(value, 3, rng=lambda: 0.5) == backoff_delay(3, rng=lambda: 0.5)


def test_backoff_is_capped_even_for_a_huge_attempt_number():
    assert retry_delay(None, 10 ** 6, rng=lambda: 1.0) == BACKOFF_CAP_S


def test_http_date_without_an_offset_counts_as_utc():
    now = 1_800_000_000
    value = email.utils.formatdate(now + 20, usegmt=False).rsplit(" ", 1)[0] + " -0000"
    assert parse_retry_after(value, now=now) == pytest.approx(20.0, abs=1.0)


@responses.activate
@pytest.mark.parametrize("value", ["99999999999", "9" * 400, "\u00b2", "garbage"])
def test_transport_survives_any_retry_after_header(value):
    responses.post(REVOKE_URL, status=429, headers={"Retry-After": value}, json=graph_error("TooManyRequests", "x"))
    responses.post(REVOKE_URL, status=200, json={"value": True})
    waits = []
    response = make_client(max_retries=1, waits=waits).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert response.body == {"value": True}
    assert len(waits) == 1 and 0 <= waits[0] <= MAX_RETRY_WAIT_S


# --- Transport failures become typed errors that say whether the request may have acted -------------------------

def untrusted_certificate_error():
    reason = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate")
    return requests.exceptions.SSLError(
        urllib3.exceptions.MaxRetryError(None, REVOKE_URL, urllib3.exceptions.SSLError(reason)))


@responses.activate
def test_an_untrusted_certificate_is_final_at_once_and_names_ca_path():
    responses.post(REVOKE_URL, body=untrusted_certificate_error())
    waits = []
    with pytest.raises(GraphTransportError) as error:
        make_client(max_retries=4, waits=waits).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert len(responses.calls) == 1 and waits == []
    message = error.value.message
    assert "The TLS certificate of graph.example.test is not trusted" in message
    assert "set ca_path" in message and "unable to get local issuer certificate" in message
    assert error.value.may_have_acted is False


def refused():
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, REVOKE_URL, urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: "
                                                                      "[Errno 111] Connection refused")))


def reset_after_sending():
    return requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")))


@responses.activate
@pytest.mark.parametrize("make_exception, may_have_acted, words", [
    (refused, False, "Nothing reached the service"),
    (lambda: requests.exceptions.ConnectTimeout("connect timed out"), False, "no connection within 5 s"),
    (lambda: requests.exceptions.ProxyError("Cannot connect to proxy."), False, "Nothing reached the service"),
    (reset_after_sending, True, "may have been carried out"),
    (lambda: requests.exceptions.ReadTimeout("read timed out"), True, "no answer within 5 s (read timeout)"),
    (lambda: requests.exceptions.ChunkedEncodingError(urllib3.exceptions.ProtocolError(
        "Connection broken: IncompleteRead(10 bytes read, 20 more expected)")), True, "cut off"),
    (lambda: requests.exceptions.ContentDecodingError("Received response with content-encoding: gzip"), True,
     "cut off or could not be decoded"),
    (lambda: http.client.RemoteDisconnected("Remote end closed connection without response"), True,
     "may have been carried out"),
    (lambda: OSError(113, "No route to host"), True, "No route to host"),
])
def test_transport_failures_are_typed_and_say_whether_the_request_may_have_acted(
        make_exception, may_have_acted, words):
    responses.post(REVOKE_URL, body=make_exception())
    responses.post(REVOKE_URL, body=make_exception())
    waits = []
    with pytest.raises(GraphTransportError) as error:
        make_client(max_retries=1, waits=waits).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert len(responses.calls) == 2 and len(waits) == 1
    assert error.value.may_have_acted is may_have_acted
    assert words in error.value.message and "after 2 attempt(s)" in error.value.message
    assert error.value.fail_json_kwargs()["may_have_acted"] is may_have_acted


@responses.activate
def test_one_attempt_that_may_have_acted_taints_the_whole_request():
    responses.post(REVOKE_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.post(REVOKE_URL, body=refused())
    with pytest.raises(GraphTransportError) as error:
        make_client(max_retries=1).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert error.value.may_have_acted is True


@responses.activate
def test_a_request_that_cannot_be_sent_is_not_retried():
    responses.post(REVOKE_URL, body=requests.exceptions.InvalidHeader("Invalid leading whitespace"))
    waits = []
    with pytest.raises(GraphTransportError) as error:
        make_client(max_retries=3, waits=waits).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert len(responses.calls) == 1 and waits == [] and error.value.may_have_acted is False


@responses.activate
def test_a_2xx_that_is_not_json_is_told_apart_from_an_empty_one():
    responses.post(REVOKE_URL, status=200, content_type="text/html",
                   body="<html><body><h1>Blocked by proxy</h1>  token eyJhbGciOiJSUzI1NiJ9abcdefghijklmnop</body></html>")
    response = make_client().request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert response.body is None and response.has_body is True
    assert response.received.startswith("text/html") and "Blocked by proxy" in response.received
    assert "eyJhbGciOiJSUzI1NiJ9abcdefghijklmnop" not in response.received


@responses.activate
def test_an_empty_2xx_has_no_body():
    responses.post(REVOKE_URL, status=204)
    response = make_client().request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert response.body is None and response.has_body is False


def test_safe_excerpt_is_short_single_line_and_masks_secret_like_runs():
    text = "line one\n\n  line two " + "A" * 30 + " " + "x" * 500
    excerpt = safe_excerpt(text, 60)
    assert "\n" not in excerpt and "A" * 24 not in excerpt and len(excerpt) <= 63


def test_safe_excerpt_quotes_parsed_json_and_masks_token_like_values_in_it():
    excerpt = safe_excerpt({"value": "ok", "access_token": "eyJ" + "a" * 40})
    assert excerpt.startswith("{'value': 'ok'") and "a" * 24 not in excerpt and "[...]" in excerpt
    assert safe_excerpt(None) == "" and safe_excerpt(b"<html>\n</html>") == "<html> </html>"


# --- 407: the proxy wants its credentials; not retried, not Graph's (issue 18) ----------------------------------

@responses.activate
@pytest.mark.parametrize("answer", [
    # An https tunnel: urllib3 raises when the proxy answers the CONNECT with 407.
    dict(body=requests.exceptions.ProxyError(urllib3.exceptions.ProxyError(
        "Unable to connect to proxy", OSError("Tunnel connection failed: 407 Proxy Authentication Required")))),
    # A plain-http forward proxy answers the request itself.
    dict(status=407, content_type="text/html", body="<html>Proxy Authentication Required</html>",
         headers={"Proxy-Authenticate": 'Basic realm="corp"'}),
])
def test_a_407_is_the_proxy_s_error_and_is_not_retried(answer, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://svc:secret-pw@proxy.corp.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    responses.post(REVOKE_URL, **answer)
    waits = []
    with pytest.raises(ProxyAuthenticationError) as error:
        make_client(max_retries=3, waits=waits).request("POST", "/users/adele@contoso.com/revokeSignInSessions")
    assert len(responses.calls) == 1 and waits == []
    message = error.value.message
    assert "HTTP proxy http://proxy.corp.example:3128 refused" in message and "HTTPS_PROXY" in message
    assert "secret-pw" not in message and "Graph answered" not in message
    assert error.value.may_have_acted is False and error.value.details()["proxy"] == "http://proxy.corp.example:3128"
