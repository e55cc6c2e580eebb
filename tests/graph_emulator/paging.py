# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulator's page tokens: every paged collection carries its next offset in an opaque $skiptoken."""

import base64


def page_start(operation):
    """The offset the request's $skiptoken carries (0 without one), or None when it is not a token of ours: each
    service answers that with its own 400."""
    token = (operation.query.get("$skiptoken") or [""])[0]
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode() + b"==").decode())
    except ValueError:
        return None


def skiptoken(offset):
    """The $skiptoken of the page starting at ``offset``."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")
