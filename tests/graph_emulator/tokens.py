# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Entra ID's side: access tokens the emulator signs, and client assertions it verifies."""

import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["RS256", "PS256"]
TOKEN_LIFETIME_S = 3599


class EntraError(Exception):
    """An OAuth error as Entra ID answers it: status, error, AADSTS code and description."""

    def __init__(self, status, error, aadsts, description):
        super().__init__(description)
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description

    def body(self, correlation_id):
        trace_id = str(uuid.uuid4())
        return {
            "error": self.error,
            # Entra puts the trace details on lines of their own after the message.
            "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
                self.aadsts, self.description, trace_id, correlation_id,
                time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())),
            "error_codes": [self.aadsts],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": trace_id,
            "correlation_id": correlation_id,
        }


# What Entra ID answers for setup errors a test can ask the token endpoint for by code (faults' token_error_next):
# status, OAuth error and a description naming the error as Microsoft's AADSTS list does.
SETUP_ERRORS = {
    7000215: (401, "invalid_client", "Invalid client secret provided."),
    7000222: (401, "invalid_client", "The provided client secret keys for app are expired."),
    7000112: (401, "unauthorized_client", "Application is disabled."),
    700016: (400, "unauthorized_client", "Application was not found in the directory."),
    90002: (400, "invalid_tenant", "Tenant not found. Check to make sure you have the correct tenant ID."),
    90038: (400, "invalid_request", "Tenant belongs to another National Cloud, which does not federate with this "
                                    "cloud instance."),
    900382: (400, "invalid_request", "Confidential Client is not supported in Cross Cloud request."),
    500011: (400, "invalid_resource", "The resource principal was not found in the tenant."),
    53003: (400, "invalid_grant", "Access has been blocked by Conditional Access policies. The access policy does "
                                  "not allow token issuance."),
    50049: (400, "invalid_instance", "Unknown or invalid instance."),
}


def setup_error(setting):
    """An EntraError from {"aadsts": code, "status"?, "error"?, "description"?}; unlisted codes need no more than
    the code (400 invalid_request with a generic description)."""
    code = int(setting["aadsts"])
    status, error, description = SETUP_ERRORS.get(code, (400, "invalid_request", "Injected error AADSTS%d." % code))
    return EntraError(int(setting.get("status", status)), setting.get("error", error), code,
                      setting.get("description", description))


class InvalidToken(Exception):
    """Why Graph refuses a bearer token (its message goes into InvalidAuthenticationToken)."""


class TokenService:
    def __init__(self, tenant, token_lifetime_s=TOKEN_LIFETIME_S):
        self.tenant = tenant
        self.token_lifetime_s = token_lifetime_s
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = uuid.uuid4().hex

    def issuer(self):
        return "https://sts.windows.net/%s/" % self.tenant.tenant_id

    def issue(self, app, resource, lifetime_s=None):
        lifetime_s = self.token_lifetime_s if lifetime_s is None else lifetime_s
        now = int(time.time())
        claims = {
            "aud": resource, "iss": self.issuer(), "iat": now, "nbf": min(now, now + lifetime_s), "exp": now + lifetime_s,
            "tid": self.tenant.tenant_id, "appid": app.client_id, "azp": app.client_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, app.client_id)), "roles": list(app.roles), "ver": "1.0",
            "idtyp": "app",
        }
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid, "typ": "JWT"})
        return {"token_type": "Bearer", "expires_in": lifetime_s, "ext_expires_in": lifetime_s, "access_token": token}

    def verify(self, token, audience_allowed):
        """The claims of a token this emulator issued for an audience Graph answers to; InvalidToken otherwise."""
        try:
            claims = jwt.decode(token, self._key.public_key(), algorithms=["RS256"], issuer=self.issuer(),
                                options={"require": ["exp", "aud", "iss"], "verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("Lifetime validation failed, the token is expired.")
        except jwt.DecodeError:
            raise InvalidToken("IDX14100: JWT is not well formed, there are no dots (.).")
        except jwt.InvalidTokenError:
            raise InvalidToken("Access token validation failure. Invalid audience or signature.")
        if not audience_allowed(claims["aud"]):
            raise InvalidToken("Invalid audience.")
        return claims

    @staticmethod
    def verify_assertion(app, assertion, token_endpoints):
        """Check a certificate client assertion as Entra does: registered certificate, signature, aud, iss/sub, exp."""
        if not app.certificates:
            raise EntraError(401, "invalid_client", 700027,
                             "Client assertion failed signature validation: no certificate is registered for "
                             "application '%s'." % app.client_id)
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.DecodeError:
            raise EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
        presented = (header.get("x5t#S256") or header.get("x5t") or "").rstrip("=")
        certificate = app.certificate_for(presented)
        if certificate is None:
            raise EntraError(401, "invalid_client", 700027,
                             "The certificate with identifier used to sign the client assertion is not registered "
                             "on application. [Reason - The key was not found., Thumbprint of key used by client: "
                             "'%s']" % presented)
        try:
            claims = jwt.decode(assertion, certificate.public_key(), algorithms=ASSERTION_ALGORITHMS,
                                audience=list(token_endpoints), options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.ExpiredSignatureError:
            raise EntraError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
        except jwt.InvalidAudienceError:
            raise EntraError(401, "invalid_client", 700021,
                             "Client assertion audience claim does not match Realm issuer.")
        except jwt.InvalidTokenError as exc:
            raise EntraError(401, "invalid_client", 700027, "Client assertion failed signature validation. (%s)"
                             % exc.__class__.__name__)
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            raise EntraError(401, "invalid_client", 700023,
                             "Client assertion issuer and subject must be the client_id.")
