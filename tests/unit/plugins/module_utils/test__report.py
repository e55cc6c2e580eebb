# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import json
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._report import REPORT_COLUMNS, Report, csv_row
from ansible_collections.o365.admin.plugins.module_utils import _report

RESULTS = [
    {"user": "adele@contoso.com", "changed": True, "all_sessions_revoked": True, "status_code": 200,
     "request_id": "r1", "outcome": "revoked", "verified": True, "sessions_valid_from": "2026-11-24T12:00:00Z",
     "time": "2026-11-24T12:00:01Z"},
    {"user": "ghost@contoso.com", "changed": False, "all_sessions_revoked": False, "status_code": 404,
     "request_id": "r2", "outcome": "failed", "error": {"code": "Request_ResourceNotFound", "message": "a, \"b\""},
     "group": "Finance", "time": "2026-11-24T12:00:01Z"},
]


def test_format_follows_the_extension_unless_given(tmp_path):
    assert Report(str(tmp_path / "r.CSV")).format == "csv"
    assert Report(str(tmp_path / "r.json")).format == "json"
    assert Report(str(tmp_path / "r.txt")).format == "json"
    assert Report(str(tmp_path / "r.txt"), "csv").format == "csv"
    assert Report.from_params({"report_path": None}) is None


def test_bad_paths_fail_before_anything_happens(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        Report(str(tmp_path / "missing" / "r.json"))
    with pytest.raises(ConfigurationError, match="is a directory"):
        Report(str(tmp_path))
    with pytest.raises(ConfigurationError, match="report_format"):
        Report(str(tmp_path / "r.json"), "xml")


def test_json_report_holds_results_exactly_and_is_private(tmp_path):
    path = str(tmp_path / "r.json")
    with open(path, "w") as handle:
        handle.write("old report")
    os.chmod(path, 0o644)
    Report(path, replace=True).write("o365.admin.o365_revoke_sessions", "2026-11-24T12:00:02Z", RESULTS,
                                     {"revoked_count": 1}, "1 of 2 users could not be revoked")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        document = json.load(handle)
    assert document["results"] == RESULTS and document["failed"] is True
    assert document["summary"] == {"revoked_count": 1} and document["msg"].startswith("1 of 2")
    assert sorted(os.listdir(str(tmp_path))) == [".r.json.lock", "r.json"]  # no temporary file left behind


def test_csv_report_has_fixed_columns_and_one_row_per_entry(tmp_path):
    path = str(tmp_path / "r.csv")
    report = Report(path)
    report.write("m", "t", RESULTS, {})
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(REPORT_COLUMNS) + ["run_id"]
    assert rows[1:] == [csv_row(entry) + [report.run_id] for entry in RESULTS]
    ghost = dict(zip(REPORT_COLUMNS, rows[2]))
    assert (ghost["error_code"], ghost["error_message"], ghost["changed"], ghost["verified"]) == (
        "Request_ResourceNotFound", 'a, "b"', "false", "")


def test_a_failed_write_leaves_the_old_report_and_no_temporary_file(tmp_path, monkeypatch):
    path = str(tmp_path / "r.json")
    with open(path, "w") as handle:
        handle.write("previous")

    def broken_replace(source, destination):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        Report(path, replace=True).write("m", "t", RESULTS, {})
    with open(path) as handle:
        assert handle.read() == "previous"
    assert sorted(os.listdir(str(tmp_path))) == [".r.json.lock", "r.json"]


# --- CSV injection (OWASP): no cell is a formula when the file is opened in a spreadsheet (issue 18) -----------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def test_a_group_named_as_a_formula_is_text_in_every_row(tmp_path):
    evil = '=HYPERLINK("https://evil.example/x","Open")'
    entries = [dict(RESULTS[0], group=evil), dict(RESULTS[1], group=evil, error={"code": "@SUM(1)", "message": "-2"})]
    path = str(tmp_path / "r.csv")
    Report(path).write("m", "t", entries, {})
    with open(path, newline="") as handle:
        rows = [dict(zip(REPORT_COLUMNS, row)) for row in list(csv.reader(handle))[1:]]
    assert [row["group"] for row in rows] == ["'" + evil] * 2
    assert (rows[1]["error_code"], rows[1]["error_message"]) == ("'@SUM(1)", "'-2")
    assert rows[0]["user"] == "adele@contoso.com" and rows[0]["time"] == "2026-11-24T12:00:01Z"  # others unchanged


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.text(), st.text(alphabet="=+-@\t\r\n\"',; ab").map(lambda t: t[:30]), st.integers(),
                       st.booleans(), st.none()),
       column=st.sampled_from(["user", "group", "error_message", "error_code", "user_principal_name", "skipped"]))
def test_no_csv_cell_starts_with_a_formula_character(tmp_path, value, column):
    entry = {"user": "u@contoso.com", "outcome": "failed"}
    if column.startswith("error_"):
        entry["error"] = {column[len("error_"):]: value}
    else:
        entry[column] = value
    path = str(tmp_path / "r.csv")
    Report(path, replace=True).write("m", "t", [entry], {})
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 2  # the header and one row, whatever the cell holds
    cell = dict(zip(REPORT_COLUMNS, rows[1]))[column]
    assert not cell.startswith(FORMULA_START)
    text = "" if value is None else ("true" if value is True else "false" if value is False else str(value))
    assert cell in (text, "'" + text)  # only the quote is added, and only before a trigger


def test_a_report_name_as_long_as_the_file_system_allows_is_written(tmp_path):
    """Issue 18: a legal 250-byte name made the temporary file's name too long (OSError)."""
    path = tmp_path / ("r" * 245 + ".json")
    assert len(path.name) == 250
    report = _report.Report(str(path))
    report.write("o365.admin.o365_revoke_sessions", "2026-11-24T09:00:00Z", [{"user": "a@b.com"}], {})
    assert json.loads(path.read_text())["results"] == [{"user": "a@b.com"}]
    assert [name for name in os.listdir(str(tmp_path)) if not name.endswith(".lock")] == [path.name]


def test_the_journal_is_a_plan_line_then_one_flushed_line_per_outcome(tmp_path):
    path = str(tmp_path / ("j" * 250))
    journal = _report.Journal(path)
    journal.start("o365.admin.o365_revoke_sessions", {"users": 2, "writes": 2})
    journal.record({"user": "a@b.com", "outcome": "revoked"})
    # Readable before the journal is closed: each line is flushed.
    lines = [json.loads(line) for line in open(path)]
    assert lines[0]["plan"] == {"users": 2, "writes": 2} and lines[0]["journal"] == _report.JOURNAL_FORMAT
    assert lines[1] == {"user": "a@b.com", "outcome": "revoked"}
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    journal.close()


def test_a_journal_that_cannot_be_written_never_raises(tmp_path):
    journal = _report.Journal(str(tmp_path / "gone" / "report.json"))
    journal.start("m", {})
    journal.record({"user": "a"})
    assert "FileNotFoundError" in journal.problem and journal.lines == 0


def test_the_plan_is_timed_by_graphs_write_quota():
    assert _report.quota_time_s(3000) == 0
    assert _report.quota_time_s(100000) == 4850  # 97,000 writes after the first window, at 3,000 per 150 s


# --- Runs own their records (issue 25) ------------------------------------------------------------------------

def test_every_report_carries_its_run_id_and_incident(tmp_path):
    report = Report(str(tmp_path / "r.json"), incident="INC-4711")
    report.write("m", "t", RESULTS, {})
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["run_id"] == report.run_id and document["incident"] == "INC-4711"
    assert document["report_format_version"] == 2
    assert Report(str(tmp_path / "s.json")).run_id != report.run_id  # a new ID per run


@pytest.mark.parametrize("existing, check_mode, replace, refused", [
    (None, False, False, None),
    ("", False, False, None),  # an empty file (touch) holds no record
    ('{"run_id": "r1", "check_mode": false, "results": []}', False, False, "the record of a run (run_id r1)"),
    ('{"journal": "o365.admin journal 1", "run_id": "r0"}\n{"user": "a"}\n', False, False,
     "the journal of a run that did not finish (run_id r0)"),
    ("some notes", False, False, "not a record this collection wrote"),
    ('{"run_id": "r1", "check_mode": false}', False, True, None),  # replaced on purpose
    ('{"run_id": "r1", "check_mode": false}', True, True, "check-mode run never writes over a real"),
    ('{"run_id": "r1", "check_mode": true}', True, True, None),  # a dry run's record may be replaced by another
    ('{"run_id": "r1", "check_mode": true}', True, False, "already holds"),
])
def test_a_path_holding_another_runs_record_is_refused_unless_replaced(
        tmp_path, existing, check_mode, replace, refused):
    path = tmp_path / "r.json"
    if existing is not None:
        path.write_text(existing)
    if refused:
        with pytest.raises(ConfigurationError, match="Nothing was sent") as error:
            Report(str(path), replace=replace, check_mode=check_mode)
        assert refused in str(error.value)
        assert path.read_text() == existing  # untouched
    else:
        Report(str(path), replace=replace, check_mode=check_mode).write("m", "t", RESULTS, {})
        assert json.loads(path.read_text())["check_mode"] is check_mode


def test_a_second_run_on_a_locked_record_is_refused_and_the_first_keeps_it(tmp_path):
    path = str(tmp_path / "r.json")
    first = Report(path)
    with pytest.raises(ConfigurationError, match="being written by another run"):
        Report(path, replace=True)
    first.write("m", "t", RESULTS, {})
    first.close()
    # Once the first run let go, a second run still does not replace its record without being asked.
    with pytest.raises(ConfigurationError, match="already holds the record of a run"):
        Report(path)


def test_the_lock_is_an_fcntl_lock_another_process_sees(tmp_path):
    import fcntl
    path = str(tmp_path / "r.json")
    report = Report(path)
    handle = os.open(report.lock.path, os.O_RDWR)
    try:
        with pytest.raises(OSError):
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new open file description: as another process
        report.close()
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(handle)


def test_a_run_id_in_the_path_gives_each_run_its_file_and_relative_paths_start_at_cwd(tmp_path):
    (tmp_path / "records").mkdir()
    first = Report("records/INC-{run_id}.json", cwd=str(tmp_path))
    second = Report("records/INC-{run_id}.json", cwd=str(tmp_path))
    assert first.path == str(tmp_path / "records" / ("INC-%s.json" % first.run_id))
    assert first.path != second.path


def test_the_journal_names_the_users_before_the_write_and_reads_back_unknown_after_a_kill(tmp_path):
    path = str(tmp_path / "r.json")
    journal = Report(path, incident="INC-1").journal()
    journal.start("m", {"users": 3})
    journal.sending([{"user": "a@b.com", "user_id": "1"}, {"user": "c@b.com", "user_id": "2"}], "revokeSignInSessions")
    journal.record({"user": "a@b.com", "user_id": "1", "outcome": "revoked"})
    journal.sending([{"user": "d@b.com", "user_id": None, "user_principal_name": "d@b.com"}], "revokeSignInSessions")
    # Killed here: no outcome for c and d; a last line cut off mid-write.
    with open(path, "a") as handle:
        handle.write('{"user": "d@b.com", "outc')
    journal.close()
    read = _report.read_journal(path)
    assert read["head"]["run_id"] == journal.run_id and read["head"]["incident"] == "INC-1"
    assert [(e["user"], e["outcome"]) for e in read["results"]] == [
        ("a@b.com", "revoked"), ("c@b.com", "unknown"), ("d@b.com", "unknown")]
    assert "may have been carried out" in read["results"][1]["error"]["message"]
