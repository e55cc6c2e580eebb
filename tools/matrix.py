#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make matrix`: unit tests and the direct end-to-end suite on every ansible-core that requires_ansible admits.

One virtualenv per (ansible-core minor, Python) under build/matrix/ (or --dir), each ansible-core on the oldest
and the newest of pyenv's Pythons that it supports as a controller (or on --python). Prints a Markdown table and
writes it, with the logs, to that directory. Exit status 1 if any cell failed. (`make floor`, the lowest claimed
versions of everything, is tools/floor.py.)

    tools/matrix.py                         # every cell
    tools/matrix.py --only 2.16,2.21        # some ansible-core minors
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
SUITES = {"unit": "tests/unit", "e2e direct": "tests/integration"}
COLLECTIONS = os.path.join(ROOT, "build", "collections")

# ansible-core minor -> the controller Pythons it supports (ansible-core's own support matrix), oldest first.
CONTROLLER_PYTHONS = {
    "2.16": ("3.10", "3.11", "3.12"),
    "2.17": ("3.10", "3.11", "3.12"),
    "2.18": ("3.11", "3.12", "3.13"),
    "2.19": ("3.11", "3.12", "3.13"),
    "2.20": ("3.12", "3.13", "3.14"),
    "2.21": ("3.12", "3.13", "3.14"),
}
# What the tests need beside ansible-core, pinned as `make test` pins them.
TEST_PACKAGES = ("msal", "requests", "cryptography", "pytest", "responses", "trustme", "PyJWT[crypto]", "hypothesis")
# Newer hypothesis releases need Python 3.11; this is the last one for older Pythons.
OLD_PYTHON_PINS = {"hypothesis": "hypothesis==6.168.5"}


def pyenv_pythons():
    """'3.12' -> path of pyenv's newest 3.12.x interpreter."""
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    found = {}
    for path in sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3"))):
        version = os.path.basename(os.path.dirname(os.path.dirname(path)))
        match = re.match(r"^(3\.\d+)\.\d+$", version)
        if match:
            found[match.group(1)] = path
    return found


def pins():
    """Package -> '==version' from requirements-dev.txt, for TEST_PACKAGES."""
    wanted = {re.split(r"[\[=]", name)[0].lower(): name for name in TEST_PACKAGES}
    result = []
    with open(os.path.join(ROOT, "requirements-dev.txt")) as handle:
        for line in handle:
            line = line.split("#")[0].strip()
            match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)$", line)
            if match and match.group(1).lower() in wanted:
                result.append("%s%s==%s" % (match.group(1), match.group(2) or "", match.group(3)))
    missing = set(wanted) - {re.split(r"[\[=]", r)[0].lower() for r in result}
    if missing:
        sys.exit("requirements-dev.txt pins none of: %s" % ", ".join(sorted(missing)))
    return result


def cells(only):
    available = pyenv_pythons()
    for core, supported in sorted(CONTROLLER_PYTHONS.items(), key=lambda item: [int(p) for p in item[0].split(".")]):
        if only and core not in only:
            continue
        here = [p for p in supported if p in available]
        if not here:
            yield core, None, None
            continue
        for python in sorted({here[0], here[-1]}, key=lambda v: [int(p) for p in v.split(".")]):
            yield core, python, available[python]


def run_logged(command, log, env=None, cwd=None):
    log.write("\n$ %s\n" % " ".join(command))
    log.flush()
    return subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd, check=False).returncode


def pytest_counts(log_path, start):
    """The last pytest summary line written after offset start, e.g. '166 passed in 1.2s'."""
    with open(log_path) as handle:
        handle.seek(start)
        lines = [line.strip() for line in handle if re.search(r"\d+ (passed|failed|error)", line)]
    return lines[-1].strip("= ") if lines else "no summary"


def interpreter_version(interpreter):
    """'3.11' for the interpreter given by --python."""
    return subprocess.run([interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def run_cell(core, python, interpreter, requirements, suites, cell_dir):
    name = "ansible-core-%s-py%s" % (core, python)
    venv = os.path.join(cell_dir, name)
    log_path = os.path.join(cell_dir, name + ".log")
    started = time.time()
    with open(log_path, "w") as log:
        bin_dir = os.path.join(venv, "bin")
        if not os.path.exists(os.path.join(bin_dir, "python")):
            if run_logged([interpreter, "-m", "venv", venv], log):
                return name, "", "venv failed", "", time.time() - started
        if tuple(int(part) for part in python.split(".")) < (3, 11):
            requirements = [OLD_PYTHON_PINS.get(re.split(r"[\[=]", pin)[0].lower(), pin) for pin in requirements]
        if run_logged([os.path.join(bin_dir, "python"), "-m", "pip", "install", "--quiet",
                       "ansible-core==%s.*" % core] + requirements, log):
            return name, "", "pip install failed", "", time.time() - started
        version = subprocess.run([os.path.join(bin_dir, "python"), "-c",
                                  "import ansible.release; print(ansible.release.__version__)"],
                                 capture_output=True, text=True, check=False).stdout.strip()
        python_version = subprocess.run([os.path.join(bin_dir, "python"), "-c",
                                         "import platform; print(platform.python_version())"],
                                        capture_output=True, text=True, check=False).stdout.strip()
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
                   PYTHONPATH=os.pathsep.join([COLLECTIONS, ROOT]), O365_TEST_ROUTES="direct")
        env.pop("O365_TEST_COLLECTIONS_PATH", None)
        cwd = os.path.join(COLLECTIONS, "ansible_collections", "o365", "admin")
        outcome = []
        for suite in suites:
            offset = log.tell()
            code = run_logged([os.path.join(bin_dir, "python"), "-m", "pytest", "-p", "no:cacheprovider", "-q",
                               SUITES[suite]], log, env=env, cwd=cwd)
            log.flush()
            outcome.append((code, "%s: %s" % (suite, pytest_counts(log_path, offset))))
    status = "passed" if all(code == 0 for code, dummy in outcome) else "FAILED"
    return (name, "%s / %s" % (version, python_version), status,
            "; ".join(counts for dummy, counts in outcome), time.time() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated ansible-core minors, e.g. 2.16,2.21")
    parser.add_argument("--python", help="this interpreter instead of pyenv's, for every ansible-core in --only")
    parser.add_argument("--suites", default=",".join(SUITES), help="comma-separated, from: %s" % ", ".join(SUITES))
    parser.add_argument("--dir", default=os.path.join("build", "matrix"),
                        help="where the virtualenvs, logs and results go (relative to the repository)")
    args = parser.parse_args()
    only = {v.strip() for v in args.only.split(",") if v.strip()}
    suites = [v.strip() for v in args.suites.split(",") if v.strip()]
    if not suites or set(suites) - set(SUITES):
        parser.error("--suites takes some of: %s" % ", ".join(SUITES))
    if args.python and not only:
        parser.error("--python needs --only: the ansible-core versions that interpreter is to run")
    if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "o365", "admin")):
        sys.exit("Run through `make matrix`: the collection link under build/collections is missing.")
    cell_dir = os.path.join(ROOT, args.dir)
    os.makedirs(cell_dir, exist_ok=True)
    requirements = pins()
    if args.python:
        python = interpreter_version(args.python)
        for core in only:
            if python not in CONTROLLER_PYTHONS.get(core, (python,)):
                sys.exit("ansible-core %s runs on Python %s as a controller, and %s is Python %s: give another "
                         "interpreter (make floor FLOOR_PYTHON=...)." % (
                             core, ", ".join(CONTROLLER_PYTHONS[core]), args.python, python))
        chosen = [(core, python, args.python) for core in sorted(only)]
    else:
        chosen = cells(only)
    # A full run keeps the results of earlier runs for the cells not run this time (--only), each with the date it
    # ran; a run with --python or fewer suites reports only what it ran.
    results_file = os.path.join(cell_dir, "results.json")
    results = {}
    if not args.python and suites == list(SUITES) and os.path.exists(results_file):
        with open(results_file) as handle:
            results = json.load(handle)
    ran = []
    for core, python, interpreter in chosen:
        if interpreter is None:
            row = ("ansible-core %s" % core, "", "not run: no supported Python in pyenv", "", 0.0)
        else:
            row = run_cell(core, python, interpreter, requirements, suites, cell_dir)
        results[row[0]] = list(row) + [time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())]
        ran.append(row)
        print("| %s | %s | %s | %s | %.0f s |" % row, flush=True)
        with open(results_file, "w") as handle:
            json.dump(results, handle, indent=1)
    table = ["| cell | ansible-core / Python | result | tests | time | run |",
             "| --- | --- | --- | --- | ---: | --- |"]
    table += ["| %s | %s | %s | %s | %.0f s | %s |" % tuple(results[name])
              for name in sorted(results, key=_cell_order)]
    with open(os.path.join(cell_dir, "results.md"), "w") as handle:
        handle.write("\n".join(table) + "\n")
    print("\n".join(table))
    return 0 if all(row[2] == "passed" for row in ran) else 1


def _cell_order(name):
    return [int(part) for part in re.findall(r"\d+", name)]


if __name__ == "__main__":
    sys.exit(main())
