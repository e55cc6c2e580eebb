# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Injected faults and load: latency, a write quota like Graph's, scripted error bursts, connection resets."""

import collections
import math
import threading
import time


class WriteQuota:
    """Graph's identity write limit (e.g. 3,000 writes per 150 s per app and tenant), as a sliding window."""

    def __init__(self, limit, window_s, clock=time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._writes = collections.defaultdict(collections.deque)

    def charge(self, app_id):
        """Count one write; return None if allowed, else the seconds until the window has room (Retry-After)."""
        now = self.clock()
        writes = self._writes[app_id]
        while writes and writes[0] <= now - self.window_s:
            writes.popleft()
        if len(writes) >= self.limit:
            return max(1, int(math.ceil(writes[0] + self.window_s - now)))
        writes.append(now)
        return None


class Faults:
    """What the emulator does wrong on purpose. Set from the command line or POST /_emulator/faults."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self.latency_s = 0.0
            self.token_latency_s = 0.0
            self.graph_failures = collections.deque()   # (status, retry_after) for the next Graph operations
            self.token_failures = collections.deque()   # statuses for the next token requests
            self.connection_resets = 0                  # next HTTP requests answered with a TCP reset
            self.quota = None
            self.public_origin = None                   # where clients reach Graph when a proxy (Prism) sits in
            #                                             front: the origin of @odata.nextLink (else the Host)
            self.frozen_timestamps = set()              # users (ID or UPN, lower case; "*" all) whose revoke is
            #                                             answered but leaves signInSessionsValidFromDateTime as it was

    def configure(self, settings):
        with self._lock:
            if "latency_ms" in settings:
                self.latency_s = float(settings["latency_ms"]) / 1000.0
            if "token_latency_ms" in settings:
                self.token_latency_s = float(settings["token_latency_ms"]) / 1000.0
            for failure in settings.get("fail_next", []):
                self.graph_failures.append((int(failure["status"]), failure.get("retry_after")))
            self.token_failures.extend(int(status) for status in settings.get("token_fail_next", []))
            self.connection_resets += int(settings.get("reset_next", 0))
            if "public_origin" in settings:
                self.public_origin = settings["public_origin"]
            if "keep_sessions_valid_from" in settings:
                self.frozen_timestamps = set(key.lower() for key in settings["keep_sessions_valid_from"] or [])
            if "quota" in settings:
                quota = settings["quota"]
                self.quota = WriteQuota(int(quota["limit"]), float(quota["window_s"])) if quota else None

    def take_graph_failure(self):
        with self._lock:
            return self.graph_failures.popleft() if self.graph_failures else None

    def take_token_failure(self):
        with self._lock:
            return self.token_failures.popleft() if self.token_failures else None

    def take_connection_reset(self):
        with self._lock:
            if self.connection_resets:
                self.connection_resets -= 1
                return True
            return False

    def charge_write(self, app_id):
        with self._lock:
            return self.quota.charge(app_id) if self.quota else None

    def keeps_timestamp(self, user):
        with self._lock:
            return bool({"*", user.id.lower(), user.user_principal_name.lower()} & self.frozen_timestamps)
