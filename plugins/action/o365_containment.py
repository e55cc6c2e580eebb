# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs the module of the same name with its relative file paths made absolute against the directory the user ran
ansible-playbook in.

A module run over the local connection starts in the playbook's directory (ansible-core sets the connection's cwd
to the loader's basedir), so ``report_path: INC-4711.json`` given on the command line would land beside the
playbook, not where the user stands. The worker that runs this action plugin still has ansible-playbook's own
working directory: the paths are resolved here, on the controller, and the module gets absolute ones. Over any
other connection the paths are the remote host's and are passed as given.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

# The options naming files on the host that runs the module (records read, records written).
PATH_OPTIONS = ("records", "report_path", "record_path")
LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")


def absolute(value, cwd):
    if not isinstance(value, str) or not value:
        return value
    expanded = os.path.expanduser(value)
    return value if os.path.isabs(expanded) else os.path.join(cwd, value)


def resolve_paths(args, cwd):
    """``args`` with each relative path option (a string, or a list of them) joined to ``cwd``."""
    resolved = dict(args)
    for name in PATH_OPTIONS:
        value = resolved.get(name)
        if isinstance(value, list):
            resolved[name] = [absolute(item, cwd) for item in value]
        elif value is not None:
            resolved[name] = absolute(value, cwd)
    return resolved


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        if getattr(self._connection, "transport", None) in LOCAL_CONNECTIONS:
            args = resolve_paths(args, os.getcwd())
        result.update(self._execute_module(module_name=self._task.resolved_action, module_args=args,
                                           task_vars=task_vars))
        return result
