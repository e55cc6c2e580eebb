# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property test of the exclude guarantee (issue 24): over target forms x exclude forms x identity read outcomes
(found, 403, 429 and 503 past the retries, a lost answer, a 2xx without id and userPrincipalName, a proxy's page),
no excluded directory object is ever written, by o365_revoke_sessions (one user and many) or o365_user_sign_in
(one user and many).

Each module's whole flow (resolve, judge, read, write) runs against the emulator's Graph router in-process; a
client in front of it answers the identity reads (GET /users/{ref}?$select=id,userPrincipalName) as drawn, and the
router's own record of who was written (revocations, accountEnabled writes) is the judge.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import uuid
from urllib.parse import unquote, urlencode, urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    ConfigurationError, GraphTransportError, TaskFailed)
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphResponse, graph_error_from_response
from ansible_collections.o365.admin.plugins.module_utils._revocation import run_many, run_one
from ansible_collections.o365.admin.plugins.module_utils._sign_in_state import set_sign_in_state
from tests.graph_emulator.faults import Faults
from tests.graph_emulator.graph import GraphService
from tests.graph_emulator.tenant import Tenant, User

EXAMPLES = int(os.environ.get("O365_FUZZ_EXAMPLES", "200"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CLAIMS = {"roles": ["User.RevokeSessions.All", "User.EnableDisableAccount.All", "User.Read.All"],
          "appid": "property-app"}
DOMAIN = "contoso.com"
PEOPLE = [User("person%d@%s" % (n, DOMAIN), str(uuid.UUID(int=0xe0c000 + n))) for n in range(4)]
IDENTITY_SELECT = "id,userPrincipalName"
DENIED = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges."}}
# How an identity read of a person is answered (every time it is asked: with max_retries 0, a 429 or 503 is the
# answer left once the retries are spent).
OUTCOMES = {
    "found": None,
    "refused_403": (403, DENIED),
    "throttled_429": (429, {"error": {"code": "TooManyRequests", "message": "Too many requests."}}),
    "unavailable_503": (503, {"error": {"code": "serviceNotAvailable", "message": "Unavailable."}}),
    "lost": "lost",
    "empty_2xx": (200, {}),
    "no_identity_2xx": (200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity"}),
    "proxy_page_2xx": (200, "<html>Sign in to the proxy</html>"),
}


class Transport:
    class stats:  # noqa: N801  the transport's retry counters, as the Sender reads them
        retries = 0


class TokenSource:
    def renew_stale(self, generation):
        return False  # the token is not the cause of a 403 here: Graph's refusal stands


class FaultyIdentityClient:
    """GraphClient's request() on the emulator's router, with identity reads answered as ``outcomes`` say
    ({lower-cased id or UPN: outcome name}), sent alone or as $batch items."""

    def __init__(self, service, outcomes):
        self.service = service
        self.outcomes = outcomes
        self.transport = Transport()
        self.token_source = TokenSource()

    def _fault(self, method, url):
        parts = urlsplit(url)
        if method != "GET" or not parts.path.startswith("/users/") or "$select=%s" % IDENTITY_SELECT != unquote(
                parts.query):
            return None
        key = unquote(parts.path[len("/users/"):]).lower()
        return OUTCOMES[self.outcomes.get(key, "found")]

    def _answer(self, method, url, body):
        """(status, body) from the fault or the router; None for an answer lost on the way."""
        fault = self._fault(method, url)
        if fault == "lost":
            return None
        if fault is not None:
            return fault
        reply = self.service.handle(method, url, {}, json.dumps(body).encode() if body is not None else None,
                                    CLAIMS, "r", "c", origin="https://graph.example.test")
        return reply.status, reply.body

    def request(self, method, path, params=None, json_body=None, headers=None):
        target = path.split("/v1.0", 1)[1] if path.startswith("http") else path
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        if target == "/$batch":
            responses = []
            for item in json_body["requests"]:
                answer = self._answer(item["method"], item["url"], item.get("body"))
                if answer is not None:  # a lost item: Graph's $batch answer holds nothing for it
                    entry = {"id": item["id"], "status": answer[0], "headers": {}}
                    if answer[1] is not None:
                        entry["body"] = answer[1]
                    responses.append(entry)
            return GraphResponse(200, {"responses": responses}, "r", "c", 1)
        answer = self._answer(method, target, json_body)
        if answer is None:
            raise GraphTransportError("Connection reset after the request was sent.", target, may_have_acted=True)
        status, body = answer
        if 200 <= status < 300:
            if isinstance(body, str):  # not JSON: what GraphClient hands on for a page it cannot decode
                return GraphResponse(status, None, "r", "c", 1, has_body=True, received="text/html: " + body)
            return GraphResponse(status, body, "r", "c", 1, has_body=body is not None)
        raise graph_error_from_response(status, body, {})


class FakeModule:
    def __init__(self, params):
        self.params = params
        self.check_mode = False
        self._diff = False
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


def name_of(person, form):
    return person.id if form == "id" else person.user_principal_name


REFERENCE = st.tuples(st.integers(0, len(PEOPLE) - 1), st.sampled_from(["id", "upn"]))


def written(tenant, module):
    return set(u.id for u in tenant.users if (u.revocations if module == "revoke" else u.account_enabled_writes))


@PROPERTY
@given(users=st.lists(REFERENCE, min_size=1, max_size=6), exclude=st.lists(REFERENCE, max_size=3),
       outcomes=st.dictionaries(st.tuples(st.integers(0, len(PEOPLE) - 1), st.sampled_from(["id", "upn"])),
                                st.sampled_from(sorted(OUTCOMES))),
       module=st.sampled_from(["revoke", "sign_in"]), single=st.booleans())
def test_no_excluded_object_is_ever_written_whatever_its_identity_read_answers(users, exclude, outcomes, module,
                                                                               single):
    tenant = Tenant("t", [DOMAIN], [User(p.user_principal_name, p.id) for p in PEOPLE], [])
    service = GraphService(tenant, None, Faults(), None)
    client = FaultyIdentityClient(service, dict((name_of(PEOPLE[n], form).lower(), outcome)
                                                for (n, form), outcome in outcomes.items()))
    users = users[:1] if single else users
    given_users = [name_of(PEOPLE[n], form) for n, form in users]
    params = dict(user=given_users[0] if single else None, users=None if single else given_users, groups=None,
                  exclude=[name_of(PEOPLE[n], form) for n, form in exclude] or None, max_users=1000,
                  batch_concurrency=4, max_retries=0, verify=False, state="blocked")
    excluded = set(PEOPLE[n].id for n, dummy in exclude)
    named = set(PEOPLE[n].id for n, dummy in users)
    fake = FakeModule(params)
    try:
        if module == "sign_in":
            set_sign_in_state(fake, client)
        elif single:
            run_one(fake, client, None)
        else:
            run_many(fake, client, None)
    except (ConfigurationError, TaskFailed):
        pass  # refused or failed for some users: the emulator's record still says who was written
    done = written(tenant, module)
    assert not done & excluded, (done & excluded, params, outcomes)
    assert done <= named
    # Least privilege stands: with no exclude, no read is needed to act, so everyone named is written.
    if not exclude:
        assert done == named
    # With every identity read answered, everyone not excluded is written.
    if all(outcome == "found" for outcome in outcomes.values()):
        assert done == named - excluded
