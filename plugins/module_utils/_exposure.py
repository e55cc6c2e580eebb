# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a revoke did not close, per user: read-only.

Internal to this collection, may change without notice.

Two rounds of reads, batched for many users: first each user (userType, onPremisesSyncEnabled,
signInSessionsValidFromDateTime), then, per user, its authentication methods, delegated permission grants, owned
objects (apps and service principals, with how many credentials they hold) and registered and owned devices. Each
read is a *part*: one that Graph refuses (403), or does not answer, is ``unreadable`` with a reason word in that
user's entry, never a failure of the whole, and never taken for "nothing there".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.o365.admin.plugins.module_utils._errors import O365AdminError
from ansible_collections.o365.admin.plugins.module_utils._evidence import iso, parse_time
from ansible_collections.o365.admin.plugins.module_utils._graph_pages import collection_items

# The application permissions each read needs, least privileged first (Microsoft Graph's API pages:
# user-get, authentication-list-methods, oauth2permissiongrant-list, user-list-ownedobjects,
# user-list-registereddevices, user-list-owneddevices). The last three pages list no application permission
# ("Not supported"); Directory.Read.All is what an app-only read can try, and a refusal is reported per part.
PART_PERMISSIONS = {
    "user": ("User.Read.All", "Directory.Read.All"),
    "authentication_methods": ("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"),
    "oauth2_permission_grants": ("Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All"),
    "owned_objects": ("Directory.Read.All",),
    "registered_devices": ("Directory.Read.All",),
    "owned_devices": ("Directory.Read.All",),
}
LIST_PARTS = ("authentication_methods", "oauth2_permission_grants", "owned_objects", "registered_devices",
              "owned_devices")
USER_SELECT = "id,userPrincipalName,userType,onPremisesSyncEnabled,accountEnabled,signInSessionsValidFromDateTime"
# Entra ID gives an access token a default lifetime drawn between 60 and 90 minutes (Microsoft identity platform,
# "Configurable token lifetimes"): one issued just before the cut-off may work up to 90 minutes after it. A token
# lifetime policy can make it longer; CAE-capable services (Exchange, SharePoint, Teams) end it much sooner.
DEFAULT_ACCESS_TOKEN_LIFETIME_MINUTES = 90
MIN_DEFAULT_ACCESS_TOKEN_LIFETIME_MINUTES = 60
MAX_FOLLOWED_PAGES = 50
DOORS = ("guest", "synced", "access_tokens", "oauth2_permission_grants", "owned_app_credentials", "devices")
CREDENTIAL_TYPES = ("#microsoft.graph.application", "#microsoft.graph.servicePrincipal")


def unreadable_reason(outcome):
    """The reason word for an answer that is not a readable 2xx: permission, not_found, throttled, no_answer,
    not_sent or graph_error."""
    if outcome.unknown:
        return "no_answer"
    status = outcome.status_code
    if status is None:
        return "not_sent"
    if status in (401, 403):
        return "permission"
    if status == 404:
        return "not_found"
    if status == 429:
        return "throttled"
    return "graph_error"


def part_path(part, reference, user_id):
    """The request path of a list part for one user; None when it needs an object ID that is not known."""
    if part == "oauth2_permission_grants":
        # /users/{id}/oauth2PermissionGrants takes no application permission (user-list-oauth2permissiongrants);
        # the tenant-wide list filtered by principalId does (oauth2permissiongrant-list).
        if not user_id:
            return None
        return "/oauth2PermissionGrants?$filter=principalId eq '%s'" % user_id.replace("'", "''")
    suffix = {"authentication_methods": "/authentication/methods", "owned_objects": "/ownedObjects",
              "registered_devices": "/registeredDevices", "owned_devices": "/ownedDevices"}[part]
    return reference.path(suffix)


def follow_pages(client, body, max_pages=MAX_FOLLOWED_PAGES):
    """The entries of a list answer and of every next page it links (at most ``max_pages`` of them); raises
    O365AdminError on a failed or unreadable page (a partial list is never taken for the whole)."""
    return collection_items(client, None, "the list", first_page=body, max_pages=max_pages + 1)


def read_list(client, outcome):
    """(items, None) for an outcome holding a list (its next pages followed), else (None, reason)."""
    if not outcome.ok:
        return None, unreadable_reason(outcome)
    if not isinstance(outcome.body, dict) or not isinstance(outcome.body.get("value"), list):
        return None, "unexpected_answer"
    try:
        return follow_pages(client, outcome.body), None
    except O365AdminError as error:
        status = getattr(error, "status_code", None)
        return None, {401: "permission", 403: "permission", 429: "throttled"}.get(status, "graph_error")


def unread(reason):
    return {"state": "unreadable", "unreadable": reason, "count": None}


def methods_part(items):
    by_type = {}
    for item in items:
        kind = (item.get("@odata.type") or "#microsoft.graph.unknown").rsplit(".", 1)[-1]
        kind = kind[:-len("AuthenticationMethod")] if kind.endswith("AuthenticationMethod") else kind
        by_type[kind] = by_type.get(kind, 0) + 1
    return {"state": "read", "unreadable": None, "count": len(items), "by_type": by_type}


def grants_part(items):
    grants = [{"id": g.get("id"), "client_id": g.get("clientId"), "resource_id": g.get("resourceId"),
               "consent_type": g.get("consentType"), "scope": (g.get("scope") or "").strip()} for g in items]
    return {"state": "read", "unreadable": None, "count": len(grants), "grants": grants}


def _credential_count(item, name):
    value = item.get(name)
    return len(value) if isinstance(value, list) else None


def owned_part(items):
    """Apps and service principals the user owns, with their credentials. An entry Graph shows with limited
    information (no credential lists: the app may not read that type) has ``credentials`` None: unknown, not 0."""
    owned = []
    for item in items:
        if item.get("@odata.type") not in CREDENTIAL_TYPES:
            continue
        passwords, keys = _credential_count(item, "passwordCredentials"), _credential_count(item, "keyCredentials")
        owned.append({"id": item.get("id"), "kind": item["@odata.type"].rsplit(".", 1)[-1],
                      "display_name": item.get("displayName"), "app_id": item.get("appId"),
                      "password_credentials": passwords, "key_credentials": keys,
                      "credentials": None if passwords is None or keys is None else passwords + keys})
    unknown = sum(1 for entry in owned if entry["credentials"] is None)
    return {"state": "read", "unreadable": None, "count": len(owned), "apps": owned,
            "with_credentials": sum(1 for entry in owned if entry["credentials"]), "credentials_unknown": unknown}


def devices_part(items):
    devices = [{"id": d.get("id"), "display_name": d.get("displayName"), "operating_system": d.get("operatingSystem"),
                "trust_type": d.get("trustType"), "is_managed": d.get("isManaged"),
                "account_enabled": d.get("accountEnabled")} for d in items]
    return {"state": "read", "unreadable": None, "count": len(devices), "devices": devices}


BUILDERS = {"authentication_methods": methods_part, "oauth2_permission_grants": grants_part,
            "owned_objects": owned_part, "registered_devices": devices_part, "owned_devices": devices_part}


def access_tokens(cutoff, now, lifetime_minutes):
    """When the last access token issued before ``cutoff`` expires at the latest (an estimate), and whether that
    is still ahead of ``now`` (Graph's clock; None when either is unknown)."""
    if cutoff is None:
        return {"cutoff": None, "expire_by": None, "open": None, "estimate": True}
    expire_by = cutoff + datetime.timedelta(minutes=lifetime_minutes)
    return {"cutoff": iso(cutoff), "expire_by": iso(expire_by), "open": None if now is None else now < expire_by,
            "estimate": True}


def doors(entry):
    """The doors a revoke leaves open for this user, from the parts read (an unreadable part opens none here: it
    is in ``unreadable``, never silently closed)."""
    found = []
    if entry["guest"]:
        found.append("guest")
    if entry["synced"]:
        found.append("synced")
    if entry["access_tokens"]["open"]:
        found.append("access_tokens")
    if entry["oauth2_permission_grants"].get("count"):
        found.append("oauth2_permission_grants")
    owned = entry["owned_objects"]
    if owned.get("with_credentials") or owned.get("credentials_unknown"):
        found.append("owned_app_credentials")
    if entry["registered_devices"].get("count") or entry["owned_devices"].get("count"):
        found.append("devices")
    return found


def user_entry(target, user_outcome, parts, now, lifetime_minutes):
    entry = {"user": target.user, "user_id": target.user_id, "user_principal_name": target.user_principal_name,
             "found": None, "guest": None, "synced": None, "account_enabled": None}
    unreadable = {}
    cutoff = None
    if user_outcome.ok and isinstance(user_outcome.body, dict):
        body = user_outcome.body
        entry.update(found=True, user_id=body.get("id") or target.user_id,
                     user_principal_name=body.get("userPrincipalName") or target.user_principal_name,
                     guest=body.get("userType") == "Guest" if body.get("userType") else None,
                     synced=body.get("onPremisesSyncEnabled") is True, account_enabled=body.get("accountEnabled"))
        cutoff = parse_time(body.get("signInSessionsValidFromDateTime"))
    else:
        reason = unreadable_reason(user_outcome) if not user_outcome.ok else "unexpected_answer"
        entry["found"] = False if reason == "not_found" else None
        unreadable["user"] = reason
        if target.is_guest:
            entry["guest"] = True  # the name alone tells (#EXT#)
    entry["access_tokens"] = access_tokens(cutoff, now, lifetime_minutes)
    for part in LIST_PARTS:
        entry[part] = parts[part]
        if parts[part]["state"] != "read":
            unreadable[part] = parts[part]["unreadable"]
    entry["unreadable"] = unreadable
    entry["open_doors"] = doors(entry)
    entry["exposure_known"] = not unreadable
    return entry


def unresolved_entry(target):
    """A user the task could not tell apart from an exclude entry, or could not resolve: listed, nothing read."""
    entry = {"user": target.user, "user_id": target.user_id, "user_principal_name": target.user_principal_name,
             "found": None, "guest": None, "synced": None, "account_enabled": None,
             "access_tokens": access_tokens(None, None, DEFAULT_ACCESS_TOKEN_LIFETIME_MINUTES)}
    for part in LIST_PARTS:
        entry[part] = unread("not_resolved")
    entry["unreadable"] = dict((part, "not_resolved") for part in ("user",) + LIST_PARTS)
    entry.update(open_doors=[], exposure_known=False)
    return entry


def latest_date(outcomes):
    dates = [o.date for o in outcomes if isinstance(getattr(o, "date", None), datetime.datetime)]
    return max(dates) if dates else None


def gather_exposure(client, send, targets, lifetime_minutes=DEFAULT_ACCESS_TOKEN_LIFETIME_MINUTES, now=None):
    """One entry per target (distinct users), in order; ``send`` ([request] -> BatchOutcome each) sends both
    rounds. Returns (entries, graph_time)."""
    user_outcomes = send([("GET", "%s?$select=%s" % (t.reference.path(), USER_SELECT)) for t in targets])
    plan, requests = [], []
    for target, outcome in zip(targets, user_outcomes):
        user_id = (outcome.body.get("id") if outcome.ok and isinstance(outcome.body, dict) else None) or \
            target.user_id
        gone = not outcome.ok and outcome.status_code == 404
        for part in LIST_PARTS:
            path = None if gone else part_path(part, target.reference, user_id)
            if path is None:
                plan.append((target, part, None, "not_found" if gone else "needs_object_id"))
            else:
                plan.append((target, part, len(requests), None))
                requests.append(("GET", path))
    outcomes = send(requests) if requests else []
    graph_time = now or latest_date(list(user_outcomes) + list(outcomes))
    parts_by_target = {}
    for target, part, index, reason in plan:
        if index is None:
            value = unread(reason)
        else:
            items, failure = read_list(client, outcomes[index])
            value = unread(failure) if failure else BUILDERS[part](items)
        parts_by_target.setdefault(id(target), {})[part] = value
    entries = [user_entry(target, outcome, parts_by_target[id(target)], graph_time, lifetime_minutes)
               for target, outcome in zip(targets, user_outcomes)]
    return entries, graph_time


def summarize(entries):
    summary = {"users": len(entries), "with_open_doors": sum(1 for e in entries if e["open_doors"]),
               "exposure_unknown": sum(1 for e in entries if not e["exposure_known"]),
               "doors": dict((door, sum(1 for e in entries if door in e["open_doors"])) for door in DOORS),
               "unreadable": {}}
    for entry in entries:
        for part, reason in entry["unreadable"].items():
            key = "%s: %s" % (part, reason)
            summary["unreadable"][key] = summary["unreadable"].get(key, 0) + 1
    return summary
