#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make docs`: the site pages written from the collection's own sources instead of by hand.

Usage: site_pages.py RST_DIR

- RST_DIR/index.rst from docs/rst/index.rst, whose ``.. o365-guides`` line becomes the guides of
  docs/docsite/extra-docs.yml, in its order: one list of guides for the site's navigation and antsibull-docs.
- RST_DIR/collections/o365/admin/risky_users_event_source.rst: the reference page of the event source
  o365.admin.risky_users, from the DOCUMENTATION and EXAMPLES of extensions/eda/plugins/event_source/risky_users.py
  (antsibull-docs writes no page for event sources).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
GUIDES_DIR = "collections/o365/admin/docsite"
MARKER = ".. o365-guides"
EVENT_SOURCE = os.path.join("extensions", "eda", "plugins", "event_source", "risky_users.py")
EVENT_SOURCE_PAGE = "collections/o365/admin/risky_users_event_source"


def guide_refs(extra_docs_path):
    """The guides of extra-docs.yml, in order."""
    with open(extra_docs_path) as handle:
        index = yaml.safe_load(handle) or {}
    return [entry if isinstance(entry, str) else entry["ref"]
            for section in index.get("sections") or [] for entry in section.get("toctree") or []]


def render_index(template, refs):
    """index.rst with the marker line replaced by one toctree entry per guide, indented as the marker is."""
    lines = template.splitlines()
    found = [number for number, line in enumerate(lines) if line.strip() == MARKER]
    if len(found) != 1:
        raise ValueError("docs/rst/index.rst must hold the line %r exactly once" % MARKER)
    indent = lines[found[0]][:len(lines[found[0]]) - len(lines[found[0]].lstrip())]
    entries = ["%s%s/%s" % (indent, GUIDES_DIR, ref) for ref in refs]
    return "\n".join(lines[:found[0]] + entries + lines[found[0] + 1:]) + "\n"


def _inline(text):
    """Ansible's doc markup to reStructuredText: O(), V(), C(), E() as literals, I() italic, L() and U() links."""
    text = str(text)
    text = re.sub(r"L\(([^,()]+),\s*([^()]+)\)", lambda m: "`%s <%s>`__" % (m.group(1), m.group(2)), text)
    text = re.sub(r"U\(([^()]+)\)", lambda m: m.group(1), text)
    text = re.sub(r"[OVCE]\(([^()]*(?:\([^()]*\)[^()]*)*)\)", lambda m: "``%s``" % m.group(1), text)
    return re.sub(r"I\(([^()]+)\)", lambda m: "*%s*" % m.group(1), text)


def _plugin_docs(path):
    """DOCUMENTATION (parsed) and EXAMPLES (text) of a plugin file, read without importing it."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES") and isinstance(node.value, ast.Constant):
            values[node.targets[0].id] = node.value.value
    if "DOCUMENTATION" not in values:
        raise ValueError("%s has no DOCUMENTATION" % path)
    return yaml.safe_load(values["DOCUMENTATION"]), values.get("EXAMPLES", "")


def render_event_source(path):
    doc, examples = _plugin_docs(path)
    title = "o365.admin.risky_users event source"
    out = [".. _ansible_collections.o365.admin.risky_users_event_source:", "", title, "=" * len(title), "",
           _inline(doc["short_description"]) + ".", "",
           "An `ansible-rulebook <https://ansible.readthedocs.io/projects/rulebook/>`__ event source, in "
           "``extensions/eda/plugins/event_source/risky_users.py`` of the collection; in a rulebook, "
           "``o365.admin.risky_users``. This page is written from the plugin's own documentation.", "",
           "Synopsis", "--------", ""]
    for paragraph in doc.get("description") or []:
        out += ["- " + _inline(paragraph), ""]
    out += ["Parameters", "----------", "", ".. list-table::", "   :header-rows: 1", "   :widths: 20 15 65", "",
            "   * - Parameter", "     - Type", "     - Comments"]
    for name, spec in sorted((doc.get("options") or {}).items()):
        kind = spec.get("type", "str")
        if spec.get("elements"):
            kind += " / elements=" + spec["elements"]
        comments = [_inline(line) for line in spec.get("description") or []]
        if spec.get("choices"):
            comments.append("Choices: %s." % ", ".join("``%s``" % choice for choice in spec["choices"]))
        if "default" in spec:
            default = spec["default"]
            if isinstance(default, bool):
                default = str(default).lower()
            comments.append("Default: ``%s``." % (default,))
        out += ["   * - ``%s``" % name, "     - %s" % kind, "     - %s" % (comments[0] if comments else "")]
        for line in comments[1:]:
            out += ["", "       " + line]
    out.append("")
    if doc.get("notes"):
        out += ["Notes", "-----", ""] + ["- " + _inline(note) for note in doc["notes"]] + [""]
    if examples.strip():
        out += ["Examples", "--------", "", ".. code-block:: yaml", ""]
        out += ["   " + line if line else "" for line in examples.strip("\n").splitlines()] + [""]
    out += ["See also", "--------", "",
            "- The guide :ref:`ansible_collections.o365.admin.docsite.contain_automatically`: the rulebook, "
            "permissions, the blast-radius brake, EDA Controller.", ""]
    return "\n".join(out)


def main(argv):
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    rst_dir = argv[0]
    with open(os.path.join(ROOT, "docs", "rst", "index.rst")) as handle:
        template = handle.read()
    try:
        index = render_index(template, guide_refs(os.path.join(ROOT, "docs", "docsite", "extra-docs.yml")))
        page = render_event_source(os.path.join(ROOT, EVENT_SOURCE))
    except (ValueError, KeyError) as exc:
        print("site_pages.py: %s" % exc, file=sys.stderr)
        return 1
    with open(os.path.join(rst_dir, "index.rst"), "w") as handle:
        handle.write(index)
    target = os.path.join(rst_dir, *EVENT_SOURCE_PAGE.split("/")) + ".rst"
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w") as handle:
        handle.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
