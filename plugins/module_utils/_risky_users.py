# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Entra ID Protection's risky users: list them (filtered, every page), confirm them compromised or dismiss their
risk, within Identity Protection's own limits.

Internal to this collection, may change without notice.

Identity Protection allows one request per second per tenant for all apps together, and its 429 carries no
Retry-After (learn.microsoft.com/graph/throttling-limits): every request here goes through one IdentityPacer, and
none goes into $batch (each batch item counts on its own). The actions take at most ACTION_LIMIT userIds per call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from urllib.parse import quote, urlsplit

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    ConfigurationError, GraphApiError, O365AdminError, TaskFailed)
from ansible_collections.o365.admin.plugins.module_utils._graph_auth import ConnectionSettings
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import checked_concurrency
from ansible_collections.o365.admin.plugins.module_utils._graph_client import safe_excerpt
from ansible_collections.o365.admin.plugins.module_utils._graph_pages import collection_items
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import Sender, send_each
from ansible_collections.o365.admin.plugins.module_utils._outcomes import (
    FAILED, UNKNOWN, base_entry, judge, summarise, write_answer)
from ansible_collections.o365.admin.plugins.module_utils._targets import resolve_targets
from ansible_collections.o365.admin.plugins.module_utils._user_read import read_users

READ_PERMISSION = "IdentityRiskyUser.Read.All"
WRITE_PERMISSION = "IdentityRiskyUser.ReadWrite.All"
RISK_LEVELS = ("low", "medium", "high", "hidden", "none")
RISK_STATES = ("none", "confirmedSafe", "remediated", "dismissed", "atRisk", "confirmedCompromised")
COLLECTION = "/identityProtection/riskyUsers"
# riskyuser-list: "The maximum page size with $top is 500 objects."
PAGE_SIZE = 500
# Up to this many users, each riskyUser is read on its own (one request each) instead of listing the tenant's risky
# users (one request per 500 of them, however many there are): a single user is one request either way.
READ_ONE_BY_ONE = 5
# riskyUsers dismiss (beta page): at most 60 users per call. The v1.0 pages give no figure; 60 is used for both.
ACTION_LIMIT = 60
# throttling-limits, "Identity protection and conditional access service limits": 1 request per second per tenant.
MIN_INTERVAL_S = 1.0
# Graph counts arrivals, the pacer can only space sends: sends exactly 1 s apart arrive closer whenever the earlier
# one took longer on the way, and the later is answered 429 (seen end to end). A tenth of a second of room.
ARRIVAL_MARGIN_S = 0.1
ACTIONS = {"compromised": "confirmCompromised", "dismissed": "dismiss"}
# What each state leaves behind, and the riskState values for which the action has nothing left to do.
STATE_AFTER = {"compromised": "confirmedCompromised", "dismissed": "dismissed"}
NOTHING_TO_DO = {"compromised": ("confirmedCompromised",),
                 "dismissed": ("none", "dismissed", "remediated", "confirmedSafe")}
LICENCE_HINT = ("Graph refused (HTTP 403): the app lacks %s (grant it with admin consent), or the tenant has no "
                "Microsoft Entra ID P2 licence, which the riskyUsers API requires.")
# Graph property -> the snake_case key the modules and the event source return it under.
RISKY_USER_PROPERTIES = (
    ("id", "id"),
    ("userPrincipalName", "user_principal_name"),
    ("userDisplayName", "user_display_name"),
    ("riskLevel", "risk_level"),
    ("riskState", "risk_state"),
    ("riskDetail", "risk_detail"),
    ("riskLastUpdatedDateTime", "risk_last_updated"),
    ("isDeleted", "is_deleted"),
    ("isProcessing", "is_processing"),
)


class IdentityPacer:
    """At most one Identity Protection request per ``interval_s``: ``wait()`` before each one."""

    def __init__(self, interval_s=MIN_INTERVAL_S + ARRIVAL_MARGIN_S, clock=time.monotonic, sleep=time.sleep):
        self.interval_s = interval_s
        self.clock = clock
        self.sleep = sleep
        self.waited_s = 0.0
        self._last = None

    def wait(self):
        if self._last is not None:
            pause = self._last + self.interval_s - self.clock()
            if pause > 0:
                self.sleep(pause)
                self.waited_s += pause
        self._last = self.clock()


def refuse_china(params, environ=None):
    """Identity Protection's riskyUsers API is not offered in the China cloud (21Vianet): say so before any call."""
    settings = ConnectionSettings(params, environ)
    host = (urlsplit(settings.graph_endpoint).hostname or "").lower()
    if settings.cloud == "china" or host.endswith(".chinacloudapi.cn"):
        raise ConfigurationError("Microsoft Entra ID Protection's riskyUsers API is not available in the China "
                                 "cloud operated by 21Vianet (Microsoft's API pages list global, US Government L4 "
                                 "and L5 only); nothing was sent.")


def checked_values(name, values, allowed):
    """A list of risk levels or states as given, each one of Graph's values; else a ConfigurationError."""
    values = list(values or [])
    wrong = [value for value in values if value not in allowed]
    if wrong:
        raise ConfigurationError("%s holds %s: use %s (Graph's names, case as written)."
                                 % (name, ", ".join(repr(value) for value in wrong), ", ".join(allowed)))
    return values


def risk_filter(levels, states):
    """The $filter for ``levels`` and ``states`` (either may be empty: no condition on it), or None.

    Written with enum literals, the form Microsoft's riskyuser-list examples use."""
    parts = []
    for name, values in (("riskLevel", levels), ("riskState", states)):
        if values:
            clauses = " or ".join("%s eq microsoft.graph.%s'%s'" % (name, name, value) for value in values)
            parts.append("(%s)" % clauses if len(values) > 1 else clauses)
    return " and ".join(parts) or None


def risky_user_entry(item):
    """One risky user, snake_case, from Graph's riskyUser object."""
    return dict((key, item.get(name)) for name, key in RISKY_USER_PROPERTIES)


def is_deleted(item):
    """Identity Protection keeps the risk of users deleted from the directory (C(isDeleted) true): nobody to
    contain. Anything but a plain ``true`` is a user that exists as far as this can tell."""
    return item.get("isDeleted") is True


def _explain(error):
    if getattr(error, "status_code", None) == 403:
        error.message = "%s %s" % (LICENCE_HINT % READ_PERMISSION, error.message)
    return error


def list_risky_users(client, levels=(), states=(), pacer=None, page_size=PAGE_SIZE):
    """Every riskyUser (Graph's objects) matching ``levels`` / ``states``, every page, paced by ``pacer``.

    Raises GraphApiError (403 explained as permission or licence), GraphTransportError, or O365AdminError for an
    answer that is not a page of risky users."""
    pacer = pacer or IdentityPacer()
    params = {"$top": str(page_size), "$select": ",".join(name for name, key in RISKY_USER_PROPERTIES)}
    query = risk_filter(levels, states)
    if query:
        params["$filter"] = query
    try:
        return collection_items(client, COLLECTION, "risky users", params=params, before_request=pacer.wait)
    except O365AdminError as error:
        raise _explain(error)


def read_risky_user(client, user_id, pacer):
    """The riskyUser object of one user (riskyuser-get), or None when Identity Protection never flagged it - only
    Graph's own 404 says so; any other failure raises, explained as list_risky_users' do."""
    pacer.wait()
    try:
        response = client.request("GET", "%s/%s" % (COLLECTION, quote(user_id, safe="")))
    except GraphApiError as error:
        if error.status_code == 404 and error.code:
            return None
        raise _explain(error)
    if not isinstance(response.body, dict) or str(response.body.get("id")).lower() != user_id.lower():
        raise O365AdminError("Microsoft Graph's answer to the risky user %s was not that riskyUser (HTTP %s, %s); "
                             "nothing was changed." % (user_id, response.status_code,
                                                       response.received or safe_excerpt(response.body)))
    return response.body


def risk_records(client, user_ids, pacer):
    """{object ID (lower case): riskyUser object} for ``user_ids``; a user never flagged is left out. A few users are
    read one by one; more, by listing the tenant's risky users (one paced request per 500). Either way every
    request waits for ``pacer`` (Identity Protection's one request per second)."""
    user_ids = list(dict.fromkeys(user_id.lower() for user_id in user_ids if user_id))
    if len(user_ids) <= READ_ONE_BY_ONE:
        records = dict((user_id, read_risky_user(client, user_id, pacer)) for user_id in user_ids)
        return dict((user_id, record) for user_id, record in records.items() if record is not None)
    return dict((item.get("id", "").lower(), item) for item in list_risky_users(client, pacer=pacer))


class RiskChange:
    """One distinct user: its object ID and UPN (from the directory), its risk before, and Graph's answer."""

    def __init__(self, target, read, state, record):
        self.target = target
        self.read = read  # None for a target resolve_targets refused (target.refusal): it is never read nor sent
        self.state = state
        self.record = record  # the riskyUser object, or None when Identity Protection never flagged the user
        self.answer = None

    @property
    def found(self):
        return self.read is not None and self.read.found

    @property
    def user_id(self):
        return self.read.properties.get("id") if self.found else None

    @property
    def risk_state_before(self):
        if not self.found:
            return None
        return (self.record or {}).get("riskState") or "none"

    @property
    def risk_level_before(self):
        if not self.found:
            return None
        return (self.record or {}).get("riskLevel") or "none"

    @property
    def needed(self):
        return self.found and self.risk_state_before not in NOTHING_TO_DO[self.state]

    def outcome(self, check_mode):
        """compromised | dismissed | unchanged | would_compromise | would_dismiss | failed | unknown."""
        if not self.found:
            return FAILED  # nothing was sent for a user that could not be read: certainly not changed
        if not self.needed:
            return "unchanged"
        if check_mode:
            return "would_compromise" if self.state == "compromised" else "would_dismiss"
        # The collection's one rule for writes: Graph's own answer (204 for these actions) or nothing proven.
        return judge(self.answer, write_answer(self.state))[0]


def apply_changes(client, changes, state, pacer, max_retries):
    """POST the action for the users that need it, ACTION_LIMIT object IDs per call, paced; answers on each change.

    Never in $batch (each item would count against Identity Protection's limit). Returns the number of calls."""
    pending = [change for change in changes if change.needed]
    path = "%s/%s" % (COLLECTION, ACTIONS[state])
    calls = 0
    for start in range(0, len(pending), ACTION_LIMIT):
        chunk = pending[start:start + ACTION_LIMIT]
        pacer.wait()
        # Two references to one user (its UPN and its object ID) are one object ID in the call.
        user_ids = list(dict.fromkeys(change.user_id for change in chunk))
        answer = send_each(client, [("POST", path, {"userIds": user_ids})], 1, max_retries)[0]
        calls += 1
        for change in chunk:
            change.answer = answer
    return calls


def explain_failure(change):
    """A sentence on why one user's change failed or is unknown, and what to do."""
    user = change.target.user
    if change.read is None:
        return change.target.refusal["error"]["message"]
    if not change.found:
        if change.read.not_found:
            return "User %s was not found in the tenant: check the object ID or UPN." % user
        answer = change.read.answer
        return "User %s could not be read (HTTP %s %s): %s" % (user, answer.status_code, answer.error["code"] or "",
                                                               answer.error["message"])
    answer = change.answer
    if answer.unknown or answer.ok:
        return ("No readable answer from Microsoft Graph for %s: the change may or may not have been made. Run the "
                "task again: it reads the risk state first and changes only what still differs." % user)
    if answer.status_code == 403:
        return "%s (%s, request-id %s)" % (LICENCE_HINT % WRITE_PERMISSION, user, answer.request_id)
    return "Graph refused the change for %s (HTTP %s %s): %s" % (
        user, answer.status_code, answer.error["code"] or "", answer.error["message"])


def diff_entry(change):
    name = change.target.user
    return {"before_header": "%s (before)" % name, "after_header": "%s (after)" % name,
            "before": "risk_state: %s\n" % change.risk_state_before,
            "after": "risk_state: %s\n" % STATE_AFTER[change.state]}


# Outcomes that change (or, in check mode, would change) a user's risk state.
CHANGING = ("compromised", "dismissed", "would_compromise", "would_dismiss")


def user_result(target, change, check_mode):
    if change is None:
        entry = dict(user=target.user, outcome="excluded", changed=False)
    else:
        outcome = change.outcome(check_mode)
        answer = change.answer if change.answer is not None else (change.read.answer if change.read else None)
        if answer is None:
            # resolve_targets refused the user (named nobody, or could not be told apart from an exclude entry).
            entry = dict(user=target.user, outcome=outcome, status_code=target.refusal["status_code"],
                         request_id=target.refusal["request_id"],
                         error=dict(target.refusal["error"], explanation=explain_failure(change)))
        else:
            error = None
            if outcome in (FAILED, UNKNOWN):
                error = dict(answer.error, explanation=explain_failure(change))
            entry = base_entry(target.user, outcome, error, answer)
        properties = change.read.properties if change.read is not None else {}
        entry.update(changed=outcome in CHANGING, user_id=change.user_id or target.user_id,
                     user_principal_name=properties.get("user_principal_name") or target.user_principal_name,
                     risk_level_before=change.risk_level_before, risk_state_before=change.risk_state_before)
        if outcome == UNKNOWN:
            entry.update(changed=None, risk_state=None)
        elif outcome in CHANGING:
            entry["risk_state"] = STATE_AFTER[change.state]
        else:
            entry["risk_state"] = change.risk_state_before
    if target.group is not None:
        entry["group"] = target.group
    return entry


def set_risk_state(module, client):
    """o365_risky_user's run: resolve the targets, read their risk, confirm or dismiss what differs, shape the
    result."""
    params = module.params
    concurrency = checked_concurrency(params["batch_concurrency"])
    refuse_china(params)
    target_set = resolve_targets(client, params, send=Sender(client, concurrency, params["max_retries"]))
    distinct = target_set.distinct()
    # One identity per user: its object ID, read from the directory (the actions take object IDs only).
    reads = read_users(client, [target.reference for target in distinct], ("id", "userPrincipalName"), concurrency,
                       params["max_retries"])
    pacer = IdentityPacer()
    records = risk_records(client, [read.properties.get("id") for read in reads if read.found], pacer)
    changes = [RiskChange(target, read, params["state"],
                          records.get((read.properties.get("id") or "").lower()) if read.found else None)
               for target, read in zip(distinct, reads)]
    changes += [RiskChange(target, None, params["state"], None) for target in target_set.blocked()]
    calls = 0 if module.check_mode else apply_changes(client, changes, params["state"], pacer, params["max_retries"])
    by_identity = dict((target_set.identity(change.target), change) for change in changes)
    results = [user_result(target, None if target.excluded else by_identity[target_set.identity(target)],
                           module.check_mode) for target in target_set.targets]
    outcomes = [change.outcome(module.check_mode) for change in changes]
    possibly_changed = any(change.answer is not None and outcome == UNKNOWN for change, outcome in zip(changes, outcomes))
    result = dict(changed=any(outcome in CHANGING for outcome in outcomes) or possibly_changed, state=params["state"],
                  results=results, unchanged_count=outcomes.count("unchanged"), action_calls=calls)
    result.update(summarise(results, [target_set.identity(target) for target in target_set.targets], CHANGING,
                            "changed_count"))
    if module._diff:
        result["diff"] = [diff_entry(change) for change, outcome in zip(changes, outcomes) if outcome in CHANGING]
    troubled = [change for change, outcome in zip(changes, outcomes) if outcome in (FAILED, UNKNOWN)]
    if troubled:
        raise TaskFailed("%d of %d users could not be %s: %s Every user's outcome is in results."
                         % (len(troubled), len(changes), "read" if module.check_mode else params["state"],
                            " ".join(explain_failure(change) for change in troubled[:5])), result)
    return result
