#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make artifact`: run galaxy-importer on the built tarball as Galaxy would, and fail on any error or warning.

Usage: galaxy_import.py IMPORTER_PYTHON TARBALL LOG

The importer runs from its own virtualenv (IMPORTER_PYTHON), with tests/artifact/galaxy-importer.cfg (no container
engine, no ansible-test, ansible-lint on), in the directory of LOG, where it also leaves importer_result.json. A
warning counts as a failure: Galaxy shows every one of them to whoever looks at the collection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
SUCCESS = "Importer processing completed successfully"


def main(importer_python, tarball, log_path):
    importer_python = os.path.abspath(importer_python)
    work_dir = os.path.dirname(os.path.abspath(log_path))
    config = os.path.join(ROOT, "tests", "artifact", "galaxy-importer.cfg")
    environment = dict(os.environ, GALAXY_IMPORTER_CONFIG=config,
                       # ansible-doc and ansible-lint are found on PATH: the importer's own, not the checkout's.
                       PATH=os.path.dirname(importer_python) + os.pathsep + os.environ.get("PATH", ""))
    # The importer sets its own collections path for ansible-doc and ansible-lint; one from make would be a second.
    environment.pop("ANSIBLE_COLLECTIONS_PATH", None)
    process = subprocess.run([importer_python, "-m", "galaxy_importer.main", os.path.abspath(tarball)],
                             cwd=work_dir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, check=False)
    with open(log_path, "w") as handle:
        handle.write(process.stdout)
    lines = process.stdout.splitlines()
    problems = [line for line in lines if line.startswith(("WARNING", "ERROR")) or "Traceback" in line]
    # What a reader of `make test` wants to see: the steps, without the list of every file loaded.
    for line in lines:
        if not line.startswith("Loading "):
            print("galaxy-importer: " + line)
    if process.returncode != 0 or problems or SUCCESS not in lines:
        print("galaxy-importer did not pass (exit %d, %d warning(s) or error(s)); the whole output is in %s"
              % (process.returncode, len(problems), log_path), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    sys.exit(main(*sys.argv[1:]))
