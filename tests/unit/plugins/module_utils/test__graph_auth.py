# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ansible_collections.o365.admin.plugins.module_utils._errors import AuthenticationError, ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._graph_auth import (
    ConnectionSettings, MsalTokenSource, StaticTokenSource, build_token_source, is_loopback_host,
    load_certificate_credential)

SECRET = "s3cr3t~value"


def params(**overrides):
    base = dict(tenant_id="contoso.onmicrosoft.com", client_id="app-1", client_secret=None,
                client_certificate_path=None, client_certificate_password=None, access_token=None, cloud=None,
                authority_host=None, graph_endpoint=None)
    base.update(overrides)
    return base


@pytest.mark.parametrize("cloud, authority, graph", [
    (None, "https://login.microsoftonline.com", "https://graph.microsoft.com"),
    ("public", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
    ("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
    ("usgovdod", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    ("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
])
def test_cloud_presets_set_authority_and_graph(cloud, authority, graph):
    settings = ConnectionSettings(params(cloud=cloud), environ={})
    assert (settings.authority_host, settings.graph_endpoint) == (authority, graph)
    assert settings.scope == graph + "/.default"
    assert settings.authority == authority + "/contoso.onmicrosoft.com"
    assert settings.authority_is_microsoft


@pytest.mark.parametrize("environment, cloud", [
    ("AzureCloud", "public"), ("AzureUSGovernment", "usgov"), ("AzureChinaCloud", "china"), ("usgovdod", "usgovdod"),
])
def test_awx_cloud_environment_is_understood(environment, cloud):
    assert ConnectionSettings(params(), environ={"AZURE_CLOUD_ENVIRONMENT": environment}).cloud == cloud


def test_cloud_option_beats_the_environment():
    settings = ConnectionSettings(params(cloud="china"), environ={"AZURE_CLOUD_ENVIRONMENT": "AzureUSGovernment"})
    assert settings.cloud == "china"


def test_unknown_cloud_environment_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="AzureGermanCloud"):
        ConnectionSettings(params(), environ={"AZURE_CLOUD_ENVIRONMENT": "AzureGermanCloud"})


def test_explicit_endpoints_override_the_cloud_and_get_https():
    settings = ConnectionSettings(params(cloud="usgov", authority_host="login.example.test",
                                         graph_endpoint="https://graph.example.test/"), environ={})
    assert (settings.authority_host, settings.graph_endpoint) == ("https://login.example.test",
                                                                  "https://graph.example.test")
    assert not settings.authority_is_microsoft


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8080", "http://127.5.6.7", "http://localhost:4010",
                                      "http://[::1]:4010"])
def test_plain_http_graph_is_allowed_on_loopback_only(endpoint):
    assert ConnectionSettings(params(graph_endpoint=endpoint), environ={}).graph_endpoint == endpoint


@pytest.mark.parametrize("option, value", [
    ("graph_endpoint", "http://graph.microsoft.com"),
    ("graph_endpoint", "http://10.0.0.1:8080"),
    ("graph_endpoint", "ftp://graph.microsoft.com"),
    ("authority_host", "http://127.0.0.1:8443"),
    ("authority_host", "http://login.microsoftonline.com"),
])
def test_clear_text_endpoints_are_refused(option, value):
    with pytest.raises(ConfigurationError, match="must use https"):
        ConnectionSettings(params(**{option: value}), environ={})


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True),
                                            ("LOCALHOST", True), ("128.0.0.1", False), ("localhost.evil", False),
                                            (None, False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback_host(host) is loopback


@pytest.fixture(scope="module")
def certificate_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u"o365-admin-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    files = {}

    def write(name, data):
        files[name] = str(folder / name)
        (folder / name).write_bytes(data)

    write("plain.pem", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()) + cert_pem)
    write("encrypted.pem", key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.BestAvailableEncryption(b"pw")) + cert_pem)
    write("cert-only.pem", cert_pem)
    write("bundle.pfx", pkcs12.serialize_key_and_certificates(b"app", key, cert, None,
                                                              serialization.BestAvailableEncryption(b"pw")))
    write("garbage.bin", b"\x00\x01not a certificate")
    return files


def test_pem_with_key_and_certificate_becomes_an_msal_credential(certificate_files):
    credential = load_certificate_credential(certificate_files["plain.pem"])
    assert "PRIVATE KEY" in credential["private_key"]
    assert "BEGIN CERTIFICATE" in credential["public_certificate"]
    assert "thumbprint" not in credential  # msal computes the thumbprints from the certificate


def test_encrypted_pem_needs_its_password(certificate_files):
    assert load_certificate_credential(certificate_files["encrypted.pem"], "pw")["passphrase"] == "pw"
    with pytest.raises(ConfigurationError, match="client_certificate_password"):
        load_certificate_credential(certificate_files["encrypted.pem"])


def test_pfx_is_handed_to_msal_by_path(certificate_files):
    credential = load_certificate_credential(certificate_files["bundle.pfx"], "pw")
    assert credential.pop("fingerprint")
    assert credential == {"private_key_pfx_path": certificate_files["bundle.pfx"], "passphrase": "pw"}
    with pytest.raises(ConfigurationError, match="PKCS#12"):
        load_certificate_credential(certificate_files["bundle.pfx"], "wrong")


@pytest.mark.parametrize("name, message", [("cert-only.pem", "both the private key and the certificate"),
                                           ("garbage.bin", "as PEM or PKCS#12"),
                                           ("missing.pem", "Cannot read")])
def test_unusable_certificate_files_are_clear_errors(certificate_files, tmp_path, name, message):
    path = certificate_files.get(name, str(tmp_path / name))
    with pytest.raises(ConfigurationError, match=message):
        load_certificate_credential(path)


def test_access_token_beats_every_other_credential():
    source = build_token_source(params(access_token="tok", client_secret=SECRET), None, None)
    assert isinstance(source, StaticTokenSource) and source.get_token() == "tok"


def test_certificate_beats_the_secret(certificate_files):
    settings = ConnectionSettings(params(), environ={})
    source = build_token_source(params(client_secret=SECRET, client_certificate_path=certificate_files["plain.pem"]),
                                settings, None)
    assert isinstance(source.client_credential, dict)


def test_secret_is_used_when_alone():
    settings = ConnectionSettings(params(), environ={})
    assert build_token_source(params(client_secret=SECRET), settings, None).client_credential == SECRET


@pytest.mark.parametrize("overrides, message", [
    (dict(tenant_id=None, client_secret=SECRET), "Missing tenant_id"),
    (dict(client_id=None, tenant_id=None, client_secret=SECRET), "Missing tenant_id and client_id"),
    (dict(), "No credential"),
])
def test_missing_credentials_are_named(overrides, message):
    with pytest.raises(ConfigurationError, match=message):
        build_token_source(params(**overrides), ConnectionSettings(params(), environ={}), None)


class FakeMsalApp:
    def __init__(self, result):
        self.result = result
        self.scopes = None

    def acquire_token_for_client(self, scopes):
        self.scopes = scopes
        return self.result


def token_source_answering(result):
    source = MsalTokenSource(ConnectionSettings(params(), environ={}), "app-1", SECRET, transport=None,
                             secrets=(SECRET,))
    source._app = FakeMsalApp(result)
    return source


def test_token_comes_from_msal_for_the_graph_scope():
    source = token_source_answering({"access_token": "abc", "token_source": "identity_provider"})
    assert source.get_token() == "abc"
    assert source._app.scopes == ["https://graph.microsoft.com/.default"]
    assert source.token_requests == 1
    source._app.result = {"access_token": "abc", "token_source": "cache"}
    source.get_token()
    assert source.token_requests == 1


def test_entra_refusal_is_readable_and_never_shows_the_secret():
    source = token_source_answering({
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided (%s).\r\nTrace ID: x" % SECRET,
        "error_codes": [7000215], "correlation_id": "corr-1"})
    with pytest.raises(AuthenticationError) as error:
        source.get_token()
    message = error.value.message
    assert "AADSTS7000215" in message and "invalid_client" in message and "Secret ID" in message
    assert SECRET not in message and "Trace ID" not in message
    assert error.value.fail_json_kwargs()["error"] == {"code": "invalid_client", "aadsts_codes": [7000215],
                                                       "correlation_id": "corr-1"}


class FakeCacheFile:
    def __init__(self):
        self.saves = 0

    def locked(self):
        return contextlib.nullcontext()

    def load_into(self, cache):
        """The tests set the token directly."""

    def save(self, cache):
        self.saves += 1


def test_a_stale_cached_token_is_renewed_once_and_every_request_that_carried_it_goes_again(monkeypatch):
    """Issue 10, #2: parallel $batch calls that all carried the stale token each hear "send again"."""
    source = token_source_answering({"access_token": "fresh", "expires_in": 3599})
    app = source._app
    monkeypatch.setattr(source, "_application", lambda: app)
    source.cache_file = FakeCacheFile()
    source._token, source._from_cache_file = ("stale", time.time() + 3000), True
    assert source.current_token() == ("stale", 1)
    assert source.renew_stale(1) is True  # the first refusal renews
    assert source.renew_stale(1) is True  # the other calls that carried "stale" go again too, no new request
    assert source.token_requests == 1 and source.cache_file.saves == 1
    assert source.current_token() == ("fresh", 2)
    assert source.renew_stale(2) is False  # a token just requested is not stale: its 401/403 stands
    assert source.renew_stale() is False


def test_a_token_the_source_requested_itself_is_never_renewed():
    source = token_source_answering({"access_token": "abc", "expires_in": 3599})
    token, generation = source.current_token()
    assert (token, generation) == ("abc", 1)
    assert source.renew_stale(generation) is False and source.current_token() == ("abc", 1)


def test_a_given_access_token_is_never_renewed():
    source = StaticTokenSource("tok")
    assert source.current_token() == ("tok", 1) and source.renew_stale(1) is False
