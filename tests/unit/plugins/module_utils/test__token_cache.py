# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import multiprocessing
import os
import stat
import time

import msal

from ansible_collections.o365.admin.plugins.module_utils._token_cache import (
    TokenCacheFile, cached_access_token, partition_key)

SCOPE = "https://graph.microsoft.com/.default"


def msal_cache_with_token(client_id, token, expires_in):
    """An msal cache holding one client-credentials token, as msal itself stores it."""
    cache = msal.SerializableTokenCache()
    cache.add({"client_id": client_id, "scope": [SCOPE], "token_endpoint": "https://login.example.test/t/token",
               "response": {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}})
    return cache


def test_partitions_differ_by_cloud_tenant_app_and_credential():
    base = ("https://login.microsoftonline.com/t1", "app", SCOPE, "fp")
    keys = {partition_key(*base),
            partition_key("https://login.microsoftonline.us/t1", "app", SCOPE, "fp"),
            partition_key("https://login.microsoftonline.com/t2", "app", SCOPE, "fp"),
            partition_key("https://login.microsoftonline.com/t1", "app2", SCOPE, "fp"),
            partition_key("https://login.microsoftonline.com/t1", "app", "https://graph.microsoft.us/.default", "fp"),
            partition_key("https://login.microsoftonline.com/t1", "app", SCOPE, "other-credential")}
    assert len(keys) == 6
    assert partition_key(*base) == partition_key("HTTPS://LOGIN.MICROSOFTONLINE.COM/T1", "APP", SCOPE, "fp")


def test_saved_token_is_found_by_the_next_task_in_a_0600_file_in_a_0700_directory(tmp_path):
    path = str(tmp_path / "new" / "cache.json")
    writer = TokenCacheFile(path, "k1", warn=pytest_fail_on_warning)
    with writer.locked():
        writer.save(msal_cache_with_token("app", "tok-1", 3600))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    reader_cache = msal.SerializableTokenCache()
    reader = TokenCacheFile(path, "k1", warn=pytest_fail_on_warning)
    with reader.locked():
        reader.load_into(reader_cache)
    assert cached_access_token(reader_cache, "app", SCOPE)[0] == "tok-1"
    other = msal.SerializableTokenCache()
    TokenCacheFile(path, "another-partition", warn=pytest_fail_on_warning).load_into(other)
    assert cached_access_token(other, "app", SCOPE) is None


def pytest_fail_on_warning(message):
    raise AssertionError("unexpected warning: " + message)


def test_nearly_expired_tokens_are_not_handed_out():
    assert cached_access_token(msal_cache_with_token("app", "old", 200), "app", SCOPE) is None
    assert cached_access_token(msal_cache_with_token("app", "fresh", 900), "app", SCOPE)[0] == "fresh"
    assert cached_access_token(msal_cache_with_token("app", "fresh", 900), "other-app", SCOPE) is None


def test_a_corrupt_cache_is_ignored_with_a_warning_and_rebuilt(tmp_path):
    path = tmp_path / "cache.json"
    path.write_text("{not json")
    warnings = []
    cache_file = TokenCacheFile(str(path), "k1", warn=warnings.append)
    cache = msal.SerializableTokenCache()
    with cache_file.locked():
        cache_file.load_into(cache)
        assert cached_access_token(cache, "app", SCOPE) is None
        cache_file.save(msal_cache_with_token("app", "tok-2", 3600))
    assert len(warnings) == 2 and "not valid JSON" in warnings[0]
    assert json.loads(path.read_text())["format"] == 1


def test_a_foreign_format_is_ignored_with_a_warning(tmp_path):
    path = tmp_path / "cache.json"
    path.write_text(json.dumps({"AccessToken": {}}))
    warnings = []
    TokenCacheFile(str(path), "k1", warn=warnings.append).load_into(msal.SerializableTokenCache())
    assert "not in a format" in warnings[0]


def test_an_unchanged_cache_is_not_rewritten(tmp_path):
    path = tmp_path / "cache.json"
    cache = msal.SerializableTokenCache()
    TokenCacheFile(str(path), "k1", warn=pytest_fail_on_warning).save(cache)
    assert not path.exists()


def _write_partition(path, index, barrier):
    barrier.wait()
    cache_file = TokenCacheFile(path, "partition-%d" % index, warn=pytest_fail_on_warning)
    for round_ in range(5):
        with cache_file.locked():
            cache = msal.SerializableTokenCache()
            cache_file.load_into(cache)
            cache_file.save(msal_cache_with_token("app-%d" % index, "tok-%d-%d" % (index, round_), 3600))


def test_parallel_forks_lose_no_partition_and_never_tear_the_file(tmp_path):
    path = str(tmp_path / "cache.json")
    forks = 8
    barrier = multiprocessing.Barrier(forks)
    workers = [multiprocessing.Process(target=_write_partition, args=(path, n, barrier)) for n in range(forks)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    with open(path) as handle:
        partitions = json.load(handle)["partitions"]
    assert sorted(partitions) == sorted("partition-%d" % n for n in range(forks))
    for n in range(forks):
        cache = msal.SerializableTokenCache()
        cache.deserialize(partitions["partition-%d" % n])
        assert cached_access_token(cache, "app-%d" % n, SCOPE, now=time.time())[0] == "tok-%d-4" % n
