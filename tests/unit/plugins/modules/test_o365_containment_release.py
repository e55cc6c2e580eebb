# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_containment state=released (this branch holds only the release) driven through main() against a mocked
Graph: the run's plumbing around the decisions test__release.py tables."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.o365.admin.plugins.modules.o365_containment import main
from tests.unit.plugins.modules.graph_options import graph_options

ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
ALEX_ID = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
T = "2026-01-01T00:00:00Z"  # the fake directory's sessions timestamp


@pytest.fixture
def tenant(directory):
    directory.add("adele@contoso.com", ADELE_ID, enabled=False)
    directory.add("alex@contoso.com", ALEX_ID, enabled=False)
    return directory


def write_record(tmp_path, users, name="record.json", **top):
    record = dict({"schema_version": 2, "kind": "containment", "run_id": "run-c", "incident": "INC-1",
                   "check_mode": False}, users=[dict({"tenant": None, "account_enabled_before": True,
                                                      "account_enabled_after": False, "account_enabled_changed": True,
                                                      "sessions_valid_from_after": T}, **u) for u in users], **top)
    path = tmp_path / name
    path.write_text(json.dumps(record))
    return str(path)


def users_record(tmp_path, **top):
    return write_record(tmp_path, [{"user": "adele@contoso.com", "user_id": ADELE_ID},
                                   {"user": "alex@contoso.com", "user_id": ALEX_ID}], **top)


def test_release_reads_then_allows_and_writes_its_record(run_module, tenant, tmp_path):
    report = tmp_path / "release.json"
    failed, result = run_module(main, graph_options(state="released", records=[users_record(tmp_path)],
                                                    report_path=str(report), incident="CHG-1"))
    assert not failed, result
    assert (result["allowed_count"], result["skipped_count"]) == (2, 0)
    assert [tenant.users[k]["accountEnabled"] for k in ("adele@contoso.com", "alex@contoso.com")] == [True, True]
    record = json.loads(report.read_text())
    assert (record["kind"], record["schema_version"], record["run_id"], record["incident"]) == (
        "release", 2, result["run_id"], "CHG-1")
    assert record["records"] == [str(tmp_path / "record.json")] and record["record_run_ids"] == ["run-c"]
    assert all(u["access_returns_by"] and u["run_id"] == "run-c" for u in record["users"])


def test_the_journal_names_the_users_before_the_patch_leaves(run_module, tenant, tmp_path, monkeypatch):
    from ansible_collections.o365.admin.plugins.module_utils import _graph_batch
    report = tmp_path / "release.json"
    seen = []
    real_send = _graph_batch.BatchRun._send

    def send(run, chunk):
        if any(item.request.method == "PATCH" for item in chunk):
            seen.append([json.loads(line) for line in report.read_text().splitlines()])
        return real_send(run, chunk)
    monkeypatch.setattr(_graph_batch.BatchRun, "_send", send)
    failed, result = run_module(main, graph_options(state="released", records=[users_record(tmp_path)],
                                                    report_path=str(report)))
    assert not failed, result
    journal = seen[0]
    assert journal[0]["journal"] and journal[0]["run_id"] == result["run_id"]
    assert journal[-1]["sending"] == "accountEnabled=true" and journal[-1]["outcome"] == "unknown"
    assert sorted(u["user_id"] for u in journal[-1]["users"]) == sorted([ADELE_ID, ALEX_ID])


def test_check_mode_writes_nothing_to_graph_and_says_who_would_be_allowed_with_a_diff(run_module, tenant, tmp_path):
    args = graph_options(state="released", records=[users_record(tmp_path)], _ansible_diff=True)
    failed, result = run_module(main, args, check_mode=True)
    assert not failed, result
    assert result["would_allow_count"] == 2 and result["allowed_count"] == 0
    assert [c for c in tenant.calls if c.request.method == "PATCH"] == [] and tenant.patches == []
    assert len(result["diff"]) == 2


def test_more_users_than_max_users_is_refused_before_any_write(run_module, tenant, tmp_path):
    failed, result = run_module(main, graph_options(state="released", records=[users_record(tmp_path)], max_users=1))
    assert failed and "more than max_users (1)" in result["msg"] and tenant.patches == []


def test_a_write_refused_fails_after_the_record_with_each_users_outcome(run_module, tenant, tmp_path):
    tenant.refuse[ADELE_ID.lower()] = (403, "Authorization_RequestDenied")
    report = tmp_path / "release.json"
    failed, result = run_module(main, graph_options(state="released", records=[users_record(tmp_path)],
                                                    report_path=str(report)))
    assert failed and "could not be released" in result["msg"]
    record = json.loads(report.read_text())
    assert record["failed"] and [u["outcome"] for u in record["users"]] == ["failed", "allowed"]
    assert "User.EnableDisableAccount.All" in record["users"][0]["error"]["explanation"]


def test_an_existing_record_at_report_path_is_refused_before_any_call(run_module, tenant, tmp_path):
    report = tmp_path / "release.json"
    report.write_text('{"run_id": "earlier", "check_mode": false}')
    failed, result = run_module(main, graph_options(state="released", records=[users_record(tmp_path)],
                                                    report_path=str(report)))
    assert failed and "run_id earlier" in result["msg"] and len(tenant.calls) == 0
    assert report.read_text() == '{"run_id": "earlier", "check_mode": false}'


def test_users_and_groups_options_that_name_targets_are_refused_with_released(run_module, tenant, tmp_path):
    failed, result = run_module(main, graph_options(state="released", records=[users_record(tmp_path)],
                                                    groups=["Finance"]))
    assert failed and "not groups" in result["msg"] and len(tenant.calls) == 0
