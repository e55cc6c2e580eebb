# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a revoke leaves open, as Graph lists it: a user's authentication methods, owned objects, registered and
owned devices, and the tenant's delegated permission grants filtered by principalId.

Follows tests/contract/graph-v1.0-subset.yaml and Microsoft's API pages (authentication-list-methods,
user-list-ownedobjects, user-list-registereddevices, user-list-owneddevices, oauth2permissiongrant-list): each list
is paged (default 100, $top up to 999, an absolute nextLink); a token without the permission gets Graph's 403.
The owned-object and device pages name delegated permissions only; the emulator serves an app-only token holding
Directory.Read.All and refuses every other, so a missing permission shows as the module must report it.
"""

import re
from urllib.parse import urlencode

from .paging import page_start, skiptoken

METHODS_PERMISSIONS = ("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All")
DIRECTORY_PERMISSIONS = ("Directory.Read.All", "Directory.ReadWrite.All")
GRANT_PERMISSIONS = ("Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All")
USER_LISTS = {
    "/authentication/methods": ("authentication_methods", METHODS_PERMISSIONS, "authenticationMethod"),
    "/ownedObjects": ("owned_objects", DIRECTORY_PERMISSIONS, "directoryObjects"),
    "/registeredDevices": ("registered_devices", DIRECTORY_PERMISSIONS, "directoryObjects"),
    "/ownedDevices": ("owned_devices", DIRECTORY_PERMISSIONS, "directoryObjects"),
}
GRANTS = "/oauth2PermissionGrants"
PRINCIPAL_FILTER = re.compile(r"^\s*principalId\s+eq\s+'(?P<id>[0-9a-fA-F-]{36})'\s*$")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
CONTEXT = "https://graph.microsoft.com/v1.0/$metadata"
DENIED = ("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


class ExposureService:
    def __init__(self, tenant, faults, reply):
        self.tenant = tenant
        self.faults = faults
        self.reply = reply

    def serves(self, rest):
        return rest in USER_LISTS

    def user_list(self, operation, user, rest, allowed):
        attribute, permissions, entity_set = USER_LISTS[rest]
        if operation.method != "GET":
            return operation.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the "
                                                              "request target.")
        if not allowed(operation, permissions):
            return operation.error(403, *DENIED)
        return self._page(operation, getattr(user, attribute), entity_set)

    def grants(self, operation, allowed):
        if operation.method != "GET":
            return operation.error(405, "Request_BadRequest", "Specified HTTP method is not allowed for the "
                                                              "request target.")
        if not allowed(operation, GRANT_PERMISSIONS):
            return operation.error(403, *DENIED)
        filters = operation.query.get("$filter")
        grants = self.tenant.oauth2_grants
        if filters:
            match = PRINCIPAL_FILTER.match(filters[0])
            if not match:
                return operation.error(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter "
                                                                        "clause specified.")
            grants = [g for g in grants if (g.get("principalId") or "").lower() == match.group("id").lower()]
        return self._page(operation, grants, "oauth2PermissionGrants")

    def _page(self, operation, items, entity_set):
        values = operation.query.get("$top")
        size = DEFAULT_PAGE_SIZE
        if values:
            if not values[0].isdigit() or not 1 <= int(values[0]) <= MAX_PAGE_SIZE:
                return operation.error(400, "Request_BadRequest", "Invalid page size specified: '%s'." % values[0])
            size = int(values[0])
        start = page_start(operation)
        if start is None:
            return operation.error(400, "Request_BadRequest", "Invalid $skiptoken.")
        body = {"@odata.context": "%s#%s" % (CONTEXT, entity_set), "value": [dict(i) for i in items[start:start + size]]}
        if start + size < len(items):
            query = {"$top": str(size),
                     "$skiptoken": skiptoken(start + size)}
            if operation.query.get("$filter"):
                query["$filter"] = operation.query["$filter"][0]
            origin = self.faults.public_origin or operation.origin or "https://graph.microsoft.com"
            body["@odata.nextLink"] = "%s/v1.0%s?%s" % (origin, operation.path, urlencode(query, safe="$,'"))
        return self.reply(200, body)
