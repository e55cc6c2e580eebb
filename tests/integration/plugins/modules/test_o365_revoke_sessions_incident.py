# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_revoke_sessions for incidents, end to end: groups with exclude and max_users, revoked_since re-runs,
verify, the report file, check mode. Every scenario runs directly and through Prism."""

import csv
import datetime
import itertools
import json
import os
import stat

from ansible.release import __version__ as ANSIBLE_CORE_VERSION

# ansible-playbook runs from the same virtualenv as these tests (conftest.ANSIBLE_PLAYBOOK).
ANSIBLE_CORE = tuple(int(part) for part in ANSIBLE_CORE_VERSION.split(".")[:2])
FINANCE_ID = "02bd9fd6-8f93-4758-87c3-1fb73740a315"
REPORT_COLUMNS = ["user", "user_id", "user_principal_name", "group", "outcome", "changed", "all_sessions_revoked",
                  "status_code", "error_code", "error_message", "request_id", "skipped",
                  "sessions_valid_from_before", "sessions_valid_from", "verified", "time"]
_names = itertools.count(1)


def new_group(scenario, users, nested=2):
    """A fresh nested group of fresh users (never revoked, timestamps 2026-01-01), named for this test."""
    name = "Incident %s %d" % (scenario.route.name, next(_names))
    return scenario.emulator.control("groups", {"display_name": name, "users": users, "nested": nested})


def revocations(scenario, upns):
    counts = {u["userPrincipalName"]: u["revocations"] for u in scenario.emulator.control("users", method="GET")["users"]}
    return [counts[upn] for upn in upns]


def revoke_items(scenario):
    return [e for e in scenario.requests("batch_item") if e["method"] == "POST"]


def whole_second_now():
    """revoked_since as a runbook sets it: Graph's timestamps have whole seconds."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def upns_of(group):
    return [u["userPrincipalName"] for u in group["users"]]


def test_nested_group_of_2500_in_pages_of_999_with_three_excluded_and_the_max_users_guard(scenario):
    group = new_group(scenario, 2500, nested=3)
    members = upns_of(group)
    excluded = [members[10], group["users"][1200]["id"], members[2499].upper()]
    excluded_upns = [members[10], members[1200], members[2499]]

    refused = scenario.run("revoke_incident.yml", {"o365_groups": [group["display_name"]], "o365_exclude": excluded,
                                                   "o365_max_users": 2496})
    assert refused.rc != 0
    assert "2497 users would be acted on, more than max_users (2496)" in refused.result["msg"]
    assert refused.result["target_count"] == 2497 and revoke_items(scenario) == []

    scenario.log_offset = scenario.emulator.log_size()
    run = scenario.run("revoke_incident.yml", {"o365_groups": [group["display_name"]], "o365_exclude": excluded,
                                               "o365_max_users": 3000})
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    pages = [e for e in scenario.requests("graph") if e["path"].endswith("/transitiveMembers/microsoft.graph.user")]
    assert [e["status"] for e in pages] == [200, 200, 200]  # 999 + 999 + 502
    assert result["resolved_groups"] == [{"group": group["display_name"], "id": group["id"],
                                          "display_name": group["display_name"], "user_count": 2500}]
    assert len(result["results"]) == 2500 and sorted(e["user"] for e in result["results"]) == sorted(members)
    skipped = [e for e in result["results"] if e["outcome"] == "skipped"]
    assert sorted(e["user"] for e in skipped) == sorted(excluded_upns)
    assert all(e["skipped"] == "excluded" and e["changed"] is False for e in skipped)
    assert (result["revoked_count"], result["skipped_count"], result["failed_users"]) == (2497, 3, [])
    assert all(e["group"] == group["display_name"] and e["user_id"] for e in result["results"])
    sent = [e["path"] for e in revoke_items(scenario)]
    assert len(sent) == 2497 and len(set(sent)) == 2497
    counts = dict(zip(members, revocations(scenario, members)))
    assert [counts[upn] for upn in excluded_upns] == [0, 0, 0]
    assert sorted(set(count for upn, count in counts.items() if upn not in excluded_upns)) == [1]


def test_revoked_since_first_run_revokes_all_second_run_skips_all(scenario):
    group = new_group(scenario, 30)
    users = upns_of(group)
    since = whole_second_now()
    first = scenario.run("revoke_incident.yml", {"o365_users": users, "o365_revoked_since": since})
    assert first.rc == 0, first.stdout + first.stderr
    assert first.result["revoked_count"] == 30 and first.result["skipped_count"] == 0
    assert all(e["sessions_valid_from_before"] == "2026-01-01T00:00:00Z" for e in first.result["results"])
    assert len(revoke_items(scenario)) == 30

    scenario.log_offset = scenario.emulator.log_size()
    second = scenario.run("revoke_incident.yml", {"o365_users": users, "o365_revoked_since": since})
    assert second.rc == 0, second.stdout + second.stderr
    assert second.result["changed"] is False and second.result["all_sessions_revoked"] is True
    assert (second.result["revoked_count"], second.result["skipped_count"]) == (0, 30)
    assert all(e["outcome"] == "skipped" and e["skipped"].startswith("already revoked at 20")
               and e["changed"] is False for e in second.result["results"])
    assert revoke_items(scenario) == []
    assert revocations(scenario, users) == [1] * 30
    # The module says no top-level skipped; how the task is displayed is ansible-core's own reading of results[].
    assert "skipped" not in second.result
    shown = "skipping: [localhost]" if ANSIBLE_CORE < (2, 21) else "ok: [localhost]"
    assert shown in second.stdout


def test_a_run_after_a_partial_failure_revokes_only_the_rest(scenario):
    group = new_group(scenario, 12)
    users = upns_of(group)
    since = whole_second_now()
    scenario.faults(quota={"limit": 5, "window_s": 600})
    partial = scenario.run("revoke_incident.yml", {"o365_users": users, "o365_revoked_since": since,
                                                   "o365_max_retries": 0})
    assert partial.rc != 0
    assert partial.result["revoked_count"] == 5 and len(partial.result["failed_users"]) == 7
    revoked_first = [e["user"] for e in partial.result["results"] if e["outcome"] == "revoked"]

    scenario.faults(quota=None)
    scenario.log_offset = scenario.emulator.log_size()
    rerun = scenario.run("revoke_incident.yml", {"o365_users": users, "o365_revoked_since": since})
    assert rerun.rc == 0, rerun.stdout + rerun.stderr
    assert sorted(e["user"] for e in rerun.result["results"] if e["outcome"] == "skipped") == sorted(revoked_first)
    assert rerun.result["revoked_count"] == 7
    assert len(revoke_items(scenario)) == 7
    assert revocations(scenario, users) == [1] * 12


def test_verify_reads_the_timestamp_back(scenario):
    users = upns_of(new_group(scenario, 3))
    run = scenario.run("revoke_incident.yml", {"o365_users": users, "o365_verify": True})
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["verified_count"] == 3
    for entry in run.result["results"]:
        assert entry["verified"] is True and entry["sessions_valid_from"] > "2026-01-01T00:00:00Z"
    reads = [e for e in scenario.requests("batch_item") if e["method"] == "GET"]
    # Each user is read before the revoke (Graph's time and the value then) and once after it.
    assert len(reads) == 6 and all("signInSessionsValidFromDateTime" in e["path"] for e in reads)


def test_verify_fails_naming_the_user_whose_timestamp_did_not_move(scenario):
    users = upns_of(new_group(scenario, 3))
    scenario.faults(keep_sessions_valid_from=[users[1]])
    report = os.path.join(scenario.work_dir, "incident.json")
    run = scenario.run("revoke_incident.yml", {"o365_users": users, "o365_verify": True, "o365_report_path": report})
    assert run.rc != 0
    result = run.result
    assert "1 user(s) failed verification: %s:" % users[1] in result["msg"]
    assert "read back is 2026-01-01T00:00:00Z" in result["msg"]
    assert result["failed_users"] == [users[1]] and result["verified_count"] == 2
    failed = result["results"][1]
    assert (failed["verified"], failed["outcome"], failed["all_sessions_revoked"]) == (False, "failed", False)
    # The report is written on a failed run too, and holds results exactly.
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o600
    with open(report) as handle:
        document = json.load(handle)
    assert document["failed"] is True and document["msg"] == result["msg"]
    assert document["results"] == result["results"]
    assert document["summary"]["verified_count"] == 2 and result["report_path"] == report


def test_csv_report_has_one_row_per_result(scenario):
    group = new_group(scenario, 4)
    users = upns_of(group)[:2] + ["ghost@contoso.onmicrosoft.com"]
    report = os.path.join(scenario.work_dir, "incident.csv")
    run = scenario.run("revoke_incident.yml", {"o365_users": users, "o365_groups": [group["id"]],
                                               "o365_exclude": [upns_of(group)[3]], "o365_report_path": report})
    assert run.rc != 0 and run.result["failed_users"] == ["ghost@contoso.onmicrosoft.com"]
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o600
    with open(report, newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == REPORT_COLUMNS + ["run_id"]
        rows = list(reader)
    results = run.result["results"]
    assert [e["outcome"] for e in results] == ["revoked", "revoked", "failed", "revoked", "skipped"]
    assert len(rows) == len(results) == 5
    for row, entry in zip(rows, results):
        error = entry.get("error") or {}
        expected = dict(entry, error_code=error.get("code"), error_message=error.get("message"))
        for column in REPORT_COLUMNS:
            value = expected.get(column)
            text = "" if value is None else ("true" if value is True else "false" if value is False else str(value))
            assert row[column] == text, (column, row, entry)
    assert rows[2]["status_code"] == "404" and rows[2]["error_code"] == "Request_ResourceNotFound"
    assert rows[3]["group"] == group["id"] and rows[4]["skipped"] == "excluded"


def test_a_refused_run_still_leaves_its_report(scenario):
    report = os.path.join(scenario.work_dir, "refused.json")
    run = scenario.run("revoke_incident.yml", {"o365_groups": ["Contractors"], "o365_report_path": report})
    assert run.rc != 0 and "2 or more groups have the display name 'Contractors'" in run.result["msg"]
    with open(report) as handle:
        document = json.load(handle)
    assert document["failed"] is True and document["results"] == [] and "Contractors" in document["msg"]
    assert revoke_items(scenario) == []


def test_check_mode_reports_would_revoke_and_would_skip_and_writes_nothing(scenario):
    group = new_group(scenario, 4)
    users = upns_of(group)
    since = whole_second_now()
    first = scenario.run("revoke_incident.yml", {"o365_users": users[:2]})
    assert first.rc == 0, first.stdout + first.stderr

    scenario.log_offset = scenario.emulator.log_size()
    report = os.path.join(scenario.work_dir, "dry-run.json")
    run = scenario.run("revoke_incident.yml", {"o365_groups": [group["display_name"]], "o365_revoked_since": since,
                                               "o365_report_path": report}, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    outcomes = {e["user"]: e["outcome"] for e in run.result["results"]}
    assert outcomes == {users[0]: "skipped", users[1]: "skipped", users[2]: "would_revoke", users[3]: "would_revoke"}
    assert run.result["changed"] is True and run.result["skipped_count"] == 2
    direct_calls = [e for e in scenario.requests("graph") if e["path"] != "/v1.0/$batch"]
    assert revoke_items(scenario) == [] and all(e["method"] == "GET" for e in direct_calls)
    assert revocations(scenario, users) == [1, 1, 0, 0]
    with open(report) as handle:
        assert json.load(handle)["results"] == run.result["results"]


def test_groups_by_display_name_with_nesting_guests_and_users_merged(scenario):
    run = scenario.run("revoke_incident.yml", {"o365_users": ["alex.wilber@contoso.onmicrosoft.com"],
                                               "o365_groups": ["Finance"]})
    assert run.rc == 0, run.stdout + run.stderr
    results = run.result["results"]
    # alex.wilber was given and is also in the nested group: listed once, as given, without a group.
    assert [e["user"] for e in results][:1] == ["alex.wilber@contoso.onmicrosoft.com"] and "group" not in results[0]
    assert sum(e["user"].startswith("alex.wilber@") for e in results) == 1
    assert {e["group"] for e in results[1:]} == {"Finance"}
    assert "user0004@contoso.onmicrosoft.com" in [e["user"] for e in results]  # from the nested group
    assert run.result["resolved_groups"][0]["id"] == FINANCE_ID
    assert any("1 B2B guest" in w and "AdeleVance_adatum.com#EXT#" in w for w in run.warnings())


def test_hidden_membership_needs_member_read_hidden(scenario):
    app = scenario.emulator["apps"]["revoke-and-groups"]
    env = {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": app["client_id"],
           "AZURE_CLIENT_SECRET": app["client_secret"]}
    run = scenario.run("revoke_incident.yml", {"o365_groups": ["Board"]}, env=env)
    assert run.rc != 0 and "Member.Read.Hidden" in run.result["msg"] and run.result["status_code"] == 403
    assert revoke_items(scenario) == []


def test_one_user_with_revoked_since_and_verify(scenario):
    user = upns_of(new_group(scenario, 1))[0]
    since = whole_second_now()
    run = scenario.run("revoke_incident.yml", {"o365_user": user, "o365_revoked_since": since, "o365_verify": True})
    assert run.rc == 0, run.stdout + run.stderr
    assert (run.result["outcome"], run.result["verified"], run.result["changed"]) == ("revoked", True, True)
    again = scenario.run("revoke_incident.yml", {"o365_user": user, "o365_revoked_since": since})
    assert again.rc == 0 and again.result["changed"] is False
    assert again.result["outcome"] == "skipped" and again.result["msg"] == "%s was not revoked: already revoked at %s." % (
        user, run.result["sessions_valid_from"])
    assert "skipping" not in again.stdout


def test_bad_revoked_since_and_report_directory_fail_before_any_call(scenario):
    run = scenario.run("revoke_incident.yml", {"o365_users": ["adele.vance@contoso.onmicrosoft.com"],
                                               "o365_revoked_since": "yesterday"})
    assert run.rc != 0 and "revoked_since 'yesterday'" in run.result["msg"]
    run = scenario.run("revoke_incident.yml", {"o365_users": ["adele.vance@contoso.onmicrosoft.com"],
                                               "o365_report_path": "/nonexistent-dir/report.json"})
    assert run.rc != 0 and "does not exist" in run.result["msg"]
    assert scenario.requests() == []
