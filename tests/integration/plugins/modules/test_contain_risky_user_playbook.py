# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/contain_risky_user.yml run by hand (as the rulebook runs it, with the event as o365_risky_user):
real ansible-playbook against the emulator, direct and through Prism. tests/eda runs it from ansible-rulebook."""

import glob
import json
import os
import subprocess

from tests.graph_emulator.process import ROOT

PLAYBOOK = os.path.join(ROOT, "playbooks", "contain_risky_user.yml")
DOMAIN = "contoso.onmicrosoft.com"
FIRST, SECOND, GLASS = ["user%04d@%s" % (n, DOMAIN) for n in (117, 118, 119)]
CONTAIN = "Contain the user the event names, behind the brake"
ALERT = "Raise the brake's alert back to the rulebook (one per window)"


def environment(scenario):
    app = scenario.emulator["apps"]["risk-responder"]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": app["client_id"],
            "AZURE_CLIENT_SECRET": app["client_secret"]}


def user(scenario, upn):
    return dict((u["userPrincipalName"], u) for u in scenario.emulator.control("users", method="GET")["users"])[upn]


def event(scenario, upn):
    """The event the source would emit: the emulator's riskyUser record of the user."""
    record = dict((u["userPrincipalName"], u) for u in scenario.emulator.control("risk", method="GET")["users"])[upn]
    return dict((name, record[name]) for name in ("id", "userPrincipalName", "riskLevel", "riskState",
                                                  "riskLastUpdatedDateTime"))


def writes(scenario):
    return [e for e in scenario.requests() if e["kind"] in ("graph", "batch_item") and e["method"] in ("POST", "PATCH")]


def test_contain_confirm_once_per_window_exclusion_and_brake(scenario, tmp_path):
    emulator = scenario.emulator
    emulator.control("risk", {"clear": True, "rate_limit": {"limit": 1, "window_s": 1}})
    emulator.control("risk", {"users": dict((u, {"riskLevel": "high"}) for u in (FIRST, SECOND, GLASS))})
    emulator.control("user_state", {"users": dict((u, {"accountEnabled": True}) for u in (FIRST, SECOND, GLASS))})
    revocations = user(scenario, FIRST)["revocations"]  # the other route's run counts too
    confirmations = dict((u["userPrincipalName"], u) for u in emulator.control("risk", method="GET")["users"])
    state_dir = str(tmp_path / "eda")
    common = {"o365_eda_state_dir": state_dir, "o365_exclude": [GLASS.upper()], "o365_brake_max_users": 1,
              "o365_brake_window": "10 minutes", "o365_confirm_compromised": True}

    run = scenario.run(PLAYBOOK, dict(common, o365_risky_user=event(scenario, FIRST)), env=environment(scenario))
    assert run.rc == 0, run.stdout + run.stderr
    first = user(scenario, FIRST)
    assert first["accountEnabled"] is False and first["revocations"] == revocations + 1
    with open(contain_record(state_dir, first["id"])) as handle:
        report = json.load(handle)
    assert report["users"][0]["revoke_sessions"]["verified"] is True
    risk = dict((u["userPrincipalName"], u) for u in emulator.control("risk", method="GET")["users"])
    assert risk[FIRST]["riskState"] == "confirmedCompromised"
    assert risk[FIRST]["confirm_writes"] == confirmations.get(FIRST, {}).get("confirm_writes", 0) + 1
    sent = len(writes(scenario))

    # Again within the window: nothing is sent.
    again = scenario.run(PLAYBOOK, dict(common, o365_risky_user=event(scenario, FIRST)), env=environment(scenario))
    assert again.rc == 0 and len(writes(scenario)) == sent

    # An excluded account (given in another case and form): never written, and no slot of the brake.
    glass = scenario.run(PLAYBOOK, dict(common, o365_risky_user=event(scenario, GLASS)), env=environment(scenario))
    assert glass.rc == 0 and len(writes(scenario)) == sent, glass.stdout + glass.stderr
    assert glass.tasks[CONTAIN]["brake"]["decision"] == "excluded"

    # A second user within the window with o365_brake_max_users 1: held back, one alert, nothing sent.
    for dummy in range(2):
        held = scenario.run(PLAYBOOK, dict(common, o365_risky_user=event(scenario, SECOND)), env=environment(scenario))
        assert held.rc == 0, held.stdout + held.stderr
    assert len(writes(scenario)) == sent and user(scenario, SECOND)["accountEnabled"] is True
    with open(os.path.join(state_dir, "containment_alerts.jsonl")) as handle:
        alerts = [json.loads(line) for line in handle]
    assert len(alerts) == 1 and alerts[0]["held_back"] == user(scenario, SECOND)["id"]
    assert "skip_reason" in held.tasks[ALERT]  # raised once per window


WAVE = ["user%04d@%s" % (n, DOMAIN) for n in range(101, 107)]
GHOSTS = ["left.company%d@%s" % (n, DOMAIN) for n in (1, 2)]


def counters(scenario):
    """{UPN: (accountEnabled writes, revocations)}: what the emulator says was written to each user."""
    return dict((u["userPrincipalName"], (u["account_enabled_writes"], u["revocations"]))
                for u in scenario.emulator.control("users", method="GET")["users"])


def written(before, after, users):
    return [user for user in users if after[user] != before[user]]


def start_parallel(scenario, runs, env):
    """ansible-playbook runs started together, each with its own variables and results file."""
    processes = []
    for n, extra_vars in enumerate(runs):
        command, environment, results = scenario.command(PLAYBOOK, extra_vars, env)
        own_vars = os.path.join(scenario.work_dir, "vars-%d.json" % n)
        os.replace(command[-1][1:], own_vars)
        command[-1] = "@" + own_vars
        environment.update(O365_TEST_RESULTS=results + ".%d" % n,
                           ANSIBLE_LOCAL_TEMP=os.path.join(scenario.work_dir, "ansible-tmp-%d" % n))
        processes.append(subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True, cwd=scenario.work_dir))
    return [(process,) + process.communicate(timeout=600) for process in processes]


def test_six_overlapping_runs_with_a_brake_of_two_write_at_most_two_users(scenario, tmp_path):
    """Six runs at once (two rulebook instances, parallel jobs) sharing one state directory: the brake holds."""
    emulator = scenario.emulator
    emulator.control("risk", {"clear": True, "rate_limit": None})
    emulator.control("risk", {"users": dict((u, {"riskLevel": "high"}) for u in WAVE)})
    emulator.control("user_state", {"users": dict((u, {"accountEnabled": True}) for u in WAVE)})
    state_dir = str(tmp_path / "eda")
    common = {"o365_eda_state_dir": state_dir, "o365_brake_max_users": 2, "o365_brake_window": "10 minutes"}
    before = counters(scenario)
    finished = start_parallel(scenario, [dict(common, o365_risky_user=event(scenario, u)) for u in WAVE],
                              environment(scenario))
    assert all(process.returncode == 0 for process, output, dummy in finished), [o for p, o, d in finished]
    after = counters(scenario)
    assert len(written(before, after, WAVE)) == 2, written(before, after, WAVE)
    with open(os.path.join(state_dir, "containment_ledger.json")) as handle:
        entries = json.load(handle)["entries"]
    # The ledger counts all six: two containments, four held back by the brake; one alert for the window.
    assert sorted(entry["outcome"] for entry in entries) == ["contained"] * 2 + ["held_by_brake"] * 4
    with open(os.path.join(state_dir, "containment_alerts.jsonl")) as handle:
        assert len(handle.read().splitlines()) == 1


def test_deleted_risky_users_and_an_excluded_survey_string_take_no_slot_of_the_brake(scenario, tmp_path):
    emulator = scenario.emulator
    emulator.control("risk", {"clear": True, "rate_limit": None})
    emulator.control("risk", {"deleted": dict((u, {"riskLevel": "high"}) for u in GHOSTS),
                              "users": {FIRST: {"riskLevel": "high"}, GLASS: {"riskLevel": "high"}}})
    emulator.control("user_state", {"users": dict((u, {"accountEnabled": True}) for u in (FIRST, GLASS))})
    ghosts = [u for u in emulator.control("risk", method="GET")["users"] if u["isDeleted"]]
    assert sorted(u["userPrincipalName"] for u in ghosts) == GHOSTS
    # The break-glass account as one string, as an AWX survey text field gives it; a brake of 2.
    common = {"o365_eda_state_dir": str(tmp_path / "eda"), "o365_brake_max_users": 2,
              "o365_exclude": GLASS.upper()}
    before = counters(scenario)
    keys = ("id", "userPrincipalName", "riskLevel", "riskLastUpdatedDateTime", "isDeleted")
    runs = [dict(common, o365_risky_user=dict((k, g[k]) for k in keys)) for g in ghosts]
    runs += [dict(common, o365_risky_user=event(scenario, GLASS)), dict(common, o365_risky_user=event(scenario, GLASS)),
             dict(common, o365_risky_user=event(scenario, FIRST))]
    decisions = []
    for extra_vars in runs:
        run = scenario.run(PLAYBOOK, extra_vars, env=environment(scenario))
        assert run.rc == 0, run.stdout + run.stderr
        decisions.append(run.tasks[CONTAIN]["brake"]["decision"])
    assert decisions == ["deleted", "deleted", "excluded", "excluded", "contain"]
    after = counters(scenario)
    assert after[GLASS] == before[GLASS]  # the excluded account is never written
    assert after[FIRST][0] > before[FIRST][0] and after[FIRST][1] > before[FIRST][1]  # the real user is contained
    assert user(scenario, FIRST)["accountEnabled"] is False


def contain_record(state_dir, user_id):
    """The path of the newest containment record of ``user_id`` (each run writes its own: contain-<id>-<run>.json),
    or a path that does not exist yet."""
    paths = sorted(glob.glob(os.path.join(state_dir, "reports", "contain-%s-*.json" % user_id)), key=os.path.getmtime)
    return paths[-1] if paths else os.path.join(state_dir, "reports", "contain-%s-none.json" % user_id)
