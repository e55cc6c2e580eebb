# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which users a task acts on: ``user`` / ``users`` / ``groups`` minus ``exclude``, guarded by ``max_users``.

Internal to this collection, may change without notice.

Contract (modules build on it; keep it stable):

- ``TARGETS_ARGUMENT_SPEC``, ``TARGETS_MUTUALLY_EXCLUSIVE``, ``TARGETS_REQUIRED_ONE_OF``: a module gets them
  (with ``batch_concurrency``) from ``_graph_module.users_module``; document them with
  ``extends_documentation_fragment: o365.admin.targets``.
  A module that must not have the ``max_users`` guard (a read-only info module) may drop that key from its spec.
- ``parse_references(values)`` -> list of UserReference, one per value in order; every invalid value is named at
  once in one InvalidUserReference, raised before any network call.
- ``resolve_targets(client, params)`` -> TargetSet. Validates every reference of ``user`` / ``users`` /
  ``exclude`` first (no network call if one is invalid), then resolves each of ``groups`` to exactly one group
  (object ID, or a display name matching exactly one group), lists each group's transitive user members (every
  page), merges them after ``users`` in order, marks those matching ``exclude`` as excluded, and raises
  TooManyTargets (nothing written) when more distinct users than ``params["max_users"]`` remain.
  Group errors: GroupNotFound, AmbiguousGroup, or GraphApiError with a message naming the permission on 403.
- ``TargetSet.targets``: every Target in input order (each occurrence of a duplicated ``users`` entry, then the
  group members not already present), excluded ones included. ``TargetSet.distinct()``: the Targets to act on,
  one per user (first occurrence), excluded ones left out. ``TargetSet.groups``: the resolved groups.
- ``Target``: ``user`` (as given; a group member's UPN, or its ID if it has none), ``reference``
  (UserReference to address it), ``group`` (the group as given that brought it, or None), ``user_id``,
  ``user_principal_name``, ``user_type`` (when known), ``excluded``, ``key`` (identity for deduplication),
  ``is_guest``; ``describe()`` -> the dict of what is known about it, for results.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import quote

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    ConfigurationError, GraphApiError, InvalidUserReference, O365AdminError)
from ansible_collections.o365.admin.plugins.module_utils._permissions import lacks, permission_sentence
from ansible_collections.o365.admin.plugins.module_utils._user_ref import OBJECT_ID_RE, UserReference

DEFAULT_MAX_USERS = 1000
# Graph's largest page for directory object collections.
MEMBERS_PAGE_SIZE = 999
GROUP_READ_PERMISSION = "GroupMember.Read.All"
HIDDEN_MEMBERS_PERMISSION = "Member.Read.Hidden"
MEMBER_PROPERTIES = "id,userPrincipalName,userType"
# A message names this many invalid references; the error's user lists them all.
MAX_LISTED = 10

TARGETS_ARGUMENT_SPEC = dict(
    user=dict(type="str", aliases=["user_id", "user_principal_name", "upn"]),
    users=dict(type="list", elements="str"),
    groups=dict(type="list", elements="str"),
    exclude=dict(type="list", elements="str"),
    max_users=dict(type="int", default=DEFAULT_MAX_USERS),
)
TARGETS_MUTUALLY_EXCLUSIVE = [("user", "users"), ("user", "groups")]
TARGETS_REQUIRED_ONE_OF = [("user", "users", "groups")]


class GroupNotFound(ConfigurationError):
    """A ``groups`` entry that names no group."""

    def __init__(self, message, group):
        super(GroupNotFound, self).__init__(message)
        self.group = group

    def details(self):
        return {"group": self.group}


class AmbiguousGroup(GroupNotFound):
    """A display name that matches more than one group."""

    def __init__(self, message, group, matches):
        super(AmbiguousGroup, self).__init__(message, group)
        self.matches = matches

    def details(self):
        return {"group": self.group, "matches": self.matches}


class TooManyTargets(ConfigurationError):
    """More users than ``max_users``: refused before anything is written."""

    def __init__(self, message, count, max_users):
        super(TooManyTargets, self).__init__(message)
        self.count = count
        self.max_users = max_users

    def details(self):
        return {"target_count": self.count, "max_users": self.max_users}


class Target:
    """One user the task acts on."""

    def __init__(self, user, reference, group=None, user_id=None, user_principal_name=None, user_type=None):
        self.user = user
        self.reference = reference
        self.group = group
        self.user_id = user_id if user_id is not None else (reference.value if reference.kind == "id" else None)
        self.user_principal_name = (user_principal_name if user_principal_name is not None
                                    else (reference.value if reference.kind == "upn" else None))
        self.user_type = user_type
        self.excluded = False

    @property
    def key(self):
        """The user's identity: its object ID when known, else its reference (UPNs compare without case)."""
        if self.user_id:
            return ("id", self.user_id.lower())
        return (self.reference.kind, self.reference.value.lower())

    def names(self):
        """Every lower-cased name this user is known by (ID, UPN, as given), for matching ``exclude``."""
        return set(name.lower() for name in (self.user, self.user_id, self.user_principal_name) if name)

    @property
    def is_guest(self):
        return self.user_type == "Guest" or self.reference.is_external_guest or "#EXT#" in (
            self.user_principal_name or "").upper()

    def describe(self):
        """What is known about the user, for its entry in results."""
        known = {}
        if self.user_id:
            known["user_id"] = self.user_id
        if self.user_principal_name:
            known["user_principal_name"] = self.user_principal_name
        if self.group is not None:
            known["group"] = self.group
        return known

    def __repr__(self):
        return "Target(%r, group=%r, excluded=%r)" % (self.user, self.group, self.excluded)


class TargetSet:
    def __init__(self, targets, groups):
        self.targets = targets
        self.groups = groups

    def distinct(self):
        seen, distinct = set(), []
        for target in self.targets:
            if not target.excluded and target.key not in seen:
                seen.add(target.key)
                distinct.append(target)
        return distinct

    @property
    def excluded(self):
        return [target for target in self.targets if target.excluded]


def parse_references(values):
    """Every reference validated before any network call; all invalid ones named at once."""
    references, invalid = [], []
    for value in values:
        try:
            references.append(UserReference.parse(value))
        except InvalidUserReference as error:
            invalid.append(error)
    if len(invalid) == 1:
        raise invalid[0]
    if invalid:
        shown = " ".join(error.message for error in invalid[:MAX_LISTED])
        more = (" And %d more invalid references (all in user)." % (len(invalid) - MAX_LISTED)
                if len(invalid) > MAX_LISTED else "")
        raise InvalidUserReference("%d invalid user references, nothing was sent: %s%s" % (len(invalid), shown, more),
                                   [error.user for error in invalid])
    return references


def _explain_group_error(error, group):
    roles = error.granted_roles if error.status_code == 403 else None
    if roles is not None:  # the token in hand says what the app holds
        if lacks(GROUP_READ_PERMISSION, roles) or not lacks(HIDDEN_MEMBERS_PERMISSION, roles):
            told = permission_sentence(GROUP_READ_PERMISSION, roles)
        else:
            hidden = permission_sentence(HIDDEN_MEMBERS_PERMISSION, roles)
            told = "%s, which a group with hidden membership needs" % hidden
        error.message = "The app may not read group %s or its members. %s. %s" % (group, told, error.message)
    elif error.status_code == 403:
        error.message = (
            "The app may not read group %s or its members. Grant it the Microsoft Graph application permission %s "
            "(or Group.Read.All) with admin consent; a group with hidden membership also needs %s. %s"
            % (group, GROUP_READ_PERMISSION, HIDDEN_MEMBERS_PERMISSION, error.message))
    return error


def odata_string(value):
    """An OData string literal: quoted, with apostrophes doubled."""
    return "'%s'" % value.replace("'", "''")


def resolve_group(client, group):
    """(id, displayName) of the one group ``group`` names: an object ID, or a display name matching exactly one."""
    try:
        if OBJECT_ID_RE.match(group):
            try:
                body = client.request("GET", "/groups/%s" % group, params={"$select": "id,displayName"}).body
            except GraphApiError as error:
                if error.status_code == 404:
                    raise GroupNotFound("Group %s was not found in the tenant: check its object ID (%s)."
                                        % (group, error.request_id), group)
                raise
            return body["id"], body.get("displayName")
        body = client.request("GET", "/groups", params={"$filter": "displayName eq %s" % odata_string(group),
                                                        "$select": "id,displayName", "$top": "10"}).body
    except GraphApiError as error:
        raise _explain_group_error(error, group)
    matches = (body or {}).get("value") or []
    if not matches:
        raise GroupNotFound("No group has the display name %r. Check the name (it must match exactly) or give the "
                            "group's object ID." % group, group)
    if len(matches) > 1 or (body or {}).get("@odata.nextLink"):
        ids = [match.get("id") for match in matches]
        raise AmbiguousGroup("%d or more groups have the display name %r (%s): give the object ID of the one you "
                             "mean." % (len(matches), group, ", ".join(ids)), group, ids)
    return matches[0]["id"], matches[0].get("displayName")


def transitive_user_members(client, group_id, page_size=MEMBERS_PAGE_SIZE):
    """Every user in the group or its nested groups (the cast needs $count and ConsistencyLevel: eventual)."""
    path = "/groups/%s/transitiveMembers/microsoft.graph.user" % quote(group_id, safe="")
    params = {"$select": MEMBER_PROPERTIES, "$top": str(page_size), "$count": "true"}
    try:
        return client.get_all(path, params=params, headers={"ConsistencyLevel": "eventual"})
    except GraphApiError as error:
        raise _explain_group_error(error, group_id)


def _member_target(member, group):
    user_id = member.get("id")
    upn = member.get("userPrincipalName")
    if not user_id or not OBJECT_ID_RE.match(user_id):
        raise O365AdminError("Microsoft Graph listed a member of group %s without a valid object ID (%r)."
                             % (group, user_id))
    return Target(upn or user_id, UserReference(user_id, "id"), group=group, user_id=user_id,
                  user_principal_name=upn, user_type=member.get("userType"))


def check_max_users(count, max_users):
    if max_users is not None and count > max_users:
        raise TooManyTargets(
            "%d users would be acted on, more than max_users (%d). Nothing was changed. Check the groups and "
            "users given; if this many is intended, raise max_users on purpose." % (count, max_users),
            count, max_users)


def resolve_targets(client, params):
    """The TargetSet for ``params`` (see the module docstring for the contract)."""
    users = [params["user"]] if params.get("user") is not None else list(params.get("users") or [])
    groups = list(params.get("groups") or [])
    exclude = list(params.get("exclude") or [])
    max_users = params.get("max_users")
    if max_users is not None and max_users < 1:
        raise ConfigurationError("max_users must be 1 or more, not %d." % max_users)
    if params.get("users") == [] and not groups:
        # An empty list (often an empty default([])) must not read as a successful run over nobody.
        raise ConfigurationError("users is an empty list: there is no one to act on, so nothing was sent. Check the "
                                 "variable that fills it; skip the task with a when: condition if an empty list is "
                                 "expected.")
    references = parse_references(users)
    exclude_names = set(reference.value.lower() for reference in parse_references(exclude))
    for group in groups:
        if not isinstance(group, str) or not group.strip():
            raise ConfigurationError("groups holds an empty entry: give each group's object ID or display name.")
    targets = [Target(user, reference) for user, reference in zip(users, references)]
    seen = set(target.key for target in targets)
    resolved = []
    for group in groups:
        group_id, display_name = resolve_group(client, group)
        count = 0
        for member in transitive_user_members(client, group_id):
            count += 1
            target = _member_target(member, group)
            names = target.names()
            if target.key in seen or any(("upn", name) in seen for name in names):
                continue
            seen.add(target.key)
            targets.append(target)
        resolved.append({"group": group, "id": group_id, "display_name": display_name, "user_count": count})
    for target in targets:
        target.excluded = bool(target.names() & exclude_names)
    target_set = TargetSet(targets, resolved)
    check_max_users(len(target_set.distinct()), max_users)
    return target_set
