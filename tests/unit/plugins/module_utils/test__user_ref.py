# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.o365.admin.plugins.module_utils._errors import InvalidUserReference
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference

ACCEPTED = [
    # (user as given, kind, path of the revoke action)
    ("6e7b768e-07e2-4810-8459-485f84f8f204", "id", "/users/6e7b768e-07e2-4810-8459-485f84f8f204/revokeSignInSessions"),
    ("6E7B768E-07E2-4810-8459-485F84F8F204", "id", "/users/6E7B768E-07E2-4810-8459-485F84F8F204/revokeSignInSessions"),
    ("john.doe@somedomain.com", "upn", "/users/john.doe@somedomain.com/revokeSignInSessions"),
    # The product doc's two examples.
    ("$AdeleVance@contoso.com", "upn", "/users('$AdeleVance@contoso.com')/revokeSignInSessions"),
    ("AdeleVance_adatum.com#EXT#@contoso.com", "upn",
     "/users/AdeleVance_adatum.com%23EXT%23@contoso.com/revokeSignInSessions"),
    ("o'neil@contoso.com", "upn", "/users/o'neil@contoso.com/revokeSignInSessions"),
    ("$o'neil@contoso.com", "upn", "/users('$o''neil@contoso.com')/revokeSignInSessions"),
    ("a.b-c_d!e#f^g~h@sub.contoso.co.uk", "upn", "/users/a.b-c_d!e%23f%5Eg~h@sub.contoso.co.uk/revokeSignInSessions"),
    ("ADELE@CONTOSO.ONMICROSOFT.COM", "upn", "/users/ADELE@CONTOSO.ONMICROSOFT.COM/revokeSignInSessions"),
]

REJECTED = [
    ("", "empty"),
    ("adele", "no @"),
    ("6e7b768e07e24810-8459-485f84f8f204", "no @"),
    ("a@b@contoso.com", "exactly one @"),
    ("@contoso.com", "empty"),
    ("$@contoso.com", "empty"),
    ("jos\u00e9@contoso.com", "U+00E9"),
    ("adele/../groups@contoso.com", "'/'"),
    ("adele?$select=x@contoso.com", "'?'"),
    ("adele%23EXT%23@contoso.com", "'%'"),
    ("adele\\x@contoso.com", "'\\\\'"),
    ("adele vance@contoso.com", "' '"),
    ("adele\n@contoso.com", "'\\n'"),
    ("adele\x00@contoso.com", "'\\x00'"),
    ("ad$ele@contoso.com", "'$'"),
    ("adele@contoso", "not a DNS domain"),
    ("adele@-contoso.com", "invalid label"),
    ("adele@con_toso.com", "invalid label"),
    ("adele@contoso.com/../../groups", "invalid label"),
    ("adele@contoso..com", "invalid label"),
]


@pytest.mark.parametrize("user, kind, path", ACCEPTED)
def test_accepted_references_are_encoded_into_their_graph_path(user, kind, path):
    reference = UserReference.parse(user)
    assert reference.kind == kind
    assert reference.path("/revokeSignInSessions") == path


@pytest.mark.parametrize("user, reason", REJECTED)
def test_rejected_references_say_why(user, reason):
    with pytest.raises(InvalidUserReference) as error:
        UserReference.parse(user)
    assert reason in error.value.message
    assert error.value.fail_json_kwargs()["user"] == user


@pytest.mark.parametrize("value", [None, 42, ["adele@contoso.com"]])
def test_non_strings_are_rejected(value):
    with pytest.raises(InvalidUserReference):
        UserReference.parse(value)


def test_path_without_suffix_reads_the_user():
    assert UserReference.parse("$x@contoso.com").path() == "/users('$x@contoso.com')"
    assert UserReference.parse("x@contoso.com").path() == "/users/x@contoso.com"


@pytest.mark.parametrize("user, guest", [
    ("AdeleVance_adatum.com#EXT#@contoso.com", True),
    ("adelevance_adatum.com#ext#@contoso.com", True),
    ("adele#1@contoso.com", False),
    ("6e7b768e-07e2-4810-8459-485f84f8f204", False),
])
def test_external_guests_are_recognised(user, guest):
    assert UserReference.parse(user).is_external_guest is guest


@pytest.mark.parametrize("user", [" adele@contoso.com", "adele@contoso.com ", "\tadele@contoso.com",
                                  "6e7b768e-07e2-4810-8459-485f84f8f204\r\n"])
def test_whitespace_around_a_reference_is_named_not_trimmed(user):
    # A UPN or object ID never holds whitespace: a pasted list's stray space is named so it is fixed at the source.
    with pytest.raises(InvalidUserReference) as caught:
        UserReference.parse(user)
    assert "whitespace" in caught.value.message and caught.value.user == user


# Each of these went out to Graph before: `$` anchors let a trailing newline through, and Entra's length and
# period rules were not checked.
@pytest.mark.parametrize("user, reason", [
    ("adele@contoso.com\n", "whitespace"),
    ("adele@contoso\n.com", "invalid label"),
    ("6e7b768e-07e2-4810-8459-485f84f8f204\n", "whitespace"),
    ("a" * 65 + "@contoso.com", "65 characters long; Entra allows at most 64"),
    ("a" * 5000 + "@contoso.com", "5000 characters long; Entra allows at most 64"),
    ("$" + "a" * 64 + "@contoso.com", "65 characters long"),
    ("a" * 60 + "@" + "b" * 50 + ".com", "115 characters long; Entra allows at most 113"),
    ("adele.@contoso.com", "period cannot come right before the @"),
    ("adele\t@contoso.com", "'\\t'"),
    ("adele\u200b@contoso.com", "U+200B"),
    ("adele@contoso.com\x00", "invalid label"),
])
def test_entra_limits_and_trailing_control_characters_are_refused(user, reason):
    with pytest.raises(InvalidUserReference) as error:
        UserReference.parse(user)
    assert reason in error.value.message


def test_the_longest_upn_entra_allows_is_accepted():
    name = "a" * 64
    domain = "b" * 44 + ".com"
    assert len(name + "@" + domain) == 113
    assert UserReference.parse(name + "@" + domain).kind == "upn"
    assert UserReference.parse("a.b@contoso.com").kind == "upn"  # a period elsewhere is fine


def test_a_very_long_value_is_quoted_short_in_the_message():
    with pytest.raises(InvalidUserReference) as error:
        UserReference.parse("x" * 100000 + "/@contoso.com")
    assert len(error.value.message) < 1000 and "100013 characters" in error.value.message


def test_a_null_is_named_as_such():
    with pytest.raises(InvalidUserReference, match="null, not a string"):
        UserReference.parse(None)
    with pytest.raises(InvalidUserReference, match="empty"):
        UserReference.parse("")
