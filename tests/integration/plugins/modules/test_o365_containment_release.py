# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 25 end to end: records that runs own (run ID, never replaced, locked, journal before the write) and the
release that asks Graph before it trusts a record (o365_containment state=released). Real ansible-playbook against
the emulator, judged by the emulator's own state and request log."""

import itertools
import json
import os
import signal
import time

from ansible_collections.o365.admin.plugins.module_utils._report import read_journal
from tests.integration.conftest import wait_for
from tests.integration.roles.test_contain_user import directory

DEFAULT_TIMESTAMP = "2026-01-01T00:00:00Z"  # the emulator's signInSessionsValidFromDateTime of a user never revoked
_names = itertools.count(1)


def app_env(scenario, app="risk-responder"):
    found = scenario.emulator["apps"][app]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": found["client_id"],
            "AZURE_CLIENT_SECRET": found["client_secret"]}


def new_users(scenario, count):
    name = "Release %s %d" % (scenario.route.name, next(_names))
    group = scenario.emulator.control("groups", {"display_name": name, "users": count, "nested": 1})
    return [u["userPrincipalName"] for u in group["users"]]


def contain(scenario, users, path, **extra):
    variables = {"users": users, "report_path": path, "incident": extra.pop("incident", "INC-1")}
    variables.update(extra)
    run = scenario.run("offboard_users.yml", variables, env=app_env(scenario))
    assert run.rc == 0, run.stdout + run.stderr
    return load(path)


def release(scenario, records, check=False, **variables):
    variables["records"] = records
    return scenario.run("release_module.yml", variables, env=variables.pop("env", None) or app_env(scenario),
                        check=check)


def load(path):
    with open(path) as handle:
        return json.load(handle)


def patches(scenario):
    return [e for e in scenario.requests() if e["kind"] in ("graph", "batch_item") and e["method"] == "PATCH"]


def outcomes(result):
    return dict((e["user_principal_name"] or e["user"], (e["outcome"], e["reason"])) for e in result["results"])


def test_an_older_record_after_a_newer_containment_releases_nobody(scenario):
    user = new_users(scenario, 1)[0]
    older = os.path.join(scenario.work_dir, "INC-1.json")
    contain(scenario, [user], older, incident="INC-1")
    released = release(scenario, [older])
    assert released.rc == 0 and outcomes(released.result)[user] == ("allowed", None), released.stdout
    time.sleep(1.2)  # Graph's timestamps have whole seconds: the newer incident's revoke is later
    newer = os.path.join(scenario.work_dir, "INC-2.json")
    contain(scenario, [user], newer, incident="INC-2")

    scenario.log_offset = scenario.emulator.log_size()
    again = release(scenario, [older])
    assert again.rc == 0, again.stdout
    outcome, reason = outcomes(again.result)[user]
    assert outcome == "skipped" and reason.startswith("blocked again since"), reason
    assert patches(scenario) == [] and directory(scenario)[user]["accountEnabled"] is False

    # The newer record is the one Graph still shows: it releases.
    both = release(scenario, [older, newer])
    assert both.rc == 0 and outcomes(both.result)[user] == ("allowed", None), both.stdout
    assert directory(scenario)[user]["accountEnabled"] is True


def test_an_edited_record_cannot_release_a_user_graph_shows_otherwise(scenario):
    user, leaver = new_users(scenario, 2)
    scenario.emulator.control("user_state", {"users": {leaver: {"accountEnabled": False}}})  # HR blocked the leaver
    path = os.path.join(scenario.work_dir, "record.json")
    record = contain(scenario, [user], path)
    entry = dict(record["users"][0], user=leaver, user_id=None, user_principal_name=leaver)
    forged_with_the_runs_timestamp = dict(entry)
    forged_with_graphs_default = dict(entry, user=leaver.upper(), user_principal_name=leaver.upper(),
                                      sessions_valid_from_after=None)
    record["users"] += [forged_with_the_runs_timestamp, forged_with_graphs_default]
    with open(path, "w") as handle:
        json.dump(record, handle)

    scenario.log_offset = scenario.emulator.log_size()
    run = release(scenario, [path])
    assert run.rc == 0, run.stdout + run.stderr
    outcome, reason = outcomes(run.result)[leaver]
    assert outcome == "skipped" and "does not match the record" in reason, reason
    assert outcomes(run.result)[user] == ("allowed", None)
    state = directory(scenario)
    assert state[leaver]["accountEnabled"] is False and state[user]["accountEnabled"] is True
    assert [e["path"].split("/")[-1].lower() for e in patches(scenario)] == [state[user]["id"].lower()]


def test_a_record_of_another_tenant_fails_naming_it_and_a_domain_is_its_tenant_id(scenario):
    user = new_users(scenario, 1)[0]
    path = os.path.join(scenario.work_dir, "record.json")
    record = contain(scenario, [user], path)
    assert record["users"][0]["tenant"] == scenario.emulator["tenant_id"]
    foreign = os.path.join(scenario.work_dir, "foreign.json")
    with open(foreign, "w") as handle:
        json.dump(dict(record, users=[dict(u, tenant="fabrikam.onmicrosoft.com") for u in record["users"]]), handle)
    scenario.log_offset = scenario.emulator.log_size()
    run = release(scenario, [foreign])
    assert run.rc != 0
    assert "hold no user of the tenant" in run.result["msg"] and "fabrikam.onmicrosoft.com" in run.result["msg"]
    assert patches(scenario) == []

    # The same tenant named by its domain in the record, by its ID in the credential: one tenant.
    by_domain = os.path.join(scenario.work_dir, "by_domain.json")
    with open(by_domain, "w") as handle:
        json.dump(dict(record, users=[dict(u, tenant="contoso.onmicrosoft.com") for u in record["users"]]), handle)
    run = release(scenario, [by_domain])
    assert run.rc == 0 and outcomes(run.result)[user] == ("allowed", None), run.stdout + run.stderr


def test_release_dismisses_risk_when_asked_and_says_when_access_returns(scenario):
    user = new_users(scenario, 1)[0]
    scenario.emulator.control("risk", {"clear": True, "licensed": True, "rate_limit": {"limit": 1, "window_s": 1}})
    scenario.emulator.control("risk", {"users": {user: {"riskLevel": "high"}}})
    path = os.path.join(scenario.work_dir, "record.json")
    contain(scenario, [user], path)
    report = os.path.join(scenario.work_dir, "release.json")
    run = release(scenario, [path], dismiss_risk=True, report_path=report)
    assert run.rc == 0, run.stdout + run.stderr
    entry = run.result["results"][0]
    assert (entry["outcome"], entry["risk_state_before"], entry["risk_outcome"]) == ("allowed", "atRisk", "dismissed")
    assert entry["access_returns_by"] > entry["allowed_at"]
    risky = dict((u["userPrincipalName"], u) for u in scenario.emulator.control("risk", method="GET")["users"])
    assert risky[user]["riskState"] == "dismissed"
    written = load(report)
    assert (written["allowed_count"], written["skipped_count"], written["dismissed_count"]) == (1, 0, 1)
    assert written["records"] == [path] and written["run_id"] == run.result["run_id"]


def test_a_rerun_and_a_check_run_never_replace_a_record(scenario):
    users = new_users(scenario, 2)
    path = os.path.join(scenario.work_dir, "record.json")
    contain(scenario, users, path)
    report = "release.json"  # relative: where ansible-playbook runs (the scenario's directory)
    first = release(scenario, [path], report_path=report)
    assert first.rc == 0, first.stdout + first.stderr
    written = os.path.join(scenario.work_dir, report)
    kept = load(written)
    assert kept["run_id"] == first.result["run_id"] and kept["allowed_count"] == 2

    for check in (False, True):
        again = release(scenario, [path], check=check, report_path=report)
        assert again.rc != 0 and "Nothing was sent" in again.result["msg"], again.stdout
        assert load(written) == kept  # the first run's record, untouched
    # A run of its own file: {run_id} in the path.
    third = release(scenario, [path], report_path="release-{run_id}.json")
    assert third.rc == 0
    assert load(os.path.join(scenario.work_dir, "release-%s.json" % third.result["run_id"]))["skipped_count"] == 2
    assert load(written) == kept


def parent_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            text = handle.read()
        return int(text[text.rindex(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def module_processes(playbook_pid):
    """PIDs of the o365_revoke_sessions module processes descending from ``playbook_pid`` (Linux /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as handle:
                line = handle.read()
        except OSError:
            continue
        if b"AnsiballZ_o365_revoke_sessions" not in line:
            continue
        pid = int(name)
        while pid not in (None, 0, 1, playbook_pid):
            pid = parent_of(pid)
        if pid == playbook_pid:
            found.append(int(name))
    return found


def journal_lines(path):
    try:
        with open(path) as handle:
            return [json.loads(line) for line in handle.read().splitlines() if line.strip().endswith("}")]
    except (OSError, ValueError):
        return []


def revoke_variables(scenario, users, path):
    return {"o365_users": users, "o365_report_path": path, "o365_batch_concurrency": 2}


def test_overlapping_runs_keep_every_runs_record(scenario):
    users = new_users(scenario, 60)
    path = os.path.join(scenario.work_dir, "incident.json")
    # The first run's second revoke call takes 8 s: the second run starts while the first is writing.
    scenario.faults(latency_ms=200, slow_every={"nth": 2, "extra_ms": 8000, "path": "/$batch"})
    process, dummy = scenario.start("revoke_incident.yml", revoke_variables(scenario, users, path))
    try:
        wait_for(lambda: [line for line in journal_lines(path) if "sending" in line], 60, "the first run's writes")
        second = scenario.run("revoke_incident.yml", revoke_variables(scenario, users[:5], path))
        assert second.rc != 0 and "being written by another run" in second.result["msg"], second.stdout
        process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0
    report = load(path)
    assert sorted(e["user"] for e in report["results"]) == sorted(users)
    assert report["run_id"] and all(e["outcome"] == "revoked" for e in report["results"])


def test_kill_9_mid_run_leaves_every_possibly_written_user_in_the_journal(scenario):
    users = new_users(scenario, 100)
    path = os.path.join(scenario.work_dir, "incident.json")
    # Every third $batch call hangs 4 s: when the module dies, calls Graph goes on to carry out are in flight.
    scenario.faults(latency_ms=200, slow_every={"nth": 3, "extra_ms": 4000, "path": "/$batch"})
    process, dummy = scenario.start("revoke_incident.yml", revoke_variables(scenario, users, path))
    try:
        wait_for(lambda: len([line for line in journal_lines(path) if "sending" in line]) >= 3, 60,
                 "three revoke calls sent")
        for pid in wait_for(lambda: module_processes(process.pid), 10, "the module process"):
            os.kill(pid, signal.SIGKILL)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    time.sleep(5)  # the calls in flight reach Graph and are carried out, as Graph would
    revoked = set(upn for upn, u in directory(scenario).items()
                  if upn in users and u["signInSessionsValidFromDateTime"] != DEFAULT_TIMESTAMP)
    assert revoked, "the run was killed before any revoke reached Graph"
    journal = read_journal(path)
    assert journal["head"]["run_id"]
    outcome = dict((e["user"], e["outcome"]) for e in journal["results"])
    missing = sorted(u for u in revoked if u not in outcome)
    assert missing == [], "revoked by Graph but not in the journal: %s" % missing
    assert all(outcome[u] in ("revoked", "unknown") for u in revoked)
    # The case the journal-before-write exists for: revoked by Graph, its answer never seen by the killed module.
    assert any(outcome[u] == "unknown" for u in revoked), outcome
    assert len(revoked) < len(users)  # killed mid-run: not everyone was written

    # The killed run's journal is its only record: the next run refuses the path.
    again = scenario.run("revoke_incident.yml", revoke_variables(scenario, users[:1], path))
    assert again.rc != 0 and "journal of a run that did not finish" in again.result["msg"]
