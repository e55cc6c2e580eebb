# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The per-user report file (JSON or CSV): written atomically with mode 0600, also when the task fails; and the
journal the same file holds while the run goes.

Internal to this collection, may change without notice.

The JSON report holds the module's ``results`` exactly, beside the summary and the failure message; each CSV row
is one entry of ``results`` in the fixed columns of REPORT_COLUMNS (empty when an entry has no such key).
A CSV cell that a spreadsheet would run as a formula (it begins with =, +, -, @, a tab or a carriage return) is
written with a single quote in front, OWASP's rule against CSV injection: a group named =HYPERLINK(...) stays text.

While the run goes, ``report_path`` holds its journal (JSON Lines, flushed line by line): first the plan, then
each user's outcome as soon as it is known. The final report replaces it at the end (atomically), so a run that
is killed outright still leaves the outcomes known by then, and ``tail -F`` on the file shows the progress of a
long run. A journal that cannot be written does not stop the run: the module warns, and the final report (or,
failing that, the task's result) still holds every outcome.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json
import os
import tempfile
import time

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError

REPORT_FORMATS = ("json", "csv")
REPORT_COLUMNS = ("user", "user_id", "user_principal_name", "group", "outcome", "changed", "all_sessions_revoked",
                  "status_code", "error_code", "error_message", "request_id", "skipped",
                  "sessions_valid_from_before", "sessions_valid_from", "verified", "time")
REPORT_FORMAT_VERSION = 1
# OWASP's "CSV Injection" list: the characters that make Excel, LibreOffice or Sheets read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(text):
    """A CSV cell that no spreadsheet runs as a formula: a single quote before a leading trigger character."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_row(entry):
    """One results entry in REPORT_COLUMNS order, as CSV cells."""
    error = entry.get("error") or {}
    values = dict(entry, error_code=error.get("code"), error_message=error.get("message"))
    cells = []
    for column in REPORT_COLUMNS:
        value = values.get(column)
        if value is None:
            cells.append("")
        elif isinstance(value, bool):
            cells.append("true" if value else "false")
        else:
            cells.append(neutralise_cell(str(value)))
    return cells


def write_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` through a 0600 temporary file in the same directory and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    # A short name of its own: the report's name may already be as long as the file system allows.
    handle, temporary = tempfile.mkstemp(prefix=".o365-report-", suffix=".tmp", dir=directory)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class Report:
    """Where and how to write the report; checked before any network call."""

    def __init__(self, path, report_format=None):
        self.path = os.path.abspath(os.path.expanduser(path))
        if report_format is None:
            report_format = "csv" if self.path.lower().endswith(".csv") else "json"
        if report_format not in REPORT_FORMATS:
            raise ConfigurationError("report_format must be one of %s, not %r." % (", ".join(REPORT_FORMATS),
                                                                                   report_format))
        self.format = report_format
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            raise ConfigurationError("report_path %s: the directory %s does not exist; create it first."
                                     % (self.path, directory))
        if not os.access(directory, os.W_OK | os.X_OK):
            raise ConfigurationError("report_path %s: the directory %s is not writable." % (self.path, directory))
        if os.path.isdir(self.path):
            raise ConfigurationError("report_path %s is a directory; give a file name." % self.path)

    @classmethod
    def from_params(cls, params):
        if not params.get("report_path"):
            return None
        return cls(params["report_path"], params.get("report_format"))

    def render(self, module_name, generated_at, results, summary, failure=None):
        if self.format == "csv":
            text = io.StringIO()
            # RFC 4180's CRLF: the writer quotes a cell holding any character of the line terminator, so a lone
            # CR inside a cell (which readers take as a line break) cannot split a row in two.
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(REPORT_COLUMNS)
            for entry in results:
                writer.writerow(csv_row(entry))
            return text.getvalue().encode("utf-8")
        document = {"report_format_version": REPORT_FORMAT_VERSION, "module": module_name,
                    "generated_at": generated_at, "failed": failure is not None, "msg": failure,
                    "summary": summary, "results": results}
        return (json.dumps(document, indent=2, sort_keys=False) + "\n").encode("utf-8")

    def write(self, module_name, generated_at, results, summary, failure=None):
        write_atomically(self.path, self.render(module_name, generated_at, results, summary, failure))


# Graph's documented write quota for identity and access (tests/contract/FACTS.md; Microsoft's "Microsoft Graph
# service-specific throttling limits"): what a long run's plan is timed by.
WRITE_QUOTA = 3000
WRITE_QUOTA_WINDOW_S = 150
JOURNAL_FORMAT = "o365.admin journal 1"


def quota_time_s(writes):
    """The least time ``writes`` take under Graph's write quota: the first window's worth goes at once."""
    if writes <= WRITE_QUOTA:
        return 0
    return int(round(float(writes - WRITE_QUOTA) / WRITE_QUOTA * WRITE_QUOTA_WINDOW_S))


class Journal:
    """The run's journal at the report's path: a plan line, then one JSON line per outcome, each flushed.

    Never raises: the first write that fails stops the journal and is kept in ``problem`` (for a warning)."""

    def __init__(self, path, clock=time.time):
        self.path = path
        self.clock = clock
        self.problem = None
        self.lines = 0
        self._stream = None

    def start(self, module_name, plan):
        """Replace whatever is at the path with a journal whose first line is ``plan``."""
        head = dict(journal=JOURNAL_FORMAT, module=module_name, plan=plan)
        try:
            write_atomically(self.path, (json.dumps(head, sort_keys=False) + "\n").encode("utf-8"))
            self._stream = open(self.path, "a")
            self.lines = 1
        except (IOError, OSError) as error:
            self._failed(error)

    def record(self, entry):
        if self._stream is None:
            return
        try:
            self._stream.write(json.dumps(entry, sort_keys=False, default=str) + "\n")
            self._stream.flush()
            self.lines += 1
        except (IOError, OSError, ValueError) as error:
            self._failed(error)

    def close(self):
        if self._stream is not None:
            try:
                self._stream.close()
            except (IOError, OSError):
                pass
            self._stream = None

    def _failed(self, error):
        self.problem = self.problem or "%s: %s" % (type(error).__name__, error)
        self.close()
