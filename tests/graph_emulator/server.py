# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP side: routes Entra ID, Graph and control requests, injects faults, writes the request log.

Built on the standard library's http.server (threading, HTTP/1.1 keep-alive) and ssl: the emulator needs
no web framework, adds no dependency to the project, and keeps full control of sockets, which the
connection-reset fault needs.
"""

import hmac
import ipaddress
import json
import os
import socket
import struct
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import hashes

from .clock import CLOCK
from .faults import mangle_batch_answer
from .tenant import write_certificate_chain
from .tokens import ASSERTION_TYPE, EntraError

CONTROL_PREFIX = "/_emulator"
GRAPH_PREFIX = "/v1.0"
BETA_PREFIX = "/beta"  # only /auditLogs is served there (tests/graph_emulator/reports.py)
PUBLIC_GRAPH = "https://graph.microsoft.com"


def is_graph_audience(audience):
    """Graph's own resource, or any loopback origin: the emulator is Graph for whatever points at it."""
    audience = (audience or "").rstrip("/")
    if audience == PUBLIC_GRAPH:
        return True
    parts = urlsplit(audience)
    if parts.scheme not in ("http", "https") or parts.path:
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RequestLog:
    """JSON lines: time, method, path, status, duration; never the Authorization header or a body."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._handle = open(path, "a", buffering=1)

    def write(self, **entry):
        entry.setdefault("time", time.time())
        with self._lock:
            self._handle.write(json.dumps(entry, sort_keys=True) + "\n")

    def close(self):
        with self._lock:
            self._handle.close()


class Emulator:
    """Shared state behind every listener (HTTPS, and plain HTTP with --http)."""

    def __init__(self, tenant, tokens, graph, faults, request_log):
        self.tenant = tenant
        self.tokens = tokens
        self.graph = graph
        self.faults = faults
        self.request_log = request_log


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "o365-admin-graph-emulator"
    sys_version = ""

    # --- plumbing -------------------------------------------------------------------------------
    @property
    def emulator(self):
        return self.server.emulator

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the request log is the record."""

    def date_time_string(self, timestamp=None):
        """The Date header of every answer, by Graph's clock (fault clock_offset_s shifts it from the host's)."""
        return CLOCK.http_date() if timestamp is None else super().date_time_string(timestamp)

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reset_connection(self):
        # SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    _truncate_next_answer = False

    def _send(self, status, body, headers=None, truncate=False):
        truncate = truncate or self._truncate_next_answer
        self._truncate_next_answer = False
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        self._send_raw(status, "application/json" if body is not None else None, payload, headers, truncate)

    def _send_raw(self, status, content_type, payload, headers=None, truncate=False):
        """Send an answer; with ``truncate``, announce the whole length, send half of it and close."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            if name.lower() != "content-type":
                self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if truncate:
            self.wfile.write(payload[:len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)

    def _dispatch(self):
        started = time.monotonic()
        body = self._read_body()
        target = urlsplit(self.path)
        kind = self._kind(target.path)
        if kind != "control" and self.emulator.faults.take_connection_reset():
            self.emulator.request_log.write(kind=kind, method=self.command, path=target.path, status=None,
                                            duration_ms=0.0, fault="connection_reset")
            self._reset_connection()
            return
        status, extra = {"control": self._control, "openid": self._openid, "token": self._token,
                         "graph": self._graph}.get(kind, self._unknown)(target, body)
        entry = dict(kind=kind, method=self.command, path=target.path, status=status,
                     duration_ms=round((time.monotonic() - started) * 1000.0, 3),
                     client_request_id=self.headers.get("client-request-id"))
        entry.update(extra or {})
        if kind != "control":
            self.emulator.request_log.write(**entry)

    @staticmethod
    def _kind(path):
        if path.startswith(CONTROL_PREFIX + "/"):
            return "control"
        if path.startswith(GRAPH_PREFIX + "/") or path.startswith(BETA_PREFIX + "/"):
            return "graph"
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            return "openid"
        if path.endswith("/oauth2/v2.0/token"):
            return "token"
        return "unknown"

    def _origin(self):
        scheme = "https" if self.server.tls else "http"
        return "%s://%s" % (scheme, self.headers.get("Host") or "%s:%d" % self.server.server_address[:2])

    def _unknown(self, target, body):
        self._send(404, {"error": {"code": "NotFound", "message": "No such endpoint on the emulator."}})
        return 404, None

    # --- Entra ID ---------------------------------------------------------------------------------
    def _entra_error(self, error):
        correlation_id = self.headers.get("client-request-id") or str(uuid.uuid4())
        self._send(error.status, error.body(correlation_id))
        return error.status, {"error": error.error, "aadsts": error.aadsts}

    def _tenant_name(self, path):
        name = path.strip("/").split("/")[0]
        if not self.emulator.tenant.knows_tenant(name):
            raise EntraError(400, "invalid_tenant", 90002,
                             "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing "
                             "into the correct cloud." % name)
        return name

    def _openid(self, target, body):
        try:
            name = self._tenant_name(target.path)
        except EntraError as error:
            return self._entra_error(error)
        base = "%s/%s" % (self._origin(), name)
        self._send(200, {
            "token_endpoint": base + "/oauth2/v2.0/token",
            "authorization_endpoint": base + "/oauth2/v2.0/authorize",
            "jwks_uri": base + "/discovery/v2.0/keys",
            "issuer": "%s/%s/v2.0" % (self._origin(), self.emulator.tenant.tenant_id),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": None,
        })
        return 200, None

    def _token(self, target, body):
        faults = self.emulator.faults
        if faults.token_latency_s:
            time.sleep(faults.token_latency_s)
        failure = faults.take_token_failure()
        if failure:
            self._send(failure, {"error": "temporarily_unavailable",
                                 "error_description": "AADSTS90033: Injected failure of the token endpoint.",
                                 "error_codes": [90033]})
            return failure, {"fault": "token_failure"}
        answer = faults.take_token_answer()
        if answer:
            self._send_raw(answer.status, answer.content_type, answer.payload)
            return answer.status, {"fault": "token_answer"}
        setup = faults.take_token_error()
        if setup:
            status, extra = self._entra_error(setup)
            return status, dict(extra, fault="token_error")
        self._truncate_next_answer = faults.take_token_truncation()
        try:
            status, extra = self._issue_token(target, body)
        except EntraError as error:
            status, extra = self._entra_error(error)
        if self._truncate_next_answer:
            extra = dict(extra or {}, fault="truncated")
        return status, extra

    def _issue_token(self, target, body):
        name = self._tenant_name(target.path)
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        if form.get("grant_type") != "client_credentials":
            raise EntraError(400, "unsupported_grant_type", 70003,
                             "The app requested an unsupported grant type '%s'." % form.get("grant_type"))
        tenant = self.emulator.tenant
        app = tenant.apps.get(form.get("client_id", ""))
        if app is None:
            raise EntraError(400, "unauthorized_client", 700016,
                             "Application with identifier '%s' was not found in the directory '%s'. This can happen "
                             "if the application has not been installed by the administrator of the tenant."
                             % (form.get("client_id"), name))
        if form.get("client_assertion"):
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise EntraError(400, "invalid_request", 50027, "Invalid client_assertion_type.")
            endpoints = {"%s/%s/oauth2/v2.0/token" % (self._origin(), tenant_name)
                         for tenant_name in (name, tenant.tenant_id)}
            self.emulator.tokens.verify_assertion(app, form["client_assertion"], endpoints)
            credential = "certificate"
        elif form.get("client_secret"):
            if not app.client_secret or not hmac.compare_digest(form["client_secret"], app.client_secret):
                raise EntraError(401, "invalid_client", 7000215,
                                 "Invalid client secret provided. Ensure the secret being sent in the request is the "
                                 "client secret value, not the client secret ID, for a secret added to app '%s'."
                                 % app.client_id)
            credential = "secret"
        else:
            raise EntraError(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or "
                             "'client_secret'.")
        scopes = form.get("scope", "").split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise EntraError(400, "invalid_scope", 1002012,
                             "The provided value for scope %s is not valid. Client credential flows must have a scope "
                             "value with /.default suffixed to the resource identifier (application ID URI)."
                             % form.get("scope"))
        resource = scopes[0][:-len("/.default")]
        if not is_graph_audience(resource):
            raise EntraError(400, "invalid_resource", 500011,
                             "The resource principal named %s was not found in the tenant named %s." % (resource, name))
        self._send(200, self.emulator.tokens.issue(app, resource))
        return 200, {"client_id": app.client_id, "credential": credential}

    # --- Graph ------------------------------------------------------------------------------------
    def _graph(self, target, body):
        emulator = self.emulator
        faults = emulator.faults
        prefix = BETA_PREFIX if self.path.startswith(BETA_PREFIX + "/") else GRAPH_PREFIX
        extra_s = faults.extra_latency(urlsplit(self.path[len(prefix):]).path)
        if (faults.latency_s or extra_s) and not faults.hold(faults.latency_s + extra_s):
            # The scenario that slowed it is over: drop it unanswered and never carry it out.
            self.close_connection = True
            return None, {"fault": "dropped_at_reset"}
        request_id = str(uuid.uuid4())
        client_request_id = self.headers.get("client-request-id")
        headers = {"request-id": request_id, "client-request-id": client_request_id or request_id}
        extra = {"request_id": request_id}
        scripted = faults.take_graph_answer()
        if scripted and not scripted[1]:
            # Something in front of Graph answered (a proxy's page): nothing reached Graph.
            answer = scripted[0]
            self._send_raw(answer.status, answer.content_type, answer.payload, headers)
            return answer.status, dict(extra, fault="scripted_answer")
        claims, refusal = emulator.graph.authenticate(self.headers.get("Authorization"), request_id,
                                                      client_request_id)
        relative = self.path[len(prefix):]
        is_batch = urlsplit(relative).path == "/$batch" and self.command == "POST" and prefix == GRAPH_PREFIX
        if refusal is not None:
            reply = refusal
        elif is_batch:
            reply, items = emulator.graph.batch(body, claims, request_id, client_request_id)
            extra["batch_items"] = len(items)
            for item_id, method, url, status in items:
                emulator.request_log.write(kind="batch_item", batch_request_id=request_id, id=item_id, method=method,
                                           path=url, status=status)
        else:
            reply = emulator.graph.handle(self.command, relative, dict(self.headers.items()), body or None, claims,
                                          request_id, client_request_id, origin=self._origin(),
                                          version=prefix.strip("/"))
        headers.update(reply.headers)
        # The faults below come after Graph did the work: the request was carried out, its answer is lost or wrong.
        if faults.take_reset_after_acting():
            self._reset_connection()
            return reply.status, dict(extra, fault="reset_after_acting")
        if scripted:
            answer = scripted[0]
            self._send_raw(answer.status, answer.content_type, answer.payload, headers)
            return answer.status, dict(extra, fault="scripted_answer_after_acting", real_status=reply.status)
        shape = faults.take_batch_shape() if is_batch and reply.status == 200 else None
        if shape:
            answer = mangle_batch_answer(shape, reply.body)
            self._send_raw(answer.status, answer.content_type, answer.payload, headers)
            return answer.status, dict(extra, fault="batch_shape_" + shape)
        truncate = faults.take_truncation()
        self._send(reply.status, reply.body, headers, truncate=truncate)
        if truncate:
            extra["fault"] = "truncated"
        elif extra_s:
            extra["fault"] = "slow"
        return reply.status, extra

    # --- control (tests and benchmarks; never through Prism) --------------------------------------
    def _control(self, target, body):
        emulator = self.emulator
        action = target.path[len(CONTROL_PREFIX):]
        if action == "/faults" and self.command == "POST":
            try:
                emulator.faults.configure(json.loads(body or b"{}"))
            except (ValueError, KeyError, TypeError) as exc:
                self._send(400, {"error": {"code": "BadFaults", "message": str(exc)}})
                return 400, None
            self._send(204, None)
            return 204, None
        if action == "/reset" and self.command == "POST":
            emulator.faults.reset()
            emulator.graph.reports.reset_settings()
            self._send(204, None)
            return 204, None
        if action == "/users" and self.command == "GET":
            self._send(200, {"users": [dict(user.properties(), revocations=user.revocations,
                                            account_enabled_writes=user.account_enabled_writes)
                                       for user in emulator.tenant.users]})
            return 200, None
        if action == "/user_state" and self.command == "POST":
            # Put users back in a known state between tests: {"users": {"<id or UPN>": {"accountEnabled": bool,
            # "signInSessionsValidFromDateTime": "<Graph time>"}}} (each key optional).
            for key, state in json.loads(body or b"{}").get("users", {}).items():
                user = emulator.tenant.find_user(key)
                if "accountEnabled" in state:
                    user.account_enabled = bool(state["accountEnabled"])
                if "signInSessionsValidFromDateTime" in state:
                    user.sign_in_sessions_valid_from = state["signInSessionsValidFromDateTime"]
            self._send(204, None)
            return 204, None
        if action == "/groups" and self.command == "POST":
            # A new nested group of new users: {"display_name", "users": N, "nested": levels, "prefix"?}.
            request = json.loads(body or b"{}")
            group, users = emulator.tenant.make_nested_group(request["display_name"], int(request["users"]),
                                                             int(request.get("nested", 3)), request.get("prefix"))
            self._send(200, {"id": group.id, "display_name": group.display_name,
                             "users": [{"id": u.id, "userPrincipalName": u.user_principal_name} for u in users]})
            return 200, None
        if action == "/apps" and self.command == "POST":
            # Change an app's granted permissions (or Entra roles), as an admin in the portal would.
            request = json.loads(body or b"{}")
            app = emulator.tenant.apps[request["client_id"]]
            if "roles" in request:
                app.roles = list(request["roles"])
            if "directory_roles" in request:
                app.directory_roles = list(request["directory_roles"])
            self._send(204, None)
            return 204, None
        if action == "/risk":
            # Identity Protection's side: mark users at risk, the P2 licence, the per-tenant rate limit.
            if self.command == "POST":
                try:
                    emulator.graph.risk.configure(json.loads(body or b"{}"))
                except (ValueError, KeyError, TypeError) as exc:
                    self._send(400, {"error": {"code": "BadRisk", "message": str(exc)}})
                    return 400, None
                self._send(204, None)
                return 204, None
            self._send(200, emulator.graph.risk.snapshot())
            return 200, None
        if action == "/reports":
            # Activity logs: latencies, the P1 licence, the reports limit, sign-in events, simulated clients.
            if self.command == "POST":
                try:
                    answer = emulator.graph.reports.configure(json.loads(body or b"{}"))
                except (ValueError, KeyError, TypeError) as exc:
                    self._send(400, {"error": {"code": "BadReports", "message": str(exc)}})
                    return 400, None
                self._send(200, answer)
                return 200, None
            self._send(200, emulator.graph.reports.snapshot())
            return 200, None
        if action == "/certificate" and self.command == "POST":
            # A certificate chain for an app, in the order some vaults export it: {"client_id"?, "format": "pem" |
            # "pfx", "order": ["key", "root", "leaf"], "password"?}. Its leaf is registered on the app.
            request = json.loads(body or b"{}")
            app = emulator.tenant.apps[request.get("client_id") or next(iter(emulator.tenant.apps))]
            try:
                path, leaf = write_certificate_chain(os.path.dirname(emulator.request_log.path), app,
                                                     request.get("format", "pem"), list(request.get("order", [])),
                                                     request.get("password"))
            except ValueError as exc:
                self._send(400, {"error": {"code": "BadCertificateRequest", "message": str(exc)}})
                return 400, None
            self._send(200, {"path": path, "leaf_sha256": leaf.fingerprint(hashes.SHA256()).hex()})
            return 200, None
        if action == "/token" and self.command == "POST":
            # A token minted directly, e.g. an expired one or one to pass as access_token.
            request = json.loads(body or b"{}")
            app = emulator.tenant.apps[request["client_id"]]
            token = emulator.tokens.issue(app, request.get("audience", PUBLIC_GRAPH), request.get("lifetime_s"))
            self._send(200, token)
            return 200, None
        return self._unknown(target, body)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port, emulator, ssl_context=None):
        super().__init__(("127.0.0.1", port), Handler)
        self.emulator = emulator
        self.tls = ssl_context is not None
        if ssl_context is not None:
            # The handshake happens in the request's own thread, so a slow client cannot stall accept().
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    @property
    def port(self):
        return self.server_address[1]
