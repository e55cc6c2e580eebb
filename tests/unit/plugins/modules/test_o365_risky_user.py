# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from ansible_collections.o365.admin.plugins.modules import o365_risky_user, o365_risky_user_info
from tests.unit.plugins.modules.graph_options import GRAPH, graph_options

ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
ALEX_ID = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
RISKY = GRAPH + "/identityProtection/riskyUsers"


@pytest.fixture
def risk(directory):
    """The directory of the module tests, plus Identity Protection: Adele at high risk; actions answered by
    ``risk.action_answer`` (Graph's 204 unless a test changes it)."""
    directory.add("adele@contoso.com", ADELE_ID)
    directory.add("alex@contoso.com", ALEX_ID)
    directory.risky = [{"id": ADELE_ID, "userPrincipalName": "adele@contoso.com", "riskLevel": "high",
                        "riskState": "atRisk", "riskDetail": "none", "riskLastUpdatedDateTime": "2026-11-29T10:00:00Z"}]
    directory.action_answer = (204, {}, "")
    directory.actions = []

    def listing(request):
        return 200, {"request-id": "rid-list"}, json.dumps({"value": directory.risky})

    def one(request):
        directory.reads.append(urlsplit(request.url).path.rsplit("/", 1)[1])
        found = [item for item in directory.risky if item["id"] == directory.reads[-1]]
        if not found:
            return 404, {"request-id": "rid-one"}, json.dumps({"error": {"code": "ResourceNotFound",
                                                                         "message": "Resource not found."}})
        return 200, {"request-id": "rid-one"}, json.dumps(found[0])

    def action(request):
        directory.actions.append((urlsplit(request.url).path, json.loads(request.body)))
        return directory.action_answer

    directory.reads = []
    directory.mock.add_callback(responses.GET, RISKY, callback=listing)
    directory.mock.add_callback(responses.GET, re.compile(re.escape(RISKY) + "/[0-9a-f-]{36}$"), callback=one)
    for name in ("confirmCompromised", "dismiss"):
        directory.mock.add_callback(responses.POST, RISKY + "/" + name, callback=action)
    return directory


def test_info_filters_on_at_risk_by_default_and_returns_ids_for_users(run_module, risk):
    failed, result = run_module(o365_risky_user_info.main, graph_options(risk_levels=["high"]))
    assert not failed and result["changed"] is False
    assert result["user_ids"] == [ADELE_ID] and result["user_principal_names"] == ["adele@contoso.com"]
    assert result["risky_users"][0]["risk_last_updated"] == "2026-11-29T10:00:00Z"
    query = parse_qs(urlsplit(risk.calls[0].request.url).query)
    assert query["$filter"] == ["riskLevel eq microsoft.graph.riskLevel'high' and "
                                "riskState eq microsoft.graph.riskState'atRisk'"]
    assert query["$top"] == ["500"]


def test_china_is_refused_before_any_call(run_module, risk):
    write = {"user": ADELE_ID, "state": "compromised"}
    for main, options in ((o365_risky_user_info.main, {}), (o365_risky_user.main, write)):
        failed, result = run_module(main, graph_options(cloud="china", graph_endpoint=None, **options))
        assert failed and "China" in result["msg"]
    assert len(risk.calls) == 0


def test_confirm_reads_the_object_id_then_the_risk_and_sends_only_what_differs(run_module, risk):
    risk.risky.append({"id": ALEX_ID, "riskLevel": "high", "riskState": "confirmedCompromised"})
    failed, result = run_module(o365_risky_user.main, graph_options(users=["adele@contoso.com", "alex@contoso.com"],
                                                                    state="compromised"))
    assert not failed, result
    assert [(e["outcome"], e["user_id"], e["risk_state"]) for e in result["results"]] == [
        ("compromised", ADELE_ID, "confirmedCompromised"), ("unchanged", ALEX_ID, "confirmedCompromised")]
    assert risk.actions == [("/v1.0/identityProtection/riskyUsers/confirmCompromised", {"userIds": [ADELE_ID]})]
    assert (result["changed"], result["changed_count"], result["unchanged_count"]) == (True, 1, 1)
    # Two users: each riskyUser read on its own, not the tenant's whole list.
    assert risk.reads == [ADELE_ID, ALEX_ID]
    assert not any(urlsplit(c.request.url).path.endswith("/riskyUsers") for c in risk.calls)


def test_a_user_identity_protection_never_flagged_is_read_as_404_and_confirmed(run_module, risk):
    failed, result = run_module(o365_risky_user.main, graph_options(user="alex@contoso.com", state="compromised"))
    assert not failed, result
    assert risk.reads == [ALEX_ID] and result["results"][0]["outcome"] == "compromised"
    assert risk.actions == [("/v1.0/identityProtection/riskyUsers/confirmCompromised", {"userIds": [ALEX_ID]})]


def test_more_users_than_are_read_one_by_one_list_the_risky_users_once(run_module, risk):
    ids = ["%08x-0000-4000-8000-000000000000" % n for n in range(1, 7)]
    for n, user_id in enumerate(ids):
        risk.add("user%d@contoso.com" % n, user_id)
    failed, result = run_module(o365_risky_user.main, graph_options(users=ids, state="dismissed"), check_mode=True)
    assert not failed, result
    assert risk.reads == [] and [urlsplit(c.request.url).path for c in risk.calls].count(
        "/v1.0/identityProtection/riskyUsers") == 1
    assert [e["outcome"] for e in result["results"]] == ["unchanged"] * 6


def test_check_mode_sends_no_action(run_module, risk):
    failed, result = run_module(o365_risky_user.main, graph_options(user=ADELE_ID, state="dismissed"),
                                check_mode=True)
    assert not failed and result["results"][0]["outcome"] == "would_dismiss" and risk.actions == []


def test_a_2xx_that_is_not_graphs_204_is_unknown_never_done(run_module, risk):
    risk.action_answer = (200, {"Content-Type": "text/html"}, "<html>Welcome to the proxy</html>")
    failed, result = run_module(o365_risky_user.main, graph_options(user=ADELE_ID, state="compromised"))
    assert failed and result["results"][0]["outcome"] == "unknown" and result["unknown_users"] == [ADELE_ID]
    assert result["changed"] is True  # it may have acted
    assert "may or may not have been made" in result["msg"]


@pytest.mark.parametrize("include_deleted, expected", [(False, [ADELE_ID]), (True, [ADELE_ID, ALEX_ID])])
def test_info_leaves_deleted_users_out_unless_asked(run_module, risk, include_deleted, expected):
    risk.risky.append(dict(risk.risky[0], id=ALEX_ID, userPrincipalName="gone@contoso.com", isDeleted=True))
    failed, result = run_module(o365_risky_user_info.main, graph_options(include_deleted=include_deleted))
    assert not failed and result["user_ids"] == expected
    assert result["deleted_count"] == (0 if include_deleted else 1) and result["count"] == len(expected)
