# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.o365.admin.plugins.action.o365_containment import resolve_paths


def test_relative_paths_join_the_directory_ansible_playbook_was_run_in_and_others_stay():
    args = {"records": ["INC-1.json", "/srv/INC-2.json", "~/INC-3.json"], "report_path": "out/release.json",
            "users": ["a@contoso.com"], "state": "released"}
    resolved = resolve_paths(args, "/home/me/incidents")
    assert resolved["records"] == ["/home/me/incidents/INC-1.json", "/srv/INC-2.json", "~/INC-3.json"]
    assert resolved["report_path"] == "/home/me/incidents/out/release.json"
    assert resolved["users"] == ["a@contoso.com"] and args["report_path"] == "out/release.json"  # a copy
    assert resolve_paths({"report_path": None}, "/x") == {"report_path": None}
