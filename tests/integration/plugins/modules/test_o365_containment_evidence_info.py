# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Proving a containment end to end: contain users with the contain_user role (playbooks/offboard_users.yml), let
the emulator's clients keep refreshing their old tokens, then prove it with playbooks/prove_containment.yml and
o365_containment_evidence_info at several log latencies, a suspect success, a tenant without P1, many users."""

import datetime
import json
import os
import uuid

DOMAIN = "contoso.onmicrosoft.com"
LATE = {"audit": 900, "interactive": 900, "non_interactive": 1800}
MATURE = {"audit": 0, "interactive": 0, "non_interactive": 0}


def graph_now(offset_minutes=0):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=offset_minutes)
    return when.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def new_users(scenario, count):
    """Users of the test's own (a new group of new users), so no other test's writes or sign-ins mix in."""
    prefix = "ev" + uuid.uuid4().hex[:8]
    made = scenario.emulator.control("groups", {"display_name": "Evidence " + prefix, "users": count, "nested": 0,
                                                "prefix": prefix})
    return [user["userPrincipalName"] for user in made["users"]]


def app_environment(scenario, name):
    app = scenario.emulator["apps"][name]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": app["client_id"],
            "AZURE_CLIENT_SECRET": app["client_secret"]}


def contain(scenario, users):
    record = os.path.join(scenario.work_dir, "INC-27-record.json")
    run = scenario.run("offboard_users.yml", {"users": users, "report_path": record},
                       env=app_environment(scenario, "containment"))
    assert run.rc == 0, run.stdout + run.stderr
    return record


def reports(scenario, **settings):
    return scenario.emulator.control("reports", settings)


def prove(scenario, record, **extra):
    variables = {"record": record}
    variables.update(extra)
    run = scenario.run("prove_containment.yml", variables, env=app_environment(scenario, "evidence"))
    assert run.rc == 0, run.stdout + run.stderr
    return run, run.tasks["Read the evidence and add this reading to the proof record"]


def by_user(result):
    return dict((entry["user"], entry) for entry in result["users"])


def test_verdicts_move_from_no_activity_yet_to_refused_as_the_logs_mature(scenario):
    users = new_users(scenario, 3)
    old_token = graph_now(-60)
    reports(scenario, latency_s=LATE)
    record = contain(scenario, users)
    # The attacker's clients keep refreshing the tokens they held before, and try the password again.
    attempts = [{"user": user, "token_issued_at": old_token} for user in users] + [
        {"user": user, "interactive": True} for user in users]
    outcomes = reports(scenario, sign_ins=attempts)["sign_ins"]
    assert [o["errorCode"] for o in outcomes] == [50057] * 6  # blocked first, so Entra says: user disabled

    run, young = prove(scenario, record)
    assert young["changed"] is False
    assert [u["verdict"] for u in young["users"]] == ["no_activity_yet"] * 3
    assert all(u["reason"] == "logs_not_mature" and u["ask_again_after"] for u in young["users"])
    assert all(u["audit"]["revoke_state"] == "not_yet" for u in young["users"])
    assert young["calls"] == {"v1.0": 2, "beta": 1}

    reports(scenario, latency_s=MATURE)
    run, mature = prove(scenario, record)
    assert [u["verdict"] for u in mature["users"]] == ["refused"] * 3, mature["users"]
    first = by_user(mature)[users[0]]
    assert first["reason"] == "AADSTS50057" and first["refused_count"] == 2
    revoke, block = first["audit"]["revoke"][0], first["audit"]["block"][0]
    assert revoke["activity"] == "Update StsRefreshTokenValidFrom Timestamp" and revoke["initiated_by"] == "containment"
    assert block["activity"] == "Disable account" and revoke["correlation_id"] and block["correlation_id"]
    apis = set(s["api"] for s in first["sign_ins"])
    assert apis == {"v1.0", "beta"}

    with open(record[:-len(".json")] + ".proof.json") as handle:
        proof = json.load(handle)
    assert [r["summary"]["no_activity_yet"] for r in proof["readings"]] == [3, 0]
    assert proof["latest"]["summary"]["refused"] == 3 and proof["record_path"] == record


def test_a_success_with_an_old_token_after_the_cut_off_is_flagged_suspect(scenario):
    stale, held = new_users(scenario, 2)
    old_token = graph_now(-60)
    record = contain(scenario, [stale, held])
    # Someone enables both again (no audit of it here) and Entra keeps honouring one user's old refresh tokens.
    scenario.emulator.control("user_state", {"users": {stale: {"accountEnabled": True}, held: {"accountEnabled": True}}})
    reports(scenario, latency_s=MATURE, stale_grants=[stale])
    outcomes = reports(scenario, sign_ins=[{"user": stale, "token_issued_at": old_token},
                                           {"user": held, "token_issued_at": old_token}])["sign_ins"]
    assert [o["errorCode"] for o in outcomes] == [0, 50173]

    run = scenario.run("containment_evidence.yml", {"o365_record_path": record},
                       env=app_environment(scenario, "evidence"))
    assert run.rc == 0, run.stdout + run.stderr
    result = by_user(run.result)
    assert result[stale]["verdict"] == "suspect" and run.result["suspect_users"] == [stale]
    assert result[held]["verdict"] == "refused" and result[held]["reason"] == "AADSTS50173"
    assert any("SUSPECT: %s" % stale in warning for warning in run.warnings()), run.warnings()


def test_a_tenant_without_p1_is_unprovable_with_the_reason_and_the_audit_is_still_read(scenario):
    (user,) = new_users(scenario, 1)
    record = contain(scenario, [user])
    reports(scenario, latency_s=MATURE, licensed=False)
    run, result = prove(scenario, record)
    entry = result["users"][0]
    assert entry["verdict"] == "unprovable" and entry["reason"] == "no_licence" and entry["ask_again_after"] is None
    assert result["reads"]["interactive"]["reason"] == "no_licence"
    assert entry["audit"]["revoke_state"] == "found" and entry["audit"]["block_state"] == "found"


def test_an_app_without_directory_read_is_unprovable_for_lack_of_permission(scenario):
    (user,) = new_users(scenario, 1)
    reports(scenario, latency_s=MATURE)
    run = scenario.run("containment_evidence.yml", {"o365_users": [user], "o365_cutoff": graph_now(-1),
                                                    },
                       env=app_environment(scenario, "audit-only"))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["users"][0]["verdict"] == "unprovable"
    assert run.result["users"][0]["reason"] == "no_permission" and run.result["reads"]["audit"]["read"] is True


def test_v1_0_only_reads_no_beta_and_says_which_logs_a_verdict_rests_on(scenario):
    (user,) = new_users(scenario, 1)
    reports(scenario, latency_s=MATURE)
    cutoff = graph_now(-1)
    reports(scenario, sign_ins=[{"user": user, "token_issued_at": "2025-12-01T00:00:00.0000000Z"}])
    run = scenario.run("containment_evidence.yml", {"o365_users": [user], "o365_cutoff": cutoff,
                                                    "o365_non_interactive": False},
                       env=app_environment(scenario, "evidence"))
    assert run.rc == 0, run.stdout + run.stderr
    entry = run.result["users"][0]
    # The refused refresh is only in the non-interactive log, which was not read.
    assert entry["verdict"] == "no_activity_yet" and entry["logs_read"] == ["interactive"]
    # The audit log holds every earlier test's writes too (the suite shares one emulator): count its pages, not 1.
    assert run.result["calls"]["beta"] == 0 and "non_interactive" not in run.result["reads"]
    assert run.result["calls"]["v1.0"] == sum(read["calls"] for read in run.result["reads"].values()) >= 2
    assert not [e for e in scenario.requests("graph") if e["path"].startswith("/beta/")]


def test_many_users_are_proven_with_three_paged_queries_within_the_reports_limit(scenario):
    users = new_users(scenario, 200)
    cutoff = graph_now(-1)
    reports(scenario, latency_s=MATURE)
    # Six refreshes each with tokens from before every user's cut-off: 1,200 entries, two beta pages.
    outcomes = reports(scenario, sign_ins=[{"user": user, "token_issued_at": "2025-12-01T00:00:00.0000000Z"}
                                           for user in users for dummy in range(6)])["sign_ins"]
    assert set(o["errorCode"] for o in outcomes) == {50173}
    throttled_before = scenario.emulator.control("reports", method="GET")["throttled"]
    run = scenario.run("containment_evidence.yml", {"o365_users": users, "o365_cutoff": cutoff},
                       env=app_environment(scenario, "evidence"))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["summary"]["refused"] == 200
    # The window holds every sign-in of the tenant since the cut-off (other tests' too): pages of 1,000.
    beta = run.result["reads"]["non_interactive"]
    assert beta["api"] == "beta" and beta["entries"] >= 1200 and beta["pages"] == -(-beta["entries"] // 1000)
    log_calls = [e for e in scenario.requests("graph") if "/auditLogs/" in e["path"]]
    pages = sum(read["pages"] for read in run.result["reads"].values())
    assert len(log_calls) == sum(run.result["calls"].values()) == pages <= 10
    assert scenario.emulator.control("reports", method="GET")["throttled"] == throttled_before


def test_prove_containment_waits_with_wait_minutes_and_adds_every_reading(scenario):
    users = new_users(scenario, 2)
    # Entries appear 40 s after the event: the first reading comes sooner (through Prism too), the wait shows the
    # refusals (readings every 30 s, the last at the end of the minute).
    reports(scenario, latency_s={"audit": 40, "interactive": 40, "non_interactive": 40})
    record = contain(scenario, users)
    outcomes = reports(scenario, sign_ins=[{"user": user, "token_issued_at": graph_now(-60)} for user in users])
    assert [o["errorCode"] for o in outcomes["sign_ins"]] == [50057, 50057]

    run, result = prove(scenario, record, wait_minutes=1)
    assert result["verdicts"] == dict((user, "refused") for user in users)
    assert result["readings"] >= 2 and result["pending_users"] == [] and result["waited_s"] <= 60 + 15
    with open(record[:-len(".json")] + ".proof.json") as handle:
        proof = json.load(handle)
    assert [(r["run_id"], r["attempt"]) for r in proof["readings"]] == [
        (result["run_id"], n) for n in range(1, result["readings"] + 1)]
    assert proof["readings"][0]["summary"]["no_activity_yet"] == 2
    artifact = run.tasks["Publish the verdicts as the job's artifact"]["ansible_stats"]["data"]
    assert artifact["o365_containment_proof"] == result["proof"]
