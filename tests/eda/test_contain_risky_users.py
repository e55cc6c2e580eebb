# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rulebook end to end with the real engine: ansible-rulebook (build/eda-venv, `make eda`) runs
extensions/eda/rulebooks/contain_risky_users.yml against the emulator; the event source, the playbook, the
contain_user role, msal and requests are all real. Assertions come from the emulator's own record."""

import glob
import json
import os
import time

import pytest

from tests.eda.rulebook import ANSIBLE_RULEBOOK, Rulebook
from tests.graph_emulator.process import RunningEmulator

DOMAIN = "contoso.onmicrosoft.com"
ALEX = "alex.wilber@" + DOMAIN
BREAK_GLASS = "it.admin@" + DOMAIN  # the demo tenant's Global Administrator stands in for a break-glass account
WAVE = ["user%04d@%s" % (n, DOMAIN) for n in range(1, 7)]
POLL_S = 1

VARIABLES = {"o365_interval": POLL_S, "o365_exclude": [BREAK_GLASS.upper()]}

pytestmark = pytest.mark.skipif(not os.path.exists(ANSIBLE_RULEBOOK),
                                reason="ansible-rulebook is not installed: run `make eda`")


@pytest.fixture(scope="module")
def emulator():
    with RunningEmulator("--extra-users", "10") as running:
        yield running


def directory(emulator):
    return dict((u["userPrincipalName"], u) for u in emulator.control("users", method="GET")["users"])


def contained(user):
    return user["accountEnabled"] is False and user["revocations"] >= 1


def wait_for(condition, rulebook, timeout_s=90):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        assert rulebook.process.poll() is None, "ansible-rulebook stopped:\n" + rulebook.log()
        time.sleep(0.5)
    pytest.fail("timed out; ansible-rulebook said:\n" + rulebook.log()[-6000:])


def graph_calls_for(emulator, offset, user):
    ids = {user["id"].lower(), user["userPrincipalName"].lower()}
    return [e for e in emulator.log_since(offset) if e["kind"] in ("graph", "batch_item")
            and any(i in e["path"].lower() for i in ids)]


def test_contain_exclude_restart_and_brake(emulator, tmp_path):
    work_dir = str(tmp_path)
    first_state = os.path.join(work_dir, "eda-first")
    emulator.control("risk", {"users": {ALEX: {"riskLevel": "high"}, BREAK_GLASS: {"riskLevel": "high"}}})
    rulebook = Rulebook(emulator, work_dir, "first", first_state, VARIABLES)
    try:
        wait_for(lambda: contained(directory(emulator)[ALEX]), rulebook)
        alex = directory(emulator)[ALEX]
        # Closed in the ledger once the record is written (until then the file is the run's journal).
        wait_for(lambda: ledger_outcome(first_state, alex["id"]) == "contained", rulebook)
        report_path = contain_record(first_state, alex["id"])
        with open(report_path) as handle:
            report = json.load(handle)
        entry = report["users"][0]
        assert entry["user_id"] == alex["id"]
        assert entry["block_sign_in"]["outcome"] == "blocked"
        assert entry["revoke_sessions"]["outcome"] == "revoked" and entry["revoke_sessions"]["verified"] is True
        assert report["steps"]["revoke_sessions"]["verified_count"] == 1
        # Two more polls: the break-glass account, at risk all along, is never touched.
        time.sleep(3 * POLL_S + 2)
        glass = directory(emulator)[BREAK_GLASS]
        assert (glass["accountEnabled"], glass["revocations"], glass["account_enabled_writes"]) == (True, 0, 0)
    finally:
        rulebook.stop()

    # A restart with the same state file emits nothing again: no Graph call about Alex at all.
    offset = emulator.log_size()
    restarted = Rulebook(emulator, work_dir, "restart", first_state, VARIABLES)
    try:
        time.sleep(6 * POLL_S + 4)
        assert restarted.process.poll() is None, restarted.log()
        polls = [e for e in emulator.log_since(offset) if e["path"] == "/v1.0/identityProtection/riskyUsers"]
        assert len(polls) >= 3, "the restarted source did not poll:\n" + restarted.log()
        assert graph_calls_for(emulator, offset, directory(emulator)[ALEX]) == []
    finally:
        restarted.stop()

    # Six users turn risky within the window: five are contained, the sixth trips the brake, one alert.
    brake_state = os.path.join(work_dir, "eda-brake")
    for user in WAVE:
        emulator.control("user_state", {"users": {user: {"accountEnabled": True}}})
    emulator.control("risk", {"users": dict((user, {"riskLevel": "high"}) for user in WAVE)})
    braked = Rulebook(emulator, work_dir, "brake", brake_state, VARIABLES)
    alerts_path = os.path.join(brake_state, "containment_alerts.jsonl")
    try:
        wait_for(lambda: os.path.exists(alerts_path) and "O365 CONTAINMENT BRAKE" in braked.log(), braked, 150)
        time.sleep(3 * POLL_S + 2)
        users = directory(emulator)
        done = [user for user in WAVE if contained(users[user])]
        untouched = [user for user in WAVE if users[user]["account_enabled_writes"] == 0
                     and users[user]["revocations"] == 0]
        assert len(done) == 5 and len(untouched) == 1, (done, untouched)
        with open(alerts_path) as handle:
            alerts = [json.loads(line) for line in handle if line.strip()]
        assert len(alerts) == 1 and alerts[0]["held_back"] == users[untouched[0]]["id"]
        assert braked.log().count("O365 CONTAINMENT BRAKE") == 1
    finally:
        braked.stop()


def test_a_containment_stopped_between_the_block_and_the_revoke_is_finished_after_a_restart(emulator, tmp_path):
    """At least once: the activation dies after the block, before the revoke reaches Graph; restarted on the same
    state, the source emits the user again and the run ends with the user revoked and verified."""
    work_dir = str(tmp_path)
    state_dir = os.path.join(work_dir, "eda-cut")
    victim = "user%04d@%s" % (9, DOMAIN)
    emulator.control("risk", {"clear": True})  # only this user at risk: nothing else in the way
    emulator.control("user_state", {"users": {victim: {"accountEnabled": True}}})
    user = directory(emulator)[victim]
    revocations = user["revocations"]
    # Hold the revoke in the emulator (o365_containment sends one user's revoke as a request of its own, after the
    # block's): its answer never comes before the kill, and the reset below drops it unsent.
    emulator.control("faults", {"slow_every": {"nth": 1, "extra_ms": 600000,
                                               "path": "/users/%s/revokeSignInSessions" % user["id"]}})
    emulator.control("risk", {"users": {victim: {"riskLevel": "high"}}})
    first = Rulebook(emulator, work_dir, "cut", state_dir, VARIABLES)
    try:
        wait_for(lambda: directory(emulator)[victim]["accountEnabled"] is False, first)
        time.sleep(3)  # the revoke is on its way and held
    finally:
        first.kill()
    emulator.control("reset")  # the held revoke is dropped: Graph never carried it out
    cut = directory(emulator)[victim]
    assert cut["accountEnabled"] is False and cut["revocations"] == revocations, "not cut between block and revoke"

    restarted = Rulebook(emulator, work_dir, "resumed", state_dir, VARIABLES)
    try:
        wait_for(lambda: directory(emulator)[victim]["revocations"] > revocations, restarted)
        wait_for(lambda: ledger_outcome(state_dir, user["id"]) == "contained", restarted)
    finally:
        restarted.stop()
    # The run cut short keeps its journal; the resumed run wrote a record of its own beside it.
    report_path = contain_record(state_dir, user["id"])
    with open(report_path) as handle:
        entry = json.load(handle)["users"][0]
    assert entry["revoke_sessions"]["outcome"] == "revoked" and entry["revoke_sessions"]["verified"] is True
    assert directory(emulator)[victim]["revocations"] == revocations + 1
    assert "cut short by a stop are emitted again" in restarted.log()


def ledger_outcome(state_dir, user_id):
    path = os.path.join(state_dir, "containment_ledger.json")
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        entries = [e for e in json.load(handle)["entries"] if e["user_id"] == user_id.lower() and e["slot"]]
    return entries[-1]["outcome"] if entries else None


def acknowledged(work_dir, users):
    """Whether the source of the rulebook in ``work_dir`` emitted every one of ``users`` and acknowledged it."""
    path = os.path.join(work_dir, "source_state.json")
    if not os.path.exists(path):
        return False
    with open(path) as handle:
        state = json.load(handle)
    return len(state["emitted"]) >= len(users) and not state["pending"]


def test_two_rulebook_instances_sharing_a_state_directory_share_one_brake(emulator, tmp_path):
    """Two activations of the rulebook on one state directory, six users turning risky at once, a brake of 2:
    whichever instance runs which playbook, two users are written, one alert is raised, every event is
    acknowledged."""
    state_dir = os.path.join(str(tmp_path), "shared-state")
    emulator.control("risk", {"clear": True})
    emulator.control("user_state", {"users": dict((user, {"accountEnabled": True}) for user in WAVE)})
    before = directory(emulator)
    emulator.control("risk", {"users": dict((user, {"riskLevel": "high"}) for user in WAVE)})
    # Identity Protection takes one request a second per tenant, for all apps: two sources polling every second
    # would starve one of them. Every 3 s each, both fit (and throttled polls back off apart, with jitter).
    variables = dict(VARIABLES, o365_brake_max_users=2, o365_interval=3)
    work_dirs = [os.path.join(str(tmp_path), name) for name in ("one", "two")]
    instances = []
    try:
        for name, work_dir in zip(("one", "two"), work_dirs):
            os.makedirs(work_dir)
            instances.append(Rulebook(emulator, work_dir, name, state_dir, variables))
        for instance, work_dir in zip(instances, work_dirs):
            wait_for(lambda: acknowledged(work_dir, WAVE), instance, 300)
    finally:
        for instance in instances:
            instance.stop()
    after = directory(emulator)
    written = [user for user in WAVE if (after[user]["account_enabled_writes"], after[user]["revocations"])
               != (before[user]["account_enabled_writes"], before[user]["revocations"])]
    assert len(written) == 2, written
    with open(os.path.join(state_dir, "containment_alerts.jsonl")) as handle:
        assert len(handle.read().splitlines()) == 1
    assert sum(instance.log().count("O365 CONTAINMENT BRAKE") for instance in instances) == 1


def contain_record(state_dir, user_id):
    """The path of the newest containment record of ``user_id`` (each run writes its own: contain-<id>-<run>.json),
    or a path that does not exist yet."""
    paths = sorted(glob.glob(os.path.join(state_dir, "reports", "contain-%s-*.json" % user_id)), key=os.path.getmtime)
    return paths[-1] if paths else os.path.join(state_dir, "reports", "contain-%s-none.json" % user_id)
