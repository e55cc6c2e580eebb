# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parts, reasons, doors and the access-token estimate of plugins/module_utils/_exposure.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.o365.admin.plugins.module_utils import _exposure as exposure
from ansible_collections.o365.admin.plugins.module_utils._errors import GraphApiError
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphResponse
from ansible_collections.o365.admin.plugins.module_utils._targets import Target
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference

UTC = datetime.timezone.utc
CUT = datetime.datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC)
ADELE = "6e7b768e-07e2-4810-8459-485f84f8f204"


def target(user):
    return Target(user, UserReference.parse(user))


def listing(*items, **extra):
    body = {"value": list(items)}
    body.update(extra)
    return BatchOutcome(200, body, "r")


def refused(status=403):
    return BatchOutcome(status, {"error": {"code": "Authorization_RequestDenied", "message": "no"}}, "r")


def user_body(user_type="Member", synced=None, valid_from="2026-12-06T10:00:00Z", object_id=ADELE):
    return BatchOutcome(200, {"id": object_id, "userPrincipalName": "adele@contoso.com", "userType": user_type,
                              "onPremisesSyncEnabled": synced, "accountEnabled": False,
                              "signInSessionsValidFromDateTime": valid_from}, "r",
                        date=CUT + datetime.timedelta(minutes=30))


class Client:
    """Answers next-page links from ``pages`` (link -> body or exception); records what it was asked."""

    def __init__(self, pages=None):
        self.pages = pages or {}
        self.asked = []

    def request(self, method, url, **kwargs):
        self.asked.append(url)
        page = self.pages[url]
        if isinstance(page, Exception):
            raise page
        return GraphResponse(200, page, "r", None, 1)


class Sender:
    """Stands in for the batch layer: answers each request path from ``answers`` (path -> outcome)."""

    def __init__(self, answers):
        self.answers = answers
        self.sent = []

    def __call__(self, requests):
        self.sent.append([path for dummy, path in requests])
        return [self.answers.get(path, listing()) for dummy, path in requests]


@pytest.mark.parametrize("outcome, reason", [
    (refused(403), "permission"),
    (refused(401), "permission"),
    (refused(404), "not_found"),
    (refused(429), "throttled"),
    (refused(503), "graph_error"),
    (BatchOutcome(None, None, None, unknown=True, reason="lost"), "no_answer"),
    (BatchOutcome(None, None, None, reason="not sent: interrupted"), "not_sent"),
])
def test_unreadable_reasons(outcome, reason):
    assert exposure.unreadable_reason(outcome) == reason
    assert exposure.read_list(Client(), outcome) == (None, reason)


@pytest.mark.parametrize("body", [{"value": "x"}, ["a"], "<html>ok</html>", None])
def test_a_2xx_that_is_not_a_list_is_unexpected_not_empty(body):
    assert exposure.read_list(Client(), BatchOutcome(200, body, "r")) == (None, "unexpected_answer")


def test_next_pages_are_followed_and_a_failed_page_makes_the_part_unreadable():
    first = listing({"id": "1"}, **{"@odata.nextLink": "https://g/v1.0/next1"})
    client = Client({"https://g/v1.0/next1": {"value": [{"id": "2"}]}})
    assert exposure.read_list(client, first) == ([{"id": "1"}, {"id": "2"}], None)
    denied = Client({"https://g/v1.0/next1": GraphApiError("no", status_code=403)})
    assert exposure.read_list(denied, first) == (None, "permission")
    looping = Client({"https://g/v1.0/next1": {"value": [], "@odata.nextLink": "https://g/v1.0/next1"}})
    assert exposure.read_list(looping, first) == (None, "graph_error")


@pytest.mark.parametrize("part, user, user_id, path", [
    ("authentication_methods", "adele@contoso.com", None, "/users/adele@contoso.com/authentication/methods"),
    ("owned_objects", ADELE, ADELE, "/users/%s/ownedObjects" % ADELE),
    ("registered_devices", "$svc@contoso.com", None, "/users('$svc@contoso.com')/registeredDevices"),
    ("owned_devices", ADELE, ADELE, "/users/%s/ownedDevices" % ADELE),
    ("oauth2_permission_grants", "adele@contoso.com", ADELE,
     "/oauth2PermissionGrants?$filter=principalId eq '%s'" % ADELE),
    ("oauth2_permission_grants", "adele@contoso.com", None, None),
])
def test_part_paths(part, user, user_id, path):
    assert exposure.part_path(part, UserReference.parse(user), user_id) == path


def test_methods_are_counted_by_type():
    part = exposure.methods_part([{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod"},
                                  {"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"},
                                  {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod"},
                                  {"@odata.type": "#microsoft.graph.phoneAuthenticationMethod"}])
    assert part["by_type"] == {"password": 1, "microsoftAuthenticator": 1, "phone": 2}
    assert part["count"] == 4 and part["state"] == "read"


@pytest.mark.parametrize("items, with_credentials, unknown", [
    ([], 0, 0),
    ([{"@odata.type": "#microsoft.graph.application", "passwordCredentials": [{}], "keyCredentials": []}], 1, 0),
    ([{"@odata.type": "#microsoft.graph.application", "passwordCredentials": [], "keyCredentials": []}], 0, 0),
    # Limited information (the app may not read that type): credentials unknown, never 0.
    ([{"@odata.type": "#microsoft.graph.servicePrincipal", "id": "x"}], 0, 1),
    # A group the user owns is not an app.
    ([{"@odata.type": "#microsoft.graph.group", "id": "g"}], 0, 0),
])
def test_owned_apps_and_their_credentials(items, with_credentials, unknown):
    part = exposure.owned_part(items)
    assert (part["with_credentials"], part["credentials_unknown"]) == (with_credentials, unknown)


@pytest.mark.parametrize("now_minutes, lifetime, expire_by, still_open", [
    (30, 90, "2026-12-06T11:30:00Z", True),
    (91, 90, "2026-12-06T11:30:00Z", False),
    (91, 120, "2026-12-06T12:00:00Z", True),
    (None, 90, "2026-12-06T11:30:00Z", None),
])
def test_access_token_estimate(now_minutes, lifetime, expire_by, still_open):
    now = None if now_minutes is None else CUT + datetime.timedelta(minutes=now_minutes)
    tokens = exposure.access_tokens(CUT, now, lifetime)
    assert (tokens["expire_by"], tokens["open"], tokens["estimate"]) == (expire_by, still_open, True)
    assert exposure.access_tokens(None, now, lifetime)["open"] is None


def app_with_secret():
    return {"@odata.type": "#microsoft.graph.application", "id": "a", "displayName": "Mail sync", "appId": "c",
            "passwordCredentials": [{"keyId": "k"}], "keyCredentials": []}


@pytest.mark.parametrize("case, user, answers, doors, unreadable", [
    ("member, nothing left", ADELE, {}, ["access_tokens"], {}),
    ("guest, synced", ADELE, {"user": user_body("Guest", True)}, ["guest", "synced", "access_tokens"], {}),
    ("grant, app secret, device", ADELE, {
        "/oauth2PermissionGrants?$filter=principalId eq '%s'" % ADELE: listing(
            {"id": "g", "clientId": "c", "resourceId": "r", "consentType": "Principal", "scope": " Mail.Read "}),
        "/users/%s/ownedObjects" % ADELE: listing(app_with_secret()),
        "/users/%s/ownedDevices" % ADELE: listing({"id": "d", "displayName": "LAPTOP"})},
     ["access_tokens", "oauth2_permission_grants", "owned_app_credentials", "devices"], {}),
    ("methods refused: that part only", ADELE, {"/users/%s/authentication/methods" % ADELE: refused()},
     ["access_tokens"], {"authentication_methods": "permission"}),
    ("user refused: parts still read, grants by the given ID", ADELE, {"user": refused()}, [],
     {"user": "permission"}),
    ("user refused, given by UPN: grants need the object ID", "adele@contoso.com", {"user": refused()}, [],
     {"user": "permission", "oauth2_permission_grants": "needs_object_id"}),
    ("user gone: nothing more asked", ADELE, {"user": refused(404)}, [],
     dict((part, "not_found") for part in ("user",) + exposure.LIST_PARTS)),
])
def test_gather_exposure(case, user, answers, doors, unreadable):
    answers = dict(answers)
    path = UserReference.parse(user).path()
    answers["%s?$select=%s" % (path, exposure.USER_SELECT)] = answers.pop("user", user_body())
    sender = Sender(answers)
    entries, graph_time = exposure.gather_exposure(Client(), sender, [target(user)])
    entry = entries[0]
    assert entry["open_doors"] == doors, case
    assert entry["unreadable"] == unreadable, case
    assert entry["exposure_known"] is (not unreadable)
    for part in exposure.LIST_PARTS:
        assert entry[part]["state"] == ("unreadable" if part in unreadable else "read")
    if "not_found" in unreadable.values():
        assert entry["found"] is False and len(sender.sent) == 1
    if "user" in unreadable:
        assert entry["guest"] is None and entry["access_tokens"]["open"] is None


def test_many_users_go_in_two_rounds_in_order_and_the_summary_counts():
    users = ["user%d@contoso.com" % n for n in range(30)]
    answers = dict(("/users/%s?$select=%s" % (u, exposure.USER_SELECT), user_body(object_id="id-%d" % n))
                   for n, u in enumerate(users))
    answers["/users/user3@contoso.com/authentication/methods"] = refused()
    sender = Sender(answers)
    entries, dummy = exposure.gather_exposure(Client(), sender, [target(u) for u in users])
    assert [e["user"] for e in entries] == users
    assert [len(batch) for batch in sender.sent] == [30, 30 * len(exposure.LIST_PARTS)]
    summary = exposure.summarize(entries)
    assert summary["users"] == 30 and summary["exposure_unknown"] == 1
    assert summary["unreadable"] == {"authentication_methods: permission": 1}
    assert summary["doors"]["access_tokens"] == 30


def test_guest_named_by_ext_stays_a_guest_when_unreadable():
    guest = "AdeleVance_adatum.com#EXT#@contoso.onmicrosoft.com"
    answers = {"%s?$select=%s" % (UserReference.parse(guest).path(), exposure.USER_SELECT): refused()}
    entries, dummy = exposure.gather_exposure(Client(), Sender(answers), [target(guest)])
    assert entries[0]["guest"] is True and "guest" in entries[0]["open_doors"]


def test_an_unresolved_user_is_listed_with_nothing_read():
    entry = exposure.unresolved_entry(target(ADELE))
    assert entry["exposure_known"] is False and entry["open_doors"] == []
    assert set(entry["unreadable"]) == set(("user",) + exposure.LIST_PARTS)
