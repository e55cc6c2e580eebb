# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Merged records (``o365_containment_record``): the records of an AWX sliced job's slices, or the record of each
tenant host of a play, made into one record that the release reads.

Internal to this collection, may change without notice.

A merged record lists every tenant of its parts (a tenant that failed, with why; a host that handed no record, as
failed with ``no record: ...``), every user with its tenant and the run that wrote it, the run IDs of its parts
(``runs``) and its own run ID. Every part is checked before anything is written: an unknown ``schema_version``,
records of two kinds, check-mode runs beside real ones, or one run given twice refuse the merge, naming the part.
The record is then written as every record is (_report: a lock, never over another run's record unless asked,
never over a real run's record in check mode, atomically, mode 0600). Linear in the parts' size.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.o365.admin.plugins.module_utils._containment import RECORD_KIND, RECORD_SCHEMA_VERSION
from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._release import KNOWN_SCHEMAS
from ansible_collections.o365.admin.plugins.module_utils._release import SCHEMA_VERSION as RELEASE_SCHEMA_VERSION
from ansible_collections.o365.admin.plugins.module_utils._report import Report, journal_head, write_atomically
from ansible_collections.o365.admin.plugins.module_utils._sessions_valid_from import format_time, utc_now

MODULE_NAME = "o365.admin.o365_containment_record"
RELEASE_KIND = "release"
# What a merged record of each kind carries: the schema its kind's own writer writes now, so the release (and a
# later merge) reads it as it reads that writer's records.
MERGED_SCHEMA = {RECORD_KIND: RECORD_SCHEMA_VERSION, RELEASE_KIND: RELEASE_SCHEMA_VERSION}
KINDS = (RECORD_KIND, RELEASE_KIND)
NO_RECORD = "no record: the run stopped before writing it"
NO_PART = ("no record: the host handed none to the merge (unreachable, or stopped before it kept its record and "
           "failure)")
UNSAID = "the record does not say that this tenant completed (no failed: false)"
# A failure message names this many tenants with their reasons; failed_tenants names them all.
LISTED = 10


class MergeRefused(ConfigurationError):
    """A part that cannot be merged: said before anything is written."""


class Part:
    """One part of the merge: a record (None when its run left none), where it came from, and for a tenant host of a
    play its host, tenant and the failure its rescue kept."""

    __slots__ = ("source", "record", "host", "tenant", "failure", "path")

    def __init__(self, source, record, host=None, tenant=None, failure=None, path=None):
        self.source = source
        self.record = record
        self.host = host
        self.tenant = tenant
        self.failure = failure
        self.path = path


def read_record_file(path):
    """The Part of the record file at ``path``; MergeRefused naming the file when it cannot be read, is not JSON, or
    is the journal of a run that did not finish."""
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError, UnicodeDecodeError) as error:
        raise MergeRefused("Could not read the record %s (%s: %s). Nothing was written."
                           % (path, type(error).__name__, error))
    try:
        record = json.loads(text)
    except ValueError:
        head = journal_head(text)
        if head is not None:
            raise MergeRefused("%s is the journal of a run that did not finish (run_id %s), not a record: its users "
                               "whose writes were sent are unknown. Run it again to get a record, then merge that. "
                               "Nothing was written." % (path, head.get("run_id")))
        raise MergeRefused("%s is not JSON, so not a record this collection wrote. Nothing was written." % path)
    return Part(path, record, path=path)


def is_no_record(record):
    """Whether a host's record fact says its run left no record: none at all, or what contain_user keeps when its
    module stopped before one (no schema_version, no kind, no users)."""
    if record is None or record == "":
        return True
    return isinstance(record, dict) and not any(record.get(key) for key in ("schema_version", "kind", "users"))


def host_part(item):
    """The Part of one entry of the module's ``parts``: host, tenant, record (or none), failure."""
    record = item.get("record")
    return Part(item["host"], None if is_no_record(record) else record, host=item["host"],
                tenant=item.get("tenant") or None, failure=item.get("failure") or None)


def check_record(part):
    """The record's kind, once its shape is one a merge knows; MergeRefused naming the part otherwise."""
    record = part.record
    shape = record if isinstance(record, dict) else {}
    if not isinstance(record, dict) or record.get("schema_version") not in KNOWN_SCHEMAS or \
            record.get("kind") not in KINDS:
        raise MergeRefused("%s is not a record this merge knows (schema_version %s, kind %s; known: schema_version "
                           "%s, of kind %s). Nothing was written."
                           % (part.source, shape.get("schema_version", "missing"), shape.get("kind", "missing"),
                              ", ".join(str(v) for v in KNOWN_SCHEMAS), " or ".join(KINDS)))
    users = record.get("users")
    if not isinstance(users, list) or not all(isinstance(entry, dict) for entry in users):
        raise MergeRefused("%s holds no list of user entries (users), so its users cannot be merged. Nothing was "
                           "written." % part.source)
    tenants = record.get("tenants")
    if tenants is not None and not (isinstance(tenants, list) and all(isinstance(t, dict) for t in tenants)):
        raise MergeRefused("%s holds tenants that are not a list of tenant entries. Nothing was written."
                           % part.source)
    return record["kind"]


def runs_of(record):
    """The run IDs a record holds: a merged record's parts' runs, else the run that wrote it (none for a record
    older than run IDs)."""
    if record.get("merged") and isinstance(record.get("runs"), list):
        return [run for run in record["runs"] if run]
    return [record["run_id"]] if record.get("run_id") else []


def checked(parts, kind=None):
    """The kind of the merge, after every part is checked: one kind (``kind`` when given, else the first record's),
    all check-mode runs or none, no run in two parts. MergeRefused naming the parts otherwise."""
    said_by = "the kind option" if kind is not None else None
    dry, real, seen = None, None, {}
    for part in parts:
        if part.record is None:
            continue
        part_kind = check_record(part)
        if kind is None:
            kind, said_by = part_kind, part.source
        if part_kind != kind:
            raise MergeRefused("%s is a record of kind %s, and this merge is of kind %s (%s): a merged record holds "
                               "one kind; merge containment and release records apart. Nothing was written."
                               % (part.source, part_kind, kind, said_by))
        if part.record.get("check_mode") is True:
            dry = dry or part
        else:
            real = real or part
        if dry is not None and real is not None:
            raise MergeRefused("%s is the record of a check-mode run and %s of a real one: merged, the release could "
                               "not tell which users were really contained. Merge them apart. Nothing was written."
                               % (dry.source, real.source))
        for run in runs_of(part.record):
            if run in seen:
                raise MergeRefused("Run %s is in %s and in %s: merged twice, its users would be listed twice. Give "
                                   "each record once. Nothing was written." % (run, seen[run], part.source))
            seen[run] = part.source
    if kind is None:
        raise MergeRefused("No part holds a record, so the merge cannot tell its kind: give kind (containment or "
                           "release). Nothing was written.")
    return kind


def tenant_entries(part):
    """The tenants of one part, each with its host, tenant, run, and failed (fail closed: a tenant is failed unless
    its record says failed: false and its host kept no failure) with why."""
    record = part.record
    if record is None:
        return [dict(host=part.host, tenant=part.tenant, run_id=None, failed=True, msg=part.failure or NO_RECORD)]
    listed = record.get("tenants") or [dict(tenant=None, failed=record.get("failed"), msg=record.get("msg"))]
    entries = []
    for tenant in listed:
        entry = dict(tenant)
        entry["host"] = tenant.get("host") or part.host
        entry["tenant"] = tenant.get("tenant") or part.tenant
        if entry.get("run_id") is None:
            entry["run_id"] = record.get("run_id")
        if part.path is not None and not entry.get("record"):
            entry["record"] = part.path
        failed = tenant.get("failed") is not False or part.failure is not None
        entry["failed"] = failed
        entry["msg"] = (tenant.get("msg") or part.failure or UNSAID) if failed else tenant.get("msg")
        entries.append(entry)
    return entries


def user_entries(part, tenants):
    """The users of one part, copied, each with its tenant, run and incident (a merged record's run and incident are
    the merge's, so each user keeps those of the run that wrote it)."""
    record = part.record
    if record is None:
        return []
    named = [t["tenant"] for t in tenants if t.get("tenant")]
    default_tenant = named[0] if len(named) == 1 else part.tenant
    users = []
    for user in record["users"]:
        entry = dict(user)
        for key, value in (("tenant", default_tenant), ("run_id", record.get("run_id")),
                           ("incident", record.get("incident"))):
            if entry.get(key) is None and value is not None:
                entry[key] = value
        users.append(entry)
    return users


def tenant_name(entry):
    return entry.get("host") or entry.get("tenant") or entry.get("record") or "a tenant not named"


def failure_message(kind, tenants, failed, path):
    """What the merge says when a tenant failed: which, why, and where every outcome is."""
    word = "Containment" if kind == RECORD_KIND else "The release"
    named = "; ".join("%s (%s)" % (tenant_name(t), t["msg"]) for t in failed[:LISTED])
    if len(failed) > LISTED:
        named += "; and %d more (failed_tenants)" % (len(failed) - LISTED)
    completed = len(tenants) - len(failed)
    return ("%s failed in %s; %s. Every tenant's outcome is in %s."
            % (word, named, "the other %d tenant(s) completed" % completed if completed else "no tenant completed",
               path or "the merged record"))


def merge(parts, run_id, kind=None, incident=None, check_mode=False, hosts=None, path=None):
    """The merged record of ``parts`` (Parts, in order) as a dict; ``hosts``: the play's hosts, each one that handed
    no part listed as a failed tenant. MergeRefused (nothing written) when a part cannot be merged."""
    if not parts and not hosts:
        raise MergeRefused("Nothing to merge: give records (record files) or parts (the tenant hosts' records). "
                           "Nothing was written.")
    kind = checked(parts, kind)
    tenants, users, runs, incidents, paths, handed = [], [], [], [], [], set()
    for part in parts:
        handed.add(part.host)
        entries = tenant_entries(part)
        tenants.extend(entries)
        users.extend(user_entries(part, entries))
        if part.path is not None:
            paths.append(part.path)
        if part.record is not None:
            runs.extend(runs_of(part.record))
            said = part.record.get("incident")
            if said and said not in incidents:
                incidents.append(said)
    for host in hosts or []:
        if host not in handed:
            handed.add(host)
            tenants.append(dict(host=host, tenant=None, run_id=None, failed=True, msg=NO_PART))
    failed = [t for t in tenants if t["failed"]]
    message = failure_message(kind, tenants, failed, path) if failed else None
    dry = check_mode or any(p.record.get("check_mode") is True for p in parts if p.record is not None)
    return {
        "schema_version": MERGED_SCHEMA[kind], "kind": kind, "module": MODULE_NAME, "merged": True,
        "run_id": run_id, "runs": runs, "records": paths,
        "incident": incident or ", ".join(incidents) or None,
        "generated_at": format_time(utc_now().replace(microsecond=0)), "check_mode": dry,
        "tenants": tenants, "failed_tenants": [tenant_name(t) for t in failed],
        "failed": bool(failed), "msg": message,
        "summary": {"tenant_count": len(tenants), "failed_tenant_count": len(failed), "user_count": len(users)},
        "users": users,
    }


class MergedRecord(Report):
    """Where the merged record goes: the path checks, the run's claim on the path (lock, never over another run's
    record unless ``replace``, never over a real run's record in check mode) and the atomic 0600 write are
    _report's. Claimed at once; close() lets go."""

    def __init__(self, path, run_id, replace=False, check_mode=False, cwd=None):
        super(MergedRecord, self).__init__(path, "json", run_id=run_id, replace=replace, check_mode=check_mode,
                                           cwd=cwd)

    def write_record(self, document):
        write_atomically(self.path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))
