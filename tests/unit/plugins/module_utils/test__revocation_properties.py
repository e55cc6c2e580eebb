# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Property-based tests of one identity: over mixed reference lists (UPN, object ID, any case, duplicates, group
members, exclusions in either form), the revoke flow never writes an excluded object, writes each distinct object at
most once, counts distinct objects, and gives every reference exactly one result entry.

The whole flow (resolve, read, write) runs against the emulator's Graph router in-process, so the router's own
record of revocations is the judge, and hundreds of examples take seconds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import uuid
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.o365.admin.plugins.module_utils._errors import ConfigurationError
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphResponse, graph_error_from_response
from ansible_collections.o365.admin.plugins.module_utils._revocation import RevocationRun
from tests.graph_emulator.faults import Faults
from tests.graph_emulator.graph import GraphService
from tests.graph_emulator.tenant import Group, Tenant, User

EXAMPLES = int(os.environ.get("O365_FUZZ_EXAMPLES", "200"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CLAIMS = {"roles": ["User.RevokeSessions.All", "User.Read.All", "GroupMember.Read.All"], "appid": "property-app"}
DOMAIN = "contoso.com"
PEOPLE = [User("person%d@%s" % (n, DOMAIN), str(uuid.UUID(int=0xabc000 + n))) for n in range(8)]
GROUP_ID = "0d0d0d0d-1111-4222-8333-444444444444"


class InProcessTransport:
    class stats:  # noqa: N801  the transport's retry counters, as the Sender reads them
        retries = 0


class InProcessClient:
    """GraphClient's request() on the emulator's router: 2xx -> GraphResponse, anything else -> GraphApiError."""

    def __init__(self, service):
        self.service = service
        self.transport = InProcessTransport()

    def request(self, method, path, params=None, json_body=None, headers=None):
        target = path.split("/v1.0", 1)[1] if path.startswith("http") else path
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        body = json.dumps(json_body).encode() if json_body is not None else None
        if target == "/$batch":
            reply, dummy = self.service.batch(body, CLAIMS, "r", "c")
        else:
            reply = self.service.handle(method, target, dict(headers or {}), body, CLAIMS, "r", "c",
                                        origin="https://graph.example.test")
        payload = reply.body
        if 200 <= reply.status < 300:
            return GraphResponse(reply.status, payload, "r", "c", 1, has_body=payload is not None)
        raise graph_error_from_response(reply.status, payload, {})


class FakeModule:
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)


def names_of(person, form, case):
    value = person.id if form == "id" else person.user_principal_name
    return {"lower": value.lower(), "upper": value.upper(), "as_is": value}[case]


REFERENCE = st.tuples(st.integers(0, len(PEOPLE) - 1), st.sampled_from(["id", "upn"]),
                      st.sampled_from(["lower", "upper", "as_is"]))


@PROPERTY
@given(users=st.lists(REFERENCE, min_size=0, max_size=10), exclude=st.lists(REFERENCE, max_size=4),
       members=st.sets(st.integers(0, len(PEOPLE) - 1), max_size=5), with_group=st.booleans())
def test_one_identity_over_mixed_reference_lists(users, exclude, members, with_group):
    if not users and not (with_group and members):
        with_group = True  # some scope must be given; an empty group is its own failure below
    tenant = Tenant("t", [DOMAIN], [User(p.user_principal_name, p.id) for p in PEOPLE], [],
                    [Group("Property group", GROUP_ID, [])])
    people = dict((p.id, p) for p in tenant.users)
    tenant.find_group(GROUP_ID).members = [people[PEOPLE[n].id] for n in sorted(members)]
    service = GraphService(tenant, None, Faults(), None)
    given_users = [names_of(PEOPLE[n], form, case) for n, form, case in users]
    params = dict(user=None, users=given_users or None, groups=[GROUP_ID] if with_group else None,
                  exclude=[names_of(PEOPLE[n], form, case) for n, form, case in exclude] or None,
                  max_users=1000, batch_concurrency=4, max_retries=0, verify=False)
    excluded = set(PEOPLE[n].id for n, dummy, dummy in exclude)
    named = set(PEOPLE[n].id for n, dummy, dummy in users) | (set(PEOPLE[n].id for n in members) if with_group else set())
    try:
        revocation = RevocationRun(FakeModule(params), InProcessClient(service), None)
    except ConfigurationError as error:
        # Refused before any write: only when nobody is left to act on.
        assert not named - excluded, error.message
        assert all(u.revocations == 0 for u in tenant.users)
        return
    results = revocation.run()
    written = dict((u.id, u.revocations) for u in tenant.users if u.revocations)
    assert not set(written) & excluded  # no excluded object is ever written
    assert all(count == 1 for count in written.values())  # each distinct object at most once
    assert set(written) == named - excluded  # everyone else is written
    # Every reference given has exactly one entry, in order, then the group members not named before.
    assert [entry["user"] for entry in results][:len(given_users)] == given_users
    member_entries = results[len(given_users):]
    assert len(member_entries) == len(set(PEOPLE[n].id for n in members) - set(PEOPLE[n].id for n, d1, d2 in users)) \
        if with_group else not member_entries
    # Counts are of distinct objects.
    identities = revocation.identities()
    revoked = set(i for i, e in zip(identities, results) if e["outcome"] == "revoked")
    assert len(revoked) == len(named - excluded)
