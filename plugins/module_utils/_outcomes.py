# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Per-user outcomes of bulk runs and the summary a task returns with them: the same vocabulary, counts and
failure message for every module that acts on many users.

Each entry of ``results`` carries ``outcome``: the module's own word for success (``revoked``, ``would_revoke``,
...), ``failed`` (Graph answered no, or the request was never sent) or ``unknown`` (the request may have acted
but its answer was lost or unreadable; sending it again is safe). An unknown is never reported as a failure to
act, nor as a success.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.o365.admin.plugins.module_utils._graph_batch import LOST_HINT, UNREADABLE
from ansible_collections.o365.admin.plugins.module_utils._graph_client import safe_excerpt

FAILED = "failed"
UNKNOWN = "unknown"
LISTED_IN_MESSAGE = 10


def judge(outcome, read_answer):
    """(outcome word, error or None) for one BatchOutcome. Lost answers are UNKNOWN, Graph's refusals and
    requests never sent FAILED; a 2xx goes to ``read_answer(outcome)``, which says whether it is really the
    answer the operation expects (see ``unreadable``)."""
    if outcome.unknown:
        return UNKNOWN, outcome.error
    if not outcome.ok:
        return FAILED, outcome.error
    return read_answer(outcome)


def unreadable(outcome, expected):
    """The verdict on a 2xx that is not the answer Graph gives (HTML from a proxy, an error body, no value)."""
    received = "an empty body" if outcome.body is None else safe_excerpt(outcome.body)
    return UNKNOWN, {"code": None, "message": "%s: HTTP %s with %s instead of %s; %s." % (
        UNREADABLE, outcome.status_code, received, expected, LOST_HINT)}


def write_answer(success):
    """The ``read_answer`` for a write Graph answers without a document (PATCH): 204, or a 2xx whose body is a
    JSON object of Graph's (not an error envelope). A proxy's page or an empty 200 is not Graph saying it wrote."""
    def read_answer(outcome):
        body = outcome.body
        if outcome.status_code == 204 and (body is None or body == ""):
            return success, None
        if isinstance(body, dict) and "error" not in body:
            return success, None
        return unreadable(outcome, "Graph's 204 No Content")
    return read_answer


def entry_changed(word, successes):
    """An entry's ``changed``: True when Graph confirmed the write, None when it may or may not have acted
    (unknown), False when nothing was written."""
    if word == UNKNOWN:
        return None
    return word in ((successes,) if isinstance(successes, str) else tuple(successes))


def base_entry(user, word, error, outcome):
    """The keys every entry of ``results`` has: user, outcome, status_code, request_id, and error unless it
    succeeded."""
    entry = dict(user=user, outcome=word, status_code=outcome.status_code, request_id=outcome.request_id)
    if error is not None:
        entry["error"] = error
    return entry


def summarise(entries, identities, success, count_key):
    """Summary keys: ``count_key`` (distinct targets whose outcome is ``success``, a word or several), ``failed_count``,
    ``unknown_count`` (distinct targets), ``failed_users`` and ``unknown_users`` (users as given, in input order).
    ``identities`` tell duplicates apart from distinct targets (e.g. a case-insensitive UPN)."""
    by_identity = {}
    for identity, entry in zip(identities, entries):
        by_identity.setdefault(identity, entry["outcome"])
    outcomes = list(by_identity.values())

    def users(word):
        return list(dict.fromkeys(entry["user"] for entry in entries if entry["outcome"] == word))

    successes = (success,) if isinstance(success, str) else tuple(success)
    summary = {count_key: sum(1 for word in outcomes if word in successes), "failed_count": outcomes.count(FAILED),
               "unknown_count": outcomes.count(UNKNOWN)}
    summary.update(failed_users=users(FAILED), unknown_users=users(UNKNOWN))
    return summary


def _listed(entries, describe):
    shown = ", ".join(describe(entry) for entry in entries[:LISTED_IN_MESSAGE])
    more = " and %d more" % (len(entries) - LISTED_IN_MESSAGE) if len(entries) > LISTED_IN_MESSAGE else ""
    return shown + more


def _failure(entry):
    error = entry.get("error") or {}
    if entry["status_code"] is None:
        return "%s (%s)" % (entry["user"], error.get("message"))
    return "%s (%s %s)" % (entry["user"], entry["status_code"], error.get("code") or error.get("message"))


def failure_message(entries, verb, done, hints=None):
    """Why the task fails: the users that failed (with Graph's status and code), then those whose answers were
    lost, saying the request may have acted and a re-run is safe; ``hints`` {status: advice} for the statuses
    met. ``verb``: 'revoked'; ``done``: what Graph may have done to the unknown ones ('revoked them')."""
    failed = [entry for entry in entries if entry["outcome"] == FAILED]
    unknown = [entry for entry in entries if entry["outcome"] == UNKNOWN]
    parts = []
    if failed:
        parts.append("%d of %d users could not be %s: %s." % (len(failed), len(entries), verb,
                                                              _listed(failed, _failure)))
    if unknown:
        parts.append("For %d of %d users the answer was lost or could not be read: %s. Graph may have %s; running "
                     "the task again is safe." % (len(unknown), len(entries), _listed(unknown, lambda e: e["user"]),
                                                  done))
    for status, hint in sorted((hints or {}).items()):
        if any(entry["status_code"] == status for entry in failed):
            parts.append(hint)
    parts.append("Every user's outcome is in results.")
    return " ".join(parts)
