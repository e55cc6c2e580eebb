#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make ee`: build the Execution Environment image for real with podman, then run a job inside it.

1. Installs podman, runc and mmdebstrap from Debian when they are missing (as root, with apt-get).
2. Makes a Debian bookworm base with python3, python3-pip and ca-certificates from Debian's packages (mmdebstrap),
   adds the build host's CA bundle with PIP_CERT pointing at it, and imports it as
   localhost/o365-admin-ee-base:bookworm (podman import). Kept between runs; --rebuild-base makes it again.
3. ansible-builder create on execution-environment/execution-environment-local.yml (the CentOS definition's
   local-base variant), with the tarball `make build` wrote, then `podman build --isolation chroot`.
4. Starts the project's Graph emulator on loopback and runs playbooks/revoke_sessions.yml from the collection
   installed in the image with `podman run --network host`, credentials given only as environment variables, and
   checks the emulator's own record: the user's sessions were revoked exactly once.

podman runs with execution-environment/containers.conf (runc, cgroupfs, no default ulimits). Usage:
tools/ee.py TARBALL [--tag TAG] [--rebuild-base]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
sys.path.insert(0, ROOT)

from tests.graph_emulator.process import RunningEmulator  # noqa: E402  pylint: disable=wrong-import-position

BASE_IMAGE = "localhost/o365-admin-ee-base:bookworm"
WORK = os.path.join(ROOT, "build", "ee")
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
IMAGE_CA_BUNDLE = "/etc/ssl/certs/build-host-ca-bundle.crt"
TOOLS = {"podman": "podman", "runc": "runc", "mmdebstrap": "mmdebstrap"}
JOB_USER = "adele.vance@contoso.onmicrosoft.com"


def step(message):
    print("\n== make ee: %s" % message, flush=True)


def run(command, **kwargs):
    print("+ " + " ".join(command), flush=True)
    return subprocess.run(command, check=True, **kwargs)


def podman_environment():
    return dict(os.environ, CONTAINERS_CONF=os.path.join(ROOT, "execution-environment", "containers.conf"))


def install_tools():
    missing = [package for package, command in TOOLS.items() if shutil.which(command) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit("make ee needs %s: install them (apt-get install %s) or run make ee as root"
                 % (", ".join(missing), " ".join(missing)))
    step("installing %s from Debian" % ", ".join(missing))
    run(["apt-get", "update", "-qq"])
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def image_exists(name):
    return subprocess.run(["podman", "image", "exists", name], env=podman_environment(), check=False).returncode == 0


def build_base(rebuild):
    if image_exists(BASE_IMAGE) and not rebuild:
        step("base image %s is there (--rebuild-base makes it again)" % BASE_IMAGE)
        return
    step("making the base image %s with mmdebstrap and podman import" % BASE_IMAGE)
    tarball = os.path.join(WORK, "base.tar")
    # The build host's CA bundle goes in as a file of its own, so pip in the image build trusts what the host trusts
    # (a TLS-inspecting proxy's CA, say); PIP_CERT points at it.
    run(["mmdebstrap", "--variant=apt", "--include=python3,python3-pip,ca-certificates",
         "--customize-hook=upload %s %s" % (HOST_CA_BUNDLE, IMAGE_CA_BUNDLE), "bookworm", tarball])
    run(["podman", "import", "--change", "ENV PIP_CERT=%s" % IMAGE_CA_BUNDLE, "--change", 'CMD ["/bin/bash"]',
         tarball, BASE_IMAGE], env=podman_environment())
    os.remove(tarball)


def build_image(tarball, tag):
    step("ansible-builder create on execution-environment/execution-environment-local.yml")
    context = os.path.join(WORK, "context")
    shutil.rmtree(context, ignore_errors=True)
    # The EE file takes the collection from ../build/dist: put the tarball to test there.
    dist = os.path.join(ROOT, "build", "dist")
    os.makedirs(dist, exist_ok=True)
    if os.path.realpath(os.path.dirname(tarball)) != os.path.realpath(dist):
        for old in glob.glob(os.path.join(dist, "o365-admin-*.tar.gz")):
            os.remove(old)
        shutil.copy2(tarball, dist)
    run([os.path.join(os.path.dirname(sys.executable), "ansible-builder"), "create",
         "--file", "execution-environment-local.yml", "--context", context, "--output-filename", "Containerfile"],
        cwd=os.path.join(ROOT, "execution-environment"))
    step("podman build --isolation chroot -t %s" % tag)
    started = time.monotonic()
    # --network host: pip in the build reaches the package index the way the host does.
    run(["podman", "build", "--isolation", "chroot", "--network", "host", "--file",
         os.path.join(context, "Containerfile"), "--tag", tag, context], env=podman_environment())
    size = int(subprocess.run(["podman", "image", "inspect", "--format", "{{.Size}}", tag], env=podman_environment(),
                              check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout.strip())
    return size, time.monotonic() - started


def run_job(tag):
    step("a job in the image: playbooks/revoke_sessions.yml against the emulator on loopback")
    with RunningEmulator() as emulator:
        app = emulator["apps"]["o365-admin-demo"]
        # Credentials only as the environment, as AWX's credential injects them; the emulator's CA goes in read-only.
        environment = {"AZURE_TENANT_ID": emulator["tenant_id"], "AZURE_CLIENT_ID": app["client_id"],
                       "AZURE_CLIENT_SECRET": app["client_secret"], "AZURE_AUTHORITY_HOST": emulator["authority_host"],
                       "O365_GRAPH_ENDPOINT": emulator["graph_endpoint"], "O365_CA_PATH": "/run/emulator-ca.pem"}
        command = ["podman", "run", "--rm", "--network", "host", "--volume",
                   "%s:/run/emulator-ca.pem:ro" % emulator["ca_path"]]
        for name in environment:
            command += ["--env", name]
        playbook = "/usr/share/ansible/collections/ansible_collections/o365/admin/playbooks/revoke_sessions.yml"
        command += [tag, "ansible-playbook", playbook, "-e", json.dumps({"o365_revoke_users": [JOB_USER]})]
        print("+ " + " ".join(command), flush=True)
        job = subprocess.run(command, env=dict(podman_environment(), **environment), check=False,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        print(job.stdout, flush=True)
        users = {user["userPrincipalName"]: user for user in emulator.control("users", method="GET")["users"]}
        revocations = users[JOB_USER]["revocations"]
        calls = emulator.log_since(0)
    leaked = app["client_secret"] in job.stdout
    ok = job.returncode == 0 and revocations == 1 and not leaked
    print("Job: ansible-playbook exit %d; the emulator recorded %d revocation(s) of %s, %d token request(s) and "
          "%d Graph call(s); the client secret %s the job's output."
          % (job.returncode, revocations, JOB_USER, sum(1 for e in calls if e["kind"] == "token"),
             sum(1 for e in calls if e["kind"] == "graph"), "is in" if leaked else "is not in"))
    return ok


def main(argv):
    parser = argparse.ArgumentParser(prog="tools/ee.py", description="Build the Execution Environment and run a job.")
    parser.add_argument("tarball", help="the collection tarball to put in the image")
    parser.add_argument("--tag", default="localhost/o365-admin-ee:local")
    parser.add_argument("--rebuild-base", action="store_true")
    args = parser.parse_args(argv)
    os.makedirs(WORK, exist_ok=True)
    install_tools()
    build_base(args.rebuild_base)
    size, seconds = build_image(os.path.abspath(args.tarball), args.tag)
    print("Image %s: %.0f MB (%d bytes), built in %.0f s." % (args.tag, size / 1e6, size, seconds), flush=True)
    if not run_job(args.tag):
        print("make ee: the job in the image did not revoke the user as it should", file=sys.stderr)
        return 1
    print("make ee: the image is built and a job in it revoked %s at the emulator." % JOB_USER)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
