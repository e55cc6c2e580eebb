# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal

from ansible_collections.o365.admin.plugins.module_utils import _interruption
from ansible_collections.o365.admin.plugins.module_utils._interruption import Interruption


def test_sigint_and_sigterm_only_ask_the_run_to_stop():
    interruption = Interruption().install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # no KeyboardInterrupt, no exit: the run decides when to stop
        assert interruption.wait(2) and interruption.reason == "interrupted by SIGTERM"
        os.kill(os.getpid(), signal.SIGINT)
        assert interruption.reason == "interrupted by SIGTERM"  # the first cause stays
    finally:
        interruption.restore()
    assert signal.getsignal(signal.SIGINT) is not interruption._on_signal


def test_the_parent_of_a_process_is_read_from_proc():
    assert _interruption._parent_of(os.getpid()) == os.getppid()
    assert _interruption._parent_of(2 ** 22 + 7) is None
