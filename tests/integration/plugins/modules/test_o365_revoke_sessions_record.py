# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A record that cannot be lost (issue 18), end to end through ansible-playbook and ansible-runner: a report that
cannot be written leaves the results intact, and a run interrupted (Ctrl-C, SIGTERM, ansible-runner's cancel)
stops sending, gives every user an outcome and leaves its report; while it runs, report_path is its journal."""

import itertools
import json
import os
import shutil
import signal
import subprocess
import time

from tests.integration.conftest import ANSIBLE_PLAYBOOK, PLAYBOOKS, PlaybookRun, wait_for

_names = itertools.count(1)
INTERRUPTED = "not sent: the run was interrupted"


def new_users(scenario, count):
    name = "Record %s %d" % (scenario.route.name, next(_names))
    group = scenario.emulator.control("groups", {"display_name": name, "users": count, "nested": 1})
    return [u["userPrincipalName"] for u in group["users"]]


def journal_lines(path):
    try:
        with open(path) as handle:
            return [json.loads(line) for line in handle.read().splitlines() if line.strip()]
    except (OSError, ValueError):
        return []


def final_report(path, timeout=40):
    """The report once the module wrote it (the journal is replaced by it at the end)."""
    def read():
        try:
            with open(path) as handle:
                document = json.load(handle)
        except (OSError, ValueError):
            return None
        return document if "report_format_version" in document else None
    return wait_for(read, timeout, "the final report at %s" % path)


def revoked_in_log(scenario):
    return set(e["path"].split("/")[-2].lower() for e in scenario.requests("batch_item")
               if e["method"] == "POST" and e["path"].endswith("/revokeSignInSessions"))


def test_a_report_name_as_long_as_allowed_keeps_the_results(scenario):
    """Issue 18: a legal 250-byte report name made the temporary file's name too long: revokes sent and answered,
    and the task returned only "unexpected error (OSError ...)"."""
    users = new_users(scenario, 3)
    path = os.path.join(scenario.work_dir, "r" * 245 + ".json")
    run = scenario.run("revoke_incident.yml", {"o365_users": users, "o365_report_path": path})
    assert run.rc == 0, run.stdout + run.stderr
    assert run.result["revoked_count"] == 3 and run.result["report_path"] == path
    with open(path) as handle:
        assert [e["outcome"] for e in json.load(handle)["results"]] == ["revoked"] * 3


def test_a_report_that_cannot_be_written_fails_the_task_with_every_result(scenario):
    """Issue 18: a removed directory (or a full disk) lost every result. The journal shows the run under way; the
    directory goes; the task fails saying so, and its result still lists every user's outcome."""
    users = new_users(scenario, 60)
    directory = os.path.join(scenario.work_dir, "records")
    os.makedirs(directory)
    path = os.path.join(directory, "offboarding.csv")
    scenario.faults(latency_ms=300)
    process, results_file = scenario.start("revoke_incident.yml", {
        "o365_users": users, "o365_report_path": path, "o365_batch_concurrency": 1})
    wait_for(lambda: len(journal_lines(path)) >= 2, 60, "the journal's first outcomes")
    shutil.rmtree(directory)
    stdout, stderr = process.communicate(timeout=120)
    scenario.faults(latency_ms=0)
    result = PlaybookRun(subprocess.CompletedProcess([], process.returncode, stdout, stderr), results_file).result
    assert process.returncode != 0
    assert "The report could not be written to %s" % path in result["msg"], result["msg"]
    assert "every user's outcome is in this task's result" in result["msg"]
    assert "unexpected error" not in result["msg"]
    assert [e["outcome"] for e in result["results"]] == ["revoked"] * 60 and result["revoked_count"] == 60
    assert result["report_error"] and "report_path" not in result


def interrupted_run(scenario, count=200):
    """A run long enough to interrupt: one $batch call at a time, each 0.3 s; the third call hangs 60 s (its
    answer is then lost to the stop: unknown). Returns users, report path, and the started ansible-playbook."""
    users = new_users(scenario, count)
    path = os.path.join(scenario.work_dir, "incident.json")
    scenario.faults(latency_ms=300, slow_every={"nth": 3, "extra_ms": 60000, "path": "/$batch"})
    process, dummy = scenario.start("revoke_incident.yml", {
        "o365_users": users, "o365_report_path": path, "o365_batch_concurrency": 1})
    return users, path, process


def check_interrupted_record(scenario, users, path, reason):
    """The final report: every user once, revoked (answered), unknown (sent, answer not awaited) or failed (never
    sent); nothing was sent for the failed ones; the task's message says why it stopped."""
    report = final_report(path)
    scenario.faults(latency_ms=0, slow_every=None)
    results = report["results"]
    assert [e["user"] for e in results] == users
    outcomes = [e["outcome"] for e in results]
    # The calls answered before the stop (two, or more when the emulator counted a $batch call of another run
    # towards slow_every), then the hanging call's 20 (sent, answer not awaited), then everyone never sent.
    answered = outcomes.index("unknown") if "unknown" in outcomes else -1
    assert answered >= 40 and answered % 20 == 0, (outcomes, report["msg"])
    assert outcomes == ["revoked"] * answered + ["unknown"] * 20 + ["failed"] * (len(users) - answered - 20), (
        outcomes, report["msg"], [e.get("error") for e in results[answered - 2:answered + 22]])
    assert all("interrupted" in e["error"]["message"] for e in results[answered:])
    assert all(e["error"]["message"] == INTERRUPTED for e in results[answered + 20:])
    sent = revoked_in_log(scenario)
    assert not sent & set(u.lower() for u in users[answered + 20:]), "a revoke went out after the stop"
    assert report["failed"] and reason in report["msg"] and reason in report["summary"]["interrupted"]
    assert report["summary"]["unknown_count"] == 20 and report["summary"]["revoked_count"] == answered
    return report


def test_ctrl_c_stops_the_run_and_leaves_every_users_outcome(scenario):
    """Issue 18: Ctrl-C mid-run waited for the calls in flight, then a raw KeyboardInterrupt traceback: no JSON,
    no report, though revokes had gone out. Ctrl-C signals ansible-playbook's process group; ansible-playbook
    passes SIGINT to its worker, whose process group holds the module."""
    users, path, process = interrupted_run(scenario)
    wait_for(lambda: len(journal_lines(path)) >= 41, 60, "two calls' outcomes in the journal")
    time.sleep(3)  # the third call is out (at once, even on a loaded machine), and hangs
    plan = journal_lines(path)[0]["plan"]
    assert (plan["users"], plan["writes"], plan["least_time_s"]) == (200, 200, 0)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert "User interrupted execution" in stdout + stderr, stdout + stderr
    assert "Traceback" not in stdout + stderr, stdout + stderr
    check_interrupted_record(scenario, users, path, "interrupted by SIGINT")


def test_sigterm_stops_the_run_and_leaves_every_users_outcome(scenario):
    """Issue 18: SIGTERM (to ansible-playbook) exited at once with nothing."""
    users, path, process = interrupted_run(scenario)
    wait_for(lambda: len(journal_lines(path)) >= 41, 60, "two calls' outcomes in the journal")
    time.sleep(3)  # the third call is out (at once, even on a loaded machine), and hangs
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    check_interrupted_record(scenario, users, path, "interrupted by SIGTERM")


def test_ansible_runner_cancel_stops_the_run_and_leaves_every_users_outcome(scenario, collections_path):
    """AWX cancels a job through ansible-runner: it kills ansible-playbook's process group (SIGKILL), which does
    not hold the worker or the module. The module sees ansible-playbook gone and stops as on SIGTERM."""
    import ansible_runner  # ansible-runner is a test requirement (requirements-dev.txt)

    users = new_users(scenario, 200)
    path = os.path.join(scenario.work_dir, "incident.json")
    private = os.path.join(scenario.work_dir, "private_data_dir")
    os.makedirs(os.path.join(private, "project"))
    shutil.copy(os.path.join(PLAYBOOKS, "revoke_incident.yml"), os.path.join(private, "project"))
    variables = {"o365_graph_endpoint": scenario.route.endpoint,
                 "o365_authority_host": scenario.emulator["authority_host"],
                 "o365_ca_path": scenario.emulator["ca_path"], "o365_token_cache_path": scenario.token_cache_path,
                 "o365_users": users, "o365_report_path": path, "o365_batch_concurrency": 1}
    scenario.faults(latency_ms=300, slow_every={"nth": 3, "extra_ms": 60000, "path": "/$batch"})
    envvars = dict(scenario.default_environment(), ANSIBLE_COLLECTIONS_PATH=collections_path,
                   ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                   # The ansible-playbook beside this Python, as an Execution Environment has it on its PATH.
                   PATH=os.pathsep.join([os.path.dirname(ANSIBLE_PLAYBOOK), os.environ.get("PATH", "/usr/bin:/bin")]))
    seen = []

    def cancel():  # as AWX's cancel button: once two calls' outcomes are in, and the third call is out
        if not seen and len(journal_lines(path)) >= 41:
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= 3

    runner = ansible_runner.run(
        private_data_dir=private, playbook="revoke_incident.yml", extravars=variables, envvars=envvars,
        quiet=True, settings={"pexpect_timeout": 0.2},
        cancel_callback=cancel)
    assert (runner.status, runner.rc) == ("canceled", 254), runner.stdout.read()[-3000:]
    # What AWX shows: the job canceled, and no result for the task (ansible-playbook was killed before it came).
    assert not [e for e in runner.events if e.get("event") in ("runner_on_ok", "runner_on_failed")]
    try:
        check_interrupted_record(scenario, users, path, "ansible-playbook was stopped")
    finally:
        # The cancel leaves the worker behind (outside the killed process group, blocked writing its result to the
        # dead ansible-playbook); in AWX its container goes with the job. Here the test ends it.
        for pid in processes_started_for(private):
            os.kill(pid, signal.SIGKILL)


def processes_started_for(private_data_dir):
    """The PIDs of the processes whose command line names this private data directory (Linux /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open("/proc/%s/cmdline" % name, "rb") as handle:
                    if private_data_dir.encode() in handle.read():
                        found.append(int(name))
            except OSError:
                continue
    return found
