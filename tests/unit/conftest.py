# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

import pytest

from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core before 2.19 has no helper: set the arguments the way AnsiballZ would
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

GRAPH_ENV = ("AZURE_TENANT_ID", "AZURE_TENANT", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_SECRET",
             "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_AUTHORITY_HOST",
             "AZURE_CLOUD_ENVIRONMENT", "O365_GRAPH_ENDPOINT", "O365_CA_PATH")


@pytest.fixture(autouse=True)
def clean_graph_environment(monkeypatch):
    """The developer's own AZURE_* variables must not leak into option resolution tests."""
    for name in GRAPH_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the retry waits instead of sleeping."""
    waits = []
    monkeypatch.setattr("time.sleep", waits.append)
    return waits


def _warning_text(warning):
    return warning if isinstance(warning, str) else warning["event"]["msg"]


@pytest.fixture
def run_module(capsys):
    """Run a module's main() with the given args; return (failed, result) from the JSON it exits with."""
    def _run(main, args, check_mode=False):
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        with patch_module_args(args):
            with pytest.raises(SystemExit) as exit_info:
                main()
        result = json.loads(capsys.readouterr().out)
        # ansible-core 2.19 wraps each warning in a structured summary; tests read the text.
        result["warnings"] = [_warning_text(warning) for warning in result.get("warnings", [])]
        assert result.get("failed", False) == (exit_info.value.code != 0)
        return result.get("failed", False), result
    return _run
