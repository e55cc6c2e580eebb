# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tools/site_pages.py (make docs): the site's guide list comes from extra-docs.yml alone, and the event source has a
reference page written from its own DOCUMENTATION."""

import os
import sys

import pytest
import yaml

from tests.artifact.helpers import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))

import site_pages  # noqa: E402  pylint: disable=wrong-import-position


def test_the_index_lists_every_guide_of_extra_docs_in_its_order():
    with open(os.path.join(ROOT, "docs", "rst", "index.rst")) as handle:
        template = handle.read()
    refs = site_pages.guide_refs(os.path.join(ROOT, "docs", "docsite", "extra-docs.yml"))
    assert "contain_automatically" in refs and "many_tenants" in refs
    rendered = site_pages.render_index(template, refs)
    entries = [line.strip() for line in rendered.splitlines() if line.strip().startswith(site_pages.GUIDES_DIR + "/")]
    assert entries == ["%s/%s" % (site_pages.GUIDES_DIR, ref) for ref in refs]
    # The template names no guide itself: extra-docs.yml is the one list.
    assert site_pages.GUIDES_DIR not in template.replace(site_pages.MARKER, "")


@pytest.mark.parametrize("template", ["no marker\n", "   .. o365-guides\n   .. o365-guides\n"])
def test_an_index_without_exactly_one_marker_is_refused(template):
    with pytest.raises(ValueError):
        site_pages.render_index(template, ["start"])


def test_the_event_source_page_documents_every_option_and_the_example():
    path = os.path.join(ROOT, site_pages.EVENT_SOURCE)
    page = site_pages.render_event_source(path)
    doc, examples = site_pages._plugin_docs(path)
    for name in doc["options"]:
        assert "   * - ``%s``" % name in page
    assert "o365.admin.risky_users event source\n===" in page
    assert "IdentityRiskyUser.Read.All" in page
    assert examples.strip().splitlines()[0] in page
    # Ansible's markup is turned into reStructuredText, not left as O(...) for the reader.
    assert "O(interval)" not in page and "``interval``" in page
    assert yaml.safe_load(examples)


def test_markup_becomes_rst():
    assert site_pages._inline("O(a=b) and C(GET /x(y)) I(it) L(docs, https://e.example/) U(https://u.example/)") == (
        "``a=b`` and ``GET /x(y)`` *it* `docs <https://e.example/>`__ https://u.example/")
