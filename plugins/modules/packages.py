#!/usr/bin/python
# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the packages action plugin (plugins/action/packages.py), which does all the work."""

from __future__ import annotations

DOCUMENTATION = r"""
module: packages
short_description: Debian packages present, with apt asked only when dpkg lacks one
version_added: 0.1.0
author: appmount.wsgi maintainers (@appmount)
description:
  - Asks C(dpkg-query) on the host, in one shell command without a module, whether every package of I(name) is
    installed. Only when one is not (or when a name is not a plain package name, such as C(pkg=1.2*)) does it run
    M(ansible.builtin.apt) with C(state=present) and the other options, which then reports the change.
  - An installed system thus costs one round trip without Python and without loading apt's cache, instead of
    M(ansible.builtin.apt) reading the cache of every package at each run.
  - Used by the roles of this collection for their packages.
options:
  name:
    description: Debian package names.
    type: list
    elements: str
    required: true
  versions:
    description:
      - Debian package names whose installed version to report in RV(versions), asked in the same query. They are
        not installed when missing.
      - A role reads the version of a program this way (the nginx role that of C(nginx-common), the apps role that of
        C(systemd)) instead of running it.
    type: list
    elements: str
    default: []
  update_cache:
    description: Passed to M(ansible.builtin.apt) when it runs.
    type: bool
    default: false
  cache_valid_time:
    description: Passed to M(ansible.builtin.apt) when it runs.
    type: int
    default: 0
notes:
  - Supports check mode (the query runs, apt in check mode reports what it would install).
  - The query only reads dpkg's database, also in check mode.
"""

EXAMPLES = r"""
- name: Install the nginx packages
  appmount.wsgi.packages:
    name: [nginx, ssl-cert]
    update_cache: true
    cache_valid_time: 3600
"""

RETURN = r"""
missing:
  description: The packages dpkg did not report installed; empty when apt did not run.
  type: list
  elements: str
  returned: always
versions:
  description:
    - The upstream part of the installed version (C(1.22.1) of C(1.22.1-9+deb12u2)) of each package of I(versions)
      that is installed. A package that is not installed, also one apt would install in check mode, is left out.
  type: dict
  returned: always
  sample: {"systemd": "252.39"}
"""
