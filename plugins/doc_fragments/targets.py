# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options that say which users a module acts on, and how many $batch calls it keeps in flight; the
    # argument spec they document is TARGETS_ARGUMENT_SPEC in plugins/module_utils/_targets.py and
    # BATCH_ARGUMENT_SPEC in plugins/module_utils/_graph_batch.py, merged by _graph_module.users_module.
    DOCUMENTATION = r"""
options:
  user:
    description:
      - One user, by object ID (a GUID) or by user principal name (UPN), for example V(adele@contoso.com).
      - "A UPN may only hold the characters C(A-Z a-z 0-9 ' . - _ ! # ^ ~) before its single C(@) (no accented
        characters), optionally after a leading C($), and a DNS domain after it. Anything else is rejected before
        any network call."
      - Give the UPN as it is; the module encodes it. A UPN that begins with C($) is addressed as
        C(/users('$name@domain')), and the C(#) of a B2B guest's C(#EXT#) is sent as C(%23).
      - A reference with whitespace at its start or end is refused with a message that names the whitespace; it is
        never trimmed silently. (The entries of O(users) and O(exclude), which may be given as text, are trimmed.)
      - Mutually exclusive with O(users) and O(groups); one of the three is required.
    type: str
    aliases: [user_id, user_principal_name, upn]
  users:
    description:
      - Many users at once, each an object ID or a UPN as for O(user). Mutually exclusive with O(user).
      - Every reference is validated first; a single invalid one fails the task before any network call.
      - A user is a directory object, not the string that names it. When every reference (in O(users) and
        O(exclude)) is of one form, all UPNs or all object IDs, they are compared as given, without regard to case,
        and no read is needed. When both forms are given, the references of the rarer form are read once,
        batched (C(GET /users/{ref}?$select=id,userPrincipalName), which needs C(User.Read.All)), so that a user
        named by UPN and by object ID is one user. Duplicates are acted on once, counted once and reported for
        each occurrence (with C(user_id)).
      - A reference that names no user fails on its own, and nothing is sent for it. If that read fails (refused
        without C(User.Read.All), 429 or 503 past O(max_retries), a lost answer, or a 2xx that carries neither
        C(id) nor C(userPrincipalName)), the user is still acted on when no O(exclude) entry needs comparing with
        it; when one does, the user is not written and fails with C(could not be compared with the exclude) and
        the reason (it could be the excluded person under its other name).
      - A text is read as a list too - entries separated by commas and/or line breaks (an AWX survey's text
        field), each stripped of the spaces around it - the same way as a YAML list; so are O(exclude) and
        O(groups) (whose entries are split on line breaks only, as a display name may hold a comma).
      - An empty list (without O(groups)) fails the task before any network call, so that an empty run (for
        example from a variable that defaulted to an empty list) is never reported as a success; skip the task
        with C(when) if an empty list is expected.
      - A null entry arrives as an empty string and is refused like any invalid reference; so is a number.
      - Only O(max_users) limits the length of the list; 100,000 users have been run in one task.
    type: list
    elements: str
  groups:
    description:
      - Groups whose users are acted on, each by object ID (the whole entry a GUID) or by display name. A display
        name is sent as an OData string literal in C($filter) (never as part of a path) and must match exactly one
        group; a name that matches none or several fails the task before anything is changed.
      - Groups that hold no user at all (only devices, contacts or service principals, or nobody) fail the task
        before anything is changed, naming the groups, as an empty O(users) does.
      - Every user member is included, also those of nested groups (C(transitiveMembers)), read in pages of 999
        to the last page. Devices, contacts and other non-user members are left out.
      - Merged after O(users), in the order Graph lists them; a user already present is not added again. Each
        user's result names the group (as given) that brought it.
      - Reading groups and members needs the application permission C(GroupMember.Read.All) (or
        C(Group.Read.All)); a group with hidden membership also needs C(Member.Read.Hidden).
    type: list
    elements: str
  exclude:
    description:
      - Users never acted on, whatever O(groups) or O(users) say, by object ID or UPN (for example break-glass
        accounts). An excluded user is never written in whatever form it is named elsewhere - an exclude entry in
        the other form than a O(users) entry is read once to learn its other name (see O(users)).
      - A user is written only when it is shown to differ from every exclude entry. An exclude entry that cannot
        be read (refused, 429 or 503 past O(max_retries), a lost answer, or a 2xx without C(id) and
        C(userPrincipalName)) keeps every user it cannot be compared with from being written; each such user fails
        with C(could not be compared with the exclude) and the reason.
      - An exclude entry that names no user (Graph answers 404, for example a typo in an object ID) protects
        nobody - the task warns, naming it, and returns it in C(exclude_not_found).
      - An empty entry (a null, or a variable that rendered empty) is refused, never dropped, so that an exclude
        list does not silently lose an entry.
      - Excluded users are listed in the results as skipped, and do not count towards O(max_users). When every
        user named is excluded, the task fails before any write, as there is no one to act on.
    type: list
    elements: str
  max_users:
    description:
      - The most distinct users (directory objects) the task may act on, after O(exclude). With more, the task
        fails before any change, naming the count, so that a wrong group cannot reach the whole tenant. Raise it on
        purpose for a larger run.
      - It also bounds reading groups - listing stops as soon as more users than this are certain (from Graph's
        C(@odata.count) or the pages read), and the count is then given as a lower bound.
    type: int
    default: 1000
  batch_concurrency:
    description:
      - With O(users) or O(groups), how many C($batch) calls (of up to 20 requests each) are kept in flight,
        from 1 to 32. When one is answered, the next goes, so a slow call does not hold up the others.
      - Items Graph answers with 429, 503 or 504 are sent again after their own C(Retry-After), within
        O(max_retries); items that succeeded are never sent again. Once Graph throttles, the module paces
        itself at the rate that was accepted before.
    type: int
    default: 4
"""
