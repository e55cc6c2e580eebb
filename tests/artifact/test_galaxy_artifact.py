# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Galaxy tarball: what it carries, what it keeps out, and that its installed copy is complete and is used."""

import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from tests.artifact.helpers import ROOT, checkout_names, run_tool, tool

# Never in a tarball: what tests, tools, builds and editors leave in a working tree.
LEFT_BEHIND = re.compile(r"(^|/)(\.venv|venv|\.prism|node_modules|build|dist|\.pytest_cache|\.mypy_cache|"
                         r"\.ruff_cache|\.hypothesis|\.tox|\.nox|\.cache|__pycache__|htmlcov|\.ansible|\.git|"
                         r"tests/output)(/|$)|\.pyc$|\.pyo$|\.retry$|\.log$|(^|/)\.coverage|\.tar\.gz$|"
                         r"(^|/)\.DS_Store$|\.swp$|^changelogs/\.plugin-cache\.yaml$")
DEVELOPER_TOOLING = ("Makefile", "requirements-dev.txt", "requirements-eda.txt", ".ci/", "benchmarks/", "tools/",
                     ".gitignore")


def members(path):
    with tarfile.open(path) as archive:
        return sorted(m.name[2:] if m.name.startswith("./") else m.name for m in archive.getmembers() if m.isfile())


def test_tarball_holds_the_collection_and_nothing_left_behind(tarball):
    names = members(tarball)
    assert not [n for n in names if LEFT_BEHIND.search(n)]
    assert not [n for n in names if n in DEVELOPER_TOOLING or n.startswith(DEVELOPER_TOOLING)]
    for required in ("MANIFEST.json", "FILES.json", "README.md", "LICENSE", "meta/runtime.yml",
                     "meta/execution-environment.yml", "requirements.txt", "changelogs/changelog.yaml",
                     "CHANGELOG.rst"):
        assert required in names
    # Every plugin and role file of the checkout, whoever added it.
    for top in ("plugins", "roles", "playbooks", "extensions"):
        for directory, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                if not name.endswith((".pyc", ".pyo")):
                    assert os.path.relpath(os.path.join(directory, name), ROOT) in names


def test_what_the_readme_says_is_in_the_collection_is_in_the_tarball(tarball):
    """Issue 28: the README's table listed execution-environment/, which build_ignore leaves out. A path in the
    table's first column is in the tarball unless its row says it is in the repository only."""
    with open(os.path.join(ROOT, "README.md")) as handle:
        text = handle.read()
    table = text.split("## What is in the collection", 1)[1].split("\n## ", 1)[0]
    names = members(tarball)
    checked = []
    for row in table.splitlines():
        cells = row.split(" | ")
        if not row.startswith("| `") or "not in the Galaxy tarball" in cells[0]:
            continue
        for path in re.findall(r"`([A-Za-z0-9_./*-]+/[A-Za-z0-9_./*-]*)`", cells[0]):
            checked.append(path)
            if path.endswith("/"):
                assert any(name.startswith(path) for name in names), path
            elif "*" in path:
                assert any(re.match(re.escape(path).replace(r"\*", "[^/]*") + "$", name) for name in names), path
            else:
                assert path in names, path
    assert "playbooks/contain_tenants.yml" in checked and "inventory/tenants.example.yml" in checked


def test_build_ignore_keeps_out_caches_and_output_anywhere(tmp_path):
    """Build from a copy of the working tree into which everything tests and tools leave behind is planted."""
    source = tmp_path / "ansible_collections" / "o365" / "admin"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    for name in listed:
        if os.path.isfile(os.path.join(ROOT, name)):
            os.makedirs(str(source / os.path.dirname(name)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), str(source / name))
    planted = [".pytest_cache/v/cache/lastfailed", "tests/unit/.pytest_cache/README.md", "node_modules/x/index.js",
               ".prism/node_modules/.bin/prism", ".mypy_cache/3.11/x.json", "tests/.mypy_cache/x.json",
               ".hypothesis/examples/x", "tests/unit/.hypothesis/examples/x", ".venv/bin/python",
               "build/collections/x", "tests/output/junit/x.xml", "plugins/modules/__pycache__/x.cpython-311.pyc",
               "plugins/module_utils/stray.pyc", ".cache/pip/x", "tests/integration/.cache/x", ".ruff_cache/x",
               ".tox/py/x", ".coverage", "tests/.coverage.host.1", "htmlcov/index.html", "playbooks/site.retry",
               "o365-admin-0.0.1.tar.gz", "benchmarks/results/x.json", "changelogs/.plugin-cache.yaml",
               "docs/build/html/index.html", "tests/unit/.ansible/x", "emulator.log"]
    for name in planted:
        os.makedirs(str(source / os.path.dirname(name)), exist_ok=True)
        (source / name).write_text("left behind\n")
    out = tmp_path / "dist"
    built = subprocess.run([tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), str(source)],
                           capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    names = members(str(next(out.iterdir())))
    assert not [n for n in names if LEFT_BEHIND.search(n) or n in planted]
    assert "plugins/modules/o365_revoke_sessions.py" in names


def test_installed_copy_matches_its_manifest(installed_collections):
    # ansible-playbook imports the installed copy's action plugins and Python caches their bytecode beside them:
    # Python's, not the collection's content, but `collection verify` reports it as a change.
    for directory, subdirectories, dummy in os.walk(installed_collections):
        if "__pycache__" in subdirectories:
            shutil.rmtree(os.path.join(directory, "__pycache__"))
            subdirectories.remove("__pycache__")
    verified = run_tool([tool("ansible-galaxy"), "collection", "verify", "--offline", "-p", installed_collections,
                         "o365.admin"], installed_collections)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Successfully verified that checksums for 'o365.admin" in verified.stdout


@pytest.mark.parametrize("kind", ["module", "role"])
def test_ansible_doc_lists_every_module_and_role_of_the_installed_copy(installed_collections, kind):
    expected = checkout_names("modules" if kind == "module" else "role")
    if not expected:
        pytest.skip("the collection has no %s" % kind)
    listed = run_tool([tool("ansible-doc"), "-t", kind, "-l", "o365.admin", "--json"], installed_collections)
    assert listed.returncode == 0, listed.stderr
    names = sorted(name.split(".", 2)[2] for name in json.loads(listed.stdout))
    # ansible-doc lists a role only with meta/argument_specs.yml, which its documentation comes from.
    assert names == expected, "ansible-doc -t %s lists %s; the checkout has %s" % (kind, names, expected)


def test_the_installed_copy_is_the_one_ansible_uses(installed_collections):
    shown = run_tool([tool("ansible-doc"), "--json", "o365.admin.o365_revoke_sessions"], installed_collections)
    assert shown.returncode == 0, shown.stderr
    filename = json.loads(shown.stdout)["o365.admin.o365_revoke_sessions"]["doc"]["filename"]
    assert os.path.realpath(filename).startswith(os.path.realpath(installed_collections) + os.sep)
