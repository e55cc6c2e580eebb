# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Entra ID Protection's risky users: list (filters, paging), confirmCompromised, dismiss, and their limits.

Follows tests/contract/graph-v1.0-subset.yaml (D9) and tests/contract/FACTS.md ("Entra ID Protection"): the
permissions, the P2 licence, at most 60 userIds per action, and the per-tenant limit of one request per second
whose 429 carries no Retry-After.
"""

import collections
import datetime
import json
import re
import threading
import time
from urllib.parse import urlencode

from .paging import page_start, skiptoken
from .tenant import User, graph_time

RISK_READ_PERMISSIONS = ("IdentityRiskyUser.Read.All", "IdentityRiskyUser.ReadWrite.All")
RISK_WRITE_PERMISSIONS = ("IdentityRiskyUser.ReadWrite.All",)
RISK_LEVELS = ("low", "medium", "high", "hidden", "none", "unknownFutureValue")
RISK_STATES = ("none", "confirmedSafe", "remediated", "dismissed", "atRisk", "confirmedCompromised",
               "unknownFutureValue")
ACTION_LIMIT = 60
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 100
COLLECTION = "/identityProtection/riskyUsers"
# riskLevel eq 'high' | riskLevel eq microsoft.graph.riskLevel'high' (the form Microsoft's examples use)
CLAUSE = re.compile(r"^\s*(?P<name>riskLevel|riskState)\s+eq\s+(?:microsoft\.graph\.(?P<enum>riskLevel|riskState))?"
                    r"'(?P<value>[A-Za-z]+)'\s*$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CONTEXT = "https://graph.microsoft.com/v1.0/$metadata"
RISKY_USER_PROPERTIES = ("id", "isDeleted", "isProcessing", "riskDetail", "riskLastUpdatedDateTime", "riskLevel",
                         "riskState", "userDisplayName", "userPrincipalName")


class RiskRecord:
    """What Identity Protection knows of one user (only users it ever flagged are in the collection)."""

    def __init__(self, user):
        self.user = user
        self.risk_level = "none"
        self.risk_state = "none"
        self.risk_detail = "none"
        self.updated = graph_time()
        self.confirm_writes = 0
        self.dismiss_writes = 0
        # Identity Protection keeps the risk of a user deleted from the directory, with isDeleted true.
        self.deleted = False

    def properties(self):
        return {"id": self.user.id, "isDeleted": self.deleted, "isProcessing": False, "riskDetail": self.risk_detail,
                "riskLastUpdatedDateTime": self.updated, "riskLevel": self.risk_level, "riskState": self.risk_state,
                "userDisplayName": self.user.display_name, "userPrincipalName": self.user.user_principal_name}


class TenantRateLimit:
    """Identity Protection's limit: ``limit`` requests per ``window_s`` for the whole tenant (all apps)."""

    def __init__(self, limit, window_s, clock=time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._times = collections.deque()
        self._lock = threading.Lock()

    def admit(self):
        with self._lock:
            now = self.clock()
            while self._times and now - self._times[0] >= self.window_s:
                self._times.popleft()
            if len(self._times) >= self.limit:
                return False
            self._times.append(now)
            return True


def _parse_filter(text):
    """[[(name, value), ...] or-groups joined by and] for the riskLevel / riskState filters; None if unsupported."""
    groups = []
    for part in re.split(r"\s+and\s+", text.strip()):
        part = part.strip()
        if part.startswith("(") and part.endswith(")"):
            part = part[1:-1]
        clauses = []
        for clause in re.split(r"\s+or\s+", part):
            match = CLAUSE.match(clause)
            if not match or (match.group("enum") and match.group("enum") != match.group("name")):
                return None
            allowed = RISK_LEVELS if match.group("name") == "riskLevel" else RISK_STATES
            if match.group("value") not in allowed:
                return None
            clauses.append((match.group("name"), match.group("value")))
        groups.append(clauses)
    return groups


class RiskService:
    """The /identityProtection/riskyUsers routes behind GraphService, and the control endpoint's risk actions."""

    def __init__(self, tenant, faults, reply):
        self.tenant = tenant
        self.reply = reply  # GraphService's Reply type
        self.faults = faults
        self.records = {}
        self.licensed = True
        self.rate_limit = TenantRateLimit(1, 1.0)
        self.throttled = 0
        self._lock = threading.Lock()

    # --- control ----------------------------------------------------------------------------------
    def mark(self, key, risk_level="high", risk_state="atRisk", at=None, risk_detail="none"):
        """Identity Protection flags a user (a test's stand-in for its detections)."""
        user = self.tenant.find_user(key)
        if user is None:
            raise KeyError("no user %s" % key)
        if risk_level not in RISK_LEVELS or risk_state not in RISK_STATES:
            raise ValueError("riskLevel or riskState not one of Graph's values")
        with self._lock:
            record = self.records.setdefault(user.id, RiskRecord(user))
            record.risk_level, record.risk_state, record.risk_detail = risk_level, risk_state, risk_detail
            record.updated = at or graph_time(datetime.datetime.now(datetime.timezone.utc))
        return record

    def mark_deleted(self, user_principal_name, risk_level="high", risk_state="atRisk", at=None):
        """The risk record of a user since deleted from the directory: listed with isDeleted true, while the
        directory answers 404 for its object ID and its UPN (the user is not in the tenant)."""
        if self.tenant.find_user(user_principal_name) is not None:
            raise ValueError("%s is a user of the tenant; a deleted user's UPN names nobody" % user_principal_name)
        if risk_level not in RISK_LEVELS or risk_state not in RISK_STATES:
            raise ValueError("riskLevel or riskState not one of Graph's values")
        record = RiskRecord(User(user_principal_name))
        record.risk_level, record.risk_state, record.deleted = risk_level, risk_state, True
        record.updated = at or graph_time(datetime.datetime.now(datetime.timezone.utc))
        with self._lock:
            self.records[record.user.id] = record
        return record

    def configure(self, settings):
        """POST /_emulator/risk: {"users": {key: {"riskLevel", "riskState", "at"}}, "deleted": {UPN: {...}},
        "licensed", "rate_limit"}."""
        for upn, state in (settings.get("deleted") or {}).items():
            self.mark_deleted(upn, state.get("riskLevel", "high"), state.get("riskState", "atRisk"), state.get("at"))
        for key, state in (settings.get("users") or {}).items():
            self.mark(key, state.get("riskLevel", "high"), state.get("riskState", "atRisk"), state.get("at"),
                      state.get("riskDetail", "none"))
        if "licensed" in settings:
            self.licensed = bool(settings["licensed"])
        if "rate_limit" in settings:
            limit = settings["rate_limit"]
            self.rate_limit = None if limit is None else TenantRateLimit(int(limit["limit"]), float(limit["window_s"]))
        if settings.get("clear"):
            with self._lock:
                self.records.clear()
            self.throttled = 0

    def snapshot(self):
        with self._lock:
            users = [dict(record.properties(), confirm_writes=record.confirm_writes,
                          dismiss_writes=record.dismiss_writes) for record in self.records.values()]
        return {"users": users, "licensed": self.licensed, "throttled": self.throttled}

    # --- Graph ------------------------------------------------------------------------------------
    def route(self, operation, allowed):
        path = operation.path
        # GET /identityProtection/riskyUsers/{riskyUser-id}: one user's record (riskyuser-get); the key is the user's
        # object ID.
        single = path.startswith(COLLECTION + "/") and GUID.match(path[len(COLLECTION) + 1:]) is not None
        if path not in (COLLECTION, COLLECTION + "/confirmCompromised", COLLECTION + "/dismiss") and not single:
            return operation.error(400, "BadRequest", "Resource not found for the segment '%s'."
                                   % path.strip("/").split("/")[-1])
        write = path != COLLECTION and not single
        if operation.method != ("POST" if write else "GET"):
            return operation.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request "
                                                              "target.")
        if not allowed(operation, RISK_WRITE_PERMISSIONS if write else RISK_READ_PERMISSIONS):
            return operation.error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the "
                                                                       "operation.")
        if not self.licensed:
            return operation.error(403, "Forbidden", "Your tenant is not licensed for this feature: the riskyUsers "
                                                     "API requires Microsoft Entra ID P2.")
        if self.rate_limit is not None and not self.rate_limit.admit():
            # Identity Protection answers 429 without Retry-After (throttling-limits, FACTS.md).
            self.throttled += 1
            return operation.error(429, "TooManyRequests", "Too many requests.")
        if write:
            return self._act(operation, path.rsplit("/", 1)[1])
        if single:
            return self._get(operation, path.rsplit("/", 1)[1].lower())
        return self._list(operation)

    def _get(self, operation, user_id):
        """One riskyUser. A user Identity Protection never flagged has no record: 404, as for any missing entity."""
        if operation.query:
            # riskyuser-get: "This method does not support OData query parameters to help customize the response."
            return operation.error(400, "BadRequest", "Query option '%s' is not allowed."
                                   % sorted(operation.query)[0])
        with self._lock:
            record = self.records.get(user_id)
            properties = record.properties() if record is not None else None
        if properties is None:
            return operation.error(404, "ResourceNotFound", "Resource '%s' does not exist or one of its queried "
                                                            "reference-property objects are not present." % user_id)
        body = dict({"@odata.context": "%s#identityProtection/riskyUsers/$entity" % CONTEXT}, **properties)
        return self.reply(200, body)

    def _list(self, operation):
        groups = []
        filters = operation.query.get("$filter")
        if filters:
            groups = _parse_filter(filters[0])
            if groups is None:
                return operation.error(400, "BadRequest", "Invalid filter clause: only riskLevel and riskState "
                                                          "eq comparisons joined by and / or are emulated.")
        values = operation.query.get("$top")
        size = DEFAULT_PAGE_SIZE
        if values:
            if not values[0].isdigit() or not 1 <= int(values[0]) <= MAX_PAGE_SIZE:
                return operation.error(400, "BadRequest", "Invalid page size: $top must be between 1 and %d."
                                       % MAX_PAGE_SIZE)
            size = int(values[0])
        start = page_start(operation)
        if start is None:
            return operation.error(400, "BadRequest", "Invalid $skiptoken.")
        with self._lock:
            records = [record.properties() for record in self.records.values()]
        matching = [record for record in records
                    if all(any(record[name] == value for name, value in group) for group in groups)]
        select = [name.strip() for value in operation.query.get("$select", []) for name in value.split(",")
                  if name.strip()]
        unknown = [name for name in select if name not in RISKY_USER_PROPERTIES]
        if unknown:
            return operation.error(400, "BadRequest", "Could not find a property named '%s' on type "
                                                      "'microsoft.graph.riskyUser'." % unknown[0])
        page = matching[start:start + size]
        if select:
            page = [dict((name, record[name]) for name in select) for record in page]
        body = {"@odata.context": "%s#identityProtection/riskyUsers" % CONTEXT, "value": page}
        if start + size < len(matching):
            query = dict((name, values[0]) for name, values in operation.query.items() if name != "$skiptoken")
            query.update({"$top": str(size),
                          "$skiptoken": skiptoken(start + size)})
            origin = self.faults.public_origin or operation.origin or "https://graph.microsoft.com"
            body["@odata.nextLink"] = "%s/v1.0%s?%s" % (origin, COLLECTION, urlencode(query, safe="$,'()"))
        return self.reply(200, body)

    def _act(self, operation, action):
        try:
            payload = json.loads(operation.body) if isinstance(operation.body, bytes) else operation.body
        except ValueError:
            payload = None
        ids = payload.get("userIds") if isinstance(payload, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids) or set(payload) - {
                "userIds"}:
            return operation.error(400, "BadRequest", "The action '%s' needs userIds, a list of user object IDs."
                                   % action)
        if len(ids) > ACTION_LIMIT:
            return operation.error(400, "BadRequest", "At most %d userIds may be given in one call." % ACTION_LIMIT)
        users = []
        for user_id in ids:
            user = self.tenant.find_user(user_id) if GUID.match(user_id) else None
            if user is None:
                return operation.error(400, "BadRequest", "Invalid userIds: '%s' is not the object ID of a user "
                                                          "in this tenant." % user_id)
            users.append(user)
        now = graph_time(datetime.datetime.now(datetime.timezone.utc))
        with self._lock:
            for user in users:
                record = self.records.setdefault(user.id, RiskRecord(user))
                if action == "confirmCompromised":
                    record.risk_level, record.risk_state = "high", "confirmedCompromised"
                    record.risk_detail = "adminConfirmedUserCompromised"
                    record.confirm_writes += 1
                else:
                    record.risk_level, record.risk_state = "none", "dismissed"
                    record.risk_detail = "adminDismissedAllRiskForUser"
                    record.dismiss_writes += 1
                record.updated = now
        return self.reply(204)
