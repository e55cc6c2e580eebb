# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The release_user role through playbooks/release_users.yml, from a record of playbooks/offboard_users.yml: real
ansible-playbook against the Graph emulator, direct and through Prism."""

import json
import os
import stat

import pytest

from tests.integration.roles.test_contain_user import containment_environment, directory, now, writes

DOMAIN = "contoso.onmicrosoft.com"
USERS = ["user%04d@%s" % (n, DOMAIN) for n in range(106, 111)]
INCIDENT = "INC-4711"


def release(scenario, records, report_path, check=False, **extra):
    variables = {"records": records, "report_path": report_path}
    variables.update(extra)
    return scenario.run("release_users.yml", variables, env=containment_environment(scenario), check=check)


def load(path):
    with open(path) as handle:
        return json.load(handle)


def set_enabled(scenario, users, enabled):
    scenario.emulator.control("user_state", {"users": dict((u, {"accountEnabled": enabled}) for u in users)})


def outcomes(record):
    return dict((u["user_principal_name"] or u["user"], (u["outcome"], u["reason"])) for u in record["users"])


def test_release_allows_only_whom_the_incident_blocked_and_a_second_release_changes_nothing(scenario):
    set_enabled(scenario, USERS, True)
    set_enabled(scenario, [USERS[1]], False)  # blocked before the incident
    record_path = os.path.join(scenario.work_dir, "record.json")
    contained = scenario.run("offboard_users.yml", {"users": USERS[:4], "incident_started_at": now(),
                                                    "incident": INCIDENT, "report_path": record_path},
                             env=containment_environment(scenario))
    assert contained.rc == 0, contained.stdout + contained.stderr
    record = load(record_path)
    assert (record["schema_version"], record["kind"], record["incident"]) == (1, "containment", INCIDENT)
    entries = dict((u["user_principal_name"], u) for u in record["users"])
    assert [entries[u]["account_enabled_changed"] for u in USERS[:4]] == [True, False, True, True]
    assert all(entries[u]["tenant"] == scenario.emulator["tenant_id"] and entries[u]["incident"] == INCIDENT
               for u in USERS[:4])
    set_enabled(scenario, [USERS[2]], True)  # allowed by hand since

    offset = scenario.emulator.log_size()
    dry = release(scenario, record_path, os.path.join(scenario.work_dir, "dry.json"), check=True,
                  exclude=USERS[3])
    assert dry.rc == 0, dry.stdout + dry.stderr
    assert [e for e in scenario.emulator.log_since(offset) if e.get("method") == "PATCH"] == []
    assert outcomes(load(os.path.join(scenario.work_dir, "dry.json")))[USERS[0]] == ("would_allow", None)

    scenario.log_offset = scenario.emulator.log_size()
    release_path = os.path.join(scenario.work_dir, "release.json")
    released = release(scenario, record_path, release_path, exclude=USERS[3], release_ref="CHG-1")
    assert released.rc == 0, released.stdout + released.stderr
    release_record = load(release_path)
    assert stat.S_IMODE(os.stat(release_path).st_mode) == 0o600
    assert (release_record["kind"], release_record["incident"]) == ("release", "CHG-1")
    assert outcomes(release_record) == {
        USERS[0]: ("allowed", None), USERS[1]: ("skipped", "was already blocked before the incident"),
        USERS[2]: ("skipped", "already allowed"), USERS[3]: ("skipped", "excluded now")}
    state = directory(scenario)
    assert [state[u]["accountEnabled"] for u in USERS[:4]] == [True, False, True, False]
    assert [e["method"] for e in writes(scenario)] == ["PATCH"]

    # The second release is a run of its own: its record goes beside the first, never over it.
    offset = scenario.emulator.log_size()
    refused = release(scenario, record_path, release_path, users=[USERS[0]])
    assert refused.rc != 0 and "already holds the record of a run" in refused.stdout
    assert scenario.emulator.log_since(offset) == []  # refused before any call, not after the writes
    assert load(release_path) == release_record
    scenario.log_offset = scenario.emulator.log_size()
    again_path = os.path.join(scenario.work_dir, "release-again.json")
    again = release(scenario, record_path, again_path, users=[USERS[0], USERS[4]])
    assert again.rc == 0, again.stdout + again.stderr
    assert writes(scenario) == []
    assert outcomes(load(again_path)) == {
        USERS[0]: ("skipped", "already allowed"), USERS[1]: ("skipped", "not named in this release"),
        USERS[2]: ("skipped", "not named in this release"), USERS[3]: ("skipped", "not named in this release"),
        USERS[4]: ("skipped", "not in the record")}


@pytest.mark.parametrize("content, says", [
    (None, "missing, unreadable or not JSON"),
    ("{not json", "missing, unreadable or not JSON"),
    (json.dumps({"schema_version": 3, "kind": "containment", "users": []}), "schema_version 3"),
    (json.dumps({"schema_version": 1, "kind": "release", "users": []}), "kind release"),
    (json.dumps([1, 2]), "not a containment record"),
])
def test_a_record_it_cannot_read_or_whose_schema_it_does_not_know_is_refused_before_any_call(
        scenario, content, says):
    path = os.path.join(scenario.work_dir, "record.json")
    if content is not None:
        with open(path, "w") as handle:
            handle.write(content)
    run = release(scenario, path, os.path.join(scenario.work_dir, "release.json"))
    assert run.rc != 0
    assert says in run.stdout + run.stderr, run.stdout + run.stderr
    assert scenario.requests() == []  # no token request, no Graph call
    merged = load(os.path.join(scenario.work_dir, "release.json"))
    assert merged["tenants"][0]["failed"] and merged["users"] == []


def test_a_user_that_cannot_be_allowed_fails_the_release_after_its_record(scenario):
    set_enabled(scenario, USERS[:2], True)
    record_path = os.path.join(scenario.work_dir, "record.json")
    contained = scenario.run("offboard_users.yml", {"users": USERS[:2], "incident": INCIDENT,
                                                    "report_path": record_path}, env=containment_environment(scenario))
    assert contained.rc == 0, contained.stdout + contained.stderr
    app = scenario.emulator["apps"]["containment"]
    # An admin withdrew the app's permission to change sign-in since the incident.
    scenario.emulator.control("apps", {"client_id": app["client_id"],
                                       "roles": [r for r in app["roles"] if r != "User.EnableDisableAccount.All"]})
    try:
        scenario.log_offset = scenario.emulator.log_size()
        release_path = os.path.join(scenario.work_dir, "release.json")
        # A fresh token cache: the cached token still carries the withdrawn permission.
        run = release(scenario, record_path, release_path, o365_token_cache_path=os.path.join(scenario.work_dir, "c2.json"))
    finally:
        scenario.emulator.control("apps", {"client_id": app["client_id"], "roles": app["roles"]})
    assert run.rc != 0
    assert "The release failed" in run.stdout + run.stderr
    record = load(release_path)
    assert record["tenants"][0]["failed"] and "User.EnableDisableAccount.All" in record["tenants"][0]["msg"]
    assert [u["outcome"] for u in record["users"]] == ["failed", "failed"]
    assert all(u["error"]["code"] == "Authorization_RequestDenied" for u in record["users"])
    assert all(directory(scenario)[u]["accountEnabled"] is False for u in USERS[:2])
