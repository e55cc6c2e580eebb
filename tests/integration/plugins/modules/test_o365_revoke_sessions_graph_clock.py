# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""verify and revoked_since judged by Graph's clock, end to end through ansible-playbook: the emulator's clock
set minutes away from the controller's, reads that lag behind a write, and a revoke that does not move the
timestamp (issue 18)."""

import datetime
import email.utils
import itertools

import requests

_names = itertools.count(1)
MINUTES = 60.0


def new_users(scenario, count):
    """Fresh users (never revoked, timestamps 2026-01-01), named for this test."""
    name = "Graph clock %s %d" % (scenario.route.name, next(_names))
    group = scenario.emulator.control("groups", {"display_name": name, "users": count, "nested": 1})
    return [u["userPrincipalName"] for u in group["users"]]


def controller_now():
    return datetime.datetime.now(datetime.timezone.utc)


def graph_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def test_graphs_date_header_follows_the_emulators_clock_offset(scenario):
    """The control itself: Graph's Date (on the route the module uses) is 5 minutes behind the host's."""
    scenario.faults(clock_offset_s=-5 * MINUTES)
    token = scenario.emulator.control("token", {"client_id": scenario.emulator["client_id"]})["access_token"]
    answer = requests.get(scenario.route.endpoint + "/v1.0/users/adele.vance@contoso.onmicrosoft.com",
                          headers={"Authorization": "Bearer " + token}, verify=scenario.emulator["ca_path"],
                          timeout=10)
    assert answer.status_code == 200
    date = email.utils.parsedate_to_datetime(answer.headers["Date"])
    assert abs((controller_now() - date).total_seconds() - 5 * MINUTES) < 30


def test_one_user_verified_with_graphs_clock_5_minutes_behind_and_one_stale_read(scenario):
    """Before: "read back is ..., before the revoke was sent" whenever Graph's clock (or the controller's) was
    more than 60 s off, and on any read that lagged behind the revoke."""
    user = new_users(scenario, 1)[0]
    scenario.faults(clock_offset_s=-5 * MINUTES, read_lag={"reads": 1})
    run = scenario.run("revoke_incident.yml", {"o365_user": user, "o365_verify": True})
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    assert (result["outcome"], result["verified"], result["verify_reads"]) == ("revoked", True, 2)
    assert result["sessions_valid_from_before"] == "2026-01-01T00:00:00Z"
    # Graph stamped the revoke by its own clock, minutes before the controller's.
    assert controller_now() - graph_time(result["sessions_valid_from"]) > datetime.timedelta(minutes=4)
    reads = [e for e in scenario.requests("graph") if e["method"] == "GET"]
    assert len(reads) == 3  # before the revoke, the stale read, the one that shows it


def test_bulk_verified_with_graphs_clock_5_minutes_ahead_and_reads_lagging_2_s(scenario):
    users = new_users(scenario, 3)
    scenario.faults(clock_offset_s=5 * MINUTES, read_lag={"ms": 2000})
    run = scenario.run("revoke_incident.yml", {"o365_users": users, "o365_verify": True})
    assert run.rc == 0, run.stdout + run.stderr
    result = run.result
    assert result["verified_count"] == 3
    for entry in result["results"]:
        assert entry["verified"] is True and entry["verify_reads"] >= 2  # the first read came within the lag
        assert graph_time(entry["sessions_valid_from"]) - controller_now() > datetime.timedelta(minutes=4)


def test_a_revoke_that_did_not_move_the_timestamp_fails_though_an_earlier_revoke_was_under_60_s_before(scenario):
    """Before: verified true with the old value, since it was within 60 s of the controller's clock."""
    user = new_users(scenario, 1)[0]
    first = scenario.run("revoke_incident.yml", {"o365_user": user})
    assert first.rc == 0, first.stdout + first.stderr
    scenario.faults(keep_sessions_valid_from=[user])
    run = scenario.run("revoke_incident.yml", {"o365_user": user, "o365_verify": True})
    assert run.rc != 0
    result = run.result
    revokes = [e["time"] for e in scenario.requests("graph") if e["path"].endswith("/revokeSignInSessions")]
    assert len(revokes) == 2 and revokes[1] - revokes[0] < 60  # the two revokes, under 60 s apart
    assert result["verified"] is False and result["verify_reads"] == 6
    assert result["sessions_valid_from"] == result["sessions_valid_from_before"]
    assert "%s failed verification" % user in result["msg"]
    assert "after 6 read(s) over 30 s" in result["msg"]
    assert result["changed"] is True and result["all_sessions_revoked"] is False


def test_revoked_since_relative_counts_back_from_graphs_clock(scenario):
    """A revoke 3 minutes ago by Graph's clock, which runs 10 minutes ahead of the controller's: "-5m" skips the
    user and "-2m" revokes again. Counted back from the controller's clock, both would have skipped it."""
    user = new_users(scenario, 1)[0]
    scenario.faults(clock_offset_s=7 * MINUTES)
    first = scenario.run("revoke_incident.yml", {"o365_user": user})
    assert first.rc == 0, first.stdout + first.stderr
    scenario.faults(clock_offset_s=10 * MINUTES)
    skipped = scenario.run("revoke_incident.yml", {"o365_user": user, "o365_revoked_since": "-5m"})
    assert skipped.rc == 0 and skipped.result["outcome"] == "skipped", skipped.stdout + skipped.stderr
    again = scenario.run("revoke_incident.yml", {"o365_user": user, "o365_revoked_since": "-2m"})
    assert again.rc == 0 and again.result["outcome"] == "revoked", again.stdout + again.stderr


def test_revoked_since_out_of_bounds_fails_before_any_call(scenario):
    """Before: "+24:00" and "-99999999999w" ended in "unexpected error", "+05:99" was taken as +06:39."""
    for value, says in (("2026-11-24T09:30:00+24:00", "beyond +/-14:00"),
                        ("2026-11-24T09:30:00+05:99", "more than 59 minutes"),
                        ("-99999999999w", "more than 365 days"),
                        ("2099-01-01T00:00:00Z", "in the future")):
        run = scenario.run("revoke_incident.yml", {"o365_users": ["adele.vance@contoso.onmicrosoft.com"],
                                                   "o365_revoked_since": value})
        assert run.rc != 0 and says in run.result["msg"], run.result["msg"]
        assert "unexpected error" not in run.result["msg"] and "revoked_since" in run.result["msg"]
    assert scenario.requests() == []
