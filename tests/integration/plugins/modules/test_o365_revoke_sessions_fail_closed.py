# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The smaller fail-closed cases of issue 24, end to end through ansible-playbook against the emulator: a member
listing that repeats its users under new next-page links without @odata.count ends (with a clear error, nothing
written) instead of running forever; and a fixed revoked_since taken from Graph's clock is judged by Graph's clock
(its Date), not by a controller clock that runs behind it."""

import datetime
import itertools
import os
import signal
import subprocess

from conftest import PlaybookRun

_names = itertools.count(1)
MINUTES = 60.0
# A run that pages for longer than this is taken as never ending (it ends in seconds when paging is bounded).
PAGING_DEADLINE_S = 120


def new_group(scenario, count):
    name = "Fail closed %s %d" % (scenario.route.name, next(_names))
    return scenario.emulator.control("groups", {"display_name": name, "users": count, "nested": 1})


def revocations(scenario):
    return dict((u["userPrincipalName"], u["revocations"])
                for u in scenario.emulator.control("users", method="GET")["users"])


def test_a_member_listing_that_repeats_under_new_links_ends_with_a_clear_error_and_nothing_written(scenario):
    group = new_group(scenario, 3)
    scenario.faults(repeat_member_pages=True)
    before = revocations(scenario)
    process, results_file = scenario.start("revoke_incident.yml", {"o365_groups": [group["id"]]})
    try:
        stdout, stderr = process.communicate(timeout=PAGING_DEADLINE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError("the member listing was still being paged after %d s" % PAGING_DEADLINE_S)
    run = PlaybookRun(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), results_file)
    assert run.rc != 0
    assert "without a member it had not listed already" in run.result["msg"], run.result["msg"]
    assert revocations(scenario) == before
    pages = [e for e in scenario.requests() if "transitiveMembers" in e["path"]]
    assert len(pages) == 4  # the listing, then 3 pages in a row that bring nobody new


def test_revoked_since_from_graphs_clock_works_on_a_controller_whose_clock_runs_behind(scenario):
    # Graph's clock runs 10 minutes ahead of the controller's; the moment is a minute ago by Graph's clock (as the
    # EDA playbook takes it from riskLastUpdatedDateTime), so 9 minutes ahead of the controller's.
    user = new_group(scenario, 1)["users"][0]["userPrincipalName"]
    scenario.faults(clock_offset_s=10 * MINUTES)
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=9)
    since = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = revocations(scenario)
    run = scenario.run("revoke_incident.yml", {"o365_user": user, "o365_revoked_since": since})
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["outcome"] == "revoked"
    assert revocations(scenario)[user] == before[user] + 1


def test_revoked_since_ahead_of_graphs_clock_is_refused_before_any_write(scenario):
    # The controller's clock runs 10 minutes ahead of Graph's: a moment 6 minutes ahead of Graph's is refused, by
    # Graph's clock, after the reads and before any revoke.
    user = new_group(scenario, 1)["users"][0]["userPrincipalName"]
    scenario.faults(clock_offset_s=-10 * MINUTES)
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=4)
    since = moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = revocations(scenario)
    run = scenario.run("revoke_incident.yml", {"o365_users": [user], "o365_revoked_since": since})
    assert run.rc != 0 and "in the future: Graph's clock" in run.result["msg"], run.result["msg"]
    assert revocations(scenario) == before
