# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.o365.admin.plugins.module_utils import _release
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._user_read import USER_PROPERTIES, UserRead

T1 = "2026-11-24T09:30:00Z"
T2 = "2026-11-24T11:00:00Z"
T0 = "2026-11-24T08:00:00Z"
BLOCKED_BY_RUN = dict(user="a@contoso.com", user_id="11111111-1111-1111-1111-111111111111",
                      user_principal_name="a@contoso.com", tenant="t1", account_enabled_before=True,
                      account_enabled_after=False, account_enabled_changed=True, sessions_valid_from_after=T1)


def row(entry=None, check_mode=False, **changes):
    record = {"schema_version": 2, "kind": "containment", "check_mode": check_mode, "run_id": "run-1", "users": []}
    return _release.Row(dict(entry or BLOCKED_BY_RUN, **changes), "r.json", record)


@pytest.mark.parametrize("changes, check_mode, wanted, excluded, reason", [
    ({}, False, set(), set(), None),
    ({}, False, {"b@contoso.com"}, set(), _release.NOT_NAMED),
    ({}, False, {"11111111-1111-1111-1111-111111111111"}, set(), None),  # named by object ID
    ({}, False, set(), {"a@contoso.com"}, _release.EXCLUDED),
    ({}, True, set(), set(), _release.CHECK_MODE_RECORD),
    ({"account_enabled_before": False, "account_enabled_changed": False}, False, set(), set(),
     _release.BLOCKED_BEFORE),
    ({"account_enabled_changed": False}, False, set(), set(), "the incident did not block it (sign-in outcome: None)"),
    ({"account_enabled_after": None}, False, set(), set(), "the incident did not block it (sign-in outcome: None)"),
    ({"account_enabled_before": None}, False, set(), set(), "the incident did not block it (sign-in outcome: None)"),
    ({"sessions_valid_from_after": None}, False, set(), set(), _release.NO_TIMESTAMP),
    ({"sessions_valid_from_after": "not a time"}, False, set(), set(), _release.NO_TIMESTAMP),
])
def test_what_the_record_alone_rules_out(changes, check_mode, wanted, excluded, reason):
    assert _release.record_reason(row(check_mode=check_mode, **changes), wanted, excluded) == reason


def read(status=200, body=None, unknown=False):
    answer = BatchOutcome(status, body, "req-1", unknown=unknown)
    names = dict(USER_PROPERTIES)
    properties = dict((names[k], v) for k, v in (body or {}).items()) if answer.ok and isinstance(body, dict) else {}
    return UserRead(answer, properties)


def graph(enabled, sessions):
    return read(body={"id": BLOCKED_BY_RUN["user_id"], "userPrincipalName": "a@contoso.com",
                      "accountEnabled": enabled, "signInSessionsValidFromDateTime": sessions})


@pytest.mark.parametrize("answer, verdict, says", [
    (graph(False, T1), "release", None),
    (graph(False, "2026-11-24T09:30:00.000Z"), "release", None),  # the same second, written another way
    (graph(True, T1), "skipped", "already allowed"),
    (graph(False, T2), "skipped", "blocked again since"),
    (graph(False, T0), "skipped", "does not match the record"),
    (graph(False, None), "skipped", "does not match the record"),
    (graph(None, T1), "failed", "no accountEnabled"),
    (read(404, {"error": {"code": "Request_ResourceNotFound"}}), "skipped", "no longer in the directory"),
    (read(403, {"error": {"code": "Authorization_RequestDenied"}}), "failed", "could not be read"),
    (read(None, None, unknown=True), "failed", "could not be read"),
    (None, "failed", "could not be read"),
])
def test_a_candidate_is_released_only_when_graph_shows_what_its_run_left(answer, verdict, says):
    outcome, reason = _release.graph_verdict(row(), answer)
    assert outcome == verdict
    assert (reason is None) if says is None else (says in reason)


def test_of_several_records_the_latest_candidate_decides_and_order_is_first_seen():
    older = row(sessions_valid_from_after=T1)
    newer = row(sessions_valid_from_after=T2)
    not_blocked = row(account_enabled_changed=False)
    other = row(user="b@contoso.com", user_id="22222222-2222-2222-2222-222222222222", user_principal_name="b@x.com")
    chosen = _release.choose_rows([not_blocked, older, other, newer], set(), set())
    assert chosen == [newer, other]
    assert _release.choose_rows([newer, older], set(), set()) == [newer]


def test_choosing_is_linear_in_the_records_size():
    rows = [row(user="u%d@contoso.com" % n, user_id=None, user_principal_name="u%d@contoso.com" % n)
            for n in range(20000)]
    assert len(_release.choose_rows(rows + rows, set(), set())) == 20000


def test_tenants_a_row_without_a_tenant_is_ours_and_none_of_ours_is_refused():
    ours, theirs, unnamed = row(tenant="t1"), row(tenant="t2"), row(tenant=None)
    assert _release.rows_of_tenant([ours, theirs, unnamed], lambda name: name == "t1") == [ours, unnamed]
    assert _release.rows_of_tenant([theirs], lambda name: name == "t1") is None
    assert _release.rows_of_tenant([], lambda name: False) == []
    message = _release.foreign_tenant_message([theirs], ["t1"])
    assert "t2" in message and "t1" in message and "Nothing was sent" in message


def token(claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return "%s.%s.sig" % (part({"alg": "RS256"}), part(claims))


def test_the_tenant_comes_from_the_tokens_tid():
    assert _release.token_tenant(token({"tid": "ABC"})) == "abc"
    assert _release.token_tenant(token({"roles": []})) is None
    assert _release.token_tenant("opaque") is None


@pytest.mark.parametrize("content, says", [
    (None, "missing, unreadable or not JSON"),
    ("{not json", "missing, unreadable or not JSON"),
    ('{"journal": "o365.admin journal 1", "run_id": "r9"}\n{"user": "a"}\n', "journal of a run that did not finish"),
    (json.dumps({"schema_version": 3, "kind": "containment", "users": []}), "schema_version 3"),
    (json.dumps({"schema_version": 2, "kind": "release", "users": []}), "kind release"),
    (json.dumps([1]), "not a containment record"),
])
def test_a_record_that_cannot_be_released_from_is_refused_before_any_call(tmp_path, content, says):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(_release.RecordError) as error:
        _release.load_record(str(path))
    assert says in str(error.value) and "Nothing was sent" in str(error.value)


@pytest.mark.parametrize("version", [1, 2])
def test_older_and_current_schemas_are_read(tmp_path, version):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema_version": version, "kind": "containment", "users": [BLOCKED_BY_RUN]}))
    assert _release.load_record(str(path))["users"] == [BLOCKED_BY_RUN]
