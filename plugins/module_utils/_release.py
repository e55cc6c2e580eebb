# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release: undo a containment from its records, trusting a record only as far as Graph still shows it.

Internal to this collection, may change without notice.

A record is a claim about the past; Graph is the present. A user is allowed to sign in again only when the record
says its run blocked the user (enabled before, blocked after, changed by that run, not check mode) and Graph still
shows exactly the state that run left: ``accountEnabled`` false and ``signInSessionsValidFromDateTime`` equal to the
timestamp the run wrote. A later containment revokes again (a later timestamp): the user is skipped as blocked again
since; a hand-edited record cannot hold the timestamp Graph shows for a user the run never revoked. Everything else
is skipped with its reason; a user whose state could not be read fails (never "go").

Everything is linear in the records' size: one pass to index, dictionary look-ups, one batched read, one batched
write. Nothing here is decided in YAML or Jinja.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import json
import os
import re
import time

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError, TaskFailed
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import checked_concurrency
from ansible_collections.o365.admin.plugins.module_utils._graph_requests import Sender
from ansible_collections.o365.admin.plugins.module_utils._outcomes import FAILED, UNKNOWN, judge, write_answer
from ansible_collections.o365.admin.plugins.module_utils._permissions import permission_sentence
from ansible_collections.o365.admin.plugins.module_utils._report import (
    JOURNAL_FORMAT, RUN_ID_PLACEHOLDER, claim, journal_head, new_run_id, resolve_path, write_atomically)
from ansible_collections.o365.admin.plugins.module_utils._sessions_valid_from import format_time, parse_time, utc_now
from ansible_collections.o365.admin.plugins.module_utils._user_read import read_users_through
from ansible_collections.o365.admin.plugins.module_utils._errors import O365AdminError
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference

MODULE_NAME = "o365.admin.o365_containment"
# 2: run_id on the record and its users, and what the release checked against Graph per user. Version 1 records
# (contain_user before issue 25) are still read: they hold every field the release needs.
SCHEMA_VERSION = 2
KNOWN_SCHEMAS = (1, 2)
RELEASE_PROPERTIES = ("id", "userPrincipalName", "accountEnabled", "signInSessionsValidFromDateTime")
# Microsoft: CAE-capable Exchange Online, SharePoint Online and Teams clients see critical account events within
# about 15 minutes (https://learn.microsoft.com/entra/identity/conditional-access/concept-continuous-access-evaluation).
CAE_WINDOW = datetime.timedelta(minutes=15)
GUID_RE = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.I)

ALLOWED, WOULD_ALLOW, SKIPPED = "allowed", "would_allow", "skipped"
WRITE_PERMISSION = "User.EnableDisableAccount.All"

# The options of o365_containment's state=released, beside the shared targets options (users: release only these;
# exclude: never these; max_users: the most allowed again) and batch_concurrency. Documented in the
# o365.admin.release doc fragment.
RELEASE_OPTIONS = dict(
    records=dict(type="list", elements="path"),
    dismiss_risk=dict(type="bool", default=False),
    incident=dict(type="str"),
    report_path=dict(type="path"),
    report_replace=dict(type="bool", default=False),
)

# Reasons, as the record and the docs spell them.
NOT_NAMED = "not named in this release"
EXCLUDED = "excluded now"
CHECK_MODE_RECORD = "the record is of a check-mode run, which blocked nobody"
BLOCKED_BEFORE = "was already blocked before the incident"
NO_TIMESTAMP = ("the record holds no sessions timestamp of its run (sessions_valid_from_after), so Graph's state "
                "cannot be matched to it")
NOT_IN_RECORD = "not in the record"
ALREADY_ALLOWED = "already allowed"
DELETED = "no longer in the directory (Graph answered 404)"


class RecordError(ConfigurationError):
    """A record that cannot be released from: said before any Graph call."""


# --- reading records ---------------------------------------------------------------------------------------------

def load_record(path):
    """The record at ``path`` as a dict, checked; RecordError saying what is wrong, and that nothing was sent."""
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError, UnicodeDecodeError) as error:
        raise RecordError("Could not read the containment record %s: missing, unreadable or not JSON (%s: %s). "
                          "Nothing was sent." % (path, type(error).__name__, error))
    try:
        record = json.loads(text)
    except ValueError:
        head = journal_head(text)
        if head is not None:
            raise RecordError("%s is the journal of a run that did not finish (run_id %s), not a containment record: "
                              "its users whose writes were sent are unknown. Contain them again to get a record, then "
                              "release from that. Nothing was sent." % (path, head.get("run_id")))
        raise RecordError("Could not read the containment record %s: missing, unreadable or not JSON. Nothing was "
                          "sent." % path)
    if not isinstance(record, dict) or record.get("schema_version") not in KNOWN_SCHEMAS or \
            record.get("kind") != "containment" or not isinstance(record.get("users"), list):
        shape = record if isinstance(record, dict) else {}
        raise RecordError("%s is not a containment record this release knows (schema_version %s, kind %s; known: "
                          "schema_version %s of kind containment). Nothing was sent."
                          % (path, shape.get("schema_version", "missing"), shape.get("kind", "missing"),
                             ", ".join(str(v) for v in KNOWN_SCHEMAS)))
    return record


class Row:
    """One user entry of one record, with what the release needs of its record."""

    __slots__ = ("entry", "path", "record", "names", "key", "tenant", "recorded_at", "reason")

    def __init__(self, entry, path, record):
        self.entry = entry
        self.path = path
        self.record = record
        self.names = set(str(entry[k]).lower() for k in ("user_id", "user_principal_name", "user") if entry.get(k))
        self.tenant = entry.get("tenant") or None
        identity = entry.get("user_id") or entry.get("user_principal_name") or entry.get("user") or ""
        self.key = ((self.tenant or "").lower(), str(identity).lower())
        self.recorded_at = parse_time(entry.get("sessions_valid_from_after"))
        self.reason = None

    @property
    def reference(self):
        return self.entry.get("user_id") or self.entry.get("user_principal_name") or self.entry.get("user")

    @property
    def run_id(self):
        return self.entry.get("run_id") or self.record.get("run_id")


def rows_of(records):
    """[(path, record)] -> one Row per user entry that is a mapping, in order."""
    return [Row(entry, path, record) for path, record in records for entry in record["users"]
            if isinstance(entry, dict)]


# --- tenants -----------------------------------------------------------------------------------------------------

def token_tenant(token):
    """The tenant GUID (tid claim) of an access token, or None when it cannot tell."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode("utf-8"))
    except (ValueError, TypeError, binascii.Error):
        return None
    tid = payload.get("tid") if isinstance(payload, dict) else None
    return tid.lower() if isinstance(tid, str) else None


def rows_of_tenant(rows, is_ours):
    """The rows of the releasing tenant (``is_ours(name)``); a row naming no tenant belongs to whoever releases it.
    None when the records hold users and none is of this tenant."""
    ours = [row for row in rows if row.tenant is None or is_ours(row.tenant)]
    if rows and not ours:
        return None
    return ours


def foreign_tenant_message(rows, releasing):
    held = sorted(set(row.tenant for row in rows if row.tenant))
    return ("The records hold no user of the tenant this release signs in to (%s); they hold users of %s. Release "
            "each tenant's users with that tenant's credential (a domain and its tenant ID are the same tenant: both "
            "were compared). Nothing was sent." % (" / ".join(releasing), ", ".join(held)))


# --- decisions ---------------------------------------------------------------------------------------------------

def record_reason(row, wanted, excluded):
    """Why the record alone rules the user out (a reason), or None: a candidate to check against Graph."""
    entry = row.entry
    if wanted and not (row.names & wanted):
        return NOT_NAMED
    if row.names & excluded:
        return EXCLUDED
    if row.record.get("check_mode") is True:
        return CHECK_MODE_RECORD
    if entry.get("account_enabled_before") is False:
        return BLOCKED_BEFORE
    if not (entry.get("account_enabled_changed") is True and entry.get("account_enabled_before") is True
            and entry.get("account_enabled_after") is False):
        return "the incident did not block it (sign-in outcome: %s)" % entry.get("sign_in_outcome")
    if row.recorded_at is None:
        return NO_TIMESTAMP
    return None


def graph_verdict(row, read):
    """(outcome, reason) for a candidate from Graph's answer now: 'release' with None, 'skipped' with why, or
    'failed' with why (the state could not be read: never released blind)."""
    if read is None or read.failed:
        return FAILED, "Graph's state could not be read, so it cannot be matched to the record"
    if read.not_found:
        return SKIPPED, DELETED
    props = read.properties
    enabled = props.get("account_enabled")
    if enabled is True:
        return SKIPPED, ALREADY_ALLOWED
    if enabled is not False:
        return FAILED, "Graph's answer holds no accountEnabled (%r)" % (enabled,)
    now = parse_time(props.get("sessions_valid_from")) if props.get("sessions_valid_from") else None
    recorded = row.recorded_at
    if now is not None and now.replace(microsecond=0) == recorded.replace(microsecond=0):
        return "release", None
    if now is not None and now > recorded:
        return SKIPPED, ("blocked again since: Graph shows sessions revoked at %s, after this record's %s (a later "
                         "containment)" % (props.get("sessions_valid_from"), row.entry["sessions_valid_from_after"]))
    return SKIPPED, ("Graph's state does not match the record: sessions valid from %s, the record says %s (blocked "
                     "by someone else, or the record was edited)" % (props.get("sessions_valid_from"),
                                                                     row.entry["sessions_valid_from_after"]))


def choose_rows(rows, wanted, excluded):
    """One decisive Row per user (tenant + identity), in first-seen order, each with ``reason`` set (None for a
    candidate). Of several candidate rows (the user in several records), the one whose run wrote the latest
    timestamp is the one Graph can still show. Linear."""
    chosen, order = {}, []
    for row in rows:
        row.reason = record_reason(row, wanted, excluded)
        held = chosen.get(row.key)
        if held is None:
            chosen[row.key] = row
            order.append(row.key)
        elif row.reason is None and (held.reason is not None or row.recorded_at > held.recorded_at):
            chosen[row.key] = row
    return [chosen[key] for key in order]


# --- the run -----------------------------------------------------------------------------------------------------

class Release:
    """One release run: records -> decisions -> reads -> writes -> record."""

    def __init__(self, module, client, cwd=None):
        self.module = module
        self.client = client
        self.params = module.params
        self.check_mode = module.check_mode
        self.cwd = cwd
        self.run_id = new_run_id()
        self.sender = Sender(client, checked_concurrency(self.params.get("batch_concurrency") or 4),
                             self.params.get("max_retries", 4), lone_request_direct=False)
        self.journal_lines = None

    # Names this release signs in as: the tenant option as given, and (asked only when that does not settle it, so
    # a release with nothing to do needs no token) the token's tenant ID.
    def given_names(self):
        return set([self.params["tenant_id"].lower()]) if self.params.get("tenant_id") else set()

    def token_names(self):
        current = getattr(self.client.token_source, "current_token", None)
        tid = token_tenant(current()[0]) if current is not None else None
        return set([tid]) if tid else set()

    def tenant_id_of(self, name, cache):
        """A domain's tenant ID from Entra ID's OpenID discovery (the issuer names it), or None."""
        if name in cache:
            return cache[name]
        cache[name] = None
        try:
            from ansible_collections.o365.admin.plugins.module_utils._graph_auth import ConnectionSettings
            host = ConnectionSettings(self.params).authority_host
            answer = self.client.transport.send("GET", "%s/%s/v2.0/.well-known/openid-configuration" % (host, name))
            issuer = answer.json().get("issuer", "") if answer.status_code == 200 else ""
            found = [part for part in issuer.split("/") if GUID_RE.match(part)]
            cache[name] = found[0].lower() if found else None
        except Exception:  # pylint: disable=broad-except
            cache[name] = None  # cannot tell: not ours (fail closed)
        return cache[name]

    def run(self):
        params = self.params
        for option in ("user", "groups"):
            if params.get(option):
                raise ConfigurationError("state=released takes the users from records (narrowed by users and "
                                         "exclude), not %s. Nothing was sent." % option)
        paths = [resolve_path(p, self.cwd) for p in params.get("records") or []]
        if not paths:
            raise ConfigurationError("state=released needs records: the containment record(s) to release from. "
                                     "Nothing was sent.")
        report_path, lock = None, None
        if params.get("report_path"):
            report_path = resolve_path(params["report_path"].replace(RUN_ID_PLACEHOLDER, self.run_id), self.cwd)
            if not os.path.isdir(os.path.dirname(report_path)):
                raise ConfigurationError("report_path %s: the directory does not exist; create it first. Nothing "
                                         "was sent." % report_path)
            lock = claim(report_path, params.get("report_replace"), self.check_mode)
        try:
            records = [(path, load_record(path)) for path in paths]
            result = self._release(records)
            return self._finish(result, records, report_path)
        finally:
            if lock is not None:
                lock.release()

    def _release(self, records):
        params = self.params
        wanted = set(u.lower() for u in params.get("users") or [])
        excluded = set(u.lower() for u in params.get("exclude") or [])
        rows = rows_of(records)
        discovered = {}
        # The releasing tenant: the tenant_id given (and, for a domain, its tenant ID); with none given (a bare
        # access_token), the token's tid. No token is requested for this: a tenant whose release has nothing to do
        # (its users all ruled out by the record) sends nothing at all.
        releasing = self.given_names()
        for name in list(releasing):
            if not GUID_RE.match(name):
                releasing.add(self.tenant_id_of(name, discovered))
        if not releasing:
            releasing = self.token_names()
        releasing.discard(None)
        cache = {}

        def is_ours(name):
            name = name.lower()
            if name not in cache:
                cache[name] = name in releasing or (not GUID_RE.match(name) and
                                                    self.tenant_id_of(name, discovered) in releasing)
            return cache[name]

        ours = rows_of_tenant(rows, is_ours)
        if ours is None:
            raise RecordError(foreign_tenant_message(rows, sorted(releasing) or ["unknown"]))
        chosen = choose_rows(ours, wanted, excluded)
        references = {}
        for row in chosen:
            if row.reason is None:
                try:
                    references[id(row)] = UserReference.parse(row.reference)
                except O365AdminError:
                    row.reason = "the record names the user in a form Graph cannot address (%r)" % (row.reference,)
        candidates = [row for row in chosen if row.reason is None]
        reads = dict(zip(map(id, candidates), read_users_through(
            self.sender, [references[id(row)] for row in candidates], RELEASE_PROPERTIES)))
        entries = []
        to_allow = []
        for row in chosen:
            entry = self._entry(row)
            if row.reason is not None:
                entry.update(outcome=SKIPPED, reason=row.reason)
            else:
                read = reads[id(row)]
                verdict, reason = graph_verdict(row, read)
                self._with_read(entry, read)
                if verdict == "release":
                    # Check mode: it would change (Ansible's changed, and --diff, say so).
                    entry.update(outcome=WOULD_ALLOW if self.check_mode else None, reason=None,
                                 changed=self.check_mode)
                    to_allow.append((row, entry, read))
                else:
                    entry.update(outcome=verdict, reason=reason)
                    if verdict == FAILED:
                        entry["error"] = dict(read.answer.error if read is not None else {}, explanation=reason)
            entries.append(entry)
        known = set()
        for row in ours:
            known |= row.names
        for name in params.get("users") or []:
            if name.lower() not in known:
                entries.append(dict(user=name, user_id=None, user_principal_name=None, tenant=None, incident=None,
                                    outcome=SKIPPED, reason=NOT_IN_RECORD, changed=False))
        max_users = params.get("max_users") or 1000
        if len(to_allow) > max_users:
            raise ConfigurationError("%d users would be allowed again, more than max_users (%d). Check the records; "
                                     "raise it only if that many is intended. Nothing was written."
                                     % (len(to_allow), max_users))
        if not self.check_mode:
            self._allow(to_allow)
        if params.get("dismiss_risk"):
            self._dismiss([(entry, read) for row, entry, read in to_allow if entry["outcome"] in (ALLOWED, WOULD_ALLOW)])
        return entries

    @staticmethod
    def _entry(row):
        entry = row.entry
        return dict(user=entry.get("user") or row.reference, user_id=entry.get("user_id"),
                    user_principal_name=entry.get("user_principal_name"), tenant=row.tenant,
                    incident=entry.get("incident") or row.record.get("incident"), record=row.path,
                    run_id=row.run_id, changed=False,
                    account_enabled_before_incident=entry.get("account_enabled_before"),
                    sessions_valid_from_recorded=entry.get("sessions_valid_from_after"))

    @staticmethod
    def _with_read(entry, read):
        if read is not None and read.found:
            props = read.properties
            entry.update(user_id=props.get("id") or entry["user_id"],
                         user_principal_name=props.get("user_principal_name") or entry["user_principal_name"],
                         account_enabled_before=props.get("account_enabled"),
                         account_enabled_after=props.get("account_enabled"),
                         sessions_valid_from=props.get("sessions_valid_from"))
        if read is not None:
            entry.update(status_code=read.answer.status_code, request_id=read.answer.request_id)

    def _allow(self, to_allow):
        """PATCH accountEnabled=true for the users Graph still shows as their record's run left them; the journal
        names each call's users before it leaves."""
        journal = self._journal_start(len(to_allow))
        requests = [("PATCH", UserReference.parse(row.reference).path(), {"accountEnabled": True})
                    for row, dummy, dummy2 in to_allow]

        def sending(indexes):
            if journal is not None:
                self._journal({"sending": "accountEnabled=true", "outcome": UNKNOWN, "time": format_time(utc_now()),
                               "users": [dict((k, to_allow[i][1].get(k)) for k in ("user", "user_id",
                                                                                   "user_principal_name"))
                                         for i in indexes]})

        def known(index, answer):
            if journal is not None:
                entry = dict(to_allow[index][1])
                self._judge(entry, answer)
                self._journal(entry)

        answers = self.sender(requests, on_outcome=known, on_send=sending)
        for (dummy, entry, dummy2), answer in zip(to_allow, answers):
            self._judge(entry, answer)

    @staticmethod
    def _judge(entry, answer):
        word, error = judge(answer, write_answer(ALLOWED))
        entry.update(outcome=word, status_code=answer.status_code, request_id=answer.request_id)
        if word == ALLOWED:
            allowed_at = answer.date or utc_now()
            entry.update(changed=True, account_enabled_after=True, allowed_at=format_time(allowed_at),
                         access_returns_by=format_time(allowed_at + CAE_WINDOW),
                         access_note="new sign-ins work from allowed_at; CAE-aware Exchange Online, SharePoint Online "
                                     "and Teams see the re-enable within about 15 minutes (access_returns_by); the "
                                     "sessions revoked by the containment stay revoked, so the user signs in again")
        else:
            entry.update(changed=None if word == UNKNOWN else False,
                         account_enabled_after=None if word == UNKNOWN else False, error=dict(error or {}))
            if answer.status_code == 403:
                entry["error"]["explanation"] = "Graph refused to allow sign-in again for %s (HTTP 403). %s." % (
                    entry["user"], permission_sentence(WRITE_PERMISSION, answer.granted_roles) or (
                        "Grant the app the Microsoft Graph application permission %s with admin consent, or the user "
                        "holds an admin role (a sensitive action)" % WRITE_PERMISSION))
            elif word == UNKNOWN:
                entry["error"]["explanation"] = ("No readable answer to the change for %s: it may or may not have "
                                                 "been made; running the release again is safe." % entry["user"])

    def _journal_start(self, writes):
        path = getattr(self, "report_path", None)
        if path is None or not writes:
            return None
        head = dict(journal=JOURNAL_FORMAT, module=MODULE_NAME, run_id=self.run_id, incident=self.params.get(
            "incident"), plan=dict(started_at=format_time(utc_now()), writes=writes, action="release"))
        try:
            write_atomically(path, (json.dumps(head) + "\n").encode("utf-8"))
            self.journal_lines = open(path, "a")
        except (IOError, OSError) as error:
            self.module.warn("The journal at %s could not be written (%s); the release record is still written at "
                             "the end." % (path, error))
            return None
        return self.journal_lines

    def _journal(self, line):
        if self.journal_lines is None:
            return
        try:
            self.journal_lines.write(json.dumps(line, default=str) + "\n")
            self.journal_lines.flush()
        except (IOError, OSError, ValueError):
            self.journal_lines = None

    def _dismiss(self, allowed):
        """Dismiss the risk of the users allowed again (Identity Protection), so risk-based Conditional Access does
        not keep blocking them; reuses o365_risky_user's reading and action."""
        from ansible_collections.o365.admin.plugins.module_utils import _risky_users
        from ansible_collections.o365.admin.plugins.module_utils._targets import Target
        if not allowed:
            return
        pacer = _risky_users.IdentityPacer()
        try:
            risky = _risky_users.risk_records(self.client, [entry["user_id"] for entry, dummy in allowed], pacer)
        except Exception as error:  # pylint: disable=broad-except
            for entry, dummy in allowed:
                entry.update(risk_outcome=FAILED, risk_error=getattr(error, "message", str(error)))
            return
        changes = []
        for entry, read in allowed:
            target = Target(entry["user"], UserReference.parse(entry["user_id"] or entry["user"]))
            change = _risky_users.RiskChange(target, read, "dismissed", risky.get((entry["user_id"] or "").lower()))
            changes.append((entry, change))
        if not self.check_mode:
            _risky_users.apply_changes(self.client, [c for dummy, c in changes], "dismissed", pacer,
                                       self.params.get("max_retries", 4))
        for entry, change in changes:
            outcome = change.outcome(self.check_mode)
            entry.update(risk_state_before=change.risk_state_before, risk_outcome=outcome)
            if outcome in (FAILED, UNKNOWN):
                entry["risk_error"] = _risky_users.explain_failure(change)

    def _finish(self, entries, records, report_path):
        if self.journal_lines is not None:
            self.journal_lines.close()
            self.journal_lines = None
        troubled = [e for e in entries
                    if e["outcome"] in (FAILED, UNKNOWN) or e.get("risk_outcome") in (FAILED, UNKNOWN)]
        failure = None
        if troubled:
            failure = ("The release is incomplete: %d user(s) could not be released or their risk dismissed: %s. "
                       "Every user's outcome is in the release record. Running the release again is safe: it allows "
                       "only users Graph still shows as their record's run left them."
                       % (len(troubled), "; ".join("%s (%s)" % (e["user"], (e.get("error") or {}).get(
                           "explanation") or (e.get("error") or {}).get("message") or e.get("risk_error") or e.get(
                           "reason")) for e in troubled[:10])))

        def count(outcome):
            return sum(1 for e in entries if e["outcome"] == outcome)

        incidents = self.params.get("incident") or ", ".join(sorted(set(
            r.get("incident") for dummy, r in records if r.get("incident")))) or None
        record = dict(schema_version=SCHEMA_VERSION, kind="release", run_id=self.run_id, incident=incidents,
                      records=[path for path, dummy in records],
                      record_run_ids=sorted(set(r.get("run_id") for dummy, r in records if r.get("run_id"))),
                      generated_at=format_time(utc_now()), check_mode=self.check_mode,
                      tenants=[dict(tenant=self.params.get("tenant_id"), failed=failure is not None, msg=failure)],
                      failed=failure is not None, msg=failure, dismiss_risk=bool(self.params.get("dismiss_risk")),
                      allowed_count=count(ALLOWED), would_allow_count=count(WOULD_ALLOW),
                      skipped_count=count(SKIPPED), failed_count=count(FAILED), unknown_count=count(UNKNOWN),
                      dismissed_count=sum(1 for e in entries if e.get("risk_outcome") in ("dismissed", "would_dismiss")),
                      users=entries)
        result = dict(changed=any(e.get("changed") is not False for e in entries), state="released",
                      run_id=self.run_id, record=record, results=entries)
        for key in ("allowed_count", "would_allow_count", "skipped_count", "failed_count", "unknown_count",
                    "dismissed_count"):
            result[key] = record[key]
        if self.module._diff:
            result["diff"] = [{"before_header": "%s (before)" % (e["user_id"] or e["user"]),
                               "after_header": "%s (after)" % (e["user_id"] or e["user"]),
                               "before": "account_enabled: false\n", "after": "account_enabled: true\n"}
                              for e in entries if e["outcome"] in (ALLOWED, WOULD_ALLOW)]
        if report_path:
            try:
                write_atomically(report_path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
                result["report_path"] = report_path
            except (IOError, OSError) as error:
                problem = "The release record could not be written to %s (%s: %s)." % (
                    report_path, type(error).__name__, error)
                result["report_error"] = problem
                failure = "%s %s" % (failure, problem) if failure else problem
        if failure:
            raise TaskFailed(failure, result)
        return result

    # Where the journal goes while the writes go: the report's path (claimed by run()).
    @property
    def report_path(self):
        path = self.params.get("report_path")
        return resolve_path(path.replace(RUN_ID_PLACEHOLDER, self.run_id), self.cwd) if path else None


def run_release(module, client):
    """o365_containment state=released: the whole release (decisions, Graph writes, record) -> the module result.
    Relative paths start in the directory the module runs in: for a local connection, where ansible-playbook was
    started (AnsibleModule keeps the worker's working directory)."""
    started = time.monotonic()
    result = Release(module, client, cwd=os.getcwd()).run()
    result["elapsed_s"] = round(time.monotonic() - started, 3)
    return result
