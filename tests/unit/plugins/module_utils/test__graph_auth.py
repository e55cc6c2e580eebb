# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import contextlib
import datetime
import time
from urllib.parse import parse_qsl

import jwt
import pytest
import requests
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    AuthenticationError, ConfigurationError, GraphTransportError)
from ansible_collections.o365.admin.plugins.module_utils._graph_auth import (
    ConnectionSettings, MsalTokenSource, StaticTokenSource, build_token_source, is_loopback_host,
    MSAL_COMPUTES_THUMBPRINT, load_certificate_credential, msal_version)
from ansible_collections.o365.admin.plugins.module_utils._graph_client import HttpTransport
from tests.graph_emulator.tenant import App, write_certificate_chain

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
    ("Global", "public"), ("USGov", "usgov"), ("USGovDoD", "usgovdod"), ("China", "china"),
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
    if msal_version() >= MSAL_COMPUTES_THUMBPRINT:
        assert "thumbprint" not in credential  # msal computes the thumbprints from the certificate
    else:  # an older msal refuses a certificate credential without its SHA-1 thumbprint
        cert = x509.load_pem_x509_certificate(credential["public_certificate"].encode("ascii"))
        assert credential["thumbprint"] == cert.fingerprint(hashes.SHA1()).hex()


@pytest.mark.parametrize("version, expected", [
    ("1.29.0", (1, 29, 0)), ("1.35.0b1", (1, 35, 0)), ("1.40", (1, 40)), ("", ()), ("dev", ())])
def test_msal_version_reads_the_leading_numbers(version, expected):
    assert msal_version(version) == expected


def test_the_installed_msal_is_a_version_the_thumbprint_rule_can_compare():
    assert msal_version() >= (1, 29)


def test_encrypted_pem_needs_its_password(certificate_files):
    assert load_certificate_credential(certificate_files["encrypted.pem"], "pw")["passphrase"] == "pw"
    with pytest.raises(ConfigurationError, match="client_certificate_password"):
        load_certificate_credential(certificate_files["encrypted.pem"])


def test_pfx_is_handed_to_msal_as_its_key_and_certificate(certificate_files):
    credential = load_certificate_credential(certificate_files["bundle.pfx"], "pw")
    assert credential.pop("fingerprint") == load_certificate_credential(certificate_files["plain.pem"])["fingerprint"]
    assert credential["passphrase"] == "pw" and "ENCRYPTED PRIVATE KEY" in credential["private_key"]
    serialization.load_pem_private_key(credential["private_key"].encode(), b"pw")
    with pytest.raises(ConfigurationError, match="PKCS#12"):
        load_certificate_credential(certificate_files["bundle.pfx"], "wrong")


@pytest.mark.parametrize("name, message", [("cert-only.pem", "both the private key and the certificate"),
                                           ("garbage.bin", "as PEM or PKCS#12"),
                                           ("missing.pem", "Cannot read")])
def test_unusable_certificate_files_are_clear_errors(certificate_files, tmp_path, name, message):
    path = certificate_files.get(name, str(tmp_path / name))
    with pytest.raises(ConfigurationError, match=message):
        load_certificate_credential(path)


@pytest.mark.parametrize("friendly_name", [b"M\xfcller (Latin-1)", b"M\xc3\xbcller (UTF-8)"])
def test_pem_with_non_ascii_bag_attributes_is_read_as_openssl_does(certificate_files, tmp_path, friendly_name):
    with open(certificate_files["plain.pem"], "rb") as handle:
        plain = handle.read()
    key_end = plain.index(b"-----BEGIN CERTIFICATE-----")
    exported = (b"Bag Attributes\n    friendlyName: " + friendly_name + b"\n    localKeyID: 01 02\n" + plain[:key_end]
                + b"Bag Attributes\n    friendlyName: " + friendly_name + b"\nsubject=/CN=o365-admin-test\n"
                + plain[key_end:])
    path = tmp_path / "exported.pem"
    path.write_bytes(exported)
    credential = load_certificate_credential(str(path))
    assert credential["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert credential["private_key"].rstrip().endswith("-----END PRIVATE KEY-----")
    assert credential["public_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    # msal hands the key to PyJWT, which encodes it as UTF-8 for cryptography.
    serialization.load_pem_private_key(credential["private_key"].encode("utf-8"), None)
    x509.load_pem_x509_certificate(credential["public_certificate"].encode("utf-8"))
    assert credential["fingerprint"] == load_certificate_credential(certificate_files["plain.pem"])["fingerprint"]


def test_messages_built_around_a_library_sentence_have_one_full_stop(certificate_files):
    with pytest.raises(ConfigurationError) as error:
        load_certificate_credential(certificate_files["plain.pem"], "a password for a plain key")
    assert "not encrypted. If the key" in error.value.message and ".." not in error.value.message
    with pytest.raises(ConfigurationError) as error:
        load_certificate_credential(certificate_files["bundle.pfx"], "wrong")
    assert ".." not in error.value.message


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


def test_tenants_of_one_multi_tenant_app_get_cache_partitions_of_their_own(tmp_path):
    # A service provider's inventory of tenants (docs/docsite/rst/many_tenants.rst): one app registration, one
    # secret, one cloud, one cache file; only the tenant differs, and each tenant's tokens stay in its own partition.
    keys = set()
    for tenant in ("contoso.onmicrosoft.com", "fabrikam.onmicrosoft.com", "8b2f6a0e-3c1d-4e5f-9a7b-1c2d3e4f5a6b"):
        options = params(tenant_id=tenant, client_secret=SECRET, token_cache_path=str(tmp_path / "cache.json"))
        source = build_token_source(options, ConnectionSettings(options, environ={}), None)
        assert source.cache_file.path == str(tmp_path / "cache.json")
        keys.add(source.cache_file.key)
    assert len(keys) == 3


@pytest.mark.parametrize("overrides, message", [
    (dict(tenant_id=None, client_secret=SECRET), "Missing tenant_id"),
    (dict(client_id=None, tenant_id=None, client_secret=SECRET), "Missing tenant_id and client_id"),
    (dict(), "No credential"),
])
def test_missing_credentials_are_named(overrides, message):
    with pytest.raises(ConfigurationError, match=message):
        build_token_source(params(**overrides), ConnectionSettings(params(), environ={}), None)


@pytest.mark.parametrize("tenant", ["common", "organizations", "consumers", " Common "])
def test_a_tenant_alias_for_many_tenants_is_refused_before_any_request(tenant):
    transport = HttpTransport(requests.Session(), timeout=5, max_retries=0, sleep=lambda s: None)
    options = params(tenant_id=tenant, client_secret=SECRET)
    with responses.RequestsMock():  # any request at all would fail this test: none is registered
        with pytest.raises(ConfigurationError, match="names no tenant") as error:
            build_token_source(options, ConnectionSettings(options, environ={}), transport).get_token()
    assert "contoso.onmicrosoft.com" in error.value.message


def test_a_tenant_domain_starting_like_an_alias_is_a_tenant():
    options = params(tenant_id="common.onmicrosoft.com", client_secret=SECRET)
    assert build_token_source(options, ConnectionSettings(options, environ={}), None).token_requests == 0


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
    assert ".." not in message and message.endswith(".")
    assert error.value.fail_json_kwargs()["error"] == {"code": "invalid_client", "aadsts_codes": [7000215],
                                                       "correlation_id": "corr-1"}


# --- Every failure of the token endpoint is a typed error with a clear message (issue 10 #1) --------------------

AUTHORITY = "https://login.example.test"
OPENID_URL = AUTHORITY + "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
TOKEN_URL = AUTHORITY + "/contoso.onmicrosoft.com/oauth2/v2.0/token"
LEAKED_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0"


def openid_configuration():
    return {"token_endpoint": TOKEN_URL, "authorization_endpoint": AUTHORITY + "/contoso.onmicrosoft.com/authorize",
            "issuer": AUTHORITY + "/contoso.onmicrosoft.com/v2.0"}


def msal_token_source(max_retries=0):
    settings = ConnectionSettings(params(authority_host=AUTHORITY), environ={})
    transport = HttpTransport(requests.Session(), timeout=5, max_retries=max_retries, sleep=lambda s: None,
                              rng=lambda: 0.5)
    return MsalTokenSource(settings, "app-1", SECRET, transport, secrets=(SECRET,))


@responses.activate
def test_a_token_from_real_msal_through_our_transport():
    responses.get(OPENID_URL, json=openid_configuration())
    responses.post(TOKEN_URL, json={"token_type": "Bearer", "expires_in": 3599, "access_token": "tok"})
    assert msal_token_source().get_token() == "tok"


@responses.activate
@pytest.mark.parametrize("status", [500, 503, 504])
def test_a_5xx_from_the_token_endpoint_is_an_authentication_error(status):
    responses.get(OPENID_URL, json=openid_configuration())
    envelope = {"error": "temporarily_unavailable", "error_codes": [90033], "correlation_id": "corr-9"}
    responses.post(TOKEN_URL, status=status, json=envelope)
    with pytest.raises(AuthenticationError) as error:
        msal_token_source().get_token()
    message = error.value.message
    assert "Entra ID could not issue a token for client_id app-1" in message
    assert "%s answered HTTP %d after 1 attempt(s)" % (TOKEN_URL, status) in message
    assert "try again later or raise max_retries" in message
    assert error.value.fail_json_kwargs()["error"] == {"code": "temporarily_unavailable", "aadsts_codes": [90033],
                                                       "correlation_id": "corr-9"}


@responses.activate
@pytest.mark.parametrize("content_type, body", [
    ("text/html", "<html><body>Blocked by proxy</body></html>"),
    ("application/json", '{"token_type": "Bearer", "access_token": "%s' % LEAKED_TOKEN),  # cut off
    ("application/json", ""),
    ("application/json", "[1, 2]"),
])
def test_a_token_answer_msal_cannot_read_is_an_authentication_error(content_type, body):
    responses.get(OPENID_URL, json=openid_configuration())
    responses.post(TOKEN_URL, status=200, content_type=content_type, body=body)
    with pytest.raises(AuthenticationError) as error:
        msal_token_source().get_token()
    message = error.value.message
    assert "answered HTTP 200 with something msal cannot read (%s" % content_type in message
    assert "authority_host" in message
    assert LEAKED_TOKEN not in message and LEAKED_TOKEN[:24] not in message and SECRET not in message


@responses.activate
def test_a_token_answer_cut_off_in_transfer_is_a_typed_error():
    responses.get(OPENID_URL, json=openid_configuration())
    responses.post(TOKEN_URL, body=requests.exceptions.ChunkedEncodingError(
        "Connection broken: IncompleteRead(40 bytes read, 900 more expected)"))
    with pytest.raises(AuthenticationError) as error:
        msal_token_source().get_token()
    # Not a GraphTransportError: nothing went to Graph, so no bulk item may be reported "unknown" for it.
    assert not isinstance(error.value, GraphTransportError)
    assert error.value.message.startswith("Entra ID could not issue a token for client_id app-1 in tenant "
                                          "contoso.onmicrosoft.com: The answer from %s was lost" % TOKEN_URL)


@responses.activate
def test_a_slow_token_endpoint_is_a_typed_error():
    responses.get(OPENID_URL, json=openid_configuration())
    responses.post(TOKEN_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.post(TOKEN_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(AuthenticationError, match="could not issue a token .* no answer within 5 s"):
        msal_token_source(max_retries=1).get_token()


@responses.activate
def test_an_unreachable_authority_is_an_authentication_error():
    responses.get(OPENID_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(AuthenticationError, match="could not read the OpenID configuration .* Nothing reached"):
        msal_token_source().get_token()


@responses.activate
@pytest.mark.parametrize("answer", [
    dict(status=503, body="Service Unavailable", content_type="text/plain"),
    dict(status=200, body="<html>Blocked</html>", content_type="text/html"),
])
def test_an_openid_configuration_that_cannot_be_read_is_an_authentication_error(answer):
    responses.get(OPENID_URL, **answer)
    with pytest.raises(AuthenticationError) as error:
        msal_token_source().get_token()
    assert "Entra ID could not read the OpenID configuration of the authority %s/contoso.onmicrosoft.com" % AUTHORITY \
        in error.value.message
    assert "answered HTTP %d" % answer["status"] in error.value.message


@responses.activate
def test_an_unknown_tenant_keeps_msal_s_explanation():
    responses.get(OPENID_URL, status=400, json={"error": "invalid_tenant", "error_description": "AADSTS90002: no"})
    with pytest.raises(AuthenticationError, match="Cannot use the Entra ID authority .*check your tenant name"):
        msal_token_source().get_token()


def test_a_token_with_an_unreadable_lifetime_is_used_for_this_task_only():
    source = token_source_answering({"access_token": "abc", "expires_in": "soon"})
    assert source.get_token() == "abc"


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


# --- The certificate is the one that matches the key, whatever the order of the file (issue 18) ----------------

def chain_file(directory, file_format, order, password=None):
    """A key, leaf, intermediate and root written in ``order`` by the emulator's helper; (path, leaf)."""
    return write_certificate_chain(str(directory), App("chain-test", "app-1", []), file_format, order, password)


def assertion_header(credential):
    """The JOSE header of the client assertion real msal builds from ``credential`` for a token request."""
    seen = []

    def token_endpoint(request):
        seen.append(dict(parse_qsl(request.body)))
        return 200, {}, '{"token_type": "Bearer", "expires_in": 3599, "access_token": "tok"}'

    with responses.RequestsMock() as mock:
        mock.get(OPENID_URL, json=openid_configuration())
        mock.add_callback(responses.POST, TOKEN_URL, callback=token_endpoint)
        settings = ConnectionSettings(params(authority_host=AUTHORITY), environ={})
        transport = HttpTransport(requests.Session(), timeout=5, max_retries=0, sleep=lambda s: None)
        credential = dict(credential)
        credential.pop("fingerprint")
        assert MsalTokenSource(settings, "app-1", credential, transport).get_token() == "tok"
    return jwt.get_unverified_header(seen[0]["client_assertion"])


def x5t_of(certificate):
    """The thumbprint the installed msal sends: x5t#S256 from 1.35, the SHA-1 x5t we give an older one."""
    algorithm = hashes.SHA256() if msal_version() >= MSAL_COMPUTES_THUMBPRINT else hashes.SHA1()
    return base64.urlsafe_b64encode(certificate.fingerprint(algorithm)).rstrip(b"=").decode()


def signed_thumbprint(header):
    name = "x5t#S256" if msal_version() >= MSAL_COMPUTES_THUMBPRINT else "x5t"
    return header[name].rstrip("=")


@pytest.mark.parametrize("file_format, order", [
    ("pem", ["key", "root", "leaf"]),
    ("pem", ["root", "intermediate", "leaf", "key"]),
    ("pem", ["intermediate", "key", "root", "leaf"]),
    ("pem", ["key", "leaf", "intermediate", "root"]),
    ("pfx", ["root", "intermediate", "leaf"]),
    ("pfx", ["leaf", "root"]),
])
def test_the_certificate_matching_the_key_signs_whatever_the_order(tmp_path, file_format, order):
    path, leaf = chain_file(tmp_path, file_format, order if file_format == "pem" else ["key"] + order, "pw")
    credential = load_certificate_credential(path, "pw")
    assert credential["fingerprint"] == leaf.fingerprint(hashes.SHA256()).hex()
    chain = x509.load_pem_x509_certificates(credential["public_certificate"].encode())
    assert chain[0] == leaf and len(chain) == len([part for part in order if part != "key"])
    header = assertion_header(credential)
    # What Entra ID looks the app's certificate up by: the leaf's thumbprint, and the leaf first in x5c.
    assert signed_thumbprint(header) == x5t_of(leaf)
    assert base64.b64decode(header["x5c"][0]) == leaf.public_bytes(serialization.Encoding.DER)


def test_a_file_whose_certificates_do_not_match_its_key_is_a_clear_error(tmp_path, certificate_files):
    path, dummy = chain_file(tmp_path, "pem", ["key", "root", "leaf"])
    with open(path, "rb") as handle:
        blocks = handle.read()
    with open(certificate_files["plain.pem"], "rb") as handle:
        other_key = handle.read().split(b"-----BEGIN CERTIFICATE-----")[0]
    mixed = tmp_path / "mixed.pem"
    mixed.write_bytes(other_key + blocks[blocks.index(b"-----BEGIN CERTIFICATE-----"):])
    with pytest.raises(ConfigurationError, match="none of them matches its private key"):
        load_certificate_credential(str(mixed))


# --- The setup errors users hit, each with a hint (issue 18) ----------------------------------------------------

@pytest.mark.parametrize("code, words", [
    (7000215, "Secret ID"), (7000222, "expired"), (7000218, "no credential"), (700027, "client_certificate_path"),
    (700016, "set cloud"), (7000112, "disabled"), (53003, "Conditional Access"), (90002, "set cloud"),
    (90038, "another national cloud"), (900382, "across clouds"), (900432, "across clouds"), (50049, "authority_host"),
    (9001023, "not common"), (500011, "one cloud"), (70011, "graph_endpoint"), (7000229, "admin consent"),
])
def test_each_setup_error_gets_its_hint(code, words):
    source = token_source_answering({"error": "invalid_request", "error_description": "AADSTS%d: Entra's words." % code,
                                     "error_codes": [code]})
    with pytest.raises(AuthenticationError) as error:
        source.get_token()
    message = error.value.message
    assert "Hint: " in message and words in message.split("Hint: ", 1)[1], message
    cross_cloud = code in (700016, 90002, 90038, 900382, 900432, 50049, 500011)
    assert ("this task used cloud public: authority https://login.microsoftonline.com, Graph "
            "https://graph.microsoft.com" in message) is cross_cloud


@pytest.mark.parametrize("codes", [[[1]], "7000215", [True], None, [{"x": 1}]])
def test_error_codes_of_the_wrong_type_give_no_hint_and_no_crash(codes):
    source = token_source_answering({"error": "invalid_client", "error_codes": codes})
    with pytest.raises(AuthenticationError) as error:
        source.get_token()
    assert "Hint" not in error.value.message and error.value.error_codes == []


@pytest.mark.parametrize("file_format", ["pem", "pfx"])
def test_a_chain_without_a_password_signs_with_the_leaf(tmp_path, file_format):
    path, leaf = chain_file(tmp_path, file_format, ["key", "root", "intermediate", "leaf"])
    credential = load_certificate_credential(path)
    assert "passphrase" not in credential and "ENCRYPTED" not in credential["private_key"]
    assert signed_thumbprint(assertion_header(credential)) == x5t_of(leaf)
