# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The contain_user role through playbooks/offboard_users.yml: real ansible-playbook against the Graph emulator."""

import datetime
import json
import os
import signal
import stat
import subprocess
import uuid

from tests.integration.conftest import PlaybookRun, wait_for

DOMAIN = "contoso.onmicrosoft.com"
SYNCED = "pradeep.gupta@" + DOMAIN
ADMIN = "it.admin@" + DOMAIN
# Load users of their own, apart from the other tests' users.
USERS = ["user%04d@%s" % (n, DOMAIN) for n in range(112, 120)]


def containment_environment(scenario):
    app = scenario.emulator["apps"]["containment"]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": app["client_id"],
            "AZURE_CLIENT_SECRET": app["client_secret"], "ANSIBLE_DIFF_ALWAYS": "True"}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def enable(scenario, users):
    scenario.emulator.control("user_state", {"users": dict((user, {"accountEnabled": True}) for user in users)})


def directory(scenario):
    return dict((u["userPrincipalName"], u) for u in scenario.emulator.control("users", method="GET")["users"])


def task(run, name):
    """A role task's result (Ansible prefixes the role's name)."""
    matches = [result for task_name, result in run.tasks.items() if task_name.endswith(name)]
    assert matches, "no task %r in %s" % (name, list(run.tasks))
    return matches[0]


CONTAIN = "Block sign-in, revoke sessions, verify, record"


def contained(run):
    """The result of the role's one module task."""
    return task(run, CONTAIN)


def writes(scenario):
    """Every PATCH and revoke Graph received, alone or inside $batch."""
    return [e for e in scenario.requests() if e["kind"] in ("graph", "batch_item")
            and (e["method"] == "PATCH" or e["path"].endswith("/revokeSignInSessions"))]


def offboard(scenario, users, started, report_path, check=False, **extra):
    variables = {"users": users, "incident_started_at": started, "report_path": report_path}
    variables.update(extra)
    return scenario.run("offboard_users.yml", variables, env=containment_environment(scenario), check=check)


def test_first_run_blocks_revokes_and_verifies_a_second_run_changes_nothing(scenario):
    users = USERS[:3] + [SYNCED]
    enable(scenario, users)
    before = directory(scenario)
    report_path = os.path.join(scenario.work_dir, "report.json")
    started = now()

    run = offboard(scenario, users, started, report_path)
    assert run.rc == 0, run.stdout + run.stderr
    result = contained(run)
    assert [e["outcome"] for e in result["results"]] == ["contained"] * 4
    assert [e["sign_in_outcome"] for e in result["results"]] == ["blocked"] * 4
    assert [e["user"] for e in result["results"]] == users
    assert all(e["verified"] is True and e["changed"] for e in result["results"])
    after = directory(scenario)
    assert all(after[u]["accountEnabled"] is False and after[u]["revocations"] == before[u]["revocations"] + 1
               for u in users)
    assert any("synced from on-premises Active Directory" in w for w in run.warnings())
    # Block first: every PATCH was answered before the first revoke was sent.
    sent = writes(scenario)
    kinds = ["PATCH" if e["method"] == "PATCH" else "revoke" for e in sent]
    assert kinds == ["PATCH"] * 4 + ["revoke"] * 4

    assert stat.S_IMODE(os.stat(report_path).st_mode) == 0o600
    with open(report_path) as handle:
        report = json.load(handle)
    assert [entry["user"] for entry in report["users"]] == users
    assert all(entry["sign_in_outcome"] == "blocked" and entry["verified"] is True for entry in report["users"])
    assert report["revoked_since"] == started and report["order"] == "block_then_revoke"
    assert report["schema_version"] == 1 and report["kind"] == "containment"

    sent_so_far = len(sent)
    # The weekly re-run on the same record is refused before any call: the first run's record is never replaced.
    refused = offboard(scenario, users, started, report_path)
    assert refused.rc != 0 and "a run never replaces another run's record" in refused.stdout, refused.stdout
    assert len(writes(scenario)) == sent_so_far
    with open(report_path) as handle:
        assert json.load(handle)["run_id"] == report["run_id"]

    again = offboard(scenario, users, started, os.path.join(scenario.work_dir, "report-{run_id}.json"))
    assert again.rc == 0, again.stdout + again.stderr
    assert contained(again)["changed"] is False
    assert [e["outcome"] for e in contained(again)["results"]] == ["already_contained"] * 4
    assert len(writes(scenario)) == sent_so_far
    assert "changed=0" in again.stdout
    assert contained(again)["run_id"] != report["run_id"]


def test_check_mode_with_diff_shows_each_user_and_writes_nothing(scenario):
    users = USERS[3:6]
    enable(scenario, users)
    report_path = os.path.join(scenario.work_dir, "dry-run.json")
    run = offboard(scenario, users, now(), report_path, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    result = contained(run)
    assert [e["outcome"] for e in result["results"]] == ["would_contain"] * 3
    assert [(d["before_header"], d["before"].splitlines()[0], d["after"].splitlines()[0]) for d in result["diff"]] == [
        (user + " (before)", "account_enabled: true", "account_enabled: false") for user in users]
    for user in users:
        assert user + " (before)" in run.stdout  # --diff prints each user's before/after
    assert writes(scenario) == []
    assert all(directory(scenario)[user]["accountEnabled"] is True for user in users)
    with open(report_path) as handle:
        assert json.load(handle)["check_mode"] is True


def test_privileged_target_fails_with_the_role_specific_message_and_the_others_are_contained(scenario):
    users = [USERS[6], ADMIN]
    enable(scenario, users)
    report_path = os.path.join(scenario.work_dir, "report.json")
    run = offboard(scenario, users, now(), report_path)
    assert run.rc != 0
    final = contained(run)
    assert "Authorization_RequestDenied" in final["msg"] and "1 user(s): %s" % ADMIN in final["msg"]
    assert "Privileged Authentication Administrator" in final["results"][1]["error"]["explanation"]
    assert directory(scenario)[USERS[6]]["accountEnabled"] is False
    assert directory(scenario)[ADMIN]["accountEnabled"] is True
    # The revoke still ran for both, and the record has both users with both steps.
    assert [e["revoke_outcome"] for e in final["results"]] == ["revoked", "revoked"]
    with open(report_path) as handle:
        report = json.load(handle)
    admin = report["users"][1]
    assert admin["sign_in_outcome"] == "failed" and admin["outcome"] == "failed"
    assert admin["error"]["step"] == "block sign-in" and report["failed"] is True


def test_revoke_then_block_order(scenario):
    users = [USERS[7]]
    enable(scenario, users)
    run = offboard(scenario, users, now(), "", contain_user_order="revoke_then_block")
    assert run.rc == 0, run.stdout + run.stderr
    kinds = ["PATCH" if e["method"] == "PATCH" else "revoke" for e in writes(scenario)]
    # The user this run blocked is revoked again after the block: sessions issued in between must not survive.
    assert kinds == ["revoke", "PATCH", "revoke"]


def test_a_nested_group_with_an_exclusion(scenario):
    members = ["alex.wilber@" + DOMAIN, "user0003@" + DOMAIN]
    excluded = "user0004@" + DOMAIN
    enable(scenario, members + [excluded])
    before = directory(scenario)
    try:
        run = offboard(scenario, [], now(), "", entra_groups="Finance - Payables", exclude=[excluded])
        assert run.rc == 0, run.stdout + run.stderr
        by_user = dict((e["user"], e) for e in contained(run)["results"])
        assert all(by_user[user]["outcome"] == "contained" and by_user[user]["group"] == "Finance - Payables"
                   for user in members)
        assert by_user[excluded]["outcome"] == "excluded"
        after = directory(scenario)
        assert all(after[user]["accountEnabled"] is False for user in members)
        assert after[excluded]["accountEnabled"] is True
        assert after[excluded]["revocations"] == before[excluded]["revocations"]
        assert all(after[user]["revocations"] == before[user]["revocations"] + 1 for user in members)
    finally:
        enable(scenario, members)


def test_a_step_switched_off_is_not_run(scenario):
    users = [USERS[7]]
    enable(scenario, users)
    report_path = os.path.join(scenario.work_dir, "report.json")
    run = offboard(scenario, users, now(), report_path, contain_user_block_sign_in=False)
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["path"].endswith("/revokeSignInSessions") for e in writes(scenario)] == [True]
    assert directory(scenario)[USERS[7]]["accountEnabled"] is True
    with open(report_path) as handle:
        report = json.load(handle)
    assert report["write_order"] == ["revoke"] and report["steps"]["block_sign_in"]["run"] is False
    assert report["users"][0]["block_sign_in"] is None and report["users"][0]["sign_in_outcome"] is None


# --- One identity, revoke after the block, act without reads (issue 17) -------------------------------------------
ADELE, ADELE_ID = "adele.vance@" + DOMAIN, "6e7b768e-07e2-4810-8459-485f84f8f204"
FINANCE_MEMBERS = [ADELE, "AdeleVance_adatum.com#EXT#@" + DOMAIN, "alex.wilber@" + DOMAIN] + [
    "user%04d@%s" % (n, DOMAIN) for n in (1, 2, 3, 4)]


def test_an_exclude_by_object_id_holds_against_the_same_user_by_upn_and_through_a_group(scenario):
    enable(scenario, FINANCE_MEMBERS)
    before = directory(scenario)
    report_path = os.path.join(scenario.work_dir, "report.json")
    try:
        run = offboard(scenario, [ADELE], now(), report_path, entra_groups="Finance", exclude=[ADELE_ID])
        assert run.rc == 0, run.stdout + run.stderr
        after = directory(scenario)
        assert after[ADELE]["accountEnabled"] is True and after[ADELE]["revocations"] == before[ADELE]["revocations"]
        assert after["alex.wilber@" + DOMAIN]["accountEnabled"] is False
        assert not any(ADELE in e["path"] or ADELE_ID in e["path"] for e in writes(scenario))
        with open(report_path) as handle:
            report = json.load(handle)
        adele = [u for u in report["users"] if u["user"] == ADELE]
        assert len(adele) == 1 and adele[0]["outcome"] == "excluded"
    finally:
        enable(scenario, FINANCE_MEMBERS)


def test_a_multi_line_exclude_from_a_survey_excludes_each_line(scenario):
    members = ["alex.wilber@" + DOMAIN, "user0003@" + DOMAIN, "user0004@" + DOMAIN]
    enable(scenario, members)
    try:
        run = offboard(scenario, [], now(), "", entra_groups="Finance - Payables",
                       exclude="user0003@%s\n  user0004@%s \n" % (DOMAIN, DOMAIN))
        assert run.rc == 0, run.stdout + run.stderr
        after = directory(scenario)
        assert [after[m]["accountEnabled"] for m in members] == [False, True, True]
    finally:
        enable(scenario, members)


def test_a_privileged_user_blocked_on_a_re_run_is_revoked_after_the_block(scenario):
    app = scenario.emulator["apps"]["containment"]["client_id"]
    enable(scenario, [ADMIN])
    started = now()
    before = directory(scenario)[ADMIN]["revocations"]
    first = offboard(scenario, [ADMIN], started, "")
    assert first.rc != 0 and directory(scenario)[ADMIN]["accountEnabled"] is True
    assert directory(scenario)[ADMIN]["revocations"] == before + 1
    try:
        # The app is given the Entra role a sensitive action needs; the same run again blocks the admin, and the
        # revoke must come after that block, although revoked_since says the admin was revoked since the incident.
        scenario.emulator.control("apps", {"client_id": app, "directory_roles": ["Privileged Authentication Administrator"]})
        second = offboard(scenario, [ADMIN], started, "")
        assert second.rc == 0, second.stdout + second.stderr
        assert directory(scenario)[ADMIN]["accountEnabled"] is False
        assert directory(scenario)[ADMIN]["revocations"] == before + 2
        kinds = ["PATCH" if e["method"] == "PATCH" else "revoke" for e in writes(scenario)]
        assert kinds[-2:] == ["PATCH", "revoke"]
        assert contained(second)["results"][0]["revokes"] == 1
    finally:
        scenario.emulator.control("apps", {"client_id": app, "directory_roles": []})
        enable(scenario, [ADMIN])


def test_an_app_that_may_only_write_still_contains_the_user(scenario):
    user = USERS[2]
    enable(scenario, [user])
    before = directory(scenario)[user]["revocations"]
    app = scenario.emulator["apps"]["writes-only"]
    env = {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": app["client_id"],
           "AZURE_CLIENT_SECRET": app["client_secret"]}
    run = scenario.run("offboard_users.yml", {"users": [user], "report_path": "", "contain_user_verify": False},
                       env=env)
    assert run.rc == 0, run.stdout + run.stderr
    after = directory(scenario)[user]
    assert after["accountEnabled"] is False and after["revocations"] == before + 1
    assert len([w for w in run.warnings() if "User.Read.All" in w]) == 1


def test_a_record_that_cannot_be_written_fails_the_role_before_any_write_with_the_artifact_task_run(scenario):
    """Issue 18, as far as the role goes: the record's directory is missing. The module checks the path before any
    network call, so nothing is written that the record could not hold; the artifact task still runs."""
    users = [USERS[0]]
    enable(scenario, users)
    report_path = os.path.join(scenario.work_dir, "removed", "report.json")
    run = offboard(scenario, users, now(), report_path)
    assert run.rc != 0
    final = contained(run)
    assert "does not exist" in final["msg"], final["msg"]
    assert writes(scenario) == []
    assert "Publish the record as the job's artifact" in " ".join(run.tasks)


def test_without_verify_each_user_is_revoked_once_as_the_emulator_counts(scenario):
    """The old role joined its steps' results in Jinja and, with contain_user_verify false, revoked every user twice."""
    users = USERS[:4]
    enable(scenario, users)
    before = directory(scenario)
    run = offboard(scenario, users, "", "", contain_user_verify=False)
    assert run.rc == 0, run.stdout + run.stderr
    after = directory(scenario)
    assert [after[u]["revocations"] - before[u]["revocations"] for u in users] == [1, 1, 1, 1]
    assert [e["outcome"] for e in contained(run)["results"]] == ["contained"] * 4
    assert "Containment: contained 4." in task(run, "Say what was done (counts per outcome and the record's path)")["msg"]


# --- The record carries the proof (issue 27) ------------------------------------------------------------------------
PROVE = "Prove the containment from Entra ID's logs into the proof record"
# What the role's app needs besides its own roles to read the logs (the emulator's "evidence" app has these).
LOG_READER_ROLES = ["AuditLog.Read.All", "Directory.Read.All"]


def new_users(scenario, count):
    """Users of the test's own, so that no other test's sign-ins mix into the proof."""
    prefix = "pr" + uuid.uuid4().hex[:8]
    made = scenario.emulator.control("groups", {"display_name": "Proof " + prefix, "users": count, "nested": 0,
                                                "prefix": prefix})
    return [user["userPrincipalName"] for user in made["users"]]


def reports(scenario, **settings):
    return scenario.emulator.control("reports", settings)


class LogReadingApp:
    """The role's app, also allowed to read the logs for the time of a test (a fresh token: the cache is the test's)."""

    def __init__(self, scenario):
        self.scenario = scenario
        self.app = scenario.emulator["apps"]["containment"]

    def __enter__(self):
        self.scenario.emulator.control("apps", {"client_id": self.app["client_id"],
                                                "roles": self.app["roles"] + LOG_READER_ROLES})
        return self

    def __exit__(self, *exc):
        self.scenario.emulator.control("apps", {"client_id": self.app["client_id"], "roles": self.app["roles"]})
        reports(self.scenario, stop_clients=True)


def test_the_role_waits_for_the_logs_and_writes_the_proof_next_to_the_record(scenario):
    users = new_users(scenario, 2)
    record = os.path.join(scenario.work_dir, "INC-27.json")
    proof = os.path.join(scenario.work_dir, "INC-27.proof.json")
    # Entries appear 20 s after the event: the proof's first reading comes sooner, so only waiting shows the refusals.
    reports(scenario, latency_s={"audit": 20, "interactive": 20, "non_interactive": 20})
    old_token = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.0000000Z")
    before = directory(scenario)
    with LogReadingApp(scenario):
        variables = {"users": users, "incident_started_at": "", "report_path": record,
                     "contain_user_proof_path": proof, "contain_user_proof_wait_minutes": 1}
        command, environment, results_file = scenario.command("offboard_users.yml", variables,
                                                              env=containment_environment(scenario))
        process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=scenario.work_dir, start_new_session=True)
        try:
            # Once both users are blocked and revoked, the attacker's clients keep refreshing their old tokens (not
            # before: a success in the second of the revoke would be after the whole-second cut-off).
            wait_for(lambda: all(directory(scenario)[u]["revocations"] == before[u]["revocations"] + 1
                                 for u in users), 120, "the revokes")
            reports(scenario, clients=[{"user": user, "every_s": 2, "token_issued_at": old_token} for user in users])
            stdout, stderr = process.communicate(timeout=240)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate(timeout=30)
    run = PlaybookRun(subprocess.CompletedProcess([], process.returncode, stdout, stderr), results_file)
    assert run.rc == 0, run.stdout + run.stderr
    result = task(run, PROVE)
    assert result["verdicts"] == dict((user, "refused") for user in users), result["users"]
    assert result["readings"] >= 2 and result["pending_users"] == [] and result["waited_s"] < 60 + 15
    assert all(u["reason"] == "AADSTS50057" and u["audit"]["revoke_state"] == "found"
               and u["audit"]["block_state"] == "found" for u in result["users"])
    assert result["proof_path"] == proof

    with open(proof) as handle:
        document = json.load(handle)
    assert document["kind"] == "containment_proof" and document["record_path"] == record
    readings = document["readings"]
    assert [(r["run_id"], r["attempt"]) for r in readings] == [
        (result["run_id"], n) for n in range(1, result["readings"] + 1)]
    assert readings[0]["summary"]["no_activity_yet"] == 2 and readings[-1]["summary"]["refused"] == 2
    assert document["latest"]["verdicts"] == result["verdicts"]

    fact = task(run, "Keep the proof's summary as the host's fact")["ansible_facts"]["contain_user_proof"]
    assert fact == result["proof"] and fact["proof_path"] == proof
    artifact = task(run, "Publish the proof's summary as the job's artifact")
    assert artifact["ansible_stats"]["data"]["contain_user_proof"] == fact
    # The record was handed on as before.
    record_fact = task(run, "Keep the record as the host's fact")["ansible_facts"]["contain_user_record"]
    assert [u["user"] for u in record_fact["users"]] == users


def test_check_mode_writes_no_proof(scenario):
    users = new_users(scenario, 1)
    record = os.path.join(scenario.work_dir, "dry-run.json")
    proof = os.path.join(scenario.work_dir, "dry-run.proof.json")
    with LogReadingApp(scenario):
        run = offboard(scenario, users, now(), record, check=True, contain_user_proof_path=proof)
    assert run.rc == 0, run.stdout + run.stderr
    # Skipped by check mode alone: a proof path was given and the record was written (saying check_mode).
    assert task(run, PROVE)["false_condition"] == "not ansible_check_mode"
    assert not os.path.exists(proof)
    assert not [e for e in scenario.requests("graph") if "/auditLogs/" in e["path"]]
    with open(record) as handle:
        assert json.load(handle)["check_mode"] is True


def test_a_proof_that_cannot_be_written_does_not_fail_the_containment(scenario):
    users = new_users(scenario, 1)
    record = os.path.join(scenario.work_dir, "INC-28.json")
    notes = os.path.join(scenario.work_dir, "notes.json")
    with open(notes, "w") as handle:
        handle.write('{"mine": true}')
    with LogReadingApp(scenario):
        run = offboard(scenario, users, now(), record, contain_user_proof_path=notes)
    assert run.rc == 0, run.stdout + run.stderr
    assert directory(scenario)[users[0]]["accountEnabled"] is False
    assert contained(run)["results"][0]["outcome"] == "contained"
    failed = task(run, PROVE)
    assert "not a containment proof" in failed["msg"]
    fact = task(run, "Keep the proof's summary as the host's fact")["ansible_facts"]["contain_user_proof"]
    assert fact == {"proof_path": notes, "failed": True, "msg": failed["msg"]}
    assert task(run, "Publish the proof's summary as the job's artifact")["ansible_stats"]["data"][
        "contain_user_proof"] == fact
    with open(notes) as handle:
        assert json.load(handle) == {"mine": True}
    assert task(run, "Publish the record as the job's artifact")["ansible_stats"]["data"]["contain_user_report"]
