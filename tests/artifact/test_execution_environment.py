# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The example Execution Environment: `ansible-builder create`, then the image build's collection steps replayed.

`make test` builds no image (`make ee` does, with podman, outside `make test`). The check it runs: the build context
ansible-builder generates, then the two steps of its Containerfile that concern this collection run as written
against that context (the galaxy stage's `ansible-galaxy collection install -r requirements.yml` from /build, and
the builder stage's introspect.py over the installed collections), on this machine instead of in the image.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.artifact.helpers import ROOT, tool

sys.path.insert(0, os.path.join(ROOT, "tools"))

from matrix import CONTROLLER_PYTHONS  # noqa: E402  pylint: disable=wrong-import-position

EE_DIR = os.path.join(ROOT, "execution-environment")


def galaxy_version():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)["version"]


@pytest.fixture(scope="module")
def build_context(tarball, tmp_path_factory):
    """A copy of the repository's layout the EE file refers to (with the tested tarball), and its build context."""
    repo = tmp_path_factory.mktemp("ee-repo")
    shutil.copytree(EE_DIR, str(repo / "execution-environment"))
    shutil.copy2(os.path.join(ROOT, "requirements.txt"), str(repo / "requirements.txt"))
    os.makedirs(str(repo / "build" / "dist"))
    shutil.copy2(tarball, str(repo / "build" / "dist" / os.path.basename(tarball)))
    context = repo / "context"
    # ansible-builder names the file Containerfile when it finds podman on the machine: ask for one name.
    created = subprocess.run([tool("ansible-builder"), "create", "--file", "execution-environment.yml",
                              "--context", str(context), "--output-filename", "Dockerfile"],
                             cwd=str(repo / "execution-environment"),
                             capture_output=True, text=True, check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "No matches" not in created.stdout + created.stderr
    return context


def requirement_names(path):
    with open(path) as handle:
        lines = [line.split("#")[0].strip() for line in handle]
    return {re.split(r"[<>=!~\[; ]", line)[0].lower() for line in lines if line}


def test_python_requirements_hold_msal_and_requests(build_context):
    assert {"msal", "requests"} <= requirement_names(str(build_context / "_build" / "requirements.txt"))


def test_galaxy_requirements_install_this_collection_from_the_context(build_context):
    with open(str(build_context / "_build" / "requirements.yml")) as handle:
        collections = yaml.safe_load(handle)["collections"]
    names = [entry["name"] for entry in collections]
    assert names == ["collections/o365-admin-%s.tar.gz" % galaxy_version()]
    assert (build_context / "_build" / names[0]).is_file()


def test_the_images_collection_steps_install_o365_admin_and_find_its_python_dependencies(build_context, tmp_path):
    build = build_context / "_build"
    with open(str(build_context / "Dockerfile")) as handle:
        containerfile = handle.read()
    # The steps replayed below are the ones the Containerfile runs, from /build (a copy of _build).
    assert "COPY _build /build" in containerfile and "-r requirements.yml" in containerfile
    assert "introspect.py introspect --user-pip=requirements.txt" in containerfile
    collections = tmp_path / "usr-share-ansible-collections"
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1")
    env.pop("PYTHONPATH", None)
    installed = subprocess.run([tool("ansible-galaxy"), "collection", "install", "--offline", "-r", "requirements.yml",
                                "--collections-path", str(collections)], cwd=str(build), env=env,
                               capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (collections / "ansible_collections" / "o365" / "admin" / "MANIFEST.json").is_file()
    introspected = subprocess.run([tool("python"), str(build / "scripts" / "introspect.py"), "introspect",
                                   "--user-pip=requirements.txt", str(collections)], cwd=str(build), env=env,
                                  capture_output=True, text=True, check=False)
    assert introspected.returncode == 0, introspected.stderr
    python = yaml.safe_load(introspected.stdout)["python"]
    from_collection = {line.split()[0] for line in python if line.endswith("# from collection o365.admin")}
    assert requirement_names(os.path.join(ROOT, "requirements.txt")) == \
        {re.split(r"[<>=!~]", requirement)[0].lower() for requirement in from_collection}


def test_the_local_base_variant_differs_only_where_debian_needs_it(tarball, tmp_path):
    """execution-environment-local.yml, which `make ee` builds: the same dependencies as the CentOS definition, and a
    Containerfile that installs with apt-get and leaves pip to Debian's python3-pip."""
    with open(os.path.join(EE_DIR, "execution-environment.yml")) as handle:
        centos = yaml.safe_load(handle)
    with open(os.path.join(EE_DIR, "execution-environment-local.yml")) as handle:
        local = yaml.safe_load(handle)
    # The same dependencies, except ansible-core's upper bound: Debian bookworm's Python 3.11 takes ansible-core up
    # to the newest minor that supports 3.11 as a controller (tools/matrix.py's table), and the definition says so.
    local_core = local["dependencies"].pop("ansible_core")["package_pip"]
    centos_core = centos["dependencies"].pop("ansible_core")["package_pip"]
    assert local["dependencies"] == centos["dependencies"]
    newest_for_311 = max((core for core, pythons in CONTROLLER_PYTHONS.items() if "3.11" in pythons),
                         key=lambda core: [int(part) for part in core.split(".")])
    major, minor = newest_for_311.split(".")
    assert local_core == centos_core.split(",<")[0] + ",<%s.%d" % (major, int(minor) + 1) == "ansible-core>=2.16,<2.20"
    assert local["additional_build_files"] == centos["additional_build_files"]
    assert local["options"] == {"package_manager_path": "/usr/bin/apt-get", "skip_pip_install": True}
    repo = tmp_path / "repo"
    shutil.copytree(EE_DIR, str(repo / "execution-environment"))
    shutil.copy2(os.path.join(ROOT, "requirements.txt"), str(repo / "requirements.txt"))
    os.makedirs(str(repo / "build" / "dist"))
    shutil.copy2(tarball, str(repo / "build" / "dist" / os.path.basename(tarball)))
    created = subprocess.run([tool("ansible-builder"), "create", "--file", "execution-environment-local.yml",
                              "--context", str(repo / "context"), "--output-filename", "Containerfile"],
                             cwd=str(repo / "execution-environment"), capture_output=True, text=True, check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    containerfile = (repo / "context" / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="localhost/o365-admin-ee-base:bookworm"' in containerfile
    assert 'ARG PKGMGR="/usr/bin/apt-get"' in containerfile
    assert "/output/scripts/pip_install" not in containerfile
    assert (repo / "context" / "_build" / "collections" / os.path.basename(tarball)).is_file()
