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

A run owns its record: every report and journal line carries the run's ID (and the incident reference given). A path
that already holds a file (another run's record, or the journal a killed run left) is refused before any call,
unless the caller asks to replace it; check mode never replaces a record a real run wrote. An OS lock (fcntl, on a
hidden ``.<name>.lock`` beside the record) keeps two runs from writing one record at once. A ``{run_id}`` in the
path gives each run a file of its own. The journal names the users of each write before the write leaves
(``sending``), so after any crash every user that may have been written is in it, as ``unknown``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import errno
import fcntl
import hashlib
import io
import json
import os
import tempfile
import time
import uuid

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError

REPORT_FORMATS = ("json", "csv")
REPORT_COLUMNS = ("user", "user_id", "user_principal_name", "group", "outcome", "changed", "all_sessions_revoked",
                  "status_code", "error_code", "error_message", "request_id", "skipped",
                  "sessions_valid_from_before", "sessions_valid_from", "verified", "time")
# 2: the report carries run_id and incident (a reader of version 1 finds every key it knew).
REPORT_FORMAT_VERSION = 2
RUN_ID_PLACEHOLDER = "{run_id}"
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


def new_run_id():
    """A run's ID: unique without coordination (UUID4), so two controllers never pick the same."""
    return str(uuid.uuid4())


def resolve_path(path, cwd=None):
    """``path`` with ~ expanded, relative to ``cwd`` (where the user ran the command) when given, else to ours."""
    path = os.path.expanduser(path)
    if not os.path.isabs(path) and cwd:
        path = os.path.join(cwd, path)
    return os.path.abspath(path)


def describe_existing(path):
    """What the file at ``path`` is, for a refusal: another run's record or journal (with its run ID), or a file."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except (IOError, OSError):
        return "a file"
    text = head.decode("utf-8", "replace")
    first = text.split("\n", 1)[0]
    for candidate in (first, text):
        try:
            document = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(document, dict):
            kind = "the journal of a run that did not finish" if "journal" in document else "the record of a run"
            run_id = document.get("run_id")
            if run_id:
                kind += " (run_id %s%s)" % (run_id, ", check mode" if document.get("check_mode") else "")
            return kind
    return "a file (not a record this collection wrote)"


def existing_record_is_real(path):
    """Whether ``path`` holds something other than a check-mode record: what check mode must never replace."""
    try:
        with open(path) as handle:
            document = json.load(handle)
    except (IOError, OSError, ValueError):
        return os.path.exists(path) and os.path.getsize(path) > 0
    return not (isinstance(document, dict) and document.get("check_mode") is True)


class RecordLock:
    """An exclusive fcntl lock on ``.<name>.lock`` beside a record (the record itself is replaced by rename, so its
    own inode cannot carry the lock). Taken without waiting: a second run on one record is refused, never queued
    behind the first to replace its record afterwards."""

    def __init__(self, path):
        directory, name = os.path.split(path)
        lock_name = ".%s.lock" % name
        if len(lock_name.encode("utf-8")) > 255:  # the record's name may already be as long as the file system allows
            lock_name = ".o365-%s.lock" % hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
        self.record_path = path
        self.path = os.path.join(directory, lock_name)
        self._fd = None

    def acquire(self, what="report_path"):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as error:
            os.close(fd)
            if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise ConfigurationError(
                    "%s %s is being written by another run right now (its lock %s is held). Two runs never write one "
                    "record: give this run another path (a {run_id} in the path gives each run its own), or wait "
                    "for the other run to end. Nothing was sent." % (what, self.record_path, self.path))
            raise
        self._fd = fd
        return self

    @property
    def held(self):
        return self._fd is not None

    def __del__(self):
        # A Report dropped without close() (a test, a caller's early return) must not keep the record locked.
        self.release()

    def release(self):
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None


def claim(path, replace=False, check_mode=False, what="report_path"):
    """Take the record at ``path`` for this run: a RecordLock held until release(). Refused (ConfigurationError,
    before any call) when the path holds a file and ``replace`` is not set, and in check mode whenever it holds a
    real run's record."""
    lock = RecordLock(path).acquire(what)
    try:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            if check_mode and existing_record_is_real(path):
                raise ConfigurationError(
                    "%s %s holds %s; a check-mode run never writes over a real run's record. Give the dry run "
                    "another path. Nothing was sent." % (what, path, describe_existing(path)))
            if not replace:
                raise ConfigurationError(
                    "%s %s already holds %s; a run never replaces another run's record. Give this run another path "
                    "(a {run_id} in the path gives each run its own), or replace it on purpose with "
                    "report_replace=true. Nothing was sent." % (what, path, describe_existing(path)))
    except BaseException:
        lock.release()
        raise
    return lock


class Report:
    """Where and how to write the report; checked before any network call.

    ``run_id`` (a new one when not given) and ``incident`` go into the report; ``claim_path`` (on by default) takes
    the path for this run at once: refused when it holds a file and ``replace`` is not set (in check mode: whenever
    it holds a real run's record), locked until close() or the process ends. ``cwd``: where relative paths start
    (the directory the user ran the command in)."""

    def __init__(self, path, report_format=None, run_id=None, incident=None, replace=False, check_mode=False,
                 cwd=None, claim_path=True):
        self.run_id = run_id or new_run_id()
        self.incident = incident
        self.check_mode = check_mode
        self.path = resolve_path(path.replace(RUN_ID_PLACEHOLDER, self.run_id), cwd)
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
        self.lock = claim(self.path, replace, check_mode) if claim_path else None

    @classmethod
    def from_params(cls, params, run_id=None, check_mode=False, cwd=None):
        if not params.get("report_path"):
            return None
        return cls(params["report_path"], params.get("report_format"), run_id=run_id,
                   incident=params.get("incident"), replace=bool(params.get("report_replace")),
                   check_mode=check_mode, cwd=cwd)

    def journal(self, clock=time.time):
        """The journal of this run at the report's path."""
        return Journal(self.path, clock, run_id=self.run_id, incident=self.incident)

    def render(self, module_name, generated_at, results, summary, failure=None):
        if self.format == "csv":
            text = io.StringIO()
            # RFC 4180's CRLF: the writer quotes a cell holding any character of the line terminator, so a lone
            # CR inside a cell (which readers take as a line break) cannot split a row in two.
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(REPORT_COLUMNS + ("run_id",))
            for entry in results:
                writer.writerow(csv_row(entry) + [self.run_id])
            return text.getvalue().encode("utf-8")
        document = {"report_format_version": REPORT_FORMAT_VERSION, "module": module_name,
                    "run_id": self.run_id, "incident": self.incident, "check_mode": self.check_mode,
                    "generated_at": generated_at, "failed": failure is not None, "msg": failure,
                    "summary": summary, "results": results}
        return (json.dumps(document, indent=2, sort_keys=False) + "\n").encode("utf-8")

    def write(self, module_name, generated_at, results, summary, failure=None):
        write_atomically(self.path, self.render(module_name, generated_at, results, summary, failure))

    def close(self):
        if self.lock is not None:
            self.lock.release()


# Graph's documented write quota for identity and access (tests/contract/FACTS.md; Microsoft's "Microsoft Graph
# service-specific throttling limits"): what a long run's plan is timed by.
WRITE_QUOTA = 3000
WRITE_QUOTA_WINDOW_S = 150
JOURNAL_FORMAT = "o365.admin journal 1"


def journal_head(text):
    """The head line of a journal (a dict) when ``text`` is one - the trace of a run that did not finish - else None.
    Readers of records use it to say so instead of "not JSON"."""
    try:
        head = json.loads(text.split("\n", 1)[0])
    except ValueError:
        return None
    return head if isinstance(head, dict) and head.get("journal") == JOURNAL_FORMAT else None


def quota_time_s(writes):
    """The least time ``writes`` take under Graph's write quota: the first window's worth goes at once."""
    if writes <= WRITE_QUOTA:
        return 0
    return int(round(float(writes - WRITE_QUOTA) / WRITE_QUOTA * WRITE_QUOTA_WINDOW_S))


SENDING = "sending"


class Journal:
    """The run's journal at the report's path: a plan line, then JSON lines, each flushed: before each write
    leaves, a ``sending`` line naming its users (their outcome ``unknown`` until a later line says otherwise); then
    one line per outcome.

    Never raises: the first write that fails stops the journal and is kept in ``problem`` (for a warning)."""

    def __init__(self, path, clock=time.time, run_id=None, incident=None):
        self.path = path
        self.clock = clock
        self.run_id = run_id
        self.incident = incident
        self.problem = None
        self.lines = 0
        self._stream = None

    def start(self, module_name, plan):
        """Replace whatever is at the path with a journal whose first line is ``plan``. The path is the run's own:
        Report claimed it (refused another run's record) before this."""
        head = dict(journal=JOURNAL_FORMAT, module=module_name, run_id=self.run_id, incident=self.incident,
                    plan=plan)
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

    def sending(self, users, action, at=None):
        """Before a write leaves: one line naming ``users`` (dicts with at least ``user``; ``user_id`` and
        ``user_principal_name`` when known), each ``unknown`` until its outcome line comes. Flushed to the OS before
        the caller sends, so a kill -9 after it cannot lose them."""
        if self._stream is None or not users:
            return
        self.record({SENDING: action, "outcome": "unknown", "time": at,
                     "users": [dict((k, u.get(k)) for k in ("user", "user_id", "user_principal_name")) for u in users]})

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


def user_key(entry):
    """How journal lines of one user are joined: the object ID when known, else the UPN, else the name given."""
    for name in ("user_id", "user_principal_name", "user"):
        if entry.get(name):
            return (name == "user_id", str(entry[name]).lower())
    return (False, "")


def read_journal(path):
    """A journal (what a killed run leaves) as {head, results}: one entry per user, the last line about it winning;
    a user named in a ``sending`` line and in no later outcome line is ``unknown`` (its write may have been carried
    out). Lines cut off by the kill are ignored. Linear in the journal's size."""
    head, entries, order = None, {}, []
    with open(path) as handle:
        for line in handle:
            try:
                item = json.loads(line)
            except ValueError:
                continue  # the last line, cut off mid-write
            if not isinstance(item, dict):
                continue
            if head is None and "journal" in item:
                head = item
                continue
            if SENDING in item:
                for user in item.get("users") or []:
                    key = user_key(user)
                    if key not in entries:
                        order.append(key)
                        entries[key] = dict(user, outcome="unknown", changed=None,
                                            error={"code": None, "message": "the write was sent (journal line "
                                                   "'%s') and no answer was recorded: it may have been carried "
                                                   "out" % item[SENDING]})
                continue
            key = user_key(item)
            if key not in entries:
                order.append(key)
            entries[key] = item
    return {"head": head, "results": [entries[key] for key in order]}
