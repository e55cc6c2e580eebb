# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Microsoft Graph v1.0's side: users, revokeSignInSessions and JSON batching, with Graph's error envelope.

Follows tests/contract/graph-v1.0-subset.yaml, tests/contract/FACTS.md and Microsoft's pages on the user resource,
user: revokeSignInSessions, JSON batching, throttling and errors.
"""

import json
import random
import re
import uuid
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from .tenant import (ENABLE_DISABLE_PERMISSIONS, GROUP_READ_PERMISSIONS, HIDDEN_MEMBERS_PERMISSION,
                     READ_PERMISSIONS, REVOKE_PERMISSIONS, ROLES_FOR_PRIVILEGED_TARGETS,
                     graph_time)
from .exposure import GRANTS, ExposureService
from .paging import page_start, skiptoken
from .risk import RiskService
from .reports import DISABLE_ACTIVITY, ENABLE_ACTIVITY, REVOKE_ACTIVITY, ReportsService
from .tokens import InvalidToken

BATCH_LIMIT = 20
CONTEXT = "https://graph.microsoft.com/v1.0/$metadata"
# Properties Graph returns for a user without $select (signInSessionsValidFromDateTime and accountEnabled are
# "returned only on $select").
DEFAULT_USER_PROPERTIES = ("id", "displayName", "userPrincipalName")
KEY_FORM = re.compile(r"^/users\('(?P<key>(?:[^']|'')*)'\)(?P<rest>/.*)?$")
ALTERNATE_KEY_FORM = re.compile(r"^/users\(userPrincipalName='(?P<key>(?:[^']|'')*)'\)(?P<rest>/.*)?$")
SEGMENT_FORM = re.compile(r"^/users/(?P<key>[^/()]+)(?P<rest>/.*)?$")
REVOKE_SEGMENTS = ("/revokeSignInSessions", "/microsoft.graph.revokeSignInSessions")
# What PATCH /users/{id} may change here; Graph allows more, the emulator only what the modules write.
WRITABLE_USER_PROPERTIES = {"accountEnabled": bool}
GROUP_FORM = re.compile(r"^/groups/(?P<id>[^/()]+)(?P<rest>/.*)?$")
TRANSITIVE_USERS_SEGMENTS = ("/transitiveMembers/microsoft.graph.user", "/transitiveMembers/graph.user")
DISPLAY_NAME_FILTER = re.compile(r"^\s*displayName\s+eq\s+'(?P<name>(?:[^']|'')*)'\s*$")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
FAILURE_CODES = {429: "TooManyRequests", 503: "serviceNotAvailable", 504: "gatewayTimeout", 500: "generalException"}
# Every answer of Graph's identity and access side says what it cost (https://learn.microsoft.com/graph/throttling-
# limits, "Identity and access service limits"); $batch items carry it too, as Microsoft's batching examples show.
RESOURCE_UNIT_HEADER = "x-ms-resource-unit"


class Reply:
    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def error_reply(status, code, message, request_id, client_request_id=None, headers=None):
    # Real Graph often omits the offset here; the published contract requires one (date-time), so it gets a Z.
    inner = {"date": graph_time(),
             "request-id": request_id, "client-request-id": client_request_id or request_id}
    return Reply(status, {"error": {"code": code, "message": message, "innerError": inner}}, headers)


class Operation:
    """One Graph request, on its own or as a $batch item."""

    def __init__(self, method, target, headers, body, claims, request_id, client_request_id, origin=None,
                 version="v1.0"):
        parts = urlsplit(target)
        self.version = version  # "v1.0", or "beta" for the routes the emulator serves there (/auditLogs)
        self.public_origin = None
        self.origin = origin  # scheme://host the client called, for @odata.nextLink (None inside $batch)
        self.method = method.upper()
        self.path = parts.path if parts.path.startswith("/") else "/" + parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.claims = claims
        self.request_id = request_id
        self.client_request_id = client_request_id

    def error(self, status, code, message, headers=None):
        return error_reply(status, code, message, self.request_id, self.client_request_id, headers)


class GraphService:
    def __init__(self, tenant, tokens, faults, audience_allowed):
        self.tenant = tenant
        self.tokens = tokens
        self.faults = faults
        self.audience_allowed = audience_allowed
        self.risk = RiskService(tenant, faults, Reply)
        self.reports = ReportsService(tenant, Reply)
        self.exposure = ExposureService(tenant, faults, Reply)

    def authenticate(self, authorization, request_id, client_request_id):
        """The token's claims, or a 401 Reply as Graph gives it."""
        scheme, dummy, token = (authorization or "").partition(" ")
        if not token or scheme.lower() != "bearer":
            return None, error_reply(401, "InvalidAuthenticationToken", "Access token is empty.", request_id,
                                     client_request_id)
        try:
            return self.tokens.verify(token, self.audience_allowed), None
        except InvalidToken as exc:
            return None, error_reply(401, "InvalidAuthenticationToken", str(exc), request_id, client_request_id)

    def handle(self, method, target, headers, body, claims, request_id, client_request_id, origin=None,
               version="v1.0"):
        """A Reply for one authenticated request (never $batch itself)."""
        operation = Operation(method, target, headers, body, claims, request_id, client_request_id, origin, version)
        operation.public_origin = self.faults.public_origin
        failure = self.faults.take_graph_failure(operation.path)
        if failure:
            status, retry_after, as_number = failure
            # A header is text; inside a $batch item's JSON headers a number can be asked for (retry_after_number).
            extra = {"Retry-After": retry_after if as_number else str(retry_after)} if retry_after is not None else {}
            return operation.error(status, FAILURE_CODES.get(status, "UnknownError"),
                                   "Injected failure: the service answered %d." % status, extra)
        return self._route(operation)

    def _route(self, operation):
        path = operation.path
        if path.startswith("/auditLogs/"):
            return self.reports.route(operation, self._allowed, operation.version)
        if operation.version != "v1.0":
            return operation.error(400, "BadRequest", "The emulator serves only /auditLogs on the beta endpoint.")
        if path == "/groups" or path.startswith("/groups/"):
            return self._route_groups(operation)
        if path.startswith("/identityProtection/"):
            return self.risk.route(operation, self._allowed)
        if path == GRANTS:
            return self.exposure.grants(operation, self._allowed)
        for form in (ALTERNATE_KEY_FORM, KEY_FORM, SEGMENT_FORM):
            match = form.match(path)
            if match:
                break
        else:
            return operation.error(400, "BadRequest", "Resource not found for the segment '%s'."
                                   % path.strip("/").split("/")[0])
        key = unquote(match.group("key"))
        if form is SEGMENT_FORM and key.startswith("$"):
            # Graph reads a leading $ in a key segment as a system query segment; '$x@y' must be quoted.
            return operation.error(400, "BadRequest", "Resource not found for the segment '%s'." % key)
        if form is not SEGMENT_FORM:
            key = key.replace("''", "'")
        rest = match.group("rest")
        if rest is None:
            if operation.method == "PATCH":
                return self._update_user(operation, key)
            if operation.method != "GET":
                return operation.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the "
                                                                  "request target.")
            return self._get_user(operation, key)
        if rest in REVOKE_SEGMENTS and form is not ALTERNATE_KEY_FORM:
            if operation.method != "POST":
                return operation.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the "
                                                                  "request target.")
            return self._revoke(operation, key)
        if self.exposure.serves(rest):
            user = self.tenant.find_user(key)
            if user is None:
                return self._not_found(operation, key)
            return self.exposure.user_list(operation, user, rest, self._allowed)
        return operation.error(400, "BadRequest", "Resource not found for the segment '%s'." % rest.strip("/"))

    def _allowed(self, operation, permissions):
        return any(role in permissions for role in operation.claims.get("roles", []))

    def _not_found(self, operation, key):
        return operation.error(404, "Request_ResourceNotFound",
                               "Resource '%s' does not exist or one of its queried reference-property objects are "
                               "not present." % key)

    def _get_user(self, operation, key):
        if not self._allowed(operation, READ_PERMISSIONS):
            return operation.error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the "
                                                                       "operation.")
        user = self.tenant.find_user(key)
        if user is None:
            return self._not_found(operation, key)
        throttled = self._user_failure(operation, user)
        if throttled:
            return throttled
        # Eventually consistent: right after a write, a read may still see the user as it was (fault read_lag).
        properties = self.faults.lagged_properties(user) or user.properties()
        select = [name.strip() for value in operation.query.get("$select", []) for name in value.split(",")
                  if name.strip()]
        unknown = [name for name in select if name not in properties]
        if unknown:
            return operation.error(400, "Request_BadRequest", "Could not find a property named '%s' on type "
                                                              "'microsoft.graph.user'." % unknown[0])
        names = select or DEFAULT_USER_PROPERTIES
        context = "%s#users(%s)/$entity" % (CONTEXT, ",".join(select)) if select else "%s#users/$entity" % CONTEXT
        body = {"@odata.context": context}
        body.update((name, properties[name]) for name in names)
        return Reply(200, body, {RESOURCE_UNIT_HEADER: "1"})

    def _user_failure(self, operation, user):
        """One item's own answer set by fault fail_user_next (e.g. a 429 with a Retry-After and no quota behind
        it: no x-ms-throttle-* headers; or a given body, such as a 2xx {} that is not a user), or None."""
        failure = self.faults.take_user_failure(user)
        if failure is None:
            return None
        status, retry_after, body = failure
        if body is not None:
            return Reply(status, body)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return operation.error(status, FAILURE_CODES.get(status, "UnknownError"),
                               "Injected failure for this user: the service answered %d." % status, headers)

    def _quota_refusal(self, operation, retry_after):
        """The write quota's 429, with the headers Graph's identity limits add to a throttled answer."""
        tenant_app = "%s/%s" % (operation.claims.get("appid"), self.tenant.tenant_id)
        return operation.error(429, "TooManyRequests", "Too many requests.", {
            "Retry-After": str(retry_after), "x-ms-throttle-scope": "Tenant_Application/ReadWrite/" + tenant_app,
            "x-ms-throttle-information": "WriteLimitExceeded"})

    # --- groups (group-get, group-list, group-list-transitivemembers) -------------------------------
    def _route_groups(self, operation):
        if operation.method != "GET":
            return operation.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the "
                                                              "request target.")
        if not self._allowed(operation, GROUP_READ_PERMISSIONS):
            return operation.error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the "
                                                                       "operation.")
        if operation.path == "/groups":
            return self._list_groups(operation)
        match = GROUP_FORM.match(operation.path)
        if not match:
            return operation.error(400, "BadRequest", "Resource not found for the segment 'groups'.")
        group = self.tenant.find_group(unquote(match.group("id")))
        if group is None:
            return self._not_found(operation, unquote(match.group("id")))
        rest = match.group("rest")
        if rest is None:
            return self._selected(operation, group.properties(), "groups", ("id", "displayName"), "group")
        if rest in TRANSITIVE_USERS_SEGMENTS:
            return self._transitive_users(operation, group)
        return operation.error(400, "BadRequest", "Resource not found for the segment '%s'." % rest.strip("/"))

    def _select(self, operation):
        return [name.strip() for value in operation.query.get("$select", []) for name in value.split(",")
                if name.strip()]

    def _selected(self, operation, properties, entity_set, defaults, type_name):
        select = self._select(operation)
        unknown = [name for name in select if name not in properties]
        if unknown:
            return operation.error(400, "Request_BadRequest", "Could not find a property named '%s' on type "
                                                              "'microsoft.graph.%s'." % (unknown[0], type_name))
        context = "%s#%s(%s)/$entity" % (CONTEXT, entity_set, ",".join(select)) if select else \
            "%s#%s/$entity" % (CONTEXT, entity_set)
        body = {"@odata.context": context}
        body.update((name, properties[name]) for name in (select or defaults))
        return Reply(200, body)

    def _page_size(self, operation):
        """$top as Graph takes it for directory collections: 1 to 999; default 100."""
        values = operation.query.get("$top")
        if not values:
            return DEFAULT_PAGE_SIZE, None
        if not values[0].isdigit() or not 1 <= int(values[0]) <= MAX_PAGE_SIZE:
            return None, operation.error(400, "Request_BadRequest", "Invalid page size specified: '%s'. Must be "
                                                                    "between 1 and %d inclusive." % (values[0],
                                                                                                     MAX_PAGE_SIZE))
        return int(values[0]), None

    def _list_groups(self, operation):
        filters = operation.query.get("$filter")
        if not filters:
            groups = self.tenant.groups
        else:
            match = DISPLAY_NAME_FILTER.match(filters[0])
            if not match:
                return operation.error(400, "Request_UnsupportedQuery", "Unsupported query: only displayName eq "
                                                                        "'...' is emulated.")
            groups = self.tenant.groups_named(match.group("name").replace("''", "'"))
        size, refusal = self._page_size(operation)
        if refusal:
            return refusal
        select = self._select(operation)
        items = []
        for group in groups[:size]:
            properties = group.properties()
            items.append(dict((name, properties.get(name)) for name in (select or ("id", "displayName"))))
        return Reply(200, {"@odata.context": "%s#groups" % CONTEXT, "value": items})

    def _transitive_users(self, operation, group):
        # The OData cast is an advanced query: Graph refuses it without $count=true and ConsistencyLevel: eventual.
        consistency = {k.lower(): v for k, v in operation.headers.items()}.get("consistencylevel", "")
        if consistency.lower() != "eventual" or operation.query.get("$count") != ["true"]:
            return operation.error(400, "Request_UnsupportedQuery", "The requested query is an advanced query: "
                                                                    "send $count=true and the header "
                                                                    "ConsistencyLevel: eventual.")
        if group.hidden_membership and HIDDEN_MEMBERS_PERMISSION not in operation.claims.get("roles", []):
            return operation.error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the "
                                                                       "operation.")
        size, refusal = self._page_size(operation)
        if refusal:
            return refusal
        select = self._select(operation) or list(DEFAULT_USER_PROPERTIES)
        users = group.transitive_users()
        start = page_start(operation)
        if start is None:
            return operation.error(400, "Request_BadRequest", "Invalid $skiptoken.")
        # Fault repeat_member_pages: past the end, the listing starts again under new links (a broken page token).
        repeating = self.faults.repeat_member_pages and users
        page = users[start % len(users):start % len(users) + size] if repeating else users[start:start + size]
        values = []
        for user in page:
            properties = user.properties()
            unknown = [name for name in select if name not in properties]
            if unknown:
                return operation.error(400, "Request_BadRequest", "Could not find a property named '%s' on type "
                                                                  "'microsoft.graph.user'." % unknown[0])
            values.append(dict((name, properties[name]) for name in select))
        body = {"@odata.context": "%s#users(%s)" % (CONTEXT, ",".join(select)), "@odata.count": len(users),
                "value": values}
        if repeating:
            del body["@odata.count"]
        if start + size < len(users) or repeating:
            query = {"$top": str(size), "$count": "true",
                     "$skiptoken": skiptoken(start + size)}
            if operation.query.get("$select"):
                query["$select"] = operation.query["$select"][0]
            origin = self.faults.public_origin or operation.origin or "https://graph.microsoft.com"
            body["@odata.nextLink"] = "%s/v1.0%s?%s" % (origin,
                                                        operation.path, urlencode(query, safe="$,"))
        return Reply(200, body)

    def _revoke(self, operation, key):
        payload = operation.body
        if payload not in (None, b"", {}) and payload != b"{}":
            try:
                decoded = json.loads(payload) if isinstance(payload, bytes) else payload
            except ValueError:
                decoded = None
            if decoded != {}:
                return operation.error(400, "Request_BadRequest", "The action 'revokeSignInSessions' takes no "
                                                                  "parameters.")
        if not self._allowed(operation, REVOKE_PERMISSIONS):
            return operation.error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the "
                                                                       "operation.")
        user = self.tenant.find_user(key)
        throttled = self._user_failure(operation, user) if user is not None else None
        if throttled:
            return throttled
        retry_after = self.faults.charge_write(operation.claims.get("appid"))
        if retry_after is not None:
            return self._quota_refusal(operation, retry_after)
        if user is None:
            return self._not_found(operation, key)
        before = user.properties()
        self.tenant.revoke_sessions(user, keep_timestamp=self.faults.keeps_timestamp(user))
        self.faults.wrote(user, before)
        self.reports.record_write(operation.claims, user, REVOKE_ACTIVITY, operation.client_request_id)
        return Reply(200, {"@odata.context": CONTEXT + "#Edm.Boolean", "value": True}, {RESOURCE_UNIT_HEADER: "1"})

    def _update_user(self, operation, key):
        """PATCH /users/{id | UPN}: 204 without a body, as https://learn.microsoft.com/graph/api/user-update."""
        try:
            payload = operation.body
            changes = json.loads(payload) if isinstance(payload, bytes) else payload
        except ValueError:
            changes = None
        if not isinstance(changes, dict):
            return operation.error(400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                                                      "Content-Type header is set and payload is of valid JSON format.")
        for name, value in changes.items():
            kind = WRITABLE_USER_PROPERTIES.get(name)
            if kind is None:
                return operation.error(400, "Request_BadRequest", "Property '%s' is read-only, unknown, or not "
                                                                  "writable on this emulator." % name)
            if not isinstance(value, kind):
                return operation.error(400, "Request_BadRequest", "Invalid value specified for property '%s' of "
                                                                  "resource 'User'." % name)
        if not self._allowed(operation, ENABLE_DISABLE_PERMISSIONS):
            return operation.error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the "
                                                                       "operation.")
        user = self.tenant.find_user(key)
        throttled = self._user_failure(operation, user) if user is not None else None
        if throttled:
            return throttled
        retry_after = self.faults.charge_write(operation.claims.get("appid"))
        if retry_after is not None:
            return self._quota_refusal(operation, retry_after)
        if user is None:
            return self._not_found(operation, key)
        app = self.tenant.apps.get(operation.claims.get("appid"))
        app_roles = app.directory_roles if app is not None else []
        if user.admin_roles and not any(role in ROLES_FOR_PRIVILEGED_TARGETS for role in app_roles):
            # Graph gives the same code as for a missing permission; only the target tells them apart.
            return operation.error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the "
                                                                       "operation.")
        if "accountEnabled" in changes:
            before = user.properties()
            self.tenant.set_account_enabled(user, changes["accountEnabled"])
            self.faults.wrote(user, before)
            if before["accountEnabled"] != changes["accountEnabled"]:
                # Entra logs the change of state (a PATCH that changes nothing leaves no audit entry here).
                self.reports.record_write(
                    operation.claims, user, ENABLE_ACTIVITY if changes["accountEnabled"] else DISABLE_ACTIVITY,
                    operation.client_request_id,
                    [{"displayName": "AccountEnabled", "oldValue": "[%s]" % str(before["accountEnabled"]).lower(),
                      "newValue": "[%s]" % str(changes["accountEnabled"]).lower()}])
        return Reply(204, None, {RESOURCE_UNIT_HEADER: "1"})

    def batch(self, payload, claims, request_id, client_request_id):
        """POST /$batch: (outer Reply, [(item id, method, url, status)]) as https://learn.microsoft.com/graph/json-batching."""
        def bad(message):
            return error_reply(400, "BadRequest", message, request_id, client_request_id), []
        try:
            document = json.loads(payload or b"")
        except ValueError:
            return bad("Invalid batch payload format.")
        requests = document.get("requests") if isinstance(document, dict) else None
        if not isinstance(requests, list) or not requests:
            return bad("Invalid batch payload format.")
        if len(requests) > BATCH_LIMIT:
            return bad("Number of batch requests exceeds the limit of %d." % BATCH_LIMIT)
        seen = set()
        for item in requests:
            if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item.get(k)
                                                     for k in ("id", "method", "url")):
                return bad("Each batch request needs an id, a method and a url.")
            if item["id"].lower() in seen:
                return bad("Duplicate request id '%s' in the batch." % item["id"])
            seen.add(item["id"].lower())
            if urlsplit(item["url"]).scheme:
                return bad("Request id '%s': the url must be relative, such as /users/{id}." % item["id"])
            item_headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
            if item["method"].upper() in ("POST", "PUT", "PATCH") and (
                    "body" not in item or "content-type" not in item_headers):
                return bad("Write request id : %s does not contain Content-Type header or body." % item["id"])
        responses, log = [], []
        status_by_id = {}
        for item in requests:
            item_id = item["id"]
            failed_dependency = [d for d in item.get("dependsOn") or [] if status_by_id.get(d.lower(), 200) >= 400]
            if failed_dependency:
                reply = error_reply(424, "FailedDependency", "A dependent request failed.", str(uuid.uuid4()),
                                    client_request_id)
            else:
                body = item.get("body")
                reply = self.handle(item["method"], item["url"], item.get("headers") or {},
                                    json.dumps(body).encode() if body is not None else None, claims,
                                    str(uuid.uuid4()), client_request_id)
            status_by_id[item_id.lower()] = reply.status
            headers = {"Content-Type": "application/json"} if reply.body is not None else {}
            headers.update(reply.headers)
            entry = {"id": item_id, "status": reply.status, "headers": headers}
            if reply.body is not None:
                entry["body"] = reply.body
            responses.append(entry)
            log.append((item_id, item["method"].upper(), item["url"], reply.status))
        # Graph answers batch items in any order; so does the emulator, to keep clients honest.
        random.shuffle(responses)
        return Reply(200, {"responses": responses}), log
