#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make floor`: the unit tests and an end-to-end revoke on the lowest versions the collection claims.

The claims are read, not restated: ansible-core from meta/runtime.yml's requires_ansible (">=2.16.0" ->
ansible-core==2.16.0), msal and requests from requirements.txt ("msal>=1.29" -> msal==1.29). Each is installed
at exactly that version into a virtualenv of its own under build/floor (never .venv), beside the test tools
(pinned as requirements-dev.txt pins them, except responses and cryptography, which follow what the floor's
requests and msal admit). README.md must state the same floor. Exit status 1 if anything fails.

    tools/floor.py                              # `make floor`
    tools/floor.py --set msal==1.28.1           # the same job one version below a claim: expected to fail
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import hashlib
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
# The tools the tests need, pinned from requirements-dev.txt; responses and cryptography are left to the resolver
# (responses 0.25+ needs requests 2.30, and msal caps cryptography).
TEST_TOOLS = ("pytest", "hypothesis", "trustme", "PyJWT")
# One end-to-end revoke with a client secret, and the certificate credentials (where msal's version matters).
E2E = "test_revoke_succeeds_and_the_user_is_revoked or test_certificate_credential"


def claimed_floor(root=ROOT):
    """[(package, version)] the collection claims as its lowest: ansible-core, then requirements.txt's."""
    with open(os.path.join(root, "meta", "runtime.yml")) as handle:
        match = re.search(r"^requires_ansible:\s*[\"']?>=\s*([0-9][0-9.]*)", handle.read(), re.M)
    if not match:
        raise ValueError("meta/runtime.yml has no requires_ansible: \">=X.Y.Z\"")
    floor = [("ansible-core", match.group(1))]
    with open(os.path.join(root, "requirements.txt")) as handle:
        for line in handle:
            line = line.split("#")[0].strip()
            if not line:
                continue
            match = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9.]*)$", line)
            if not match:
                raise ValueError("requirements.txt line %r is not NAME>=VERSION: the floor job cannot tell its "
                                 "lowest version" % line)
            floor.append((match.group(1), match.group(2)))
    return floor


def unstated(floor, readme_text):
    """The claims README.md does not state as 'name >= version' (ansible-core as 'ansible-core X.Y')."""
    missing = []
    for name, version in floor:
        short = ".".join(version.split(".")[:2])
        if name == "ansible-core":
            pattern = r"ansible-core %s\b" % re.escape(short)
        else:
            pattern = r"%s >= %s\b" % (re.escape(name), re.escape(version))
        if not re.search(pattern, readme_text):
            missing.append("%s %s" % (name, version))
    return missing


def tool_pins(root=ROOT):
    """The TEST_TOOLS as requirements-dev.txt pins them."""
    wanted = {name.lower() for name in TEST_TOOLS}
    found = []
    with open(os.path.join(root, "requirements-dev.txt")) as handle:
        for line in handle:
            line = line.split("#")[0].strip()
            match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==\S+$", line)
            if match and match.group(1).lower() in wanted:
                found.append(line)
    if len(found) != len(wanted):
        raise ValueError("requirements-dev.txt does not pin all of %s" % ", ".join(TEST_TOOLS))
    return found + ["responses"]


def apply_overrides(floor, overrides):
    """The floor with --set NAME==VERSION replacing a claim (to run the job below it)."""
    floor = list(floor)
    names = [name.lower() for name, dummy in floor]
    for override in overrides:
        match = re.match(r"^([A-Za-z0-9_.-]+)==([0-9][0-9.]*)$", override)
        if not match or match.group(1).lower() not in names:
            raise ValueError("--set takes one of %s as NAME==VERSION, not %r" % (", ".join(names), override))
        floor[names.index(match.group(1).lower())] = (floor[names.index(match.group(1).lower())][0], match.group(2))
    return floor


def run(command, log, **kwargs):
    log.write("\n$ %s\n" % " ".join(command))
    log.flush()
    return subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False, **kwargs).returncode


def summary(log_path, start):
    with open(log_path) as handle:
        handle.seek(start)
        lines = [line.strip().strip("= ") for line in handle if re.search(r"\d+ (passed|failed|error)", line)]
    return lines[-1] if lines else "no pytest summary (see the log)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter for the floor's virtualenv")
    parser.add_argument("--set", action="append", default=[], metavar="NAME==VERSION",
                        help="install this version instead of the claimed one (to show the job fails below it)")
    parser.add_argument("--dir", default=os.path.join(ROOT, "build", "floor"))
    args = parser.parse_args()
    started = time.time()
    try:
        claimed = claimed_floor()
        floor = apply_overrides(claimed, args.set)
        tools = tool_pins()
    except ValueError as exc:
        sys.exit("make floor: %s" % exc)
    with open(os.path.join(ROOT, "README.md")) as handle:
        missing = unstated(claimed, handle.read())
    if missing:
        sys.exit("make floor: README.md does not state the floor it claims elsewhere: %s" % ", ".join(missing))
    if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "o365", "admin")):
        sys.exit("Run through `make floor`: the collection link under build/collections is missing.")
    pins = ["%s==%s" % pair for pair in floor]
    label = ", ".join("%s %s" % pair for pair in floor)
    # One virtualenv per set of versions, so a run below the floor never disturbs the floor's own.
    venv = os.path.join(args.dir, "venv-" + hashlib.sha256(" ".join(pins + [args.python]).encode()).hexdigest()[:10])
    log_path = venv + ".log"
    os.makedirs(args.dir, exist_ok=True)
    python = os.path.join(venv, "bin", "python")
    with open(log_path, "w") as log:
        if not os.path.exists(python) and run([args.python, "-m", "venv", venv], log):
            sys.exit("make floor: could not create %s (see %s)" % (venv, log_path))
        if run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + pins + tools, log):
            print("make floor: %s: FAILED: pip could not install them (%s)" % (label, log_path))
            return 1
        versions = subprocess.run(
            [python, "-c", "import platform, ansible.release, msal, requests; print('ansible-core %s, msal %s, "
             "requests %s on Python %s' % (ansible.release.__version__, msal.__version__, requests.__version__, "
             "platform.python_version()))"], capture_output=True, text=True, check=False).stdout.strip()
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, O365_TEST_ROUTES="direct",
                   PYTHONPATH=os.pathsep.join([COLLECTIONS, ROOT]))
        env.pop("O365_TEST_COLLECTIONS_PATH", None)
        cwd = os.path.join(COLLECTIONS, "ansible_collections", "o365", "admin")
        results = []
        for name, selection in (("unit", ["tests/unit"]), ("end-to-end revoke", ["tests/integration", "-k", E2E])):
            offset = log.tell()
            code = run([python, "-m", "pytest", "-p", "no:cacheprovider", "-q"] + selection, log, env=env, cwd=cwd)
            log.flush()
            results.append((code, "%s: %s" % (name, summary(log_path, offset))))
    passed = all(code == 0 for code, dummy in results)
    print("make floor: %s: %s; %s in %.0f s (log %s)" % (
        versions or label, "; ".join(text for dummy, text in results), "passed" if passed else "FAILED",
        time.time() - started, os.path.relpath(log_path, ROOT)))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
