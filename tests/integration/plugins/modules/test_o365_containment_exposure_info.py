# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a revoke did not close, end to end: o365_containment_exposure_info against the emulator's demo tenant (a
guest, a synced user, methods, a grant, an owned app with a secret, devices), with every permission and with one
part's permission missing."""

DOMAIN = "contoso.onmicrosoft.com"
ADELE = "6e7b768e-07e2-4810-8459-485f84f8f204"
GUEST = "AdeleVance_adatum.com#EXT#@" + DOMAIN
USERS = [ADELE, "alex.wilber@" + DOMAIN, "pradeep.gupta@" + DOMAIN, GUEST, "nobody@" + DOMAIN]
TASK = "Read the exposure"


def app_environment(scenario, name):
    app = scenario.emulator["apps"][name]
    return {"AZURE_TENANT_ID": scenario.emulator["tenant_id"], "AZURE_CLIENT_ID": app["client_id"],
            "AZURE_CLIENT_SECRET": app["client_secret"]}


def exposure(scenario, app, users=None, **extra):
    variables = {"o365_users": USERS if users is None else users}
    variables.update(extra)
    run = scenario.run("containment_exposure.yml", variables, env=app_environment(scenario, app))
    assert run.rc == 0, run.stdout + run.stderr
    return run.tasks[TASK]


def by_user(result):
    return dict((entry["user"], entry) for entry in result["users"])


def test_each_door_a_revoke_leaves_open_is_named(scenario):
    # Every cut-off but Adele's long past, whatever other tests revoked before this one (the emulator is shared).
    long_past = {"signInSessionsValidFromDateTime": "2026-01-01T00:00:00Z"}
    scenario.emulator.control("user_state", {"users": dict(
        (user, long_past) for user in USERS if user not in (ADELE, "nobody@" + DOMAIN))})
    # Revoke Adele first: her cut-off is now, so her access tokens are still within their lifetime.
    revoke = scenario.run("revoke.yml", {"o365_user": ADELE}, env=app_environment(scenario, "containment"))
    assert revoke.rc == 0, revoke.stdout + revoke.stderr
    result = exposure(scenario, "exposure")
    assert result["changed"] is False
    users = by_user(result)
    assert list(users) == USERS

    adele = users[ADELE]
    assert adele["exposure_known"] is True and adele["unreadable"] == {}
    assert adele["open_doors"] == ["access_tokens", "oauth2_permission_grants", "owned_app_credentials", "devices"]
    assert adele["authentication_methods"]["by_type"] == {"password": 1, "microsoftAuthenticator": 1, "phone": 1}
    assert adele["oauth2_permission_grants"]["grants"][0]["scope"] == "Mail.ReadWrite offline_access"
    assert adele["owned_objects"]["apps"][0]["password_credentials"] == 1
    assert adele["registered_devices"]["devices"][0]["display_name"] == "ADELE-LAPTOP"
    assert adele["access_tokens"]["open"] is True and adele["access_tokens"]["estimate"] is True

    assert users["alex.wilber@" + DOMAIN]["open_doors"] == ["devices"]  # his cut-off is long past
    assert users["pradeep.gupta@" + DOMAIN]["open_doors"] == ["synced"]
    assert users[GUEST]["open_doors"] == ["guest"]
    nobody = users["nobody@" + DOMAIN]
    assert nobody["found"] is False and set(nobody["unreadable"].values()) == {"not_found"}
    assert result["summary"]["doors"]["guest"] == 1 and result["summary"]["exposure_unknown"] == 1
    assert result["permissions"]["authentication_methods"][0] == "UserAuthenticationMethod.Read.All"


def test_a_missing_permission_is_reported_for_its_part_only(scenario):
    result = exposure(scenario, "exposure-no-methods", users=USERS[:4])
    for entry in result["users"]:
        assert entry["unreadable"] == {"authentication_methods": "permission"}, entry
        assert entry["authentication_methods"]["count"] is None
        assert entry["oauth2_permission_grants"]["state"] == "read"
    assert by_user(result)[ADELE]["open_doors"][-3:] == [
        "oauth2_permission_grants", "owned_app_credentials", "devices"]
    assert result["summary"]["unreadable"] == {"authentication_methods: permission": 4}


def test_one_user_reads_alone_and_a_longer_lifetime_keeps_tokens_open(scenario):
    # One user: the user read goes straight to Graph (through Prism on that route), the parts in one $batch.
    result = exposure(scenario, "exposure", users=["alex.wilber@" + DOMAIN],
                      o365_access_token_lifetime_minutes=60 * 24 * 365 * 5)
    alex = result["users"][0]
    assert alex["open_doors"] == ["access_tokens", "devices"]
    gets = [r for r in scenario.requests("graph") if r["method"] == "GET"]
    assert any("/users/alex.wilber@" in r["path"] for r in gets)
