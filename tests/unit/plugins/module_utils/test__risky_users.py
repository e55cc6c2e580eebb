# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    ConfigurationError, GraphApiError, GraphTransportError, O365AdminError)
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphResponse
from ansible_collections.o365.admin.plugins.module_utils._risky_users import (
    ACTION_LIMIT, READ_ONE_BY_ONE, IdentityPacer, RiskChange, apply_changes, checked_values, explain_failure,
    list_risky_users, read_risky_user, refuse_china, risk_filter, risk_records, RISK_LEVELS)
from ansible_collections.o365.admin.plugins.module_utils._targets import Target
from ansible_collections.o365.admin.plugins.module_utils._user_read import UserRead
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference

USER_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class FakeClient:
    """Answers each request with the next scripted answer (a GraphResponse body, or an exception to raise)."""

    def __init__(self, answers, clock=None):
        self.answers = list(answers)
        self.sent = []
        self.clock = clock

    def request(self, method, path, params=None, json_body=None, headers=None):
        self.sent.append((method, path, params, json_body, self.clock.now if self.clock else None))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return GraphResponse(status, body, "rid-%d" % len(self.sent), None, 1, received="application/json")


def test_pacer_spaces_requests_by_a_second_and_never_waits_for_the_first():
    fake = FakeClock()
    pacer = IdentityPacer(clock=fake.clock, sleep=fake.sleep)
    pacer.wait()
    fake.now += 0.25
    pacer.wait()
    fake.now += 3
    pacer.wait()
    # A second and the margin for arrival jitter after the first, counted from its send.
    assert fake.sleeps == [pytest.approx(0.85)] and pacer.waited_s == pytest.approx(0.85)


def test_filter_uses_enum_literals_and_groups_alternatives():
    assert risk_filter(["high"], ["atRisk"]) == ("riskLevel eq microsoft.graph.riskLevel'high' and "
                                                 "riskState eq microsoft.graph.riskState'atRisk'")
    assert risk_filter(["high", "medium"], []) == ("(riskLevel eq microsoft.graph.riskLevel'high' or "
                                                   "riskLevel eq microsoft.graph.riskLevel'medium')")
    assert risk_filter([], []) is None


def test_values_outside_graphs_names_are_refused():
    with pytest.raises(ConfigurationError, match="'High'"):
        checked_values("risk_levels", ["High"], RISK_LEVELS)


@pytest.mark.parametrize("params, environ", [
    ({"cloud": "china"}, {}),
    ({"cloud": None, "graph_endpoint": "https://microsoftgraph.chinacloudapi.cn"}, {}),
    ({"cloud": None}, {"AZURE_CLOUD_ENVIRONMENT": "AzureChinaCloud"}),
])
def test_china_is_refused(params, environ):
    with pytest.raises(ConfigurationError, match="China"):
        refuse_china(dict({"authority_host": None, "graph_endpoint": None, "tenant_id": "t"}, **params), environ)


def test_public_and_us_government_clouds_pass():
    for cloud in ("public", "usgov", "usgovdod"):
        refuse_china({"cloud": cloud, "authority_host": None, "graph_endpoint": None, "tenant_id": "t"}, {})


def test_listing_follows_every_page_paced_and_sends_the_filter_once():
    fake = FakeClock()
    link = "https://graph.microsoft.com/v1.0/identityProtection/riskyUsers?$skiptoken=x"
    client = FakeClient([(200, {"value": [{"id": "a"}], "@odata.nextLink": link}), (200, {"value": [{"id": "b"}]})],
                        fake)
    items = list_risky_users(client, ["high"], ["atRisk"], IdentityPacer(clock=fake.clock, sleep=fake.sleep))
    assert [item["id"] for item in items] == ["a", "b"]
    first, second = client.sent
    assert first[1] == "/identityProtection/riskyUsers" and first[2]["$top"] == "500"
    assert "riskLevel eq microsoft.graph.riskLevel'high'" in first[2]["$filter"]
    assert second[1] == link and second[2] is None  # the next link carries the query itself
    assert second[4] - first[4] >= 1.0


def test_listing_stops_on_a_repeated_next_link_and_on_an_answer_that_is_not_a_page():
    link = "https://graph.microsoft.com/v1.0/identityProtection/riskyUsers?$skiptoken=x"
    loop = FakeClient([(200, {"value": [], "@odata.nextLink": link})] * 3)
    with pytest.raises(O365AdminError, match="same next-page link twice"):
        list_risky_users(loop, pacer=IdentityPacer(interval_s=0))
    with pytest.raises(O365AdminError, match="page of risky users holds no JSON object"):
        list_risky_users(FakeClient([(200, None)]), pacer=IdentityPacer(interval_s=0))


def test_a_few_users_are_read_one_by_one_paced_and_only_graphs_404_means_never_flagged():
    fake = FakeClock()
    pacer = IdentityPacer(clock=fake.clock, sleep=fake.sleep)
    other = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
    client = FakeClient([(200, {"id": USER_ID, "riskState": "atRisk"}),
                         GraphApiError("not found", 404, code="ResourceNotFound")], clock=fake)
    records = risk_records(client, [USER_ID.upper(), other, USER_ID], pacer)
    assert records == {USER_ID: {"id": USER_ID, "riskState": "atRisk"}}
    assert [sent[1] for sent in client.sent] == ["/identityProtection/riskyUsers/" + USER_ID,
                                                 "/identityProtection/riskyUsers/" + other]
    assert client.sent[1][4] - client.sent[0][4] >= 1.0  # one request per second
    # A 404 that is not Graph's (a proxy's page, no error code), a 2xx that is not a riskyUser: never "not flagged".
    with pytest.raises(GraphApiError):
        read_risky_user(FakeClient([GraphApiError("proxy", 404)]), USER_ID, IdentityPacer())
    with pytest.raises(O365AdminError, match="was not that riskyUser"):
        read_risky_user(FakeClient([(200, "<html>proxy</html>")]), USER_ID, IdentityPacer())
    with pytest.raises(O365AdminError, match="was not that riskyUser"):
        read_risky_user(FakeClient([(200, {"id": "someone-else"})]), USER_ID, IdentityPacer())
    refused = FakeClient([GraphApiError("Forbidden", 403, code="Forbidden")])
    with pytest.raises(GraphApiError) as raised:
        read_risky_user(refused, USER_ID, IdentityPacer())
    assert "Entra ID P2" in raised.value.message and "IdentityRiskyUser.Read.All" in raised.value.message


def test_more_users_list_the_risky_users_instead():
    ids = ["%08x-0000-4000-8000-000000000000" % n for n in range(READ_ONE_BY_ONE + 1)]
    client = FakeClient([(200, {"value": [{"id": ids[0].upper(), "riskState": "atRisk"}]})])
    assert risk_records(client, ids, IdentityPacer()) == {ids[0]: {"id": ids[0].upper(), "riskState": "atRisk"}}
    assert [sent[1] for sent in client.sent] == ["/identityProtection/riskyUsers"]


def test_a_403_names_both_the_permission_and_the_licence():
    refused = GraphApiError("Microsoft Graph answered HTTP 403 Forbidden.", 403, code="Forbidden")
    with pytest.raises(GraphApiError) as raised:
        list_risky_users(FakeClient([refused]), pacer=IdentityPacer(interval_s=0))
    assert "IdentityRiskyUser.Read.All" in raised.value.message and "P2" in raised.value.message


def change(state="compromised", risk_state="atRisk", user_id=USER_ID, found=True):
    target = Target(user_id, UserReference.parse(user_id))
    read = UserRead(BatchOutcome(200 if found else 404, {"id": user_id} if found else {}, "rid-read"),
                    {"id": user_id, "user_principal_name": "adele@contoso.com"} if found else {})
    record = {"id": user_id, "riskState": risk_state, "riskLevel": "high"} if risk_state else None
    return RiskChange(target, read, state, record)


@pytest.mark.parametrize("state, risk_state, needed", [
    ("compromised", "atRisk", True), ("compromised", None, True), ("compromised", "dismissed", True),
    ("compromised", "confirmedCompromised", False), ("dismissed", "atRisk", True),
    ("dismissed", "confirmedCompromised", True), ("dismissed", None, False), ("dismissed", "remediated", False),
    ("dismissed", "dismissed", False), ("dismissed", "confirmedSafe", False),
])
def test_only_a_state_that_differs_is_sent(state, risk_state, needed):
    assert change(state, risk_state).needed is needed


def test_success_is_graphs_204_only():
    done, mangled, lost, refused = change(), change(), change(), change()
    done.answer = BatchOutcome(204, None, "r")
    mangled.answer = BatchOutcome(200, None, "r")  # a 2xx that is not Graph's answer (a proxy's page)
    lost.answer = BatchOutcome(None, None, None, unknown=True, reason="reset after sending")
    refused.answer = BatchOutcome(403, {"error": {"code": "Authorization_RequestDenied", "message": "no"}}, "r")
    assert [c.outcome(False) for c in (done, mangled, lost, refused)] == ["compromised", "unknown", "unknown",
                                                                          "failed"]
    assert "may or may not have been made" in explain_failure(lost)
    assert "IdentityRiskyUser.ReadWrite.All" in explain_failure(refused) and "P2" in explain_failure(refused)


def test_a_user_that_could_not_be_read_is_failed_and_never_sent():
    missing = change(found=False)
    assert missing.outcome(False) == "failed" and not missing.needed
    assert "not found" in explain_failure(missing)


def test_actions_go_sixty_object_ids_per_call_paced_and_not_batched():
    ids = ["00000000-0000-4000-8000-%012d" % n for n in range(ACTION_LIMIT * 2 + 5)]
    changes = [change(user_id=user_id) for user_id in ids] + [change(risk_state="confirmedCompromised")]
    fake = FakeClock()
    client = FakeClient([(204, None)] * 3, fake)
    calls = apply_changes(client, changes, "compromised", IdentityPacer(clock=fake.clock, sleep=fake.sleep), 4)
    assert calls == 3
    assert [len(sent[3]["userIds"]) for sent in client.sent] == [ACTION_LIMIT, ACTION_LIMIT, 5]
    assert all(sent[1] == "/identityProtection/riskyUsers/confirmCompromised" for sent in client.sent)
    times = [sent[4] for sent in client.sent]
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[1:]))
    assert changes[-1].answer is None  # already confirmed: not sent


def test_one_user_named_twice_is_one_object_id_in_the_call():
    client = FakeClient([(204, None)])
    apply_changes(client, [change(), change()], "dismissed", IdentityPacer(interval_s=0), 4)
    assert client.sent[0][3] == {"userIds": [USER_ID]}


def test_a_lost_answer_leaves_every_user_of_the_call_unknown():
    changes = [change(user_id="00000000-0000-4000-8000-%012d" % n) for n in range(3)]
    lost = GraphTransportError("The answer was lost.", "https://graph", 1, may_have_acted=True)
    apply_changes(FakeClient([lost]), changes, "compromised", IdentityPacer(interval_s=0), 4)
    assert [c.outcome(False) for c in changes] == ["unknown"] * 3
