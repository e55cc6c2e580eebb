# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Injected faults and load: latency, a write quota like Graph's, scripted error bursts, connection resets,
answers lost or cut off after the work was done, answers that are not Graph's, and $batch answers of wrong shapes."""

import collections
import json
import math
import threading
import time

from .tokens import setup_error
from .clock import CLOCK

# What a TLS-inspecting or filtering proxy answers instead of Graph.
PROXY_PAGE = ("<html><head><title>Access blocked</title></head><body><h1>Blocked by proxy</h1>"
              "<p>This site is blocked by your organisation's web filter.</p></body></html>")
BATCH_SHAPES = ("html", "empty", "no_responses", "list", "responses_null", "non_object_item", "string_status", "item_html",
                "duplicate_ids", "missing_items")


class RawAnswer:
    """An answer sent byte for byte: status, content type (None: no Content-Type header) and payload."""

    def __init__(self, status, content_type, payload):
        self.status = status
        self.content_type = content_type
        self.payload = payload

    @classmethod
    def from_setting(cls, setting):
        """{"status", "content_type", "body"}: a str body is sent as it is, anything else as JSON."""
        body = setting.get("body", "")
        payload = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        return cls(int(setting.get("status", 200)), setting.get("content_type", "application/json"), payload)


def mangle_batch_answer(shape, document):
    """The $batch answer ``document`` ({"responses": [...]}) turned into one of the wrong shapes in BATCH_SHAPES."""
    responses = [dict(item) for item in document["responses"]]
    if shape == "html":
        return RawAnswer(200, "text/html", PROXY_PAGE.encode("utf-8"))
    if shape == "empty":
        return RawAnswer(200, None, b"")
    if shape == "no_responses":
        mangled = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Null"}
    elif shape == "list":
        mangled = responses
    elif shape == "responses_null":
        mangled = {"responses": None}
    elif shape == "non_object_item":
        mangled = {"responses": ["unexpected"] + responses[1:]}
    elif shape == "string_status":
        mangled = {"responses": [dict(item, status=str(item["status"])) for item in responses]}
    elif shape == "duplicate_ids":
        first = responses[0]
        twin = {"id": first["id"], "status": 500 if 200 <= first["status"] < 300 else 200,
                "headers": {"Content-Type": "application/json"}, "body": {"value": True}}
        mangled = {"responses": responses + [twin]}
    elif shape == "item_html":
        # A gateway that rewrote every item's answer into its own page: 200s that are not Graph's answers.
        mangled = {"responses": [dict(item, status=200, headers={"Content-Type": "text/html"}, body=PROXY_PAGE)
                                 for item in responses]}
    elif shape == "missing_items":
        mangled = {"responses": responses[:len(responses) // 2]}
    else:
        raise ValueError("unknown $batch answer shape %r; known: %s" % (shape, ", ".join(BATCH_SHAPES)))
    return RawAnswer(200, "application/json", json.dumps(mangled).encode("utf-8"))


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
        # Bumped at each reset: a request still held by a latency fault when its scenario ends is dropped unanswered
        # (never carried out later, in the middle of another test's faults).
        self.generation = 0
        self._reset_event = threading.Event()
        self.reset()

    def hold(self, seconds):
        """Wait ``seconds`` as a latency fault; False when a reset came meanwhile (the request is then dropped)."""
        generation = self.generation
        deadline = time.monotonic() + seconds
        while self.generation == generation:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            self._reset_event.wait(min(left, 0.5))
        return False

    def reset(self):
        with self._lock:
            self.generation += 1
            self._reset_event.set()
            self._reset_event = threading.Event()
            self.latency_s = 0.0
            self.token_latency_s = 0.0
            self.graph_failures = collections.deque()   # (status, retry_after, as_number) for the next Graph operations
            self.token_failures = collections.deque()   # statuses for the next token requests
            self.connection_resets = 0                  # next HTTP requests answered with a TCP reset
            self.resets_after_acting = 0                # next Graph requests carried out, then reset unanswered
            self.truncations = 0                        # next Graph answers cut off half way
            self.token_truncations = 0                  # next token answers cut off half way
            self.graph_answers = collections.deque()    # (RawAnswer, act) instead of the next Graph answers
            self.token_answers = collections.deque()    # RawAnswer instead of the next token answers
            self.token_errors = collections.deque()     # EntraError (an AADSTS code) for the next token requests
            self.batch_shapes = collections.deque()     # shapes for the next $batch answers (after acting)
            self.quota = None
            self.public_origin = None                   # where clients reach Graph when a proxy (Prism) sits in
            #                                             front: the origin of @odata.nextLink (else the Host)
            self.frozen_timestamps = set()              # users (ID or UPN, lower case; "*" all) whose revoke is
            #                                             answered but leaves signInSessionsValidFromDateTime as it was
            self.slow_every = None                      # latency tail: (nth, extra seconds, path), and a count
            self.slow_count = 0
            CLOCK.offset_s = 0.0                        # Graph's clock minus the host's, in seconds
            self.read_lag = None                        # (reads, seconds): after a write, that many reads of the
            #                                             user (or the reads within that time) see the old state
            self.lagging = {}                           # user id -> (old properties, reads left, until)
            self.user_failures = collections.defaultdict(collections.deque)  # user key -> (status, retry_after, body)
            self.repeat_member_pages = False            # member listings: no @odata.count, and after the last page
            #                                             new next-page links that list the same users again, forever

    def configure(self, settings):
        with self._lock:
            if "latency_ms" in settings:
                self.latency_s = float(settings["latency_ms"]) / 1000.0
            if "token_latency_ms" in settings:
                self.token_latency_s = float(settings["token_latency_ms"]) / 1000.0
            for failure in settings.get("fail_next", []):
                # "path": only an operation under that path takes it (a request of another test or task cannot).
                self.graph_failures.append((int(failure["status"]), failure.get("retry_after"),
                                            bool(failure.get("retry_after_number")), failure.get("path")))
            self.token_failures.extend(int(status) for status in settings.get("token_fail_next", []))
            self.connection_resets += int(settings.get("reset_next", 0))
            if "public_origin" in settings:
                self.public_origin = settings["public_origin"]
            if "keep_sessions_valid_from" in settings:
                self.frozen_timestamps = set(key.lower() for key in settings["keep_sessions_valid_from"] or [])
            self.resets_after_acting += int(settings.get("reset_after_next", 0))
            self.truncations += int(settings.get("truncate_next", 0))
            self.token_truncations += int(settings.get("token_truncate_next", 0))
            for answer in settings.get("answer_next", []):
                # "skip": let that many Graph requests through first (e.g. the read before a write).
                self.graph_answers.append([RawAnswer.from_setting(answer), bool(answer.get("act")),
                                           int(answer.get("skip", 0))])
            self.token_answers.extend(RawAnswer.from_setting(answer) for answer in settings.get("token_answer_next", []))
            self.token_errors.extend(setup_error(setting) for setting in settings.get("token_error_next", []))
            for shape in settings.get("batch_answer_next", []):
                # A shape, or {"shape", "skip"}: let that many $batch calls through first.
                skip = int(shape.get("skip", 0)) if isinstance(shape, dict) else 0
                shape = shape["shape"] if isinstance(shape, dict) else shape
                if shape not in BATCH_SHAPES:
                    raise ValueError("unknown $batch answer shape %r; known: %s" % (shape, ", ".join(BATCH_SHAPES)))
                self.batch_shapes.extend([None] * skip + [shape])
            if "slow_every" in settings:
                slow = settings["slow_every"]
                self.slow_every = (int(slow["nth"]), float(slow["extra_ms"]) / 1000.0, slow.get("path")) \
                    if slow else None
                self.slow_count = 0
            if "clock_offset_s" in settings:
                CLOCK.offset_s = float(settings["clock_offset_s"])
            if "repeat_member_pages" in settings:
                self.repeat_member_pages = bool(settings["repeat_member_pages"])
            if "read_lag" in settings:
                lag = settings["read_lag"]
                self.read_lag = (int(lag.get("reads", 0)), float(lag.get("ms", 0)) / 1000.0) if lag else None
            for key, failures in (settings.get("fail_user_next") or {}).items():
                for failure in failures:
                    # "body": the answer's body instead of an error (e.g. {"status": 200, "body": {}}, a 2xx that
                    # is not a user's answer).
                    self.user_failures[key.lower()].append((int(failure["status"]), failure.get("retry_after"),
                                                            failure.get("body")))
            if "quota" in settings:
                quota = settings["quota"]
                self.quota = WriteQuota(int(quota["limit"]), float(quota["window_s"])) if quota else None

    def extra_latency(self, path):
        """Seconds added to this Graph request: every nth request (to ``path``, if given) is slow."""
        with self._lock:
            if self.slow_every is None:
                return 0.0
            nth, extra_s, only_path = self.slow_every
            if only_path and path != only_path:
                return 0.0
            self.slow_count += 1
            return extra_s if self.slow_count % nth == 0 else 0.0

    def take_graph_failure(self, path=None):
        """(status, retry_after, as_number) for this operation, or None."""
        with self._lock:
            if not self.graph_failures:
                return None
            only = self.graph_failures[0][3]
            if only and not (path or "").startswith(only):
                return None
            return self.graph_failures.popleft()[:3]

    def take_token_failure(self):
        with self._lock:
            return self.token_failures.popleft() if self.token_failures else None

    def take_connection_reset(self):
        return self._take_count("connection_resets")

    def take_reset_after_acting(self):
        return self._take_count("resets_after_acting")

    def take_truncation(self):
        return self._take_count("truncations")

    def take_token_truncation(self):
        return self._take_count("token_truncations")

    def take_graph_answer(self):
        """(RawAnswer, act) to send instead of the next Graph answer, or None."""
        with self._lock:
            if not self.graph_answers:
                return None
            if self.graph_answers[0][2] > 0:
                self.graph_answers[0][2] -= 1
                return None
            answer, act, dummy = self.graph_answers.popleft()
            return answer, act

    def take_token_answer(self):
        with self._lock:
            return self.token_answers.popleft() if self.token_answers else None

    def take_token_error(self):
        with self._lock:
            return self.token_errors.popleft() if self.token_errors else None

    def take_batch_shape(self):
        with self._lock:
            return self.batch_shapes.popleft() if self.batch_shapes else None  # None: this call goes through

    def _take_count(self, name):
        with self._lock:
            if getattr(self, name):
                setattr(self, name, getattr(self, name) - 1)
                return True
            return False

    def charge_write(self, app_id):
        with self._lock:
            return self.quota.charge(app_id) if self.quota else None

    def take_user_failure(self, user):
        """(status, retry_after, body) for this user's next operation, or None: one item's own 429 (not a quota),
        or, with a body, an answer of that body."""
        with self._lock:
            for key in (user.id.lower(), user.user_principal_name.lower()):
                if self.user_failures.get(key):
                    return self.user_failures[key].popleft()
            return None

    def wrote(self, user, before):
        """A write to ``user`` just changed it from ``before`` (its properties): start the read lag, if set."""
        with self._lock:
            if self.read_lag is None:
                return
            reads, seconds = self.read_lag
            self.lagging[user.id] = (before, reads, time.monotonic() + seconds)

    def lagged_properties(self, user):
        """The state a read of ``user`` sees while the lag lasts (the one before the write), else None."""
        with self._lock:
            lag = self.lagging.get(user.id)
            if lag is None:
                return None
            before, reads, until = lag
            if reads > 0:
                self.lagging[user.id] = (before, reads - 1, until)
                return before
            if time.monotonic() < until:
                return before
            del self.lagging[user.id]
            return None

    def keeps_timestamp(self, user):
        with self._lock:
            return bool({"*", user.id.lower(), user.user_principal_name.lower()} & self.frozen_timestamps)
