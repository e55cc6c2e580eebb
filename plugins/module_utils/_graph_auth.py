# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Credentials -> access token (msal), and where to find Entra ID and Graph for each cloud.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress
import logging
import os
import re
import threading
import time
from urllib.parse import urlsplit

try:
    import msal
    # msal 1.29.0 to 1.32.0 do not import their exceptions submodule themselves: name it, or msal.exceptions
    # is an AttributeError at import time on the oldest msal that requirements.txt admits.
    import msal.exceptions
except ImportError:  # the module base reports it with missing_required_lib
    msal = None
else:
    # msal logs a token answer it cannot parse, body and all, and Python prints unhandled log records on stderr:
    # a truncated token answer must not end up there.
    logging.getLogger("msal").addHandler(logging.NullHandler())
    logging.getLogger("msal").propagate = False

try:
    import requests
    import urllib3
except ImportError:  # the module base reports it with missing_required_lib
    requests = urllib3 = None

try:
    import requests
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url
except ImportError:  # the module base reports it with missing_required_lib
    requests = None

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import (
        BestAvailableEncryption, Encoding, NoEncryption, PrivateFormat, PublicFormat, load_pem_private_key, pkcs12)
except ImportError:  # cryptography comes with msal
    x509 = None

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    AuthenticationError, ConfigurationError, GraphTransportError, O365AdminError, ProxyAuthenticationError, clause)
from ansible_collections.o365.admin.plugins.module_utils._graph_client import describe_answer, safe_excerpt
from ansible_collections.o365.admin.plugins.module_utils._permissions import token_roles
from ansible_collections.o365.admin.plugins.module_utils._token_cache import (
    DEFAULT_TOKEN_CACHE_PATH, MIN_REMAINING_S, TokenCacheFile, cached_access_token, partition_key)

# What msal raises for an answer it will not use: MsalServiceError ("HTTP Error: 503", from its throttling
# wrapper) or requests' HTTPError for a 5xx, ValueError (json's JSONDecodeError) for one that is not JSON,
# KeyError/TypeError for JSON of the wrong shape, RuntimeError for a discovery it gave up on; and what requests,
# urllib3 and the OS raise underneath.
MSAL_FAILURES = (ValueError, KeyError, TypeError, AttributeError, RuntimeError, OSError)
if requests is not None:
    MSAL_FAILURES += (requests.exceptions.RequestException, urllib3.exceptions.HTTPError)
if msal is not None:
    MSAL_FAILURES += (msal.exceptions.MsalError,)


# name -> (Entra authority host, Graph endpoint). Microsoft's national cloud deployments page.
CLOUDS = {
    "public": ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "usgov": ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    "usgovdod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    "china": ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
}
DEFAULT_CLOUD = "public"
# AWX's "Microsoft Azure Resource Manager" credential injects AZURE_CLOUD_ENVIRONMENT with Azure's names, which
# have no DoD cloud: AzureUSGovernment is GCC High. Graph PowerShell's -Environment names (Global, USGov, USGovDoD,
# China) are accepted as well, so DoD is reachable as AZURE_CLOUD_ENVIRONMENT=USGovDoD.
AZURE_CLOUD_ENVIRONMENT_NAMES = {
    "azurecloud": "public",
    "azureusgovernment": "usgov",
    "azurechinacloud": "china",
    "global": "public",
}
MICROSOFT_AUTHORITY_HOSTS = frozenset(urlsplit(authority).hostname for authority, dummy in CLOUDS.values())
PEM_BLOCK_RE = re.compile(rb"-----BEGIN (?P<label>[A-Z0-9 ]+)-----.*?-----END (?P=label)-----", re.DOTALL)
DEFAULT_PORTS = {"https": 443, "http": 80}
URL_SCHEME_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
# What a host may be once requests has IDNA-encoded it: DNS labels, an IPv4 address, or a bracketed IPv6 one.
HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")

# Hints for the AADSTS codes people meet when setting up an app registration, each code as Microsoft's
# "Microsoft Entra authentication and authorization error codes" list names it (learn.microsoft.com/entra/
# identity-platform/reference-error-codes); the words are ours and say what to change in this collection's options.
_SET_CLOUD = "set cloud (or AZURE_CLOUD_ENVIRONMENT) to the cloud where the app is registered"
_OTHER_CLOUD = ("an app or tenant registered in another cloud (Azure Government/GCC High, DoD, 21Vianet) is not "
                "found in this one: " + _SET_CLOUD)
AADSTS_HINTS = {
    # The credential itself.
    7000215: "the client secret is wrong: use the secret's Value, not its Secret ID; if two environment variables "
             "hold a secret (AZURE_CLIENT_SECRET and AZURE_SECRET), the first one set is sent",
    7000222: "the client secret has expired: create a new one in the app registration",
    7000218: "no credential was sent: give client_secret, client_certificate_path or access_token",
    700027: "the certificate that signed the request is not one registered on the app: upload the certificate whose "
            "private key is in client_certificate_path (Certificates & secrets), or point to the right file",
    50012: "the certificate was refused (its thumbprint, subject name or chain is not authorized for this app)",
    # The app registration and its service principal.
    700016: "no app with this client_id exists in the tenant: check client_id and tenant_id; " + _OTHER_CLOUD,
    700011: "no app with this client_id exists in the tenant: check client_id and tenant_id; " + _OTHER_CLOUD,
    7000229: "the app has no service principal in this tenant: a multi-tenant app must be consented in each tenant "
             "it acts in; an administrator of this tenant grants admin consent to this client_id (the tenant's "
             "adminconsent URL, or Enterprise applications), which creates it",
    70001: "the application is disabled in this tenant: an administrator must enable it",
    7000112: "the application is disabled in this tenant: an administrator must enable it (Enterprise "
             "applications, Properties, Enabled for users to sign in)",
    53003: "Conditional Access blocked the token: a policy for workload identities (such as a location "
           "condition) applies to this app; ask an administrator to check the sign-in logs",
    530032: "a security policy of the tenant blocked the token: ask an administrator to check the sign-in logs",
    # The tenant and the cloud.
    90002: "the tenant was not found: check tenant_id (its ID or a verified domain); " + _OTHER_CLOUD,
    90038: "the tenant belongs to another national cloud: " + _SET_CLOUD,
    900382: "a confidential client cannot sign in across clouds: the app, the tenant and authority_host must all "
            "be in one cloud; " + _SET_CLOUD,
    900432: "a confidential client cannot sign in across clouds: the app, the tenant and authority_host must all "
            "be in one cloud; " + _SET_CLOUD,
    90051: "the national cloud named in the request is not valid: check cloud and authority_host",
    50049: "authority_host is not an Entra ID instance Microsoft knows: use the cloud option, or the authority "
           "host of your cloud",
    9001023: "tenant_id must be the tenant's ID or domain, not common or consumers, for an app's own token",
    90124: "tenant_id must be the tenant's ID or domain, not common or consumers",
    90130: "tenant_id must be the tenant's ID or domain, not common or consumers",
    50059: "no tenant was named: give tenant_id (the tenant's ID or a verified domain)",
    90019: "no tenant was named: give tenant_id (the tenant's ID or a verified domain)",
    50128: "the tenant's domain name is not valid: check tenant_id",
    # The resource (Graph) asked for.
    500011: "Microsoft Graph of graph_endpoint is not known in this tenant's cloud: graph_endpoint and "
            "authority_host must belong to one cloud (set cloud and leave both unset)",
    1002012: "the scope is not valid for this cloud's Graph endpoint",
    70011: "the scope asked for is not valid: graph_endpoint must be Microsoft Graph's root of this cloud",
}
# Codes whose fix is the cloud: the message says which authority and Graph the task used.
CLOUD_HINT_CODES = frozenset([700016, 700011, 90002, 90038, 900382, 900432, 90051, 50049, 500011])


def is_loopback_host(host):
    """True for localhost and loopback addresses (IPv6 with or without its URL brackets); nothing else."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_example(name):
    return "https://graph.microsoft.com" if name == "graph_endpoint" else "https://login.microsoftonline.com"


def _url_error(name, value, why):
    return ConfigurationError("%s %r is not usable: %s. Write it as https://host or https://host:port, such as %s."
                              % (name, value, why, _url_example(name)))


def _clear_text_error(name, value):
    return ConfigurationError(
        "%s %r must use https, such as %s: tokens are never sent in clear. Plain http is accepted only for a "
        "loopback host (127.0.0.1, ::1, localhost), such as a local test server." % (name, value, _url_example(name)))


def _normalise_url(name, value, allow_loopback_http, strip_path=None):
    """Check an endpoint with the parser the transport uses (urllib3's, behind requests) and return it as
    scheme://host[:port]. Python's urlsplit and urllib3 disagree on backslashes and user-info, so a URL that
    looked loopback to one could send the token, in clear, to another host: such forms are refused outright."""
    if not isinstance(value, str) or not value:
        raise _url_error(name, value, "it is empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise _url_error(name, value, "it contains whitespace or control characters")
    if "\\" in value:
        raise _url_error(name, value, "it contains a backslash, which URL parsers read differently")
    scheme = URL_SCHEME_RE.match(value)
    if not scheme:
        value = "https://" + value
    elif scheme.group("scheme").lower() not in ("http", "https"):
        raise _clear_text_error(name, value)
    try:
        prepared = requests.models.PreparedRequest()
        prepared.prepare_url(value, None)
        parts = parse_url(prepared.url)
    except (ValueError, requests.exceptions.RequestException, LocationParseError) as exc:
        raise _url_error(name, value, "it cannot be parsed as a URL (%s)" % exc)
    if parts.auth is not None or "@" in value:
        raise _url_error(name, value, "it holds user information before an @, so requests would go to %r" % parts.host)
    if "?" in value or "#" in value:
        raise _url_error(name, value, "it holds a query or fragment")
    if "%" in value:
        raise _url_error(name, value, "it holds percent-encoded characters")
    host = parts.host or ""
    if not HOST_RE.fullmatch(host):
        raise _url_error(name, value, "%r is not a host name or IP address" % host)
    path = (parts.path or "").rstrip("/")
    if path and path.lower() != (strip_path or "").lower():
        if strip_path:
            raise _url_error(name, value, "it holds the path %r; only the host (and an optional %s) is given here"
                             % (parts.path, strip_path))
        raise _url_error(name, value, "it holds the path %r; only the host is given here" % parts.path)
    scheme = parts.scheme.lower()
    # The scope is built from this endpoint: write it as Microsoft's resource identifiers are, without a default port.
    port = "" if parts.port in (None, DEFAULT_PORTS[scheme]) else ":%d" % parts.port
    endpoint = "%s://%s%s" % (scheme, host, port)
    if scheme == "https":
        return endpoint
    if scheme == "http" and allow_loopback_http and is_loopback_host(host):
        return endpoint
    raise _clear_text_error(name, value)


class ConnectionSettings:
    """Where Entra ID and Graph are, after options, module_defaults, environment and cloud presets."""

    def __init__(self, params, environ=None):
        environ = os.environ if environ is None else environ
        self.cloud = self._resolve_cloud(params.get("cloud"), environ.get("AZURE_CLOUD_ENVIRONMENT"))
        preset_authority, preset_graph = CLOUDS[self.cloud]
        # msal itself insists on https authorities, so loopback http is no exception here.
        self.authority_host = _normalise_url("authority_host", params.get("authority_host") or preset_authority,
                                             allow_loopback_http=False)
        # Microsoft's docs show https://graph.microsoft.com/v1.0: the version is added per call, so it is dropped.
        self.graph_endpoint = _normalise_url("graph_endpoint", params.get("graph_endpoint") or preset_graph,
                                             allow_loopback_http=True, strip_path="/v1.0")
        self.tenant_id = params.get("tenant_id")

    @staticmethod
    def _resolve_cloud(option, environment_value):
        if option:
            return option
        if environment_value:
            key = environment_value.strip().lower()
            if key in CLOUDS:
                return key
            if key in AZURE_CLOUD_ENVIRONMENT_NAMES:
                return AZURE_CLOUD_ENVIRONMENT_NAMES[key]
            raise ConfigurationError(
                "AZURE_CLOUD_ENVIRONMENT=%r is not a cloud this collection knows: use one of %s, or %s."
                % (environment_value, ", ".join(sorted(CLOUDS)),
                   ", ".join(["AzureCloud", "AzureUSGovernment (GCC High)", "AzureChinaCloud", "Global", "USGov",
                              "USGovDoD", "China"])))
        return DEFAULT_CLOUD

    @property
    def authority(self):
        return "%s/%s" % (self.authority_host, self.tenant_id)

    @property
    def scope(self):
        return "%s/.default" % self.graph_endpoint

    @property
    def authority_is_microsoft(self):
        return parse_url(self.authority_host).host in MICROSOFT_AUTHORITY_HOSTS


def _fingerprint(certificate):
    return certificate.fingerprint(hashes.SHA256()).hex()


def _public_key_bytes(public_key):
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _chain_for_key(path, key, certificates):
    """The certificates with the one whose public key is the private key's first, the rest in their file order.

    Vaults and CAs export chains in any order (key, root, leaf is common): the certificate Entra ID knows the
    app by is the one that matches the key, never simply the first."""
    wanted = _public_key_bytes(key.public_key())
    matching = [c for c in certificates if _public_key_bytes(c.public_key()) == wanted]
    if not matching:
        raise ConfigurationError(
            "client_certificate_path %r holds %d certificate(s) but none of them matches its private key (%s): "
            "the app's own certificate is missing from the file." % (
                path, len(certificates), "; ".join(c.subject.rfc4514_string() or "no subject" for c in certificates)))
    leaf = matching[0]
    return [leaf] + [c for c in certificates if c is not leaf]


def msal_version(version=None):
    """msal's version as a tuple of ints, (1, 29, 0); () when msal is missing or the version is unreadable."""
    if version is None:
        version = getattr(msal, "__version__", "") if msal is not None else ""
    parts = []
    for part in version.split("."):
        match = re.match(r"^\d+", part)
        if not match:
            break
        parts.append(int(match.group(0)))
    return tuple(parts)


# msal computes the certificate's thumbprint from public_certificate (and signs with x5t#S256) from 1.35.0;
# before that it refuses a credential without one ("client_credential needs to follow this format").
MSAL_COMPUTES_THUMBPRINT = (1, 35)


def _credential(key_pem, chain, password):
    """msal's client_credential for a key and a chain (leaf first): msal sends the chain as x5c (subject
    name/issuer authentication) and takes the thumbprint from the first certificate of public_certificate; an
    msal older than 1.35 is given the leaf's SHA-1 thumbprint (x5t), the only one it can send."""
    credential = {"private_key": key_pem,
                  "public_certificate": "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in chain),
                  "fingerprint": _fingerprint(chain[0])}
    if msal_version() < MSAL_COMPUTES_THUMBPRINT:
        credential["thumbprint"] = chain[0].fingerprint(hashes.SHA1()).hex()
    if password:
        credential["passphrase"] = password
    return credential


def load_certificate_credential(path, password=None):
    """Turn a PEM (key + certificates) or PKCS#12 file into msal's client_credential; msal computes the thumbprint.

    Whatever order the file holds them in, the certificate used is the one whose public key matches the private
    key, and the rest of the chain follows it. The returned dict also holds that certificate's SHA-256
    ``fingerprint`` (for the token cache), not for msal.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise ConfigurationError("Cannot read client_certificate_path %r: %s." % (path, exc.strerror or exc))
    passphrase = password.encode("utf-8") if password else None
    if b"-----BEGIN" in data:
        # Read as OpenSSL does, as bytes: exports put "Bag Attributes" with any bytes (a friendlyName such as
        # Müller) around the blocks. Only the blocks themselves, which are ASCII, go to msal.
        blocks = [(match.group("label"), match.group(0)) for match in PEM_BLOCK_RE.finditer(data)]
        keys = [block for label, block in blocks if label.endswith(b"PRIVATE KEY")]
        certificate_blocks = [block for label, block in blocks if label == b"CERTIFICATE"]
        if not keys or not certificate_blocks:
            raise ConfigurationError(
                "client_certificate_path %r must hold both the private key and the certificate in PEM form." % path)
        try:
            key = load_pem_private_key(keys[0], passphrase)
            certificates = [x509.load_pem_x509_certificate(block) for block in certificate_blocks]
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "Cannot load the PEM private key or certificate in %r: %s. If the key is encrypted, give "
                "client_certificate_password." % (path, clause(exc)))
        # The key goes to msal as it was written (still encrypted, if it was).
        return _credential(keys[0].decode("latin-1"), _chain_for_key(path, key, certificates), password)
    try:
        key, certificate, additional = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "Cannot load %r as PEM or PKCS#12 (PFX): %s. Check the file and client_certificate_password."
            % (path, clause(exc)))
    certificates = ([certificate] if certificate is not None else []) + list(additional or [])
    if key is None or not certificates:
        raise ConfigurationError("The PKCS#12 file %r must hold both the private key and the certificate." % path)
    # msal would read the PFX itself, but takes whichever certificate the file names first: the key goes to it
    # in PEM form instead (encrypted again with the same password), with the matching certificate first.
    encryption = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption).decode("ascii")
    return _credential(key_pem, _chain_for_key(path, key, certificates), password)


class StaticTokenSource:
    """A pre-acquired access token, used as given (no msal, no cache)."""

    def __init__(self, access_token):
        self._access_token = access_token
        self.token_requests = 0
        self.warnings = []
        self.failure = None  # a given token is never requested, so never fails to come

    def get_token(self):
        return self._access_token

    def current_token(self):
        """(access token, generation); a given token never changes."""
        return self._access_token, 1

    def renew_stale(self, generation=None):
        """A token given by the user cannot be renewed."""
        return False

    def granted_roles(self):
        """The application permissions the given token lists (roles claim), or None if it cannot tell."""
        return token_roles(self._access_token)


class MsalHttpClient:
    """msal's http_client interface on top of our transport, so msal shares its session, TLS and retries."""

    def __init__(self, transport):
        self.transport = transport
        self.last_response = None  # what Entra ID answered last, to explain an answer msal could not use

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        self.last_response = self.transport.send("POST", url, headers=headers, params=params, data=data)
        return self.last_response

    def get(self, url, params=None, headers=None, **kwargs):
        self.last_response = self.transport.send("GET", url, headers=headers, params=params)
        return self.last_response

    def close(self):
        """msal may call this; the session belongs to the module."""


class MsalTokenSource:
    """Client-credentials tokens from msal, built on first use so bad input fails before any network call.

    With a cache file, a token another task or fork stored is used without building msal at all; otherwise
    one is requested under the file's lock and stored for the tasks after this one.
    """

    def __init__(self, settings, client_id, client_credential, transport, cache_file=None, secrets=()):
        self.settings = settings
        self.client_id = client_id
        self.client_credential = client_credential
        self.transport = transport
        self.cache_file = cache_file
        self.secrets = [s for s in secrets if s]
        self.token_requests = 0
        self.warnings = []
        self._cache = msal.SerializableTokenCache() if msal else None
        self._app = None
        self._http_client = MsalHttpClient(transport)
        self._token = None  # (access token, expires_on): no lock or file read for every Graph call
        self._lock = threading.Lock()  # parallel $batch calls must not each request a token
        self._from_cache_file = False
        self.failure = None  # the first AuthenticationError met: no token, so nothing more can be sent
        # Which token a request carried: it grows each time a different token is served, so a 401/403 can be
        # told apart as "refused the token still in use" or "refused an older one, resend with the current".
        self._generation = 0
        self._served = None

    def _application(self):
        if self._app is None:
            kwargs = {}
            if not self.settings.authority_is_microsoft:
                # Instance discovery asks login.microsoftonline.com about the host: meaningless for others.
                kwargs["instance_discovery"] = False
            self._http_client.last_response = None
            try:
                # msal reads the authority's OpenID configuration here: the first network call.
                self._app = msal.ConfidentialClientApplication(
                    self.client_id, client_credential=self.client_credential, authority=self.settings.authority,
                    http_client=self._http_client, token_cache=self._cache, **kwargs)
            except ProxyAuthenticationError:
                raise  # the proxy's refusal, not Entra ID's
            except GraphTransportError as error:
                raise self._no_answer(error, "read the OpenID configuration of the authority %s"
                                      % self.settings.authority)
            except O365AdminError:
                raise
            except MSAL_FAILURES as exc:
                response = self._http_client.last_response
                if isinstance(exc, ValueError) and (response is None or 400 <= response.status_code < 500):
                    # msal's own words for an unknown tenant or an authority it refuses.
                    raise AuthenticationError("Cannot use the Entra ID authority %s: %s."
                                              % (self.settings.authority, self._scrub(str(exc)).rstrip(".")))
                raise self._unreadable_answer(exc, "read the OpenID configuration of the authority %s"
                                              % self.settings.authority)
        return self._app

    def get_token(self):
        return self.current_token()[0]

    def current_token(self):
        """(access token, generation) of the token to send now."""
        with self._lock:
            return self._serve(self._get_token())

    def _serve(self, token):
        if token != self._served:
            self._served = token
            self._generation += 1
        return token, self._generation

    def _get_token(self):
        if self._token and self._token[1] - time.time() > MIN_REMAINING_S:
            return self._token[0]
        if self.cache_file is None:
            return self._acquire()
        with self.cache_file.locked():
            self.cache_file.load_into(self._cache)
            self._token = cached_access_token(self._cache, self.client_id, self.settings.scope)
            if self._token:
                self._from_cache_file = True
                return self._token[0]
            token = self._acquire()
            self.cache_file.save(self._cache)
            return token

    def granted_roles(self):
        """The application permissions of the token in use (its roles claim), or None before any token or if the
        token cannot tell. Reads no network and never shows the token."""
        token = self._served or (self._token[0] if self._token else None)
        return token_roles(token) if token else None

    def renew_stale(self, generation=None):
        """A request carrying token ``generation`` (None: the current one) was answered 401/403. True if the
        request is worth sending again with the current token: it carried an older token, or the current one
        came from the cache file (it may predate a permission just granted, or have been revoked) and has just
        been replaced by a new one. A token this source requested itself is never renewed: its 401/403 stands.

        Thread-safe: parallel $batch calls that all carried the stale token renew it once, and all resend."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return True
            if not self._from_cache_file:
                return False
            self._from_cache_file = False
            self._token = None
            self._cache = msal.SerializableTokenCache()  # forget the stale token; the file's copy is replaced
            self._app = None
            with self.cache_file.locked():
                token = self._acquire()
                self.cache_file.save(self._cache)
            self._serve(token)
            return bool(token)

    def _acquire(self):
        try:
            return self._request_token()
        except AuthenticationError as error:
            # Kept so that a bulk run that stops on it says it once, not once per user (see GraphModule).
            self.failure = self.failure or error
            raise

    def _request_token(self):
        application = self._application()
        self._http_client.last_response = None
        try:
            result = application.acquire_token_for_client(scopes=[self.settings.scope])
        except ProxyAuthenticationError:
            self.token_requests += 1
            raise  # the proxy's refusal, not Entra ID's
        except GraphTransportError as error:
            self.token_requests += 1
            raise self._no_answer(error, "issue a token for client_id %s in tenant %s"
                                  % (self.client_id, self.settings.tenant_id))
        except O365AdminError:
            raise
        except MSAL_FAILURES as exc:
            self.token_requests += 1
            raise self._unreadable_answer(exc, "issue a token for client_id %s in tenant %s"
                                          % (self.client_id, self.settings.tenant_id))
        if result.get("token_source") != "cache":
            self.token_requests += 1
        if "access_token" in result:
            try:
                lifetime_s = int(result.get("expires_in", 0))
            except (TypeError, ValueError):
                lifetime_s = 0  # used for this task only: the next call asks msal again
            self._token = (result["access_token"], int(time.time()) + lifetime_s)
            return result["access_token"]
        raise self._error(result)

    @staticmethod
    def _no_answer(error, doing):
        """A token that did not come is an AuthenticationError: nothing was sent to Graph, whatever Entra ID did."""
        return AuthenticationError("Entra ID could not %s: %s" % (doing, error.message), error="no_answer")

    def _unreadable_answer(self, exc, doing):
        """An AuthenticationError for what msal raised: a 5xx it refuses to read, or an answer it cannot parse."""
        response = getattr(exc, "response", None)
        if response is None:
            response = self._http_client.last_response
        if response is None:
            return AuthenticationError("Entra ID could not %s: %s (%s)." % (
                doing, safe_excerpt(self._scrub(str(exc)), 300) or "no reason given", exc.__class__.__name__))
        url = urlsplit(response.url or "")
        where = "%s://%s%s" % (url.scheme, url.netloc, url.path) if url.netloc else "Entra ID"
        attempts = getattr(response, "attempts", 1)
        envelope = _json_or_none(response)
        envelope = envelope if isinstance(envelope, dict) else {}
        error_codes = envelope.get("error_codes") if isinstance(envelope.get("error_codes"), list) else []
        error = envelope.get("error") if isinstance(envelope.get("error"), str) else None
        if response.status_code >= 500:
            message = ("Entra ID could not %s: %s answered HTTP %d after %d attempt(s) (%s). Entra ID or a proxy "
                       "on the way is unavailable; try again later or raise max_retries."
                       % (doing, where, response.status_code, attempts, self._scrub(describe_answer(response))))
        else:
            message = ("Entra ID could not %s: %s answered HTTP %d with something msal cannot read (%s; %s: %s). "
                       "A proxy or a wrong authority_host may be answering: check HTTPS_PROXY, NO_PROXY and "
                       "authority_host." % (doing, where, response.status_code,
                                            self._scrub(describe_answer(response)), exc.__class__.__name__,
                                            safe_excerpt(self._scrub(str(exc)), 120)))
        correlation_id = envelope.get("correlation_id") if isinstance(envelope.get("correlation_id"), str) else None
        return AuthenticationError(message, error=error or "unreadable_answer", error_codes=error_codes,
                                   correlation_id=correlation_id)

    def _scrub(self, text):
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def _error(self, result):
        error = result.get("error") or "unknown_error"
        description = self._scrub((result.get("error_description") or "").splitlines()[0] if
                                  result.get("error_description") else "")
        codes = result.get("error_codes") or []
        codes = [code for code in codes if isinstance(code, int) and not isinstance(code, bool)] \
            if isinstance(codes, list) else []
        hints = [AADSTS_HINTS[c] for c in codes if c in AADSTS_HINTS]
        if CLOUD_HINT_CODES.intersection(codes):
            hints.append("this task used cloud %s: authority %s, Graph %s" % (
                self.settings.cloud, self.settings.authority_host, self.settings.graph_endpoint))
        message = "Entra ID refused a token for client_id %s in tenant %s (%s)" % (
            self.client_id, self.settings.tenant_id, error)
        if description:
            message += ": %s" % clause(description)
        if hints:
            message += ". Hint: %s" % "; ".join(hints)
        message += "."
        return AuthenticationError(message, error=error, error_codes=codes,
                                   correlation_id=result.get("correlation_id"))


def _json_or_none(response):
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


# Authority aliases that stand for many tenants: fine for a user's sign-in, never for client credentials.
MULTI_TENANT_AUTHORITIES = ("common", "organizations", "consumers")


def build_token_source(params, settings, transport):
    """Choose the credential: access_token, then certificate, then client secret."""
    if params.get("access_token"):
        return StaticTokenSource(params["access_token"])
    missing = [name for name in ("tenant_id", "client_id") if not params.get(name)]
    if missing:
        raise ConfigurationError(
            "Missing %s: give them as options, through module_defaults (group/o365.admin.graph), or as "
            "AZURE_TENANT_ID / AZURE_CLIENT_ID in the environment; or give access_token." % " and ".join(missing))
    if str(params["tenant_id"]).strip().lower() in MULTI_TENANT_AUTHORITIES:
        # Entra answers these with an AADSTS error after the discovery and the token request; say it first.
        raise ConfigurationError(
            "tenant_id %r names no tenant: an app's own (client credentials) token is issued by one tenant, so give "
            "its directory (tenant) ID or a verified domain such as contoso.onmicrosoft.com." % params["tenant_id"])
    if params.get("client_certificate_path"):
        credential = load_certificate_credential(params["client_certificate_path"],
                                                 params.get("client_certificate_password"))
        fingerprint = credential.pop("fingerprint")
    elif params.get("client_secret"):
        credential = params["client_secret"]
        fingerprint = hashlib.sha256(credential.encode("utf-8")).hexdigest()
    else:
        raise ConfigurationError(
            "No credential: give client_certificate_path (preferred), client_secret or access_token, as options "
            "or through AZURE_CLIENT_CERTIFICATE_PATH / AZURE_CLIENT_SECRET.")
    source = MsalTokenSource(settings, params["client_id"], credential, transport,
                             secrets=(params.get("client_secret"), params.get("client_certificate_password")))
    if params.get("token_cache", True):
        source.cache_file = TokenCacheFile(params.get("token_cache_path") or DEFAULT_TOKEN_CACHE_PATH,
                                           partition_key(settings.authority, params["client_id"], settings.scope,
                                                         fingerprint),
                                           source.warnings.append)
    return source
