# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The o365.admin.risky_users event source: dedupe, state file, back-off, error handling, arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import importlib.util
import json
import os
import stat

import pytest
import yaml

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    AuthenticationError, ConfigurationError, GraphApiError, GraphTransportError)
from ansible_collections.o365.admin.plugins.module_utils._ledger import Ledger

PLUGIN = os.path.join(os.path.dirname(__file__), *[os.pardir] * 6, "extensions", "eda", "plugins", "event_source",
                      "risky_users.py")


def load_plugin():
    spec = importlib.util.spec_from_file_location("o365_risky_users_source", os.path.abspath(PLUGIN))
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    return plugin


risky_users = load_plugin()

ADELE = "6e7b768e-07e2-4810-8459-485f84f8f204"
ALEX = "87d349ed-44d7-43e1-9a83-5f2406dee5bd"


def risky(user_id, updated, upn="user@contoso.com", level="high", state="atRisk"):
    return {"id": user_id, "userPrincipalName": upn, "userDisplayName": "User", "riskLevel": level,
            "riskState": state, "riskDetail": "none", "riskLastUpdatedDateTime": updated, "isDeleted": False}


class Script:
    """fetch() answering each poll with the next scripted list of risky users, or raising the scripted error."""

    def __init__(self, *answers):
        self.answers = list(answers)

    def __call__(self):
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def ids(events):
    return [event["o365_risky_user"]["id"] for event in events]


def test_each_user_is_emitted_once_per_risk_update_and_again_when_the_risk_changes_later():
    poller = risky_users.RiskyUserPoller(Script(
        [risky(ADELE, "2026-11-29T10:00:00Z")],
        [risky(ADELE, "2026-11-29T10:00:00Z"), risky(ALEX, "2026-11-29T10:01:00Z")],
        [risky(ADELE, "2026-11-29T12:00:00Z"), risky(ALEX, "2026-11-29T10:01:00Z")],
    ), 60)
    seen = []
    for dummy in range(3):
        events, delay = poller.poll()
        poller.commit(events)
        seen.append(ids(events))
        assert delay == 60
    assert seen == [[ADELE], [ALEX], [ADELE]]


def test_the_event_carries_the_documented_keys():
    events, dummy = risky_users.RiskyUserPoller(Script([risky(ADELE, "2026-11-29T10:00:00Z", "adele@x.com")]),
                                                60).poll()
    assert events == [{"o365_risky_user": {"id": ADELE, "userPrincipalName": "adele@x.com", "userDisplayName": "User",
                                           "riskLevel": "high", "riskState": "atRisk", "riskDetail": "none",
                                           "riskLastUpdatedDateTime": "2026-11-29T10:00:00Z"}}]


def test_an_event_not_yet_committed_is_emitted_again(tmp_path):
    # Queued but not remembered (the source stopped in between): emitted again rather than lost.
    state_file = str(tmp_path / "state.json")
    poller = risky_users.RiskyUserPoller(Script([risky(ADELE, "t1")], [risky(ADELE, "t1")]), 60, state_file)
    first, dummy = poller.poll()
    second, dummy = poller.poll()
    assert ids(first) == ids(second) == [ADELE]


def test_the_state_file_survives_a_restart_and_is_private(tmp_path):
    state_file = str(tmp_path / "sub" / "state.json")
    before = risky_users.RiskyUserPoller(Script([risky(ADELE, "t1")]), 60, state_file)
    events, dummy = before.poll()
    before.commit(events)
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    assert json.load(open(state_file)) == {"version": 2, "emitted": {ADELE: "t1"}, "pending": {}}
    after = risky_users.RiskyUserPoller(Script([risky(ADELE, "t1"), risky(ALEX, "t2")]), 60, state_file)
    events, dummy = after.poll()
    assert ids(events) == [ALEX]
    assert os.listdir(os.path.dirname(state_file)) == ["state.json"]  # no temporary left


def test_a_deleted_risky_user_is_never_emitted():
    deleted = dict(risky(ALEX, "t2"), isDeleted=True)
    events, dummy = risky_users.RiskyUserPoller(Script([deleted, risky(ADELE, "t1")]), 60).poll()
    assert ids(events) == [ADELE]


def test_a_version_1_state_file_is_read(tmp_path):
    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps({"version": 1, "emitted": {ADELE: "t1"}}))
    assert risky_users.load_state(str(state_file)) == ({ADELE: "t1"}, {})


def restartable(state_dir, answers):
    """A poller with a state file and the containment ledger in ``state_dir``, as the rulebook starts it."""
    return risky_users.RiskyUserPoller(Script(*answers), 60, os.path.join(state_dir, "source.json"),
                                       ledger=Ledger(state_dir))


@pytest.mark.parametrize("closed_with", ["contained", "failed", "refused", None])
def test_with_a_ledger_an_event_is_acknowledged_only_when_its_containment_ended(tmp_path, closed_with):
    state_dir = str(tmp_path)
    poller = restartable(state_dir, [[risky(ADELE, "t1")]] * 3)
    events, dummy = poller.poll()
    poller.commit(events)
    assert list(poller.pending) == [ADELE]
    ledger = Ledger(state_dir)
    assert ledger.reserve(ADELE, events[0]["o365_risky_user"], "run", 5, 600)["decision"] == "contain"
    assert ids(poller.poll()[0]) == [] and list(poller.pending) == [ADELE]  # started: in flight, not emitted again
    if closed_with:
        ledger.finish(ADELE, "run", closed_with)
    assert ids(poller.poll()[0]) == []
    assert list(poller.pending) == ([] if closed_with else [ADELE])


@pytest.mark.parametrize("outcome", ["excluded", "deleted", "refused"])
def test_an_event_whose_user_is_not_written_is_acknowledged(tmp_path, outcome):
    poller = restartable(str(tmp_path), [[risky(ADELE, "t1")]] * 2)
    events, dummy = poller.poll()
    poller.commit(events)
    Ledger(str(tmp_path)).skip(ADELE, events[0]["o365_risky_user"], "run", outcome)
    poller.poll()
    assert poller.pending == {}


def test_after_a_restart_a_containment_cut_short_is_emitted_again_once(tmp_path):
    state_dir = str(tmp_path)
    before = restartable(state_dir, [[risky(ADELE, "t1"), risky(ALEX, "t2")]])
    events, dummy = before.poll()
    before.commit(events)
    ledger = Ledger(state_dir)
    for event in events:  # both runs start; Alex's ends, Adele's is stopped between the block and the revoke
        ledger.reserve(event["o365_risky_user"]["id"], event["o365_risky_user"], "run", 5, 600)
    ledger.finish(ALEX, "run", "contained")
    # Restarted, with the same state: Adele's event again (Graph lists her as before), Alex's not.
    after = restartable(state_dir, [[risky(ADELE, "t1"), risky(ALEX, "t2")]] * 2)
    again, dummy = after.poll()
    after.commit(again)
    assert again == [events[0]]
    assert ids(after.poll()[0]) == []  # once per restart, not at every poll
    # The resumed run takes no new slot and, once it finishes, the event is acknowledged.
    assert ledger.reserve(ADELE, again[0]["o365_risky_user"], "run-2", 1, 600)["decision"] == "resume"
    ledger.finish(ADELE, "run-2", "contained")
    after.fetch = Script([])
    after.poll()
    assert after.pending == {}


def test_a_containment_the_ledger_holds_as_started_is_emitted_again_without_the_source_state(tmp_path):
    Ledger(str(tmp_path)).reserve(ADELE, risky(ADELE, "t1"), "run", 5, 600)
    poller = restartable(str(tmp_path), [[]])
    assert ids(poller.poll()[0]) == [ADELE]


def test_without_a_ledger_an_event_is_acknowledged_once_queued(tmp_path):
    poller = risky_users.RiskyUserPoller(Script([risky(ADELE, "t1")]), 60, str(tmp_path / "s.json"))
    events, dummy = poller.poll()
    poller.commit(events)
    assert poller.pending == {} and risky_users.load_state(str(tmp_path / "s.json"))[1] == {}


def test_an_unreadable_ledger_acknowledges_nothing(tmp_path, caplog):
    poller = restartable(str(tmp_path), [[risky(ADELE, "t1")], [risky(ADELE, "t1")]])
    events, dummy = poller.poll()
    poller.commit(events)
    (tmp_path / "containment_ledger.json").write_text("{broken")
    assert ids(poller.poll()[0]) == [] and list(poller.pending) == [ADELE]
    assert "containment ledger could not be read" in caplog.text


def test_an_unreadable_state_file_is_logged_and_the_source_starts_without_it(tmp_path, caplog):
    state_file = tmp_path / "state.json"
    state_file.write_text("{not json")
    poller = risky_users.RiskyUserPoller(Script([risky(ADELE, "t1")]), 60, str(state_file))
    assert ids(poller.poll()[0]) == [ADELE]
    assert "could not be read" in caplog.text


def test_throttling_backs_off_doubling_up_to_ten_minutes_then_returns_to_the_interval(caplog):
    throttled = GraphApiError("Microsoft Graph answered HTTP 429 TooManyRequests.", 429, code="TooManyRequests")
    poller = risky_users.RiskyUserPoller(Script(*([throttled] * 6 + [[risky(ADELE, "t1")]])), 60, jitter=lambda: 0.0)
    delays = [poller.poll()[1] for dummy in range(7)]
    assert delays == [120, 240, 480, 600, 600, 600, 60]
    assert "throttled by Identity Protection" in caplog.text


def test_two_sources_throttled_together_do_not_retry_in_step():
    throttled = GraphApiError("Microsoft Graph answered HTTP 429 TooManyRequests.", 429, code="TooManyRequests")
    draws = iter([0.0, 1.0])
    first, second = (risky_users.RiskyUserPoller(Script(throttled), 60, jitter=lambda: next(draws))
                     for dummy in range(2))
    assert (first.poll()[1], second.poll()[1]) == (120, 90)  # at most a quarter less, never more


@pytest.mark.parametrize("error", [
    GraphTransportError("No answer from https://graph: connection refused.", "https://graph", 1, False),
    GraphApiError("Microsoft Graph answered HTTP 503.", 503),
    GraphApiError("Graph refused (HTTP 403): permission or licence.", 403),
    AuthenticationError("Entra ID refused the client secret."),
    RuntimeError("something unexpected"),
])
def test_a_transient_error_is_logged_and_the_next_poll_goes_on(error, caplog):
    poller = risky_users.RiskyUserPoller(Script(error, [risky(ADELE, "t1")]), 5)
    events, delay = poller.poll()
    assert (events, delay) == ([], 10)
    assert "poll failed" in caplog.text
    assert ids(poller.poll()[0]) == [ADELE]


def test_a_configuration_error_is_not_swallowed():
    poller = risky_users.RiskyUserPoller(Script(ConfigurationError("no credentials")), 60)
    with pytest.raises(ConfigurationError):
        poller.poll()


def test_a_state_file_that_cannot_be_written_is_logged_not_fatal(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    poller = risky_users.RiskyUserPoller(Script([risky(ADELE, "t1")]), 60, str(blocker / "state.json"))
    events, dummy = poller.poll()
    poller.commit(events)
    assert "could not be written" in caplog.text


def test_arguments_take_the_modules_environment_variables(monkeypatch):
    monkeypatch.setenv("AZURE_TENANT_ID", "contoso.onmicrosoft.com")
    monkeypatch.setenv("AZURE_CLIENT_ID", "app")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "secret")
    monkeypatch.setenv("O365_GRAPH_ENDPOINT", "https://graph.example.test")
    interval, levels, states, params, state_file, ledger_dir = risky_users.checked_arguments(
        {"token_cache_path": "~/c.json"})
    assert (interval, levels, states, state_file) == (60, ["high"], ["atRisk"], None)
    assert (params["tenant_id"], params["client_id"], params["client_secret"]) == (
        "contoso.onmicrosoft.com", "app", "secret")
    assert params["graph_endpoint"] == "https://graph.example.test"
    assert params["token_cache"] is True and params["token_cache_path"] == os.path.expanduser("~/c.json")
    assert params["validate_certs"] is True and params["max_retries"] == 0 and params["access_token"] is None
    # An argument beats the environment.
    assert risky_users.checked_arguments({"client_id": "other"})[3]["client_id"] == "other"


@pytest.mark.parametrize("args, message", [
    ({"interval": 0}, "interval"),
    ({"interval": "sixty"}, "interval"),
    ({"risk_levels": ["High"]}, "risk_levels"),
    ({"risk_states": []}, "at least one"),
    ({"cloud": "china"}, "China"),
    ({"poll_every": 5}, "does not take poll_every"),
    ({"tenant_id": None, "client_id": None}, "required"),
])
def test_bad_arguments_stop_the_source_before_any_call(args, message, monkeypatch):
    for name in ("AZURE_TENANT_ID", "AZURE_TENANT", "AZURE_CLIENT_ID", "AZURE_CLOUD_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    full = dict({"tenant_id": "t", "client_id": "c", "client_secret": "s"}, **args)
    with pytest.raises(ConfigurationError, match=message):
        risky_users.checked_arguments(full)


def test_main_queues_events_commits_them_and_keeps_polling(tmp_path, monkeypatch):
    state_file = str(tmp_path / "state.json")
    script = Script([risky(ADELE, "t1")], GraphTransportError("reset", "u", 1, True), [risky(ADELE, "t1"),
                                                                                       risky(ALEX, "t2")])
    monkeypatch.setattr(risky_users, "build_fetch", lambda params, levels, states: script)
    sleeps = []

    async def no_sleep(seconds):
        sleeps.append(seconds)
        if not script.answers:
            raise asyncio.CancelledError()

    monkeypatch.setattr(risky_users.asyncio, "sleep", no_sleep)
    queue = asyncio.Queue()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(risky_users.main(queue, {"tenant_id": "t", "client_id": "c", "client_secret": "s",
                                             "interval": 2, "state_file": state_file}))
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    assert ids(events) == [ADELE, ALEX] and sleeps == [2, 4, 2]
    assert json.load(open(state_file))["emitted"] == {ADELE: "t1", ALEX: "t2"}


def test_the_documentation_lists_exactly_the_arguments_taken():
    documentation = yaml.safe_load(risky_users.DOCUMENTATION)
    assert sorted(documentation["options"]) == sorted(risky_users.ARGUMENTS)
    assert documentation["options"]["interval"]["default"] == risky_users.DEFAULT_INTERVAL_S
    examples = yaml.safe_load(risky_users.EXAMPLES)
    assert "o365.admin.risky_users" in examples[0]["sources"][0]
