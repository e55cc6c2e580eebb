# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault suite: o365_revoke_sessions through ansible-playbook while the emulator misbehaves, single and bulk.

Every scenario checks the same invariant against the emulator's own record of what it did (GET /_emulator/users):
every user reported revoked was revoked; no user is missing from results; a user whose revoke happened but whose
answer was lost is "unknown", never "not revoked"; retries stay within max_retries; the wall time stays within the
documented bound (every wait capped at MAX_RETRY_WAIT_S); no traceback and no MODULE FAILURE reach the output.
"""

import email.utils
import time

import pytest

from ansible_collections.o365.admin.plugins.module_utils._graph_client import MAX_RETRY_WAIT_S

USERS = ["user%04d@contoso.onmicrosoft.com" % n for n in range(61, 121)]
ONE = "user0100@contoso.onmicrosoft.com"
GHOST = "ghost@contoso.onmicrosoft.com"
# ansible-playbook start-up, the module's own work and a loaded 2-core machine, beside the documented waits.
OVERHEAD_S = 45.0
PROXY_PAGE = "<html><body><h1>Blocked by proxy</h1><p>Your organisation's web filter blocked this site.</p></body></html>"
GRAPH_ERROR_BODY = {"error": {"code": "Request_BadRequest", "message": "Invalid request.",
                              "innerError": {"request-id": "0f8e3a24-95a8-4a6e-bb6a-1d0f7a0f5f9e"}}}


def revocations(scenario):
    users = scenario.emulator.control("users", method="GET")["users"]
    return {user["userPrincipalName"].lower(): user["revocations"] for user in users}


class FaultRun:
    """One playbook run under a fault, with the emulator's record of revocations before and after it."""

    def __init__(self, scenario, users, extra_vars=None, settle_s=0.0, check=False):
        self.users = users
        before = revocations(scenario)
        started = time.monotonic()
        variables = {"o365_users": users} if isinstance(users, list) else {"o365_user": users}
        variables.update(extra_vars or {})
        self.run = scenario.run("revoke_faults.yml", variables, check=check)
        self.elapsed_s = time.monotonic() - started
        time.sleep(settle_s)  # a request that outlived the client's timeout finishes on the emulator
        after = revocations(scenario)
        self.revoked_by_emulator = {user: after.get(user.lower(), 0) - before.get(user.lower(), 0)
                                    for user in (users if isinstance(users, list) else [users])}
        self.result = self.run.result
        self.output = self.run.stdout + self.run.stderr

    def assert_no_crash(self):
        for text in ("Traceback (most recent call last)", "MODULE FAILURE", "module_stderr"):
            assert text not in self.output, self.output
        # ansible-core 2.19 puts "(traceback unavailable)" in every failed result's exception unless asked for one.
        assert "module_stderr" not in self.result and "Traceback" not in str(self.result.get("exception")), \
            self.result
        assert self.result.get("msg") or not self.result.get("failed"), self.result

    def assert_within(self, max_retries, timeout_s=30.0, requests_per_attempt=1):
        """Wall time within the documented bound: every attempt's timeout plus every capped wait."""
        bound = (max_retries + 1) * timeout_s * requests_per_attempt + max_retries * MAX_RETRY_WAIT_S + OVERHEAD_S
        assert self.elapsed_s <= bound, (self.elapsed_s, bound)

    # --- one user -------------------------------------------------------------------------------------------
    def assert_single_invariant(self, max_retries):
        self.assert_no_crash()
        revoked_now = self.revoked_by_emulator[self.users]
        if self.result.get("all_sessions_revoked") is True:
            assert self.run.rc == 0 and revoked_now >= 1, (self.result, revoked_now)
        else:
            assert self.run.rc != 0, self.result
            # changed is true only for a revoke Graph carried out, or one that may have been (outcome unknown).
            assert self.result.get("changed") is not True or revoked_now >= 1 or self.result.get("outcome") == "unknown"
            if revoked_now:
                # Revoked but not confirmed: the message must not say it was not; it says it may have been.
                assert "may have been carried out" in self.result["msg"] or "not confirmed" in self.result["msg"], \
                    self.result["msg"]
        assert self.result.get("attempts", 1) <= max_retries + 1

    # --- many users -----------------------------------------------------------------------------------------
    def assert_bulk_invariant(self, max_retries):
        self.assert_no_crash()
        results = self.result.get("results")
        assert results is not None, "no results: %s" % self.result
        assert [entry["user"] for entry in results] == self.users
        for entry in results:
            revoked_now = self.revoked_by_emulator[entry["user"]]
            if entry["all_sessions_revoked"] is True:
                assert revoked_now >= 1, entry
            assert entry["outcome"] in ("revoked", "failed", "unknown"), entry
            if entry["outcome"] == "revoked":
                assert entry["all_sessions_revoked"] is True and revoked_now >= 1, entry
            elif revoked_now:
                assert entry["outcome"] == "unknown", (entry, revoked_now)  # never "not revoked" as a fact
        assert (self.run.rc == 0) == all(entry["outcome"] == "revoked" for entry in results)
        assert self.result.get("retries", 0) <= max_retries * len(self.users) + max_retries

    def outcomes(self):
        return [entry["outcome"] for entry in self.result["results"]]

    def counts(self):
        """(reported revoked, failed, unknown, revoked by the emulator): the closing note's figures."""
        outcomes = self.outcomes()
        return (outcomes.count("revoked"), outcomes.count("failed"), outcomes.count("unknown"),
                sum(1 for count in self.revoked_by_emulator.values() if count))


def http_date(seconds_from_now):
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


# ================================================================================================================
# One user: the transport's retries, the token endpoint, answers lost, answers that are not Graph's.
# ================================================================================================================

def test_single_429_with_retry_after_of_every_readable_and_unreadable_kind(scenario):
    scenario.faults(fail_next=[{"status": 429, "retry_after": "garbage"}, {"status": 429, "retry_after": "\u00b2"},
                               {"status": 429, "retry_after": 1}, {"status": 429, "retry_after": http_date(1)},
                               {"status": 429}])
    fault = FaultRun(scenario, ONE, {"o365_max_retries": 5})
    fault.assert_single_invariant(5)
    assert fault.run.rc == 0 and fault.result["all_sessions_revoked"] is True, fault.output
    assert fault.revoked_by_emulator[ONE] == 1
    posts = [e["status"] for e in scenario.requests("graph") if e["method"] == "POST"]
    assert posts == [429, 429, 429, 429, 429, 200]
    fault.assert_within(5)


def test_single_429_with_a_huge_retry_after_waits_the_documented_cap_only(scenario):
    scenario.route.require_direct("one capped wait is enough")
    scenario.faults(fail_next=[{"status": 429, "retry_after": "9" * 400}])
    fault = FaultRun(scenario, ONE, {"o365_max_retries": 1})
    fault.assert_single_invariant(1)
    assert fault.run.rc == 0 and fault.revoked_by_emulator[ONE] == 1, fault.output
    assert any("waited %.1f s" % MAX_RETRY_WAIT_S in warning for warning in fault.run.warnings())
    assert MAX_RETRY_WAIT_S <= fault.elapsed_s
    fault.assert_within(1)


def test_single_503_504_burst_within_max_retries_is_revoked(scenario):
    scenario.faults(fail_next=[{"status": 503}, {"status": 504, "retry_after": 0}, {"status": 503, "retry_after": 1}])
    fault = FaultRun(scenario, ONE, {"o365_max_retries": 3})
    fault.assert_single_invariant(3)
    assert fault.run.rc == 0 and fault.revoked_by_emulator[ONE] == 1, fault.output
    fault.assert_within(3)


def test_single_503_burst_beyond_max_retries_fails_with_nothing_revoked(scenario):
    scenario.faults(fail_next=[{"status": 503, "retry_after": 0}] * 3)
    fault = FaultRun(scenario, ONE, {"o365_max_retries": 2})
    fault.assert_single_invariant(2)
    assert fault.revoked_by_emulator[ONE] == 0 and fault.result["attempts"] == 3
    assert "Gave up after 3 attempts" in fault.result["msg"]


@pytest.mark.parametrize("fault_settings, extra, settle_s, words", [
    # A reset reads as a close or as a reset, depending on when the RST meets the client's read.
    ({"reset_after_next": 1}, {}, 0.0, ("Remote end closed connection", "Connection reset", "reset by peer")),
    ({"truncate_next": 1}, {}, 0.0, ("cut off",)),
    ({"latency_ms": 2500}, {"o365_timeout": 1}, 2.5, ("no answer within 1.0 s (read timeout)",)),
], ids=["reset-after-acting", "truncated-body", "read-timeout"])
def test_single_answer_lost_after_graph_acted_is_never_not_revoked(scenario, fault_settings, extra, settle_s, words):
    scenario.route.require_direct("Prism answers for the upstream")
    scenario.faults(**fault_settings)
    fault = FaultRun(scenario, ONE, dict(extra, o365_max_retries=0), settle_s=settle_s)
    fault.assert_single_invariant(0)
    assert fault.run.rc != 0 and fault.revoked_by_emulator[ONE] == 1, fault.output
    assert fault.result["may_have_acted"] is True and fault.result["outcome"] == "unknown"
    assert fault.result["changed"] is True and fault.result["all_sessions_revoked"] is None
    assert any(word in fault.result["msg"] for word in words) and "may have been carried out" in fault.result["msg"]
    fault.assert_within(0, timeout_s=float(extra.get("o365_timeout", 30)))


def test_single_answer_lost_once_is_resent_and_confirmed(scenario):
    scenario.route.require_direct("Prism answers for the upstream")
    scenario.faults(reset_after_next=1)
    fault = FaultRun(scenario, ONE, {"o365_max_retries": 2})
    fault.assert_single_invariant(2)
    assert fault.run.rc == 0 and fault.revoked_by_emulator[ONE] == 2  # revoking twice is harmless


@pytest.mark.parametrize("fault_settings, extra, words", [
    ({"token_fail_next": [503]}, {}, "answered HTTP 503 after 1 attempt(s)"),
    ({"token_fail_next": [500]}, {}, "answered HTTP 500 after 1 attempt(s)"),
    ({"token_answer_next": [{"status": 200, "content_type": "text/html", "body": PROXY_PAGE}]}, {},
     "with something msal cannot read (text/html"),
    ({"token_answer_next": [{"status": 200, "content_type": "application/json", "body": ""}]}, {},
     "with something msal cannot read (application/json, empty body"),
    ({"token_truncate_next": 1}, {}, "cut off"),
    ({"token_latency_ms": 2500}, {"o365_timeout": 1}, "no answer within 1.0 s (read timeout)"),
], ids=["5xx", "500", "html", "empty", "truncated", "slow"])
def test_single_token_endpoint_failure_is_a_clear_authentication_error(scenario, fault_settings, extra, words):
    scenario.route.require_direct("the token endpoint is never behind Prism")
    scenario.faults(**fault_settings)
    fault = FaultRun(scenario, ONE, dict(extra, o365_max_retries=0))
    fault.assert_single_invariant(0)
    assert fault.run.rc != 0 and fault.revoked_by_emulator[ONE] == 0
    assert fault.result["msg"].startswith("Entra ID could not issue a token for client_id"), fault.result["msg"]
    assert words in fault.result["msg"]
    assert scenario.requests("graph") == []
    assert scenario.emulator["client_secret"] not in fault.output
    fault.assert_within(0, timeout_s=float(extra.get("o365_timeout", 30)), requests_per_attempt=2)


def test_single_token_endpoint_503_then_a_token_is_retried(scenario):
    scenario.route.require_direct("the token endpoint is never behind Prism")
    scenario.faults(token_fail_next=[503])
    fault = FaultRun(scenario, ONE, {"o365_max_retries": 1})
    fault.assert_single_invariant(1)
    assert fault.run.rc == 0 and fault.revoked_by_emulator[ONE] == 1


@pytest.mark.parametrize("answer, revoked", [
    ({"status": 200, "content_type": "text/html", "body": PROXY_PAGE}, 0),
    ({"status": 200, "content_type": "application/json", "body": GRAPH_ERROR_BODY}, 0),
    ({"status": 200, "content_type": "application/json", "body": {"@odata.context": "x"}}, 0),
    ({"status": 200, "content_type": "text/html", "body": PROXY_PAGE, "act": True}, 1),
], ids=["proxy-page", "graph-error-in-200", "json-without-value", "proxy-page-after-graph-acted"])
def test_single_2xx_that_is_not_graph_s_answer_is_never_revoked(scenario, answer, revoked):
    scenario.route.require_direct("a non-Graph answer breaks the contract on purpose")
    scenario.faults(answer_next=[answer])
    fault = FaultRun(scenario, ONE, {"o365_max_retries": 0})
    fault.assert_single_invariant(0)
    assert fault.run.rc != 0 and fault.revoked_by_emulator[ONE] == revoked
    # Sent, and what came back is not Graph's answer: unknown (it may have acted), never revoked, never "not revoked".
    assert (fault.result["outcome"], fault.result["changed"], fault.result["all_sessions_revoked"]) == (
        "unknown", True, None)
    assert "is not confirmed: Graph's answer could not be read: HTTP 200 with " in fault.result["msg"]


def test_single_untrusted_certificate_fails_at_once_naming_ca_path(scenario, tmp_path):
    scenario.route.require_direct("TLS is between the module and the emulator")
    trustme = pytest.importorskip("trustme")
    wrong_ca = tmp_path / "wrong-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    fault = FaultRun(scenario, ONE, {"o365_ca_path": str(wrong_ca), "o365_max_retries": 4})
    fault.assert_single_invariant(4)
    assert fault.run.rc != 0 and fault.revoked_by_emulator[ONE] == 0
    message = fault.result["msg"]
    assert "The TLS certificate of 127.0.0.1 is not trusted" in message and "set ca_path" in message, message
    assert "certificate verify failed" in message
    assert scenario.requests() == []  # refused at the handshake: no HTTP request reached the emulator
    assert fault.elapsed_s < OVERHEAD_S  # final at once: no retries, no backoff


# ================================================================================================================
# Many users: the batch runner under the same faults. Outcomes come from the pipelined runner's vocabulary.
# ================================================================================================================

def test_bulk_429_with_retry_after_of_every_kind_revokes_everyone(scenario):
    users = USERS[:6]
    scenario.faults(fail_next=[{"status": 429, "retry_after": "1"}, {"status": 429, "retry_after": http_date(1)},
                               {"status": 429, "retry_after": "garbage"}, {"status": 429, "retry_after": "\u00b2"},
                               {"status": 429}, {"status": 503, "retry_after": "-1"}])
    fault = FaultRun(scenario, users, {"o365_max_retries": 2})
    fault.assert_bulk_invariant(2)
    assert fault.outcomes() == ["revoked"] * 6 and fault.run.rc == 0
    fault.assert_within(2)


def test_bulk_integer_retry_after_in_a_batch_item(scenario):
    scenario.route.require_direct("a number where the contract wants a string header")
    users = USERS[6:9]
    scenario.faults(fail_next=[{"status": 429, "retry_after": 1, "retry_after_number": True}])
    fault = FaultRun(scenario, users, {"o365_max_retries": 1})
    fault.assert_bulk_invariant(1)
    assert fault.outcomes() == ["revoked"] * 3


def test_bulk_huge_retry_after_waits_the_documented_cap_only(scenario):
    scenario.route.require_direct("one capped wait is enough")
    users = USERS[9:12]
    scenario.faults(fail_next=[{"status": 429, "retry_after": "99999999999"},
                               {"status": 429, "retry_after": "Fri, 31 Dec 9999 23:59:59 GMT"}])
    fault = FaultRun(scenario, users, {"o365_max_retries": 1})
    fault.assert_bulk_invariant(1)
    assert fault.outcomes() == ["revoked"] * 3
    assert fault.elapsed_s >= MAX_RETRY_WAIT_S
    fault.assert_within(1)


def test_bulk_503_504_bursts_on_calls_and_items(scenario):
    users = USERS[12:52]
    unavailable = {"status": 503, "content_type": "application/json",
                   "body": {"error": {"code": "serviceNotAvailable", "message": "Injected.",
                                      "innerError": {"request-id": "0f8e3a24-95a8-4a6e-bb6a-1d0f7a0f5f9e",
                                                     "date": "2026-11-24T10:00:00Z"}}}}
    scenario.faults(answer_next=[unavailable],
                    fail_next=[{"status": 504, "retry_after": "0"}, {"status": 503, "retry_after": "0"}])
    fault = FaultRun(scenario, users, {"o365_max_retries": 2})
    fault.assert_bulk_invariant(2)
    assert fault.outcomes() == ["revoked"] * 40
    fault.assert_within(2)


def test_bulk_mixed_per_item_failures(scenario):
    users = USERS[52:56] + [GHOST]
    scenario.faults(fail_next=[{"status": 429, "retry_after": "1"}, {"status": 500}])
    fault = FaultRun(scenario, users, {"o365_max_retries": 1})
    fault.assert_bulk_invariant(1)
    assert fault.run.rc != 0 and fault.outcomes()[-1] == "failed"
    assert fault.result["results"][-1]["error"]["code"] == "Request_ResourceNotFound"
    assert fault.outcomes().count("failed") == 2  # the ghost, and the item answered 500 (not retried)


@pytest.mark.parametrize("fault_settings, extra, settle_s", [
    ({"reset_after_next": 1}, {}, 0.0),
    ({"truncate_next": 1}, {}, 0.0),
    ({"latency_ms": 2500}, {"o365_timeout": 1}, 2.5),
], ids=["reset-after-acting", "truncated-body", "read-timeout"])
def test_bulk_answer_lost_after_graph_acted_is_unknown(scenario, fault_settings, extra, settle_s):
    scenario.route.require_direct("Prism answers for the upstream")
    users = USERS[:5]
    scenario.faults(**fault_settings)
    fault = FaultRun(scenario, users, dict(extra, o365_max_retries=0), settle_s=settle_s)
    fault.assert_bulk_invariant(0)
    assert fault.outcomes() == ["unknown"] * 5 and all(fault.revoked_by_emulator.values())


@pytest.mark.parametrize("fault_settings, extra", [
    ({"token_fail_next": [503]}, {}),
    ({"token_answer_next": [{"status": 200, "content_type": "text/html", "body": PROXY_PAGE}]}, {}),
    ({"token_truncate_next": 1}, {}),
    ({"token_latency_ms": 2500}, {"o365_timeout": 1}),
], ids=["5xx", "html", "truncated", "slow"])
def test_bulk_token_endpoint_failure_fails_every_user_and_loses_none(scenario, fault_settings, extra):
    scenario.route.require_direct("the token endpoint is never behind Prism")
    users = USERS[:5]
    scenario.faults(**fault_settings)
    fault = FaultRun(scenario, users, dict(extra, o365_max_retries=0))
    fault.assert_bulk_invariant(0)
    assert fault.outcomes() == ["failed"] * 5 and not any(fault.revoked_by_emulator.values())
    assert "Entra ID could not issue a token" in fault.result["msg"]


def test_bulk_stale_cached_token_with_several_chunks_in_flight(scenario):
    scenario.route.require_direct("the permission change is the emulator's, not the contract's")
    app = scenario.emulator["apps"]["reader-only"]
    env = dict(scenario.default_environment(), AZURE_CLIENT_ID=app["client_id"],
               AZURE_CLIENT_SECRET=app["client_secret"])
    users = USERS[:60]
    dry_run = scenario.run("revoke_faults.yml", {"o365_users": users[:1]}, env=env, check=True)  # caches the token
    assert dry_run.rc == 0, dry_run.stdout + dry_run.stderr
    scenario.emulator.control("apps", {"client_id": app["client_id"],
                                       "roles": app["roles"] + ["User.RevokeSessions.All"]})
    try:
        before = revocations(scenario)
        run = scenario.run("revoke_faults.yml", {"o365_users": users, "o365_batch_concurrency": 4}, env=env)
        after = revocations(scenario)
    finally:
        scenario.emulator.control("apps", {"client_id": app["client_id"], "roles": app["roles"]})
    assert run.rc == 0, run.stdout + run.stderr
    results = run.result["results"]
    assert [entry["outcome"] for entry in results] == ["revoked"] * 60
    assert all(after[user.lower()] - before[user.lower()] == 1 for user in users)


@pytest.mark.parametrize("answer", [
    {"status": 200, "content_type": "text/html", "body": PROXY_PAGE},
    {"status": 200, "content_type": "application/json", "body": GRAPH_ERROR_BODY},
], ids=["proxy-page", "graph-error-in-200"])
def test_bulk_2xx_that_is_not_graph_s_answer_revokes_nobody(scenario, answer):
    scenario.route.require_direct("a non-Graph answer breaks the contract on purpose")
    users = USERS[:5]
    scenario.faults(answer_next=[answer])
    fault = FaultRun(scenario, users, {"o365_max_retries": 0})
    fault.assert_bulk_invariant(0)
    assert fault.run.rc != 0 and not any(fault.revoked_by_emulator.values())
    assert "revoked" not in fault.outcomes()


def test_bulk_users_left_out_of_a_batch_answer_are_sent_again_and_revoked(scenario):
    """Issue 28: max_retries' docs promise a lost answer is sent again; half the users missing from a $batch answer
    (the emulator acted on them) go again and end revoked, each revoked twice by the emulator, none unknown."""
    scenario.route.require_direct("a wrong shape breaks the contract on purpose")
    users = USERS[:6]
    scenario.faults(batch_answer_next=["missing_items"])
    fault = FaultRun(scenario, users, {"o365_max_retries": 2})
    fault.assert_bulk_invariant(2)
    assert fault.run.rc == 0, fault.result
    assert fault.outcomes() == ["revoked"] * 6
    assert sorted(fault.revoked_by_emulator.values()) == [1, 1, 1, 2, 2, 2]


@pytest.mark.parametrize("shape", ["html", "empty", "no_responses", "list", "responses_null", "non_object_item",
                                   "string_status", "duplicate_ids", "missing_items"])
def test_bulk_batch_answer_of_the_wrong_shape_is_unknown_never_a_crash(scenario, shape):
    scenario.route.require_direct("a wrong shape breaks the contract on purpose")
    users = USERS[:6]
    scenario.faults(batch_answer_next=[shape])
    fault = FaultRun(scenario, users, {"o365_max_retries": 0})
    fault.assert_bulk_invariant(0)
    assert all(fault.revoked_by_emulator.values())  # the emulator did the work; only its answer was wrong
    assert "failed" not in fault.outcomes() and "unknown" in fault.outcomes()
    assert fault.run.rc != 0 and "could not be read" in fault.result["msg"]
