# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A run that is asked to stop, and says why: SIGINT, SIGTERM, or the ansible-playbook that started it gone.

Internal to this collection, may change without notice.

How a stop reaches a module (ansible-core 2.19, local connection; checked by the end-to-end tests):

- Each ansible-playbook worker calls setsid(), so the worker and the module it starts (through /bin/sh) are a
  process group of their own. Ctrl-C, or SIGTERM sent to ansible-playbook, reaches ansible-playbook only; it
  forwards the signal to each worker, which sends it to its whole process group (the module included) and exits
  at once, without waiting for the module's answer.
- ansible-runner's cancel (what AWX's cancel ends in) sends SIGKILL to ansible-playbook's process group only. The
  workers and the module are not in it: nothing tells the module, which would go on sending to the end. So the
  module also watches the worker's parent (from /proc): when it changes, ansible-playbook is gone and the run
  stops as it would on SIGTERM.

Stopping is cooperative: the signal handler only records the stop; the batch runner sends nothing new, waits a
bounded time for the answers in flight, and every request gets its outcome.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import threading

# How often the watch looks at whether ansible-playbook is still there.
WATCH_PERIOD_S = 0.5


def _parent_of(pid):
    """The parent PID of ``pid`` from /proc (Linux), or None when it cannot be read."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            text = handle.read()
    except (IOError, OSError, ValueError):
        return None
    # The command name (2nd field) is in parentheses and may hold spaces: the parent PID follows the last ')'.
    try:
        return int(text[text.rindex(")") + 2:].split()[1])
    except (ValueError, IndexError):
        return None


class Interruption:
    """Set once the run must stop; ``reason`` says why. ``is_set()`` is all the batch runner needs."""

    def __init__(self):
        self._event = threading.Event()
        self.reason = None
        self._previous = {}
        self._watching = False

    def is_set(self):
        return self._event.is_set()

    def wait(self, timeout):
        return self._event.wait(timeout)

    def stop(self, reason):
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def _on_signal(self, signum, frame):  # pylint: disable=unused-argument
        # Only record it: the run stops at its next step, and every request still gets an outcome.
        self.stop("interrupted by %s" % signal.Signals(signum).name)

    def install(self):
        """Catch SIGINT and SIGTERM (main thread only), and watch the ansible-playbook that started the module."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._on_signal)
        self._watch()
        return self

    def restore(self):
        self._watching = False
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def _watch(self):
        """The worker that started this module leads its process group (it called setsid); its parent is
        ansible-playbook. If that parent changes, ansible-playbook was killed (ansible-runner's cancel)."""
        leader = os.getpgid(0)
        if leader == os.getpid() or leader <= 1:
            return  # not started by an ansible-playbook worker: nothing to watch
        parent = _parent_of(leader)
        if parent is None or parent <= 1:
            return
        self._watching = True

        def watch():
            while self._watching and not self._event.wait(WATCH_PERIOD_S):
                if _parent_of(leader) != parent:
                    self.stop("ansible-playbook was stopped (killed, as ansible-runner's cancel does)")
                    return

        thread = threading.Thread(target=watch, name="o365-playbook-watch")
        thread.daemon = True
        thread.start()
