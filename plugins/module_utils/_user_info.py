# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""o365_user_info's flow: the targets resolved as every module resolves them, each distinct user read once
(batched), one entry per user given.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.o365.admin.plugins.module_utils._errors import TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import checked_concurrency
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import Sender
from ansible_collections.o365.admin.plugins.module_utils._targets import resolve_targets
from ansible_collections.o365.admin.plugins.module_utils._user_read import (
    USER_PROPERTIES, explain_read_failure, read_users_through)


def user_entry(target, read):
    entry = dict(user=target.user, excluded=target.excluded, found=None)
    if target.group is not None:
        entry["group"] = target.group
    if target.refusal is not None and not target.excluded:
        refusal = target.refusal
        entry.update(found=False if refusal["status_code"] == 404 else None, status_code=refusal["status_code"],
                     request_id=refusal["request_id"], error=refusal["error"])
        return entry
    if read is None:
        return entry
    entry.update(found=read.found, status_code=read.answer.status_code, request_id=read.answer.request_id)
    if read.found:
        entry.update(read.properties)
    else:
        entry["error"] = read.answer.error
    return entry


def read_user_info(module, client):
    """o365_user_info's run: resolve the targets, read each distinct user once, one entry per user given."""
    params = module.params
    sender = Sender(client, checked_concurrency(params["batch_concurrency"]), params["max_retries"])
    target_set = resolve_targets(client, params, send=sender)
    distinct = target_set.distinct()
    reads = read_users_through(sender, [target.reference for target in distinct],
                               [name for name, key in USER_PROPERTIES])
    by_identity = dict((target_set.identity(target), read) for target, read in zip(distinct, reads))
    users = [user_entry(target, None if target.excluded else by_identity.get(target_set.identity(target)))
             for target in target_set.targets]
    result = dict(changed=False, users=users, found_count=sum(1 for read in reads if read.found),
                  not_found_users=[entry["user"] for entry in users if entry["found"] is False])
    failures = [(target, read) for target, read in zip(distinct, reads) if read.failed]
    unresolved = [target for target in target_set.blocked() if target.refusal["status_code"] != 404]
    if failures or unresolved:
        raise TaskFailed("%d of %d users could not be read. %s Every user's answer is in users."
                         % (len(failures) + len(unresolved), len(distinct) + len(target_set.blocked()),
                            " ".join([explain_read_failure(read, target.user) for target, read in failures[:5]]
                                     + [target.refusal["error"]["message"] for target in unresolved[:5]])),
                         result)
    return result
