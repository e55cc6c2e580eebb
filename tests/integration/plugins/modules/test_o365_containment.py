# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""o365_containment state=contained end to end: real ansible-playbook against the emulator (direct and Prism)."""

import datetime
import json
import os

DOMAIN = "contoso.onmicrosoft.com"
# Users of their own, apart from the other tests' users.
USERS = ["user%04d@%s" % (n, DOMAIN) for n in range(90, 100)]
PAYABLES = ["alex.wilber@" + DOMAIN, "user0003@" + DOMAIN, "user0004@" + DOMAIN]


def environment(scenario):
    app = scenario.emulator["apps"]["containment"]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": app["client_id"],
            "AZURE_CLIENT_SECRET": app["client_secret"]}


def directory(scenario):
    return dict((u["userPrincipalName"], u) for u in scenario.emulator.control("users", method="GET")["users"])


def enable(scenario, users):
    scenario.emulator.control("user_state", {"users": dict((user, {"accountEnabled": True}) for user in users)})


def writes(scenario):
    """Every PATCH and revoke Graph carried out or refused, alone or inside $batch, in order."""
    return [e for e in scenario.requests() if e["kind"] in ("graph", "batch_item")
            and (e["method"] == "PATCH" or e["path"].endswith("/revokeSignInSessions"))]


def contain(scenario, check=False, **variables):
    return scenario.run("containment.yml", dict(("o365_" + k, v) for k, v in variables.items()),
                        env=environment(scenario), check=check)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_mixed_list_is_blocked_then_revoked_once_each_verified_and_recorded(scenario):
    users = USERS[:4]
    enable(scenario, users)
    before = directory(scenario)
    # One user by object ID, one named twice (UPN in another case): four people, each written once.
    given = [users[0], before[users[1]]["id"], users[2], users[3], users[2].upper()]
    record_path = os.path.join(scenario.work_dir, "INC-1.json")
    run = contain(scenario, users=given, incident="INC-1", report_path=record_path)
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    assert [e["outcome"] for e in result["results"]] == ["contained"] * 5
    assert result["contained_count"] == 4 and result["verified_count"] == 4
    after = directory(scenario)
    assert all(after[u]["accountEnabled"] is False and after[u]["revocations"] == before[u]["revocations"] + 1
               for u in users)
    kinds = ["PATCH" if e["method"] == "PATCH" else "revoke" for e in writes(scenario)]
    assert kinds == ["PATCH"] * 4 + ["revoke"] * 4
    assert result["msg"] == "Containment: contained 4. Record: %s." % record_path
    with open(record_path) as handle:
        record = json.load(handle)
    assert (record["kind"], record["incident"], record["run_id"]) == ("containment", "INC-1", result["run_id"])
    entry = record["users"][0]
    assert (entry["user_id"], entry["user_principal_name"]) == (before[users[0]]["id"], users[0])
    assert (entry["account_enabled_before"], entry["account_enabled_after"], entry["account_enabled_changed"]) == (
        True, False, True)
    assert entry["sessions_valid_from_after"] and entry["tenant"] == scenario.emulator["tenant_id"]


def test_a_group_with_an_exclusion_leaves_the_excluded_member_untouched(scenario):
    enable(scenario, PAYABLES)
    before = directory(scenario)
    try:
        run = contain(scenario, groups=["Finance - Payables"], exclude=[PAYABLES[2]])
        assert run.rc == 0, run.stdout + run.stderr
        by_user = dict((e["user"], e) for e in run.result["results"])
        assert [by_user[u]["outcome"] for u in PAYABLES] == ["contained", "contained", "excluded"]
        after = directory(scenario)
        assert after[PAYABLES[2]] == before[PAYABLES[2]]
        assert not any(PAYABLES[2] in e["path"] or before[PAYABLES[2]]["id"] in e["path"] for e in scenario.requests()
                       if e["kind"] in ("graph", "batch_item") and "/groups" not in e["path"])
        assert run.result["excluded_count"] == 1 and run.result["resolved_groups"][0]["group"] == "Finance - Payables"
    finally:
        enable(scenario, PAYABLES)


def test_check_mode_writes_nothing_and_a_re_run_writes_nothing(scenario):
    users = USERS[4:7]
    enable(scenario, users)
    started = now()
    dry = contain(scenario, check=True, users=users, revoked_since=started)
    assert dry.rc == 0, dry.stdout + dry.stderr
    assert writes(scenario) == [] and dry.result["changed"] is True
    assert dry.result["msg"] == "Check mode (nothing written): would_contain 3. Would block and revoke: %s." % (
        ", ".join(users))
    first = contain(scenario, users=users, revoked_since=started)
    assert first.rc == 0, first.stdout + first.stderr
    sent = len(writes(scenario))
    assert sent == 6
    again = contain(scenario, users=users, revoked_since=started)
    assert again.rc == 0, again.stdout + again.stderr
    assert len(writes(scenario)) == sent and again.result["changed"] is False
    assert again.result["msg"] == "Containment: already_contained 3."


def test_a_proxy_page_in_the_middle_is_unknown_never_success(scenario):
    scenario.route.require_direct("a proxy's page breaks the contract on purpose")
    users = USERS[7:10]
    enable(scenario, users)
    # The read and the block go through; the revoke wave's $batch is carried out and answered with HTML items.
    scenario.faults(batch_answer_next=[{"shape": "item_html", "skip": 2}])
    run = contain(scenario, users=users, max_retries=0)
    assert run.rc != 0
    result = run.result
    assert [e["outcome"] for e in result["results"]] == ["unknown"] * 3
    assert all(e["changed"] is None and e["revoke_outcome"] == "unknown" for e in result["results"])
    assert result["msg"].count("Unknown (revoke sessions: HTTP 200") == 1 and "3 user(s)" in result["msg"]
    assert "running the task again is safe" in result["msg"]


def test_one_throttled_user_is_retried_and_contained(scenario):
    users = USERS[:3]
    enable(scenario, users)
    scenario.faults(fail_user_next={users[1]: [{"status": 429, "retry_after": "1"}]})
    run = contain(scenario, users=users)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["contained_count"] == 3 and run.result["retries"] >= 1


def test_a_leaver_graph_no_longer_has_is_absent_with_the_option_and_fails_without(scenario):
    users = USERS[7:9]
    enable(scenario, users)
    gone = "left.last.year@%s" % DOMAIN  # no such user: Graph answers 404
    refused = contain(scenario, users=users + [gone])
    assert refused.rc != 0
    assert [e["outcome"] for e in refused.result["results"]] == ["contained", "contained", "failed"]
    enable(scenario, users)
    done = contain(scenario, users=users + [gone], absent_is_done=True)
    assert done.rc == 0, done.stdout + done.stderr
    assert [e["outcome"] for e in done.result["results"]] == ["contained", "contained", "absent"]
    assert done.result["absent_count"] == 1 and "absent 1" in done.result["msg"]
    assert not any(gone in e["path"] for e in writes(scenario))
