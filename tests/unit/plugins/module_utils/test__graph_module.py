# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared options' environment fallbacks, as a credential type or an Execution Environment sets them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import responses

from ansible_collections.o365.admin.plugins.module_utils import _graph_module as graph_module
from ansible_collections.o365.admin.plugins.module_utils._graph_module import (
    GRAPH_COMMON_ARGUMENT_SPEC, environment_conflicts)
from ansible_collections.o365.admin.plugins.modules.o365_revoke_sessions import main

TOKEN = "header.payload.signature-of-a-pre-acquired-token"
REVOKE_PATH = "/v1.0/users/adele@contoso.com/revokeSignInSessions"


@pytest.fixture
def ca_bundle(tmp_path):
    path = tmp_path / "corporate-ca.pem"
    path.write_text("not read: requests gets the path\n")
    return str(path)


@responses.activate
def test_graph_endpoint_and_ca_path_come_from_the_environment(run_module, monkeypatch, ca_bundle):
    monkeypatch.setenv("O365_GRAPH_ENDPOINT", "https://graph.from-env.test")
    monkeypatch.setenv("O365_CA_PATH", ca_bundle)
    responses.post("https://graph.from-env.test" + REVOKE_PATH, json={"value": True})
    failed, result = run_module(main, {"user": "adele@contoso.com", "access_token": TOKEN})
    assert not failed and result["all_sessions_revoked"] is True
    assert responses.calls[0].request.req_kwargs["verify"] == ca_bundle


@responses.activate
def test_task_options_beat_the_environment(run_module, monkeypatch, ca_bundle):
    monkeypatch.setenv("O365_GRAPH_ENDPOINT", "https://graph.from-env.test")
    monkeypatch.setenv("O365_CA_PATH", "/nonexistent/ca.pem")
    responses.post("https://graph.from-task.test" + REVOKE_PATH, json={"value": True})
    failed, result = run_module(main, {"user": "adele@contoso.com", "access_token": TOKEN,
                                       "graph_endpoint": "https://graph.from-task.test", "ca_path": ca_bundle})
    assert not failed
    assert responses.calls[0].request.req_kwargs["verify"] == ca_bundle


@responses.activate
def test_empty_environment_values_leave_the_cloud_defaults(run_module, monkeypatch):
    # A credential type whose optional fields are left blank injects empty variables.
    monkeypatch.setenv("O365_GRAPH_ENDPOINT", "")
    monkeypatch.setenv("O365_CA_PATH", "")
    monkeypatch.setenv("AZURE_CLOUD_ENVIRONMENT", "")
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests' own variables would replace verify=True
        monkeypatch.delenv(name, raising=False)
    responses.post("https://graph.microsoft.com" + REVOKE_PATH, json={"value": True})
    failed, result = run_module(main, {"user": "adele@contoso.com", "access_token": TOKEN})
    assert not failed
    assert responses.calls[0].request.req_kwargs["verify"] is True


def test_a_plain_http_endpoint_from_the_environment_is_refused_like_the_option(run_module, monkeypatch):
    monkeypatch.setenv("O365_GRAPH_ENDPOINT", "http://graph.example.test")
    failed, result = run_module(main, {"user": "adele@contoso.com", "access_token": TOKEN})
    assert failed and "must use https" in result["msg"]


# --- Two environment names of one credential that differ are named, never their values (issue 18) --------------

def test_environment_conflicts_name_the_variable_used_and_the_one_that_differs():
    environ = {"AZURE_CLIENT_SECRET": "old-value", "AZURE_SECRET": "new-value", "AZURE_TENANT_ID": "t",
               "AZURE_TENANT": "t", "AZURE_CLIENT_ID": "app"}
    found = environment_conflicts(GRAPH_COMMON_ARGUMENT_SPEC, {}, environ)
    assert found == ["client_secret came from the environment variable AZURE_CLIENT_SECRET; AZURE_SECRET is also "
                     "set, with a different value, and was not used. Unset the stale one, or give client_secret "
                     "to the task."]
    assert "old-value" not in found[0] and "new-value" not in found[0]
    # Given to the task (as an option or through module_defaults): no variable was read.
    assert environment_conflicts(GRAPH_COMMON_ARGUMENT_SPEC, {"client_secret": "x"}, environ) == []
    assert environment_conflicts(GRAPH_COMMON_ARGUMENT_SPEC, {}, {"AZURE_SECRET": "only"}) == []
    assert environment_conflicts(GRAPH_COMMON_ARGUMENT_SPEC, {}, dict(environ, AZURE_CLIENT_SECRET="")) == []


# --- Missing Python libraries are reported all at once (issue 18) -----------------------------------------------

@pytest.mark.parametrize("missing, certificate, named", [
    (("REQUESTS", "MSAL", "CRYPTOGRAPHY"), True, "requests and msal and cryptography"),
    (("REQUESTS", "MSAL", "CRYPTOGRAPHY"), False, "requests and msal"),
    (("MSAL",), False, "msal"),
])
def test_missing_libraries_are_named_in_one_failure(run_module, monkeypatch, missing, certificate, named):
    for library in missing:
        monkeypatch.setattr(graph_module, library + "_IMPORT_ERROR", "ModuleNotFoundError: No module named %s"
                            % library.lower())
    args = {"user": "adele@contoso.com", "tenant_id": "t", "client_id": "c", "client_secret": "a-long-secret-value"}
    if certificate:
        args["client_certificate_path"] = "/nonexistent/app.pem"
    failed, result = run_module(main, args)
    assert failed and "(%s)" % named in result["msg"]
