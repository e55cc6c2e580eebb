# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from ansible_collections.o365.admin.plugins.module_utils._errors import (
    ConfigurationError, GraphApiError, InvalidUserReference, O365AdminError)
from ansible_collections.o365.admin.plugins.module_utils._graph_auth import StaticTokenSource
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphClient, HttpTransport
from ansible_collections.o365.admin.plugins.module_utils._targets import (
    ACT, DEFAULT_MAX_USERS, EXCLUDED, REFUSED, TARGETS_ARGUMENT_SPEC, AmbiguousGroup, ExcludeEntry, GroupNotFound,
    TooManyTargets, judge, parse_list, parse_references, resolve_targets, user_member_pages)
from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
from ansible_collections.o365.admin.plugins.module_utils._user_read import UserRead
from ansible_collections.o365.admin.plugins.module_utils._user_ref import UserReference

GRAPH = "https://graph.example.test"
FINANCE_ID = "11111111-2222-4333-8444-555555555555"
ADELE_ID = "6e7b768e-07e2-4810-8459-485f84f8f204"


def make_client():
    transport = HttpTransport(requests.Session(), timeout=5, max_retries=0, sleep=lambda s: None)
    return GraphClient(transport, GRAPH, StaticTokenSource("token"))


def params(**given):
    base = {name: spec.get("default") for name, spec in TARGETS_ARGUMENT_SPEC.items()}
    base.update(given)
    return base


def member(n, user_type="Member"):
    return {"id": str(uuid.UUID(int=n)), "userPrincipalName": "user%04d@contoso.com" % n, "userType": user_type}


def members_url(group_id=FINANCE_ID):
    return GRAPH + "/v1.0/groups/%s/transitiveMembers/microsoft.graph.user" % group_id


def serve_members(group_id, members, page_size=999, host=GRAPH):
    """Answer the transitive member listing in pages linked by @odata.nextLink, as Graph does."""
    def answer(request):
        query = parse_qs(urlsplit(request.url).query)
        assert request.headers["ConsistencyLevel"] == "eventual"
        assert query["$count"] == ["true"] and query["$top"] == ["999"]
        assert query["$select"] == ["id,userPrincipalName,userType"]
        start = int(query.get("$skiptoken", ["0"])[0])
        page = members[start:start + page_size]
        body = {"@odata.count": len(members), "value": page}
        if start + page_size < len(members):
            body["@odata.nextLink"] = "%s?$select=id,userPrincipalName,userType&$top=999&$count=true&$skiptoken=%d" % (
                members_url(group_id).replace(GRAPH, host), start + page_size)
        return 200, {}, __import__("json").dumps(body)
    responses.add_callback(responses.GET, members_url(group_id), callback=answer)


def serve_group(group_id=FINANCE_ID, name="Finance"):
    responses.get(GRAPH + "/v1.0/groups/" + group_id, json={"id": group_id, "displayName": name})


def test_argument_spec_has_a_max_users_default_and_no_env_backed_defaults():
    assert TARGETS_ARGUMENT_SPEC["max_users"]["default"] == DEFAULT_MAX_USERS == 1000
    assert all("default" not in spec for name, spec in TARGETS_ARGUMENT_SPEC.items() if name != "max_users")


def test_users_only_keeps_every_occurrence_in_order_and_distinct_revokes_once():
    # One form only (UPNs, any case): compared as given, no read.
    target_set = resolve_targets(None, params(users=["a@contoso.com", "b@contoso.com", "A@Contoso.com"]))
    assert [t.user for t in target_set.targets] == ["a@contoso.com", "b@contoso.com", "A@Contoso.com"]
    assert [t.user for t in target_set.distinct()] == ["a@contoso.com", "b@contoso.com"]
    assert target_set.targets[0].describe() == {"user_principal_name": "a@contoso.com"}
    assert target_set.reads == 0
    by_id = resolve_targets(None, params(users=[ADELE_ID, ADELE_ID.upper()]))
    assert [t.user for t in by_id.distinct()] == [ADELE_ID] and by_id.targets[0].describe() == {"user_id": ADELE_ID}


class FakeSend:
    """Answers identity reads from a directory {lower-cased id or UPN: (id, UPN)}; anything else 404, or ``status``."""

    def __init__(self, directory, status=None):
        self.directory = directory
        self.status = status
        self.requests = []

    def __call__(self, requests):
        from ansible_collections.o365.admin.plugins.module_utils._graph_batch import BatchOutcome
        self.requests.extend(requests)
        outcomes = []
        for method, url in requests:
            key = url.split("?")[0].rsplit("/", 1)[1].lower()
            if self.status is not None:
                outcomes.append(BatchOutcome(self.status, {"error": {"code": "Authorization_RequestDenied",
                                                                     "message": "no"}}, "r"))
            elif key in self.directory:
                user_id, upn = self.directory[key]
                outcomes.append(BatchOutcome(200, {"id": user_id, "userPrincipalName": upn}, "r"))
            else:
                outcomes.append(BatchOutcome(404, {"error": {"code": "Request_ResourceNotFound", "message": "x"}}, "r"))
        return outcomes


DIRECTORY = {ADELE_ID: (ADELE_ID, "Adele@contoso.com"), "adele@contoso.com": (ADELE_ID, "Adele@contoso.com")}


def test_one_person_named_two_ways_is_one_target_and_the_rarer_form_is_read_once():
    send = FakeSend(DIRECTORY)
    target_set = resolve_targets(None, params(users=["adele@contoso.com", "b@contoso.com", ADELE_ID]), send=send)
    assert [t.user for t in target_set.distinct()] == ["adele@contoso.com", "b@contoso.com"]
    assert send.requests == [("GET", "/users/%s?$select=id,userPrincipalName" % ADELE_ID)]
    assert target_set.targets[2].describe() == {"user_id": ADELE_ID, "user_principal_name": "Adele@contoso.com"}


@pytest.mark.parametrize("users, exclude", [
    (["adele@contoso.com", "b@contoso.com"], [ADELE_ID]),
    ([ADELE_ID, "b@contoso.com"], ["ADELE@contoso.com"]),
    ([ADELE_ID], ["adele@contoso.com"]),
])
def test_an_exclude_in_another_form_still_excludes(users, exclude):
    target_set = resolve_targets(None, params(users=users, exclude=exclude), send=FakeSend(DIRECTORY)) \
        if len(users) > 1 else None
    if target_set is None:
        with pytest.raises(ConfigurationError) as caught:
            resolve_targets(None, params(users=users, exclude=exclude), send=FakeSend(DIRECTORY))
        assert "is excluded" in caught.value.message
        return
    assert [t.user for t in target_set.distinct()] == ["b@contoso.com"]
    assert target_set.targets[0].excluded


def test_an_exclude_that_cannot_be_read_blocks_what_it_cannot_be_compared_with():
    target_set = resolve_targets(None, params(users=["adele@contoso.com", "b@contoso.com"], exclude=[ADELE_ID]),
                                 send=FakeSend(DIRECTORY, status=403))
    assert target_set.distinct() == []
    blocked = target_set.blocked()
    assert [t.user for t in blocked] == ["adele@contoso.com", "b@contoso.com"]
    assert all("could not be compared with the exclude: The app may not read %s" % ADELE_ID
               in t.refusal["error"]["message"] for t in blocked)
    assert blocked[0].refusal["status_code"] == 403


def test_a_user_that_cannot_be_read_is_still_acted_on_when_no_exclude_depends_on_it():
    target_set = resolve_targets(None, params(users=["adele@contoso.com", ADELE_ID]),
                                 send=FakeSend(DIRECTORY, status=403))
    # Acting needs no read: both are written (revoke and block are safe to repeat).
    assert [t.user for t in target_set.distinct()] == ["adele@contoso.com", ADELE_ID]


def test_a_reference_that_names_nobody_is_refused_alone():
    target_set = resolve_targets(None, params(users=["adele@contoso.com", "22222222-2222-4222-8222-222222222222"]),
                                 send=FakeSend(DIRECTORY))
    assert [t.user for t in target_set.distinct()] == ["adele@contoso.com"]
    assert target_set.blocked()[0].refusal["status_code"] == 404


def test_single_user_is_a_set_of_one():
    target_set = resolve_targets(None, params(user="adele@contoso.com"))
    assert [t.user for t in target_set.distinct()] == ["adele@contoso.com"]


def test_every_invalid_reference_is_named_before_any_call():
    with pytest.raises(InvalidUserReference) as caught:
        resolve_targets(None, params(users=["ok@contoso.com", "b\u00e9@contoso.com", "x/y@contoso.com"]))
    assert caught.value.user == ["b\u00e9@contoso.com", "x/y@contoso.com"]
    with pytest.raises(InvalidUserReference):
        resolve_targets(None, params(users=["ok@contoso.com"], exclude=["not a user"]))
    assert parse_references([ADELE_ID])[0].kind == "id"


@responses.activate
def test_group_by_id_expands_every_page_merges_after_users_and_deduplicates():
    serve_group()
    members = [member(n) for n in range(1, 2501)]
    serve_members(FINANCE_ID, members)
    target_set = resolve_targets(make_client(), params(users=["user0002@contoso.com"], groups=[FINANCE_ID],
                                                       max_users=3000))
    # 1 group read + 3 pages (999, 999, 502)
    assert len(responses.calls) == 4
    assert len(target_set.targets) == 2500 and len(target_set.distinct()) == 2500
    assert target_set.targets[0].user == "user0002@contoso.com" and target_set.targets[0].group is None
    assert target_set.targets[1].user == "user0001@contoso.com" and target_set.targets[1].group == FINANCE_ID
    assert target_set.targets[1].reference.path() == "/users/%s" % uuid.UUID(int=1)
    assert target_set.groups == [{"group": FINANCE_ID, "id": FINANCE_ID, "display_name": "Finance",
                                  "user_count": 2500}]


@responses.activate
def test_exclude_matches_by_id_or_upn_whatever_the_group_says():
    serve_group()
    serve_members(FINANCE_ID, [member(n) for n in range(1, 6)])
    target_set = resolve_targets(make_client(), params(groups=[FINANCE_ID], exclude=[
        str(uuid.UUID(int=2)), "USER0004@contoso.com"]))
    kept = ["user0001@contoso.com", "user0003@contoso.com", "user0005@contoso.com"]
    assert [t.user for t in target_set.distinct()] == kept
    assert [t.user for t in target_set.excluded] == ["user0002@contoso.com", "user0004@contoso.com"]


@responses.activate
def test_display_name_resolves_to_exactly_one_group_with_the_name_quoted():
    responses.get(GRAPH + "/v1.0/groups", json={"value": [{"id": FINANCE_ID, "displayName": "O'Neil team"}]})
    serve_members(FINANCE_ID, [member(1, "Guest")])
    target_set = resolve_targets(make_client(), params(groups=["O'Neil team"]))
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query["$filter"] == ["displayName eq 'O''Neil team'"]
    assert target_set.targets[0].is_guest and target_set.targets[0].group == "O'Neil team"


@responses.activate
def test_unknown_and_ambiguous_names_fail_clearly():
    responses.get(GRAPH + "/v1.0/groups", json={"value": []})
    with pytest.raises(GroupNotFound) as caught:
        resolve_targets(make_client(), params(groups=["Nobody"]))
    assert "No group has the display name 'Nobody'" in caught.value.message
    responses.replace(responses.GET, GRAPH + "/v1.0/groups", json={"value": [{"id": "g1"}, {"id": "g2"}]})
    with pytest.raises(AmbiguousGroup) as caught:
        resolve_targets(make_client(), params(groups=["Contractors"]))
    assert "g1, g2" in caught.value.message and caught.value.details()["matches"] == ["g1", "g2"]


@responses.activate
def test_unknown_group_id_and_forbidden_listing_say_what_to_do():
    responses.get(GRAPH + "/v1.0/groups/" + FINANCE_ID, status=404,
                  json={"error": {"code": "Request_ResourceNotFound", "message": "gone"}})
    with pytest.raises(GroupNotFound):
        resolve_targets(make_client(), params(groups=[FINANCE_ID]))
    responses.replace(responses.GET, GRAPH + "/v1.0/groups/" + FINANCE_ID,
                      json={"id": FINANCE_ID, "displayName": "Board"})
    responses.get(members_url(), status=403,
                  json={"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}})
    with pytest.raises(GraphApiError) as caught:
        resolve_targets(make_client(), params(groups=[FINANCE_ID]))
    assert "GroupMember.Read.All" in caught.value.message and "Member.Read.Hidden" in caught.value.message


@responses.activate
def test_max_users_refuses_before_anything_is_written():
    serve_group()
    serve_members(FINANCE_ID, [member(n) for n in range(1, 12)])
    with pytest.raises(TooManyTargets) as caught:
        resolve_targets(make_client(), params(groups=[FINANCE_ID], max_users=10))
    assert caught.value.details() == {"target_count": 11, "max_users": 10, "target_count_is_lower_bound": True}
    assert "11 users" in caught.value.message and "max_users (10)" in caught.value.message
    assert all(call.request.method == "GET" for call in responses.calls)
    # The excluded do not count.
    assert len(resolve_targets(make_client(), params(groups=[FINANCE_ID], max_users=10,
                                                     exclude=["user0001@contoso.com"])).distinct()) == 10
    with pytest.raises(ConfigurationError):
        resolve_targets(None, params(users=["a@contoso.com"], max_users=0))


@responses.activate
def test_a_next_link_to_another_host_is_never_followed():
    serve_group()
    serve_members(FINANCE_ID, [member(n) for n in range(1, 1001)], host="https://evil.example.test")
    with pytest.raises(O365AdminError) as caught:
        resolve_targets(make_client(), params(groups=[FINANCE_ID], max_users=5000))
    assert "not followed" in caught.value.message
    assert all(urlsplit(call.request.url).netloc == "graph.example.test" for call in responses.calls)


@responses.activate
def test_a_repeated_next_link_stops_paging():
    link = members_url() + "?$skiptoken=same"
    responses.get(members_url(), json={"value": [member(1)], "@odata.nextLink": link})
    with pytest.raises(O365AdminError) as caught:
        list(user_member_pages(make_client(), FINANCE_ID))
    assert "same next-page link twice" in caught.value.message


# --- the judge: one verdict per target, from its names, its read and the exclude entries' ---------------------

ALEX_ID = "0a1b2c3d-0000-4000-8000-000000000001"
ADELE_UPN = "adele@contoso.com"
DENIED = {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}}
# One identity read's outcome, by name: what Graph (or the network) answered for the reference read.
READS = {
    "found": lambda user_id, upn: UserRead(BatchOutcome(200, {"id": user_id, "userPrincipalName": upn}, "r"), {
        "id": user_id, "user_principal_name": upn}),
    "not_found": lambda *a: UserRead(BatchOutcome(404, {"error": {"code": "Request_ResourceNotFound",
                                                                  "message": "gone"}}, "r"), {}),
    "refused_403": lambda *a: UserRead(BatchOutcome(403, DENIED, "r"), {}),
    "throttled_429": lambda *a: UserRead(BatchOutcome(429, {"error": {"code": "TooManyRequests", "message": "x"}},
                                                      "r", attempts=5), {}),
    "unavailable_503": lambda *a: UserRead(BatchOutcome(503, {"error": {"code": "ServiceUnavailable",
                                                                        "message": "x"}}, "r", attempts=5), {}),
    "lost": lambda *a: UserRead(BatchOutcome(None, None, None, unknown=True, reason="connection reset"), {}),
    "empty_2xx": lambda *a: UserRead(BatchOutcome(200, {}, "r"), {}),
    "html_2xx": lambda *a: UserRead(BatchOutcome(200, "<html>proxy</html>", "r"), {}),
}
UNREADABLE = ("refused_403", "throttled_429", "unavailable_503", "lost", "empty_2xx", "html_2xx")


def names_of(reference):
    return set([(reference.kind, reference.value.lower())])


@pytest.mark.parametrize("target, target_read, exclude, exclude_read, decision", [
    # No exclude: acting needs no read (least privilege), whatever the read said.
    (ADELE_ID, None, None, None, ACT),
    (ADELE_ID, "refused_403", None, None, ACT),
    # The same form: compared as given, no read needed.
    (ADELE_UPN, None, "ADELE@contoso.com", None, EXCLUDED),
    (ADELE_ID, None, ADELE_ID.upper(), None, EXCLUDED),
    ("alex@contoso.com", None, ADELE_UPN, None, ACT),
    (ALEX_ID, None, ADELE_ID, None, ACT),
    # Other forms, the target read: its other name decides.
    (ADELE_ID, "found", ADELE_UPN, None, EXCLUDED),
    (ALEX_ID, "found", ADELE_UPN, None, ACT),
    (ADELE_ID, "not_found", ADELE_UPN, None, REFUSED),
    # Other forms, the exclude entry read.
    (ADELE_UPN, None, ADELE_ID, "found", EXCLUDED),
    ("alex@contoso.com", None, ADELE_ID, "found", ACT),
    ("alex@contoso.com", None, ADELE_ID, "not_found", ACT),  # it names no user: it cannot be alex
    # Other forms, never read: nothing shows they differ.
    (ADELE_ID, None, ADELE_UPN, None, REFUSED),
] + [(ADELE_ID, outcome, ADELE_UPN, None, REFUSED) for outcome in UNREADABLE]
  + [(ADELE_UPN, None, ADELE_ID, outcome, REFUSED) for outcome in UNREADABLE]
  + [(ADELE_ID, outcome, ADELE_ID, None, EXCLUDED) for outcome in UNREADABLE])
def test_judge_decides_every_combination_and_never_acts_on_what_it_could_not_compare(
        target, target_read, exclude, exclude_read, decision):
    reference = UserReference.parse(target)
    identity = (ADELE_ID, "Adele@contoso.com") if target.lower() in (ADELE_ID, ADELE_UPN) else (
        ALEX_ID, "alex@contoso.com")
    read = READS[target_read](*identity) if target_read else None
    entries = []
    if exclude is not None:
        excluded = UserReference.parse(exclude)
        entries = [ExcludeEntry(excluded, READS[exclude_read](ADELE_ID, "Adele@contoso.com") if exclude_read else None)]
    verdict = judge(target, names_of(reference), read, entries)
    assert verdict.decision == decision
    assert (verdict.refusal is not None) == (decision == REFUSED)
    if decision == REFUSED and target_read != "not_found":
        assert "could not be compared with the exclude: " in verdict.refusal["error"]["message"]


def test_a_refusal_says_why_and_carries_the_failed_read_status():
    verdict = judge(ADELE_ID, names_of(UserReference.parse(ADELE_ID)), READS["refused_403"](),
                    [ExcludeEntry(UserReference.parse(ADELE_UPN))])
    assert verdict.refusal["status_code"] == 403 and verdict.refusal["error"]["code"] == "Authorization_RequestDenied"
    assert "User.Read.All" in verdict.refusal["error"]["message"]
    unreadable = judge(ADELE_ID, names_of(UserReference.parse(ADELE_ID)), READS["empty_2xx"](),
                       [ExcludeEntry(UserReference.parse(ADELE_UPN))])
    assert "neither id nor userPrincipalName" in unreadable.refusal["error"]["message"]


def test_a_group_member_known_by_both_names_is_compared_with_any_entry_without_a_read():
    names = set([("id", ALEX_ID), ("upn", "alex@contoso.com")])
    entries = [ExcludeEntry(UserReference.parse(ADELE_UPN)), ExcludeEntry(UserReference.parse(ADELE_ID))]
    assert judge("alex@contoso.com", names, None, entries).decision == ACT
    adele = set([("id", ADELE_ID), ("upn", ADELE_UPN)])
    assert judge(ADELE_UPN, adele, None, entries).decision == EXCLUDED


@pytest.mark.parametrize("outcome", UNREADABLE)
def test_issue_24_adele_by_object_id_is_never_written_when_her_read_fails(outcome):
    # users: [alex UPN, adele's object ID], exclude: [adele UPN]; adele's identity read fails in any way.
    read = READS[outcome]()

    def send(requests):
        assert requests == [("GET", "/users/%s?$select=id,userPrincipalName" % ADELE_ID)]
        return [read.answer]
    target_set = resolve_targets(None, params(users=["alex@contoso.com", ADELE_ID], exclude=[ADELE_UPN]), send=send)
    assert [t.user for t in target_set.distinct()] == ["alex@contoso.com"]
    assert [t.user for t in target_set.blocked()] == [ADELE_ID]
    assert "could not be compared with the exclude" in target_set.blocked()[0].refusal["error"]["message"]


def test_an_exclude_entry_that_names_nobody_is_warned_about_and_kept():
    ghost = "22222222-2222-4222-8222-222222222222"
    target_set = resolve_targets(None, params(users=["alex@contoso.com", "b@contoso.com"], exclude=[ghost]),
                                 send=FakeSend(DIRECTORY))
    assert [t.user for t in target_set.distinct()] == ["alex@contoso.com", "b@contoso.com"]
    assert target_set.exclude_not_found() == [ghost]
    assert ghost in target_set.warnings()[0] and "protects nobody" in target_set.warnings()[0]
    assert [entry.record() for entry in target_set.exclusions] == [{"exclude": ghost, "found": False}]

    class Module:
        warnings = []

        def warn(self, text):
            self.warnings.append(text)
    module = Module()
    assert target_set.announce(module, {}) == {"exclude_not_found": [ghost]} and len(module.warnings) == 1
    found = resolve_targets(None, params(users=["b@contoso.com"], exclude=[ADELE_ID]), send=FakeSend(DIRECTORY))
    assert found.warnings() == [] and found.exclusions[0].record() == {
        "exclude": ADELE_ID, "found": True, "user_principal_name": "Adele@contoso.com"}


# --- one parser for user-facing lists -----------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (None, []),
    ([], []),
    (["a@contoso.com", "b@contoso.com"], ["a@contoso.com", "b@contoso.com"]),
    ("a@contoso.com", ["a@contoso.com"]),
    ("a@contoso.com,b@contoso.com", ["a@contoso.com", "b@contoso.com"]),
    ("a@contoso.com, b@contoso.com\n c@contoso.com\r\n", ["a@contoso.com", "b@contoso.com", "c@contoso.com"]),
    ("a@contoso.com\n\nb@contoso.com,", ["a@contoso.com", "b@contoso.com"]),
    # What Ansible hands a module for the text "a@contoso.com, b@contoso.com\nc@contoso.com" given to a list option.
    (["a@contoso.com", " b@contoso.com\nc@contoso.com"], ["a@contoso.com", "b@contoso.com", "c@contoso.com"]),
    (["a@contoso.com", " "], ["a@contoso.com"]),
    # "" is a null or an emptied variable: kept, so that it is refused, never silently dropped from an exclude.
    ([""], [""]),
    (["a@contoso.com", ""], ["a@contoso.com", ""]),
    ([None, 3], [None, 3]),
])
def test_parse_list_reads_a_yaml_list_and_text_the_same_way(value, expected):
    assert parse_list(value, "users") == expected


def test_parse_list_leaves_commas_in_group_names_and_refuses_other_types():
    assert parse_list(["Finance, EMEA", "Board\nLegal"], "groups", commas=False) == ["Finance, EMEA", "Board", "Legal"]
    with pytest.raises(ConfigurationError):
        parse_list({"a": 1}, "exclude")


def test_resolve_targets_takes_text_lists_and_still_refuses_an_empty_exclude_entry():
    target_set = resolve_targets(None, params(users="a@contoso.com,\nb@contoso.com", exclude="b@contoso.com\n"))
    assert [t.user for t in target_set.distinct()] == ["a@contoso.com"]
    with pytest.raises(InvalidUserReference):
        resolve_targets(None, params(users=["a@contoso.com"], exclude=["b@contoso.com", ""]))


def test_one_person_named_twice_is_judged_on_everything_known_about_it():
    # adele by UPN cannot be told from the unreadable exclude entry by itself; her object ID's read tells her UPN,
    # so both occurrences are the same person, shown to differ from the entry's object ID: acted on once.
    ghost_id = "33333333-3333-4333-8333-333333333333"
    directory = dict(DIRECTORY)

    def send(requests):
        answers = FakeSend(directory)(requests)
        return [BatchOutcome(200, {}, "r") if ghost_id in url else answer
                for (method, url), answer in zip(requests, answers)]
    target_set = resolve_targets(None, params(users=[ADELE_UPN, ADELE_ID], exclude=[ghost_id, "ghost@contoso.com"]),
                                 send=send)
    assert [t.user for t in target_set.distinct()] == [ADELE_UPN] and target_set.blocked() == []


@responses.activate
def test_a_listing_repeating_users_under_new_next_links_without_a_count_stops_with_a_clear_error():
    serve_group()
    pages = []

    def answer(request):
        # Every page holds the same two users and a new next-page link, and no @odata.count.
        pages.append(request.url)
        link = members_url() + "?$skiptoken=%d" % len(pages)
        return 200, {}, __import__("json").dumps({"value": [member(1), member(2)], "@odata.nextLink": link})
    responses.add_callback(responses.GET, members_url(), callback=answer)
    with pytest.raises(O365AdminError) as caught:
        resolve_targets(make_client(), params(groups=[FINANCE_ID], max_users=5000))
    assert "3 pages in a row without a member it had not listed already" in caught.value.message
    assert "2 distinct users in 4 pages read" in caught.value.message and len(pages) == 4


@responses.activate
def test_short_pages_of_new_members_are_followed_to_the_end():
    serve_group()
    serve_members(FINANCE_ID, [member(n) for n in range(1, 8)], page_size=1)
    assert len(resolve_targets(make_client(), params(groups=[FINANCE_ID])).distinct()) == 7
