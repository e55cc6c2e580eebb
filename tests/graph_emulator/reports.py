# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Entra ID's activity logs: directory audit entries for the emulator's own writes, and sign-in logs fed by
simulated clients, behind Graph's /auditLogs routes (v1.0, and the beta's non-interactive sign-ins).

Follows tests/contract/graph-v1.0-subset.yaml, tests/contract/graph-beta-subset.yaml and tests/contract/FACTS.md
("Proving a containment"): the permissions (AuditLog.Read.All; sign-ins also Directory.Read.All), the Entra ID P1
licence sign-in logs need (403 Authentication_RequestFromNonPremiumTenantOrB2CTenant without it), the reports limit
(5 requests per 10 s per app and tenant; 429 with Retry-After), newest-first pages with an absolute nextLink, and a
latency between an event and its log entry (a control: Graph shows entries minutes, for non-interactive sign-ins up
to about half an hour, after the event). The v1.0 list holds interactive sign-ins only; non-interactive ones are
listed only by the beta with a signInEventTypes filter.

A sign-in's outcome is decided when it happens, by the directory's state then: a disabled account is refused with
50057; a refresh token issued before the user's signInSessionsValidFromDateTime is refused with 50173; otherwise it
succeeds (unless the control ``stale_grants`` names the user: Entra then still honours old refresh tokens, the
suspect case of a revoke that did not take hold).
"""

import collections
import datetime
import math
import re
import threading
import time
import uuid
from urllib.parse import urlencode

from .clock import CLOCK
from .paging import page_start, skiptoken

AUDIT_PERMISSIONS = ("AuditLog.Read.All",)
# signin-list: AuditLog.Read.All and Directory.Read.All, both (FACTS.md).
SIGN_IN_PERMISSIONS = (("AuditLog.Read.All",), ("Directory.Read.All", "Directory.ReadWrite.All"))
AUDITS = "/auditLogs/directoryAudits"
SIGN_INS = "/auditLogs/signIns"
AUDIT_PAGE_MAX = 999
SIGN_IN_PAGE_MAX = 1000
DEFAULT_PAGE_SIZE = 100
REPORTS_LIMIT = (5, 10.0)
# Entra's codes (login.microsoftonline.com/error): 50173 FreshTokenNeeded (the grant was revoked: issued before
# TokensValidFrom), 50057 UserDisabled.
GRANT_REVOKED = (50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The "
                        "user might have changed or reset their password. The grant was issued on '%s' and the "
                        "TokensValidFrom date (before which tokens are not valid) for this user is '%s'.")
USER_DISABLED = (50057, "The user account is disabled.")
REVOKE_ACTIVITY = "Update StsRefreshTokenValidFrom Timestamp"
DISABLE_ACTIVITY = "Disable account"
ENABLE_ACTIVITY = "Enable account"
TIME_CLAUSE = re.compile(r"^\s*(?P<name>createdDateTime|activityDateTime)\s+(?P<op>ge|gt|le|lt)\s+"
                         r"(?P<value>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\s*$")
EVENT_TYPES = re.compile(r"^\s*\(?\s*signInEventTypes/any\(\s*(?P<var>\w+)\s*:\s*(?P<body>[^)]*)\)\s*\)?\s*$")
USER_CLAUSE = re.compile(r"^\s*(?P<name>userId|userPrincipalName)\s+eq\s+'(?P<value>[^']*)'\s*$")
EVENT_TYPE = re.compile(r"^\s*(?P<var>\w+)\s+eq\s+'(?P<value>\w+)'\s*$")
KNOWN_EVENT_TYPES = ("interactiveUser", "nonInteractiveUser", "servicePrincipal", "managedIdentity")
# What the v1.0 signIn has; beta entries carry these and the beta-only ones below.
V1_SIGN_IN_PROPERTIES = ("id", "createdDateTime", "userDisplayName", "userPrincipalName", "userId", "appId",
                         "appDisplayName", "ipAddress", "clientAppUsed", "correlationId", "conditionalAccessStatus",
                         "isInteractive", "resourceDisplayName", "resourceId", "status", "riskDetail",
                         "riskLevelAggregated", "riskLevelDuringSignIn", "riskState", "riskEventTypes_v2")
BETA_ONLY_PROPERTIES = ("signInEventTypes", "sessionId", "authenticationRequirement")
CONTEXT = "https://graph.microsoft.com/%s/$metadata"


def _parse_time(text):
    return datetime.datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)


def _fraction_time(when):
    """Graph writes log times with fractions of a second (e.g. 2026-12-06T10:00:02.7215374Z)."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + "%07dZ" % (when.microsecond * 10)


class ReportsLimit:
    """The reports limit: ``limit`` requests per ``window_s`` per app (and tenant); the wait until room, or None."""

    def __init__(self, limit, window_s):
        self.limit = limit
        self.window_s = window_s
        self._times = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def charge(self, app_id):
        with self._lock:
            now = time.monotonic()
            times = self._times[app_id]
            while times and now - times[0] >= self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                return max(1, int(math.ceil(times[0] + self.window_s - now)))
            times.append(now)
            return None


class Client:
    """A simulated client of one user: refreshes the token it holds every ``every_s`` seconds, in the background."""

    def __init__(self, user, app_name, app_id, every_s, token_issued_at):
        self.user = user
        self.app_name = app_name
        self.app_id = app_id
        self.every_s = every_s
        self.token_issued_at = token_issued_at
        self.session_id = str(uuid.uuid4())
        self.next_at = time.monotonic()


class ReportsService:
    """Directory audits and sign-in logs, and the control endpoint's /_emulator/reports."""

    def __init__(self, tenant, reply):
        self.tenant = tenant
        self.reply = reply
        self._lock = threading.Lock()
        self.audits = []    # Graph's objects, oldest first
        self.sign_ins = []  # Graph's objects (beta shape), oldest first
        self.clients = []
        self.calls = collections.Counter()
        self.throttled = 0
        # The clients' thread runs only while there are clients: an emulator made per test (unit tests make
        # hundreds) must not leave a thread behind waking four times a second.
        self._ticker = None
        self.reset_settings()

    def reset_settings(self):
        """What a scenario sets: latencies, licence, limit, stale grants, clients (the logs themselves stay)."""
        with self._lock:
            self.latency_s = {"audit": 0.0, "interactive": 0.0, "non_interactive": 0.0}
            self.licensed = True
            self.limit = ReportsLimit(*REPORTS_LIMIT)
            self.stale_grants = set()
            self.clients = []

    # --- control ----------------------------------------------------------------------------------
    def configure(self, settings):
        """POST /_emulator/reports: {"latency_s": {"audit", "interactive", "non_interactive"}, "licensed",
        "rate_limit": {"limit", "window_s"} | null, "stale_grants": [user...], "sign_ins": [event...],
        "clients": [{"user", "app"?, "every_s", "token_issued_at"?}], "stop_clients": true, "clear": true}.
        Answers the outcome of each sign-in event it was given."""
        with self._lock:
            for kind, seconds in (settings.get("latency_s") or {}).items():
                if kind not in self.latency_s:
                    raise ValueError("latency_s takes audit, interactive, non_interactive; not %r" % kind)
                self.latency_s[kind] = float(seconds)
            if "licensed" in settings:
                self.licensed = bool(settings["licensed"])
            if "rate_limit" in settings:
                limit = settings["rate_limit"]
                self.limit = None if limit is None else ReportsLimit(int(limit["limit"]), float(limit["window_s"]))
            if "stale_grants" in settings:
                self.stale_grants = set(self._user(key).id for key in settings["stale_grants"])
            if settings.get("clear"):
                self.audits, self.sign_ins = [], []
                self.calls.clear()
                self.throttled = 0
            if settings.get("stop_clients"):
                self.clients = []
        outcomes = [self.sign_in(**event) for event in settings.get("sign_ins") or []]
        for spec in settings.get("clients") or []:
            user = self._user(spec["user"])
            app = self._app(spec.get("app"))
            issued = spec.get("token_issued_at") or _fraction_time(CLOCK.now())
            with self._lock:
                self.clients.append(Client(user, app[0], app[1], float(spec.get("every_s", 30)), issued))
                if self._ticker is None:
                    self._ticker = threading.Thread(target=self._run_clients, name="sign-in-clients", daemon=True)
                    self._ticker.start()
        return {"sign_ins": outcomes}

    def snapshot(self):
        with self._lock:
            return {"audits": len(self.audits), "sign_ins": len(self.sign_ins), "clients": len(self.clients),
                    "calls": dict(self.calls), "throttled": self.throttled, "licensed": self.licensed,
                    "latency_s": dict(self.latency_s)}

    def _user(self, key):
        user = self.tenant.find_user(key)
        if user is None:
            raise KeyError("no user %s" % key)
        return user

    def _app(self, name):
        # First-party client apps as sign-in logs name them (the app the user signs in to, not the admin's app).
        known = {"Microsoft Office": "d3590ed6-52b3-4102-aeff-aad2292ab01c",
                 "Microsoft Teams": "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
                 "Outlook Mobile": "27922004-5251-4030-b22d-91ecd9a37ea4"}
        name = name or "Microsoft Office"
        return name, known.get(name, str(uuid.uuid5(uuid.NAMESPACE_URL, name)))

    # --- what happens in the tenant ---------------------------------------------------------------
    def record_write(self, claims, user, activity, correlation_id, modified=None):
        """A directory audit entry for a write the emulator carried out (revoke, disable, enable)."""
        app = self.tenant.apps.get(claims.get("appid"))
        entry = {
            "id": "Directory_%s_%s" % (uuid.uuid4(), "EMU"), "category": "UserManagement",
            "correlationId": correlation_id or str(uuid.uuid4()), "result": "success", "resultReason": "",
            "activityDisplayName": activity, "activityDateTime": _fraction_time(CLOCK.now()),
            "loggedByService": "Core Directory", "operationType": "Update",
            "initiatedBy": {"app": {"appId": claims.get("appid"), "displayName": app.name if app else None,
                                    "servicePrincipalId": claims.get("oid"),
                                    "servicePrincipalName": app.name if app else None},
                            "user": None},
            "targetResources": [{"id": user.id, "displayName": None, "type": "User",
                                 "userPrincipalName": user.user_principal_name, "groupType": None,
                                 "modifiedProperties": modified or []}],
            "additionalDetails": [],
        }
        with self._lock:
            self.audits.append(entry)
        return entry

    def sign_in(self, user, interactive=False, app=None, token_issued_at=None, mfa=True, session_id=None,
                at=None):
        """One sign-in attempt now (or ``at``, a Graph time), decided by the directory's state; its log entry."""
        target = self._user(user)
        app_name, app_id = self._app(app)
        when = _parse_time(at) if at else CLOCK.now()
        valid_from = _parse_time(target.sign_in_sessions_valid_from)
        if not target.account_enabled:
            code, reason = USER_DISABLED
        elif not interactive and token_issued_at and _parse_time(token_issued_at) < valid_from \
                and target.id not in self.stale_grants:
            code, reason = GRANT_REVOKED[0], GRANT_REVOKED[1] % (token_issued_at, target.sign_in_sessions_valid_from)
        else:
            code, reason = 0, "Other."
        entry = {
            "id": str(uuid.uuid4()), "createdDateTime": _fraction_time(when),
            "userDisplayName": target.display_name, "userPrincipalName": target.user_principal_name,
            "userId": target.id, "appId": app_id, "appDisplayName": app_name, "ipAddress": "203.0.113.7",
            "clientAppUsed": "Mobile Apps and Desktop clients", "correlationId": str(uuid.uuid4()),
            "conditionalAccessStatus": "notApplied", "isInteractive": bool(interactive),
            "resourceDisplayName": "Office 365 Exchange Online", "resourceId": "00000002-0000-0ff1-ce00-000000000000",
            "status": {"errorCode": code, "failureReason": reason, "additionalDetails": None},
            "riskDetail": "none", "riskLevelAggregated": "none", "riskLevelDuringSignIn": "none",
            "riskState": "none", "riskEventTypes_v2": [],
            "signInEventTypes": ["interactiveUser" if interactive else "nonInteractiveUser"],
            "sessionId": session_id or str(uuid.uuid4()),
            "authenticationRequirement": "multiFactorAuthentication" if mfa else "singleFactorAuthentication",
        }
        with self._lock:
            self.sign_ins.append(entry)
        return {"user": target.user_principal_name, "interactive": bool(interactive), "errorCode": code,
                "createdDateTime": entry["createdDateTime"]}

    def _run_clients(self):
        while True:
            time.sleep(0.25)
            with self._lock:
                if not self.clients:
                    self._ticker = None
                    return
                due = [client for client in self.clients if client.next_at <= time.monotonic()]
                for client in due:
                    client.next_at = time.monotonic() + client.every_s
            for client in due:
                try:
                    self.sign_in(client.user.id, app=client.app_name, token_issued_at=client.token_issued_at,
                                 session_id=client.session_id)
                except KeyError:
                    pass

    # --- Graph ------------------------------------------------------------------------------------
    def route(self, operation, allowed, version):
        path = operation.path
        if path not in (AUDITS, SIGN_INS):
            return operation.error(400, "BadRequest", "Resource not found for the segment '%s'."
                                   % path.strip("/").split("/")[-1])
        if operation.method != "GET":
            return operation.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request "
                                                              "target.")
        if path == AUDITS:
            permitted = allowed(operation, AUDIT_PERMISSIONS)
        else:
            permitted = all(allowed(operation, group) for group in SIGN_IN_PERMISSIONS)
        if not permitted:
            return operation.error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the "
                                                                       "operation.")
        if path == SIGN_INS and not self.licensed:
            # Sign-in logs through Graph need Entra ID P1 or P2; this is the code and message Graph answers with.
            return operation.error(403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                                   "Neither tenant is B2C or tenant doesn't have premium license")
        limit = self.limit
        retry_after = limit.charge(operation.claims.get("appid")) if limit is not None else None
        if retry_after is not None:
            with self._lock:
                self.throttled += 1
            return operation.error(429, "TooManyRequests", "Too many requests.", {"Retry-After": str(retry_after)})
        with self._lock:
            self.calls["%s %s" % (version, path)] += 1
        if path == AUDITS:
            return self._list(operation, version, AUDITS, "activityDateTime", AUDIT_PAGE_MAX)
        return self._list(operation, version, SIGN_INS, "createdDateTime", SIGN_IN_PAGE_MAX)

    def _visible(self, collection, entry, now):
        if collection == AUDITS:
            latency = self.latency_s["audit"]
        else:
            latency = self.latency_s["interactive" if entry["isInteractive"] else "non_interactive"]
        return _parse_time(entry["createdDateTime" if collection == SIGN_INS else "activityDateTime"]) <= \
            now - datetime.timedelta(seconds=latency)

    def _filter(self, operation, collection, time_name):
        """([predicate], event types or None) from $filter; (None, None) for a filter not emulated."""
        text = (operation.query.get("$filter") or [""])[0]
        predicates, types = [], None
        if not text.strip():
            return predicates, types
        for clause in re.split(r"\s+and\s+", text.strip()):
            match = TIME_CLAUSE.match(clause)
            if match and match.group("name") == time_name:
                bound, op = _parse_time(match.group("value")), match.group("op")
                predicates.append(("time", lambda value, bound=bound, op=op: {
                    "ge": value >= bound, "gt": value > bound, "le": value <= bound, "lt": value < bound}[op]))
                continue
            match = USER_CLAUSE.match(clause)
            if match and collection == SIGN_INS:
                # signin-list: userId / userPrincipalName eq (what a per-user query sends; the benchmark's baseline)
                name, wanted_value = match.group("name"), match.group("value").lower()
                predicates.append(("entry", lambda entry, name=name, wanted_value=wanted_value:
                                   str(entry.get(name) or "").lower() == wanted_value))
                continue
            match = EVENT_TYPES.match(clause)
            if match and collection == SIGN_INS and operation.version == "beta" and types is None:
                wanted = []
                for part in re.split(r"\s+or\s+", match.group("body")):
                    item = EVENT_TYPE.match(part)
                    if not item or item.group("var") != match.group("var") or \
                            item.group("value") not in KNOWN_EVENT_TYPES:
                        return None, None
                    wanted.append(item.group("value"))
                types = wanted
                continue
            return None, None
        return predicates, types

    def _list(self, operation, version, collection, time_name, page_max):
        predicates, types = self._filter(operation, collection, time_name)
        if predicates is None:
            return operation.error(400, "BadRequest", "Invalid filter clause: the emulator takes %s ge/gt/le/lt "
                                                      "comparisons%s joined by and." % (
                                                          time_name, ", userId / userPrincipalName eq and (beta) "
                                                                     "signInEventTypes/any(...)"
                                                          if collection == SIGN_INS else ""))
        values = operation.query.get("$top")
        # signin-list: "The maximum and default page size is 1,000"; directory audits default to 100 here.
        size = SIGN_IN_PAGE_MAX if collection == SIGN_INS else DEFAULT_PAGE_SIZE
        if values:
            if not values[0].isdigit() or not 1 <= int(values[0]) <= page_max:
                return operation.error(400, "BadRequest", "Invalid page size: $top must be between 1 and %d."
                                       % page_max)
            size = int(values[0])
        start = page_start(operation)
        if start is None:
            return operation.error(400, "BadRequest", "Invalid $skiptoken.")
        now = CLOCK.now()
        with self._lock:
            entries = list(self.audits if collection == AUDITS else self.sign_ins)
        if collection == SIGN_INS:
            # Without a signInEventTypes filter Graph lists interactive sign-ins only (v1.0 has no other).
            wanted = types or ["interactiveUser"]
            entries = [e for e in entries if e["signInEventTypes"][0] in wanted]
        entries = [e for e in entries if self._visible(collection, e, now)
                   and all(test(_parse_time(e[time_name]) if kind == "time" else e) for kind, test in predicates)]
        entries.sort(key=lambda e: e[time_name], reverse=True)  # newest first
        page = entries[start:start + size]
        if collection == SIGN_INS and version != "beta":
            page = [dict((name, e[name]) for name in V1_SIGN_IN_PROPERTIES) for e in page]
        context = (CONTEXT % version) + ("#auditLogs/directoryAudits" if collection == AUDITS
                                         else "#auditLogs/signIns")
        body = {"@odata.context": context, "value": page}
        if start + size < len(entries):
            query = dict((name, vals[0]) for name, vals in operation.query.items() if name != "$skiptoken")
            query.update({"$top": str(size),
                          "$skiptoken": skiptoken(start + size)})
            origin = operation.public_origin or operation.origin or "https://graph.microsoft.com"
            body["@odata.nextLink"] = "%s/%s%s?%s" % (origin, version, collection, urlencode(query, safe="$,'()/:"))
        return self.reply(200, body)
