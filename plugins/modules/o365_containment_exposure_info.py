#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_containment_exposure_info
short_description: Show what a revoke did not close for contained users
version_added: 0.1.0
description:
  - For each user, reads what still lets someone in after C(revokeSignInSessions) and a sign-in block, and names
    those open doors in RV(users[].open_doors). Never changes anything in the tenant (C(changed) is always false).
  - "Guest (C(userType) V(Guest)): a revoke in this tenant does not end a B2B guest's sessions; guests sign in
    through their home tenant. Synced from on-premises (C(onPremisesSyncEnabled)): the next directory sync may undo
    a block made in the cloud; block the account on-premises too."
  - "Access tokens already issued: a revoke ends refresh tokens, not access tokens. Entra ID gives an access token a
    default lifetime between 60 and 90 minutes, so one issued just before the cut-off (the user's
    C(signInSessionsValidFromDateTime)) may work until the cut-off plus O(access_token_lifetime_minutes). This is an
    estimate: a token lifetime policy can make tokens last longer, and CAE-capable services (Exchange Online,
    SharePoint Online, Teams) end them within minutes of a revoke or a disable."
  - "Authentication methods by type (C(GET /users/{id}/authentication/methods)), delegated permission grants
    (C(GET /oauth2PermissionGrants) filtered by C(principalId)), applications and service principals the user owns
    with how many secrets and certificates they hold (C(GET /users/{id}/ownedObjects)) - credentials an owner added
    keep working after the owner is contained - and registered and owned devices (C(GET /users/{id}/registeredDevices),
    C(GET /users/{id}/ownedDevices)), which can mint new tokens through the device's broker."
  - Reads many users through JSON batching (C($batch), 20 requests per call); a list with more pages is read whole.
  - "Permissions (application, with admin consent): C(User.Read.All) for the user; C(UserAuthenticationMethod.Read.All)
    for the methods; C(Directory.Read.All) for the grants, owned objects and devices. Microsoft's pages for the
    owned-objects and device lists name delegated permissions only. Each read is a part: a part Graph refuses is
    reported in RV(users[].unreadable) as V(permission) for that user, never as a failure of the task and never as
    nothing found."
options:
  access_token_lifetime_minutes:
    description:
      - The longest lifetime an access token issued before the cut-off can have, for RV(users[].access_tokens).
        V(90) is Entra ID's default upper bound; give your token lifetime policy's value if the tenant has one.
    type: int
    default: 90
extends_documentation_fragment:
  - o365.admin.graph
  - o365.admin.graph.action_group
  - o365.admin.targets
attributes:
  check_mode:
    support: full
    description: The module only reads the tenant; check mode changes nothing in what it does.
  diff_mode:
    support: none
    description: The module changes nothing in the tenant, so there is nothing to compare.
notes:
  - Run it after M(o365.admin.o365_revoke_sessions) and M(o365.admin.o365_user_sign_in); it closes none of the doors
    it shows. The guide "Proving a containment" says what to do about each.
seealso:
  - module: o365.admin.o365_containment_evidence_info
  - module: o365.admin.o365_revoke_sessions
  - name: "Microsoft identity platform: configurable token lifetimes"
    description: The default access token lifetime (60 to 90 minutes).
    link: https://learn.microsoft.com/entra/identity-platform/configurable-token-lifetimes
  - name: "Microsoft Graph: List methods"
    description: A user's authentication methods and the permission to read them.
    link: https://learn.microsoft.com/graph/api/authentication-list-methods
  - name: "Microsoft Graph: List oauth2PermissionGrants"
    description: Delegated permission grants, filtered by principalId.
    link: https://learn.microsoft.com/graph/api/oauth2permissiongrant-list
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: What the revoke left open for the contained users
  o365.admin.o365_containment_exposure_info:
    users: [adele.vance@contoso.com, 87d349ed-44d7-43e1-9a83-5f2406dee5bd]
  register: exposure

- name: Say who still has a way in
  ansible.builtin.debug:
    msg: "{{ item.user }}: {{ item.open_doors }} (unreadable: {{ item.unreadable }})"
  loop: "{{ exposure.users }}"
"""

RETURN = r"""
changed:
  description: Always V(false); the module only reads the tenant.
  returned: always
  type: bool
  sample: false
users:
  description: One entry per distinct user, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    user:
      description: The user as given.
      type: str
    user_id:
      description: The object ID, when given or read.
      type: str
    user_principal_name:
      description: The user principal name, when given or read.
      type: str
    found:
      description: V(true) when read, V(false) when Graph says there is no such user, V(null) when it could not tell.
      type: bool
    guest:
      description: V(true) for a guest (a revoke here does not end its home tenant's sessions), V(null) when unknown.
      type: bool
    synced:
      description: V(true) when the user is synced from on-premises (the next sync may undo a cloud block).
      type: bool
    account_enabled:
      description: Whether the account may sign in, as read.
      type: bool
    access_tokens:
      description:
        - C(cutoff) (the user's C(signInSessionsValidFromDateTime)), C(expire_by) (cutoff plus
          O(access_token_lifetime_minutes)), C(open) (Graph's clock is before C(expire_by); V(null) when unknown),
          C(estimate) (always V(true)).
      type: dict
    authentication_methods:
      description: C(state) (V(read) or V(unreadable)), C(unreadable) (the reason), C(count), C(by_type) (such as
        C(password), C(microsoftAuthenticator), C(phone), C(fido2)).
      type: dict
    oauth2_permission_grants:
      description: As above, with C(grants) (id, client_id, resource_id, consent_type, scope).
      type: dict
    owned_objects:
      description:
        - As above, with C(apps) (applications and service principals the user owns - id, kind, display_name,
          app_id, password_credentials, key_credentials, credentials), C(with_credentials) and
          C(credentials_unknown) (entries Graph showed without their credentials).
      type: dict
    registered_devices:
      description: As above, with C(devices) (id, display_name, operating_system, trust_type, is_managed, account_enabled).
      type: dict
    owned_devices:
      description: As RV(users[].registered_devices).
      type: dict
    open_doors:
      description:
        - What the revoke did not close, among V(guest), V(synced), V(access_tokens), V(oauth2_permission_grants),
          V(owned_app_credentials) and V(devices). Only from parts read; see RV(users[].unreadable).
      type: list
      elements: str
    unreadable:
      description:
        - Each part that could not be read (C(user) and the list parts above) and why - V(permission) (Graph
          refused, 401 or 403), V(not_found), V(throttled), V(no_answer), V(not_sent), V(graph_error),
          V(unexpected_answer), V(needs_object_id) (the grants are found by object ID, which could not be read),
          V(not_resolved) (the user could not be resolved or told apart from an O(exclude) entry; nothing was read).
      type: dict
      sample: {authentication_methods: permission}
    exposure_known:
      description: V(true) when every part was read.
      type: bool
summary:
  description: Users, users with open doors, users with unreadable parts, counts per door and per unreadable part.
  returned: always
  type: dict
permissions:
  description: The application permissions each part needs (any one of each list).
  returned: always
  type: dict
graph_time:
  description: Graph's clock at the last answer, what RV(users[].access_tokens) is judged against.
  returned: always
  type: str
"""

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._evidence import iso
from ansible_collections.o365.admin.plugins.module_utils._exposure import (
    DEFAULT_ACCESS_TOKEN_LIFETIME_MINUTES, PART_PERMISSIONS, gather_exposure, summarize, unresolved_entry)
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import checked_concurrency
from ansible_collections.o365.admin.plugins.module_utils._graph_module import users_module
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import Sender
from ansible_collections.o365.admin.plugins.module_utils._targets import resolve_targets


def run(module, client):
    params = module.params
    if params["access_token_lifetime_minutes"] < 1:
        raise ConfigurationError("access_token_lifetime_minutes must be 1 or more.")
    sender = Sender(client, checked_concurrency(params["batch_concurrency"]), params["max_retries"])
    target_set = resolve_targets(client, params, send=sender)
    entries, graph_time = gather_exposure(client, sender, target_set.distinct(),
                                          params["access_token_lifetime_minutes"])
    entries += [unresolved_entry(target) for target in target_set.blocked()]
    return {"changed": False, "users": entries, "summary": summarize(entries),
            "permissions": dict((part, list(names)) for part, names in PART_PERMISSIONS.items()),
            "graph_time": iso(graph_time)}


def main():
    users_module(dict(
        access_token_lifetime_minutes=dict(type="int", default=DEFAULT_ACCESS_TOKEN_LIFETIME_MINUTES, no_log=False),
    )).run_and_exit(run)


if __name__ == "__main__":
    main()
