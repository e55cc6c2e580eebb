#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: o365_revoke_sessions
short_description: Revoke a Microsoft 365 user's sign-in sessions
version_added: 0.1.0
description:
  - Invalidates every refresh token issued to applications for a user, and the session cookies in the user's
    browser, through Microsoft Graph C(POST /users/{id | userPrincipalName}/revokeSignInSessions).
  - The user must sign in again to every application. Use it to throw a departing or compromised user out now.
  - There may be a delay of a few minutes before the tokens stop working; access tokens already issued stay
    valid until they expire.
  - The app needs the Microsoft Graph application permission C(User.RevokeSessions.All), with admin consent.
    Check mode also reads the user, which needs C(User.Read.All).
options:
  user:
    description:
      - The user, by object ID (a GUID) or by user principal name (UPN), for example V(adele@contoso.com).
      - "A UPN may only hold the characters C(A-Z a-z 0-9 ' . - _ ! # ^ ~) before its single C(@) (no accented
        characters), optionally after a leading C($), and a DNS domain after it. Anything else is rejected before
        any network call."
      - Give the UPN as it is; the module encodes it. A UPN that begins with C($) is addressed as
        C(/users('$name@domain')), and the C(#) of a B2B guest's C(#EXT#) is sent as C(%23).
    type: str
    required: true
    aliases: [user_id, user_principal_name, upn]
extends_documentation_fragment:
  - o365.admin.graph
  - o365.admin.graph.action_group
attributes:
  check_mode:
    support: full
    description:
      - No revoke is sent. The user is read so that a wrong ID or UPN fails the dry run too; if the app may not
        read users, a warning says the user could not be confirmed.
  diff_mode:
    support: none
    description: There is nothing to compare; a revoke has no before and after that Graph shows.
notes:
  - External (B2B) guests sign in at their home tenant; Graph does not revoke those sessions. The module
    succeeds and warns.
  - Any 2xx answer is success, as Microsoft's known-issues page advises (Graph answers 200 with a Boolean).
seealso:
  - name: "Microsoft Graph: user: revokeSignInSessions"
    description: The API this module calls, its permissions and caveats.
    link: https://learn.microsoft.com/graph/api/user-revokesigninsessions
  - name: Microsoft Graph throttling guidance
    description: How 429 answers and Retry-After work.
    link: https://learn.microsoft.com/graph/throttling
author:
  - o365.admin contributors (@o365-admin)
"""

EXAMPLES = r"""
- name: Revoke the sessions of a user by object ID, with a certificate credential
  o365.admin.o365_revoke_sessions:
    user: 6e7b768e-07e2-4810-8459-485f84f8f204
    tenant_id: contoso.onmicrosoft.com
    client_id: 00001111-aaaa-2222-bbbb-3333cccc4444
    client_certificate_path: /etc/o365/revoke-app.pem

- name: Revoke by UPN, credentials from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET
  o365.admin.o365_revoke_sessions:
    user: adele.vance@contoso.com

- name: Dry run, confirm the user exists and send no revoke
  o365.admin.o365_revoke_sessions:
    user: adele.vance@contoso.com
  check_mode: true

- name: Set the connection once for every o365.admin module
  module_defaults:
    group/o365.admin.graph:
      tenant_id: "{{ o365_tenant_id }}"
      client_id: "{{ o365_client_id }}"
      client_secret: "{{ o365_client_secret }}"
  block:
    - name: Revoke a B2B guest's sessions in this tenant (warns that home-tenant sessions are not revoked)
      o365.admin.o365_revoke_sessions:
        user: "AdeleVance_adatum.com#EXT#@contoso.onmicrosoft.com"

    - name: Revoke in GCC High
      o365.admin.o365_revoke_sessions:
        user: "$svc-legacy@contoso.us"
        cloud: usgov
"""

RETURN = r"""
changed:
  description: Whether a revoke was sent and accepted (in check mode, whether one would be sent).
  returned: always
  type: bool
  sample: true
all_sessions_revoked:
  description:
    - Graph's answer (C(value)) to the revoke; V(true) when all the user's refresh tokens are revoked.
    - A 2xx answer without a body counts as V(true). A V(false) answer fails the task.
    - V(null) in check mode.
  returned: always
  type: bool
  sample: true
status_code:
  description: HTTP status of Graph's answer to the revoke; V(null) in check mode.
  returned: always
  type: int
  sample: 200
user:
  description: The user as given.
  returned: always
  type: str
  sample: adele.vance@contoso.com
user_id:
  description: The user's object ID, when Graph told it (check mode reads it).
  returned: when known
  type: str
  sample: 6e7b768e-07e2-4810-8459-485f84f8f204
user_confirmed:
  description: In check mode, whether the user could be read (V(false) when the app lacks C(User.Read.All)).
  returned: in check mode
  type: bool
  sample: true
request_id:
  description: Graph's C(request-id) of the last call, for Microsoft support.
  returned: always
  type: str
  sample: 0f8e3a24-95a8-4a6e-bb6a-1d0f7a0f5f9e
error:
  description: Graph's or Entra ID's error code and message.
  returned: on failure
  type: dict
  sample: {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}
"""

from ansible_collections.o365.admin.plugins.module_utils._errors import GraphApiError, O365AdminError
from ansible_collections.o365.admin.plugins.module_utils._graph_module import GraphModule
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference

REVOKE_PERMISSION = "User.RevokeSessions.All"
READ_PERMISSION = "User.Read.All"


def explain(error, reference, permission):
    """Prefix a Graph error with what it means for this user, and what to do about it."""
    if error.status_code == 403:
        error.message = (
            "The app is not allowed to do this for %s. Grant it the Microsoft Graph application permission %s "
            "(type Application, not Delegated) and have an administrator grant admin consent; for a delegated "
            "access_token, the signed-in user also needs a role such as User Administrator. %s"
            % (reference.value, permission, error.message))
    elif error.status_code == 404:
        error.message = (
            "User %s was not found in the tenant: check the object ID or UPN (a guest's UPN carries #EXT#). %s"
            % (reference.value, error.message))
    return error


def confirm_user(module, client, reference, result):
    """Check mode: read the user so a typo fails the dry run; a 403 only means the app may not read users."""
    try:
        response = client.request("GET", reference.path(), params={"$select": "id,userPrincipalName"})
    except GraphApiError as error:
        if error.status_code != 403:
            raise explain(error, reference, READ_PERMISSION)
        module.warn("Could not confirm that %s exists: the app may not read users (%s needs %s). The revoke would "
                    "still be sent." % (reference.value, error.code, READ_PERMISSION))
        result.update(user_confirmed=False, request_id=error.request_id)
        return
    result.update(user_confirmed=True, user_id=(response.body or {}).get("id"), request_id=response.request_id)


def revoke(client, reference, result):
    try:
        response = client.request("POST", reference.path("/revokeSignInSessions"))
    except GraphApiError as error:
        raise explain(error, reference, REVOKE_PERMISSION)
    body = response.body if isinstance(response.body, dict) else {}
    # Microsoft's known issue: the action may answer without a Boolean; any 2xx is success.
    revoked = body.get("value", True) is True
    result.update(changed=True, all_sessions_revoked=revoked, status_code=response.status_code,
                  request_id=response.request_id)
    if not revoked:
        raise RevokeNotConfirmed(reference, result)


class RevokeNotConfirmed(O365AdminError):
    """Graph accepted the call but said not all sessions were revoked: never report that as success."""

    def __init__(self, reference, result):
        super(RevokeNotConfirmed, self).__init__(
            "Microsoft Graph accepted the revoke for %s but answered value=false: not all sessions are confirmed "
            "revoked (request-id %s). Run the task again." % (reference.value, result.get("request_id")))
        self.result = result

    def details(self):
        return dict(self.result)


def run(module, client):
    reference = UserReference.parse(module.params["user"])
    result = dict(changed=False, user=module.params["user"], all_sessions_revoked=None, status_code=None,
                  request_id=None)
    if reference.is_external_guest:
        module.warn("%s is a B2B guest: Graph revokes the sessions issued by this tenant only, not those at the "
                    "guest's home tenant." % reference.value)
    if module.check_mode:
        confirm_user(module, client, reference, result)
        result["changed"] = True
        return result
    revoke(client, reference, result)
    return result


def main():
    module = GraphModule(
        argument_spec=dict(
            user=dict(type="str", required=True, aliases=["user_id", "user_principal_name", "upn"]),
        ),
        supports_check_mode=True,
    )
    module.run_and_exit(run)


if __name__ == "__main__":
    main()
