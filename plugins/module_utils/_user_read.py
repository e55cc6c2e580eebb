# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading users' properties with $select, one answer per user, batched for many.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.o365.admin.plugins.module_utils._graph_client import safe_excerpt
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import send_each
from ansible_collections.o365.admin.plugins.module_utils._permissions import permission_sentence

READ_PERMISSION = "User.Read.All"

# Graph property -> the snake_case key modules return it under.
USER_PROPERTIES = (
    ("id", "id"),
    ("userPrincipalName", "user_principal_name"),
    ("displayName", "display_name"),
    ("userType", "user_type"),
    ("accountEnabled", "account_enabled"),
    ("onPremisesSyncEnabled", "on_premises_sync_enabled"),
    ("signInSessionsValidFromDateTime", "sessions_valid_from"),
)


IDENTITY_NAMES = ("id", "userPrincipalName")


def names_a_user(body, graph_names=IDENTITY_NAMES):
    """Whether a 2xx body is a user's answer: a JSON object that, when an identity was asked for, carries the ``id``
    or ``userPrincipalName`` (a non-empty string). ``{}`` or a proxy's page is not a found user."""
    if not isinstance(body, dict) or "error" in body:
        return False
    asked = [name for name in IDENTITY_NAMES if name in graph_names]
    return not asked or any(isinstance(body.get(name), str) and body.get(name) for name in asked)


class UserRead:
    """One user's answer: ``found`` with ``properties`` (snake_case), or not found (404), or an error. A 2xx that
    is not a user's answer (see names_a_user) is ``unreadable``: neither found nor absent, a failed read."""

    def __init__(self, answer, properties, graph_names=IDENTITY_NAMES):
        self.answer = answer
        self.found = answer.ok and names_a_user(answer.body, graph_names)
        self.unreadable = answer.ok and not self.found
        self.not_found = answer.status_code == 404 and not answer.unknown
        self.properties = properties

    @property
    def failed(self):
        """Neither found nor known to be absent: the read itself failed (403, 5xx, unreadable answer)."""
        return not self.found and not self.not_found


def select_path(reference, graph_names):
    # accountEnabled, onPremisesSyncEnabled, userType and signInSessionsValidFromDateTime come only on $select.
    return "%s?$select=%s" % (reference.path(), ",".join(graph_names))


def read_users(client, references, graph_names, concurrency, max_retries):
    """One UserRead per reference, in order (give each user once); only ``graph_names`` are asked for."""
    return read_users_through(lambda requests: send_each(client, requests, concurrency, max_retries), references,
                              graph_names)


def read_users_through(send, references, graph_names):
    """read_users with ``send`` ([request] -> one BatchOutcome each, e.g. a BatchRun's ``run``) doing the sending."""
    answers = send([("GET", select_path(reference, graph_names)) for reference in references])
    keys = dict(USER_PROPERTIES)
    reads = []
    for answer in answers:
        properties = {}
        if answer.ok and names_a_user(answer.body, graph_names):
            properties = dict((keys[name], answer.body.get(name)) for name in graph_names)
        reads.append(UserRead(answer, properties, graph_names))
    return reads


def explain_read_failure(read, user):
    """A sentence on why ``user`` could not be read, and what to do."""
    answer = read.answer
    if getattr(read, "unreadable", False):
        return ("Microsoft Graph's HTTP %s answer for %s is not a user's (it carries neither id nor "
                "userPrincipalName; a proxy may have answered): %s"
                % (answer.status_code, user, safe_excerpt(answer.body)))
    told = permission_sentence(READ_PERMISSION, getattr(answer, "granted_roles", None))
    if answer.status_code == 403 and told:
        return "The app may not read %s (Graph said %s). %s." % (user, answer.error["code"], told)
    if answer.status_code == 403:
        return ("The app may not read %s: grant it the Microsoft Graph application permission %s with admin "
                "consent (Graph said %s)." % (user, READ_PERMISSION, answer.error["code"]))
    if answer.unknown:
        return "No readable answer from Microsoft Graph for %s: %s" % (user, answer.error["message"])
    return "Microsoft Graph answered HTTP %s %s for %s: %s" % (
        answer.status_code, answer.error["code"] or "", user, answer.error["message"])
