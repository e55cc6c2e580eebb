# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property-based tests of the user reference encoder: no input reaches another Graph path.

Every value is either refused by UserReference.parse (a pure function: no network call can have happened), or
its revoke path, prepared into a URL by requests exactly as the transport sends it, is one path segment under
/users (or the quoted /users('...') form) that the emulator's own router resolves to that same user and no other.
The emulator's routing code is driven in-process rather than over HTTP so that tens of thousands of examples
run in seconds; the end-to-end tests show the same router behind a real socket.

`make test` runs O365_FUZZ_EXAMPLES (default 200) examples per property; `make fuzz` runs 10,000 per property
and prints the total.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from ansible_collections.o365.admin.plugins.module_utils._errors import InvalidUserReference
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference
from tests.graph_emulator.faults import Faults
from tests.graph_emulator.graph import GraphService
from tests.graph_emulator.tenant import Tenant, User

EXAMPLES = int(os.environ.get("O365_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
GRAPH_HOST = "graph.example.test"
VERSION_ROOT = "https://%s/v1.0" % GRAPH_HOST
REVOKE_CLAIMS = {"roles": ["User.RevokeSessions.All"], "appid": "fuzz-app"}
QUOTED_FORM = re.compile(r"/users\('(?:[^']|'')*'\)/revokeSignInSessions")

# Microsoft's username policy, stated here independently of the code under test.
MAX_UPN_NAME_LENGTH = 64
MAX_UPN_LENGTH = 113
# What Entra allows before the @ (Microsoft's username policy), and DNS labels after it.
UPN_NAME_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~"
LABEL = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,20}[A-Za-z0-9])?", fullmatch=True)
# Pieces an attacker would try, mixed with pieces of real UPNs.
HOSTILE_PIECES = ["/", "..", ".", "?", "#", "#EXT#", "%", "%2F", "%2f", "%0A", "%00", "%23", "%27", "'", "''", "$",
                  "\\", "@", "\n", "\r", "\t", "\x00", "\x7f", " ", "(", ")", "=", "&", ";", ":", "+", ",", "*",
                  "\u00e9", "\u200b", "\uff0f", "\u2215", "adele", "a", "contoso", "com", "-", "_", "~", "^", "!",
                  "users", "revokeSignInSessions", "$batch", "6e7b768e-07e2-4810-8459-485f84f8f204"]

ORACLE_GUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
ORACLE_UPN = re.compile(r"(?P<name>\$?[A-Za-z0-9'.\-_!#^~]+)@"
                        r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)")

counts = {"refused": 0, "routed": 0}


def allowed_by_microsoft(value):
    """An independent oracle of what the product accepts: an object ID, or a UPN within Entra's policy."""
    if ORACLE_GUID.fullmatch(value):
        return True
    match = ORACLE_UPN.fullmatch(value)
    return bool(match and match.group("name") != "$" and len(match.group("name")) <= MAX_UPN_NAME_LENGTH
                and not match.group("name").endswith(".") and len(value) <= MAX_UPN_LENGTH)


@pytest.fixture(scope="module", autouse=True)
def report_example_count(request):
    yield
    line = "fuzz: %d user reference examples (%d refused before any network call, %d routed to the same user)" % (
        counts["refused"] + counts["routed"], counts["refused"], counts["routed"])
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + line)


def revoke_target(reference):
    """The request target the transport would send: requests prepares the URL as HttpTransport.send does."""
    prepared = requests.Request("POST", VERSION_ROOT + reference.path("/revokeSignInSessions")).prepare()
    assert parse_url(prepared.url).host == GRAPH_HOST, prepared.url
    assert prepared.path_url.startswith("/v1.0/"), prepared.url
    return prepared.path_url[len("/v1.0"):]


def tenant_with(value, kind):
    """The user ``value`` names, and decoys a double-encoding or unescaping slip would reach instead."""
    if kind == "id":
        target = User("owner-of-the-id@contoso.com", object_id=value)
    else:
        target = User(value)
    decoys = [User("adele@contoso.com"), User(value.replace("#", "%23")), User(value.replace("''", "'")),
              User(value.replace("'", "''"))]
    decoys = [d for d in decoys if d.user_principal_name.lower() != value.lower()]
    return target, Tenant("fuzz-tenant", ["contoso.com"], [target] + decoys, [])


def assert_refused_or_routed_to_the_same_user(value):
    try:
        reference = UserReference.parse(value)
    except InvalidUserReference as error:
        assert error.user == value
        assert not allowed_by_microsoft(value), "a valid reference was refused: %r" % value
        counts["refused"] += 1
        return
    assert allowed_by_microsoft(value), "an invalid reference was accepted: %r" % value
    target = revoke_target(reference)
    parts = urlsplit(target)
    assert (parts.query, parts.fragment) == ("", ""), target
    if reference.kind == "upn" and value.startswith("$"):
        assert QUOTED_FORM.fullmatch(parts.path), target
    else:
        segments = parts.path.split("/")
        assert len(segments) == 4 and segments[:2] == ["", "users"] and segments[3] == "revokeSignInSessions", target
        assert segments[2] not in ("", ".", ".."), target
    user, tenant = tenant_with(value, reference.kind)
    reply = GraphService(tenant, None, Faults(), None).handle("POST", target, {}, None, REVOKE_CLAIMS, "r", "c")
    assert reply.status == 200, (value, target, reply.body)
    assert [u.revocations for u in tenant.users] == [1] + [0] * (len(tenant.users) - 1), (value, target)
    counts["routed"] += 1


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_is_refused_or_reaches_only_its_user(value):
    assert_refused_or_routed_to_the_same_user(value)


@FUZZ
@given(st.lists(st.sampled_from(HOSTILE_PIECES), max_size=12).map("".join),
       st.lists(st.sampled_from(HOSTILE_PIECES + [".", "contoso", "com"]), max_size=8).map("".join),
       st.booleans())
def test_hostile_pieces_around_an_at_are_refused_or_reach_only_their_user(name, domain, dollar):
    assert_refused_or_routed_to_the_same_user(("$" if dollar else "") + name + "@" + domain)


@FUZZ
@given(st.text(alphabet=UPN_NAME_ALPHABET + "/?%\n", min_size=1, max_size=8), st.integers(1, 6000))
def test_very_long_values_are_refused_or_reach_only_their_user(piece, repeat):
    assert_refused_or_routed_to_the_same_user(piece * repeat + "@contoso.com")


def valid_upns():
    """UPNs Microsoft's username policy allows: its characters before the @ (optionally after a $), at most 64
    of them and 113 in all, no period right before the @, and a DNS domain after it."""
    name = st.text(alphabet=UPN_NAME_ALPHABET, min_size=1, max_size=MAX_UPN_NAME_LENGTH)
    domain = st.lists(LABEL, min_size=2, max_size=4).map(".".join)
    upn = st.tuples(st.booleans(), name, domain).map(lambda t: ("$" if t[0] else "") + t[1] + "@" + t[2])
    return upn.filter(lambda u: len(u) <= MAX_UPN_LENGTH and len(u.partition("@")[0]) <= MAX_UPN_NAME_LENGTH
                      and not u.partition("@")[0].endswith("."))


@FUZZ
@given(valid_upns())
def test_every_valid_upn_is_accepted_and_reaches_its_user(upn):
    assert UserReference.parse(upn).kind == "upn"
    assert_refused_or_routed_to_the_same_user(upn)


@FUZZ
@given(st.uuids(), st.booleans())
def test_every_object_id_is_accepted_and_reaches_its_user(object_id, upper):
    value = str(object_id).upper() if upper else str(object_id)
    assert UserReference.parse(value).kind == "id"
    assert_refused_or_routed_to_the_same_user(value)


def test_an_id_beside_the_guid_form_is_refused():
    with pytest.raises(InvalidUserReference):
        UserReference.parse(str(uuid.uuid4()) + "\n")
