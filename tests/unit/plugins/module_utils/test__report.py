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
    Report(path).write("o365.admin.o365_revoke_sessions", "2026-11-24T12:00:02Z", RESULTS, {"revoked_count": 1},
                       "1 of 2 users could not be revoked")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        document = json.load(handle)
    assert document["results"] == RESULTS and document["failed"] is True
    assert document["summary"] == {"revoked_count": 1} and document["msg"].startswith("1 of 2")
    assert os.listdir(str(tmp_path)) == ["r.json"]  # no temporary file left behind


def test_csv_report_has_fixed_columns_and_one_row_per_entry(tmp_path):
    path = str(tmp_path / "r.csv")
    Report(path).write("m", "t", RESULTS, {})
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(REPORT_COLUMNS)
    assert rows[1:] == [csv_row(entry) for entry in RESULTS]
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
        Report(path).write("m", "t", RESULTS, {})
    with open(path) as handle:
        assert handle.read() == "previous"
    assert os.listdir(str(tmp_path)) == ["r.json"]


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
    Report(path).write("m", "t", [entry], {})
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
    assert os.listdir(str(tmp_path)) == [path.name]


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
