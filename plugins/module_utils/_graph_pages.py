# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pages of a Graph collection, read one after the other through ``@odata.nextLink``: one reader for group
members, risky users, audit and sign-in logs and the exposure lists.

Internal to this collection, may change without notice.

A list is read whole or not at all: a page that is not one (a proxy's HTML, a ``value`` that is not a list, a next
link that is not a string) raises UnreadablePage, a next link seen twice raises, and more pages than the caller
allows raise TooManyPages; none of them is ever taken for the end of the list. A next link carries its query, so it
is sent as it is; GraphClient refuses one that leaves Graph's host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import urlsplit

from ansible_collections.o365.admin.plugins.module_utils._errors import O365AdminError

NEXT_LINK = "@odata.nextLink"


class UnreadablePage(O365AdminError):
    """A page of a collection that is not one."""


class TooManyPages(O365AdminError):
    """More pages than the caller allows: the list is not read to its end."""

    def __init__(self, message, max_pages):
        super(TooManyPages, self).__init__(message)
        self.max_pages = max_pages


def _shape(body):
    return "no JSON object" if not isinstance(body, dict) else "an object without a list of values"


def page_values(body, what, response=None):
    """The ``value`` list of one page of ``what``; any other shape is UnreadablePage."""
    link = body.get(NEXT_LINK) if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("value"), list) or not (
            link is None or isinstance(link, str)):
        answer = "" if response is None else " (HTTP %s, %s)" % (response.status_code, getattr(
            response, "received", None) or "no content type")
        problem = ("a next-page link that is not a string (%s)" % type(link).__name__
                   if isinstance(body, dict) and isinstance(body.get("value"), list) else _shape(body))
        raise UnreadablePage("Microsoft Graph's page of %s holds %s%s; nothing was changed. A proxy may have answered "
                             "instead of Graph." % (what, problem, answer))
    return body["value"]


def collection_pages(client, path, what, params=None, headers=None, before_request=None, max_pages=None,
                     first_page=None):
    """Yield ``(response, values)`` for each page of the collection at ``path`` (``what`` names it in errors):
    GET ``path`` with ``params``, then each next link as it is. ``before_request()`` runs before every request (a
    pacer's wait); at most ``max_pages`` pages are read (TooManyPages when there are more); ``first_page``, a
    page body already in hand (read in a ``$batch``), is yielded first with the response None."""
    options = {"headers": headers} if headers else {}
    followed = set()
    pages = 0
    body = first_page
    link = None
    while True:
        if body is None:
            if max_pages is not None and pages >= max_pages:
                raise TooManyPages("More than %d pages of %s; stopped reading." % (max_pages, what), max_pages)
            if before_request is not None:
                before_request()
            response = client.request("GET", link or path, params=None if link else params, **options)
            body = response.body
        else:
            response = None
        values = page_values(body, what, response)
        pages += 1
        yield response, values
        link = body.get(NEXT_LINK)
        if not link:
            return
        if link in followed:
            raise O365AdminError("Microsoft Graph returned the same next-page link twice for %s (%s); stopped paging."
                                 % (what, urlsplit(link).path))
        followed.add(link)
        body = None


def collection_items(client, path, what, **options):
    """Every item of the collection (the JSON objects of every page), read whole (see collection_pages)."""
    return [item for dummy, values in collection_pages(client, path, what, **options)
            for item in values if isinstance(item, dict)]
