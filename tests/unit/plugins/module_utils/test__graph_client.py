# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils

import pytest
import requests
import responses

from ansible_collections.o365.admin.plugins.module_utils._errors import GraphApiError, GraphTransportError
from ansible_collections.o365.admin.plugins.module_utils._graph_client import (
    BACKOFF_CAP_S, USER_AGENT, GraphClient, HttpTransport, backoff_delay, graph_error_from_response,
    parse_retry_after)
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
