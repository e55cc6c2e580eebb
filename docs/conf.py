# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Sphinx configuration of `make docs` (started from `antsibull-docs sphinx-init`'s). The site holds the guides of
# docs/docsite/rst and the pages antsibull-docs writes for every module, role and plugin.

project = "o365.admin"
copyright = "o365.admin contributors"
title = "o365.admin documentation"
html_short_title = "o365.admin"

extensions = ["sphinx_antsibull_ext"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

# No intersphinx: the site is built offline, and links to docs.ansible.com are written out in full.
default_role = "any"
nitpicky = True

# Offline, intersphinx cannot fetch docs.ansible.com's inventory: the references antsibull-docs writes to Ansible's
# own documentation (core pages, other collections' plugins) become plain links to it instead.
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"
ANSIBLE_LABELS = {
    "ansible_configuration_settings": "reference_appendices/config.html",
    "common_return_values": "reference_appendices/common_return_values.html",
    "playbooks_tags": "playbook_guide/playbooks_tags.html",
    "playbooks_delegation": "playbook_guide/playbooks_delegation.html",
    "check_mode_dry": "playbook_guide/playbooks_checkmode.html",
    "module_defaults": "playbook_guide/playbooks_module_defaults.html",
}


def _link_to_ansible_docs(app, env, node, contnode):
    from docutils import nodes

    target = node.get("reftarget", "")
    if node.get("refdomain") != "std" or target.startswith("ansible_collections.o365.admin."):
        return None
    url = None
    if target in ANSIBLE_LABELS:
        url = ANSIBLE_DOCS + ANSIBLE_LABELS[target]
    elif target.startswith("ansible_collections."):
        # ansible_collections.NS.COLL.NAME_TYPE[__anchor]
        parts = target.split("__")[0].split(".")
        if len(parts) == 4:
            url = ANSIBLE_DOCS + "collections/%s/%s/%s.html" % tuple(parts[1:])
    if url is None:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url)
    reference.append(contnode)
    return reference


def setup(app):
    app.connect("missing-reference", _link_to_ansible_docs)
