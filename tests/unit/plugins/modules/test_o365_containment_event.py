# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_containment with event and brake (automatic containment in one task) against a mocked Graph: the brake
decides between the read and the first write, and the slot is closed with the outcome."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.o365.admin.plugins.modules.o365_containment import main
from tests.unit.plugins.modules.test_o365_containment import (  # noqa: F401  pylint: disable=unused-import
    ADELE_ID, ALEX_ID, MEGAN_ID, contained, tenant)

RISK_RAISED = "2026-03-01T10:00:00Z"
GHOST_ID = "0b1e2f3a-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


class StoppedAlready:
    """An interruption already set: the Sender sends nothing."""
    reason = "SIGTERM"

    @staticmethod
    def is_set():
        return True


def event(user_id, upn=None, **more):
    return dict({"id": user_id, "userPrincipalName": upn, "riskLevel": "high",
                 "riskLastUpdatedDateTime": RISK_RAISED}, **more)


def options(tmp_path, user_id, upn=None, max_users=5, **more):
    return contained(event=event(user_id, upn), brake={"state_dir": str(tmp_path / "eda"), "max_users": max_users,
                                                       "window": "10 minutes"}, **more)


def ledger(tmp_path):
    with open(str(tmp_path / "eda" / "containment_ledger.json")) as handle:
        return json.load(handle)["entries"]


def test_the_events_user_is_contained_and_its_slot_closed_with_the_record(run_module, tenant, tmp_path):
    record = str(tmp_path / "contain-{run_id}.json")
    failed, result = run_module(main, options(tmp_path, ADELE_ID.upper(), "adele@contoso.com", report_path=record))
    assert not failed, result
    assert tenant.writes == [("block", ADELE_ID), ("revoke", ADELE_ID)]
    assert result["contained_count"] == 1 and result["revoked_since"] == RISK_RAISED
    brake = result["brake"]
    assert (brake["decision"], brake["contain"], brake["closed"], brake["alert"]) == ("contain", True, True, False)
    assert brake["run"].endswith("/" + result["run_id"])
    (entry,) = ledger(tmp_path)
    assert (entry["state"], entry["outcome"], entry["slot"]) == ("ended", "contained", True)
    assert entry["user_id"] == ADELE_ID
    assert entry["report"] == result["record_path"] and os.path.exists(entry["report"])
    assert entry["risk_updated"] == RISK_RAISED and entry["runs"] == [brake["run"]]


def test_the_same_user_within_the_window_is_not_written_again_and_gets_no_record(run_module, tenant, tmp_path):
    assert not run_module(main, options(tmp_path, ADELE_ID))[0]
    written, calls = len(tenant.writes), len(tenant.calls)
    record = str(tmp_path / "again.json")
    failed, result = run_module(main, options(tmp_path, ADELE_ID, report_path=record))
    assert not failed, result
    assert len(tenant.writes) == written and result["changed"] is False
    assert [(e["user_id"], e["outcome"]) for e in result["results"]] == [(ADELE_ID, "already_contained")]
    assert result["already_contained_count"] == 1
    assert result["brake"]["decision"] == "recent" and not os.path.exists(record)
    assert "within the brake's window (10 minutes)" in result["msg"]
    # The read (the brake needs the 404 answer before it counts) and nothing more.
    assert len(tenant.calls) - calls == 1


def test_the_brake_holds_the_user_after_max_users_and_raises_one_alert_a_window(run_module, tenant, tmp_path):
    assert not run_module(main, options(tmp_path, ADELE_ID, max_users=1))[0]
    written = len(tenant.writes)
    held = [run_module(main, options(tmp_path, user_id, max_users=1))[1] for user_id in (MEGAN_ID, ALEX_ID)]
    assert len(tenant.writes) == written
    assert [r["brake"]["decision"] for r in held] == ["held", "held"]
    assert [(r["results"][0]["outcome"], r["held_count"]) for r in held] == [("held", 1)] * 2
    assert [r["brake"]["alert"] for r in held] == [True, False]
    assert held[0]["brake"]["contained_in_window"] == [ADELE_ID]
    assert "NOT contained automatically" in held[0]["brake"]["alert_message"]
    with open(str(tmp_path / "eda" / "containment_alerts.jsonl")) as handle:
        alerts = [json.loads(line) for line in handle]
    assert [a["held_back"] for a in alerts] == [MEGAN_ID]
    assert sorted(e["outcome"] for e in ledger(tmp_path)) == ["contained", "held_by_brake", "held_by_brake"]


def test_an_excluded_user_named_in_the_other_form_takes_no_slot_and_is_never_written(run_module, tenant, tmp_path):
    failed, result = run_module(main, options(tmp_path, MEGAN_ID, max_users=1, exclude=["MEGAN@contoso.com"]))
    assert not failed, result
    assert result["brake"]["decision"] == "excluded" and tenant.writes == []
    assert result["results"][0]["outcome"] == "excluded" and result["excluded_count"] == 1
    (entry,) = ledger(tmp_path)
    assert (entry["slot"], entry["outcome"]) == (False, "excluded")
    # The brake's one slot is still free.
    assert run_module(main, options(tmp_path, ADELE_ID, max_users=1))[1]["brake"]["decision"] == "contain"


def test_a_user_that_cannot_be_told_apart_from_an_exclude_entry_is_refused(run_module, tenant, tmp_path):
    # Whichever form is read to compare them (the user's ID or the entry's UPN), Graph does not answer.
    tenant.read_status["megan@contoso.com"] = tenant.read_status[ADELE_ID] = (503, "serviceNotAvailable")
    failed, result = run_module(main, options(tmp_path, ADELE_ID, exclude=["megan@contoso.com"], max_retries=0))
    # Not written, and the task fails: "could not tell" is never "go", nor a quiet success.
    assert failed and "serviceNotAvailable" in result["msg"]
    assert result["brake"]["decision"] == "refused" and tenant.writes == []
    assert result["results"][0]["outcome"] == "failed" and result["failed_count"] == 1
    (entry,) = ledger(tmp_path)
    assert (entry["slot"], entry["outcome"]) == (False, "refused")


def test_a_comparison_never_sent_decides_nothing_and_leaves_the_event_unacknowledged(
        run_module, tenant, tmp_path, monkeypatch):
    # The run is stopped (or has no token) before the read that compares the user with exclude leaves.
    from ansible_collections.o365.admin.plugins.module_utils import _graph_requests
    real_init = _graph_requests.Sender.__init__

    def stopped(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.stop = StoppedAlready()
    monkeypatch.setattr(_graph_requests.Sender, "__init__", stopped)
    failed, result = run_module(main, options(tmp_path, ADELE_ID, exclude=["megan@contoso.com"]))
    assert failed and "nothing was decided" in result["msg"] and "not acknowledged" in result["msg"]
    assert tenant.writes == [] and result["brake"]["decision"] is None
    assert [e["outcome"] for e in result["results"]] == ["failed"] and result["failed_count"] == 1
    assert not os.path.exists(str(tmp_path / "eda" / "containment_ledger.json"))


def test_a_deleted_event_sends_nothing_and_a_404_user_takes_no_slot(run_module, tenant, tmp_path):
    deleted = options(tmp_path, GHOST_ID)
    deleted["event"]["isDeleted"] = True
    failed, result = run_module(main, deleted)
    assert not failed and result["brake"]["decision"] == "deleted" and len(tenant.calls) == 0
    assert result["results"][0]["outcome"] == "absent"
    failed, result = run_module(main, options(tmp_path, GHOST_ID))
    assert not failed, result
    assert result["brake"]["decision"] == "deleted" and "not found in the directory" in result["brake"]["detail"]
    assert tenant.writes == [] and [e["slot"] for e in ledger(tmp_path)] == [False, False]


def test_a_failed_containment_closes_its_slot_failed_and_fails_the_task(run_module, tenant, tmp_path):
    tenant.refuse[ADELE_ID] = (403, "Authorization_RequestDenied")
    failed, result = run_module(main, options(tmp_path, ADELE_ID))
    assert failed and result["failed_count"] == 1
    assert result["brake"]["decision"] == "contain" and result["brake"]["closed"] is True
    (entry,) = ledger(tmp_path)
    assert (entry["state"], entry["outcome"]) == ("ended", "failed")
    assert "Authorization_RequestDenied" in entry["detail"]


def test_check_mode_decides_without_writing_graph_or_the_ledger(run_module, tenant, tmp_path):
    failed, result = run_module(main, options(tmp_path, ADELE_ID), check_mode=True)
    assert not failed, result
    assert result["brake"]["decision"] == "contain" and result["would_contain_count"] == 1
    assert "closed" not in result["brake"]
    # Nothing is created: not the ledger, not its directory, not its lock file.
    assert tenant.writes == [] and not os.path.exists(str(tmp_path / "eda"))
    os.makedirs(str(tmp_path / "eda"))
    assert not run_module(main, options(tmp_path, ADELE_ID), check_mode=True)[0]
    assert os.listdir(str(tmp_path / "eda")) == []


def test_a_fault_of_the_module_after_the_slot_leaves_it_started_for_the_next_event(run_module, tenant, tmp_path,
                                                                                   monkeypatch):
    from ansible_collections.o365.admin.plugins.module_utils import _containment

    def broken(self, writing):
        raise RuntimeError("a bug of ours")
    monkeypatch.setattr(_containment.ContainmentRun, "act", broken)
    failed, result = run_module(main, options(tmp_path, ADELE_ID))
    assert failed and "a bug of ours" in result["msg"]
    (entry,) = ledger(tmp_path)
    assert (entry["state"], entry["slot"]) == ("started", True)


def test_an_unreadable_ledger_contains_nobody(run_module, tenant, tmp_path):
    os.makedirs(str(tmp_path / "eda"))
    with open(str(tmp_path / "eda" / "containment_ledger.json"), "w") as handle:
        handle.write("{not json")
    failed, result = run_module(main, options(tmp_path, ADELE_ID))
    assert failed and "the brake cannot count" in result["msg"] and tenant.writes == []


def test_event_and_brake_are_checked_before_any_call(run_module, tenant, tmp_path):
    failed, result = run_module(main, contained(event={"userPrincipalName": "adele@contoso.com"},
                                                brake={"state_dir": str(tmp_path)}))
    assert failed and "object ID (id)" in result["msg"]
    failed, result = run_module(main, contained(users=[ADELE_ID], brake={"state_dir": str(tmp_path)}))
    assert failed and "event" in result["msg"]
    failed, result = run_module(main, contained(event=event(ADELE_ID), users=[ADELE_ID]))
    assert failed and "mutually exclusive: event|users" in result["msg"]
    failed, result = run_module(main, contained(event=event(ADELE_ID), groups=["Finance"]))
    assert failed and "mutually exclusive: event|groups" in result["msg"]
    failed, result = run_module(main, options(tmp_path, ADELE_ID, max_users=0))
    assert failed and "brake.max_users must be 1 or more" in result["msg"]
    assert len(tenant.calls) == 0


def test_users_and_groups_together_are_still_one_containment(run_module, tenant, tmp_path):
    # The role passes users and groups (an empty list) together: the event's exclusions must not refuse that.
    failed, result = run_module(main, contained(users=[ADELE_ID], groups=[]))
    assert not failed, result
    assert result["contained_count"] == 1


def test_an_event_without_a_brake_contains_its_user_since_the_risk_was_raised(run_module, tenant, tmp_path):
    failed, result = run_module(main, contained(event=event(MEGAN_ID)))
    assert not failed, result
    assert "brake" not in result and result["revoked_since"] == RISK_RAISED
    assert [kind for kind, dummy in tenant.writes] == ["block", "revoke"]


def test_without_a_brake_a_user_graph_does_not_know_fails_as_in_any_containment(run_module, tenant):
    failed, result = run_module(main, contained(event=event(GHOST_ID)))
    assert failed and result["results"][0]["outcome"] == "failed" and tenant.writes == []


def test_an_event_of_a_deleted_user_sends_nothing_also_without_a_brake(run_module, tenant):
    failed, result = run_module(main, contained(event=event(MEGAN_ID, isDeleted=True)))
    assert not failed, result
    assert len(tenant.calls) == 0 and result["results"][0]["outcome"] == "absent" and "brake" not in result
