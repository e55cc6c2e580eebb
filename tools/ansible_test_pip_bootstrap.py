#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Put a stand-in for ansible-test's pip bootstrap script where ansible-test looks for it.

ansible-test downloads get-pip.py from a host this project's machines cannot reach, and reads
~/.ansible/test/cache/get_pip_<version>.py instead when that file exists. The stand-in bootstraps pip
with the standard library's ensurepip, then installs the packages ansible-test asked for from the
package index. ansible-test runs it with a cleaned environment, so the machine's pip settings (index,
CA bundle, proxies) are captured here, when `make` runs, and written into the stand-in.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import types

PASSED_THROUGH = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT", "PIP_TRUSTED_HOST",
                  "PIP_DEFAULT_TIMEOUT", "PIP_CONFIG_FILE", "PIP_CONSTRAINT", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
                  "https_proxy", "http_proxy", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")

STAND_IN = '''# Stand-in for get-pip.py written by o365.admin's tools/ansible_test_pip_bootstrap.py.
import ensurepip
import os
import runpy
import sys

for name, value in %(environment)r.items():
    os.environ.setdefault(name, value)
ensurepip.bootstrap()
# --no-setuptools and --no-wheel are get-pip.py's own options, not pip's.
sys.argv = ["pip", "install"] + [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
'''


def pip_version_wanted():
    from ansible_test._internal.python_requirements import get_venv_packages
    version = "%d.%d" % sys.version_info[:2]
    return get_venv_packages(types.SimpleNamespace(version=version))["pip"]


def main():
    path = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % pip_version_wanted().replace(".", "_"))
    environment = dict((name, os.environ[name]) for name in PASSED_THROUGH if os.environ.get(name))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(STAND_IN % {"environment": environment})
    print("ansible-test pip bootstrap stand-in: %s" % path)


if __name__ == "__main__":
    main()
