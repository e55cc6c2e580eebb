# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of o365_containment's state=released; the argument spec they document is RELEASE_OPTIONS in
    # plugins/module_utils/_release.py.
    DOCUMENTATION = r"""
options:
  records:
    description:
      - With O(state=released), the containment records to release from (JSON files on the host that runs the
        module, normally the controller), at least one - records of this module, of P(o365.admin.contain_user#role)
        (C(schema_version) 1 and 2), or merged by M(o365.admin.o365_containment_record) (as
        C(playbooks/contain_tenants.yml) and C(playbooks/merge_records.yml) do); each user of a merged record keeps
        its tenant and the run that contained it.
      - Every record is read and checked before any Graph call; a record that cannot be read, is not JSON, is the
        journal of a run that did not finish, or has a C(schema_version) or C(kind) this module does not know fails
        the task with nothing sent.
      - A relative path starts in the directory ansible-playbook was run from.
      - "A user is allowed to sign in again only when the record says its run blocked the user (enabled before,
        blocked after, changed by that run, not check mode) B(and) Graph still shows the state that run left:
        C(accountEnabled) false and C(signInSessionsValidFromDateTime) equal to the C(sessions_valid_from_after) the
        run recorded. Otherwise the user is skipped with the reason: C(blocked again since) (a later containment
        revoked again), C(already allowed), C(Graph's state does not match the record) (blocked by someone else, or
        the record was edited), C(was already blocked before the incident), C(no longer in the directory), ...
        A user whose state cannot be read fails (it is never released blind)."
      - Only the records' users of the tenant this task signs in to are released (users a record names no tenant
        for count as this tenant's). A tenant named by domain in one place and by tenant ID in the other is the
        same tenant (the domain's tenant ID comes from Entra ID's OpenID discovery). Records holding no user of
        this tenant fail the task, naming the tenants they hold.
      - O(users) narrows the release to those users of the records (one in no record is listed as C(not in the
        record)), O(exclude) keeps users blocked (C(excluded now)), and more than O(max_users) users to allow fails
        the task before any write. O(user) and O(groups) are refused with O(state=released).
    type: list
    elements: path
  dismiss_risk:
    description:
      - With O(state=released), also dismiss the risk of each user allowed again in Microsoft Entra ID Protection
        (as M(o365.admin.o365_risky_user) with O(o365.admin.o365_risky_user#module:state=dismissed) does), so that
        risk-based Conditional Access does not keep blocking them. Needs C(IdentityRiskyUser.ReadWrite.All) and an
        Entra ID P2 licence.
      - Each user's entry gets C(risk_state_before) and C(risk_outcome) (V(dismissed), V(unchanged), V(failed), ...).
    type: bool
    default: false
"""
