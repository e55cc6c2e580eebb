# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Graph every module unit test talks to (mocked with responses), and the options that point a module at it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

GRAPH_ENDPOINT = "https://graph.example.test"
GRAPH = GRAPH_ENDPOINT + "/v1.0"
# A pre-acquired token: the modules send it as it is, so no token endpoint is needed.
TOKEN = "header.payload.signature-of-a-pre-acquired-token"


def graph_options(**options):
    """Module arguments aimed at the mocked Graph, plus the ones a test gives."""
    return dict({"access_token": TOKEN, "graph_endpoint": GRAPH_ENDPOINT}, **options)
