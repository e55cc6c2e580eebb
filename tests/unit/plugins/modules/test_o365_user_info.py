# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.o365.admin.plugins.modules.o365_user_info import main
from tests.unit.plugins.modules.graph_options import graph_options

ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
SYNCED_ID = "9a4c6e8b-0d2f-4b1a-8c3e-5f7a9b1d3e5c"


@pytest.fixture
def tenant(directory):
    directory.add("adele@contoso.com", ADELE_ID)
    directory.add("synced@contoso.com", SYNCED_ID, enabled=False, synced=True)
    return directory


def test_one_user_every_property_never_changed(run_module, tenant):
    failed, result = run_module(main, graph_options(user="adele@contoso.com"))
    assert not failed and result["changed"] is False
    user = result["users"][0]
    assert user == {"user": "adele@contoso.com", "excluded": False, "found": True, "status_code": 200,
                    "request_id": "rid-single", "id": ADELE_ID, "user_principal_name": "adele@contoso.com",
                    "display_name": "adele", "user_type": "Member", "account_enabled": True,
                    "on_premises_sync_enabled": None, "sessions_valid_from": "2026-01-01T00:00:00Z"}
    select = parse_qs(urlsplit(tenant.calls[0].request.url).query)["$select"][0].split(",")
    assert set(select) == {"id", "userPrincipalName", "displayName", "userType", "accountEnabled",
                           "onPremisesSyncEnabled", "signInSessionsValidFromDateTime"}
    assert [call.request.method for call in tenant.calls] == ["GET"]


def test_many_users_in_one_batch_unknown_user_is_found_false(run_module, tenant):
    users = ["adele@contoso.com", "ghost@contoso.com", "synced@contoso.com", "Adele@contoso.com"]
    failed, result = run_module(main, graph_options(users=users))
    assert not failed, result
    assert [u["user"] for u in result["users"]] == users
    assert [u["found"] for u in result["users"]] == [True, False, True, True]
    assert result["users"][1]["status_code"] == 404 and result["users"][1]["error"]["code"] == "Request_ResourceNotFound"
    assert result["users"][2]["on_premises_sync_enabled"] is True and result["users"][2]["account_enabled"] is False
    assert (result["found_count"], result["not_found_users"]) == (2, ["ghost@contoso.com"])
    assert [call.request.method for call in tenant.calls] == ["POST"]  # one $batch for the three distinct users


def test_check_mode_reads_the_same(run_module, tenant):
    failed, result = run_module(main, graph_options(user="adele@contoso.com"), check_mode=True)
    assert not failed and result["users"][0]["account_enabled"] is True and result["changed"] is False


def test_a_read_refused_fails_with_the_permission_and_keeps_the_answers(run_module, tenant):
    tenant.read_status["adele@contoso.com"] = (403, "Authorization_RequestDenied")
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "synced@contoso.com"]))
    assert failed and "User.Read.All" in result["msg"]
    assert result["users"][0]["found"] is False and result["users"][1]["found"] is True


def test_excluded_users_are_not_read(run_module, tenant):
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "synced@contoso.com"],
                                                    exclude=["SYNCED@contoso.com"]))
    assert not failed
    assert result["users"][1] == {"user": "synced@contoso.com", "excluded": True, "found": None}
    assert [call.request.method for call in tenant.calls] == ["GET"]


@pytest.mark.parametrize("concurrency", [0, 33])
def test_batch_concurrency_out_of_range_fails_before_any_call(run_module, tenant, concurrency):
    failed, result = run_module(main, graph_options(users=["adele@contoso.com"], batch_concurrency=concurrency))
    assert failed and result["msg"] == "batch_concurrency must be 1 or more and at most 32, not %d." % concurrency
    assert len(tenant.calls) == 0
