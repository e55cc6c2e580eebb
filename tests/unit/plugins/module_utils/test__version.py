# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible_collections.o365.admin.plugins.module_utils._version import COLLECTION_VERSION

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")


def test_user_agent_version_matches_galaxy_yml():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        assert yaml.safe_load(handle)["version"] == COLLECTION_VERSION


# Modules that call no Graph API and take no credentials: module_defaults for the graph group would hand them the
# credentials (an option they do not take fails the task).
CONTROLLER_MODULES = ["o365_containment_record"]


def test_action_group_holds_every_module_that_calls_graph():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as handle:
        group = yaml.safe_load(handle)["action_groups"]["graph"]
    modules = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                     if name.endswith(".py") and not name.startswith("_"))
    assert sorted(group + CONTROLLER_MODULES) == modules
