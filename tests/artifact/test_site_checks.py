# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The checkers `make test` runs on what gets published: the docs site's link check (tools/check_site_links.py) and
the verdict on galaxy-importer's output (tools/galaxy_import.py). Each must fail on what it exists to catch."""

import os
import stat
import subprocess
import sys

import pytest

from tests.artifact.helpers import ROOT

LINKS = os.path.join(ROOT, "tools", "check_site_links.py")
IMPORT = os.path.join(ROOT, "tools", "galaxy_import.py")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


MENU = '<div class="wy-menu wy-menu-vertical"><ul>%s</ul></div>'


def menu_entry(ref):
    return '<li><a class="reference internal" href="collections/o365/admin/docsite/%s.html">%s</a></li>' % (ref, ref)


def site(tmp_path, guide_body, menu=("start",)):
    """A two-page site: the index links to a guide page, which holds guide_body; the menu lists the given guides."""
    root = tmp_path / "html"
    index = ('<html><body><div><div>' + MENU % "".join(menu_entry(ref) for ref in menu) + '</div></div>'
             '<a href="collections/o365/admin/docsite/start.html#first">start</a>'
             ' <a href="https://docs.ansible.com/">out</a> <img src="_static/logo.png"></body></html>')
    write(str(root / "index.html"), index)
    write(str(root / "_static" / "logo.png"), "")
    write(str(root / "collections/o365/admin/docsite/start.html"),
          '<html><body><section id="first"><h1>Start</h1>%s</section></body></html>' % guide_body)
    extra_docs = tmp_path / "extra-docs.yml"
    write(str(extra_docs), "sections:\n  - title: Guides\n    toctree:\n      - start\n")
    return str(root), str(extra_docs)


def check_links(root, extra_docs):
    return subprocess.run([sys.executable, LINKS, root, extra_docs], stdout=subprocess.PIPE,
                          universal_newlines=True, check=False)


def test_a_site_whose_links_all_lead_somewhere_passes(tmp_path):
    result = check_links(*site(tmp_path, '<a href="#first">top</a> <a href="../../../../index.html">home</a>'
                                         ' <a href="mailto:x@example.com">mail</a>'))
    assert result.returncode == 0, result.stdout
    assert ("1 guide page(s), 1 in the navigation, 5 internal link(s) checked, 0 broken; 2 external link(s) not fetched"
            in result.stdout)


@pytest.mark.parametrize("link, why", [
    ("#second", "no anchor #second in collections/o365/admin/docsite/start.html"),
    ("../../../../index.html#nowhere", "no anchor #nowhere in index.html"),
    ("other.html", "no such file collections/o365/admin/docsite/other.html"),
    ("../../../../../outside.html", "no such file ../outside.html"),
])
def test_a_link_to_a_missing_page_or_anchor_fails_naming_it(tmp_path, link, why):
    result = check_links(*site(tmp_path, '<a href="%s">x</a>' % link))
    assert result.returncode == 1
    assert "broken link %s: %s" % (link, why) in result.stdout


def test_a_guide_without_a_page_fails(tmp_path):
    root, extra_docs = site(tmp_path, "")
    with open(extra_docs, "a") as handle:
        handle.write("      - troubleshooting\n")
    result = check_links(root, extra_docs)
    assert result.returncode == 1
    assert "guide troubleshooting" in result.stdout


def test_a_guide_listed_but_missing_from_the_navigation_fails(tmp_path):
    """What happened to "Contain automatically" and "Many tenants": pages of their own, in extra-docs.yml, and not in
    the site's left menu (index.rst's toctree named eight guides of ten)."""
    root, extra_docs = site(tmp_path, "", menu=())
    result = check_links(root, extra_docs)
    assert result.returncode == 1
    assert "guide start: listed in extra-docs.yml but not in the site's navigation (index.html)" in result.stdout


def test_a_guide_in_the_navigation_or_on_disk_but_not_listed_fails(tmp_path):
    root, extra_docs = site(tmp_path, "", menu=("start", "other"))
    write(os.path.join(root, "collections/o365/admin/docsite/other.html"), "<html><body>other</body></html>")
    write(os.path.join(root, "collections/o365/admin/docsite/stray.html"), "<html><body>stray</body></html>")
    result = check_links(root, extra_docs)
    assert result.returncode == 1
    assert "guide other: in the site's navigation but not listed in extra-docs.yml" in result.stdout
    assert "guide stray: a guide page that extra-docs.yml does not list" in result.stdout


def fake_importer(tmp_path, output, exit_code=0):
    """A stand-in for the importer's Python that prints `output` whatever it is asked to run."""
    path = tmp_path / "python"
    write(str(path), "#!/bin/sh\ncat <<'END'\n%s\nEND\nexit %d\n" % (output, exit_code))
    os.chmod(str(path), os.stat(str(path)).st_mode | stat.S_IXUSR)
    return str(path)


GOOD = ("Importing with galaxy-importer 0.4.44\nLoading module o365_revoke_sessions\n"
        "...ansible-lint run complete\nImporter processing completed successfully")


@pytest.mark.parametrize("output, exit_code, passes", [
    (GOOD, 0, True),
    (GOOD.replace("Loading", "WARNING: Could not get role description, no role metadata found\nLoading"), 0, False),
    ("Importing with galaxy-importer 0.4.44\nERROR: The import failed for the following reason: No role readme found.",
     0, False),
    (GOOD.replace("...ansible-lint", "WARNING: roles/x/tasks/main.yml:3: name[missing]\n...ansible-lint"), 0, False),
    (GOOD, 1, False),
    (GOOD.replace("Importer processing completed successfully", "Collection loading complete"), 0, False),
], ids=["clean", "role-warning", "error", "lint-finding", "exit-code", "no-success-line"])
def test_any_importer_warning_or_error_fails(tmp_path, output, exit_code, passes):
    log = tmp_path / "out" / "galaxy-importer.log"
    os.makedirs(str(log.parent))
    result = subprocess.run([sys.executable, IMPORT, fake_importer(tmp_path, output, exit_code), "x.tar.gz", str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    assert (result.returncode == 0) is passes, result.stdout
    assert log.read_text() == output + "\n"
    assert "Loading module" not in result.stdout


def readme_check(tmp_path, readme):
    root, extra_docs = site(tmp_path, "")
    write(str(tmp_path / "docs/docsite/rst/start.rst"),
          ".. _ansible_collections.o365.admin.docsite.start:\n\nStart\n=====\n\nFirst run: the emulator\n"
          "-----------------------\n\nText with :ref:`a Sphinx role <x>`.\n")
    write(str(tmp_path / "README.md"), readme)
    return subprocess.run([sys.executable, LINKS, root, extra_docs, str(tmp_path / "README.md")],
                          stdout=subprocess.PIPE, universal_newlines=True, check=False)


def test_readme_links_that_resolve_pass(tmp_path):
    result = readme_check(tmp_path, "[Start](docs/docsite/rst/start.rst), [run](docs/docsite/rst/start.rst#first-run-"
                                    "the-emulator), [label](docs/docsite/rst/start.rst#ansible-collections-o365-admin-"
                                    "docsite-start), [out](https://example.com/x)\n")
    assert result.returncode == 0, result.stdout
    assert "README.md: 4 link(s), 0 problem(s)" in result.stdout


@pytest.mark.parametrize("readme, problem", [
    ("[Start](docs/docsite/rst/start.rst#first-run)\n", "start.rst#first-run: no section or target #first-run"),
    ("[Start](docs/docsite/rst/start.rst) [Gone](docs/docsite/rst/gone.rst)\n", "gone.rst: no such file"),
    ("[Elsewhere](LICENSE)\n", "docs/docsite/rst/start.rst: a guide the README does not link to"),
])
def test_a_readme_link_that_leads_nowhere_or_a_guide_left_out_fails(tmp_path, readme, problem):
    result = readme_check(tmp_path, readme)
    assert result.returncode == 1
    assert problem in result.stdout
