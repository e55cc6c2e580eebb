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


def test_references_compare_case_insensitively():
    assert UserReference.parse("Adele@Contoso.com") == UserReference.parse("adele@contoso.com")
    assert len({UserReference.parse("Adele@Contoso.com"), UserReference.parse("adele@contoso.com")}) == 1
