# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""User ID / UPN validation and encoding into a Graph path. Internal to this collection, may change without notice."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from urllib.parse import quote

from ansible_collections.o365.admin.plugins.module_utils._errors import InvalidUserReference

# Patterns are applied with fullmatch: a `$` anchor would let a trailing newline through (sent as %0A).
OBJECT_ID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Entra's username policy: only these characters before the @ (no accents); a leading $ is allowed and
# changes how the user is addressed (see UserReference.path).
UPN_NAME_CHAR_RE = re.compile(r"[A-Za-z0-9'.\-_!#^~]")
UPN_NAME_RE = re.compile(r"[A-Za-z0-9'.\-_!#^~]+")
DOMAIN_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# Entra's username policy: at most 64 characters before the @ and 113 in all.
MAX_UPN_NAME_LENGTH = 64
MAX_UPN_LENGTH = 113

ALLOWED_UPN_CHARACTERS = "A-Z a-z 0-9 ' . - _ ! # ^ ~"

# Characters left as they are in a path segment; everything else is percent-encoded, so '#' becomes %23
# (B2B '#EXT#' guests) and '^' becomes %5E. RFC 3986 allows ' ! ~ @ $ unencoded in a segment.
PATH_SAFE = "@'!~$"
# How much of a rejected value a message quotes.
SHOWN_LENGTH = 120


def _shown(user):
    """The value as a message quotes it: escaped (control characters visible) and cut short if very long."""
    if isinstance(user, str) and len(user) > SHOWN_LENGTH:
        return "%r... (%d characters)" % (user[:SHOWN_LENGTH], len(user))
    return repr(user)


def _reject(user, reason):
    raise InvalidUserReference(
        "Invalid user reference %s: %s. Give the user's object ID (a GUID such as "
        "'6e7b768e-07e2-4810-8459-485f84f8f204') or userPrincipalName (such as 'adele@contoso.com'; "
        "allowed characters before the @: %s, and a leading $)." % (_shown(user), reason, ALLOWED_UPN_CHARACTERS),
        user,
    )


def _check_domain(user, domain):
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2:
        _reject(user, "the domain %r is not a DNS domain name such as contoso.com" % domain)
    for label in labels:
        if not DOMAIN_LABEL_RE.fullmatch(label):
            _reject(user, "the domain %r has an invalid label %r" % (domain, label))


class UserReference:
    """One user as Graph addresses it: by object ID or by userPrincipalName."""

    def __init__(self, value, kind):
        self.value = value
        self.kind = kind

    @classmethod
    def parse(cls, user):
        """Validate ``user`` and return a UserReference; raise InvalidUserReference before any network call."""
        if not isinstance(user, str):
            _reject(user, "it is %s, not a string" % ("null" if user is None else type(user).__name__))
        if not user:
            _reject(user, "it is empty (a null list entry arrives as an empty string)")
        if user != user.strip():
            # Not trimmed silently: a pasted list with stray spaces should be fixed where it comes from.
            _reject(user, "it has whitespace (a space, tab or line break) at its start or end, and a UPN or object ID "
                          "never holds any: remove it")
        if OBJECT_ID_RE.fullmatch(user):
            return cls(user, "id")
        if "@" not in user:
            _reject(user, "it is neither a GUID nor a UPN (no @)")
        name, dummy, domain = user.rpartition("@")
        if "@" in name:
            _reject(user, "a UPN holds exactly one @")
        body = name[1:] if name.startswith("$") else name
        if not body:
            _reject(user, "the part before the @ is empty")
        if not UPN_NAME_RE.fullmatch(body):
            bad = sorted(set(ch for ch in body if not UPN_NAME_CHAR_RE.fullmatch(ch)))
            _reject(user, "the part before the @ contains characters Entra does not allow in a UPN: %s%s"
                    % (", ".join("%r (U+%04X)" % (ch, ord(ch)) for ch in bad[:10]),
                       " and %d more" % (len(bad) - 10) if len(bad) > 10 else ""))
        if len(name) > MAX_UPN_NAME_LENGTH:
            _reject(user, "the part before the @ is %d characters long; Entra allows at most %d"
                    % (len(name), MAX_UPN_NAME_LENGTH))
        if name.endswith("."):
            _reject(user, "a period cannot come right before the @")
        if len(user) > MAX_UPN_LENGTH:
            _reject(user, "it is %d characters long; Entra allows at most %d for a UPN" % (len(user), MAX_UPN_LENGTH))
        _check_domain(user, domain)
        return cls(user, "upn")

    @property
    def is_external_guest(self):
        """B2B guests carry '#EXT#' in their UPN; Graph does not revoke their sessions at the home tenant."""
        return self.kind == "upn" and "#EXT#" in self.value.upper()

    def path(self, suffix=""):
        """The Graph path of this user, relative to the version root (e.g. ``/users/{id}/revokeSignInSessions``)."""
        if self.kind == "upn" and self.value.startswith("$"):
            # Graph answers 400 to /users/$x@y: a $-prefixed UPN goes in the OData key form, with any
            # apostrophe doubled as OData string literals require.
            literal = quote(self.value.replace("'", "''"), safe=PATH_SAFE)
            return "/users('%s')%s" % (literal, suffix)
        return "/users/%s%s" % (quote(self.value, safe=PATH_SAFE), suffix)

    def __repr__(self):
        return "UserReference(%r, %r)" % (self.value, self.kind)
