# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A 403 names the permission the app's own token lacks (issue 18)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.o365.admin.plugins.module_utils._errors import GraphApiError
from ansible_collections.o365.admin.plugins.module_utils._graph_auth import StaticTokenSource
from ansible_collections.o365.admin.plugins.module_utils._permissions import (
    lacks, permission_sentence, token_roles)
from ansible_collections.o365.admin.plugins.module_utils._revocation import explain_refusal
from ansible_collections.o365.admin.plugins.module_utils._targets import _explain_group_error


def jwt_with(claims):
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return "%s.%s.%s" % (part({"typ": "JWT", "alg": "RS256"}), part(claims), "c2lnbmF0dXJl")


APP_ONLY = {"aud": "https://graph.microsoft.com", "idtyp": "app", "oid": "sp", "sub": "sp",
            "roles": ["User.Read.All"]}
DELEGATED = {"aud": "https://graph.microsoft.com", "scp": "User.Read User.RevokeSessions.All", "oid": "u", "sub": "x"}


@pytest.mark.parametrize("token, roles", [
    (jwt_with(APP_ONLY), ("User.Read.All",)),
    (jwt_with(dict(APP_ONLY, roles=None)), ()),                 # app-only with no permission: Entra omits the claim
    (jwt_with({"oid": "sp", "sub": "sp", "appid": "a"}), ()),   # v1 app-only token without idtyp
    (jwt_with(DELEGATED), None),                                # delegated: the user's roles count too
    (jwt_with(dict(APP_ONLY, roles="User.Read.All")), None),    # not a list
    ("not-a-jwt", None), ("a.%%%.c", None), ("a.bm90IGpzb24.c", None), (None, None),
    ("a.%s.c" % ("[" * 5000), None),
])
def test_token_roles_reads_the_roles_claim_or_says_it_cannot_tell(token, roles):
    assert token_roles(token) == roles


def test_the_sentence_names_what_the_token_lacks_and_holds():
    sentence = permission_sentence("User.RevokeSessions.All", ("User.Read.All",))
    assert sentence.startswith("The app's token does not hold User.RevokeSessions.All or another that includes it")
    assert "(it holds User.Read.All)" in sentence and "admin consent" in sentence
    assert "no application permission at all" in permission_sentence("User.Read.All", ())
    assert permission_sentence("User.Read.All", ("Directory.Read.All",)).startswith(
        "The app's token holds Directory.Read.All, so the Microsoft Graph permission is not what is missing")
    assert permission_sentence("User.Read.All", None) is None
    assert lacks("User.Read.All", ()) and not lacks("User.Read.All", None)


def refused(roles):
    error = GraphApiError("Microsoft Graph answered HTTP 403 Authorization_RequestDenied.", 403,
                          code="Authorization_RequestDenied")
    error.granted_roles = roles
    return error


def test_the_revoke_403_names_the_missing_permission_or_falls_back_to_either_or():
    entry = {"user": "adele@contoso.com", "outcome": "failed", "status_code": 403, "request_id": "r",
             "error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}}
    told = explain_refusal(entry, False, granted=("User.Read.All",))
    assert "does not hold User.RevokeSessions.All" in told and "it holds User.Read.All" in told
    assert "for a delegated access_token" not in told
    fallback = explain_refusal(entry, False, granted=None)
    assert "for a delegated access_token, the signed-in user also needs a role" in fallback


def test_a_group_403_names_hidden_membership_when_that_is_what_is_missing():
    told = _explain_group_error(refused(("GroupMember.Read.All", "User.Read.All")), "Board").message
    assert "does not hold Member.Read.Hidden" in told and "hidden membership needs" in told
    told = _explain_group_error(refused(("User.Read.All",)), "Board").message
    assert "does not hold GroupMember.Read.All" in told


def test_a_given_app_only_token_tells_its_roles_and_never_leaks_through_them():
    token = jwt_with(APP_ONLY)
    assert StaticTokenSource(token).granted_roles() == ("User.Read.All",)
    assert StaticTokenSource(jwt_with(DELEGATED)).granted_roles() is None
