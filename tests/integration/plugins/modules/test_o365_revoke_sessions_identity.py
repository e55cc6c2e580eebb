# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One user is one directory object, one rule judges every write, and an empty scope fails: o365_revoke_sessions
end to end (real ansible-playbook, msal and requests, the Graph emulator, directly and through Prism). The
emulator's own record of revocations is the judge."""

import pytest

DOMAIN = "contoso.onmicrosoft.com"
ADELE, ADELE_ID = "adele.vance@" + DOMAIN, "6e7b768e-07e2-4810-8459-485f84f8f204"
ALEX, ALEX_ID = "alex.wilber@" + DOMAIN, "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
FINANCE_ID = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
CONTRACTORS_ID = "7a1b2c3d-8e9f-4a0b-9c1d-2e3f4a5b6c7d"
KIOSK_DEVICES_ID = "a4d5e6f7-1b2c-4d3e-8f4a-5b6c7d8e9f0a"
HELPDESK_MEMBER = "user0007@" + DOMAIN


def revocations(scenario):
    return dict((u["userPrincipalName"], u["revocations"])
                for u in scenario.emulator.control("users", method="GET")["users"])


def revoked_since_start(scenario, before):
    after = revocations(scenario)
    return dict((upn, after[upn] - before[upn]) for upn in after if after[upn] != before[upn])


def app_environment(scenario, app):
    credentials = scenario.emulator["apps"][app]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": credentials["client_id"],
            "AZURE_CLIENT_SECRET": credentials["client_secret"]}


@pytest.mark.parametrize("given", [
    {"o365_users": [ADELE, ALEX], "o365_exclude": [ADELE_ID]},
    {"o365_users": [ADELE_ID.upper(), ALEX], "o365_exclude": [ADELE.upper()]},
    {"o365_users": [ALEX_ID, ADELE_ID], "o365_exclude": ["Adele.Vance@" + DOMAIN]},
], ids=["upn-excluded-by-id", "id-excluded-by-upn", "ids-excluded-by-upn"])
def test_an_excluded_user_is_never_written_in_whatever_form_it_is_named(scenario, given):
    before = revocations(scenario)
    run = scenario.run("revoke_incident.yml", given)
    assert run.rc == 0, run.stdout + run.stderr
    assert revoked_since_start(scenario, before) == {ALEX: 1}
    outcomes = dict((e["user"], e["outcome"]) for e in run.result["results"])
    assert sorted(outcomes.values()) == ["revoked", "skipped"] and run.result["revoked_count"] == 1


@pytest.mark.parametrize("given", [
    {"o365_user": ADELE, "o365_exclude": [ADELE_ID]},
    {"o365_users": [ADELE], "o365_exclude": [ADELE_ID]},
    {"o365_users": [ADELE_ID], "o365_exclude": [ADELE]},
], ids=["user", "users-upn", "users-id"])
def test_the_only_user_excluded_under_another_name_fails_and_nothing_is_sent(scenario, given):
    before = revocations(scenario)
    run = scenario.run("revoke_incident.yml", given)
    assert run.rc != 0 and "is excluded" in run.result["msg"] and "nothing was sent" in run.result["msg"]
    assert revoked_since_start(scenario, before) == {}
    assert [e for e in scenario.requests() if e["method"] == "POST" and e["kind"] != "token"
            and e["path"].endswith("revokeSignInSessions")] == []


def test_one_person_named_by_upn_and_by_object_id_is_revoked_once_and_counted_once(scenario):
    before = revocations(scenario)
    run = scenario.run("revoke_incident.yml", {"o365_users": [ADELE, ADELE_ID, ALEX.upper()], "o365_max_users": 2})
    assert run.rc == 0, run.stdout + run.stderr
    assert revoked_since_start(scenario, before) == {ADELE: 1, ALEX: 1}
    result = run.result
    assert (result["revoked_count"], len(result["results"])) == (2, 3)
    assert [e["user"] for e in result["results"]] == [ADELE, ADELE_ID, ALEX.upper()]
    assert result["results"][1]["user_id"] == ADELE_ID and result["results"][1]["outcome"] == "revoked"
    # One read of the rarer form (the object ID) beside the revokes.
    reads = [e for e in scenario.requests() if e["method"] == "GET" and e["kind"] in ("graph", "batch_item")]
    assert len(reads) == 1 and ADELE_ID in reads[0]["path"]


def test_a_group_of_devices_only_fails_naming_the_group_and_nothing_is_sent(scenario):
    before = revocations(scenario)
    run = scenario.run("revoke_incident.yml", {"o365_groups": ["Kiosk devices", "Empty group"]})
    assert run.rc != 0
    assert "Kiosk devices, Empty group have no user members" in run.result["msg"]
    assert run.result.get("all_sessions_revoked") is not True and revoked_since_start(scenario, before) == {}


def test_a_group_holding_devices_contacts_and_service_principals_acts_on_its_users_only(scenario):
    before = revocations(scenario)
    run = scenario.run("revoke_incident.yml", {"o365_groups": ["Helpdesk"]})
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["user"] for e in run.result["results"]] == [HELPDESK_MEMBER]
    assert revoked_since_start(scenario, before) == {HELPDESK_MEMBER: 1}


def test_a_group_entry_is_never_a_path(scenario):
    before = revocations(scenario)
    run = scenario.run("revoke_incident.yml", {"o365_groups": ["%s/../%s" % (CONTRACTORS_ID, FINANCE_ID)]},
                       check=True)
    assert run.rc != 0 and "No group has the display name" in run.result["msg"]
    groups_read = [e["path"] for e in scenario.requests() if e["kind"] == "graph" and "/groups" in e["path"]]
    assert groups_read and all(path.endswith("/groups") for path in groups_read)
    assert revoked_since_start(scenario, before) == {}


def test_max_users_stops_reading_a_large_group_at_its_first_page(scenario):
    group = scenario.emulator.control("groups", {"display_name": "Identity big %s" % scenario.route.name,
                                                 "users": 2100, "nested": 1})
    run = scenario.run("revoke_incident.yml", {"o365_groups": [group["id"]], "o365_max_users": 10})
    assert run.rc != 0 and "At least 2100 users would be acted on, more than max_users (10)" in run.result["msg"]
    pages = [e for e in scenario.requests() if "transitiveMembers" in e["path"]]
    assert len(pages) == 1


def test_a_confirmed_revoke_stays_confirmed_when_the_verify_read_is_refused(scenario):
    # The revoke-only app may revoke but not read users: Graph's {"value": true} is not rewritten by the read.
    before = revocations(scenario)
    run = scenario.run("revoke_incident.yml", {"o365_user": ALEX, "o365_verify": True},
                       env=app_environment(scenario, "revoke-only"))
    assert run.rc != 0 and "failed verification" in run.result["msg"]
    result = run.result
    assert (result["outcome"], result["changed"], result["all_sessions_revoked"], result["verified"]) == (
        "revoked", True, True, False)
    assert "Revoked (Graph confirmed it) but not verified" in result["error"]["message"]
    assert revoked_since_start(scenario, before) == {ALEX: 1}


@pytest.mark.parametrize("how", ["user", "users"])
def test_a_proxy_page_in_a_2xx_is_unknown_single_or_bulk(scenario, how):
    scenario.route.require_direct("the emulator's fault answers the module directly")
    given = {"o365_user": ALEX} if how == "user" else {"o365_users": [ALEX, ADELE]}
    scenario.faults(answer_next=[{"status": 200, "content_type": "text/html", "body": "<html>Proxy</html>",
                                  "act": True}])
    run = scenario.run("revoke_incident.yml", given)
    assert run.rc != 0
    entries = [run.result] if how == "user" else run.result["results"]
    assert all(e["outcome"] == "unknown" and e["all_sessions_revoked"] is None for e in entries)
    assert run.result["changed"] is True and "running the task again is safe" in run.result["msg"]
