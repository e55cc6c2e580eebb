# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An event's containment inside ``o365_containment`` (``event`` and ``brake``): the user an Identity Protection
event names, and the blast-radius brake of the shared ledger (_ledger.Ledger) decided in the same process, between
the containment's read and its first write.

Internal to this collection, may change without notice.

Decided here, in this order, before anything is written:

- an event Identity Protection marks ``isDeleted``: nobody to contain, before any call;
- an excluded user (the collection's one judge, _targets.resolve_targets): no slot;
- a user that could not be told apart from an exclude entry, or that the directory answers 404 for: no slot;
- otherwise the ledger decides under its lock: a slot (``contain``), a stopped run's slot (``resume``), contained
  within the window already (``recent``) or held back by the brake (``held``, the first of a window raising the
  alert).

After the writes the slot is closed with the containment's outcome (the event source acknowledges the event then);
a run interrupted by a signal leaves it started, and the next event for the user resumes it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError, TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._ledger import (
    ACTING, CONTAIN, DELETED, EXCLUDED, HELD, RECENT, REFUSED, Ledger, alert_message, event_user_id, parse_window,
    skip_decision)
from ansible_collections.o365.admin.plugins.module_utils._containment import OUTCOMES

# The options (documented in plugins/modules/o365_containment.py).
EVENT_OPTIONS = dict(
    event=dict(type="dict"),
    brake=dict(type="dict", options=dict(
        state_dir=dict(type="path", required=True),
        max_users=dict(type="int", default=5),
        window=dict(type="str", default="10 minutes"),
    )),
)


def apply_event(params):
    """Make ``params`` contain the event's user (one user, ``revoked_since`` the moment the risk was raised unless
    given: a re-run for the same event writes nothing). Returns the user's object ID, or None without an event."""
    event = params.get("event")
    if event is None:
        return None
    user_id = event_user_id(event)
    params["users"] = [user_id]
    params["max_users"] = 1
    if not params.get("revoked_since") and event.get("riskLastUpdatedDateTime"):
        params["revoked_since"] = event["riskLastUpdatedDateTime"]
    return user_id


# The outcome of the event's user in the task's results when nothing is written, by decision.
OUTCOME_OF = {EXCLUDED: "excluded", DELETED: "absent", REFUSED: "failed", RECENT: "already_contained", HELD: "held",
              None: "failed"}


class Brake:
    """One event's containment: its user, and, with a ledger (the ``brake`` option), the brake decided before the
    first write and the slot closed after the last. ``decision`` is None until decided; ``result()`` is what the
    task returns as ``brake``. Without a ledger only the event's own ``isDeleted`` keeps its user from being
    written."""

    def __init__(self, ledger, event, user_id, max_users, window, run_id, write=True):
        if max_users < 1:
            raise ConfigurationError("brake.max_users must be 1 or more, not %d." % max_users)
        self.ledger = ledger
        self.event = event
        self.user_id = user_id
        self.max_users = max_users
        self.window = window
        self.window_s = parse_window(window)
        # The ledger's run names the host and the containment record's run ID: one ID from the ledger to the record.
        self.run = "%s/%s" % (socket.gethostname(), run_id)
        self.write = write
        self.decision = None
        self.detail = None
        self.alert = False
        self.contained_in_window = []
        self.closed = None
        self.undecided = False  # the exclude comparison was never sent: nothing decided, nothing in the ledger

    @classmethod
    def from_params(cls, params, run_id, check_mode=False):
        """The event's Brake (None without an event); every option is checked before any call."""
        options = params.get("brake")
        if params.get("event") is None:
            if options is not None:
                raise ConfigurationError("brake needs event: the brake counts the users events named.")
            return None
        if options is None:
            return cls(None, params["event"], event_user_id(params["event"]), 1, "1 second", run_id, not check_mode)
        return cls(Ledger(options["state_dir"]), params["event"], event_user_id(params["event"]),
                   options["max_users"], options["window"], run_id, write=not check_mode)

    @property
    def contain(self):
        return self.decision in ACTING

    @property
    def name(self):
        return self.event.get("userPrincipalName") or self.user_id

    def skip(self, decision, detail):
        """The user is not written (deleted, excluded, refused): ended at once in the ledger, no slot."""
        if self.ledger is not None:
            self.ledger.skip(self.user_id, self.event, self.run, decision, detail, self.write)
        self.decision, self.detail = decision, detail
        return self

    @property
    def event_deleted(self):
        return self.event.get("isDeleted") is True

    def skip_deleted_event(self):
        return self.skip(*skip_decision(self.user_id, deleted=True))

    def skip_excluded(self):
        return self.skip(*skip_decision(self.user_id, excluded=True))

    def judge(self, target_set, read_not_found):
        """Decide for the user from the targets (excluded, or not told apart from an exclude entry) and, with a
        ledger, the first read (404): skip, or reserve. A comparison that was never sent (the run was stopped, no
        token) decides nothing (``undecided``): the ledger is left as it was, so the event stays unacknowledged.
        Without a ledger a 404 is the containment's to judge (failed, or absent with absent_is_done)."""
        refused = target_set.blocked()
        refusal = refused[0].refusal if refused else None
        if refusal is not None and refusal.get("status_code") is None:
            self.undecided, self.detail = True, refusal["error"]["message"]
            return self
        decision, detail = skip_decision(self.user_id, excluded=not target_set.distinct() and not refused,
                                         refusal=refusal, not_found=read_not_found and self.ledger is not None)
        if decision is not None:
            return self.skip(decision, detail)
        return self.reserve()

    def reserve(self):
        if self.ledger is None:
            self.decision = CONTAIN
            return self
        reserved = self.ledger.reserve(self.user_id, self.event, self.run, self.max_users, self.window_s,
                                       self.write)
        self.decision, self.alert = reserved["decision"], reserved["alert"]
        self.contained_in_window = reserved["contained_in_window"]
        return self

    def finish(self, outcome, detail=None, report=None):
        """Close the slot this run took or resumed with ``outcome`` (contained or failed); nothing in check mode."""
        if self.contain and self.ledger is not None and self.write:
            self.closed = self.ledger.finish(self.user_id, self.run, outcome, detail, report, self.write) is not None

    def not_contained(self, run_id):
        """The task's result when nothing is written for the event's user: its entry, and no record. A user that
        could not be compared with exclude (REFUSED) fails the task."""
        reasons = {
            RECENT: "it was contained within the brake's window (%s) already" % self.window,
            HELD: "the brake holds: %d users were contained within %s (brake.max_users %d)" % (
                len(self.contained_in_window), self.window, self.max_users),
        }
        reason = reasons.get(self.decision, self.detail)
        message = "User %s is not contained: %s. Nothing was written." % (self.name, reason)
        outcome = OUTCOME_OF[self.decision]
        if self.undecided:
            outcome = "failed"
            message = "User %s could not be compared with exclude, and nothing was decided: %s Nothing was written." % (
                self.name, self.detail)
            if self.ledger is not None:
                message += " The ledger was left as it was: the event is not acknowledged."
        entry = dict(user=self.name, user_id=self.user_id, user_principal_name=self.event.get("userPrincipalName"),
                     outcome=outcome, changed=False, run_id=run_id, decision=self.decision, detail=message)
        if outcome == "failed":
            entry["error"] = {"message": self.detail, "step": "exclude"}
        result = dict(state="contained", changed=False, run_id=run_id, results=[entry], verified_count=0,
                      failed_users=[entry["user"]] if outcome == "failed" else [], unknown_users=[])
        result.update(("%s_count" % word, int(word == outcome)) for word in OUTCOMES)
        if self.ledger is not None:
            result["brake"] = self.result()
        if outcome == "failed":
            raise TaskFailed(message, result)
        result["msg"] = message
        return result

    def result(self):
        result = dict(decision=self.decision, contain=self.contain, user_id=self.user_id, run=self.run,
                      detail=self.detail, alert=self.alert, contained_in_window=self.contained_in_window,
                      state_dir=self.ledger.state_dir if self.ledger is not None else None)
        if self.alert:
            result["alert_message"] = alert_message(self.contained_in_window, self.window, self.max_users, self.name,
                                                    "brake.max_users")
        if self.closed is not None:
            result["closed"] = self.closed
        return result
