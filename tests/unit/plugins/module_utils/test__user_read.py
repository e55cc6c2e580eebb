# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.o365.admin.plugins.module_utils import _user_read
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._user_read import (
    UserRead, explain_read_failure, read_users, select_path)
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference


def test_select_path_keeps_the_user_encoding():
    assert select_path(UserReference.parse("$svc@contoso.com"), ["id", "accountEnabled"]) == \
        "/users('$svc@contoso.com')?$select=id,accountEnabled"
    assert select_path(UserReference.parse("a_b.c#EXT#@contoso.com"), ["id"]) == "/users/a_b.c%23EXT%23@contoso.com?$select=id"


def test_read_users_maps_graph_names_to_snake_case_and_keeps_order(monkeypatch):
    sent = []

    def fake_send(client, requests, concurrency, max_retries):
        sent.extend(requests)
        return [BatchOutcome(200, {"id": "1", "accountEnabled": False, "extra": "ignored"}, "r1"),
                BatchOutcome(404, {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}, "r2"),
                BatchOutcome(None, None, None, unknown=True)]

    monkeypatch.setattr(_user_read, "send_each", fake_send)
    references = [UserReference.parse(u) for u in ("a@b.com", "c@d.com", "e@f.com")]
    first, second, third = read_users(None, references, ["id", "accountEnabled"], 4, 2)
    assert [r[1] for r in sent] == ["/users/a@b.com?$select=id,accountEnabled", "/users/c@d.com?$select=id,accountEnabled",
                                    "/users/e@f.com?$select=id,accountEnabled"]
    assert first.found and first.properties == {"id": "1", "account_enabled": False}
    assert (second.found, second.not_found, second.failed) == (False, True, False)
    assert (third.found, third.failed) == (False, True)


def test_read_failures_say_what_to_do():
    refused = UserRead(BatchOutcome(403, {"error": {"code": "Authorization_RequestDenied", "message": "no"}}, "r"), {})
    lost = UserRead(BatchOutcome(None, None, None, unknown=True), {})
    assert "User.Read.All" in explain_read_failure(refused, "a@b.com")
    assert "No readable answer" in explain_read_failure(lost, "a@b.com")


def test_a_2xx_without_id_and_upn_is_an_unreadable_answer_not_a_found_user(monkeypatch):
    answers = [BatchOutcome(200, {}, "r1"), BatchOutcome(200, {"id": None, "userPrincipalName": ""}, "r2"),
               BatchOutcome(200, "<html>sign in to the proxy</html>", "r3"),
               BatchOutcome(200, {"error": {"code": "x", "message": "y"}}, "r4"),
               BatchOutcome(200, {"userPrincipalName": "a@b.com"}, "r5")]
    monkeypatch.setattr(_user_read, "send_each", lambda client, requests, concurrency, retries: answers)
    references = [UserReference.parse("u%d@b.com" % n) for n in range(len(answers))]
    reads = read_users(None, references, ["id", "userPrincipalName", "accountEnabled"], 4, 2)
    assert [(r.found, r.unreadable, r.not_found, r.failed) for r in reads[:4]] == [(False, True, False, True)] * 4
    assert reads[0].properties == {}
    assert "carries neither id nor userPrincipalName" in explain_read_failure(reads[0], "u0@b.com")
    assert reads[4].found and not reads[4].unreadable
    # Without an identity asked for, any JSON object of Graph's is the user's answer.
    monkeypatch.setattr(_user_read, "send_each", lambda client, requests, concurrency, retries: [
        BatchOutcome(200, {"accountEnabled": True}, "r")])
    assert read_users(None, references[:1], ["accountEnabled"], 4, 2)[0].found
