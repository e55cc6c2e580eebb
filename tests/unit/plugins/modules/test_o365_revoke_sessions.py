# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
import requests
import responses

from ansible_collections.o365.admin.plugins.modules.o365_revoke_sessions import main
from tests.unit.plugins.modules.graph_options import GRAPH, TOKEN, graph_options

ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"


def args(**extra):
    return graph_options(**dict({"user": "adele@contoso.com"}, **extra))


def graph_error(code, message):
    return {"error": {"code": code, "message": message, "innerError": {"request-id": "rid-err"}}}


@responses.activate
@pytest.mark.parametrize("status", [200, 201])
def test_revoke_by_upn_succeeds_on_any_2xx(run_module, status):
    responses.post(GRAPH + "/users/adele@contoso.com/revokeSignInSessions", status=status, headers={"request-id": "r1"},
                   json={"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean", "value": True})
    failed, result = run_module(main, args())
    assert not failed
    assert (result["changed"], result["all_sessions_revoked"], result["status_code"]) == (True, True, status)
    assert (result["user"], result["request_id"]) == ("adele@contoso.com", "r1")
    assert responses.calls[0].request.headers["Authorization"] == "Bearer " + TOKEN


@responses.activate
def test_revoke_by_object_id_through_an_alias(run_module):
    responses.post(GRAPH + "/users/%s/revokeSignInSessions" % ADELE_ID, json={"value": True})
    failed, result = run_module(main, graph_options(user_id=ADELE_ID))
    assert not failed and result["user"] == ADELE_ID


@responses.activate
def test_a_2xx_without_a_body_counts_as_revoked(run_module):
    responses.post(GRAPH + "/users/adele@contoso.com/revokeSignInSessions", status=204)
    failed, result = run_module(main, args())
    assert not failed and result["all_sessions_revoked"] is True and result["status_code"] == 204


@responses.activate
def test_value_false_is_never_reported_as_success(run_module):
    responses.post(GRAPH + "/users/adele@contoso.com/revokeSignInSessions", json={"value": False},
                   headers={"request-id": "r-false"})
    failed, result = run_module(main, args())
    assert failed
    assert result["all_sessions_revoked"] is False and result["status_code"] == 200
    assert "value=false" in result["msg"] and "r-false" in result["msg"]


@responses.activate
def test_dollar_and_guest_upns_reach_graph_encoded(run_module):
    responses.post(GRAPH + "/users('$svc@contoso.com')/revokeSignInSessions", json={"value": True})
    responses.post(GRAPH + "/users/Adele_adatum.com%23EXT%23@contoso.com/revokeSignInSessions", json={"value": True})
    assert not run_module(main, args(user="$svc@contoso.com"))[0]
    failed, result = run_module(main, args(user="Adele_adatum.com#EXT#@contoso.com"))
    assert not failed
    assert any("B2B guest" in warning for warning in result["warnings"])
    assert [call.request.url for call in responses.calls] == [
        GRAPH + "/users('$svc@contoso.com')/revokeSignInSessions",
        GRAPH + "/users/Adele_adatum.com%23EXT%23@contoso.com/revokeSignInSessions"]


@responses.activate
@pytest.mark.parametrize("user", ["adele/../../groups@contoso.com", "adèle@contoso.com", "adele", "a@b@contoso.com"])
def test_invalid_user_fails_before_any_network_call(run_module, user):
    failed, result = run_module(main, args(user=user))
    assert failed and "Invalid user reference" in result["msg"]
    assert result["changed"] is False if "changed" in result else True
    assert len(responses.calls) == 0


@responses.activate
@pytest.mark.parametrize("status, code, expected", [
    (401, "InvalidAuthenticationToken", "rejected the access token"),
    (403, "Authorization_RequestDenied", "User.RevokeSessions.All"),
    (404, "Request_ResourceNotFound", "was not found in the tenant"),
    (400, "Request_BadRequest", "HTTP 400 Request_BadRequest"),
])
def test_graph_errors_become_actionable_messages_with_their_details(run_module, status, code, expected):
    responses.post(GRAPH + "/users/adele@contoso.com/revokeSignInSessions", status=status,
                   json=graph_error(code, "Graph says no."))
    failed, result = run_module(main, args())
    assert failed and expected in result["msg"]
    assert "Graph says no." in result["msg"] and "rid-err" in result["msg"]
    assert result["error"] == {"code": code, "message": "Graph says no."}
    assert result["status_code"] == status and result["request_id"] == "rid-err"
    assert result["client_request_id"] == responses.calls[0].request.headers["client-request-id"]


@responses.activate
def test_throttling_is_retried_and_reported_as_a_warning(run_module, no_sleep):
    url = GRAPH + "/users/adele@contoso.com/revokeSignInSessions"
    responses.post(url, status=429, headers={"Retry-After": "2"}, json=graph_error("TooManyRequests", "Slow down."))
    responses.post(url, json={"value": True})
    failed, result = run_module(main, args())
    assert not failed and no_sleep == [2.0]
    assert any("retry 1 time" in warning for warning in result["warnings"])


@responses.activate
def test_retries_exhausted_fail_with_the_count(run_module, no_sleep):
    url = GRAPH + "/users/adele@contoso.com/revokeSignInSessions"
    responses.post(url, status=503, headers={"Retry-After": "1"}, json=graph_error("serviceNotAvailable", "Busy."))
    failed, result = run_module(main, args(max_retries=2))
    assert failed and len(responses.calls) == 3 and no_sleep == [1.0, 1.0]
    assert "after 3 attempts and 2.0 s of waiting" in result["msg"] and result["attempts"] == 3


@responses.activate
def test_check_mode_reads_the_user_and_sends_no_revoke(run_module):
    responses.get(GRAPH + "/users/adele@contoso.com", json={"id": ADELE_ID, "userPrincipalName": "adele@contoso.com"},
                  headers={"request-id": "r-get"})
    failed, result = run_module(main, args(), check_mode=True)
    assert not failed
    assert result["changed"] is True and result["user_confirmed"] is True and result["user_id"] == ADELE_ID
    assert result["all_sessions_revoked"] is None and result["status_code"] is None
    assert [call.request.method for call in responses.calls] == ["GET"]
    assert responses.calls[0].request.params == {"$select": "id,userPrincipalName"}


@responses.activate
def test_check_mode_is_not_confirmed_by_a_2xx_that_is_not_graph_s_answer(run_module):
    responses.get(GRAPH + "/users/adele@contoso.com", status=200, content_type="text/html",
                  body="<html><body>Blocked by proxy</body></html>")
    failed, result = run_module(main, args(), check_mode=True)
    assert failed and result["outcome"] == "unknown" and result["status_code"] == 200
    assert "adele@contoso.com could not be confirmed: Graph's answer could not be read: HTTP 200 with text/html" \
        in result["msg"]
    assert [call.request.method for call in responses.calls] == ["GET"]


@responses.activate
def test_check_mode_fails_for_an_unknown_user(run_module):
    responses.get(GRAPH + "/users/ghost@contoso.com", status=404, json=graph_error("Request_ResourceNotFound", "Nope"))
    failed, result = run_module(main, args(user="ghost@contoso.com"), check_mode=True)
    assert failed and "was not found in the tenant" in result["msg"]


@responses.activate
def test_check_mode_without_read_permission_warns_and_predicts_the_revoke(run_module):
    responses.get(GRAPH + "/users/adele@contoso.com", status=403,
                  json=graph_error("Authorization_RequestDenied", "Insufficient privileges."))
    failed, result = run_module(main, args(), check_mode=True)
    assert not failed and result["changed"] is True and result["user_confirmed"] is False
    assert any("User.Read.All" in warning for warning in result["warnings"])


def test_missing_credentials_fail_clearly(run_module):
    failed, result = run_module(main, {"user": "adele@contoso.com"})
    assert failed and "Missing tenant_id and client_id" in result["msg"]


def test_environment_fills_options_that_the_task_does_not_set(run_module, monkeypatch):
    monkeypatch.setenv("AZURE_TENANT", "from-awx-tenant")
    monkeypatch.setenv("AZURE_CLIENT_ID", "from-env-client")
    failed, result = run_module(main, {"user": "adele@contoso.com", "client_id": "from-task-client"})
    # No secret anywhere: the message proves which tenant and client were resolved before the credential check.
    assert failed and "No credential" in result["msg"]
    monkeypatch.setenv("AZURE_SECRET", "from-awx-secret")
    monkeypatch.setenv("AZURE_CLOUD_ENVIRONMENT", "Mars")
    failed, result = run_module(main, {"user": "adele@contoso.com", "client_id": "from-task-client"})
    assert failed and "AZURE_CLOUD_ENVIRONMENT='Mars'" in result["msg"]


@responses.activate
def test_secrets_never_appear_in_the_result(run_module):
    responses.post(GRAPH + "/users/adele@contoso.com/revokeSignInSessions", status=403,
                   json=graph_error("Authorization_RequestDenied", "Denied."))
    failed, result = run_module(main, args(client_secret="very-secret-value", tenant_id="t", client_id="c"))
    assert failed
    assert TOKEN not in json.dumps(result) and "very-secret-value" not in json.dumps(result)


def batch_answer(statuses):
    """A $batch callback answering each item with statuses.get(url, 200), Graph-style."""
    def callback(request):
        items = json.loads(request.body)["requests"]
        responses = []
        for item in items:
            status = statuses.get(item["url"], 200)
            body = {"value": True} if status == 200 and item["method"] == "POST" else (
                {"id": ADELE_ID, "userPrincipalName": "Adele@contoso.com"} if status == 200
                else graph_error("Request_ResourceNotFound", "Gone."))
            responses.append({"id": item["id"], "status": status, "headers": {"Content-Type": "application/json"},
                              "body": body})
        return 200, {"request-id": "batch-rid"}, json.dumps({"responses": list(reversed(responses))})
    return callback


@responses.activate
def test_users_are_revoked_in_one_batch_with_duplicates_sent_once(run_module):
    # The object ID is the rarer form: one read tells its UPN, and the same person is revoked once.
    responses.add_callback(responses.POST, GRAPH + "/$batch", callback=batch_answer({}))
    users = ["adele@contoso.com", "ADELE@contoso.com", ADELE_ID, "$svc@contoso.com"]
    failed, result = run_module(main, graph_options(users=users))
    assert not failed
    assert [item["url"] for item in json.loads(responses.calls[0].request.body)["requests"]] == [
        "/users/%s?$select=id,userPrincipalName" % ADELE_ID]
    sent = json.loads(responses.calls[1].request.body)["requests"]
    assert [item["url"] for item in sent] == ["/users/adele@contoso.com/revokeSignInSessions",
                                              "/users('$svc@contoso.com')/revokeSignInSessions"]
    assert [entry["user"] for entry in result["results"]] == users
    assert all(entry["all_sessions_revoked"] and entry["status_code"] == 200 and entry["outcome"] == "revoked"
               for entry in result["results"])
    assert result["results"][2]["user_id"] == ADELE_ID
    assert (result["changed"], result["all_sessions_revoked"], result["revoked_count"]) == (True, True, 2)
    # One batched read of the rarer form, one $batch of revokes.
    assert (result["failed_users"], result["batches"], result["retries"]) == ([], 2, 0)
    assert (result["failed_count"], result["unknown_count"], result["unknown_users"]) == (0, 0, [])


@responses.activate
def test_one_failed_user_fails_the_task_and_every_outcome_is_returned(run_module):
    responses.add_callback(responses.POST, GRAPH + "/$batch", callback=batch_answer(
        {"/users/ghost@contoso.com/revokeSignInSessions": 404}))
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "ghost@contoso.com"]))
    assert failed
    assert result["failed_users"] == ["ghost@contoso.com"] and result["revoked_count"] == 1
    assert (result["failed_count"], result["unknown_count"]) == (1, 0)
    assert [entry["outcome"] for entry in result["results"]] == ["revoked", "failed"]
    assert result["results"][0]["all_sessions_revoked"] is True
    assert result["results"][1]["error"] == {"code": "Request_ResourceNotFound", "message": "Gone."}
    assert "1 of 2 users could not be revoked: ghost@contoso.com (404 Request_ResourceNotFound)" in result["msg"]
    assert result["changed"] is True and result["all_sessions_revoked"] is False


@responses.activate
def test_one_invalid_reference_in_the_list_stops_everything_before_the_network(run_module):
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "bad/one@contoso.com", "also bad"]))
    assert failed and "2 invalid user references, nothing was sent" in result["msg"]
    assert result["user"] == ["bad/one@contoso.com", "also bad"]
    assert len(responses.calls) == 0


@responses.activate
def test_check_mode_with_users_reads_them_in_a_batch(run_module):
    responses.add_callback(responses.POST, GRAPH + "/$batch", callback=batch_answer({}))
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "alex@contoso.com"]), check_mode=True)
    assert not failed
    sent = json.loads(responses.calls[0].request.body)["requests"]
    assert sent == [{"id": "0", "method": "GET", "url": "/users/adele@contoso.com?$select=id,userPrincipalName"},
                    {"id": "1", "method": "GET", "url": "/users/alex@contoso.com?$select=id,userPrincipalName"}]
    entry = result["results"][0]
    assert (entry["changed"], entry["user_confirmed"], entry["user_id"]) == (True, True, ADELE_ID)
    assert entry["outcome"] == "would_revoke"
    assert result["all_sessions_revoked"] is None and result["revoked_count"] == 0


@pytest.mark.parametrize("extra, message", [
    ({"user": "adele@contoso.com", "users": ["adele@contoso.com"]}, "mutually exclusive"),
    ({}, "one of the following is required"),
    ({"users": ["adele@contoso.com"], "batch_concurrency": 0}, "batch_concurrency must be 1 or more"),
])
def test_user_and_users_options_are_checked(run_module, extra, message):
    failed, result = run_module(main, graph_options(**extra))
    assert failed and message in result["msg"]


@responses.activate
def test_value_false_in_a_batch_is_a_failed_user_never_a_revoked_one(run_module):
    def callback(request):
        return 200, {}, json.dumps({"responses": [{"id": item["id"], "status": 200, "headers": {},
                                                   "body": {"value": False}}
                                                  for item in json.loads(request.body)["requests"]]})
    responses.add_callback(responses.POST, GRAPH + "/$batch", callback=callback)
    failed, result = run_module(main, graph_options(users=["adele@contoso.com", "alex@contoso.com"]))
    entry = result["results"][0]
    assert failed and result["failed_users"] == ["adele@contoso.com", "alex@contoso.com"]
    assert result["revoked_count"] == 0
    assert entry["changed"] is True and entry["all_sessions_revoked"] is False and "value=false" in entry["error"]["message"]
    assert entry["outcome"] == "failed"


# --- Only Graph's answer is a revoke; nothing ends as MODULE FAILURE (issue 10 #4 and the last-resort net) -------

@responses.activate
def test_an_empty_200_counts_as_revoked(run_module):
    responses.post(GRAPH + "/users/adele@contoso.com/revokeSignInSessions", status=200, body=b"")
    failed, result = run_module(main, args())
    assert not failed and result["all_sessions_revoked"] is True and result["changed"] is True


@responses.activate
@pytest.mark.parametrize("status, content_type, body, received", [
    (200, "text/html", "<html><body><h1>Blocked by proxy</h1></body></html>", "text/html"),
    (200, "application/json", json.dumps(graph_error("Request_BadRequest", "nope")), "application/json"),
    (200, "application/json", '{"@odata.context": "x"}', "application/json"),
    (200, "application/json", '{"value": "true"}', "application/json"),
    (200, "application/json", "null", "application/json"),
    (200, "application/json", "[true]", "application/json"),
    (201, "text/plain", "OK", "text/plain"),
])
def test_a_2xx_that_is_not_graph_s_answer_is_never_a_revoke(run_module, status, content_type, body, received):
    responses.post(GRAPH + "/users/adele@contoso.com/revokeSignInSessions", status=status, content_type=content_type,
                   body=body, headers={"request-id": "r-odd"})
    failed, result = run_module(main, args())
    assert failed
    # Sent, and the answer is not Graph's: it may have acted (unknown), never "not revoked", never "revoked".
    assert (result["outcome"], result["changed"], result["all_sessions_revoked"], result["status_code"]) == (
        "unknown", True, None, status)
    assert "The revoke for adele@contoso.com is not confirmed" in result["msg"]
    assert "Graph's answer could not be read: HTTP %d with " % status in result["msg"]
    assert received in result["msg"] or received == "application/json"
    assert "running the task again is safe" in result["msg"]
    assert result["request_id"] == "r-odd" and "error" in result


@responses.activate
def test_a_graph_error_body_in_a_200_keeps_graph_s_code(run_module):
    responses.post(GRAPH + "/users/adele@contoso.com/revokeSignInSessions", status=200,
                   json=graph_error("Request_BadRequest", "nope"))
    failed, result = run_module(main, args())
    assert failed and result["outcome"] == "unknown" and result["error"]["code"] is None
    assert "Request_BadRequest" in result["error"]["message"]


@responses.activate
def test_an_unexpected_exception_is_a_clear_failure_with_the_traceback_apart(run_module, monkeypatch):
    def broken(*unused, **unused_too):
        raise ZeroDivisionError("an escaped bug")
    monkeypatch.setattr("ansible_collections.o365.admin.plugins.module_utils._revocation.user_result", broken)
    traceback_setting = {}
    try:
        from ansible.module_utils._internal import _traceback
    except ImportError:
        pass  # before 2.19 there is no such setting: fail_json keeps the exception it is given
    else:
        # What ansible-playbook passes with ANSIBLE_DISPLAY_TRACEBACK=error; ansible-core caches it once per process.
        monkeypatch.setattr(_traceback, "_module_tracebacks_enabled_events", None)
        traceback_setting["_ansible_tracebacks_for"] = ["error"]
    failed, result = run_module(main, args(**traceback_setting))
    assert failed
    assert result["msg"].startswith("The module stopped on an unexpected error (ZeroDivisionError: an escaped bug)")
    assert "ANSIBLE_DISPLAY_TRACEBACK=error" in result["msg"] and "Traceback" not in result["msg"]
    assert "Traceback" in result["exception"]


@responses.activate
def test_an_unexpected_exception_never_shows_a_secret(run_module, monkeypatch):
    def broken(*unused, **unused_too):
        raise RuntimeError("bad token %s" % TOKEN)
    monkeypatch.setattr("ansible_collections.o365.admin.plugins.module_utils._revocation.user_result", broken)
    failed, result = run_module(main, args())
    assert failed and TOKEN not in json.dumps(result)


@responses.activate
def test_a_lost_answer_to_the_revoke_says_it_may_have_happened(run_module, no_sleep):
    for dummy in range(2):
        responses.post(GRAPH + "/users/adele@contoso.com/revokeSignInSessions",
                       body=requests.exceptions.ReadTimeout("read timed out"))
    failed, result = run_module(main, args(max_retries=1))
    assert failed and result["may_have_acted"] is True
    assert "may have been carried out" in result["msg"] and result["attempts"] == 2


def bulk_args(users, **extra):
    return graph_options(users=users, **extra)


def items_answered(item_answer):
    """A $batch callback answering each item with ``item_answer(item) -> (status, body)``."""
    def callback(request):
        answers = []
        for item in json.loads(request.body)["requests"]:
            status, body = item_answer(item)
            answer = {"id": item["id"], "status": status, "headers": {}}
            if body is not None:
                answer["body"] = body
            answers.append(answer)
        return 200, {"request-id": "batch-rid"}, json.dumps({"responses": answers})
    return callback


@responses.activate
def test_a_batch_answer_that_is_not_graphs_makes_every_user_unknown_never_failed(run_module):
    """Issue 10, #5: a proxy's HTML page in a 200 (before: reported as "503 HTTP 503" after pointless retries)."""
    responses.post(GRAPH + "/$batch", status=200, body="<html>Blocked by proxy</html>", content_type="text/html")
    users = ["adele@contoso.com", "alex@contoso.com"]
    failed, result = run_module(main, bulk_args(users))
    assert failed and len(responses.calls) == 1
    assert [entry["outcome"] for entry in result["results"]] == ["unknown", "unknown"]
    assert all(entry["status_code"] is None and entry["all_sessions_revoked"] is None and not entry["changed"]
               for entry in result["results"])
    assert (result["unknown_users"], result["failed_users"], result["unknown_count"]) == (users, [], 2)
    assert "answer was lost or could not be read: adele@contoso.com, alex@contoso.com" in result["msg"]
    assert "Graph may have revoked them; running the task again is safe" in result["msg"]
    assert "could not be revoked" not in result["msg"]


@responses.activate
def test_a_2xx_item_is_a_revoke_only_when_it_is_graphs_answer(run_module):
    """Issue 10, #4, bulk side: before, every one of these counted as revoked."""
    answers = {
        "/users/a@contoso.com/revokeSignInSessions": (200, {"value": True}),
        "/users/b@contoso.com/revokeSignInSessions": (204, None),
        "/users/c@contoso.com/revokeSignInSessions": (200, {"error": {"code": "Blocked", "message": "No."}}),
        "/users/d@contoso.com/revokeSignInSessions": (200, "<html>proxy</html>"),
        "/users/e@contoso.com/revokeSignInSessions": (200, {"@odata.context": "x"}),
    }
    responses.add_callback(responses.POST, GRAPH + "/$batch", callback=items_answered(lambda i: answers[i["url"]]))
    users = ["a@contoso.com", "b@contoso.com", "c@contoso.com", "d@contoso.com", "e@contoso.com"]
    failed, result = run_module(main, bulk_args(users))
    assert failed
    assert [e["outcome"] for e in result["results"]] == ["revoked", "revoked", "unknown", "unknown", "unknown"]
    assert result["revoked_count"] == 2 and result["unknown_users"] == users[2:]
    assert "HTTP 200 with <html>proxy</html> instead of Graph's answer" in result["results"][3]["error"]["message"]


@responses.activate
def test_a_lost_batch_answer_is_unknown_and_the_task_fails_with_every_result(run_module, no_sleep):
    responses.post(GRAPH + "/$batch", body=requests.exceptions.ConnectionError("Connection reset by peer"))
    failed, result = run_module(main, bulk_args(["adele@contoso.com", "ghost@contoso.com"], max_retries=0))
    assert failed and [e["outcome"] for e in result["results"]] == ["unknown", "unknown"]
    assert "may have acted" in result["results"][0]["error"]["message"]
    assert result["failed_users"] == [] and result["unknown_count"] == 2


@responses.activate
def test_unknown_and_failed_users_are_told_apart_in_the_message(run_module):
    def answer(item):
        if "ghost" in item["url"]:
            return 404, {"error": {"code": "Request_ResourceNotFound", "message": "Gone."}}
        if "lost" in item["url"]:
            return "200", {"value": True}
        return 200, {"value": True}

    responses.add_callback(responses.POST, GRAPH + "/$batch", callback=items_answered(answer))
    users = ["adele@contoso.com", "ghost@contoso.com", "lost@contoso.com", "ADELE@contoso.com"]
    failed, result = run_module(main, bulk_args(users))
    assert failed
    assert [e["outcome"] for e in result["results"]] == ["revoked", "failed", "unknown", "revoked"]
    assert (result["revoked_count"], result["failed_count"], result["unknown_count"]) == (1, 1, 1)
    assert result["msg"].startswith("1 of 4 users could not be revoked: ghost@contoso.com (404 "
                                    "Request_ResourceNotFound). For 1 of 4 users the answer was lost or could not "
                                    "be read: lost@contoso.com.")
