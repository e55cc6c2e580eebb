# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Module base: shared options, dependency checks, a ready Graph client, typed errors -> fail_json.

Internal to this collection, may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import os
import sys
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import requests
except ImportError:
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

try:
    import msal  # noqa: F401  pylint: disable=unused-import
except ImportError:
    MSAL_IMPORT_ERROR = traceback.format_exc()
else:
    MSAL_IMPORT_ERROR = None

try:
    import cryptography  # noqa: F401  pylint: disable=unused-import
except ImportError:
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    AuthenticationError, O365AdminError, TaskFailed)
from ansible_collections.o365.admin.plugins.module_utils._graph_auth import ConnectionSettings, build_token_source
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BATCH_ARGUMENT_SPEC
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphClient, HttpTransport
from ansible_collections.o365.admin.plugins.module_utils._targets import (
    TARGETS_ARGUMENT_SPEC, TARGETS_MUTUALLY_EXCLUSIVE, TARGETS_REQUIRED_ONE_OF)

DEFAULT_TIMEOUT_S = 30
DEFAULT_MAX_RETRIES = 4

# The connection and credential options every module takes, declared once (documented once in
# plugins/doc_fragments/graph.py). Flat, so module_defaults: group/o365.admin.graph can set them.
# Options backed by the environment have no default here: a default would silently beat the environment.
GRAPH_COMMON_ARGUMENT_SPEC = dict(
    tenant_id=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT_ID", "AZURE_TENANT"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    client_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_CLIENT_SECRET", "AZURE_SECRET"])),
    client_certificate_path=dict(type="path", no_log=False,
                                 fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PATH"])),
    client_certificate_password=dict(type="str", no_log=True,
                                     fallback=(env_fallback, ["AZURE_CLIENT_CERTIFICATE_PASSWORD"])),
    access_token=dict(type="str", no_log=True),
    cloud=dict(type="str", choices=["public", "usgov", "usgovdod", "china"]),
    authority_host=dict(type="str", fallback=(env_fallback, ["AZURE_AUTHORITY_HOST"])),
    graph_endpoint=dict(type="str", fallback=(env_fallback, ["O365_GRAPH_ENDPOINT"])),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path", fallback=(env_fallback, ["O365_CA_PATH"])),
    timeout=dict(type="float", default=DEFAULT_TIMEOUT_S),
    max_retries=dict(type="int", default=DEFAULT_MAX_RETRIES),
    token_cache=dict(type="bool", default=True),
    token_cache_path=dict(type="path"),
)


def environment_conflicts(argument_spec, given, environ):
    """One sentence per option that came from the environment while another of its names holds a different value
    (a stale AZURE_CLIENT_SECRET beside the AZURE_SECRET that AWX injects, say): which variable was used, which
    differs. Never the values. Options given to the task (``given``, module_defaults included) read no variable."""
    found = []
    for option, spec in argument_spec.items():
        fallback = spec.get("fallback") or ()
        if len(fallback) < 2 or fallback[0] is not env_fallback or given.get(option) is not None:
            continue
        names = [name for name in fallback[1] if environ.get(name)]
        if len(names) < 2:
            continue
        used, others = names[0], [name for name in names[1:] if environ[name] != environ[names[0]]]
        if others:
            found.append("%s came from the environment variable %s; %s %s also set, with a different value, and "
                         "%s not used. Unset the stale one, or give %s to the task." % (
                             option, used, " and ".join(others), "is" if len(others) == 1 else "are",
                             "was" if len(others) == 1 else "were", option))
    return found


def build_graph_client(params):
    """Options -> settings -> one session -> transport -> token source -> Graph client. No network call yet."""
    if params["max_retries"] < 0:
        raise O365AdminError("max_retries must be 0 or more, not %d." % params["max_retries"])
    if not (params["timeout"] > 0 and math.isfinite(params["timeout"])):  # also refuses nan and inf
        raise O365AdminError("timeout must be a positive number of seconds, not %s." % params["timeout"])
    settings = ConnectionSettings(params)
    session = requests.Session()
    # Room for the parallel $batch calls of bulk operations.
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    verify = params["ca_path"] if params.get("ca_path") else params["validate_certs"]
    transport = HttpTransport(session, params["timeout"], params["max_retries"], verify=verify)
    token_source = build_token_source(params, settings, transport)
    return GraphClient(transport, settings.graph_endpoint, token_source)


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0][:300] if text else "no message"


class GraphModule(AnsibleModule):
    """AnsibleModule with the shared Graph options merged in and a lazily built GraphClient."""

    def __init__(self, argument_spec=None, **kwargs):
        spec = dict(GRAPH_COMMON_ARGUMENT_SPEC)
        spec.update(argument_spec or {})
        self._given = {}
        super(GraphModule, self).__init__(argument_spec=spec, **kwargs)
        # Every missing library in one failure, so that one pip install fixes the task.
        missing = [(name, error) for name, error, needed in (
            ("requests", REQUESTS_IMPORT_ERROR, True), ("msal", MSAL_IMPORT_ERROR, True),
            # Reading a certificate (and msal signing with it) needs cryptography; a secret or a token does not.
            ("cryptography", CRYPTOGRAPHY_IMPORT_ERROR, bool(self.params.get("client_certificate_path"))),
        ) if error and needed]
        if missing:
            self.fail_json(msg=missing_required_lib(" and ".join(name for name, dummy in missing)),
                           exception="\n".join(error for dummy, error in missing))
        self._client = None
        self.environment_conflicts = environment_conflicts(GRAPH_COMMON_ARGUMENT_SPEC, self._given, os.environ)
        for conflict in self.environment_conflicts:
            self.warn(conflict)

    def _load_params(self):
        super(GraphModule, self)._load_params()
        # What the task itself gave, before the environment fallbacks fill the rest in.
        self._given = dict(self.params or {})

    @property
    def client(self):
        if self._client is None:
            self._client = build_graph_client(self.params)
            if self._client.transport.verify is False:
                # Said on every task that runs this way, so that it is never forgotten in a production playbook.
                self.warn("validate_certs is false: the TLS certificates of Entra ID and Microsoft Graph are not "
                          "checked, so anyone on the network path can read the credential and the access token. "
                          "Use it only against a test server; behind a TLS-inspecting proxy, set ca_path to the "
                          "proxy's CA bundle instead.")
        return self._client

    def run_and_exit(self, run):
        """Call ``run(module, client)``; exit with its result, or fail with a typed error's message and data.

        Whatever else escapes still ends as a clear failure: never Ansible's "MODULE FAILURE" and a traceback in
        the output, only in ``exception`` when tracebacks are asked for. fail_json masks the no_log values.
        """
        try:
            result = run(self, self.client)
        except O365AdminError as error:
            self._warn_about_transport()
            error = self._run_wide_failure(error)
            kwargs = error.fail_json_kwargs()
            refused = isinstance(error, AuthenticationError) or (
                self._client is not None and getattr(self._client.token_source, "failure", None) is not None)
            if refused and self.environment_conflicts:
                # The refused credential may be the stale one of two variables: say so where the hint is read.
                kwargs["msg"] += " The environment holds two different values for one credential: %s" % (
                    " ".join(self.environment_conflicts))
            self.fail_json(**kwargs)
        except Exception as error:  # pylint: disable=broad-except
            self._warn_about_transport()
            self.fail_json(msg="The module stopped on an unexpected error (%s: %s); requests sent before it may "
                               "have been carried out. For the traceback set ANSIBLE_DISPLAY_TRACEBACK=error "
                               "(ansible-core 2.19 and later; -vvv before), and report it to the o365.admin "
                               "maintainers." % (error.__class__.__name__, _first_line(error)),
                           exception=traceback.format_exc())
        self._warn_about_transport()
        self.exit_json(**result)

    def run_and_exit_stoppable(self, run):
        """run_and_exit for a module that installs a stop (``self.interruption``): once interrupted, the JSON is
        out and calls abandoned in flight must not hold the process until they time out."""
        try:
            self.run_and_exit(run)
        except SystemExit as exiting:
            interruption = getattr(self, "interruption", None)
            if interruption is None or not interruption.is_set():
                raise
            sys.stdout.flush()
            os._exit(exiting.code if isinstance(exiting.code, int) else 1)

    def _run_wide_failure(self, error):
        """A bulk run that stopped because no token came, or the proxy wants its credentials, fails with that one
        cause as its message (said once, not once per user); its results still list every user."""
        if not isinstance(error, TaskFailed) or self._client is None:
            return error
        cause = self._client.transport.proxy_failure or getattr(self._client.token_source, "failure", None)
        if cause is None:
            return error
        result = dict(error.result)
        not_sent = result.get("failed_users") or []
        message = "%s %s" % (cause.message, "Nothing was sent for %d user(s) (failed_users); every user's outcome "
                                            "is in results." % len(not_sent) if not_sent else
                             "Every user's outcome is in results.")
        result.update(cause.details())
        return TaskFailed(message, result)

    def _warn_about_transport(self):
        """Token cache problems and retries are never silent."""
        if self._client is None:
            return
        for warning in self._client.token_source.warnings:
            self.warn(warning)
        stats = self._client.transport.stats
        if stats.retries:
            self.warn("Microsoft Graph asked to retry %d time(s) (throttling or a transient error); waited %.1f s "
                      "in all." % (stats.retries, stats.waited_s))


def users_module(argument_spec=None, **kwargs):
    """A GraphModule for a module that acts on users: the targets options (``user``, ``users``, ``groups``,
    ``exclude``, ``max_users``), ``batch_concurrency`` and the rules between them, then the module's own
    ``argument_spec`` (which may override one, e.g. a different ``max_users`` default). Check mode is supported."""
    spec = dict(TARGETS_ARGUMENT_SPEC)
    spec.update(BATCH_ARGUMENT_SPEC)
    spec.update(argument_spec or {})
    return GraphModule(argument_spec=spec, mutually_exclusive=TARGETS_MUTUALLY_EXCLUSIVE,
                       required_one_of=TARGETS_REQUIRED_ONE_OF, supports_check_mode=True, **kwargs)
