# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a release's virtualenv is made and gets its packages: uv, installed once per host with its cache shared by
the builds of every app, or pip (Debian's wheel), the fallback. Both use the system ``python3``."""

from __future__ import annotations

import configparser
import glob
import os
import shutil
import subprocess
from typing import NamedTuple

from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run

# Debian's pip wheel (python3-venv depends on it): run from the wheel, it installs into a venv created without pip,
# which saves ensurepip's install of pip and setuptools into every release (2.3 of 3.2 s for a Flask app)
PIP_WHEELS = "/usr/share/python-wheels/pip-*.whl"
PYTHON = "/usr/bin/python3"
# What tells pip where packages come from, or how to reach them; uv reads none of it, only its own files
PIP_CONFIGS = ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", "~/.config/pip/pip.conf", "~/.pip/pip.conf")
PIP_SOURCES = ("index-url", "extra-index-url", "find-links", "no-index", "proxy", "client-cert", "cert")
SYSTEM_CERTS = "/etc/ssl/certs/"  # a pip `cert` there is the system's CA store, which uv reads too
UV_CONFIGS = ("/etc/uv/uv.toml", "/etc/xdg/uv/uv.toml", "~/.config/uv/uv.toml")
UV_TIMEOUT_S = 600


class Installer(NamedTuple):
    """``uv`` is the path of uv's executable, None for pip; ``cache`` is uv's cache directory."""

    uv: str | None = None
    cache: str = ""

    def venv(self, venv: str) -> list[str]:
        if self.uv:
            return [self.uv, "venv", "--quiet", "--python", PYTHON, venv]
        return [PYTHON, "-m", "venv", "--without-pip", venv] if pip_wheel() else [PYTHON, "-m", "venv", venv]

    def install(self, venv: str, args: list[str]) -> list[str]:
        """Install ``args`` (``-r FILE`` or requirement specifiers) into ``venv``, bytecode compiled as pip does
        (the release is root's: the app's user could not write its ``__pycache__``)."""
        if self.uv:
            return [self.uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", f"{venv}/bin/python",
                    *args]
        wheel = pip_wheel()
        pip = [f"{venv}/bin/python", f"{wheel}/pip"] if wheel else [f"{venv}/bin/pip"]
        return [*pip, "install", "--quiet", "--disable-pip-version-check", *args]

    def env(self) -> dict[str, str] | None:
        """The environment of uv's commands: its shared cache, the system's CA store (here the index is reached
        through whatever the host trusts), never a Python of its own. None (the module's) for pip."""
        if not self.uv:
            return None
        return dict(os.environ, UV_CACHE_DIR=self.cache, UV_SYSTEM_CERTS="1", UV_NATIVE_TLS="1",
                    UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")


PIP = Installer()


def pip_wheel() -> str | None:
    wheels = sorted(glob.glob(PIP_WHEELS))
    return wheels[-1] if wheels else None


def pip_sources() -> str | None:
    """What says, for pip, where packages come from or how to reach them (a configuration file, or an environment
    variable of the module), when uv has no configuration of its own: uv would ignore it and use PyPI directly."""
    if any(os.path.exists(os.path.expanduser(path)) for path in UV_CONFIGS):
        return None
    for key in PIP_SOURCES:
        variable = "PIP_" + key.upper().replace("-", "_")
        if os.environ.get(variable) and not (key == "cert" and os.environ[variable].startswith(SYSTEM_CERTS)):
            return f"the environment variable {variable}"
    paths = [os.path.expanduser(path) for path in PIP_CONFIGS] + [os.environ.get("PIP_CONFIG_FILE") or ""]
    for path in filter(os.path.isfile, paths):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return path  # pip would refuse it too; uv would not look
        for section in parser.sections():
            for key, value in parser.items(section):
                key = key.replace("_", "-")
                if key in PIP_SOURCES and not (key == "cert" and value.strip().startswith(SYSTEM_CERTS)):
                    return path
    return None


def uv_installer(run: Run, tools: str, version: str) -> Installer:
    """uv ``version`` from ``tools``/uv-VERSION, installed there (from the host's package index, with Debian's pip)
    when missing; pip, with a warning, when uv cannot serve this host. Other versions of uv there are removed once
    this one is installed."""
    where = pip_sources()
    if where:
        run.warn(f"{where} tells pip where or how to get packages, and uv does not read it: releases are built with "
                 f"pip. Give uv the same settings in {UV_CONFIGS[0]}, or set apps_python_installer: pip.")
        return PIP
    home = f"{tools}/uv-{version}"
    uv = Installer(f"{home}/bin/uv", f"{tools}/cache")
    if os.access(uv.uv or "", os.X_OK):  # home appears only complete (renamed into place below)
        return uv
    os.makedirs(tools, 0o755, exist_ok=True)
    staging = f"{home}.new"
    shutil.rmtree(staging, ignore_errors=True)
    for argv in (PIP.venv(staging), PIP.install(staging, [f"uv=={version}"])):
        try:
            proc = run.run(argv, stdin=subprocess.DEVNULL, timeout=UV_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            proc = subprocess.CompletedProcess(argv, 1, "", str(exc))
        if proc.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            run.warn(f"uv {version} could not be installed in {home}: releases are built with pip.\n"
                     f"{(proc.stderr or proc.stdout).strip()}")
            return PIP
    shutil.rmtree(home, ignore_errors=True)
    os.rename(staging, home)
    for old in glob.glob(f"{tools}/uv-*"):  # other versions, once this one is in place
        if old != home:
            shutil.rmtree(old, ignore_errors=True)
    return uv
