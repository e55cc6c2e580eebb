# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._outcomes import (
    FAILED, UNKNOWN, base_entry, judge, summarise)


def entry(user, word):
    return dict(user=user, outcome=word)


def test_summarise_counts_distinct_targets_and_lists_users_as_given_once():
    entries = [entry("a@b.com", "blocked"), entry("A@b.com", "blocked"), entry("c@d.com", "would_allow"),
               entry("e@f.com", FAILED), entry("e@f.com", FAILED), entry("g@h.com", UNKNOWN),
               entry("x@y.com", "excluded")]
    identities = ["a", "a", "c", "e", "e", "g", "x"]
    summary = summarise(entries, identities, ("blocked", "would_allow"), "changed_count")
    assert summary == {"changed_count": 2, "failed_count": 1, "unknown_count": 1, "failed_users": ["e@f.com"],
                       "unknown_users": ["g@h.com"]}
    assert summarise(entries, identities, "blocked", "blocked_count")["blocked_count"] == 1


def test_judge_never_turns_a_lost_answer_into_a_failure_or_a_success():
    lost = BatchOutcome(None, None, None, unknown=True, reason="lost")
    refused = BatchOutcome(403, {"error": {"code": "Authorization_RequestDenied", "message": "no"}}, "r")
    accepted = BatchOutcome(204, None, "r2")
    assert judge(lost, None) == (UNKNOWN, {"code": None, "message": "lost"})
    assert judge(refused, None)[0] == FAILED
    assert judge(accepted, lambda outcome: ("done", None)) == ("done", None)
    assert "error" not in base_entry("a@b.com", "done", None, accepted)
