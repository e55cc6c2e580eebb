# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses

from tests.unit.plugins.modules.graph_options import GRAPH
USER_PATH = re.compile(r"^/v1\.0/users/(?P<key>[^/?]+)$")


class FakeDirectory:
    """Users behind GET/PATCH /users/{key} and $batch, answered the way Graph answers; records every write."""

    def __init__(self):
        self.users = {}
        self.patches = []
        self.refuse = {}      # key -> (status, code) for PATCH
        self.read_status = {}  # key -> (status, code) for GET

    def add(self, upn, object_id, enabled=True, synced=None, user_type="Member"):
        user = {"id": object_id, "userPrincipalName": upn, "displayName": upn.split("@")[0], "userType": user_type,
                "accountEnabled": enabled, "onPremisesSyncEnabled": synced,
                "signInSessionsValidFromDateTime": "2026-01-01T00:00:00Z"}
        self.users[upn.lower()] = self.users[object_id.lower()] = user
        return user

    def answer(self, method, url, body):
        parts = urlsplit(url)
        match = USER_PATH.match(parts.path if parts.path.startswith("/v1.0") else "/v1.0" + parts.path)
        assert match, url
        key = unquote(match.group("key")).lower()
        if method == "GET":
            if key in self.read_status:
                return self._error(*self.read_status[key])
            user = self.users.get(key)
            if user is None:
                return self._error(404, "Request_ResourceNotFound")
            select = parse_qs(parts.query)["$select"][0].split(",")
            return 200, dict((name, user[name]) for name in select)
        assert method == "PATCH" and set(body) == {"accountEnabled"}, (method, body)
        if key in self.refuse:
            return self._error(*self.refuse[key])
        user = self.users.get(key)
        if user is None:
            return self._error(404, "Request_ResourceNotFound")
        self.patches.append((key, body["accountEnabled"]))
        user["accountEnabled"] = body["accountEnabled"]
        return 204, None

    @staticmethod
    def _error(status, code):
        return status, {"error": {"code": code, "message": "Refused by the fake (%s)." % code,
                                  "innerError": {"request-id": "rid-%s" % status}}}

    def single(self, request):
        body = json.loads(request.body) if request.body else None
        status, answer = self.answer(request.method, request.url, body)
        return status, {"request-id": "rid-single"}, json.dumps(answer) if answer is not None else ""

    def batch(self, request):
        responses_ = []
        for item in json.loads(request.body)["requests"]:
            status, answer = self.answer(item["method"], item["url"], item.get("body"))
            entry = {"id": item["id"], "status": status, "headers": {"request-id": "rid-" + item["id"]}}
            if answer is not None:
                entry["body"] = answer
            responses_.append(entry)
        return 200, {}, json.dumps({"responses": list(reversed(responses_))})


@pytest.fixture
def directory():
    fake = FakeDirectory()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, GRAPH + "/$batch", callback=fake.batch)
        for method in (responses.GET, responses.PATCH):
            mock.add_callback(method, re.compile(re.escape(GRAPH) + r"/users/[^/]+$"), callback=fake.single)
        fake.calls = mock.calls
        fake.mock = mock  # for a test that adds routes of its own
        yield fake
