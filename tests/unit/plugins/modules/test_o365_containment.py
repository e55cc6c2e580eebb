# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_containment state=contained against a mocked Graph (responses): reads, blocks, revokes, verifies, records."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import re
import stat

import pytest
import responses

from ansible_collections.o365.admin.plugins.modules.o365_containment import main
from tests.unit.plugins.modules.conftest import USER_PATH, FakeDirectory
from tests.unit.plugins.modules.graph_options import GRAPH, graph_options

ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
ALEX_ID = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"
MEGAN_ID = "4d6f8a0c-2e4b-4d8f-9a1c-3e5b7d9f1a2c"
REVOKE_PATH = re.compile(r"^/v1\.0/users/(?P<key>[^/?]+)/revokeSignInSessions$")


class RevokingDirectory(FakeDirectory):
    """The shared fake, plus revokeSignInSessions (the timestamp becomes now) and the order of every write."""

    def __init__(self):
        super(RevokingDirectory, self).__init__()
        self.writes = []  # (kind, key) in the order Graph carried them out
        self.revoke_refuse = {}

    def answer(self, method, url, body):
        path = url.split("?")[0]
        path = path if path.startswith("/v1.0") else "/v1.0" + path.split("/v1.0")[-1]
        match = REVOKE_PATH.match(path)
        if method == "POST" and match:
            key = match.group("key").lower()
            if key in self.revoke_refuse:
                return self._error(*self.revoke_refuse[key])
            user = self.users[key]
            # A later second than any timestamp set before: the revoke is seen to move it.
            user["signInSessionsValidFromDateTime"] = datetime.datetime.now(
                datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.writes.append(("revoke", user["id"]))
            return 200, {"value": True}
        status, answer = super(RevokingDirectory, self).answer(method, url, body)
        if method == "PATCH" and status == 204:
            self.writes.append(("block", self.users[USER_PATH.match(path).group("key").lower()]["id"]))
        return status, answer


@pytest.fixture
def tenant():
    fake = RevokingDirectory()
    fake.add("adele@contoso.com", ADELE_ID)
    fake.add("alex@contoso.com", ALEX_ID, enabled=False)
    fake.add("megan@contoso.com", MEGAN_ID)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, GRAPH + "/$batch", callback=fake.batch)
        mock.add_callback(responses.POST, re.compile(re.escape(GRAPH) + r"/users/[^/]+/revokeSignInSessions$"),
                          callback=fake.single)
        for method in (responses.GET, responses.PATCH):
            mock.add_callback(method, re.compile(re.escape(GRAPH) + r"/users/[^/?]+(\?.*)?$"), callback=fake.single)
        fake.calls = mock.calls
        yield fake


def contained(**options):
    return graph_options(state="contained", **options)


def test_every_user_is_blocked_then_revoked_then_verified_and_recorded(run_module, tenant, tmp_path):
    record = str(tmp_path / "INC-1.json")
    users = ["adele@contoso.com", "alex@contoso.com", ADELE_ID]
    failed, result = run_module(main, contained(users=users, incident="INC-1", report_path=record,
                                                record_tenant="contoso"))
    assert not failed, result
    assert [e["outcome"] for e in result["results"]] == ["contained"] * 3
    assert result["contained_count"] == 2 and result["verified_count"] == 2
    # Every block before any revoke; each user written once, though named twice.
    kinds = [kind for kind, dummy in tenant.writes]
    assert kinds == ["block", "block", "revoke", "revoke"]
    assert sorted(key for kind, key in tenant.writes if kind == "revoke") == sorted([ADELE_ID, ALEX_ID])
    # The object ID (the rarer form) read to compare identities, then four waves: read, block, revoke, verify -
    # each one $batch call.
    assert [c.request.method for c in tenant.calls] == ["GET"] + ["POST"] * 4
    adele = result["results"][0]
    assert (adele["account_enabled_before"], adele["account_enabled_after"], adele["account_enabled_changed"]) == (
        True, False, True)
    alex = result["results"][1]
    # Already blocked before: written again, but not "changed by this incident" for a release.
    assert (alex["account_enabled_before"], alex["account_enabled_changed"]) == (False, False)
    assert adele["sessions_valid_from_before"] == "2026-01-01T00:00:00Z"
    assert adele["sessions_valid_from_after"] > adele["sessions_valid_from_before"]
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o600
    with open(record) as handle:
        document = json.load(handle)
    assert (document["schema_version"], document["kind"], document["incident"]) == (1, "containment", "INC-1")
    assert document["run_id"] == result["run_id"]
    assert [u["tenant"] for u in document["users"]] == ["contoso"] * 3
    assert result["msg"] == "Containment: contained 2. Record: %s." % record


def test_check_mode_reads_only_and_says_the_would_be_counts(run_module, tenant):
    failed, result = run_module(main, contained(users=["adele@contoso.com", "megan@contoso.com"]), check_mode=True)
    assert not failed, result
    assert tenant.writes == [] and tenant.patches == []
    assert result["would_contain_count"] == 2 and result["msg"].startswith("Check mode (nothing written): would_contain 2.")
    assert all(e["account_enabled_changed"] is False for e in result["results"])


def test_a_re_run_with_revoked_since_writes_nothing_once_two_reads_agree(run_module, tenant):
    users = ["adele@contoso.com", "megan@contoso.com"]
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert not run_module(main, contained(users=users, revoked_since=since))[0]
    written = len(tenant.writes)
    calls = len(tenant.calls)
    failed, result = run_module(main, contained(users=users, revoked_since=since))
    assert not failed, result
    assert len(tenant.writes) == written and result["changed"] is False
    assert result["already_contained_count"] == 2
    # The first read, then the second read that confirms it: no write.
    assert len(tenant.calls) - calls == 2


def test_a_refused_block_still_revokes_and_fails_the_task_saying_the_cause_once(run_module, tenant):
    tenant.refuse["megan@contoso.com"] = (403, "Authorization_RequestDenied")
    tenant.refuse["adele@contoso.com"] = (403, "Authorization_RequestDenied")
    failed, result = run_module(main, contained(users=["adele@contoso.com", "megan@contoso.com", "alex@contoso.com"]))
    assert failed
    assert result["failed_count"] == 2 and result["contained_count"] == 1
    assert ("revoke", MEGAN_ID) in tenant.writes and ("revoke", ADELE_ID) in tenant.writes
    assert result["msg"].count("Authorization_RequestDenied") == 1
    assert "2 user(s): adele@contoso.com, megan@contoso.com" in result["msg"]
    assert result["results"][0]["error"]["step"] == "block sign-in"


def test_an_excluded_user_is_never_read_nor_written(run_module, tenant):
    failed, result = run_module(main, contained(users=["adele@contoso.com", "megan@contoso.com"],
                                                exclude=["megan@contoso.com"]))
    assert not failed, result
    assert [e["outcome"] for e in result["results"]] == ["contained", "excluded"]
    assert all(key != MEGAN_ID for dummy, key in tenant.writes)
    assert not any("megan" in c.request.body.decode() if isinstance(c.request.body, bytes) else
                   "megan" in (c.request.body or "") for c in tenant.calls)


def test_diff_shows_before_and_after(run_module, tenant):
    args = contained(user="adele@contoso.com", _ansible_diff=True)
    failed, result = run_module(main, args)
    assert not failed, result
    (diff,) = result["diff"]
    assert diff["before"].startswith("account_enabled: true\nsessions_valid_from: 2026-01-01T00:00:00Z")
    assert diff["after"].startswith("account_enabled: false\nsessions_valid_from: 20")


def test_revoke_then_block_revokes_again_after_the_block(run_module, tenant):
    failed, result = run_module(main, contained(user="adele@contoso.com", order="revoke_then_block"))
    assert not failed, result
    assert [kind for kind, dummy in tenant.writes] == ["revoke", "block", "revoke"]
    assert result["results"][0]["revokes"] == 2
