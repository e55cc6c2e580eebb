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
import stat
import tempfile
import time

DEFAULT_TOKEN_CACHE_PATH = "~/.ansible/o365_admin/token_cache.json"
# A cached token is used only while it has this long left to live.
MIN_REMAINING_S = 300
CACHE_FORMAT = 1
# Never follow a symbolic link planted at the cache or lock path (both flags are POSIX; 0 keeps imports safe).
O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
FIX_HINT = ("Set token_cache_path to a file in a directory only you can write (mode 0700), or token_cache: false "
            "to stop caching.")


def partition_key(authority, client_id, scope, credential_fingerprint):
    """One cache partition per cloud, tenant, app, resource and credential, so they never mix: a token got with
    one secret or certificate is not handed out to a task that presents another (only hashes are stored)."""
    parts = [authority.lower(), client_id.lower(), scope.lower(), credential_fingerprint]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


class TokenCacheFile:
    """A JSON file {"format": 1, "partitions": {key: msal serialized cache}}, 0600 in a 0700 directory.

    Like ssh with its keys, it refuses a directory or file that another user owns or can write, and follows no
    symbolic link: each problem is a warning, and the task goes on without the cache (a new token is requested).
    """

    def __init__(self, path, key, warn):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.key = key
        self._warn = warn
        self._warned = set()
        self.usable = True  # False once the path is refused: loads find nothing, saves write nothing
        self._trust_contents = True

    def warn(self, message):
        if message not in self._warned:
            self._warned.add(message)
            self._warn(message)

    def _refuse(self, what, why):
        self.usable = False
        self.warn("The token cache %s %s %s: it is not used, and each task requests a new token. %s"
                  % (what, self.path if what == "file" else os.path.dirname(self.path), why, FIX_HINT))

    @contextlib.contextmanager
    def locked(self):
        """Hold an exclusive lock for a read-acquire-write cycle; other forks wait, then find the new token.

        If the cache cannot be used safely, nothing is locked and the cache is skipped (with a warning)."""
        descriptor = self._open_lock() if self.usable else None
        if descriptor is None:
            yield
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            self._check_file()
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _make_directory(self, directory):
        """Create the directory and any missing parent 0700; forks racing to create it all succeed."""
        missing = []
        while directory and not os.path.isdir(directory):
            missing.append(directory)
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        for path in reversed(missing):
            try:
                os.mkdir(path, 0o700)
            except FileExistsError:
                pass  # another fork made it, or it is not a directory: the checks below tell which

    def _open_lock(self):
        directory = os.path.dirname(self.path)
        try:
            self._make_directory(directory)
            status = os.stat(directory)
        except OSError as exc:
            self._refuse("directory", "cannot be created or read (%s)" % (exc.strerror or exc))
            return None
        if not stat.S_ISDIR(status.st_mode):
            self._refuse("directory", "is not a directory")
            return None
        if status.st_uid != os.geteuid():
            self._refuse("directory", "is owned by another user (uid %d)" % status.st_uid)
            return None
        if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            # ssh's rule: another user could swap the cache for one of their own.
            self._refuse("directory", "can be written by other users (mode %04o)" % stat.S_IMODE(status.st_mode))
            return None
        try:
            descriptor = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        except OSError as exc:
            why = ("is a symbolic link, which is not followed" if exc.errno == errno.ELOOP
                   else "cannot be opened (%s)" % (exc.strerror or exc))
            self._refuse("directory", "holds a lock file %s.lock that %s" % (os.path.basename(self.path), why))
            return None
        lock_status = os.fstat(descriptor)
        if not stat.S_ISREG(lock_status.st_mode) or lock_status.st_uid != os.geteuid():
            os.close(descriptor)
            self._refuse("directory", "holds a lock file %s.lock that is not a file of this user"
                         % os.path.basename(self.path))
            return None
        return descriptor

    def _check_file(self):
        """The cache file itself, while locked: a regular file of this user, or nothing yet."""
        try:
            status = os.lstat(self.path)
        except FileNotFoundError:
            return
        except OSError as exc:
            self._refuse("file", "cannot be examined (%s)" % (exc.strerror or exc))
            return
        if stat.S_ISLNK(status.st_mode):
            self._refuse("file", "is a symbolic link, which is not followed")
        elif stat.S_ISDIR(status.st_mode):
            self._refuse("file", "is a directory, not a file")
        elif not stat.S_ISREG(status.st_mode):
            self._refuse("file", "is not a regular file")
        elif status.st_uid != os.geteuid():
            self._refuse("file", "is owned by another user (uid %d)" % status.st_uid)
        elif status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            # Ours, in a directory only we can write, but others could read its tokens or have put their own in
            # it: its contents are not used, and the new token is written in a file only we can read.
            self._trust_contents = False
            self.warn("The token cache %s can be read or written by other users (mode %04o): its tokens are not "
                      "used, and it is written again for you alone (0600)." % (self.path, stat.S_IMODE(status.st_mode)))

    def _read_document(self):
        if not self.usable or not self._trust_contents:
            return {}
        try:
            descriptor = os.open(self.path, os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            with os.fdopen(descriptor) as handle:
                document = json.load(handle)
        except (IOError, OSError) as exc:
            if exc.errno != errno.ENOENT:
                self.warn("Cannot read the token cache %s (%s); a new token is requested and the cache rebuilt."
                          % (self.path, exc.strerror))
            return {}
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested deeper than the parser goes
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
        if serialized is None:
            return
        try:
            if not well_formed(serialized):
                raise ValueError("not msal's cache shape")
            cache.deserialize(serialized)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError):
            cache.deserialize(None)
            self.warn("The token cache %s holds an entry of the wrong shape; it is ignored and rebuilt." % self.path)

    def save(self, cache):
        """Write this partition back atomically if msal changed it (call while locked)."""
        if not self.usable or not cache.has_state_changed:
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
        self._trust_contents = True
        cache.has_state_changed = False


def well_formed(serialized):
    """Whether a partition is msal's serialized cache, {credential type: {key: entry}}, with access tokens that
    carry a string secret and a numeric expiry: anything else would make msal raise on every later task."""
    if not isinstance(serialized, str):
        return False
    state = json.loads(serialized)
    if not isinstance(state, dict) or not all(isinstance(entries, dict) and all(
            isinstance(entry, dict) for entry in entries.values()) for entries in state.values()):
        return False
    for credential_type in ("AccessToken", "RefreshToken", "IdToken"):
        # msal asserts an entry's credential_type when it removes it (an expired access token, say).
        if any(entry.get("credential_type") != credential_type for entry in state.get(credential_type, {}).values()):
            return False
    for entry in state.get("AccessToken", {}).values():
        if not isinstance(entry.get("secret"), str) or not isinstance(entry.get("target"), str):
            return False
        try:
            int(entry.get("expires_on"))
        except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity, which JSON parsing admits
            return False
    return True


def cached_access_token(cache, client_id, scope, now=None):
    """A token from msal's cache with MIN_REMAINING_S left, without building an msal app (no network at all)."""
    now = time.time() if now is None else now
    for entry in cache.search(cache.CredentialType.ACCESS_TOKEN, target=[scope], query={"client_id": client_id}):
        if int(entry.get("expires_on", 0)) - now > MIN_REMAINING_S:
            return entry["secret"], int(entry["expires_on"])
    return None
