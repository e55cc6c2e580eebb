# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/module_utils/_ledger.py: the decisions (table-driven), the lock, and N processes sharing one ledger."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import multiprocessing
import os
import threading
import time

import pytest

from ansible_collections.o365.admin.plugins.module_utils import _ledger
from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._ledger import (
    CONTAIN, DELETED, EXCLUDED, HELD, RECENT, REFUSED, RESUME, Ledger, apply_finish, apply_reserve, apply_skip,
    decide, empty_document, event_ended, parse_window, skip_reason, split_list, unfinished)

A, B, C, D = ["%08x-0000-4000-8000-000000000000" % n for n in (1, 2, 3, 4)]
NOW = 10000.0
WINDOW = 600.0


def slot(user, at, state="ended", outcome="contained"):
    return {"user_id": user, "slot": True, "state": state, "outcome": outcome, "reserved_at": at,
            "ended_at": None if state == "started" else at, "runs": ["r"], "risk_updated": "t-" + user[:8]}


def skip(user, at, outcome):
    return {"user_id": user, "slot": False, "state": "ended", "outcome": outcome, "reserved_at": at, "ended_at": at,
            "runs": ["r"], "risk_updated": "t-" + user[:8]}


def document(*entries, brake_raised_at=None):
    return dict(empty_document(), entries=list(entries), brake_raised_at=brake_raised_at)


@pytest.mark.parametrize("entries, brake_raised_at, user, max_users, expected", [
    # An empty ledger: contain.
    ((), None, A, 1, (CONTAIN, False)),
    # Contained within the window: nothing to do; outside it, contained again.
    ((slot(A, NOW - 10),), None, A, 5, (RECENT, False)),
    ((slot(A, NOW - WINDOW - 1),), None, A, 5, (CONTAIN, False)),
    # Started and never closed (a stopped run): resumed, whatever its age.
    ((slot(A, NOW - 10 * WINDOW, state="started"),), None, A, 1, (RESUME, False)),
    # The brake: K users within the window hold the next one, and the first held raises the alert.
    ((slot(A, NOW - 10), slot(B, NOW - 20)), None, C, 2, (HELD, True)),
    ((slot(A, NOW - 10), slot(B, NOW - 20)), NOW - 5, C, 2, (HELD, False)),
    # An alert raised in an earlier window does not silence this one.
    ((slot(A, NOW - 10), slot(B, NOW - 20)), NOW - WINDOW - 5, C, 2, (HELD, True)),
    # A containment still under way counts however old it is; ended ones only within the window.
    ((slot(A, NOW - 10 * WINDOW, state="started"), slot(B, NOW - 20)), None, C, 2, (HELD, True)),
    ((slot(A, NOW - 10 * WINDOW), slot(B, NOW - 20)), None, C, 2, (CONTAIN, False)),
    # A failed containment was a write: it counts.
    ((slot(A, NOW - 10, outcome="failed"),), None, B, 1, (HELD, True)),
    # ... but a failed containment is no reason not to try again: the user is counted once, no second slot.
    ((slot(A, NOW - 10, outcome="failed"),), None, A, 1, (CONTAIN, False)),
    ((slot(A, NOW - 10, outcome="failed"), slot(B, NOW - 10)), None, A, 2, (CONTAIN, False)),
    ((slot(A, NOW - 20, outcome="failed"), slot(A, NOW - 10)), None, A, 5, (RECENT, False)),
    # Excluded, deleted, refused, held and recent events are no containment: they never count.
    ((skip(A, NOW - 1, EXCLUDED), skip(B, NOW - 1, DELETED), skip(C, NOW - 1, REFUSED),
      skip(D, NOW - 1, "held_by_brake")), None, D, 1, (CONTAIN, False)),
    # Two entries for one user count once.
    ((slot(A, NOW - 10), slot(A, NOW - WINDOW + 1)), None, B, 2, (CONTAIN, False)),
])
def test_decide(entries, brake_raised_at, user, max_users, expected):
    assert decide(document(*entries, brake_raised_at=brake_raised_at), user, NOW, max_users, WINDOW) == expected


def test_reserve_records_each_decision_without_rewriting_others():
    state = document()
    event = {"id": A, "riskLastUpdatedDateTime": "t1"}
    assert apply_reserve(state, A, event, "run-1", NOW, 1, WINDOW)["decision"] == CONTAIN
    first = dict(state["entries"][0])
    assert (first["state"], first["slot"], first["runs"]) == ("started", True, ["run-1"])
    # A second run for the same user before the first closed it resumes it, adding itself; no second slot.
    assert apply_reserve(state, A, dict(event, riskLastUpdatedDateTime="t2"), "run-2", NOW + 1, 1, WINDOW)[
        "decision"] == RESUME
    assert len(state["entries"]) == 1 and state["entries"][0]["runs"] == ["run-1", "run-2"]
    held = apply_reserve(state, B, {"id": B}, "run-3", NOW + 2, 1, WINDOW)
    assert (held["decision"], held["alert"], held["contained_in_window"]) == (HELD, True, [A])
    assert state["brake_raised_at"] == NOW + 2
    assert apply_reserve(state, C, {"id": C}, "run-4", NOW + 3, 1, WINDOW)["alert"] is False
    closed = apply_finish(state, A, "run-2", NOW + 4, "contained", report="/r.json")
    assert (closed["state"], closed["outcome"], closed["ended_by"]) == ("ended", "contained", "run-2")
    assert apply_finish(state, A, "run-2", NOW + 5, "contained") is None  # nothing left started
    assert [entry["outcome"] for entry in state["entries"]] == ["contained", "held_by_brake", "held_by_brake"]


def test_a_run_closes_only_the_containment_it_took_or_resumed():
    state = document()
    apply_reserve(state, A, {"id": A}, "run-1", NOW, 5, WINDOW)
    apply_reserve(state, A, {"id": A}, "run-2", NOW + 1, 5, WINDOW)  # resumes run-1's
    assert apply_finish(state, A, "run-1", NOW + 2, "failed")["outcome"] == "failed"
    assert apply_reserve(state, A, {"id": A}, "run-3", NOW + 3, 5, WINDOW)["decision"] == CONTAIN  # tried again
    # run-2, late, finds run-3's containment started: not its own to close.
    assert apply_finish(state, A, "run-2", NOW + 4, "contained") is None
    assert [(e["state"], e["runs"]) for e in state["entries"]] == [
        ("ended", ["run-1", "run-2"]), ("started", ["run-3"])]
    assert apply_finish(state, A, "run-3", NOW + 5, "contained")["outcome"] == "contained"


@pytest.mark.parametrize("outcome, ended", [("contained", True), ("failed", True), ("refused", True), (None, False)])
def test_an_event_ends_only_when_its_containment_is_closed(outcome, ended):
    state = document()
    apply_reserve(state, A, {"id": A, "riskLastUpdatedDateTime": "t1"}, "run", NOW, 5, WINDOW)
    if outcome:
        apply_finish(state, A, "run", NOW + 1, outcome)
    assert event_ended(state, A.upper(), "t1") is ended
    assert event_ended(state, A, "t0") is False  # another event of the user
    assert unfinished(state) == ([] if ended else [{"id": A, "riskLastUpdatedDateTime": "t1"}])


@pytest.mark.parametrize("outcome", [EXCLUDED, DELETED, REFUSED])
def test_a_skipped_event_ends_at_once_and_takes_no_slot(outcome):
    state = document()
    apply_skip(state, A, {"id": A, "riskLastUpdatedDateTime": "t1"}, "run", NOW, outcome, "why")
    assert event_ended(state, A, "t1") and decide(state, B, NOW, 1, WINDOW) == (CONTAIN, False)


def test_skip_and_finish_refuse_unknown_outcomes():
    with pytest.raises(ConfigurationError):
        apply_skip(document(), A, {}, "run", NOW, "contained")
    with pytest.raises(ConfigurationError):
        apply_finish(document(), A, "run", NOW, "excluded")


def test_ended_entries_are_pruned_after_retention_but_started_ones_never():
    state = document(slot(A, NOW - _ledger.RETAIN_S - 1), slot(B, NOW - _ledger.RETAIN_S - 1, state="started"))
    apply_reserve(state, C, {"id": C}, "run", NOW, 5, WINDOW)
    assert [entry["user_id"] for entry in state["entries"]] == [B, C]


@pytest.mark.parametrize("text, seconds", [("10 minutes", 600), ("30 seconds", 30), ("1 hour", 3600),
                                           ("2 days", 172800), ("45", 45), (90, 90), ("1.5 min", 90)])
def test_parse_window(text, seconds):
    assert parse_window(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "0", "-1 minute", "5 fortnights", True, None])
def test_parse_window_refuses(text):
    with pytest.raises(ConfigurationError):
        parse_window(text)


@pytest.mark.parametrize("value, expected", [
    (None, []),
    ("glass@contoso.com", ["glass@contoso.com"]),  # one account as a string (an AWX survey field)
    ("a@contoso.com, b@contoso.com", ["a@contoso.com", "b@contoso.com"]),
    ("a@contoso.com\nb@contoso.com\n", ["a@contoso.com", "b@contoso.com"]),
    (["a@contoso.com", " B@contoso.com "], ["a@contoso.com", "B@contoso.com"]),
    ([], []),
])
def test_split_list_reads_a_list_or_text_the_same(value, expected):
    assert split_list(value) == expected


def test_split_list_refuses_what_names_nobody():
    with pytest.raises(ConfigurationError):
        split_list([{"id": A}])


def test_ledger_writes_atomically_privately_and_upgrades_the_playbooks_ledger(tmp_path):
    state_dir = tmp_path / "eda"
    state_dir.mkdir()
    (state_dir / "containment_ledger.json").write_text(json.dumps(
        {"contained": [{"id": A.upper(), "at": NOW - 10}], "brake_raised_at": None}))
    ledger = Ledger(str(state_dir), clock=lambda: NOW)
    assert ledger.reserve(A, {"id": A}, "run", 5, WINDOW)["decision"] == RECENT
    assert oct(os.stat(ledger.path).st_mode & 0o777) == "0o600"
    assert [name for name in os.listdir(str(state_dir)) if name.startswith(".containment_ledger.")] == [
        ".containment_ledger.lock"]  # no temporary file left behind
    assert json.loads((state_dir / "containment_ledger.json").read_text())["version"] == _ledger.VERSION


def test_an_unreadable_ledger_fails_closed(tmp_path):
    (tmp_path / "containment_ledger.json").write_text("{not json")
    with pytest.raises(ConfigurationError, match="nobody is contained"):
        Ledger(str(tmp_path)).reserve(A, {"id": A}, "run", 5, WINDOW)


def test_check_mode_decides_without_writing(tmp_path):
    ledger = Ledger(str(tmp_path))
    assert ledger.reserve(A, {"id": A}, "run", 5, WINDOW, write=False)["decision"] == CONTAIN
    assert not os.path.exists(ledger.path)


def test_a_change_waits_for_the_lock(tmp_path):
    """While another holder has the lock, reserve() does not read the ledger; it decides on what that holder
    wrote."""
    ledger = Ledger(str(tmp_path), clock=lambda: NOW)
    ledger.reserve(A, {"id": A}, "first", 1, WINDOW)
    descriptor = os.open(ledger.lock_path, os.O_RDWR)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    results = []
    worker = threading.Thread(target=lambda: results.append(ledger.reserve(B, {"id": B}, "second", 1, WINDOW)))
    worker.start()
    time.sleep(0.3)
    assert results == [] and worker.is_alive()  # blocked on the lock
    os.close(descriptor)
    worker.join(10)
    assert results[0]["decision"] == HELD


def test_an_unlocked_read_modify_write_loses_updates(tmp_path, monkeypatch):
    """The test below can fail: with the lock taken away, parallel processes exceed the brake."""
    monkeypatch.setattr(_ledger.fcntl, "flock", lambda descriptor, operation: None)
    counts = run_parallel(str(tmp_path), users=8, max_users=2, stall_s=0.2)
    assert counts["contain"] > 2


def _reserve_in_process(state_dir, user, max_users, start, queue, stall_s):
    if stall_s:
        # Widen the read-decide-write gap, as a slow disk or a busy controller would.
        read = Ledger._read

        def slow_read(self):
            document = read(self)
            time.sleep(stall_s)
            return document
        Ledger._read = slow_read
    start.wait()
    result = Ledger(state_dir).reserve(user, {"id": user, "riskLastUpdatedDateTime": "t"}, "run-" + user, max_users,
                                       WINDOW)
    queue.put((user, result["decision"], result["alert"]))


def run_parallel(state_dir, users, max_users, stall_s=0.0):
    context = multiprocessing.get_context("fork")
    start, queue = context.Event(), context.Queue()
    ids = ["%08x-1111-4000-8000-000000000000" % n for n in range(users)]
    processes = [context.Process(target=_reserve_in_process, args=(state_dir, user, max_users, start, queue, stall_s))
                 for user in ids]
    for process in processes:
        process.start()
    start.set()
    answers = [queue.get(timeout=60) for dummy in processes]
    for process in processes:
        process.join(30)
    counts = {"contain": 0, "held": 0, "alerts": 0}
    for dummy, decision, alert in answers:
        counts[decision] += 1
        counts["alerts"] += alert
    return counts


@pytest.mark.parametrize("users, max_users", [(6, 2), (12, 5), (8, 1), (3, 5)])
def test_parallel_processes_never_exceed_the_brake(tmp_path, users, max_users):
    counts = run_parallel(str(tmp_path), users, max_users, stall_s=0.02)
    assert counts["contain"] == min(users, max_users)
    assert counts["held"] == users - counts["contain"]
    assert counts["alerts"] == (1 if users > max_users else 0)
    with open(os.path.join(str(tmp_path), "containment_ledger.json")) as handle:
        entries = json.load(handle)["entries"]
    # The ledger counts every one of them: no update lost.
    assert len(entries) == users and sum(entry["slot"] for entry in entries) == counts["contain"]
    alerts_path = os.path.join(str(tmp_path), "containment_alerts.jsonl")
    with open(alerts_path) if os.path.exists(alerts_path) else open(os.devnull) as handle:
        assert len(handle.read().splitlines()) == counts["alerts"]


class Read:
    def __init__(self, status):
        self.found, self.not_found = status == 200, status == 404
        self.failed = status not in (200, 404)
        self.answer = type("Answer", (), {"status_code": status, "unknown": False, "granted_roles": None,
                                          "error": {"code": "Forbidden", "message": "no"}})()


class Targets:
    def __init__(self, refusal=None):
        self.refusal = refusal

    def blocked(self):
        return [type("Target", (), {"refusal": self.refusal})()] if self.refusal else []


def resolver(outcome):
    def resolve(client, params):
        assert params["users"] == [A] and params["exclude"] == ["glass@contoso.com"]
        if outcome == "excluded":
            raise _ledger_targets().EmptyScope("every user is excluded", [])
        if outcome == "refused":
            return Targets({"status_code": 403, "error": {"message": "could not be compared"}})
        if outcome == "missing":
            return Targets({"status_code": 404, "error": {"message": "not found"}})
        return Targets()
    return resolve


def _ledger_targets():
    from ansible_collections.o365.admin.plugins.module_utils import _targets
    return _targets


@pytest.mark.parametrize("deleted, exclude, judged, read_status, expected", [
    (True, [], None, 200, DELETED),  # Identity Protection says deleted: not even read
    (False, ["glass@contoso.com"], "excluded", 200, EXCLUDED),
    (False, ["glass@contoso.com"], "refused", 200, REFUSED),
    (False, ["glass@contoso.com"], "missing", 200, DELETED),
    (False, ["glass@contoso.com"], "act", 200, None),
    (False, [], None, 404, DELETED),
    (False, [], None, 403, None),  # acting needs no read: the user is written, so it takes a slot
])
def test_skip_reason(deleted, exclude, judged, read_status, expected):
    reads = []

    def read(client, references, names, concurrency, max_retries):
        reads.append(references[0].value)
        return [Read(read_status)]
    decision, detail = skip_reason(None, A, exclude, 0, deleted, resolve=resolver(judged), read=read)
    assert decision == expected
    assert reads == ([] if deleted or judged in ("excluded", "refused", "missing") else [A])
    if read_status == 403:
        assert "could not be read" in detail
