# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_containment_ledger against the mocked directory: who takes a slot of the brake, and closing it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.o365.admin.plugins.modules import o365_containment_ledger
from tests.unit.plugins.modules.graph_options import graph_options

ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
ALEX_ID = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
GONE_ID = "0a0b0c0d-0000-4000-8000-00000000dead"


@pytest.fixture
def people(directory):
    directory.add("adele@contoso.com", ADELE_ID)
    directory.add("alex@contoso.com", ALEX_ID)
    return directory


def reserve(run_module, state_dir, user_id, check_mode=False, **options):
    event = dict({"id": user_id, "riskLastUpdatedDateTime": "2026-11-29T10:00:00Z"}, **options.pop("event", {}))
    return run_module(o365_containment_ledger.main, graph_options(
        step="reserve", state_dir=state_dir, event=event, max_users=1, **options), check_mode=check_mode)


@pytest.mark.parametrize("exclude", [
    "ADELE@contoso.com",                        # one account as a string (an AWX survey field), the other form
    "alex@contoso.com,\nadele@contoso.com",     # text with commas and newlines
    ["alex@contoso.com", "adele@contoso.com"],  # a YAML list
    [ADELE_ID.upper()],
])
def test_an_excluded_user_takes_no_slot_in_any_form_of_the_list(run_module, people, tmp_path, exclude):
    failed, result = reserve(run_module, str(tmp_path), ADELE_ID, exclude=exclude)
    assert not failed and (result["decision"], result["contain"]) == ("excluded", False), result
    # The exclusion took no slot of the brake (max_users 1): the next user is contained.
    assert reserve(run_module, str(tmp_path), ALEX_ID)[1]["decision"] == "contain"


def test_deleted_users_take_no_slot_so_the_next_real_user_is_contained(run_module, people, tmp_path):
    state_dir = str(tmp_path)
    assert reserve(run_module, state_dir, GONE_ID)[1]["decision"] == "deleted"  # the directory says 404
    assert reserve(run_module, state_dir, ALEX_ID, event={"isDeleted": True})[1]["decision"] == "deleted"
    failed, result = reserve(run_module, state_dir, ADELE_ID)
    assert (result["decision"], result["contain"]) == ("contain", True)
    assert result["exclude"] == [] and result["run"]


def test_the_brake_holds_the_next_user_with_one_alert_then_finish_closes(run_module, people, tmp_path):
    state_dir = str(tmp_path)
    first = reserve(run_module, state_dir, ADELE_ID)[1]
    held = reserve(run_module, state_dir, ALEX_ID)[1]
    assert (held["decision"], held["alert"], held["contained_in_window"]) == ("held", True, [ADELE_ID])
    assert "Blast-radius brake" in held["alert_message"]
    assert reserve(run_module, state_dir, ALEX_ID)[1]["alert"] is False
    failed, closed = run_module(o365_containment_ledger.main, graph_options(
        step="finish", state_dir=state_dir, event={"id": ADELE_ID}, run=first["run"], outcome="contained"))
    assert not failed and (closed["decision"], closed["changed"]) == ("finished", True)
    failed, again = run_module(o365_containment_ledger.main, graph_options(
        step="finish", state_dir=state_dir, event={"id": ADELE_ID}, run=first["run"], outcome="contained"))
    assert (again["decision"], again["changed"]) == ("closed", False)
    # A finish that does not name the run that reserved is refused, not a quiet "closed".
    failed, nameless = run_module(o365_containment_ledger.main, graph_options(
        step="finish", state_dir=state_dir, event={"id": ADELE_ID}, outcome="contained"))
    assert failed and "step is finish but all of the following are missing: run" in nameless["msg"]
    with open(os.path.join(state_dir, "containment_alerts.jsonl")) as handle:
        assert [json.loads(line)["held_back"] for line in handle] == [ALEX_ID]


def test_check_mode_writes_no_ledger(run_module, people, tmp_path):
    failed, result = reserve(run_module, str(tmp_path), ADELE_ID, check_mode=True)
    assert result["decision"] == "contain" and result["changed"] is False
    assert not os.path.exists(os.path.join(str(tmp_path), "containment_ledger.json"))


@pytest.mark.parametrize("event", [{"id": "adele@contoso.com"}, {"userPrincipalName": "adele@contoso.com"}])
def test_an_event_without_an_object_id_changes_nothing(run_module, people, tmp_path, event):
    failed, result = run_module(o365_containment_ledger.main, graph_options(
        step="reserve", state_dir=str(tmp_path), event=event))
    assert failed and "object ID" in result["msg"]
    assert not os.path.exists(os.path.join(str(tmp_path), "containment_ledger.json"))
