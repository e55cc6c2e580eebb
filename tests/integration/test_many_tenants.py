# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tenants as inventory (issue 20), end to end: three tenants, each an emulator of its own, contained in parallel
by playbooks/contain_tenants.yml with one tenant's credential wrong, then released from the merged record by
playbooks/release_users.yml. Direct only: Prism fronts one emulator, and the single-tenant release scenarios run
through it (tests/integration/roles/test_release_user.py)."""

import glob
import json
import os
import subprocess
import sys

import pytest

from tests.integration.tenants import Tenant, run_playbook, write_inventory

INCIDENT = "INC-20"


@pytest.fixture(scope="module")
def tenants(tmp_path_factory, collections_path):
    work_dir = str(tmp_path_factory.mktemp("tenants"))
    started = []
    try:
        for name in ("contoso", "fabrikam", "adatum"):
            started.append(Tenant(name, work_dir, 6))
        yield started
    finally:
        for tenant in started:
            tenant.stop()


def playbook(collections_path, name):
    return os.path.join(collections_path, "ansible_collections", "o365", "admin", "playbooks", name)


def writes(tenant, offset):
    return [e for e in tenant.emulator.log_since(offset) if e["kind"] in ("graph", "batch_item")
            and (e["method"] == "PATCH" or e["path"].endswith("/revokeSignInSessions"))]


def load(path):
    with open(path) as handle:
        return json.load(handle)


def test_three_tenants_one_with_a_wrong_credential_then_release_from_the_merged_record(
        tenants, tmp_path, collections_path):
    contoso, fabrikam, adatum = tenants
    work_dir = str(tmp_path)
    cache_path = os.path.join(work_dir, "cache", "token_cache.json")
    inventory = write_inventory(os.path.join(work_dir, "tenants.json"), tenants, cache_path,
                                wrong_secret_for=("adatum",))
    # Before the incident: user0002 is already blocked in contoso and fabrikam.
    for tenant in (contoso, fabrikam):
        tenant.set_enabled(tenant.users[:4], True)
        tenant.set_enabled([tenant.users[1]], False)
    offsets = dict((t.name, t.emulator.log_size()) for t in tenants)
    record_path = os.path.join(work_dir, "containment-record.json")

    contained = run_playbook(playbook(collections_path, "contain_tenants.yml"), inventory, work_dir,
                             collections_path, forks=3,
                             extra_vars={"users_by_tenant": dict((t.name, t.users[:3]) for t in tenants),
                                         "incident": INCIDENT, "report_path": record_path})
    output = contained.stdout + contained.stderr
    assert contained.returncode != 0, output  # a tenant failed: the run says so, after the record
    assert "Containment failed in adatum" in output, output
    assert "not-the-secret" not in output and contoso.client_secret not in output

    record = load(record_path)
    assert (record["schema_version"], record["kind"], record["merged"], record["incident"]) == (
        1, "containment", True, INCIDENT)
    # The merge's own run; each tenant's containment run, once; each user keeps the run that contained it.
    runs = dict((t["host"], t["run_id"]) for t in record["tenants"])
    assert record["run_id"] and record["run_id"] not in runs.values() and len(set(runs.values())) == 3
    assert record["runs"] == [runs[t["host"]] for t in record["tenants"]]
    assert all(u["run_id"] == runs[next(t.name for t in tenants if t.tenant_id == u["tenant"])]
               for u in record["users"])
    by_host = dict((t["host"], t) for t in record["tenants"])
    assert sorted(by_host) == ["adatum", "contoso", "fabrikam"]
    assert not by_host["contoso"]["failed"] and not by_host["fabrikam"]["failed"]
    assert by_host["adatum"]["failed"] and "AADSTS7000215" in by_host["adatum"]["msg"]
    assert record["failed_tenants"] == ["adatum"]
    good = [u for u in record["users"] if u["tenant"] in (contoso.tenant_id, fabrikam.tenant_id)]
    assert sorted(u["user_principal_name"] for u in good) == sorted(contoso.users[:3] + fabrikam.users[:3])
    for entry in good:
        blocked_before = entry["user_principal_name"].startswith("user0002@")
        assert entry["incident"] == INCIDENT and entry["user_id"]
        assert (entry["account_enabled_before"], entry["account_enabled_after"], entry["account_enabled_changed"]) \
            == ((False, False, False) if blocked_before else (True, False, True)), entry
        assert entry["sessions_valid_from_before"] == "2026-01-01T00:00:00Z"
        assert entry["sessions_valid_from_after"] > entry["sessions_valid_from_before"]
    # The failed tenant's users are never reported as contained: no Graph call reached it.
    assert not [u for u in record["users"] if u["tenant"] == adatum.tenant_id and u["account_enabled_changed"]]
    assert [e for e in adatum.emulator.log_since(offsets["adatum"]) if e["kind"] != "token" and e["kind"] != "openid"] \
        == []
    for tenant in (contoso, fabrikam):
        state = tenant.directory()
        assert all(state[u]["accountEnabled"] is False for u in tenant.users[:3])
        # Each tenant's token was requested once and served to that tenant only, from its own cache partition.
        assert len([e for e in tenant.emulator.log_since(offsets[tenant.name]) if e["kind"] == "token"]) == 1
    with open(cache_path) as handle:
        assert len(json.load(handle)["partitions"]) == 2

    # Since the incident, fabrikam's user0003 was allowed again by hand.
    fabrikam.set_enabled([fabrikam.users[2]], True)
    release = playbook(collections_path, "release_users.yml")
    release_vars = {"tenant_hosts": "tenants", "records": record_path,
                    "report_path": os.path.join(work_dir, "release-check.json")}
    offsets = dict((t.name, t.emulator.log_size()) for t in tenants)
    dry = run_playbook(release, inventory, work_dir, collections_path, extra_vars=release_vars, check=True, diff=True)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert all(writes(t, offsets[t.name]) == [] for t in tenants)
    outcomes = dict((u["user_principal_name"], (u["outcome"], u["reason"]))
                    for u in load(release_vars["report_path"])["users"])
    expected = {
        contoso.users[0]: ("would_allow", None), contoso.users[1]: ("skipped", "was already blocked before the incident"),
        contoso.users[2]: ("would_allow", None),
        fabrikam.users[0]: ("would_allow", None), fabrikam.users[1]: ("skipped", "was already blocked before the incident"),
        fabrikam.users[2]: ("skipped", "already allowed")}
    # The failed tenant's users are in the record with their failure, and so skipped (its credential is still
    # wrong: nothing is sent there, so nothing fails).
    expected.update(dict((u, ("skipped", "the incident did not block it (sign-in outcome: failed)"))
                         for u in adatum.users[:3]))
    assert outcomes == expected
    # --diff shows accountEnabled per user, named by the object ID the record holds.
    ids = dict((u["user_principal_name"], u["user_id"]) for u in record["users"])
    assert ids[contoso.users[0]] + " (before)" in dry.stdout and ids[contoso.users[1]] + " (before)" not in dry.stdout

    release_vars["report_path"] = os.path.join(work_dir, "release.json")
    released = run_playbook(release, inventory, work_dir, collections_path, extra_vars=release_vars)
    assert released.returncode == 0, released.stdout + released.stderr
    release_record = load(release_vars["report_path"])
    assert (release_record["schema_version"], release_record["kind"], release_record["incident"]) == (
        2, "release", INCIDENT)
    assert sorted(u["user_principal_name"] for u in release_record["users"] if u["outcome"] == "allowed") == sorted(
        [contoso.users[0], contoso.users[2], fabrikam.users[0]])
    for tenant, allowed in ((contoso, [0, 2]), (fabrikam, [0, 2])):
        state = tenant.directory()
        assert [state[u]["accountEnabled"] for u in tenant.users[:3]] == [n in allowed for n in range(3)]
    assert len(writes(contoso, offsets["contoso"])) == 2 and len(writes(fabrikam, offsets["fabrikam"])) == 1

    offsets = dict((t.name, t.emulator.log_size()) for t in tenants)
    release_vars["report_path"] = os.path.join(work_dir, "release-again-{run_id}.json")  # a record of its own
    again = run_playbook(release, inventory, work_dir, collections_path, extra_vars=release_vars)
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(writes(t, offsets[t.name]) == [] for t in tenants)
    (again_path,) = glob.glob(os.path.join(work_dir, "release-again-*.json"))
    assert not [u for u in load(again_path)["users"] if u["outcome"] != "skipped"]
    assert load(again_path)["run_id"] in again_path


def runner_slice(private_data_dir, ident, limit, extra_vars, collections_path):
    """One slice of an AWX sliced job: `ansible-runner run` over the tenant inventory, limited to the slice's
    tenants (AWX hands each slice its share of the hosts), with artifacts of its own."""
    with open(os.path.join(private_data_dir, "env", "extravars"), "w") as handle:
        json.dump(extra_vars, handle)
    with open(os.path.join(private_data_dir, "env", "envvars"), "w") as handle:
        json.dump({"ANSIBLE_COLLECTIONS_PATH": collections_path, "ANSIBLE_FORCE_COLOR": "False"}, handle)
    environment = {"PATH": os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin",
                   "HOME": os.path.join(private_data_dir, "home"), "LANG": "C.UTF-8"}
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-runner"), "run", private_data_dir,
                           "-p", "playbooks/contain_tenants.yml", "--ident", ident, "--limit", limit, "--forks", "3"],
                          env=environment, capture_output=True, text=True, check=False, timeout=600)


def stats_artifact(private_data_dir, ident):
    """What set_stats published in a slice, as AWX reads it (the playbook_on_stats event's artifact_data)."""
    for path in glob.glob(os.path.join(private_data_dir, "artifacts", ident, "job_events", "*.json")):
        event = load(path)
        if event.get("event") == "playbook_on_stats":
            return event["event_data"].get("artifact_data", {})
    raise AssertionError("no playbook_on_stats event in %s" % ident)


def test_a_sliced_run_under_ansible_runner_and_the_merge_of_the_slices_records(tenants, tmp_path, collections_path):
    contoso, fabrikam, adatum = tenants
    work_dir = str(tmp_path)
    for tenant in tenants:
        tenant.set_enabled(tenant.users[3:6], True)
    private_data_dir = os.path.join(work_dir, "private_data_dir")
    for sub in ("env", "inventory", "home"):
        os.makedirs(os.path.join(private_data_dir, sub))
    # The project is the collection's checkout, as an AWX project of this repository.
    os.symlink(os.path.join(collections_path, "ansible_collections", "o365", "admin"),
               os.path.join(private_data_dir, "project"))
    write_inventory(os.path.join(private_data_dir, "inventory", "tenants.json"), tenants,
                    os.path.join(work_dir, "cache", "token_cache.json"), wrong_secret_for=("adatum",))
    slices = {"slice1": "contoso,adatum", "slice2": "fabrikam"}  # AWX deals the hosts out in turn
    records = []
    for ident, limit in sorted(slices.items()):
        record_path = os.path.join(work_dir, ident + "-record.json")
        records.append(record_path)
        completed = runner_slice(private_data_dir, ident, limit, {
            "users_by_tenant": dict((t.name, t.users[3:6]) for t in tenants), "incident": "INC-20-sliced",
            "report_path": record_path}, collections_path)
        artifacts = os.path.join(private_data_dir, "artifacts", ident)
        with open(os.path.join(artifacts, "status")) as handle:
            status = handle.read().strip()
        assert status == ("failed" if "adatum" in limit else "successful"), completed.stdout + completed.stderr
        assert sorted(t["host"] for t in load(record_path)["tenants"]) == sorted(limit.split(","))
        assert stats_artifact(private_data_dir, ident)["containment_record"] == load(record_path)

    merged_path = os.path.join(work_dir, "merged.json")
    merged = run_playbook(playbook(collections_path, "merge_records.yml"), "localhost,", work_dir, collections_path,
                          extra_vars={"records": records, "report_path": merged_path})
    # adatum failed: the merge says so after writing the record.
    assert merged.returncode != 0 and "Containment failed in adatum" in merged.stdout, merged.stdout + merged.stderr
    record = load(merged_path)
    assert (record["kind"], record["merged"], record["incident"]) == ("containment", True, "INC-20-sliced")
    assert sorted(t["host"] for t in record["tenants"]) == ["adatum", "contoso", "fabrikam"]
    assert record["failed_tenants"] == ["adatum"]
    assert record["runs"] == load(records[0])["runs"] + load(records[1])["runs"] and len(set(record["runs"])) == 3
    changed = sorted(u["user_principal_name"] for u in record["users"] if u["account_enabled_changed"])
    assert changed == sorted(contoso.users[3:6] + fabrikam.users[3:6])

    # A second merge into the first merge's path (another run's record) is refused; the first record is intact.
    with open(merged_path) as handle:
        first = handle.read()
    again = run_playbook(playbook(collections_path, "merge_records.yml"), "localhost,", work_dir, collections_path,
                         extra_vars={"records": records, "report_path": merged_path, "fail_on_failed_tenants": False})
    assert again.returncode != 0, again.stdout + again.stderr
    assert "already holds the record of a run (run_id %s)" % record["run_id"] in again.stdout, again.stdout
    with open(merged_path) as handle:
        assert handle.read() == first
    # Replaced on purpose, with the failed tenant only listed.
    replaced = run_playbook(playbook(collections_path, "merge_records.yml"), "localhost,", work_dir, collections_path,
                            extra_vars={"records": records, "report_path": merged_path, "report_replace": True,
                                        "fail_on_failed_tenants": False})
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert load(merged_path)["run_id"] != record["run_id"] and load(merged_path)["failed_tenants"] == ["adatum"]

    # A record of another kind is refused and nothing is written.
    with open(records[1], "w") as handle:
        json.dump({"schema_version": 1, "kind": "release", "users": []}, handle)
    refused = run_playbook(playbook(collections_path, "merge_records.yml"), "localhost,", work_dir, collections_path,
                           extra_vars={"records": records, "report_path": os.path.join(work_dir, "refused.json")})
    assert refused.returncode != 0 and "is a record of kind release, and this merge is of kind containment" in \
        refused.stdout, refused.stdout + refused.stderr
    assert not os.path.exists(os.path.join(work_dir, "refused.json"))
