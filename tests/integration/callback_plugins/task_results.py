# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: task_results
type: aggregate
short_description: Write every task's result to a JSON file, for the end-to-end tests
description:
  - Test harness of o365.admin; ansible-core no longer ships a JSON stdout callback.
requirements:
  - O365_TEST_RESULTS set to the file to write
"""

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._results = []

    def _record(self, result, status):
        self._results.append({"task": result._task.get_name(), "status": status,
                              "result": json.loads(json.dumps(result._result, default=str))})

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        # Up to ansible-core 2.20, a result whose every results entry says skipped shows as a skipped task.
        if "skipped_reason" not in result._result:  # a false `when` has no result to record
            self._record(result, "skipped")

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["O365_TEST_RESULTS"], "w") as handle:
            json.dump(self._results, handle)
