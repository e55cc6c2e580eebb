# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection and credential options shared by every module; the argument spec they document is
    # GRAPH_COMMON_ARGUMENT_SPEC in plugins/module_utils/_graph_module.py.
    DOCUMENTATION = r"""
options:
  tenant_id:
    description:
      - The Entra ID tenant (directory) ID or one of its verified domain names.
      - If not set, the environment variable E(AZURE_TENANT_ID) is used, then E(AZURE_TENANT) (set by the
        AWX/Automation Controller "Microsoft Azure Resource Manager" credential).
      - Required unless O(access_token) is given.
    type: str
  client_id:
    description:
      - The application (client) ID of the app registration.
      - If not set, the environment variable E(AZURE_CLIENT_ID) is used.
      - Required unless O(access_token) is given.
    type: str
  client_secret:
    description:
      - A client secret of the app registration (its Value, not its Secret ID).
      - If not set, the environment variable E(AZURE_CLIENT_SECRET) is used, then E(AZURE_SECRET). When both are
        set with different values, the task warns which one it used (never the values); the same for
        E(AZURE_TENANT_ID) and E(AZURE_TENANT).
      - Ignored when O(client_certificate_path) or O(access_token) is given.
    type: str
  client_certificate_path:
    description:
      - Path to the app's certificate credential, preferred over a secret. Either a PEM file holding the private
        key and the certificate, or a PKCS#12 (PFX) file.
      - Thumbprints are computed from the certificate; there is no need to give one. The certificate used is the one
        whose public key matches the private key, whatever the order of the file (a chain exported as key, root
        CA, leaf works); the rest of the chain goes with it.
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PATH) is used.
      - Ignored when O(access_token) is given.
    type: path
  client_certificate_password:
    description:
      - Password of an encrypted PEM private key or of the PKCS#12 file.
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PASSWORD) is used.
    type: str
  access_token:
    description:
      - A pre-acquired access token for Microsoft Graph, used as it is (no token request, no cache).
      - Takes precedence over every other credential.
    type: str
  cloud:
    description:
      - The Microsoft cloud; sets both the Entra ID authority host and the Graph endpoint.
      - V(public) is login.microsoftonline.com and graph.microsoft.com; V(usgov) (GCC High) is
        login.microsoftonline.us and graph.microsoft.us; V(usgovdod) is login.microsoftonline.us and
        dod-graph.microsoft.us; V(china) is login.chinacloudapi.cn and microsoftgraph.chinacloudapi.cn.
      - If not set, the environment variable E(AZURE_CLOUD_ENVIRONMENT) is used; otherwise V(public). It takes
        Azure's names as the AWX/Automation Controller "Microsoft Azure Resource Manager" credential injects them
        (V(AzureCloud) is V(public), V(AzureUSGovernment) is V(usgov), V(AzureChinaCloud) is V(china)),
        Microsoft Graph PowerShell's environment names (V(Global), V(USGov), V(USGovDoD), V(China)), or one of
        the choices, in any case.
      - Azure has no name for the DoD cloud, so V(AzureUSGovernment) always means GCC High. To reach DoD, set
        O(cloud=usgovdod), or E(AZURE_CLOUD_ENVIRONMENT=USGovDoD), or keep V(AzureUSGovernment) and set
        O(graph_endpoint=https://dod-graph.microsoft.us).
    type: str
    choices: [public, usgov, usgovdod, china]
  authority_host:
    description:
      - Overrides the Entra ID authority host of O(cloud), for example V(https://login.microsoftonline.us).
        A host without a scheme gets V(https://).
      - If not set, the environment variable E(AZURE_AUTHORITY_HOST) is used.
      - Must be https (msal requires it). For a host that is not one of Microsoft's, msal's instance discovery is
        turned off.
      - Only a scheme, host and port. A path, query, fragment, user information (C(name@) before the host),
        percent-encoding, backslash or whitespace is refused before any network call, because URL parsers disagree
        on where such URLs lead.
    type: str
  graph_endpoint:
    description:
      - Overrides the Microsoft Graph endpoint of O(cloud), without the version, for example
        V(https://graph.microsoft.us). The token scope is this endpoint followed by C(/.default).
      - Must be https; plain http is accepted only for a loopback host (127.0.0.0/8, ::1, localhost), such as a
        local test server or validating proxy.
      - A trailing C(/v1.0), as Microsoft's documentation writes it, is accepted and dropped (the module adds the
        version to each call). Any other path, and a query, fragment, user information (C(name@) before the host),
        percent-encoding, backslash or whitespace, is refused before any network call.
      - If not set, the environment variable E(O365_GRAPH_ENDPOINT) is used (an empty value counts as not set).
    type: str
  validate_certs:
    description:
      - Whether to verify TLS certificates of Entra ID and Graph. Only set to V(false) against a test server.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM bundle of CA certificates to trust instead of the system's, for Entra ID and Graph alike
        (for example behind a TLS-inspecting proxy).
      - A certificate that cannot be verified fails the task at once, naming the host, without retries.
      - If not set, the environment variable E(O365_CA_PATH) is used (an empty value counts as not set), so that
        an AWX credential type or an Execution Environment can set it.
      - The standard proxy variables E(HTTPS_PROXY) and E(NO_PROXY) apply to both as well. A proxy that answers
        407 (its user name or password in E(HTTPS_PROXY) missing or wrong) fails the task at once, without retries,
        naming the proxy.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP answer from Entra ID or Graph.
    type: float
    default: 30
  max_retries:
    description:
      - How many times a request is retried after HTTP 429, 503, 504, a connection error, a read timeout or an
        answer cut off in transfer. A request whose answer was lost is sent again too, as the operations of this
        collection are safe to repeat.
      - Each retry waits for the service's C(Retry-After) (delta-seconds in ASCII digits, or an HTTP date), or an
        exponential backoff with jitter when it sends none or one that cannot be read.
      - No single wait is longer than 60 seconds, whatever C(Retry-After) says, so one request waits at most
        O(max_retries) times 60 seconds between its attempts, each attempt bounded by O(timeout).
      - Other errors are never retried, and neither is an untrusted TLS certificate (see O(ca_path)).
    type: int
    default: 4
  token_cache:
    description:
      - Whether to keep access tokens in O(token_cache_path), so that the tasks and forks after the first of a run
        (and later runs, for the token's lifetime of about an hour) make no token request.
      - Never applies to O(access_token).
      - If Graph answers 401 or 403 to a token that came from the cache (for example one obtained before a
        permission was granted), a new token is requested once and the refused requests are sent again.
    type: bool
    default: true
  token_cache_path:
    description:
      - The token cache file. Defaults to C(~/.ansible/o365_admin/token_cache.json).
      - Created with mode 0600 in a directory created with mode 0700 (missing parents too), written atomically
        under a lock so that forks share it safely. Tokens are kept apart by cloud, tenant, app, resource and
        credential (a hash of the secret or certificate, never the secret itself).
      - As ssh does with its keys, a directory or file owned by another user, a directory others can write, a
        symbolic link at the file or its C(.lock), or a directory in the file's place is not used, with a warning;
        the task goes on without the cache. So does a path that cannot be created. A file others can read or write
        is not trusted and is written again with mode 0600. A corrupt, unreadable or wrong-shaped file is ignored
        with a warning and rebuilt.
      - It holds bearer tokens, so keep it on a private, local disk.
    type: path
notes:
  - The credential used is the first of O(access_token), O(client_certificate_path) and O(client_secret) that is
    set, from the task, C(module_defaults) or the environment, in that order of precedence.
  - Requires the Python libraries C(msal) and C(requests) on the host that runs the module (usually the
    controller, with C(ansible_python_interpreter) set to C({{ ansible_playbook_python }})).
requirements:
  - msal >= 1.29
  - requests
"""

    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/o365.admin.graph) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - o365.admin.graph
"""
