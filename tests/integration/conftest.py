# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end fixtures: the emulator, optionally Prism in front of it, and real ansible-playbook runs."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.graph_emulator.process import ROOT, RunningEmulator
from tests.integration.prism import PrismProxy

PLAYBOOKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks")
CALLBACK_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


# Which o365.admin the playbooks run: the checkout (linked by `make`), or an installed copy of the built tarball.
COLLECTIONS = os.path.join(ROOT, "build", "collections")
# Which ways to Graph each scenario takes; `make matrix` and the installed-copy run take only "direct".
ROUTES = ("direct", "prism")


def pytest_addoption(parser):
    parser.addoption("--collections-path", default=os.environ.get("O365_TEST_COLLECTIONS_PATH") or COLLECTIONS,
                     help="collections path holding ansible_collections/o365/admin (default: the checkout's link; "
                          "environment: O365_TEST_COLLECTIONS_PATH)")
    parser.addoption("--routes", default=os.environ.get("O365_TEST_ROUTES") or ",".join(ROUTES),
                     help="comma-separated routes to Graph: direct, prism (environment: O365_TEST_ROUTES)")


def pytest_generate_tests(metafunc):
    if "graph_route" in metafunc.fixturenames:
        routes = [r.strip() for r in metafunc.config.getoption("--routes").split(",") if r.strip()]
        unknown = set(routes) - set(ROUTES)
        if unknown or not routes:
            raise pytest.UsageError("--routes takes a list of %s, not %r" % (", ".join(ROUTES), routes))
        metafunc.parametrize("graph_route", routes, indirect=True, scope="session")


def wait_for(predicate, timeout, what, every_s=0.05):
    """predicate()'s first true value within ``timeout`` seconds; AssertionError naming ``what`` if none came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError("waited %s s for %s" % (timeout, what))


def pytest_configure(config):
    # Known without pytest-xdist too (make floor, make matrix run the suite in one process).
    config.addinivalue_line("markers", "xdist_group(name): the pytest-xdist worker group of a test")


def pytest_collection_modifyitems(config, items):
    # Under pytest-xdist (`make integration` runs `-n 2 --dist loadgroup`), each route's scenarios stay on one
    # worker, in the order they were collected, with that worker's own emulator (and Prism): the suite's shared
    # emulator state is then what it is in one process. Tests that take no route go to whichever worker is free.
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "graph_route" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(name="route-" + callspec.params["graph_route"]))


@pytest.fixture(scope="session")
def collections_path(request):
    path = os.path.abspath(request.config.getoption("--collections-path"))
    if not os.path.isdir(os.path.join(path, "ansible_collections", "o365", "admin")):
        pytest.fail("o365.admin is not under %s: run the tests through `make`." % path)
    return path


@pytest.fixture(scope="session")
def emulator(collections_path):
    with RunningEmulator("--http", "--extra-users", "120") as running:
        yield running


class GraphRoute:
    """How the module reaches Graph: straight to the emulator, or through Prism validating the contract."""

    def __init__(self, name, endpoint, proxy=None):
        self.name = name
        self.endpoint = endpoint
        self.proxy = proxy

    def require_direct(self, why):
        if self.proxy is not None:
            pytest.skip("not through Prism: " + why)


@pytest.fixture(scope="session")
def graph_route(request, emulator, tmp_path_factory):
    if request.param == "direct":
        yield GraphRoute("direct", emulator["authority_host"])
        return
    proxy = PrismProxy(emulator["graph_endpoint"], str(tmp_path_factory.mktemp("prism")))
    yield GraphRoute("prism", proxy.endpoint, proxy)
    proxy.stop()


class PlaybookRun:
    def __init__(self, completed, results_file):
        self.rc = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr
        self.tasks = {}
        if os.path.exists(results_file):
            with open(results_file) as handle:
                for entry in json.load(handle):
                    self.tasks[entry["task"]] = entry["result"]

    @property
    def result(self):
        """The result of the playbook's first task."""
        assert self.tasks, "ansible-playbook printed no results (rc %s):\n%s\n%s" % (self.rc, self.stdout, self.stderr)
        return next(iter(self.tasks.values()))

    def warnings(self):
        """The warnings ansible-playbook printed, one string each.

        ansible-core before 2.19 wraps a warning on stderr at 80 columns: its text goes on up to a blank line or
        the next line that starts with '['.
        """
        found = [line for line in self.stdout.splitlines() if "[WARNING]" in line]
        continuing = False
        for line in self.stderr.splitlines():
            if "[WARNING]" in line:
                found.append(line)
                continuing = True
            elif continuing and line.strip() and not line.startswith("["):
                found[-1] += " " + line.strip()
            else:
                continuing = False
        return found


class Scenario:
    """One test's view: a clean fault set, the request log from its start, and a playbook runner."""

    def __init__(self, emulator, route, work_dir, collections_path):
        self.emulator = emulator
        self.collections_path = collections_path
        self.route = route
        self.work_dir = work_dir
        emulator.control("reset")
        if route.proxy:
            # Prism sends the emulator its own address as Host: the emulator's next-page links must name Prism.
            emulator.control("faults", {"public_origin": route.endpoint})
        self.token_cache_path = os.path.join(work_dir, "cache", "token_cache.json")
        self.log_offset = emulator.log_size()
        self.prism_log_length = len(route.proxy.log()) if route.proxy else 0

    def faults(self, **settings):
        self.emulator.control("faults", settings)

    def requests(self, kind=None):
        entries = self.emulator.log_since(self.log_offset)
        return [e for e in entries if kind is None or e["kind"] == kind]

    def default_environment(self):
        return {"AZURE_TENANT_ID": self.emulator["tenant_id"], "AZURE_CLIENT_ID": self.emulator["client_id"],
                "AZURE_CLIENT_SECRET": self.emulator["client_secret"]}

    def run(self, playbook, extra_vars=None, env=None, check=False, inventory=None, forks=None):
        command, environment, results_file = self.command(playbook, extra_vars, env, check, inventory, forks)
        completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600,
                                   cwd=self.work_dir, check=False)
        return PlaybookRun(completed, results_file)

    def start(self, playbook, extra_vars=None, env=None):
        """ansible-playbook started, not awaited, leading a process group of its own (as a shell's foreground
        job is, which Ctrl-C signals as a whole); returns the Popen and the results file."""
        command, environment, results_file = self.command(playbook, extra_vars, env)
        process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=self.work_dir, start_new_session=True)
        return process, results_file

    def command(self, playbook, extra_vars=None, env=None, check=False, inventory=None, forks=None):
        variables = {"o365_graph_endpoint": self.route.endpoint,
                     "o365_authority_host": self.emulator["authority_host"],
                     "o365_ca_path": self.emulator["ca_path"],
                     "o365_token_cache_path": self.token_cache_path}
        variables.update(extra_vars or {})
        vars_file = os.path.join(self.work_dir, "vars.json")
        with open(os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            json.dump(variables, handle)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
        results_file = os.path.join(self.work_dir, "results.json")
        if os.path.exists(results_file):
            os.remove(results_file)
        environment.update(ANSIBLE_COLLECTIONS_PATH=self.collections_path, ANSIBLE_CALLBACK_PLUGINS=CALLBACK_PLUGINS,
                           ANSIBLE_CALLBACKS_ENABLED="task_results", O365_TEST_RESULTS=results_file,
                           ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                           ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=os.path.join(self.work_dir, "ansible-tmp"))
        environment.update(self.default_environment() if env is None else env)
        command = [ANSIBLE_PLAYBOOK, os.path.join(PLAYBOOKS, playbook), "-e", "@" + vars_file]
        if check:
            command.append("--check")
        if inventory:
            command += ["-i", inventory]
        if forks:
            command += ["--forks", str(forks)]
        return command, environment, results_file

    def new_contract_violations(self):
        if not self.route.proxy:
            return []
        fresh = self.route.proxy.log()[self.prism_log_length:]
        return [line for line in fresh.splitlines() if "VIOLATIONS" in line]


@pytest.fixture
def scenario(emulator, graph_route, tmp_path, collections_path):
    current = Scenario(emulator, graph_route, str(tmp_path), collections_path)
    yield current
    violations = current.new_contract_violations()
    assert not violations, "Prism found contract violations:\n" + "\n".join(violations)
