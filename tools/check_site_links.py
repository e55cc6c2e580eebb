#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make docs-lint`: check every internal link and anchor of the built documentation site, offline.

Usage: check_site_links.py SITE_DIR [EXTRA_DOCS_YML [README]]

Every href and src of every HTML page under SITE_DIR that is not an external URL must name a file of the site, and
its #fragment an id (or a name) in that file. With EXTRA_DOCS_YML (docs/docsite/extra-docs.yml), every guide it
lists must also be a page of its own and be in the navigation menu of the site's front page, and every guide page
in that menu (or in the guides' directory) must be listed: a guide reachable only one way fails. With README
(README.md, the front page), every relative link of it must name a file of the repository, and its #fragment a
section or target of that file when it is reStructuredText, and every guide must be linked from it. External links
(http, https, mailto) are counted, not fetched: the build machines are offline, and Sphinx's own linkcheck builder
fetches only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath
import re
import sys

try:
    from html.parser import HTMLParser
    from urllib.parse import unquote, urlsplit
except ImportError:  # pragma: no cover - Python 2 has neither; the site is checked on Python 3
    raise SystemExit("check_site_links.py needs Python 3")

GUIDES_DIR = "collections/o365/admin/docsite"


class _Page(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.anchors = set()
        self.links = []
        self.nav_links = []  # the hrefs inside the theme's navigation menu (div.wy-menu), the site's left column
        self._nav_depth = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "div" and (self._nav_depth or "wy-menu" in (attributes.get("class") or "").split()):
            self._nav_depth += 1
        if self._nav_depth and tag == "a" and attributes.get("href"):
            self.nav_links.append(attributes["href"])
        for key in ("id", "name") if tag == "a" else ("id",):
            if attributes.get(key):
                self.anchors.add(attributes[key])
        for key in ("href", "src"):
            if attributes.get(key) is not None:
                self.links.append((tag, key, attributes[key], self.getpos()[0]))

    def handle_endtag(self, tag):
        if tag == "div" and self._nav_depth:
            self._nav_depth -= 1


def read_site(site_dir):
    """{relative path: _Page} for every HTML file, and the set of every file's relative path."""
    pages, files = {}, set()
    for directory, dummy, names in os.walk(site_dir):
        for name in names:
            relative = os.path.relpath(os.path.join(directory, name), site_dir).replace(os.sep, "/")
            files.add(relative)
            if name.endswith(".html"):
                page = _Page()
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    page.feed(handle.read())
                pages[relative] = page
    return pages, files


def broken_links(site_dir):
    """(page, line, link, why) for every internal link that leads nowhere; and the number of external links."""
    pages, files = read_site(site_dir)
    broken, external, internal = [], 0, 0
    for source, page in sorted(pages.items()):
        for dummy, dummy, link, line in page.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                external += 1
                continue
            if not parts.path and not parts.fragment:
                continue  # href="" or "?query": the page itself
            internal += 1
            target = source if not parts.path else posixpath.normpath(
                posixpath.join(posixpath.dirname(source), unquote(parts.path)))
            if target.endswith("/") or target + "/index.html" in files and target not in files:
                target = posixpath.join(target.rstrip("/"), "index.html")
            if target.startswith("../") or target not in files:
                broken.append((source, line, link, "no such file %s" % target))
            elif parts.fragment and (target not in pages or unquote(parts.fragment) not in pages[target].anchors):
                broken.append((source, line, link, "no anchor #%s in %s" % (unquote(parts.fragment), target)))
    return broken, internal, external, len(pages)


def missing_guides(site_dir, extra_docs_path):
    """Guides listed in extra-docs.yml that are not a page of the site."""
    import yaml

    with open(extra_docs_path) as handle:
        index = yaml.safe_load(handle) or {}
    refs = [entry if isinstance(entry, str) else entry["ref"]
            for section in index.get("sections") or [] for entry in section.get("toctree") or []]
    missing = [ref for ref in refs if not os.path.isfile(os.path.join(site_dir, GUIDES_DIR, ref + ".html"))]
    return refs, missing


def navigation_problems(site_dir, refs):
    """(guide, why) for every guide reachable only one way: listed in extra-docs.yml (antsibull-docs' list) but not in
    the navigation menu of the site's front page, or a guide page in that menu or on disk that the list leaves out."""
    front = os.path.join(site_dir, "index.html")
    if not os.path.isfile(front):
        return [("index.html", "the site has no front page")]
    page = _Page()
    with open(front, encoding="utf-8") as handle:
        page.feed(handle.read())
    prefix = GUIDES_DIR + "/"
    in_menu = set()
    for link in page.nav_links:
        path = posixpath.normpath(unquote(urlsplit(link).path or "index.html"))
        if path.startswith(prefix) and path.endswith(".html"):
            in_menu.add(path[len(prefix):-len(".html")])
    guides_dir = os.path.join(site_dir, GUIDES_DIR)
    on_disk = {name[:-len(".html")] for name in os.listdir(guides_dir) if name.endswith(".html")} \
        if os.path.isdir(guides_dir) else set()
    problems = [(ref, "listed in extra-docs.yml but not in the site's navigation (index.html)")
                for ref in refs if ref not in in_menu]
    listed = set(refs)
    problems += [(ref, "in the site's navigation but not listed in extra-docs.yml") for ref in sorted(in_menu - listed)]
    problems += [(ref, "a guide page that extra-docs.yml does not list") for ref in sorted(on_disk - in_menu - listed)]
    return problems


def _rst_ids(path):
    """Every id docutils gives an element of the reStructuredText file (sections, targets), as a forge renders it."""
    import docutils.core
    import docutils.nodes

    with open(path, encoding="utf-8") as handle:
        # Sphinx's roles (:ref:, :ansplugin:) are unknown to plain docutils: quiet, they do not change the ids.
        tree = docutils.core.publish_doctree(handle.read(), source_path=path, settings_overrides={
            "report_level": 5, "halt_level": 5, "file_insertion_enabled": False, "raw_enabled": False})
    return {value for node in tree.findall(docutils.nodes.Element) for value in node.get("ids", [])}


def readme_problems(readme_path, guide_refs):
    """(link, why) for every relative Markdown link of the README that leads nowhere, and guides it does not link."""
    base = os.path.dirname(os.path.abspath(readme_path))
    with open(readme_path, encoding="utf-8") as handle:
        links = re.findall(r"\]\(([^)\s]+)\)", handle.read())
    problems, ids, linked = [], {}, set()
    for link in links:
        parts = urlsplit(link)
        if parts.scheme or link.startswith("//") or not parts.path:
            continue
        path = os.path.normpath(os.path.join(base, unquote(parts.path)))
        linked.add(path)
        if not os.path.exists(path):
            problems.append((link, "no such file"))
        elif parts.fragment and path.endswith(".rst"):
            if path not in ids:
                ids[path] = _rst_ids(path)
            if parts.fragment not in ids[path]:
                problems.append((link, "no section or target #%s" % parts.fragment))
    for ref in guide_refs:
        if os.path.join(base, "docs", "docsite", "rst", ref + ".rst") not in linked:
            problems.append(("docs/docsite/rst/%s.rst" % ref, "a guide the README does not link to"))
    return problems, len(links)


def main(argv):
    if len(argv) not in (1, 2, 3) or not os.path.isdir(argv[0]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    site_dir = argv[0]
    broken, internal, external, page_count = broken_links(site_dir)
    for source, line, link, why in broken:
        print("%s:%d: broken link %s: %s" % (source, line, link, why))
    failed = bool(broken) or page_count == 0
    guides = ""
    if len(argv) >= 2:
        refs, missing = missing_guides(site_dir, argv[1])
        for ref in missing:
            print("guide %s (%s) has no page %s/%s.html" % (ref, argv[1], GUIDES_DIR, ref))
        navigation = navigation_problems(site_dir, refs)
        for ref, why in navigation:
            print("guide %s: %s" % (ref, why))
        failed = failed or bool(missing) or bool(navigation) or not refs
        guides = ", %d guide page(s), %d in the navigation" % (len(refs) - len(missing), len(refs) - len(
            [ref for ref, why in navigation if why.startswith("listed")]))
    print("%s: %d page(s)%s, %d internal link(s) checked, %d broken; %d external link(s) not fetched"
          % (site_dir, page_count, guides, internal, len(broken), external))
    if len(argv) == 3:
        problems, count = readme_problems(argv[2], refs)
        for link, why in problems:
            print("%s: %s: %s" % (argv[2], link, why))
        print("%s: %d link(s), %d problem(s)" % (argv[2], count, len(problems)))
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
