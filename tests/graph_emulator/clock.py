# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Graph's clock: the host's, shifted by a settable offset (fault ``clock_offset_s``), so the tests can put the
controller's clock minutes away from Graph's. It stamps revokes, ``innerError.date`` and every ``Date`` header."""

import datetime
import email.utils
import threading
import time


class GraphClock:
    def __init__(self):
        self._lock = threading.Lock()
        self._offset_s = 0.0

    @property
    def offset_s(self):
        with self._lock:
            return self._offset_s

    @offset_s.setter
    def offset_s(self, value):
        with self._lock:
            self._offset_s = float(value)

    def time(self):
        """Seconds since the epoch, by Graph's clock."""
        return time.time() + self.offset_s

    def now(self):
        return datetime.datetime.fromtimestamp(self.time(), datetime.timezone.utc)

    def http_date(self):
        """The ``Date`` header value (RFC 9110 IMF-fixdate, whole seconds)."""
        return email.utils.formatdate(self.time(), usegmt=True)


# One emulator per process: the clock is the process's.
CLOCK = GraphClock()
