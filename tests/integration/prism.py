# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stoplight Prism as a validating proxy (proxy --errors) between the module and the emulator."""

import os
import socket
import subprocess
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
PRISM = os.path.join(ROOT, ".prism", "node_modules", ".bin", "prism")
# The repository's own excerpt of Microsoft's Graph v1.0 OpenAPI description (tests/contract/README.md).
CONTRACT = os.path.join(ROOT, "tests", "contract", "graph-v1.0-subset.yaml")
# The separate beta excerpt (non-interactive sign-ins); merged under /beta so one Prism validates both.
BETA_CONTRACT = os.path.join(ROOT, "tests", "contract", "graph-beta-subset.yaml")


def _beta_refs(node):
    """``node`` with every local $ref pointing at the "beta."-prefixed component of the same name."""
    if isinstance(node, dict):
        return dict((key, "#/components/%s/beta.%s" % tuple(value.split("/", 3)[2:]) if key == "$ref" else
                     _beta_refs(value)) for key, value in node.items())
    if isinstance(node, list):
        return [_beta_refs(item) for item in node]
    return node


def merge_beta(spec, beta):
    """Add the beta excerpt's paths under /beta and its components as "beta.<name>" (no clash with v1.0's)."""
    beta = _beta_refs(beta)
    spec["paths"].update(("/beta" + path, operation) for path, operation in beta["paths"].items())
    for kind in ("schemas", "parameters", "responses"):
        spec["components"].setdefault(kind, {}).update(
            ("beta." + name, value) for name, value in beta["components"].get(kind, {}).items())
    return spec


def contract_with_version_prefix(destination):
    """The contract with each path under /v1.0: Prism ignores the servers' base path, the module sends it."""
    with open(CONTRACT) as handle:
        spec = yaml.safe_load(handle)
    spec["paths"] = {"/v1.0" + path: operation for path, operation in spec["paths"].items()}
    if os.path.exists(BETA_CONTRACT):
        with open(BETA_CONTRACT) as handle:
            merge_beta(spec, yaml.safe_load(handle))
    with open(destination, "w") as handle:
        yaml.safe_dump(spec, handle, sort_keys=False)
    return destination


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrismProxy:
    def __init__(self, upstream, work_dir, startup_timeout_s=60):
        if not os.path.exists(PRISM):
            raise RuntimeError("Prism is not installed at %s: run `make prism`" % PRISM)
        spec = contract_with_version_prefix(os.path.join(work_dir, "graph-contract-v1.0.yaml"))
        self.port = free_port()
        self.log_path = os.path.join(work_dir, "prism.log")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen([PRISM, "proxy", "--errors", "-h", "127.0.0.1", "-p", str(self.port), spec,
                                         upstream], stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + startup_timeout_s
        while "Prism is listening" not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Prism did not start:\n" + self.log())
            time.sleep(0.2)
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def log(self):
        with open(self.log_path) as handle:
            return handle.read()

    def violations(self):
        return [line for line in self.log().splitlines() if "VIOLATIONS" in line or "violation" in line.lower()]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
