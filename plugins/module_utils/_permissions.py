# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which Microsoft Graph application permissions the app's own token holds, and the sentence a 403 deserves.

Internal to this collection, may change without notice.

An app-only access token lists the application permissions granted to the app (with admin consent) in its
``roles`` claim. Reading that claim needs no signature check (the token is not trusted for anything, only read
to explain a refusal Graph already made) and the token itself is never printed. A delegated token (one with a
``scp`` claim) cannot tell: the signed-in user's own admin roles count as well, so the explanation stays
"either the app lacks the permission or ...".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json

# The application permissions that allow each operation, least privileged first (Microsoft Graph's API pages:
# user-revokesigninsessions, user-get, user-update for accountEnabled, group-list-transitivemembers).
ALTERNATIVES = {
    "User.RevokeSessions.All": ("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    "User.Read.All": ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    "User.EnableDisableAccount.All": ("User.EnableDisableAccount.All", "User.ReadWrite.All",
                                      "Directory.ReadWrite.All"),
    "GroupMember.Read.All": ("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All",
                             "GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"),
    "Member.Read.Hidden": ("Member.Read.Hidden",),
}
# A JWT payload larger than this is not an access token worth decoding.
MAX_PAYLOAD_CHARS = 65536


def token_roles(token):
    """The application permissions an app-only access token holds (a tuple, empty when it holds none), or None
    when the token cannot tell: a delegated token, or one that is not a readable JWT."""
    if not isinstance(token, str):
        return None
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > MAX_PAYLOAD_CHARS:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode("utf-8"))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        return None
    if not isinstance(payload, dict) or "scp" in payload:
        return None  # delegated: the signed-in user's roles count too
    roles = payload.get("roles")
    if isinstance(roles, list) and all(isinstance(role, str) for role in roles):
        return tuple(roles)
    if roles is None and (payload.get("idtyp") == "app" or (payload.get("oid") and payload.get("oid") == payload.get(
            "sub"))):
        return ()  # app-only, and Entra ID leaves the claim out when no application permission is granted
    return None


def permission_sentence(needed, granted):
    """What a 403 means for permission ``needed`` (its name; any of ALTERNATIVES[needed] will do) given the
    ``granted`` roles of the token that was refused (token_roles). None when the token cannot tell (the caller then
    says "either the app lacks the permission, or ..."). Otherwise one sentence without a full stop: the app's
    token lacks it (and what it holds), or holds it (so something else refused the request)."""
    if granted is None:
        return None
    alternatives = ALTERNATIVES.get(needed, (needed,))
    held = [permission for permission in alternatives if permission in granted]
    if held:
        return "The app's token holds %s, so the Microsoft Graph permission is not what is missing" % held[0]
    holds = ", ".join(sorted(granted)) if granted else "no application permission at all"
    return ("The app's token does not hold %s%s (it holds %s): grant the app the Microsoft Graph application "
            "permission %s (type Application) with admin consent, then run the task again" % (
                needed, " or another that includes it (%s)" % ", ".join(alternatives[1:]) if alternatives[1:] else "",
                holds, needed))


def lacks(needed, granted):
    """True when the token tells that it holds none of the permissions that allow ``needed``."""
    return granted is not None and not any(permission in granted for permission in ALTERNATIVES.get(needed, (needed,)))
