# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Input limits: each is a clear error before any network call, never a traceback, never a green empty run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import responses
from ansible.release import __version__ as ANSIBLE_CORE_VERSION

from ansible_collections.o365.admin.plugins.modules.o365_revoke_sessions import main
from tests.unit.plugins.modules.graph_options import TOKEN, graph_options

# ansible-core 2.19 turns a null entry of a list of str into "" (then our own check names it); older releases
# refuse it in their argument spec check. Either way the module stops before any network call.
if tuple(int(part) for part in ANSIBLE_CORE_VERSION.split(".")[:2]) >= (2, 19):
    NULL_ENTRY, NULL_ENTRY_AMONG_OTHERS = "it is empty (a null list entry arrives as an empty string)", "it is empty"
else:
    NULL_ENTRY = NULL_ENTRY_AMONG_OTHERS = "Elements value for option 'users' is of type <class 'NoneType'>"


def many(**extra):
    params = graph_options(users=["adele@contoso.com"])
    params.update(extra)
    return params


@responses.activate
@pytest.mark.parametrize("params, message", [
    (many(users=[]), "users is an empty list: there is no one to act on, so nothing was sent"),
    (many(users=[None]), NULL_ENTRY),
    (many(users=["adele@contoso.com", None]), NULL_ENTRY_AMONG_OTHERS),
    (many(users=[12345]), "Invalid user reference '12345': it is neither a GUID nor a UPN"),
    (many(batch_concurrency=0), "batch_concurrency must be 1 or more and at most 32, not 0"),
    (many(batch_concurrency=-3), "batch_concurrency must be 1 or more and at most 32, not -3"),
    (many(batch_concurrency=33), "batch_concurrency must be 1 or more and at most 32, not 33"),
    (many(batch_concurrency=10000), "batch_concurrency must be 1 or more and at most 32, not 10000"),
    (many(timeout=-1), "timeout must be a positive number of seconds, not -1.0"),
    (many(timeout=0), "timeout must be a positive number of seconds"),
    (many(timeout="nan"), "timeout must be a positive number of seconds, not nan"),
    (many(timeout="inf"), "timeout must be a positive number of seconds, not inf"),
    (many(max_retries=-1), "max_retries must be 0 or more, not -1"),
    ({"user": "adele@contoso.com\n", "access_token": TOKEN}, "whitespace"),
])
def test_bad_input_is_a_clear_error_before_any_network_call(run_module, params, message):
    failed, result = run_module(main, params)
    assert failed and message in result["msg"], result["msg"]
    assert "Traceback" not in result["msg"] and "exception" not in result
    assert len(responses.calls) == 0


@responses.activate
def test_a_hundred_thousand_references_with_one_bad_are_refused_before_the_network_with_a_short_message(run_module):
    users = ["user%06d@contoso.onmicrosoft.com" % n for n in range(100000)]
    users[99999] = "user099999/../groups@contoso.onmicrosoft.com"
    failed, result = run_module(main, many(users=users))
    assert failed and "Invalid user reference 'user099999/../groups@contoso.onmicrosoft.com'" in result["msg"]
    assert len(responses.calls) == 0


@responses.activate
def test_many_bad_references_are_all_returned_but_only_ten_named_in_the_message(run_module):
    users = ["bad/%d@contoso.com" % n for n in range(5000)]
    failed, result = run_module(main, many(users=users))
    assert failed and result["msg"].startswith("5000 invalid user references, nothing was sent")
    assert "And 4990 more invalid references (all in user)." in result["msg"] and len(result["msg"]) < 5000
    assert result["user"] == users
    assert len(responses.calls) == 0
