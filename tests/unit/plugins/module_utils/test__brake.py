# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/module_utils/_brake.py and the containment's closing of its slot (_containment.close_slot): what the
brake decides from the targets and the first read, and how the slot ends."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.o365.admin.plugins.module_utils._brake import Brake, apply_event
from ansible_collections.o365.admin.plugins.module_utils._containment import close_slot
from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError, TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._ledger import Ledger

USER = "6e7b768e-07e2-4810-8459-485f84f8f204"
EVENT = {"id": USER.upper(), "userPrincipalName": "adele@contoso.com", "riskLastUpdatedDateTime": "2026-03-01T10:00:00Z"}


class Targets:
    """What the brake asks of a TargetSet: the users to write, and those that could not be compared."""

    def __init__(self, distinct=(), blocked=()):
        self._distinct, self._blocked = list(distinct), list(blocked)

    def distinct(self):
        return self._distinct

    def blocked(self):
        return self._blocked


class Refused:
    def __init__(self, status_code):
        self.refusal = {"status_code": status_code, "error": {"message": "refused with %s" % status_code}}


def brake(tmp_path, max_users=5, write=True, event=None):
    return Brake(Ledger(str(tmp_path / "eda")), dict(event or EVENT), USER, max_users, "10 minutes", "run-1", write)


def entries(tmp_path):
    with open(str(tmp_path / "eda" / "containment_ledger.json")) as handle:
        return json.load(handle)["entries"]


@pytest.mark.parametrize("targets, not_found, decision", [
    (Targets(), False, "excluded"),
    (Targets(blocked=[Refused(503)]), False, "refused"),
    (Targets(blocked=[Refused(404)]), False, "deleted"),
    (Targets(distinct=["adele"]), True, "deleted"),
    (Targets(distinct=["adele"]), False, "contain"),
])
def test_what_the_brake_decides_from_the_targets_and_the_first_read(tmp_path, targets, not_found, decision):
    decided = brake(tmp_path).judge(targets, not_found)
    assert decided.decision == decision and decided.contain is (decision == "contain")
    (entry,) = entries(tmp_path)
    # Only a user about to be written takes a slot.
    assert entry["slot"] is (decision == "contain") and entry["user_id"] == USER


def test_a_comparison_never_sent_decides_nothing_and_writes_no_ledger(tmp_path):
    decided = brake(tmp_path).judge(Targets(blocked=[Refused(None)]), False)
    assert decided.undecided and not decided.contain and decided.decision is None
    with pytest.raises(TaskFailed, match="nothing was decided") as raised:
        decided.not_contained("run-1")
    result = raised.value.result
    assert [(e["outcome"], e["user_id"]) for e in result["results"]] == [("failed", USER)]
    assert (result["failed_count"], result["held_count"], result["state"]) == (1, 0, "contained")
    assert not os.path.exists(str(tmp_path / "eda" / "containment_ledger.json"))


def test_without_a_ledger_a_404_is_left_to_the_containment():
    event_only = Brake.from_params({"brake": None, "event": dict(EVENT)}, "run-1")
    assert event_only.judge(Targets(distinct=["adele"]), True).contain


def test_an_interrupted_run_leaves_its_slot_started_for_the_next_event(tmp_path):
    taken = brake(tmp_path).reserve()
    message, failed = close_slot(taken, {}, "stopped", True, interrupted=True)
    assert (message, failed) == ("stopped", True)
    (entry,) = entries(tmp_path)
    assert entry["state"] == "started"
    # The next event for the user resumes it, and closes it.
    resumed = Brake(Ledger(str(tmp_path / "eda")), dict(EVENT), USER, 5, "10 minutes", "run-2").reserve()
    assert resumed.decision == "resume"
    result = {"record_path": "/records/r2.json"}
    assert close_slot(resumed, result, "Containment: contained 1.", False, False) == (
        "Containment: contained 1.", False)
    (entry,) = entries(tmp_path)
    assert (entry["state"], entry["outcome"], entry["report"]) == ("ended", "contained", "/records/r2.json")
    assert result["brake"]["closed"] is True and result["brake"]["decision"] == "resume"


def test_a_ledger_that_cannot_be_written_after_the_writes_fails_the_task_and_keeps_the_event_open(tmp_path):
    taken = brake(tmp_path).reserve()
    ledger_path = str(tmp_path / "eda" / "containment_ledger.json")
    os.rename(ledger_path, ledger_path + ".aside")
    os.mkdir(ledger_path)  # an OSError on the way, whoever runs the test (root writes anywhere)
    result = {}
    message, failed = close_slot(taken, result, "Containment: contained 1.", False, False)
    os.rmdir(ledger_path)
    os.rename(ledger_path + ".aside", ledger_path)
    assert failed and "could not be closed in the ledger" in message and "IsADirectoryError" in result["brake_error"]
    assert entries(tmp_path)[0]["state"] == "started"


def test_a_ledger_that_cannot_be_read_after_the_writes_fails_the_task(tmp_path):
    taken = brake(tmp_path).reserve()
    with open(str(tmp_path / "eda" / "containment_ledger.json"), "w") as handle:
        handle.write("[")
    result = {}
    message, failed = close_slot(taken, result, "Containment: contained 1.", False, False)
    assert failed and "the event stays unacknowledged" in result["brake_error"]


def test_check_mode_decides_from_the_ledger_and_writes_nothing(tmp_path):
    decided = brake(tmp_path, write=False).reserve()
    decided.finish("contained")
    assert decided.decision == "contain" and not os.path.exists(str(tmp_path / "eda" / "containment_ledger.json"))


def test_the_event_names_one_user_contained_since_the_risk_was_raised():
    params = {"event": dict(EVENT), "users": None, "max_users": None, "revoked_since": None}
    assert apply_event(params) == USER
    assert (params["users"], params["max_users"], params["revoked_since"]) == ([USER], 1, "2026-03-01T10:00:00Z")
    given = dict(params, revoked_since="-2h")
    apply_event(given)
    assert given["revoked_since"] == "-2h"
    assert apply_event({"event": None}) is None
    with pytest.raises(ConfigurationError, match="object ID"):
        apply_event({"event": {"id": "adele@contoso.com"}})


def test_the_brake_needs_an_event_and_a_window_it_can_read(tmp_path):
    with pytest.raises(ConfigurationError, match="brake needs event"):
        Brake.from_params({"brake": {"state_dir": str(tmp_path), "max_users": 5, "window": "1 hour"}, "event": None},
                          "run-1")
    with pytest.raises(ConfigurationError, match="window"):
        Brake.from_params({"brake": {"state_dir": str(tmp_path), "max_users": 5, "window": "soon"},
                           "event": dict(EVENT)}, "run-1")
    assert Brake.from_params({"brake": None, "event": None}, "run-1") is None
    without_ledger = Brake.from_params({"brake": None, "event": dict(EVENT)}, "run-1")
    assert without_ledger.ledger is None and without_ledger.reserve().contain
