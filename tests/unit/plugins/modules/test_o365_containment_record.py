# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_containment_record driven through main(): the merge's plumbing around the decisions test__record_merge.py
tables (options, the result, failing after the write, nothing written on a refusal)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import re

import pytest

from ansible_collections.o365.admin.plugins.modules.o365_containment_record import main


def record(run_id, tenant, kind="containment", schema=1, failed=False, msg=None, **top):
    document = {"schema_version": schema, "kind": kind, "run_id": run_id, "incident": "INC-1", "check_mode": False,
                "tenants": [{"tenant": tenant, "failed": failed, "msg": msg}],
                "users": [{"user": "adele@%s.com" % tenant, "run_id": run_id, "tenant": tenant}]}
    document.update(top)
    return document


def write(path, document):
    path.write_text(json.dumps(document))
    return str(path)


@pytest.fixture
def slices(tmp_path):
    return [write(tmp_path / "slice1.json", record("r1", "contoso")),
            write(tmp_path / "slice2.json", record("r2", "fabrikam"))]


def test_two_record_files_merge_into_one_record(run_module, slices, tmp_path):
    failed, result = run_module(main, {"records": slices, "report_path": str(tmp_path / "merged.json")})
    assert not failed, result
    written = json.loads((tmp_path / "merged.json").read_text())
    assert result["record"] == written and result["record_path"] == str(tmp_path / "merged.json")
    assert (result["changed"], result["runs"], result["failed_tenants"], result["tenant_count"],
            result["user_count"]) == (True, ["r1", "r2"], [], 2, 2)
    assert (written["run_id"], written["kind"], written["merged"]) == (result["run_id"], "containment", True)
    assert result["msg"] == "2 tenant(s) and 2 user(s) merged into %s." % (tmp_path / "merged.json")
    assert os.stat(str(tmp_path / "merged.json")).st_mode & 0o777 == 0o600


def test_a_failed_tenant_fails_the_task_after_the_record_is_written(run_module, tmp_path):
    parts = [{"host": "contoso", "tenant": "contoso", "record": record("r1", "contoso")},
             {"host": "adatum", "tenant": "adatum", "record": {"users": []}, "failure": "Run the role: AADSTS7000215"}]
    args = {"parts": parts, "hosts": ["contoso", "adatum", "fabrikam"], "kind": "containment",
            "report_path": str(tmp_path / "merged.json")}
    failed, result = run_module(main, args)
    assert failed
    assert result["msg"].startswith("Containment failed in adatum (Run the role: AADSTS7000215); fabrikam (no record")
    assert result["failed_tenants"] == ["adatum", "fabrikam"]
    assert json.loads((tmp_path / "merged.json").read_text())["failed_tenants"] == ["adatum", "fabrikam"]
    assert result["record"]["tenants"][1]["msg"] == "Run the role: AADSTS7000215"

    failed, result = run_module(main, dict(args, fail_on_failed_tenants=False, report_replace=True))
    assert not failed and result["failed_tenants"] == ["adatum", "fabrikam"]
    assert result["msg"].startswith("Containment failed in adatum")


@pytest.mark.parametrize("case, message", [
    ("unknown schema", "slice2.json is not a record this merge knows \\(schema_version 9"),
    ("mixed kinds", "slice2.json is a record of kind release, and this merge is of kind containment"),
    ("one record twice", "Run r1 is in .*slice1.json and in .*slice1.json"),
])
def test_a_refused_part_writes_nothing_and_lets_go_of_the_path(run_module, slices, tmp_path, case, message):
    if case == "unknown schema":
        write(tmp_path / "slice2.json", record("r2", "fabrikam", schema=9))
    elif case == "mixed kinds":
        write(tmp_path / "slice2.json", record("r2", "fabrikam", kind="release", schema=2))
    else:
        slices[1] = slices[0]
    target = str(tmp_path / "merged.json")
    failed, result = run_module(main, {"records": slices, "report_path": target})
    assert failed and "Nothing was written." in result["msg"]
    assert re.search(message, result["msg"]), result["msg"]
    assert not os.path.exists(target)
    handle = os.open(str(tmp_path / ".merged.json.lock"), os.O_RDWR)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the refused run holds no lock
    finally:
        os.close(handle)


def test_another_runs_record_at_the_path_is_refused_unless_replaced(run_module, slices, tmp_path):
    target = tmp_path / "merged.json"
    first = json.dumps({"schema_version": 1, "kind": "containment", "run_id": "other", "users": []})
    target.write_text(first)
    failed, result = run_module(main, {"records": slices, "report_path": str(target)})
    assert failed and "already holds the record of a run (run_id other)" in result["msg"], result
    assert target.read_text() == first
    failed, result = run_module(main, {"records": slices, "report_path": str(target), "report_replace": True})
    assert not failed and json.loads(target.read_text())["run_id"] == result["run_id"]


def test_a_second_merge_into_the_same_path_is_refused_and_the_first_is_intact(run_module, slices, tmp_path):
    target = tmp_path / "merged.json"
    failed, first = run_module(main, {"records": slices, "report_path": str(target)})
    assert not failed
    written = target.read_text()
    failed, second = run_module(main, {"records": slices, "report_path": str(target)})
    assert failed and "(run_id %s)" % first["run_id"] in second["msg"]
    assert target.read_text() == written


def test_check_mode_writes_a_dry_runs_record_and_never_over_a_real_one(run_module, slices, tmp_path):
    dry = tmp_path / "dry.json"
    failed, result = run_module(main, {"records": slices, "report_path": str(dry)}, check_mode=True)
    assert not failed and json.loads(dry.read_text())["check_mode"] is True
    assert result["msg"].startswith("Check mode: ")
    real = tmp_path / "real.json"
    failed, result = run_module(main, {"records": slices, "report_path": str(real)})
    written = real.read_text()
    failed, result = run_module(main, {"records": slices, "report_path": str(real), "report_replace": True},
                                check_mode=True)
    assert failed and "a check-mode run never writes over a real run's record" in result["msg"]
    assert real.read_text() == written


def test_a_held_lock_refuses_the_merge(run_module, slices, tmp_path):
    handle = os.open(str(tmp_path / ".merged.json.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(handle, fcntl.LOCK_EX)  # another open file description: as another process
    try:
        failed, result = run_module(main, {"records": slices, "report_path": str(tmp_path / "merged.json")})
    finally:
        os.close(handle)
    assert failed and "is being written by another run right now" in result["msg"]
    assert not os.path.exists(str(tmp_path / "merged.json"))


def test_relative_paths_start_where_the_module_runs_and_run_id_names_the_file(
        run_module, slices, tmp_path, monkeypatch):
    monkeypatch.chdir(str(tmp_path))
    failed, result = run_module(main, {"records": ["slice1.json", "slice2.json"],
                                       "record_path": "merged-{run_id}.json"})
    assert not failed, result
    assert result["record_path"] == str(tmp_path / ("merged-%s.json" % result["run_id"]))
    assert result["record"]["records"] == slices


def test_a_part_needs_its_host(run_module, tmp_path):
    failed, result = run_module(main, {"parts": [{"tenant": "contoso"}], "report_path": str(tmp_path / "m.json")})
    assert failed and "host" in result["msg"]


@pytest.mark.parametrize("taken, replace, refused", [
    (False, False, False),
    (True, False, True),
    (True, True, False),
])
def test_claim_only_checks_the_path_before_a_play_writes_anything(run_module, slices, tmp_path, taken, replace,
                                                                  refused):
    path = tmp_path / "merged.json"
    if taken:
        assert not run_module(main, {"records": slices, "report_path": str(path)})[0]
    before = sorted(os.listdir(str(tmp_path)))
    content = path.read_text() if taken else None
    failed, result = run_module(main, {"claim_only": True, "report_path": str(path), "report_replace": replace})
    assert failed is refused, result
    if refused:
        assert "already holds the record of a run" in result["msg"]
    else:
        assert result["changed"] is False and "can take this run's merged record" in result["msg"]
    # Nothing written or replaced, whatever the answer (the lock file beside the record is the record's own).
    assert sorted(name for name in os.listdir(str(tmp_path)) if not name.endswith(".lock")) == \
        sorted(name for name in before if not name.endswith(".lock"))
    assert (path.read_text() if taken else None) == content


def test_claim_only_with_a_run_id_path_leaves_nothing_behind(run_module, tmp_path):
    failed, result = run_module(main, {"claim_only": True, "report_path": str(tmp_path / "merged-{run_id}.json")})
    assert not failed and result["changed"] is False
    assert os.listdir(str(tmp_path)) == []
