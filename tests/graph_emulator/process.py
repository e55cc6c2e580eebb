# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start the emulator as a subprocess, read its start-up line, drive its control endpoint, read its request log.

Used by the end-to-end tests, `make demo` and the benchmarks, so they all start it the same way.
"""

import json
import os
import signal
import subprocess
import sys

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


class RunningEmulator:
    def __init__(self, *arguments, startup_timeout_s=30):
        command = [sys.executable, "-m", "tests.graph_emulator"] + list(arguments)
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=startup_timeout_s)
            raise RuntimeError("the Graph emulator exited with %s before it was listening" % self.process.returncode)
        self.info = json.loads(line)
        self._session = requests.Session()

    def __getitem__(self, key):
        return self.info[key]

    def control(self, action, payload=None, method="POST"):
        """Call /_emulator/<action>: faults, reset, token (POST) or users (GET)."""
        url = "%s/%s" % (self.info["control_endpoint"], action)
        # verify on each call: requests lets REQUESTS_CA_BUNDLE beat a session-level verify.
        response = self._session.request(method, url, json=payload if method == "POST" else None, timeout=10,
                                         verify=self.info["ca_path"])
        response.raise_for_status()
        return response.json() if response.content else None

    def log_size(self):
        return os.path.getsize(self.info["request_log"])

    def log_since(self, offset):
        """Request log entries written after ``offset`` (a log_size() taken earlier)."""
        with open(self.info["request_log"]) as handle:
            handle.seek(offset)
            return [json.loads(line) for line in handle if line.strip()]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *unused):
        self.stop()
