# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_revoke_sessions with users (JSON batching) and the token cache, end to end through ansible-playbook."""

import json
import os
import stat

LOAD_USERS = ["user%04d@contoso.onmicrosoft.com" % n for n in range(1, 121)]


def batch_items(scenario, method=None):
    return [e for e in scenario.requests("batch_item") if method is None or e["method"] == method]


def revocation_counts(scenario, users):
    counts = {u["userPrincipalName"]: u["revocations"]
              for u in scenario.emulator.control("users", method="GET")["users"]}
    return [counts[user] for user in users]


def test_bulk_revoke_in_batches_of_twenty(scenario):
    users = LOAD_USERS[:45]
    run = scenario.run("revoke_many.yml", {"o365_users": users})
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    assert [entry["user"] for entry in result["results"]] == users
    assert all(e["changed"] and e["all_sessions_revoked"] and e["status_code"] == 200 and e["outcome"] == "revoked"
               for e in result["results"])
    assert (result["revoked_count"], result["failed_users"], result["batches"], result["retries"]) == (45, [], 3, 0)
    assert (result["failed_count"], result["unknown_count"], result["unknown_users"]) == (0, 0, [])
    batch_calls = [e for e in scenario.requests("graph") if e["path"] == "/v1.0/$batch"]
    assert sorted(e["batch_items"] for e in batch_calls) == [5, 20, 20]
    assert len(batch_items(scenario, "POST")) == 45 and len(scenario.requests("token")) == 1


def test_mixed_failures_keep_every_outcome_and_fail_the_task(scenario):
    users = ["user0001@contoso.onmicrosoft.com", "ghost@contoso.onmicrosoft.com",
             "$svc-legacy@contoso.onmicrosoft.com", "USER0001@contoso.onmicrosoft.com"]
    run = scenario.run("revoke_many.yml", {"o365_users": users})
    assert run.rc != 0
    result = run.result
    assert [e["user"] for e in result["results"]] == users
    assert result["failed_users"] == ["ghost@contoso.onmicrosoft.com"]
    ghost = result["results"][1]
    assert ghost["status_code"] == 404 and ghost["error"]["code"] == "Request_ResourceNotFound"
    assert ghost["changed"] is False and ghost["all_sessions_revoked"] is False and ghost["outcome"] == "failed"
    assert result["results"][-1]["all_sessions_revoked"] is True  # the duplicate shares user0001's outcome
    assert "could not be revoked: ghost@contoso.onmicrosoft.com (404 Request_ResourceNotFound)" in result["msg"]
    assert len(batch_items(scenario, "POST")) == len(users) - 1  # the duplicate was sent once


def test_throttled_items_are_retried_in_a_later_batch(scenario):
    scenario.faults(fail_next=[{"status": 429, "retry_after": 1}, {"status": 429, "retry_after": 1}])
    users = LOAD_USERS[:10]
    run = scenario.run("revoke_many.yml", {"o365_users": users})
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["revoked_count"] == 10 and run.result["retries"] == 2 and run.result["batches"] == 2
    items = batch_items(scenario, "POST")
    assert [e["status"] for e in items].count(429) == 2 and len(items) == 12
    retried = [e["path"] for e in items if e["status"] == 429]
    assert all([e["status"] for e in items if e["path"] == path] == [429, 200] for path in retried)
    assert run.result["elapsed_s"] >= 1.0


def test_check_mode_with_users_reads_them_and_revokes_nothing(scenario):
    run = scenario.run("revoke_many.yml", {"o365_users": LOAD_USERS[:25] + ["ghost@contoso.onmicrosoft.com"]},
                       check=True)
    assert run.rc != 0 and run.result["failed_users"] == ["ghost@contoso.onmicrosoft.com"]
    assert "could not be confirmed" in run.result["msg"]
    assert batch_items(scenario, "POST") == [] and len(batch_items(scenario, "GET")) == 26
    assert all(e["user_confirmed"] for e in run.result["results"][:25])


def test_invalid_reference_in_a_list_sends_nothing(scenario):
    run = scenario.run("revoke_many.yml", {"o365_users": LOAD_USERS[:5] + ["x@contoso.onmicrosoft.com?$top=999"]})
    assert run.rc != 0 and "Invalid user reference" in run.result["msg"]
    assert scenario.requests() == []


def test_token_cache_serves_the_second_task_from_a_private_file(scenario):
    run = scenario.run("revoke_many.yml", {"o365_users": LOAD_USERS[:3], "o365_second_task": True})
    assert run.rc == 0, run.stdout + run.stderr
    assert len(run.tasks) == 2
    assert len(scenario.requests("token")) == 1 and len(scenario.requests("openid")) == 1
    assert stat.S_IMODE(os.stat(scenario.token_cache_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(scenario.token_cache_path)).st_mode) == 0o700
    with open(scenario.token_cache_path) as handle:
        cached = handle.read()
    assert scenario.emulator["client_secret"] not in cached


def test_corrupt_token_cache_is_ignored_with_a_warning_and_rebuilt(scenario):
    os.makedirs(os.path.dirname(scenario.token_cache_path), mode=0o700)
    # 0600 as the module writes it: a file others can read is distrusted before it is parsed.
    with open(os.open(scenario.token_cache_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        handle.write('{"format": 1, "partitions": {"trunc')
    run = scenario.run("revoke_many.yml", {"o365_users": LOAD_USERS[:2]})
    assert run.rc == 0, run.stdout + run.stderr
    assert any("not valid JSON" in w for w in run.warnings())
    with open(scenario.token_cache_path) as handle:
        assert json.load(handle)["format"] == 1
    assert len(scenario.requests("token")) == 1


def test_parallel_forks_share_one_token(scenario):
    inventory = os.path.join(scenario.work_dir, "inventory.ini")
    with open(inventory, "w") as handle:
        handle.write("[revokers]\n" + "".join("fork%d\n" % n for n in range(6)))
    run = scenario.run("revoke_many.yml", {"o365_users": LOAD_USERS[:3], "o365_hosts": "revokers"},
                       inventory=inventory, forks=6)
    assert run.rc == 0, run.stdout + run.stderr
    assert "ok=1" in run.stdout and run.stdout.count("changed=1") == 6
    assert len(scenario.requests("token")) == 1
    with open(scenario.token_cache_path) as handle:
        assert len(json.load(handle)["partitions"]) == 1


def test_every_item_sent_with_a_stale_cached_token_is_resent_in_every_call_in_flight(scenario):
    """Issue 10, #2: 60 users, 3 $batch calls out at once with a cached token that predates the permission. The
    token is renewed once and all 60 items are sent again (before, only the call that renewed got real answers)."""
    app = scenario.emulator["apps"]["reader-only"]
    env = dict(scenario.default_environment(), AZURE_CLIENT_ID=app["client_id"], AZURE_CLIENT_SECRET=app["client_secret"])
    users = LOAD_USERS[60:120]
    before = revocation_counts(scenario, users)
    dry_run = scenario.run("revoke_many.yml", {"o365_users": users}, env=env, check=True)  # caches a read-only token
    assert dry_run.rc == 0, dry_run.stdout + dry_run.stderr
    scenario.emulator.control("apps", {"client_id": app["client_id"], "roles": app["roles"] + ["User.RevokeSessions.All"]})
    try:
        run = scenario.run("revoke_many.yml", {"o365_users": users, "o365_batch_concurrency": 4}, env=env)
    finally:
        scenario.emulator.control("apps", {"client_id": app["client_id"], "roles": app["roles"]})
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["outcome"] for e in run.result["results"]] == ["revoked"] * 60 and run.result["revoked_count"] == 60
    statuses = [e["status"] for e in batch_items(scenario, "POST")]
    assert sorted(statuses) == [200] * 60 + [403] * 60
    assert len(scenario.requests("token")) == 2  # one per run: the cached one was renewed once
    assert revocation_counts(scenario, users) == [count + 1 for count in before]  # the emulator's own record
