# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make floor` (tools/floor.py) installs what the collection claims, read from where it claims it."""

import os
import sys

import pytest

from tests.artifact.helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))

import floor  # noqa: E402  pylint: disable=wrong-import-position


def write_claims(root, requires_ansible, requirements):
    (root / "meta").mkdir()
    (root / "meta" / "runtime.yml").write_text("---\nrequires_ansible: %s\naction_groups: {}\n" % requires_ansible)
    (root / "requirements.txt").write_text(requirements)


def test_the_floor_is_read_from_runtime_yml_and_requirements_txt(tmp_path):
    write_claims(tmp_path, '">=2.16.0"', "# comment\nmsal>=1.29\nrequests >= 2.25  # beside it\n")
    assert floor.claimed_floor(str(tmp_path)) == [("ansible-core", "2.16.0"), ("msal", "1.29"), ("requests", "2.25")]


@pytest.mark.parametrize("requires_ansible, requirements", [
    ('"~=2.16"', "msal>=1.29\n"),
    ('">=2.16.0"', "msal\n"),
    ('">=2.16.0"', "msal<2\n"),
])
def test_a_claim_without_a_lowest_version_stops_the_job(tmp_path, requires_ansible, requirements):
    write_claims(tmp_path, requires_ansible, requirements)
    with pytest.raises(ValueError):
        floor.claimed_floor(str(tmp_path))


def test_the_repository_claims_and_its_readme_states_the_same_floor():
    claimed = floor.claimed_floor()
    assert [name for name, dummy in claimed] == ["ansible-core", "msal", "requests"]
    with open(os.path.join(ROOT, "README.md")) as handle:
        assert floor.unstated(claimed, handle.read()) == []


def test_a_readme_that_states_another_floor_is_caught():
    claimed = [("ansible-core", "2.16.0"), ("msal", "1.29"), ("requests", "2.25")]
    text = "ansible-core 2.16 to 2.21, with msal >= 1.28 and requests >= 2.25"
    assert floor.unstated(claimed, text) == ["msal 1.29"]


def test_set_replaces_one_claim_and_refuses_an_unclaimed_package():
    claimed = [("ansible-core", "2.16.0"), ("msal", "1.29")]
    assert floor.apply_overrides(claimed, ["msal==1.28.1"]) == [("ansible-core", "2.16.0"), ("msal", "1.28.1")]
    with pytest.raises(ValueError):
        floor.apply_overrides(claimed, ["pyyaml==5.1"])
    with pytest.raises(ValueError):
        floor.apply_overrides(claimed, ["msal>=1.2"])
