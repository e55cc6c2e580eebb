# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Typed errors of the Graph layer. Internal to this collection, may change without notice."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def clause(text):
    """Another's sentence (an exception's, a service's) made fit to sit inside ours: no full stop of its own."""
    return str(text).strip().rstrip(".").rstrip()


class O365AdminError(Exception):
    """Base of every error the Graph layer raises; knows how to become fail_json arguments."""

    def __init__(self, message):
        super(O365AdminError, self).__init__(message)
        self.message = message

    def details(self):
        """Data returned beside ``msg`` when a module fails."""
        return {}

    def fail_json_kwargs(self):
        kwargs = {"msg": self.message}
        kwargs.update(self.details())
        return kwargs


class ConfigurationError(O365AdminError):
    """Options that cannot work together, caught before any network call."""


class InvalidUserReference(ConfigurationError):
    """A ``user`` value that is neither an object ID nor a valid UPN."""

    def __init__(self, message, user):
        super(InvalidUserReference, self).__init__(message)
        self.user = user

    def details(self):
        return {"user": self.user}


class AuthenticationError(O365AdminError):
    """msal could not obtain a token. Carries Entra's error code(s), never the credential."""

    def __init__(self, message, error=None, error_codes=None, correlation_id=None):
        super(AuthenticationError, self).__init__(message)
        self.error = error
        self.error_codes = list(error_codes or [])
        self.correlation_id = correlation_id

    def details(self):
        return {
            "error": {
                "code": self.error,
                "aadsts_codes": self.error_codes,
                "correlation_id": self.correlation_id,
            }
        }


class GraphTransportError(O365AdminError):
    """No usable HTTP answer (connection refused or reset, TLS failure, timeout, a body cut off) after the retries.

    ``may_have_acted`` tells the two cases apart: False when no attempt's request reached the service (connection
    refused, TLS refused, connect timeout), True when one may have been carried out and only its answer was lost
    (reset after sending, read timeout, truncated body). Bulk runs report the latter as "unknown", never "failed".
    """

    def __init__(self, message, url=None, attempts=1, may_have_acted=False):
        super(GraphTransportError, self).__init__(message)
        self.url = url
        self.attempts = attempts
        self.may_have_acted = may_have_acted

    def details(self):
        return {"url": self.url, "attempts": self.attempts, "may_have_acted": self.may_have_acted}


class ProxyAuthenticationError(GraphTransportError):
    """The HTTP proxy answered 407 Proxy Authentication Required: its credentials (in HTTPS_PROXY) are missing or
    wrong. Nothing reached Entra ID or Graph, and sending again cannot help."""

    def __init__(self, message, url=None, proxy=None):
        super(ProxyAuthenticationError, self).__init__(message, url, attempts=1, may_have_acted=False)
        self.proxy = proxy

    def details(self):
        details = super(ProxyAuthenticationError, self).details()
        details["proxy"] = self.proxy
        return details


class GraphApiError(O365AdminError):
    """Graph answered with an error status. Branch on ``code`` (Graph's error.code), never on message text."""

    def __init__(self, message, status_code, code=None, graph_message=None, request_id=None,
                 client_request_id=None, attempts=1):
        super(GraphApiError, self).__init__(message)
        self.status_code = status_code
        self.code = code
        self.graph_message = graph_message
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.attempts = attempts
        # For a 403: the application permissions the refused token holds (None: it cannot tell), see _permissions.
        self.granted_roles = None

    def details(self):
        return {
            "status_code": self.status_code,
            "request_id": self.request_id,
            "client_request_id": self.client_request_id,
            "attempts": self.attempts,
            "error": {"code": self.code, "message": self.graph_message},
        }


class TaskFailed(O365AdminError):
    """The module did its work but the outcome is a failure; the result computed so far goes back with it."""

    def __init__(self, message, result):
        super(TaskFailed, self).__init__(message)
        self.result = result

    def details(self):
        return dict(self.result)
