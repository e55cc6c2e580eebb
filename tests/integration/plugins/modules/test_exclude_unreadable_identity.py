# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An excluded user is never written, even when its identity cannot be read (issue 24), end to end: real
ansible-playbook, msal and requests against the Graph emulator, directly and through Prism.

``users: [alex's UPN, adele's object ID]`` with ``exclude: [adele's UPN]``: adele's identity read is refused
(403, the least-privilege app), fails with 503 past max_retries, or is answered ``{}``. She cannot be compared with
the exclude entry, so she is not written (she fails, saying why) and alex is. The emulator's own record of writes
(revocations, accountEnabled writes) is the judge, for o365_revoke_sessions and o365_user_sign_in.
"""

import pytest

DOMAIN = "contoso.onmicrosoft.com"
ADELE, ADELE_ID = "adele.vance@" + DOMAIN, "6e7b768e-07e2-4810-8459-485f84f8f204"
ALEX = "alex.wilber@" + DOMAIN
# o365_user_sign_in blocks load users (put back enabled after each test), so the demo's people stay as they are.
SIGN_IN_ALEX, SIGN_IN_ADELE, RELEASED = ["user%04d@%s" % (n, DOMAIN) for n in (90, 91, 92)]
NOBODY_ID = "0badc0de-0000-4000-8000-00000000dead"
MAX_RETRIES = 1
FAULTS = {
    "refused_403": None,  # the least-privilege app: it may write, not read users
    "unavailable_503_past_max_retries": [{"status": 503, "retry_after": "0"}] * (MAX_RETRIES + 1),
    "empty_2xx": [{"status": 200, "body": {}}],
}
LEAST_PRIVILEGE_APP = {"revoke": "revoke-only", "sign_in": "writes-only"}
# Apps that may read users too.
READING_APP = {"revoke": "o365-admin-demo", "sign_in": "sign-in-only"}


@pytest.fixture(autouse=True)
def enabled_again(scenario):
    yield
    scenario.emulator.control("user_state", {"users": dict((user, {"accountEnabled": True}) for user in (
        SIGN_IN_ALEX, SIGN_IN_ADELE, RELEASED))})


def directory(scenario):
    return dict((u["userPrincipalName"], u) for u in scenario.emulator.control("users", method="GET")["users"])


def app_environment(scenario, app):
    credentials = scenario.emulator["apps"][app]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": credentials["client_id"],
            "AZURE_CLIENT_SECRET": credentials["client_secret"]}


def written(before, after, key):
    return dict((upn, after[upn][key] - before[upn][key]) for upn in after if after[upn][key] != before[upn][key])


@pytest.mark.parametrize("module", ["revoke", "sign_in"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_an_excluded_user_is_never_written_when_her_identity_cannot_be_read(scenario, module, fault):
    people = directory(scenario)
    alex, adele = (ALEX, ADELE) if module == "revoke" else (SIGN_IN_ALEX, SIGN_IN_ADELE)
    adele_id = people[adele]["id"]
    scenario.emulator.control("user_state", {"users": {alex: {"accountEnabled": True},
                                                       adele: {"accountEnabled": True}}})
    if FAULTS[fault] is not None:
        scenario.faults(fail_user_next={adele_id: FAULTS[fault]})
    env = app_environment(scenario, (LEAST_PRIVILEGE_APP if fault == "refused_403" else READING_APP)[module])
    before = directory(scenario)
    run = scenario.run("revoke_incident.yml" if module == "revoke" else "sign_in.yml",
                       {"o365_users": [alex, adele_id], "o365_exclude": [adele], "o365_max_retries": MAX_RETRIES},
                       env=env)
    after = directory(scenario)
    key = "revocations" if module == "revoke" else "account_enabled_writes"
    # The emulator's record: alex written once, adele never.
    assert written(before, after, key) == {alex: 1}, run.stdout + run.stderr
    assert after[adele]["accountEnabled"] is True
    assert run.rc != 0  # adele was not written, and the task says so
    entries = dict((e["user"], e) for e in run.result["results"])
    assert entries[adele_id]["outcome"] == "failed"
    assert "could not be compared with the exclude" in entries[adele_id]["error"]["message"]
    assert run.result["failed_users"] == [adele_id] and adele_id in run.result["msg"]


@pytest.mark.parametrize("module", ["revoke", "sign_in"])
def test_an_exclude_entry_that_names_nobody_is_warned_about_and_returned(scenario, module):
    alex = ALEX if module == "revoke" else SIGN_IN_ALEX
    scenario.emulator.control("user_state", {"users": {alex: {"accountEnabled": True}}})
    run = scenario.run("revoke_incident.yml" if module == "revoke" else "sign_in.yml",
                       {"o365_users": [alex], "o365_exclude": [NOBODY_ID]},
                       env=app_environment(scenario, READING_APP[module]))
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["exclude_not_found"] == [NOBODY_ID]
    assert any(NOBODY_ID in warning and "protects nobody" in warning for warning in run.warnings()), run.warnings()


def test_a_block_is_not_skipped_on_a_stale_read_right_after_a_release(scenario):
    # Graph is eventually consistent: right after the release enabled the user, reads still say blocked.
    user = RELEASED
    scenario.emulator.control("user_state", {"users": {user: {"accountEnabled": False}}})
    scenario.faults(read_lag={"reads": 3})
    released = scenario.run("sign_in.yml", {"o365_user": user, "o365_state": "allowed"},
                            env=app_environment(scenario, "sign-in-only"))
    assert released.rc == 0 and directory(scenario)[user]["accountEnabled"] is True, released.stdout
    blocked = scenario.run("sign_in.yml", {"o365_user": user}, env=app_environment(scenario, "sign-in-only"))
    assert blocked.rc == 0, blocked.stdout + blocked.stderr
    entry = blocked.result["results"][0]
    assert entry["account_enabled_before"] is False  # the stale read
    assert directory(scenario)[user]["accountEnabled"] is False  # the emulator's record: blocked all the same
    assert (entry["outcome"], entry["block_rewritten"]) == ("unchanged", True)
