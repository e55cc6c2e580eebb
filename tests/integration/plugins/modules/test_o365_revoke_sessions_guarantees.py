# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module's promises, end to end: real ansible-playbook, msal and requests against the emulator.

Endpoints (the few forms that matter through a real run; the full table is in
tests/unit/plugins/module_utils/test__graph_auth_endpoints.py), secrets at -vvvv on success and on every failure
path, the token cache, and the missing-library message. These run straight to the emulator only: none sends a
Graph request the contract tests do not already cover through Prism.
"""

import contextlib
import json
import os
import socket
import stat

import pytest
import trustme

from tests.integration.conftest import GraphRoute, Scenario

ADELE = "adele.vance@contoso.onmicrosoft.com"
ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"
PLAYBOOK = "guarantees.yml"

leak_checks = {"checks": 0, "scenarios": 0}


@pytest.fixture(scope="module", autouse=True)
def report_leak_check_count(request):
    yield
    if leak_checks["scenarios"]:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            print("\nsecret-leak checks: %d (%d scenarios at -vvvv, each secret against stdout, stderr, the registered "
                  "result, the emulator's request log and the token cache file)"
                  % (leak_checks["checks"], leak_checks["scenarios"]))


@pytest.fixture
def direct(emulator, tmp_path, collections_path):
    return Scenario(emulator, GraphRoute("direct", emulator["authority_host"]), str(tmp_path), collections_path)


def graph_calls(scenario):
    return scenario.requests("graph")


def token_requests(scenario):
    return scenario.requests("token")


def revocations(scenario, user_id=ADELE_ID):
    users = scenario.emulator.control("users", method="GET")["users"]
    return next(user["revocations"] for user in users if user["id"] == user_id)


def closed_port():
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_port(scenario):
    return int(scenario.emulator["graph_endpoint"].rsplit(":", 1)[1])


def https_port(scenario):
    return int(scenario.emulator["authority_host"].rsplit(":", 1)[1])


# --- Endpoints -------------------------------------------------------------------------------------------------

def test_graph_endpoint_copied_from_microsoft_docs_with_v1_0_works(direct):
    before = revocations(direct)
    run = direct.run(PLAYBOOK, {"o365_user": ADELE, "o365_graph_endpoint": direct.emulator["authority_host"] + "/v1.0/"})
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["path"] for e in graph_calls(direct)] == ["/v1.0/users/%s/revokeSignInSessions" % ADELE]
    assert revocations(direct) == before + 1


@pytest.mark.parametrize("form", [
    "http://evil.example\\@127.0.0.1:{http}",
    "https://graph.microsoft.com@127.0.0.1:{https}",
    "http://127.0.0.1.example:{http}",
    "http://127.0.0.1:{http}/beta",
    "http://127.0.0.1:{http}?x=1",
    "http://127.0.0.1%2F@evil.example:{http}",
])
def test_endpoint_forms_that_could_reach_another_host_are_refused_before_any_request(direct, form):
    endpoint = form.format(http=http_port(direct), https=https_port(direct))
    run = direct.run(PLAYBOOK, {"o365_user": ADELE, "o365_graph_endpoint": endpoint})
    assert run.rc != 0 and "graph_endpoint" in run.result["msg"], run.stdout + run.stderr
    assert direct.requests() == []  # not even the token endpoint


@pytest.mark.parametrize("form", ["HTTPS://127.0.0.1:{https}", "https://LOCALHOST:{https}", "hTTp://localhost:{http}",
                                  "http://[::1]:{closed}"])
def test_loopback_forms_reach_the_network(direct, form):
    endpoint = form.format(http=http_port(direct), https=https_port(direct), closed=closed_port())
    run = direct.run(PLAYBOOK, {"o365_user": ADELE, "o365_graph_endpoint": endpoint, "o365_max_retries": 0})
    if "[::1]" in endpoint:
        # The emulator listens on IPv4 only: the attempt itself (a refused connection to ::1) is the proof.
        assert run.rc != 0 and "No answer from http://[::1]:" in run.result["msg"], run.stdout + run.stderr
        return
    assert run.rc == 0, run.stdout + run.stderr
    assert [e["method"] for e in graph_calls(direct)] == ["POST"]


# --- Secrets -----------------------------------------------------------------------------------------------------

def msal_tokens(cache_path):
    """The access tokens msal stored in the cache file (their one rightful home)."""
    if not os.path.exists(cache_path):
        return []
    with open(cache_path) as handle:
        partitions = json.load(handle).get("partitions", {})
    return [entry["secret"] for serialized in partitions.values()
            for entry in json.loads(serialized).get("AccessToken", {}).values()]


def sinks(scenario, run, log_offset):
    with open(scenario.emulator["request_log"]) as handle:
        handle.seek(log_offset)
        request_log = handle.read()
    results_file = os.path.join(scenario.work_dir, "results.json")
    with open(results_file) as handle:
        registered = handle.read()
    cache = ""
    if os.path.isfile(scenario.token_cache_path):
        with open(scenario.token_cache_path) as handle:
            cache = handle.read()
    return {"stdout": run.stdout, "stderr": run.stderr, "registered result": registered,
            "emulator request log": request_log, "token cache file": cache}


def scenario_for(path, scenario, tmp_path):
    """(extra vars, whether the task succeeds, a phrase of its message) for one path; secrets set as options."""
    emulator = scenario.emulator
    secret, password = emulator["client_secret"], emulator["client_certificate_password"]
    common = {"o365_tenant_id": emulator["tenant_id"], "o365_client_id": emulator["client_id"],
              "o365_client_secret": secret, "o365_client_certificate_password": password, "o365_max_retries": 0}
    pfx = {"o365_client_certificate_path": emulator["client_certificate_pfx_path"]}
    minted = emulator.control("token", {"client_id": emulator["client_id"], "audience": emulator["authority_host"]})
    expired = emulator.control("token", {"client_id": emulator["client_id"], "audience": emulator["authority_host"],
                                         "lifetime_s": -60})
    if path == "success with a client secret":
        return common, True, None
    if path == "success with a PFX and its password":
        return dict(common, **pfx), True, None
    if path == "success with an access token":
        return dict(common, o365_access_token=minted["access_token"]), True, None
    if path == "wrong client secret":
        return dict(common, o365_client_secret="wrong-" + secret), False, "AADSTS7000215"
    if path == "wrong certificate password":
        return dict(common, o365_client_certificate_password="wrong-" + password, **pfx), False, "PKCS#12"
    if path == "corrupt PEM":
        corrupt = tmp_path / "corrupt.pem"
        corrupt.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
                           "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
        return dict(common, o365_client_certificate_path=str(corrupt)), False, "Cannot load the PEM"
    if path == "corrupt PFX":
        corrupt = tmp_path / "corrupt.pfx"
        corrupt.write_bytes(b"\x30\x82\x01\x00" + os.urandom(256))
        return dict(common, o365_client_certificate_path=str(corrupt)), False, "PKCS#12"
    if path == "401 (expired access token)":
        return dict(common, o365_access_token=expired["access_token"]), False, "InvalidAuthenticationToken"
    if path == "403 (app without the permission)":
        reader = emulator["apps"]["reader-only"]
        return dict(common, o365_client_id=reader["client_id"], o365_client_secret=reader["client_secret"]), False, \
            "Authorization_RequestDenied"
    if path == "TLS failure (a CA that did not sign the server)":
        other_ca = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other_ca))
        return dict(common, o365_ca_path=str(other_ca)), False, "127.0.0.1"
    if path == "connection refused (Graph)":
        return dict(common, o365_access_token=minted["access_token"],
                    o365_graph_endpoint="https://127.0.0.1:%d" % closed_port()), False, "No answer from"
    if path == "connection refused (Entra ID)":
        return dict(common, o365_authority_host="https://127.0.0.1:%d" % closed_port()), False, "No answer from"
    if path == "timeout":
        scenario.faults(latency_ms=2500)
        # A read timeout may come after Graph acted: the message says the answer was lost, not that nothing arrived.
        return dict(common, o365_timeout=1), False, "was lost after 1 attempt(s)"
    raise AssertionError(path)


SECRET_PATHS = ["success with a client secret", "success with a PFX and its password", "success with an access token",
                "wrong client secret", "wrong certificate password", "corrupt PEM", "corrupt PFX",
                "401 (expired access token)", "403 (app without the permission)",
                "TLS failure (a CA that did not sign the server)", "connection refused (Graph)",
                "connection refused (Entra ID)", "timeout"]


@pytest.mark.parametrize("path", SECRET_PATHS)
def test_no_secret_appears_anywhere_at_vvvv(direct, tmp_path, path):
    extra, succeeds, phrase = scenario_for(path, direct, tmp_path)
    offset = direct.emulator.log_size()
    run = direct.run(PLAYBOOK, dict(extra, o365_user=ADELE), env={"ANSIBLE_VERBOSITY": "4"})
    assert (run.rc == 0) is succeeds, run.stdout + run.stderr
    if phrase:
        assert phrase in run.result["msg"], run.result["msg"]
    assert "ESTABLISH LOCAL CONNECTION" in run.stdout  # -vvvv was in force
    secrets = {name: extra[key] for name, key in (
        ("client secret", "o365_client_secret"), ("certificate password", "o365_client_certificate_password"),
        ("access token", "o365_access_token")) if extra.get(key)}
    secrets["the emulator's client secret"] = direct.emulator["client_secret"]
    places = sinks(direct, run, offset)
    for index, token in enumerate(msal_tokens(direct.token_cache_path)):
        secrets["access token msal obtained #%d" % index] = token
    for name, secret in secrets.items():
        for place, text in places.items():
            if name.startswith("access token msal obtained") and place == "token cache file":
                continue  # that is where a cached token lives, 0600
            assert secret not in text, "%s found in %s" % (name, place)
            leak_checks["checks"] += 1
    leak_checks["scenarios"] += 1


# --- Token cache ---------------------------------------------------------------------------------------------------

def cache_warnings(run):
    return [w for w in run.warnings() if "token cache" in w]


def revoke(scenario, cache_path=None, **extra):
    variables = {"o365_user": ADELE}
    if cache_path is not None:
        variables["o365_token_cache_path"] = str(cache_path)
    variables.update(extra)
    return scenario.run(PLAYBOOK, variables)


def test_validate_certs_false_works_and_warns_every_time(direct):
    """Against the emulator's own CA, not trusted here: the revoke goes through, and each run says it is unsafe."""
    settings = {"o365_user": ADELE, "o365_validate_certs": False, "o365_ca_path": ""}
    for attempt in range(2):  # the second run takes its token from the cache: it still warns
        run = direct.run("guarantees.yml", settings)
        assert run.rc == 0, run.stdout + run.stderr
        assert run.result["all_sessions_revoked"] is True
        assert any("validate_certs is false" in warning for warning in run.warnings()), run.stdout
    assert len(token_requests(direct)) == 1


def test_cache_is_0600_in_0700_directories_under_umask_000(direct, tmp_path):
    cache_path = tmp_path / "fresh" / "o365_admin" / "cache.json"
    old = os.umask(0)
    try:
        run = revoke(direct, cache_path)
    finally:
        os.umask(old)
    assert run.rc == 0 and cache_warnings(run) == [], run.stdout + run.stderr
    assert stat.S_IMODE(os.stat(str(cache_path)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(cache_path.parent)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(str(cache_path.parent.parent)).st_mode) == 0o700


def test_a_directory_others_can_write_is_refused_and_the_task_goes_on(direct, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    run = revoke(direct, shared / "cache.json")
    assert run.rc == 0, run.stdout + run.stderr
    assert any("can be written by other users (mode 0777)" in w for w in cache_warnings(run))
    assert not (shared / "cache.json").exists() and len(token_requests(direct)) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_directory_of_another_user_is_refused_and_the_task_goes_on(direct, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir(mode=0o700)
    os.chown(str(foreign), 65534, 65534)
    run = revoke(direct, foreign / "cache.json")
    assert run.rc == 0 and any("owned by another user (uid 65534)" in w for w in cache_warnings(run))


def test_a_file_others_can_read_is_not_trusted_and_is_rewritten_0600(direct, tmp_path):
    cache_path = tmp_path / "cache" / "cache.json"
    assert revoke(direct, cache_path).rc == 0
    cache_path.chmod(0o644)
    run = revoke(direct, cache_path)
    assert run.rc == 0 and any("mode 0644" in w for w in cache_warnings(run)), run.stdout + run.stderr
    assert stat.S_IMODE(os.stat(str(cache_path)).st_mode) == 0o600
    assert len(token_requests(direct)) == 2  # the readable file's token was not used


def test_a_symlink_at_the_cache_path_is_not_followed(direct, tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    target = tmp_path / "elsewhere.json"
    target.write_text("untouched")
    (directory / "cache.json").symlink_to(target)
    run = revoke(direct, directory / "cache.json")
    assert run.rc == 0 and any("symbolic link" in w for w in cache_warnings(run)), run.stdout + run.stderr
    assert target.read_text() == "untouched" and os.path.islink(str(directory / "cache.json"))


def test_a_symlink_at_the_lock_path_is_not_followed(direct, tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    (directory / "cache.json.lock").symlink_to(victim)
    run = revoke(direct, directory / "cache.json")
    assert run.rc == 0 and any("cache.json.lock" in w for w in cache_warnings(run)), run.stdout + run.stderr
    assert not victim.exists()


def test_a_directory_at_the_cache_path_is_refused_and_the_task_goes_on(direct, tmp_path):
    (tmp_path / "cache.json").mkdir()
    run = revoke(direct, tmp_path / "cache.json")
    assert run.rc == 0 and any("is a directory" in w for w in cache_warnings(run)), run.stdout + run.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode (the unit test covers it for root)")
def test_an_unreadable_cache_file_is_rebuilt_with_a_warning(direct, tmp_path):
    cache_path = tmp_path / "cache" / "cache.json"
    assert revoke(direct, cache_path).rc == 0
    cache_path.chmod(0o200)
    run = revoke(direct, cache_path)
    assert run.rc == 0 and any("Cannot read the token cache" in w for w in cache_warnings(run))


def test_ten_forks_on_a_fresh_directory_share_one_token(direct, tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[offboarding]\n" + "".join("fork%02d ansible_connection=local\n" % n for n in range(10)))
    cache_path = tmp_path / "new-execution-environment" / "o365_admin" / "cache.json"
    run = direct.run(PLAYBOOK, {"o365_user": ADELE, "o365_hosts": "offboarding",
                                "o365_token_cache_path": str(cache_path)}, inventory=str(inventory), forks=10)
    assert run.rc == 0, run.stdout + run.stderr
    with open(os.path.join(direct.work_dir, "results.json")) as handle:
        results = json.load(handle)
    assert [r["status"] for r in results] == ["ok"] * 10
    assert cache_warnings(run) == []
    assert len(token_requests(direct)) == 1 and len(graph_calls(direct)) == 10


@pytest.mark.parametrize("damage", ["a number for the partition", "a list for the partition", "expires_on: soon"])
def test_a_wrong_shaped_cache_is_rebuilt_with_a_warning(direct, tmp_path, damage):
    cache_path = tmp_path / "cache" / "cache.json"
    assert revoke(direct, cache_path).rc == 0
    document = json.loads(cache_path.read_text())
    for key, serialized in document["partitions"].items():
        if damage == "a number for the partition":
            document["partitions"][key] = 5
        elif damage == "a list for the partition":
            document["partitions"][key] = ["x"]
        else:
            partition = json.loads(serialized)
            for entry in partition["AccessToken"].values():
                entry["expires_on"] = "soon"
            document["partitions"][key] = json.dumps(partition)
    cache_path.write_text(json.dumps(document))
    run = revoke(direct, cache_path)
    assert run.rc == 0 and any("wrong shape" in w for w in cache_warnings(run)), run.stdout + run.stderr
    again = revoke(direct, cache_path)
    assert again.rc == 0 and cache_warnings(again) == []
    assert len(token_requests(direct)) == 2  # the first run, and the rebuild; the third was served from the cache


def test_an_uncreatable_cache_path_warns_and_the_task_goes_on(direct):
    before = revocations(direct)
    run = revoke(direct, "/proc/nonexist/o365_admin/cache.json")
    assert run.rc == 0, run.stdout + run.stderr
    assert any("cannot be created" in w for w in cache_warnings(run))
    assert revocations(direct) == before + 1


def test_a_cached_token_is_never_served_to_another_tenant_app_cloud_or_credential(direct, tmp_path):
    emulator = direct.emulator
    cache_path = str(tmp_path / "cache" / "cache.json")
    base = {"o365_tenant_id": emulator["tenant_id"], "o365_client_id": emulator["client_id"],
            "o365_client_secret": emulator["client_secret"]}

    def token_requests_for(**extra):
        offset = emulator.log_size()
        variables = {key: value for key, value in dict(base, **extra).items() if value is not None}
        run = revoke(direct, cache_path, **variables)
        entries = emulator.log_since(offset)
        return run, [e for e in entries if e["kind"] == "token"]

    run, tokens = token_requests_for()
    assert run.rc == 0 and len(tokens) == 1
    run, tokens = token_requests_for()
    assert run.rc == 0 and tokens == []  # the same tenant, app, cloud and credential: served from the cache
    # Another name of the same tenant is another partition.
    run, tokens = token_requests_for(o365_tenant_id="contoso.onmicrosoft.com")
    assert run.rc == 0 and len(tokens) == 1
    # Another app gets its own token, whose permissions are its own (no revoke permission: 403).
    reader = emulator["apps"]["reader-only"]
    run, tokens = token_requests_for(o365_client_id=reader["client_id"], o365_client_secret=reader["client_secret"])
    assert run.rc != 0 and run.result["error"]["code"] == "Authorization_RequestDenied" and len(tokens) == 1
    # Another Graph endpoint (cloud) is another scope.
    run, tokens = token_requests_for(o365_graph_endpoint=emulator["graph_endpoint"])
    assert run.rc == 0 and len(tokens) == 1
    # Another credential of the same app: a certificate.
    run, tokens = token_requests_for(o365_client_secret=None,
                                     o365_client_certificate_path=emulator["client_certificate_path"])
    assert run.rc == 0 and [t["credential"] for t in tokens] == ["certificate"]
    # A wrong secret for the same app is refused by Entra ID, never handed the cached token.
    run, tokens = token_requests_for(o365_client_secret="wrong-" + emulator["client_secret"])
    assert run.rc != 0 and "AADSTS7000215" in run.result["msg"] and len(tokens) == 1


# --- Dependencies ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("library, named", [("msal", "msal"), ("requests", "requests and msal")])
def test_a_missing_library_gets_the_standard_message(direct, tmp_path, library, named):
    blocker = tmp_path / "blocked" / library
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError(\"No module named '%s' (hidden by the test)\")\n" % library)
    env = dict(direct.default_environment(), PYTHONPATH=str(tmp_path / "blocked"))
    run = direct.run(PLAYBOOK, {"o365_user": ADELE}, env=env)
    assert run.rc != 0
    # msal needs requests: without requests both are missing, and both are named in the one failure (issue 18).
    assert "Failed to import the required Python library (%s)" % named in run.result["msg"], run.result["msg"]
    assert direct.requests() == []
