# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Endpoints: what each form of graph_endpoint / authority_host is turned into, and the host the transport
would really reach with it, read with the transport's own parser (requests' URL preparation, urllib3's parse_url).
Plain http reaches the network only for a loopback host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import requests
import urllib3
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._graph_auth import ConnectionSettings, is_loopback_host
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphClient

REFUSED = None

# (given, what it becomes or REFUSED, the host requests would connect to with the given form)
GRAPH_ENDPOINT_FORMS = [
    ("https://graph.microsoft.com", "https://graph.microsoft.com", "graph.microsoft.com"),
    ("graph.microsoft.com", "https://graph.microsoft.com", "graph.microsoft.com"),
    ("https://graph.microsoft.com/", "https://graph.microsoft.com", "graph.microsoft.com"),
    # Microsoft's docs write the version into the URL; the client adds it per call.
    ("https://graph.microsoft.com/v1.0", "https://graph.microsoft.com", "graph.microsoft.com"),
    ("https://graph.microsoft.com/v1.0/", "https://graph.microsoft.com", "graph.microsoft.com"),
    # The default port is dropped: the token scope must read as Microsoft's resource identifier.
    ("https://graph.microsoft.com:443/V1.0", "https://graph.microsoft.com", "graph.microsoft.com"),
    ("http://localhost:80", "http://localhost", "localhost"),
    ("HTTPS://Graph.Microsoft.COM", "https://graph.microsoft.com", "graph.microsoft.com"),
    ("https://graph.microsoft.us:8443", "https://graph.microsoft.us:8443", "graph.microsoft.us"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1"),
    ("http://127.5.6.7", "http://127.5.6.7", "127.5.6.7"),
    ("http://localhost:4010", "http://localhost:4010", "localhost"),
    ("hTtP://LocalHost:4010/v1.0", "http://localhost:4010", "localhost"),
    ("http://[::1]:4010", "http://[::1]:4010", "[::1]"),
    ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443", "[2001:db8::1]"),
    # IDNA: the host is sent in its ASCII form, and that is the form kept.
    ("https://b\u00fccher.example", "https://xn--bcher-kva.example", "xn--bcher-kva.example"),
    ("https://gr\u0430ph.microsoft.com", "https://xn--grph-63d.microsoft.com", "xn--grph-63d.microsoft.com"),
    # Python's urlsplit reads 127.0.0.1 here; requests sends to evil.example (with the token, in clear).
    ("http://evil.example\\@127.0.0.1", REFUSED, "evil.example"),
    ("http://evil.example\\@127.0.0.1:8080/", REFUSED, "evil.example"),
    # User-info: the host is after the @.
    ("https://graph.microsoft.com@evil.example", REFUSED, "evil.example"),
    ("https://graph.microsoft.com:443@evil.example", REFUSED, "evil.example"),
    ("http://user:password@127.0.0.1:8080", REFUSED, "127.0.0.1"),
    ("http://127.0.0.1%2F@evil.example", REFUSED, "evil.example"),
    ("https://evil.example%2F@graph.microsoft.com", REFUSED, "graph.microsoft.com"),
    ("https://graph.microsoft.com%2F.evil.example", REFUSED, "graph.microsoft.com%2F.evil.example"),
    ("https://graph.microsoft.com/%2e%2e/v1.0", REFUSED, "graph.microsoft.com"),
    # Look-alikes of loopback are other hosts.
    ("http://127.0.0.1.example", REFUSED, "127.0.0.1.example"),
    ("http://localhost.example", REFUSED, "localhost.example"),
    ("http://localhost.", REFUSED, "localhost."),
    # Other spellings of 127.0.0.1 are not trusted for clear text (the resolver, not the URL, decides them).
    ("http://0x7f.0.0.1", REFUSED, "0x7f.0.0.1"),
    ("http://2130706433", REFUSED, "2130706433"),
    ("http://127.1", REFUSED, "127.1"),
    ("http://graph.microsoft.com", REFUSED, "graph.microsoft.com"),
    ("http://10.0.0.1:8080", REFUSED, "10.0.0.1"),
    ("ftp://graph.microsoft.com", REFUSED, "graph.microsoft.com"),
    ("https://graph.microsoft.com/beta", REFUSED, "graph.microsoft.com"),
    ("https://graph.microsoft.com/v1.0/users", REFUSED, "graph.microsoft.com"),
    ("https://graph.microsoft.com/v1.0/v1.0", REFUSED, "graph.microsoft.com"),
    ("https://graph.microsoft.com?api-version=1", REFUSED, "graph.microsoft.com"),
    ("https://graph.microsoft.com#v1.0", REFUSED, "graph.microsoft.com"),
    ("https://graph.microsoft.com\n", REFUSED, None),
    (" https://graph.microsoft.com", REFUSED, "graph.microsoft.com"),
    ("https://graph microsoft.com", REFUSED, None),
    ("https://[::1%25eth0]:4010", REFUSED, "[::1%eth0]"),
    ("https://graph.microsoft.com:99999", REFUSED, None),
    ("https://", REFUSED, None),
    ("", "https://graph.microsoft.com", "graph.microsoft.com"),  # empty: the cloud's endpoint
]

AUTHORITY_HOST_FORMS = [
    ("https://login.microsoftonline.com", "https://login.microsoftonline.com", "login.microsoftonline.com"),
    ("login.microsoftonline.us", "https://login.microsoftonline.us", "login.microsoftonline.us"),
    ("https://127.0.0.1:8443/", "https://127.0.0.1:8443", "127.0.0.1"),
    # msal insists on https, even for a loopback host.
    ("http://127.0.0.1:8443", REFUSED, "127.0.0.1"),
    ("https://login.microsoftonline.com/contoso.onmicrosoft.com", REFUSED, "login.microsoftonline.com"),
    ("https://login.microsoftonline.com/v1.0", REFUSED, "login.microsoftonline.com"),
    ("https://login.microsoftonline.com@evil.example", REFUSED, "evil.example"),
    ("https://evil.example\\@login.microsoftonline.com", REFUSED, "evil.example"),
]


# What requests (2.25 to 2.29) with urllib3 1.26, which the dependency floor admits, does with these instead of
# refusing them: it percent-encodes the host (lower-case escapes). The module refuses them on either urllib3.
URLLIB3_1_REACHES = {
    "https://graph.microsoft.com%2F.evil.example": "graph.microsoft.com%2f.evil.example",
    "https://graph.microsoft.com\n": "graph.microsoft.com%0a",
    "https://graph microsoft.com": "graph%20microsoft.com",
}


def host_requests_reaches(url):
    """The host requests would open a connection to for ``url``, or None if requests refuses the URL."""
    try:
        return parse_url(requests.Request("GET", url).prepare().url).host
    except (ValueError, requests.exceptions.RequestException):
        return None


def expected_reach(given, reached):
    if int(urllib3.__version__.split(".")[0]) < 2:
        return URLLIB3_1_REACHES.get(given, reached)
    return reached


def settings_for(option, value):
    params = dict(tenant_id="contoso.onmicrosoft.com", cloud=None, authority_host=None, graph_endpoint=None)
    params[option] = value
    return ConnectionSettings(params, environ={})


def request_urls(settings):
    """The URLs the module sends: a Graph call through GraphClient, and msal's discovery under the authority."""
    graph_url = GraphClient(None, settings.graph_endpoint, None).base_url + "/users/adele@contoso.com"
    return graph_url, settings.authority + "/v2.0/.well-known/openid-configuration"


@pytest.mark.parametrize("option, given, expected, reached", [
    ("graph_endpoint",) + row for row in GRAPH_ENDPOINT_FORMS] + [
    ("authority_host",) + row for row in AUTHORITY_HOST_FORMS])
def test_each_endpoint_form_and_the_host_it_reaches(option, given, expected, reached):
    if expected is REFUSED:
        # What the transport would have done with it, had it been accepted as given.
        assert host_requests_reaches(given if "://" in given else "https://" + given) == expected_reach(given, reached)
        with pytest.raises(ConfigurationError) as error:
            settings_for(option, given)
        assert option in error.value.message
        return
    settings = settings_for(option, given)
    endpoint = settings.graph_endpoint if option == "graph_endpoint" else settings.authority_host
    assert endpoint == expected
    graph_url, discovery_url = request_urls(settings)
    url = graph_url if option == "graph_endpoint" else discovery_url
    assert host_requests_reaches(url) == reached
    assert "/v1.0/v1.0/" not in graph_url
    if url.startswith("http://"):
        assert is_loopback_host(reached)


def test_the_table_counts():
    """The closing note quotes these numbers."""
    assert len(GRAPH_ENDPOINT_FORMS) + len(AUTHORITY_HOST_FORMS) == 55


@pytest.mark.parametrize("given, message", [
    ("http://evil.example\\@127.0.0.1", "backslash"),
    ("https://graph.microsoft.com@evil.example", "requests would go to 'evil.example'"),
    ("https://graph.microsoft.com/beta", "only the host (and an optional /v1.0)"),
    ("https://graph.microsoft.com?x=1", "query or fragment"),
    ("http://127.0.0.1.example", "must use https"),
])
def test_refusals_say_why_and_what_to_write(given, message):
    with pytest.raises(ConfigurationError) as error:
        settings_for("graph_endpoint", given)
    assert message in error.value.message
    assert "https://graph.microsoft.com" in error.value.message


URL_PIECES = ["http://", "https://", "HTTP://", "hTTps://", "127.0.0.1", "localhost", "[::1]", "evil.example", "graph",
              ".microsoft.com", "@", "\\", "/", "%2F", "%40", "%5C", ":", "8080", "?", "#", "/v1.0", ".", "..", "\u3002",
              "\uff0e", "\u00e9", " ", "\t", "user:pw", "127.0.0.1.", ";", "[", "]", "%00", "0x7f", "::ffff:"]


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(st.sampled_from(URL_PIECES), min_size=1, max_size=8).map("".join))
def test_any_accepted_graph_endpoint_reaches_the_host_it_names_and_http_only_on_loopback(given):
    try:
        settings = settings_for("graph_endpoint", given)
    except ConfigurationError:
        return
    endpoint = parse_url(settings.graph_endpoint)
    reached = host_requests_reaches(request_urls(settings)[0])
    assert reached == endpoint.host
    assert endpoint.scheme == "https" or is_loopback_host(reached)
    # Had the given form been used as it was (the code before), it would have reached the same host.
    assert host_requests_reaches(given if "://" in given else "https://" + given) in (reached, None)
