# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the checks on what users install: names in the checkout, ansible tools on an installed copy."""

import os
import subprocess
import sys

from tests.graph_emulator.process import ROOT

BIN = os.path.dirname(sys.executable)


def tool(name):
    return os.path.join(BIN, name)


def checkout_names(kind):
    """Names of the checkout's plugins of one kind (modules, ...) or of its roles, as users address them."""
    if kind == "role":
        directory = os.path.join(ROOT, "roles")
        return sorted(n for n in os.listdir(directory) if not n.startswith(".")) if os.path.isdir(directory) else []
    directory = os.path.join(ROOT, "plugins", kind)
    if not os.path.isdir(directory):
        return []
    return sorted(n[:-3] for n in os.listdir(directory) if n.endswith(".py") and not n.startswith("_"))


def tool_environment(collections_path, **extra):
    """The environment for an ansible tool that must see only collections_path (no checkout on PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ANSIBLE_COLLECTIONS_PATHS")}
    env.update(ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="False",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    env.update(extra)
    return env


def run_tool(command, collections_path, **kwargs):
    env = tool_environment(collections_path, **kwargs.pop("env", {}))
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=600, **kwargs)
