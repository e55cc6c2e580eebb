# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which users a task acts on: ``user`` / ``users`` / ``groups`` minus ``exclude``, guarded by ``max_users``.

Internal to this collection, may change without notice.

A target is an Entra directory object, not the string that named it. One person reaches automation under several
names (an object ID from a SIEM, a UPN from an HR list, in any case), so every reference is compared by identity:

- When every reference given (``user`` / ``users`` and ``exclude``) is of one form, all UPNs or all object IDs,
  they compare as they are (case-insensitively), and so do group members, whose listing carries both: no read.
- When both forms are given, the references of the rarer form are resolved with one batched read
  (``GET /users/{ref}?$select=id,userPrincipalName``), so that everything compares in the other form.
- Every target is then judged by ``judge`` (one function for every module): EXCLUDED when it shares a name with
  an ``exclude`` entry; REFUSED when it names nobody (404); ACT only when it is shown to differ from every entry
  (known in one form with it, or the entry names no user); else REFUSED, "could not be compared with the
  exclude: <why>", whatever made the read fail (403 without ``User.Read.All``, 429/503 past the retries, a lost
  answer, a 2xx without ``id`` and ``userPrincipalName``). Acting needs no read; honouring an exclude may.
- An ``exclude`` entry that names no user (404) protects nobody: TargetSet.warnings() says so, naming it, and
  TargetSet.exclude_not_found() keeps it for the result and the record.

Contract (modules build on it; keep it stable):

- ``TARGETS_ARGUMENT_SPEC``, ``TARGETS_MUTUALLY_EXCLUSIVE``, ``TARGETS_REQUIRED_ONE_OF``: a module gets them
  (with ``batch_concurrency``) from ``_graph_module.users_module``; document them with
  ``extends_documentation_fragment: o365.admin.targets``.
- ``parse_list(value, option, commas=True)`` -> the entries of a user-facing list (``users``, ``exclude``,
  ``groups``, role / playbook / rulebook variables, survey text): a YAML list or a text with commas and/or
  newlines, read the same way. Every path takes its lists through it.
- ``judge(user, names, read, exclusions)`` -> Verdict (``decision`` ACT / EXCLUDED / REFUSED, ``refusal``): the one
  comparison of a target with the ``exclude`` entries (ExcludeEntry(reference, read or None)).
- ``parse_references(values, option)`` -> list of UserReference; every invalid value named at once in one
  InvalidUserReference, raised before any network call.
- ``resolve_targets(client, params, send=None)`` -> TargetSet. ``send`` ([request] -> one BatchOutcome each) reads
  users when forms must be reconciled (default: ``send_each`` with the task's batch options). Raises
  ConfigurationError (nothing written) for an empty scope (no user left to act on), TooManyTargets for more
  distinct users than ``max_users`` (group listings stop as soon as that is certain), GroupNotFound /
  AmbiguousGroup / GraphApiError for groups.
- ``TargetSet.targets``: every Target in input order (each reference given, then the group members not already
  present), excluded ones included. ``TargetSet.distinct()``: one Target per directory object to act on (first
  occurrence), excluded and blocked ones left out. ``TargetSet.blocked()``: distinct targets that must not be
  written, each with ``refusal``. ``TargetSet.identity(target)``: the identity duplicates share.
  ``TargetSet.exclusions`` (ExcludeEntry each, ``record()`` for records), ``exclude_not_found()``, ``warnings()``,
  ``announce(module, result)`` (says the warnings, puts ``exclude_not_found`` in the result).
- ``Target``: ``user`` (as given), ``reference`` (UserReference to address it), ``group``, ``user_id``,
  ``user_principal_name``, ``user_type``, ``excluded``, ``refusal`` (None, or why nothing may be sent for it:
  ``{"status_code", "request_id", "error": {"code", "message"}}``), ``is_guest``, ``describe()``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from urllib.parse import quote

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    ConfigurationError, GraphApiError, InvalidUserReference, O365AdminError)
from ansible_collections.o365.admin.plugins.module_utils._graph_pages import collection_pages, page_values
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import send_each
from ansible_collections.o365.admin.plugins.module_utils._user_read import explain_read_failure, read_users_through
from ansible_collections.o365.admin.plugins.module_utils._permissions import lacks, permission_sentence
from ansible_collections.o365.admin.plugins.module_utils._user_ref import OBJECT_ID_RE, UserReference

DEFAULT_MAX_USERS = 1000
# Graph's largest page for directory object collections.
MEMBERS_PAGE_SIZE = 999
# Pages in a row that bring no member the listing has not shown yet, after which paging stops with an error.
MAX_PAGES_WITHOUT_NEW_MEMBER = 3
GROUP_READ_PERMISSION = "GroupMember.Read.All"
HIDDEN_MEMBERS_PERMISSION = "Member.Read.Hidden"
MEMBER_PROPERTIES = "id,userPrincipalName,userType"
IDENTITY_PROPERTIES = ("id", "userPrincipalName")
# A message names this many invalid references or groups; the error's details list them all.
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

    def __init__(self, message, count, max_users, at_least=False):
        super(TooManyTargets, self).__init__(message)
        self.count = count
        self.max_users = max_users
        self.at_least = at_least

    def details(self):
        details = {"target_count": self.count, "max_users": self.max_users}
        if self.at_least:
            details["target_count_is_lower_bound"] = True
        return details


class EmptyScope(ConfigurationError):
    """No user is left to act on: refused like ``users: []``, so that nobody mistakes it for a success."""

    def __init__(self, message, groups):
        super(EmptyScope, self).__init__(message)
        self.groups = groups

    def details(self):
        return {"groups": self.groups}


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
        self.refusal = None

    def name(self, kind):
        """The lower-cased name of this user in ``kind`` ('id' or 'upn'), or None when not known."""
        value = self.user_id if kind == "id" else self.user_principal_name
        return value.lower() if value else None

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
    def __init__(self, targets, groups, form, reads=0, exclusions=()):
        self.targets = targets
        self.groups = groups
        self.exclusions = list(exclusions)  # ExcludeEntry for each exclude entry, as given
        # The form every identity is compared in ('upn' or 'id').
        self.form = form
        self.reads = reads  # references read to reconcile forms

    def identity(self, target):
        """What duplicates share: the name in the compared form, else the reference itself (it is its own)."""
        name = target.name(self.form)
        if name is not None:
            return (self.form, name)
        return (target.reference.kind, target.reference.value.lower())

    def distinct(self):
        """One target per directory object to act on, in order; excluded and blocked ones left out."""
        return [target for target in self._first_of_each() if not target.excluded and target.refusal is None]

    def blocked(self):
        """Distinct targets that must not be written (named nobody, or could not be told apart from an exclude)."""
        return [target for target in self._first_of_each() if not target.excluded and target.refusal is not None]

    def _first_of_each(self):
        seen, first = set(), []
        for target in self.targets:
            identity = self.identity(target)
            if identity not in seen:
                seen.add(identity)
                first.append(target)
        return first

    @property
    def excluded(self):
        return [target for target in self.targets if target.excluded]

    def exclude_not_found(self):
        """The exclude entries Graph said name no user (404), as given."""
        return [entry.reference.value for entry in self.exclusions if entry.names_nobody]

    def warnings(self):
        """What the task must say even when it succeeds."""
        nobody = [entry for entry in self.exclusions if entry.names_nobody]
        return [unmatched_exclude_warning(nobody)] if nobody else []

    def announce(self, module, result):
        """The warnings said through ``module`` and the exclude entries that name nobody put in ``result``."""
        for warning in self.warnings():
            module.warn(warning)
        if self.exclude_not_found():
            result["exclude_not_found"] = self.exclude_not_found()
        return result


NEWLINES = re.compile(r"[\r\n]")
# What separates the entries of a list given as text (an AWX survey's textarea, an extra var, a pasted column).
LIST_SEPARATORS = re.compile(r"[,\r\n]")


def parse_list(value, option, commas=True):
    """The entries of a user-facing list option (``users``, ``exclude``, ``groups``, role and playbook variables),
    given as a YAML list or as text with entries separated by commas and/or newlines, the same way.

    ``None`` is no list (``[]``). Each text (the whole value, or a list item holding a separator) is split on commas
    (unless ``commas`` is False: a group's display name may hold one) and newlines, each entry stripped of the
    whitespace around it, and the blank pieces a trailing comma or line break leaves dropped. An item that is ""
    is kept so that it is refused (a null or an undefined variable must not silently shorten an exclude list).
    Items that are not text are kept for the caller's validation to name. Ansible turns a string
    given for a list option into its comma-separated pieces before a module sees it; the result is the same.
    """
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str):
        items = [value]
    else:
        raise ConfigurationError("%s must be a list or a text of entries separated by commas or newlines, not %s."
                                 % (option, type(value).__name__))
    entries = []
    for item in items:
        if not isinstance(item, str):
            entries.append(item)
            continue
        if not item:
            entries.append(item)  # "" is what a null or an undefined-turned-empty variable gives: refused
            continue
        pieces = [piece.strip() for piece in (LIST_SEPARATORS if commas else NEWLINES).split(item)]
        entries.extend(piece for piece in pieces if piece)
    return entries


def parse_references(values, option="user"):
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
        raise InvalidUserReference("%d invalid user references, nothing was sent (in %s): %s%s"
                                   % (len(invalid), option, shown, more), [error.user for error in invalid])
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


def check_group_entry(group):
    """A ``groups`` entry is a bare object ID or an exact display name; nothing else reaches Graph."""
    if not isinstance(group, str) or not group.strip():
        raise ConfigurationError("groups holds an empty entry: give each group's object ID or display name.")
    if group != group.strip():
        raise ConfigurationError("The groups entry %r has whitespace at its start or end: a group's object ID holds "
                                 "none, and a display name must match exactly. Remove it." % group)


def resolve_group(client, group):
    """(id, displayName) of the one group ``group`` names: a whole object ID, or a display name matching exactly
    one group (sent as an OData string literal in $filter: no path is ever built from the text)."""
    try:
        if OBJECT_ID_RE.fullmatch(group):
            try:
                body = client.request("GET", "/groups/%s" % quote(group, safe=""),
                                      params={"$select": "id,displayName"}).body
            except GraphApiError as error:
                if error.status_code == 404:
                    raise GroupNotFound("Group %s was not found in the tenant: check its object ID (%s)."
                                        % (group, error.request_id), group)
                raise
            if not isinstance(body, dict) or not isinstance(body.get("id"), str):
                raise O365AdminError("Microsoft Graph's answer for group %s is not a group: %s." % (
                    group, "no JSON object" if not isinstance(body, dict) else "an object without an object ID"))
            return body["id"], body.get("displayName")
        body = client.request("GET", "/groups", params={"$filter": "displayName eq %s" % odata_string(group),
                                                        "$select": "id,displayName", "$top": "10"}).body
    except GraphApiError as error:
        raise _explain_group_error(error, group)
    matches = page_values(body, "the groups named %r" % group)
    if not matches:
        raise GroupNotFound("No group has the display name %r. Check the name (it must match exactly) or give the "
                            "group's object ID." % group, group)
    if len(matches) > 1 or body.get("@odata.nextLink"):
        ids = [match.get("id") if isinstance(match, dict) else None for match in matches]
        raise AmbiguousGroup("%d or more groups have the display name %r (%s): give the object ID of the one you "
                             "mean." % (len(matches), group, ", ".join(str(i) for i in ids)), group, ids)
    if not isinstance(matches[0], dict) or not isinstance(matches[0].get("id"), str):
        raise O365AdminError("Microsoft Graph listed a group named %r without an object ID." % group)
    return matches[0]["id"], matches[0].get("displayName")


def user_member_pages(client, group_id, page_size=MEMBERS_PAGE_SIZE):
    """Each page of the users in the group or its nested groups: (members, @odata.count or None). The cast to
    microsoft.graph.user leaves out devices, contacts and service principals; it needs $count and
    ConsistencyLevel: eventual."""
    path = "/groups/%s/transitiveMembers/microsoft.graph.user" % quote(group_id, safe="")
    params = {"$select": MEMBER_PROPERTIES, "$top": str(page_size), "$count": "true"}
    try:
        for response, values in collection_pages(client, path, "the members of group %s" % group_id, params,
                                                 headers={"ConsistencyLevel": "eventual"}):
            count = response.body.get("@odata.count")
            yield values, count if isinstance(count, int) and not isinstance(count, bool) else None
    except GraphApiError as error:
        raise _explain_group_error(error, group_id)


def _member_target(member, group):
    user_id = member.get("id") if isinstance(member, dict) else None
    upn = member.get("userPrincipalName") if isinstance(member, dict) else None
    if not isinstance(user_id, str) or not OBJECT_ID_RE.fullmatch(user_id):
        raise O365AdminError("Microsoft Graph listed a member of group %s without a valid object ID (%r)."
                             % (group, user_id))
    return Target(upn if isinstance(upn, str) and upn else user_id, UserReference(user_id, "id"), group=group,
                  user_id=user_id, user_principal_name=upn if isinstance(upn, str) else None,
                  user_type=member.get("userType"))


def check_max_users(count, max_users, at_least=False):
    if max_users is not None and count > max_users:
        raise TooManyTargets(
            "%s%d users would be acted on, more than max_users (%d). Nothing was changed. Check the groups and "
            "users given; if this many is intended, raise max_users on purpose."
            % ("At least " if at_least else "", count, max_users), count, max_users, at_least)


def _comparison_form(references):
    """The form identities are compared in, and the form to resolve (None: one form only, no read needed)."""
    counts = {"upn": set(), "id": set()}
    for reference in references:
        counts[reference.kind].add(reference.value.lower())
    if not counts["id"]:
        return "upn", None
    if not counts["upn"]:
        return "id", None
    # Read the rarer form: an exclude list of a few IDs beside thousands of UPNs costs one batched call.
    rarer = "id" if len(counts["id"]) <= len(counts["upn"]) else "upn"
    return ("upn" if rarer == "id" else "id"), rarer


def _read_identities(send, references):
    """{lower-cased reference value: UserRead} for the references given, each read once."""
    distinct = list(dict((reference.value.lower(), reference) for reference in references).values())
    reads = read_users_through(send, distinct, IDENTITY_PROPERTIES)
    return dict((reference.value.lower(), read) for reference, read in zip(distinct, reads))


# The judge's three verdicts.
ACT = "act"
EXCLUDED = "excluded"
REFUSED = "refused"
NOT_COMPARED = "could not be compared with the exclude"


def read_names(read):
    """{(kind, lower-cased name)} a found identity read tells; nothing for a read that found no user."""
    if read is None or not read.found:
        return set()
    names = set()
    user_id, upn = read.properties.get("id"), read.properties.get("user_principal_name")
    if isinstance(user_id, str) and OBJECT_ID_RE.fullmatch(user_id):
        names.add(("id", user_id.lower()))
    if isinstance(upn, str) and upn:
        names.add(("upn", upn.lower()))
    return names


class ExcludeEntry:
    """One ``exclude`` entry as given, and its identity read when one was needed (None: not read)."""

    def __init__(self, reference, read=None):
        self.reference = reference
        self.read = read

    @property
    def names(self):
        return set([(self.reference.kind, self.reference.value.lower())]) | read_names(self.read)

    @property
    def names_nobody(self):
        """Graph said no user has this name (404): it protects nobody, and it cannot be anyone's other name."""
        return self.read is not None and self.read.not_found

    def record(self):
        """The entry as results and records keep it: ``found`` True, False (names no user) or None (not read, or
        the read failed)."""
        found = None if self.read is None or self.read.failed else self.read.found
        record = {"exclude": self.reference.value, "found": found}
        for kind, name in sorted(self.names):
            if kind != self.reference.kind:
                record["user_id" if kind == "id" else "user_principal_name"] = (
                    self.read.properties.get("id") if kind == "id" else self.read.properties.get("user_principal_name"))
        return record


class Verdict:
    """The judge's answer for one target: ``decision`` (ACT, EXCLUDED, REFUSED) and, for REFUSED, ``refusal``
    ({"status_code", "request_id", "error": {"code", "message"}}: why nothing may be sent)."""

    def __init__(self, decision, refusal=None):
        self.decision = decision
        self.refusal = refusal

    def __repr__(self):
        return "Verdict(%r, %r)" % (self.decision, (self.refusal or {}).get("error", {}).get("message"))


def _refusal(answer, message):
    return {"status_code": getattr(answer, "status_code", None), "request_id": getattr(answer, "request_id", None),
            "error": {"code": ((getattr(answer, "error", None) or {}).get("code") if answer is not None else None),
                      "message": message}}


def _kinds(names):
    """The forms ('id', 'upn') some name is known in."""
    return set(kind for kind, dummy in names)


def judge(user, names, read, exclusions):
    """Whether one target may be written: ACT, EXCLUDED or REFUSED (a Verdict). Total: every combination of forms
    and read outcomes has an answer, and "could not tell" is never ACT.

    ``user``: the target as given (for messages). ``names``: {(kind, lower-cased name)} it is known by without a
    read (its reference; both names for a group member). ``read``: its identity read (a UserRead) or None when it
    was not read. ``exclusions``: ExcludeEntry for every ``exclude`` entry.

    A target sharing a name with an entry is EXCLUDED. One that names nobody (404) is REFUSED. Otherwise it is
    ACT only when it is shown to differ from every entry: both are known in one form (a user has one object ID
    and one UPN) and the names differ, or the entry names no user (404). Anything else (its read or the entry's
    was refused, failed past its retries, lost, or answered without id and userPrincipalName) is REFUSED: it
    could be the excluded person under its other name. No exclude entry, no read needed: ACT.
    """
    known = set(names) | read_names(read)
    for entry in exclusions:
        if known & entry.names:
            return Verdict(EXCLUDED)
    if read is not None and read.not_found:
        return Verdict(REFUSED, _refusal(read.answer, "User %s was not found in the tenant: check the object ID or "
                                                      "UPN (a guest's UPN carries #EXT#). Nothing was sent for it."
                                         % user))
    mine = _kinds(known)
    for entry in exclusions:
        if entry.names_nobody:
            continue
        theirs = _kinds(entry.names)
        if any(kind in theirs for kind in mine):
            continue  # known in one form, and no name shared: another person
        if entry.read is not None and not entry.read.found:
            answer, why = entry.read.answer, explain_read_failure(entry.read, entry.reference.value)
        elif read is not None and not read.found:
            answer, why = read.answer, explain_read_failure(read, user)
        else:
            answer, why = None, "neither was read to learn its other name"
        shown = dict(id="object ID", upn="UPN")
        return Verdict(REFUSED, _refusal(answer, "Not written: %s %s: %s (%s is known only by its %s, the exclude "
                                                 "entry %s only by its %s)."
                                         % (user, NOT_COMPARED, why, user, " and ".join(shown[k] for k in sorted(mine))
                                            or "name as given", entry.reference.value,
                                            " and ".join(shown[k] for k in sorted(theirs)))))
    return Verdict(ACT)


def unmatched_exclude_warning(entries):
    """Said once: exclude entries that name no user protect nobody (a typo in an object ID or UPN?)."""
    listed = ", ".join(entry.reference.value for entry in entries)
    one = len(entries) == 1
    return ("exclude names no user in the tenant for %s (Graph answered 404): %s protects nobody. Check the %s "
            "(returned in exclude_not_found)." % (listed, "it" if one else "they", "entry" if one else "entries"))


def _default_send(client, params):
    concurrency = params.get("batch_concurrency") or 4
    max_retries = params.get("max_retries")
    return lambda requests: send_each(client, requests, concurrency, 4 if max_retries is None else max_retries)


def resolve_targets(client, params, send=None):
    """The TargetSet for ``params`` (see the module docstring for the contract)."""
    users = [params["user"]] if params.get("user") is not None else parse_list(params.get("users"), "users")
    groups = parse_list(params.get("groups"), "groups", commas=False)
    exclude = parse_list(params.get("exclude"), "exclude")
    max_users = params.get("max_users")
    if max_users is not None and max_users < 1:
        raise ConfigurationError("max_users must be 1 or more, not %d." % max_users)
    if params.get("user") is None and params.get("users") is not None and not users and not groups:
        # An empty list (often an empty default([])) must not read as a successful run over nobody.
        raise ConfigurationError("users is an empty list: there is no one to act on, so nothing was sent. Check the "
                                 "variable that fills it; skip the task with a when: condition if an empty list is "
                                 "expected.")
    references = parse_references(users, "user" if params.get("user") is not None else "users")
    exclusions = parse_references(exclude, "exclude")
    for group in groups:
        check_group_entry(group)
    form, rarer = _comparison_form(references + exclusions)

    targets = [Target(user, reference) for user, reference in zip(users, references)]
    seen_names = set()
    for target in targets:
        seen_names.update(n for n in (("id", target.name("id")), ("upn", target.name("upn"))) if n[1])
    excluded_count = len(exclusions)
    resolved = []
    for group in groups:
        group_id, display_name = resolve_group(client, group)
        count = 0
        listed, pages, pages_without_new = set(), 0, 0
        for values, total in user_member_pages(client, group_id):
            pages += 1
            # Even if every exclude entry is among them, more than this many users is certain: stop reading.
            if total is not None and max_users is not None and total - excluded_count > max_users:
                check_max_users(total - excluded_count, max_users, at_least=True)
            before = len(listed)
            listed.update(str(member.get("id")).lower() for member in values if isinstance(member, dict))
            # Graph lists each member once: pages that bring no member this listing has not shown (repeats, or
            # empty pages) under new next-page links would go on forever without @odata.count, as max_users counts
            # only new users. Paging is bounded by pages read.
            pages_without_new = 0 if len(listed) > before else pages_without_new + 1
            if pages_without_new >= MAX_PAGES_WITHOUT_NEW_MEMBER:
                raise O365AdminError(
                    "Microsoft Graph's member listing of group %s went on for %d pages in a row without a member it "
                    "had not listed already (%d distinct users in %d pages read); stopped paging, nothing was "
                    "written. Run the task again; if it persists, give the users or a smaller group."
                    % (group, pages_without_new, len(listed), pages))
            for member in values:
                count += 1
                target = _member_target(member, group)
                names = set((kind, target.name(kind)) for kind in ("id", "upn") if target.name(kind))
                if names & seen_names:
                    continue
                seen_names.update(names)
                targets.append(target)
            if max_users is not None and len(targets) - excluded_count > max_users:
                check_max_users(len(targets) - excluded_count, max_users, at_least=True)
        resolved.append({"group": group, "id": group_id, "display_name": display_name, "user_count": count})

    answers = {}
    if rarer is not None:
        # Both forms given: the rarer is read, so that each target can be compared with each exclude entry.
        send = send or _default_send(client, params)
        to_read = [t.reference for t in targets if t.group is None and t.reference.kind == rarer]
        to_read += [reference for reference in exclusions if reference.kind == rarer]
        answers = _read_identities(send, to_read)
    entries = [ExcludeEntry(reference, answers.get(reference.value.lower()) if reference.kind == rarer else None)
               for reference in exclusions]
    reads = []
    for target in targets:
        read = answers.get(target.reference.value.lower()) if (
            target.group is None and target.reference.kind == rarer) else None
        _learn(target, read)
        reads.append(read)
    pooled = pool_names([set((kind, target.name(kind)) for kind in ("id", "upn") if target.name(kind))
                         for target in targets])
    for target, names, read in zip(targets, pooled, reads):
        verdict = judge(target.user, names, read, entries)
        target.excluded = verdict.decision == EXCLUDED
        target.refusal = verdict.refusal

    target_set = TargetSet(targets, resolved, form, len(answers), entries)
    acting = target_set.distinct() + target_set.blocked()
    if not acting:
        raise _empty_scope(users, resolved, targets)
    check_max_users(len(acting), max_users)
    return target_set


def pool_names(name_sets):
    """Each set joined with every other it shares a name with (transitively): one person named twice (by UPN, and
    by an object ID whose read told the UPN) is judged on everything known about it, so its occurrences agree."""
    owner = {}  # name -> index of the set it was first seen in
    parent = list(range(len(name_sets)))

    def root(index):
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index
    for index, names in enumerate(name_sets):
        for name in names:
            if name in owner:
                parent[root(index)] = root(owner[name])
            else:
                owner[name] = index
    merged = {}
    for index, names in enumerate(name_sets):
        merged.setdefault(root(index), set()).update(names)
    return [merged[root(index)] for index in range(len(name_sets))]


def _learn(target, read):
    """A found read gives the target its other name."""
    for kind, name in read_names(read):
        if kind == "id" and target.user_id is None:
            target.user_id = read.properties.get("id")
        if kind == "upn" and target.user_principal_name is None:
            target.user_principal_name = read.properties.get("user_principal_name")


def _empty_scope(users, resolved, targets):
    names = [group["group"] for group in resolved]
    if targets:
        message = ("Every user named (%d) is excluded: there is no one to act on, so nothing was sent. Check exclude "
                   "and the users and groups given." % len(targets))
    else:
        more = " and %d more" % (len(names) - MAX_LISTED) if len(names) > MAX_LISTED else ""
        listed = ", ".join(names[:MAX_LISTED]) + more
        message = ("The group%s %s %s no user members (devices, contacts and service principals are not users): "
                   "there is no one to act on, so nothing was sent. Check the group%s given."
                   % ("" if len(names) == 1 else "s", listed, "has" if len(names) == 1 else "have",
                      "" if len(names) == 1 else "s"))
    return EmptyScope(message, names)
