# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""msal's token cache on disk, shared by the tasks and forks of a run. Internal to this collection, may change
without notice.

Why not msal-extensions: its FilePersistence rewrites the file in place (a crash or a concurrent reader sees
a torn file) and its lock polls a lock file with sleeps through portalocker. Modules run on POSIX controllers,
where fcntl.flock gives a blocking lock and os.replace an atomic write, with no extra dependency.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import tempfile
import time

DEFAULT_TOKEN_CACHE_PATH = "~/.ansible/o365_admin/token_cache.json"
# A cached token is used only while it has this long left to live.
MIN_REMAINING_S = 300
CACHE_FORMAT = 1


def partition_key(authority, client_id, scope, credential_fingerprint):
    """One cache partition per cloud, tenant, app, resource and credential, so they never mix: a token got with
    one secret or certificate is not handed out to a task that presents another (only hashes are stored)."""
    parts = [authority.lower(), client_id.lower(), scope.lower(), credential_fingerprint]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


class TokenCacheFile:
    """A JSON file {"format": 1, "partitions": {key: msal serialized cache}}, 0600 in a 0700 directory."""

    def __init__(self, path, key, warn):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.key = key
        self.warn = warn

    @contextlib.contextmanager
    def locked(self):
        """Hold an exclusive lock for a read-acquire-write cycle; other forks wait, then find the new token."""
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700)
        descriptor = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _read_document(self):
        try:
            with open(self.path) as handle:
                document = json.load(handle)
        except (IOError, OSError) as exc:
            if exc.errno != errno.ENOENT:
                self.warn("Cannot read the token cache %s (%s); a new token is requested and the cache rebuilt."
                          % (self.path, exc.strerror))
            return {}
        except ValueError:
            self.warn("The token cache %s is not valid JSON; it is ignored and rebuilt." % self.path)
            return {}
        if not isinstance(document, dict) or document.get("format") != CACHE_FORMAT or not isinstance(
                document.get("partitions"), dict):
            self.warn("The token cache %s is not in a format this collection writes; it is ignored and rebuilt."
                      % self.path)
            return {}
        return document

    def load_into(self, cache):
        """Fill an msal SerializableTokenCache from this partition (call while locked)."""
        serialized = self._read_document().get("partitions", {}).get(self.key)
        if serialized:
            try:
                cache.deserialize(serialized)
            except ValueError:
                self.warn("The token cache %s holds an unreadable entry; it is ignored and rebuilt." % self.path)

    def save(self, cache):
        """Write this partition back atomically if msal changed it (call while locked)."""
        if not cache.has_state_changed:
            return
        document = self._read_document() or {"format": CACHE_FORMAT, "partitions": {}}
        document["partitions"][self.key] = cache.serialize()
        directory = os.path.dirname(self.path)
        try:
            descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".token_cache.")
            with os.fdopen(descriptor, "w") as handle:  # mkstemp creates it 0600
                json.dump(document, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except (IOError, OSError) as exc:
            self.warn("Cannot write the token cache %s (%s); the next task will request a new token."
                      % (self.path, exc.strerror))
            return
        cache.has_state_changed = False


def cached_access_token(cache, client_id, scope, now=None):
    """A token from msal's cache with MIN_REMAINING_S left, without building an msal app (no network at all)."""
    now = time.time() if now is None else now
    for entry in cache.search(cache.CredentialType.ACCESS_TOKEN, target=[scope], query={"client_id": client_id}):
        if int(entry.get("expires_on", 0)) - now > MIN_REMAINING_S:
            return entry["secret"], int(entry["expires_on"])
    return None
