# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A token that cannot be had is one failure of contain_user, said once, not once per user (issue 18)."""

import datetime
import os

from tests.integration.roles.test_contain_user import USERS, containment_environment, contained, writes


def test_a_wrong_secret_is_said_once_per_step_and_every_user_is_listed_as_not_sent(scenario):
    users = USERS[:6]
    env = dict(containment_environment(scenario), AZURE_CLIENT_SECRET="wrong-secret-0c9d8e7f6a")
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = scenario.run("offboard_users.yml", {"users": users, "incident_started_at": started,
                                              "report_path": os.path.join(scenario.work_dir, "report.json")},
                       env=env)
    output = run.stdout + run.stderr
    assert run.rc != 0 and writes(scenario) == []
    assert "wrong-secret-0c9d8e7f6a" not in output
    step = contained(run)
    # Entra's refusal, once, with its hint; not as a Graph status nor as revoked_since.
    assert step["msg"].count("AADSTS7000215") == 1, step["msg"]
    assert "HTTP None" not in step["msg"]
    assert step["error"]["aadsts_codes"] == [7000215]
    assert [e["user"] for e in step["results"]] == users
    assert all(e["outcome"] == "failed" and e["changed"] is False for e in step["results"])
    assert not any("AADSTS" in str(e.get("error")) for e in step["results"])
    # What the play prints: ansible-core 2.19 shows a failed task's msg twice (its [ERROR] line and the result),
    # never once per user.
    assert output.count("Invalid client secret provided") <= 4, output
