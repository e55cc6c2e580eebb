# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/module_utils/_graph_pages.py: a collection is read whole or not at all."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.o365.admin.plugins.module_utils._errors import O365AdminError
from ansible_collections.o365.admin.plugins.module_utils._graph_client import GraphResponse
from ansible_collections.o365.admin.plugins.module_utils._graph_pages import (
    TooManyPages, UnreadablePage, collection_items, collection_pages)

LINK = "https://graph.microsoft.com/v1.0/things?$skiptoken=%d"


class Pages:
    """Answers GET ``path`` and each next link from ``bodies`` (path or link -> body); records what it was asked."""

    def __init__(self, bodies):
        self.bodies = bodies
        self.asked = []

    def request(self, method, path, params=None, headers=None):
        self.asked.append((method, path, params, headers))
        return GraphResponse(200, self.bodies[path], "rid", None, 1, received="text/html")


def test_every_page_is_read_through_its_next_link_sent_as_it_is():
    client = Pages({"/things": {"value": [{"id": 1}], "@odata.nextLink": LINK % 1},
                    LINK % 1: {"value": [{"id": 2}, "not an object"], "@odata.nextLink": LINK % 2},
                    LINK % 2: {"value": []}})
    calls = []
    items = collection_items(client, "/things", "things", params={"$top": "2"}, headers={"ConsistencyLevel": "x"},
                             before_request=lambda: calls.append(len(client.asked)))
    assert items == [{"id": 1}, {"id": 2}]
    assert [(path, params) for dummy, path, params, dummy in client.asked] == [
        ("/things", {"$top": "2"}), (LINK % 1, None), (LINK % 2, None)]
    assert all(headers == {"ConsistencyLevel": "x"} for dummy, dummy, dummy, headers in client.asked)
    assert calls == [0, 1, 2]  # before each request, never after


@pytest.mark.parametrize("body, problem", [
    ("<html>proxy</html>", "no JSON object"),
    ({"values": []}, "an object without a list of values"),
    ({"value": {}}, "an object without a list of values"),
    ({"value": [], "@odata.nextLink": 7}, "a next-page link that is not a string (int)"),
])
def test_a_page_that_is_not_one_is_never_the_end_of_the_list(body, problem):
    client = Pages({"/things": {"value": [{"id": 1}], "@odata.nextLink": LINK % 1}, LINK % 1: body})
    with pytest.raises(UnreadablePage) as raised:
        collection_items(client, "/things", "things")
    assert "page of things holds %s (HTTP 200, text/html)" % problem in raised.value.message


def test_a_repeated_link_and_too_many_pages_stop_the_reading():
    looping = Pages({"/things": {"value": [], "@odata.nextLink": LINK % 1}, LINK % 1: {
        "value": [], "@odata.nextLink": LINK % 1}})
    with pytest.raises(O365AdminError, match="same next-page link twice for things"):
        collection_items(looping, "/things", "things")
    endless = Pages(dict([("/things", {"value": [], "@odata.nextLink": LINK % 1})] + [
        (LINK % n, {"value": [{"id": n}], "@odata.nextLink": LINK % (n + 1)}) for n in range(1, 10)]))
    pages = collection_pages(endless, "/things", "things", max_pages=3)
    assert [values for dummy, values in [next(pages), next(pages), next(pages)]] == [[], [{"id": 1}], [{"id": 2}]]
    with pytest.raises(TooManyPages):
        next(pages)
    assert len(endless.asked) == 3  # the fourth page is never asked for


def test_a_first_page_in_hand_is_read_first_and_only_its_links_are_requested():
    client = Pages({LINK % 1: {"value": [{"id": 2}]}})
    items = collection_items(client, None, "the list", first_page={"value": [{"id": 1}], "@odata.nextLink": LINK % 1})
    assert items == [{"id": 1}, {"id": 2}] and [path for dummy, path, dummy, dummy in client.asked] == [LINK % 1]
    with pytest.raises(TooManyPages):
        collection_items(Pages({}), None, "the list", first_page={"value": [], "@odata.nextLink": LINK % 1},
                         max_pages=1)
