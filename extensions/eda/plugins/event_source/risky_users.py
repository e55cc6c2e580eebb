# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ansible-rulebook event source o365.admin.risky_users: one event per user whose Entra ID Protection risk newly
reaches the configured levels."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
short_description: Events for users Microsoft Entra ID Protection newly considers at risk
description:
  - An ansible-rulebook event source plugin that polls Microsoft Entra ID Protection's risky users through
    Microsoft Graph (C(GET /identityProtection/riskyUsers), filtered on C(riskLevel) and C(riskState), every page)
    every O(interval) seconds, and puts one event on the queue for each user whose risk newly reaches
    O(risk_levels) in O(risk_states).
  - A user is emitted once per C(riskLastUpdatedDateTime); the same user is emitted again when its risk changes
    again later (a new C(riskLastUpdatedDateTime)) and still matches. With O(state_file), what was emitted
    survives a restart, so a restart emits no duplicate.
  - Users Identity Protection lists as deleted (C(isDeleted) true) are never emitted - there is nobody to contain,
    and they must not count towards the blast-radius brake.
  - With O(ledger_dir) (the containment ledger C(playbooks/contain_risky_user.yml) keeps through the brake of
    M(o365.admin.o365_containment)), delivery is at least once - an event is acknowledged only when the
    ledger says its containment ended (contained, refused, failed with a record, excluded, deleted, held by the
    brake). After a restart, the events emitted and not acknowledged, and the containments the ledger holds as
    started and not finished, are emitted again, and the idempotent modules finish them. Without O(ledger_dir), an
    event is acknowledged once it is queued (at most once - a containment cut short is never finished).
  - Each event has one key, C(o365_risky_user), holding C(id) (the user's object ID), C(userPrincipalName),
    C(userDisplayName), C(riskLevel), C(riskState), C(riskDetail) and C(riskLastUpdatedDateTime), as Graph names
    them.
  - Authenticates as the collection's modules do (msal, client secret or certificate), with the same option names
    and the same environment variables; tokens are kept in the same cache file, so the playbooks the rulebook
    runs request none.
  - Identity Protection accepts one request per second per tenant for all apps together, and its 429 answers carry
    no C(Retry-After). The plugin sends at most one request per second, and after a throttled or failed poll waits
    twice as long as the last time (from O(interval), at most 10 minutes; after a throttled poll up to a quarter less
    at random, so that several sources on one tenant do not retry in step) before the next; the first good poll goes
    back to O(interval).
  - A transient error (network, timeout, throttling, a 5xx, a refused token) is logged and the plugin goes on;
    only invalid arguments stop it, at start.
  - "Permission: the Microsoft Graph application permission C(IdentityRiskyUser.Read.All), with admin consent; the
    riskyUsers API requires a Microsoft Entra ID P2 licence. Not available in the China cloud (21Vianet): the plugin
    refuses O(cloud=china) at start."
  - Needs msal, requests and ansible-core in the Python that runs ansible-rulebook (the decision environment in
    EDA Controller).
options:
  tenant_id:
    description:
      - The Entra ID tenant (directory) ID or a verified domain name.
      - If not set, the environment variable E(AZURE_TENANT_ID) is used, then E(AZURE_TENANT).
    type: str
  client_id:
    description:
      - The application (client) ID of the app registration.
      - If not set, the environment variable E(AZURE_CLIENT_ID) is used.
    type: str
  client_secret:
    description:
      - A client secret of the app registration.
      - If not set, the environment variable E(AZURE_CLIENT_SECRET) is used, then E(AZURE_SECRET).
    type: str
  client_certificate_path:
    description:
      - Path to the app's certificate credential (PEM with key and certificate, or PKCS#12), preferred over a secret.
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PATH) is used.
    type: path
  client_certificate_password:
    description:
      - Password of an encrypted PEM key or of the PKCS#12 file.
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PASSWORD) is used.
    type: str
  cloud:
    description:
      - The Microsoft cloud, as for the modules. V(china) is refused (no Identity Protection API there).
      - If not set, the environment variable E(AZURE_CLOUD_ENVIRONMENT) is used; otherwise V(public).
    type: str
    choices: [public, usgov, usgovdod, china]
  authority_host:
    description:
      - The Entra ID authority host, overriding O(cloud)'s.
      - If not set, the environment variable E(AZURE_AUTHORITY_HOST) is used.
    type: str
  graph_endpoint:
    description:
      - The Microsoft Graph endpoint, overriding O(cloud)'s.
      - If not set, the environment variable E(O365_GRAPH_ENDPOINT) is used.
    type: str
  ca_path:
    description:
      - A CA bundle to trust for Entra ID and Graph (a TLS-inspecting proxy's).
      - If not set, the environment variable E(O365_CA_PATH) is used.
    type: path
  validate_certs:
    description:
      - Whether to check TLS certificates. V(false) only against a test server; it is logged as a warning.
    type: bool
    default: true
  token_cache:
    description:
      - Whether to keep tokens in a private cache file shared with the modules.
    type: bool
    default: true
  token_cache_path:
    description:
      - The token cache file; the modules' default when not set.
    type: path
  interval:
    description:
      - Seconds between two polls (at least 1; Identity Protection allows one request per second per tenant).
    type: int
    default: 60
  risk_levels:
    description:
      - The risk levels that raise an event.
    type: list
    elements: str
    choices: [low, medium, high, hidden, none]
    default: [high]
  risk_states:
    description:
      - The risk states that raise an event. V(atRisk) is a risk nobody has acted on yet.
    type: list
    elements: str
    choices: [none, confirmedSafe, remediated, dismissed, atRisk, confirmedCompromised]
    default: [atRisk]
  state_file:
    description:
      - A JSON file where the plugin remembers what it emitted (user object ID and C(riskLastUpdatedDateTime)),
        written atomically with mode 0600 after each poll's events are queued. Without it, a restart emits every
        user at risk again.
    type: path
  ledger_dir:
    description:
      - The state directory of the containment ledger (the playbook's C(o365_eda_state_dir)); with it, delivery is at
        least once (see above). It must persist across restarts (under EDA Controller, a persistent volume).
    type: path
"""

EXAMPLES = r"""
- name: Contain users at high risk
  hosts: localhost
  sources:
    - o365.admin.risky_users:
        interval: 60
        risk_levels: [high]
        state_file: /var/lib/eda/o365-risky-users.json
        ledger_dir: /var/lib/eda/o365
  rules:
    - name: Contain a user at high risk
      condition: event.o365_risky_user.riskLevel == "high"
      action:
        run_playbook:
          name: o365.admin.contain_risky_user
          extra_vars:
            o365_eda_state_dir: /var/lib/eda/o365
"""

import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import time

try:
    import ansible_collections.o365.admin.plugins.module_utils._graph_module  # noqa: F401  pylint: disable=unused-import
except ImportError:
    # ansible-rulebook loads this file by path: make the collections root it sits in importable.
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 7)))

from ansible_collections.o365.admin.plugins.module_utils._errors import (  # noqa: E402
    ConfigurationError, GraphApiError, GraphTransportError, O365AdminError)
from ansible_collections.o365.admin.plugins.module_utils._graph_module import (  # noqa: E402
    DEFAULT_TIMEOUT_S, GRAPH_COMMON_ARGUMENT_SPEC, build_graph_client)
from ansible_collections.o365.admin.plugins.module_utils._ledger import Ledger  # noqa: E402
from ansible_collections.o365.admin.plugins.module_utils._risky_users import (  # noqa: E402
    RISK_LEVELS, RISK_STATES, IdentityPacer, checked_values, is_deleted, list_risky_users, refuse_china)

LOGGER = logging.getLogger("o365.admin.risky_users")
CONNECTION_ARGUMENTS = ("tenant_id", "client_id", "client_secret", "client_certificate_path",
                        "client_certificate_password", "cloud", "authority_host", "graph_endpoint", "ca_path",
                        "validate_certs", "token_cache", "token_cache_path")
ARGUMENTS = CONNECTION_ARGUMENTS + ("interval", "risk_levels", "risk_states", "state_file", "ledger_dir")
DEFAULT_INTERVAL_S = 60
MAX_BACKOFF_S = 600
EVENT_KEY = "o365_risky_user"
EVENT_PROPERTIES = ("id", "userPrincipalName", "userDisplayName", "riskLevel", "riskState", "riskDetail",
                    "riskLastUpdatedDateTime")
STATE_VERSION = 2
# An event never acknowledged (its run never reached the ledger) is emitted again at each restart for this long.
PENDING_RETAIN_S = 7 * 86400


def connection_params(args, environ=None):
    """The modules' connection parameters from the plugin's arguments: the same names, the same environment
    fallbacks and defaults. The plugin waits and retries itself, so the transport does not (max_retries 0)."""
    environ = os.environ if environ is None else environ
    params = {}
    for name, spec in GRAPH_COMMON_ARGUMENT_SPEC.items():
        value = args.get(name) if name in CONNECTION_ARGUMENTS else None
        if value is None and spec.get("fallback"):
            value = next((environ[var] for var in spec["fallback"][1] if environ.get(var)), None)
        if value is None:
            value = spec.get("default")
        if value is not None and spec.get("type") == "path":
            value = os.path.expanduser(value)
        params[name] = value
    params.update(access_token=None, timeout=float(DEFAULT_TIMEOUT_S), max_retries=0)
    return params


def checked_arguments(args):
    """Every argument checked before anything is sent; a clear ConfigurationError otherwise."""
    unknown = sorted(set(args) - set(ARGUMENTS))
    if unknown:
        raise ConfigurationError("o365.admin.risky_users does not take %s; it takes %s."
                                 % (", ".join(unknown), ", ".join(ARGUMENTS)))
    interval = args.get("interval", DEFAULT_INTERVAL_S)
    if isinstance(interval, str) and interval.strip().isdigit():
        interval = int(interval)  # a templated value may arrive as text
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 1 <= interval <= 86400:
        raise ConfigurationError("interval must be a number of seconds from 1 to 86400, not %r." % (interval,))
    levels = checked_values("risk_levels", args.get("risk_levels", ["high"]), RISK_LEVELS)
    states = checked_values("risk_states", args.get("risk_states", ["atRisk"]), RISK_STATES)
    if not levels or not states:
        raise ConfigurationError("risk_levels and risk_states each need at least one value.")
    if args.get("cloud") not in (None, "public", "usgov", "usgovdod", "china"):
        raise ConfigurationError("cloud must be one of public, usgov, usgovdod, china, not %r." % args["cloud"])
    params = connection_params(args)
    refuse_china(params)
    if not (params["client_id"] and params["tenant_id"]):
        raise ConfigurationError("tenant_id and client_id are required (or AZURE_TENANT_ID and AZURE_CLIENT_ID).")
    ledger_dir = args.get("ledger_dir")
    return float(interval), levels, states, params, args.get("state_file"), (
        os.path.expanduser(ledger_dir) if ledger_dir else None)


def load_state(path):
    """({user object ID: riskLastUpdatedDateTime emitted}, {user object ID: {"event", "at"} not acknowledged});
    empty for no file, and for an unreadable one (logged)."""
    if not path or not os.path.exists(path):
        return {}, {}
    try:
        with open(path) as handle:
            document = json.load(handle)
        emitted, pending = document["emitted"], document.get("pending") or {}
        if not isinstance(emitted, dict) or not isinstance(pending, dict):
            raise ValueError("emitted or pending is not an object")
        return (dict((str(key), str(value)) for key, value in emitted.items()),
                dict((str(key), value) for key, value in pending.items()
                     if isinstance(value, dict) and isinstance(value.get("event"), dict)))
    except (OSError, ValueError, KeyError, TypeError) as error:
        LOGGER.error("o365.admin.risky_users: the state file %s could not be read (%s); starting without it, so "
                     "users at risk now are emitted again.", path, error)
        return {}, {}


def save_state(path, emitted, pending=None):
    """Atomically (a temporary file renamed over it), private (0600)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".risky_users.", dir=directory)
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump({"version": STATE_VERSION, "emitted": emitted, "pending": pending or {}}, stream, sort_keys=True)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def is_transient(error):
    """Whether another poll may succeed: everything but a configuration error is worth trying again (a 403 too:
    an admin may grant the permission or the licence while the plugin waits)."""
    return not isinstance(error, ConfigurationError)


class RiskyUserPoller:
    """What the plugin does on each poll, without asyncio: list, pick the new risk, remember it, say how long to
    wait. ``fetch()`` returns the riskyUser objects matching the filter."""

    def __init__(self, fetch, interval_s, state_file=None, clock=time.monotonic, ledger=None, wall_clock=time.time,
                 jitter=random.random):
        self.fetch = fetch
        self.jitter = jitter
        self.interval_s = interval_s
        self.state_file = state_file
        self.clock = clock
        self.wall_clock = wall_clock
        self.ledger = ledger
        self.emitted, self.pending = load_state(state_file)
        if ledger is None:
            self.pending = {}
        # Emitted once at the first poll: what a previous run of the source left unacknowledged.
        self.replay = ledger is not None
        self.failures = 0

    def acknowledge(self):
        """Forget the pending events whose containment ended in the ledger; [events to emit again now] at start."""
        if self.ledger is None:
            return []
        try:
            document_ended = self.ledger.event_ended
            unfinished = self.ledger.unfinished() if self.replay else []
            done = [user_id for user_id, entry in self.pending.items()
                    if document_ended(user_id, entry["event"].get("riskLastUpdatedDateTime"))]
        except (OSError, O365AdminError) as error:
            LOGGER.error("o365.admin.risky_users: the containment ledger could not be read (%s); no event is "
                         "acknowledged until it can.", describe(error))
            return []
        now = self.wall_clock()
        stale = [user_id for user_id, entry in self.pending.items()
                 if user_id not in done and now - float(entry.get("at") or now) > PENDING_RETAIN_S]
        for user_id in stale:
            LOGGER.error("o365.admin.risky_users: the event for %s was never acknowledged in %d days; it is no "
                         "longer emitted again.", user_id, PENDING_RETAIN_S // 86400)
        for user_id in done + stale:
            del self.pending[user_id]
        again = []
        if self.replay:
            self.replay = False
            # A containment cut short: emitted and never ended, or started in the ledger and never finished.
            again = [entry["event"] for entry in self.pending.values()]
            known = set(event.get("id", "").lower() for event in again)
            again += [event for event in unfinished if str(event.get("id", "")).lower() not in known]
            if again:
                LOGGER.warning("o365.admin.risky_users: %d containment(s) cut short by a stop are emitted again.",
                               len(again))
        if done or stale:
            self._save()
        return [{EVENT_KEY: dict(event)} for event in again]

    def poll(self):
        """(events, seconds to wait before the next poll). Never raises for a transient error."""
        events = self.acknowledge()
        try:
            items = self.fetch()
        except O365AdminError as error:
            if not is_transient(error):
                raise
            return events, self._back_off(error)
        except Exception as error:  # pylint: disable=broad-except
            # Whatever else goes wrong in one poll (a bug, a corrupt cache file), the source must not die.
            return events, self._back_off(error)
        self.failures = 0
        again = set(event[EVENT_KEY].get("id") for event in events)
        for item in items:
            user_id, updated = item.get("id"), item.get("riskLastUpdatedDateTime")
            if not user_id or is_deleted(item) or user_id in again or self.emitted.get(user_id) == (updated or ""):
                continue
            events.append({EVENT_KEY: dict((name, item.get(name)) for name in EVENT_PROPERTIES)})
        return events, self.interval_s

    def commit(self, events):
        """Remember ``events`` once they are on the queue (a crash before this re-emits; never loses one). With a
        ledger they stay pending until their containment ends there."""
        for event in events:
            user = event[EVENT_KEY]
            self.emitted[user["id"]] = user.get("riskLastUpdatedDateTime") or ""
            if self.ledger is not None:
                before = self.pending.get(user["id"]) or {}
                # A replayed event keeps its first emission time, so that it is not retried for ever.
                same = before.get("event", {}).get("riskLastUpdatedDateTime") == user.get("riskLastUpdatedDateTime")
                self.pending[user["id"]] = {"event": dict(user),
                                            "at": before.get("at") if same and before.get("at") else self.wall_clock()}
        if events:
            self._save()

    def _save(self):
        if self.state_file:
            try:
                save_state(self.state_file, self.emitted, self.pending)
            except OSError as error:
                LOGGER.error("o365.admin.risky_users: the state file %s could not be written (%s); a restart may "
                             "emit these users again.", self.state_file, error)

    def _back_off(self, error):
        self.failures += 1
        delay = min(MAX_BACKOFF_S, self.interval_s * (2 ** min(self.failures, 16)))
        throttled = isinstance(error, GraphApiError) and error.status_code == 429
        if throttled:
            # Up to a quarter less, at random: several sources throttled together (rulebook instances on one tenant,
            # whose limit is one request a second for all apps) must not retry in lockstep and collide forever.
            delay *= 1.0 - 0.25 * self.jitter()
        LOGGER.warning("o365.admin.risky_users: poll %s (%s); next poll in %.0f s.",
                       "throttled by Identity Protection" if throttled else "failed",
                       describe(error), delay)
        return delay


def describe(error):
    if isinstance(error, (GraphApiError, GraphTransportError, O365AdminError)):
        return error.message
    return "%s: %s" % (error.__class__.__name__, error)


def build_fetch(params, levels, states):
    """fetch() for the poller: one client (and its token cache) for the plugin's life, one pacer for its requests."""
    client = build_graph_client(params)
    if client.transport.verify is False:
        LOGGER.warning("o365.admin.risky_users: validate_certs is false: TLS certificates are not checked; use it "
                       "only against a test server.")
    pacer = IdentityPacer()

    def fetch():
        return list_risky_users(client, levels, states, pacer)
    return fetch


async def main(queue, args):
    """ansible-rulebook's entry point: poll forever, putting one event per user newly at risk on ``queue``."""
    interval, levels, states, params, state_file, ledger_dir = checked_arguments(dict(args or {}))
    if not state_file:
        LOGGER.warning("o365.admin.risky_users: no state_file; a restart emits every user at risk again.")
    if not ledger_dir:
        LOGGER.warning("o365.admin.risky_users: no ledger_dir; an event is acknowledged once queued, so a "
                       "containment cut short by a stop is never finished.")
    poller = RiskyUserPoller(build_fetch(params, levels, states), interval, state_file,
                             ledger=Ledger(ledger_dir) if ledger_dir else None)
    loop = asyncio.get_running_loop()
    while True:
        events, delay = await loop.run_in_executor(None, poller.poll)
        for event in events:
            await queue.put(event)
        poller.commit(events)
        await asyncio.sleep(delay)


if __name__ == "__main__":
    # A quick look without ansible-rulebook: print the events (credentials from AZURE_* variables).
    class PrintQueue:
        async def put(self, event):
            print(json.dumps(event))

    asyncio.run(main(PrintQueue(), {"interval": 10}))
