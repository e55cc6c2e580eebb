# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The merge of records (_record_merge): the refusals, the tenants' table, the users' runs, and the merged record
written under the record rules and read by the release."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.o365.admin.plugins.module_utils import _record_merge as merging
from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._record_merge import (
    NO_PART, NO_RECORD, UNSAID, MergedRecord, MergeRefused, Part, host_part, merge, read_record_file)
from ansible_collections.o365.admin.plugins.module_utils._release import load_record, rows_of
from ansible_collections.o365.admin.plugins.module_utils._report import JOURNAL_FORMAT


def record(run_id, tenant="contoso", kind="containment", schema=1, users=None, failed=False, msg=None, **top):
    document = {"schema_version": schema, "kind": kind, "run_id": run_id, "incident": "INC-1", "check_mode": False,
                "tenants": [{"tenant": tenant, "failed": failed, "msg": msg}],
                "users": users if users is not None else [{"user": "adele@%s.com" % tenant, "run_id": run_id,
                                                           "tenant": tenant}]}
    document.update(top)
    return document


def file_part(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return read_record_file(str(path))


# --- refusals: each names the part, and nothing is merged -----------------------------------------------------------

REFUSALS = [
    ("unknown schema", [record("r1", schema=3)], "schema_version 3, kind containment; known: schema_version 1, 2"),
    ("no schema", [dict(record("r1"), schema_version=None)], "schema_version None"),
    ("unknown kind", [record("r1", kind="proof")], "kind proof"),
    ("not a mapping", [["a", "list"]], "schema_version missing, kind missing"),
    ("mixed kinds", [record("r1"), record("r2", kind="release", schema=2)],
     "p1.json is a record of kind release, and this merge is of kind containment (.*p0.json)"),
    ("check mode beside real", [record("r1"), record("r2", check_mode=True)],
     "p1.json is the record of a check-mode run and .*p0.json of a real one"),
    ("one run twice", [record("r1"), record("r1")], "Run r1 is in .*p0.json and in .*p1.json"),
    ("a merged record beside a slice it holds", [record("r1"), record("m", merged=True, runs=["r0", "r1"])],
     "Run r1 is in .*p0.json and in .*p1.json"),
    ("users not a list", [record("r1", users={"adele": {}})], "p0.json holds no list of user entries"),
    ("a user entry not a mapping", [record("r1", users=["adele"])], "p0.json holds no list of user entries"),
    ("tenants not a list", [record("r1", tenants="contoso")], "p0.json holds tenants that are not a list"),
]


@pytest.mark.parametrize("documents, message", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_a_part_that_cannot_be_merged_is_refused_naming_it(tmp_path, documents, message):
    parts = [file_part(tmp_path, "p%d.json" % n, d) for n, d in enumerate(documents)]
    with pytest.raises(MergeRefused, match=message) as refused:
        merge(parts, "me")
    assert refused.value.message.endswith("Nothing was written.")
    assert isinstance(refused.value, ConfigurationError)  # a module fails with it before anything is written


def test_the_kind_option_names_itself_when_a_record_is_of_another_kind(tmp_path):
    with pytest.raises(MergeRefused, match="kind release, and this merge is of kind containment \\(the kind option"):
        merge([file_part(tmp_path, "r.json", record("r1", kind="release", schema=2))], "me", kind="containment")


FILE_REFUSALS = [
    ("not JSON", "{not json", "r.json is not JSON"),
    ("a killed run's journal", json.dumps({"journal": JOURNAL_FORMAT, "run_id": "r9"}) + "\n{\"user\": \"a\"}\n",
     "r.json is the journal of a run that did not finish \\(run_id r9\\)"),
]


@pytest.mark.parametrize("text, message", [r[1:] for r in FILE_REFUSALS], ids=[r[0] for r in FILE_REFUSALS])
def test_a_file_that_is_no_record_is_refused_naming_it(tmp_path, text, message):
    (tmp_path / "r.json").write_text(text)
    with pytest.raises(MergeRefused, match=message):
        read_record_file(str(tmp_path / "r.json"))


def test_a_missing_file_is_refused_naming_it(tmp_path):
    with pytest.raises(MergeRefused, match="Could not read the record .*missing.json"):
        read_record_file(str(tmp_path / "missing.json"))


def test_nothing_to_merge_and_no_kind_to_tell_are_refused():
    with pytest.raises(MergeRefused, match="Nothing to merge"):
        merge([], "me")
    with pytest.raises(MergeRefused, match="give kind"):
        merge([host_part({"host": "contoso", "record": None, "failure": "boom"})], "me")
    assert merge([host_part({"host": "contoso", "record": None, "failure": "boom"})], "me",
                 kind="release")["schema_version"] == 2


# --- tenants: failed unless the record says failed: false and the host kept no failure ------------------------------

TENANTS = [
    # (tenant entry of the record, or "no record" / the fact kept when the module stopped early, failure, failed, msg)
    ("completed", {"tenant": "t", "failed": False, "msg": None}, None, False, None),
    ("its record says failed", {"tenant": "t", "failed": True, "msg": "AADSTS7000215"}, None, True, "AADSTS7000215"),
    ("the host's rescue kept a failure", {"tenant": "t", "failed": False, "msg": None}, "role: boom", True,
     "role: boom"),
    ("both: the record's why first", {"tenant": "t", "failed": True, "msg": "HTTP 403"}, "role: boom", True,
     "HTTP 403"),
    ("failed not said", {"tenant": "t", "msg": None}, None, True, UNSAID),
    ("failed not a bool", {"tenant": "t", "failed": "no"}, None, True, UNSAID),
    ("no record, a failure", None, "role: no token", True, "role: no token"),
    ("no record, no failure", None, None, True, NO_RECORD),
    ("empty text for a record (null under ansible-core 2.16)", "", "", True, NO_RECORD),
    ("contain_user's fact when its module stopped early", {"users": []}, "role: bad option", True,
     "role: bad option"),
]


@pytest.mark.parametrize("tenant, failure, failed, msg", [r[1:] for r in TENANTS], ids=[r[0] for r in TENANTS])
def test_each_tenant_is_failed_unless_it_said_it_completed(tenant, failure, failed, msg):
    if tenant is None or tenant == "" or "users" in tenant:
        kept = tenant
    else:
        kept = record("r1", tenant="t")
        kept["tenants"] = [tenant]
    merged = merge([host_part({"host": "contoso", "tenant": "t", "record": kept, "failure": failure})], "me",
                   kind="containment")
    (entry,) = merged["tenants"]
    assert (entry["host"], entry["tenant"], entry["failed"], entry["msg"]) == ("contoso", "t", failed, msg)
    assert merged["failed_tenants"] == (["contoso"] if failed else [])
    assert merged["failed"] is failed and merged["summary"]["failed_tenant_count"] == int(failed)


def test_a_host_of_the_play_that_handed_no_part_is_a_failed_tenant():
    merged = merge([host_part({"host": "contoso", "tenant": "t", "record": record("r1")})], "me",
                   hosts=["contoso", "fabrikam"])
    assert [(t["host"], t["failed"], t["msg"]) for t in merged["tenants"]] == [
        ("contoso", False, None), ("fabrikam", True, NO_PART)]
    assert merged["failed_tenants"] == ["fabrikam"]
    assert merged["msg"].startswith("Containment failed in fabrikam (no record: ")
    assert "the other 1 tenant(s) completed" in merged["msg"]


def test_the_failure_message_names_the_first_tenants_and_counts_the_rest():
    parts = [host_part({"host": "t%02d" % n, "record": None, "failure": "why %d" % n}) for n in range(12)]
    merged = merge(parts, "me", kind="release", path="/records/r.json")
    assert merged["msg"].startswith("The release failed in t00 (why 0); t01 (why 1)")
    assert "t09 (why 9); and 2 more (failed_tenants); no tenant completed. Every tenant's outcome is in " \
           "/records/r.json." in merged["msg"]
    assert len(merged["failed_tenants"]) == 12


def test_a_record_without_tenants_is_one_tenant_failed_unless_it_says_otherwise(tmp_path):
    old = record("r1")
    del old["tenants"]
    merged = merge([file_part(tmp_path, "old.json", dict(old, failed=False)),
                    file_part(tmp_path, "older.json", dict(old, run_id="r2"))], "me")
    assert [(t["record"], t["failed"]) for t in merged["tenants"]] == [
        (str(tmp_path / "old.json"), False), (str(tmp_path / "older.json"), True)]
    assert merged["failed_tenants"] == [str(tmp_path / "older.json")]  # no host, no tenant: the file names it


# --- users, runs, incident, check mode ------------------------------------------------------------------------------

def test_users_keep_their_run_tenant_and_incident_and_the_merge_its_own(tmp_path):
    slice1 = record("r1", tenant="contoso", users=[{"user": "adele@contoso.com"},
                                                   {"user": "alex@contoso.com", "run_id": "r0", "tenant": "x",
                                                    "incident": "INC-0"}])
    slice2 = record("r2", tenant="fabrikam", incident="INC-2", users=[{"user": "ben@fabrikam.com"}])
    merged = merge([file_part(tmp_path, "s1.json", slice1), file_part(tmp_path, "s2.json", slice2)], "me")
    assert [(u["user"], u["tenant"], u["run_id"], u["incident"]) for u in merged["users"]] == [
        ("adele@contoso.com", "contoso", "r1", "INC-1"), ("alex@contoso.com", "x", "r0", "INC-0"),
        ("ben@fabrikam.com", "fabrikam", "r2", "INC-2")]
    assert (merged["run_id"], merged["runs"], merged["incident"]) == ("me", ["r1", "r2"], "INC-1, INC-2")
    assert merged["records"] == [str(tmp_path / "s1.json"), str(tmp_path / "s2.json")]
    assert [(t["host"], t["run_id"]) for t in merged["tenants"]] == [(None, "r1"), (None, "r2")]
    merge([host_part({"host": "contoso", "record": slice1})], "me")
    assert slice1["users"][0] == {"user": "adele@contoso.com"}  # a part's own record is not changed
    assert merge([file_part(tmp_path, "s1.json", slice1)], "me", incident="CHG-7")["incident"] == "CHG-7"


def test_a_merge_of_merged_records_keeps_every_tenant_and_the_original_runs(tmp_path):
    first = merge([host_part({"host": "contoso", "record": record("r1", tenant="contoso")}),
                   host_part({"host": "adatum", "record": None, "failure": "no token"})], "m1")
    second = merge([host_part({"host": "fabrikam", "record": record("r2", tenant="fabrikam")})], "m2")
    merged = merge([file_part(tmp_path, "m1.json", first), file_part(tmp_path, "m2.json", second)], "me")
    assert merged["runs"] == ["r1", "r2"]
    assert [(t["host"], t["failed"]) for t in merged["tenants"]] == [
        ("contoso", False), ("adatum", True), ("fabrikam", False)]
    assert merged["failed_tenants"] == ["adatum"]
    assert [u["run_id"] for u in merged["users"]] == ["r1", "r2"]


@pytest.mark.parametrize("parts_dry, module_dry, expected", [
    (False, False, False), (True, False, True), (False, True, True), (True, True, True)])
def test_the_merged_record_is_a_dry_runs_when_its_parts_or_the_merge_are(parts_dry, module_dry, expected):
    parts = [host_part({"host": "contoso", "record": record("r1", check_mode=parts_dry)})]
    assert merge(parts, "me", check_mode=module_dry)["check_mode"] is expected


@pytest.mark.parametrize("kind, schema", [("containment", 1), ("release", 2)])
def test_the_merged_record_carries_its_kinds_schema(kind, schema):
    for part_schema in (1, 2):
        merged = merge([host_part({"host": "h", "record": record("r1", kind=kind, schema=part_schema)})], "me")
        assert (merged["kind"], merged["schema_version"], merged["merged"]) == (kind, schema, True)


def test_the_release_reads_a_merged_record_and_each_user_keeps_its_runs_id(tmp_path):
    parts = [host_part({"host": "contoso", "record": record("r1", tenant="contoso")}),
             host_part({"host": "fabrikam", "record": record("r2", tenant="fabrikam")})]
    target = MergedRecord(str(tmp_path / "merged.json"), "me")
    try:
        target.write_record(merge(parts, "me", path=target.path))
    finally:
        target.close()
    loaded = load_record(target.path)
    assert [(row.tenant, row.run_id) for row in rows_of([(target.path, loaded)])] == [
        ("contoso", "r1"), ("fabrikam", "r2")]


def test_the_merge_is_linear_one_pass_over_the_users(tmp_path, monkeypatch):
    # Each user entry is copied once, whatever the number of parts (no list grown by concatenation).
    copies = []
    real = merging.user_entries

    def counting(part, tenants):
        users = real(part, tenants)
        copies.append(len(users))
        return users

    monkeypatch.setattr(merging, "user_entries", counting)
    users = [{"user": "u%d" % i} for i in range(100)]
    parts = [host_part({"host": "h%d" % n, "record": record("r%d" % n, users=users)}) for n in range(30)]
    merged = merge(parts, "me")
    assert copies == [100] * 30 and len(merged["users"]) == 3000


# --- writing: the record rules of every record --------------------------------------------------------------------

def write_merge(path, run_id="me", **kwargs):
    target = MergedRecord(path, run_id, **kwargs)
    try:
        target.write_record(merge([host_part({"host": "h", "record": record("r-" + run_id)})], run_id,
                                  path=target.path))
    finally:
        target.close()
    return target.path


def test_the_record_is_written_0600_and_run_id_names_its_file(tmp_path):
    path = write_merge(str(tmp_path / "merged-{run_id}.json"), run_id="abc")
    assert path == str(tmp_path / "merged-abc.json")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert json.loads(open(path).read())["run_id"] == "abc"


WRITE_REFUSALS = [
    # (what is at the path, replace, check mode, refused with)
    ("another run's record", False, False, "already holds the record of a run \\(run_id first\\)"),
    ("another run's record", True, False, None),
    ("another run's record", True, True, "a check-mode run never writes over a real run's record"),
    ("a check-mode record", False, True, "already holds the record of a run \\(run_id first, check mode\\)"),
    ("a check-mode record", True, True, None),
    ("a killed run's journal", False, False, "already holds the journal of a run that did not finish"),
]


@pytest.mark.parametrize("existing, replace, check_mode, refusal", WRITE_REFUSALS,
                         ids=["%s, replace=%s, check_mode=%s" % r[:3] for r in WRITE_REFUSALS])
def test_what_is_at_the_path_is_refused_unless_replaced_on_purpose(tmp_path, existing, replace, check_mode, refusal):
    path = str(tmp_path / "merged.json")
    before = {"another run's record": json.dumps({"run_id": "first", "kind": "containment", "check_mode": False}),
              "a check-mode record": json.dumps({"run_id": "first", "check_mode": True}),
              "a killed run's journal": json.dumps({"journal": JOURNAL_FORMAT, "run_id": "first"}) + "\n"}[existing]
    with open(path, "w") as handle:
        handle.write(before)
    if refusal is None:
        write_merge(path, replace=replace, check_mode=check_mode)
        assert json.loads(open(path).read())["run_id"] == "me"
        return
    with pytest.raises(ConfigurationError, match=refusal):
        write_merge(path, replace=replace, check_mode=check_mode)
    assert open(path).read() == before


def test_a_second_merge_into_the_first_merges_record_is_refused(tmp_path):
    path = write_merge(str(tmp_path / "merged.json"), run_id="first")
    written = open(path).read()
    with pytest.raises(ConfigurationError, match="already holds the record of a run \\(run_id first\\)"):
        write_merge(path, run_id="second")
    assert open(path).read() == written


def test_a_merge_is_refused_while_another_process_holds_the_records_lock(tmp_path):
    path = str(tmp_path / "merged.json")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600); "
                               "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
         str(tmp_path / ".merged.json.lock")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigurationError, match="is being written by another run right now"):
            write_merge(path)
        assert not os.path.exists(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    write_merge(path)  # the lock let go with its process: the path is free
    assert json.loads(open(path).read())["run_id"] == "me"


def test_a_part_keeps_where_it_came_from():
    part = Part("s.json", {"users": []}, path="s.json")
    assert (part.source, part.host, part.tenant, part.failure, part.path) == ("s.json", None, None, None, "s.json")
