# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the checks on what users install: the tarball `make artifact` built and its installed copy."""

import os

import pytest


def _from_environment(name, what):
    value = os.environ.get(name)
    if not value or not os.path.exists(value):
        pytest.fail("%s is not set to %s: run these tests through `make artifact`." % (name, what))
    return os.path.abspath(value)


@pytest.fixture(scope="session")
def tarball():
    return _from_environment("O365_TEST_TARBALL", "the built collection tarball")


@pytest.fixture(scope="session")
def installed_collections():
    path = _from_environment("O365_TEST_COLLECTIONS_PATH", "the collections path the tarball was installed into")
    installed = os.path.join(path, "ansible_collections", "o365", "admin")
    assert os.path.isdir(installed) and not os.path.islink(installed), "%s is not an installed copy" % installed
    return path
