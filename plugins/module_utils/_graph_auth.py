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
import os
import threading
import time
from urllib.parse import urlsplit

try:
    import msal
except ImportError:  # the module base reports it with missing_required_lib
    msal = None

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12
except ImportError:  # cryptography comes with msal
    x509 = None

from ansible_collections.o365.admin.plugins.module_utils._errors import AuthenticationError, ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._token_cache import (
    DEFAULT_TOKEN_CACHE_PATH, MIN_REMAINING_S, TokenCacheFile, cached_access_token, partition_key)

# name -> (Entra authority host, Graph endpoint). Microsoft's national cloud deployments page.
CLOUDS = {
    "public": ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "usgov": ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
    "usgovdod": ("https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    "china": ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
}
DEFAULT_CLOUD = "public"
# AWX's "Microsoft Azure Resource Manager" credential injects AZURE_CLOUD_ENVIRONMENT with these names.
AZURE_CLOUD_ENVIRONMENT_NAMES = {
    "azurecloud": "public",
    "azureusgovernment": "usgov",
    "azurechinacloud": "china",
}
MICROSOFT_AUTHORITY_HOSTS = frozenset(urlsplit(authority).hostname for authority, dummy in CLOUDS.values())

# Hints for the AADSTS codes people meet when setting up an app registration.
AADSTS_HINTS = {
    7000215: "the client secret is wrong: use the secret's Value, not its Secret ID",
    7000222: "the client secret has expired: create a new one in the app registration",
    700016: "no app with this client_id exists in the tenant: check client_id and tenant_id",
    90002: "the tenant was not found: check tenant_id and the cloud",
    700027: "the certificate is not registered on the app, or the assertion is invalid",
    1002012: "the scope is not valid for this cloud's Graph endpoint",
    7000218: "no credential was sent: give client_secret, client_certificate_path or access_token",
}


def is_loopback_host(host):
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _normalise_url(name, value, allow_loopback_http):
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if not parts.hostname:
        raise ConfigurationError("%s %r is not a URL such as https://graph.microsoft.com." % (name, value))
    if parts.scheme == "https":
        return value.rstrip("/")
    if parts.scheme == "http" and allow_loopback_http and is_loopback_host(parts.hostname):
        return value.rstrip("/")
    raise ConfigurationError(
        "%s %r must use https: tokens are never sent in clear. Plain http is accepted only for a loopback "
        "host (127.0.0.1, ::1, localhost), such as a local test server." % (name, value))


class ConnectionSettings:
    """Where Entra ID and Graph are, after options, module_defaults, environment and cloud presets."""

    def __init__(self, params, environ=None):
        environ = os.environ if environ is None else environ
        self.cloud = self._resolve_cloud(params.get("cloud"), environ.get("AZURE_CLOUD_ENVIRONMENT"))
        preset_authority, preset_graph = CLOUDS[self.cloud]
        # msal itself insists on https authorities, so loopback http is no exception here.
        self.authority_host = _normalise_url("authority_host", params.get("authority_host") or preset_authority,
                                             allow_loopback_http=False)
        self.graph_endpoint = _normalise_url("graph_endpoint", params.get("graph_endpoint") or preset_graph,
                                             allow_loopback_http=True)
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
                % (environment_value, ", ".join(sorted(CLOUDS)), ", ".join(["AzureCloud", "AzureUSGovernment",
                                                                            "AzureChinaCloud"])))
        return DEFAULT_CLOUD

    @property
    def authority(self):
        return "%s/%s" % (self.authority_host, self.tenant_id)

    @property
    def scope(self):
        return "%s/.default" % self.graph_endpoint

    @property
    def authority_is_microsoft(self):
        return urlsplit(self.authority_host).hostname in MICROSOFT_AUTHORITY_HOSTS


def _fingerprint(certificate):
    return certificate.fingerprint(hashes.SHA256()).hex()


def load_certificate_credential(path, password=None):
    """Turn a PEM (key + certificate) or PKCS#12 file into msal's client_credential; msal computes the thumbprints.

    The returned dict also holds the certificate's SHA-256 ``fingerprint`` (for the token cache), not for msal.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise ConfigurationError("Cannot read client_certificate_path %r: %s." % (path, exc.strerror or exc))
    passphrase = password.encode("utf-8") if password else None
    if b"-----BEGIN" in data:
        if b"PRIVATE KEY-----" not in data or b"-----BEGIN CERTIFICATE-----" not in data:
            raise ConfigurationError(
                "client_certificate_path %r must hold both the private key and the certificate in PEM form." % path)
        try:
            load_pem_private_key(data, passphrase)
            certificate = x509.load_pem_x509_certificate(data)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                "Cannot load the PEM private key or certificate in %r: %s. If the key is encrypted, give "
                "client_certificate_password." % (path, exc))
        text = data.decode("ascii")
        credential = {"private_key": text, "public_certificate": text, "fingerprint": _fingerprint(certificate)}
        if password:
            credential["passphrase"] = password
        return credential
    try:
        key, certificate, dummy = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            "Cannot load %r as PEM or PKCS#12 (PFX): %s. Check the file and client_certificate_password." % (path, exc))
    if key is None or certificate is None:
        raise ConfigurationError("The PKCS#12 file %r must hold both the private key and the certificate." % path)
    credential = {"private_key_pfx_path": path, "fingerprint": _fingerprint(certificate)}
    if password:
        credential["passphrase"] = password
    return credential


class StaticTokenSource:
    """A pre-acquired access token, used as given (no msal, no cache)."""

    def __init__(self, access_token):
        self._access_token = access_token
        self.token_requests = 0
        self.warnings = []

    def get_token(self):
        return self._access_token

    def current_token(self):
        """(access token, generation); a given token never changes."""
        return self._access_token, 1

    def renew_stale(self, generation=None):
        """A token given by the user cannot be renewed."""
        return False


class MsalHttpClient:
    """msal's http_client interface on top of our transport, so msal shares its session, TLS and retries."""

    def __init__(self, transport):
        self.transport = transport

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        return self.transport.send("POST", url, headers=headers, params=params, data=data)

    def get(self, url, params=None, headers=None, **kwargs):
        return self.transport.send("GET", url, headers=headers, params=params)

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
        self._token = None  # (access token, expires_on): no lock or file read for every Graph call
        self._lock = threading.Lock()  # parallel $batch calls must not each request a token
        self._from_cache_file = False
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
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id, client_credential=self.client_credential, authority=self.settings.authority,
                    http_client=MsalHttpClient(self.transport), token_cache=self._cache, **kwargs)
            except ValueError as exc:
                raise AuthenticationError("Cannot use the Entra ID authority %s: %s"
                                          % (self.settings.authority, self._scrub(str(exc))))
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
        result = self._application().acquire_token_for_client(scopes=[self.settings.scope])
        if result.get("token_source") != "cache":
            self.token_requests += 1
        if "access_token" in result:
            self._token = (result["access_token"], int(time.time()) + int(result.get("expires_in", 0)))
            return result["access_token"]
        raise self._error(result)

    def _scrub(self, text):
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def _error(self, result):
        error = result.get("error") or "unknown_error"
        description = self._scrub((result.get("error_description") or "").splitlines()[0] if
                                  result.get("error_description") else "")
        codes = result.get("error_codes") or []
        hints = [AADSTS_HINTS[c] for c in codes if c in AADSTS_HINTS]
        message = "Entra ID refused a token for client_id %s in tenant %s (%s)" % (
            self.client_id, self.settings.tenant_id, error)
        if description:
            message += ": %s" % description
        if hints:
            message += ". Hint: %s" % "; ".join(hints)
        return AuthenticationError(message, error=error, error_codes=codes,
                                   correlation_id=result.get("correlation_id"))


def build_token_source(params, settings, transport):
    """Choose the credential: access_token, then certificate, then client secret."""
    if params.get("access_token"):
        return StaticTokenSource(params["access_token"])
    missing = [name for name in ("tenant_id", "client_id") if not params.get(name)]
    if missing:
        raise ConfigurationError(
            "Missing %s: give them as options, through module_defaults (group/o365.admin.graph), or as "
            "AZURE_TENANT_ID / AZURE_CLIENT_ID in the environment; or give access_token." % " and ".join(missing))
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
