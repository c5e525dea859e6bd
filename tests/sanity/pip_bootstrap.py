# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for get-pip.py, used by ansible-test to put pip into its sanity virtualenvs.

ansible-test creates each sanity virtualenv without pip, then runs a get-pip.py it downloads from
ci-files.testing.ansible.com, which CI cannot reach. tests/sanity/run.sh installs this file in that
download's cache slot (~/.ansible/test/cache/get_pip_VERSION.py). It does the same job with what
Python ships and the package index: Python's bundled pip (ensurepip, no network), then
``pip install`` with the arguments ansible-test passes (e.g. ``pip==24.2``).
"""

from __future__ import annotations

import subprocess
import sys

# Options of get-pip.py itself; pip install does not know them.
GET_PIP_OPTIONS = ("--no-setuptools", "--no-wheel")


def main(argv: list[str]) -> int:
    """Bootstrap pip, install the requested packages, drop setuptools when asked to."""
    # In a child process: ensurepip points PIP_CONFIG_FILE at /dev/null in its own environment, which
    # would hide the machine's pip configuration (index, proxy CA) from the pip install below.
    status = subprocess.call([sys.executable, "-m", "ensurepip"], stdout=subprocess.DEVNULL)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    if status == 0:
        status = subprocess.call(pip + ["install", "--quiet"] + [arg for arg in argv if arg not in GET_PIP_OPTIONS])
    if status == 0 and "--no-setuptools" in argv:
        status = subprocess.call(pip + ["uninstall", "--quiet", "--yes", "setuptools"])
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
