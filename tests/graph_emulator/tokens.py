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
