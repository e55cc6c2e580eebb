# -*- coding: utf-8 -*-
# Copyright (c) o365.admin contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's version, sent in the User-Agent. Internal to this collection, may change without notice."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Kept equal to galaxy.yml's version (a unit test checks it).
COLLECTION_VERSION = "0.1.0"
