"""uv builds a release's venv when it can, installed once per host with a cache every app shares; pip otherwise."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.appmount.wsgi.plugins.module_utils import build, installer
from ansible_collections.appmount.wsgi.plugins.module_utils.build import Builder
from ansible_collections.appmount.wsgi.plugins.module_utils.installer import PIP, Installer, pip_sources, uv_installer
from ansible_collections.appmount.wsgi.plugins.module_utils.releases import Settings, build_release
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run


@pytest.fixture
def configs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip's and uv's configuration files live in ``tmp_path/etc`` (none exists at first); no PIP_ variable is set."""
    etc = tmp_path / "etc"
    (etc / "uv").mkdir(parents=True)
    monkeypatch.setattr(installer, "PIP_CONFIGS", (str(etc / "pip.conf"), str(etc / "xdg-pip.conf")))
    monkeypatch.setattr(installer, "UV_CONFIGS", (str(etc / "uv" / "uv.toml"), str(etc / "xdg-uv.toml")))
    for variable in [name for name in os.environ if name.startswith("PIP_")]:
        monkeypatch.delenv(variable)
    return etc


def recorder(run: Run, monkeypatch: pytest.MonkeyPatch, fails: str = "") -> list[tuple[list[str], Any]]:
    """``run.run`` records each command and its environment; a command that contains ``fails`` fails."""
    calls: list[tuple[list[str], Any]] = []

    def record(argv: list[str], **kwargs: Any) -> Any:
        calls.append((argv, kwargs.get("env")))
        failed = bool(fails) and any(fails in arg for arg in argv)
        if "venv" in argv and not failed:  # the venv exists afterwards
            os.makedirs(argv[-1], exist_ok=True)
        return subprocess.CompletedProcess(argv, 1 if failed else 0, "", "no such version" if failed else "")

    monkeypatch.setattr(run, "run", record)
    return calls


def test_uv_builds_with_the_system_python_its_shared_cache_and_the_systems_cas() -> None:
    uv = Installer("/srv/appmount/.uv/uv-0.13.9/bin/uv", "/srv/appmount/.uv/cache")
    assert uv.venv("/r/venv") == [uv.uv, "venv", "--quiet", "--python", "/usr/bin/python3", "/r/venv"]
    assert uv.install("/r/venv", ["-r", "/r/code/requirements.txt"]) == [
        uv.uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", "/r/venv/bin/python", "-r",
        "/r/code/requirements.txt"]
    env = uv.env()
    assert env is not None and env["UV_CACHE_DIR"] == "/srv/appmount/.uv/cache"
    assert env["UV_SYSTEM_CERTS"] == env["UV_NATIVE_TLS"] == "1" and env["UV_PYTHON_DOWNLOADS"] == "never"
    assert env["PATH"] == os.environ["PATH"]
    assert PIP.env() is None  # pip runs with the module's environment


def test_a_release_built_with_uv(new_run: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = new_run()
    app = {"name": "blog", "home": str(tmp_path / "blog"), "code": {"kind": "none"}, "packages": ["flask"],
           "module": "app:app", "hooks": [], "requirements": None, "files": []}
    (tmp_path / "blog" / "releases").mkdir(parents=True)
    calls = recorder(run, monkeypatch, fails="flask")
    uv = Installer(str(tmp_path / "uv"), str(tmp_path / "cache"))
    assert build_release(run, app, "r1", "none", Settings("", ""), uv) is False  # the install failed
    venv = str(tmp_path / "blog" / "releases" / "r1" / "venv")
    assert [argv for argv, _env in calls] == [uv.venv(venv), uv.install(venv, ["flask"])]
    assert all(env is not None and env["UV_CACHE_DIR"] == uv.cache for _argv, env in calls)
    assert run.errors[0].startswith("blog: uv could not build the new release (pip install")
    assert "no such version" in run.errors[0]


def test_uv_already_there_is_used_as_it_is(new_run: Callable[..., Run], tmp_path: Path, configs: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "tools" / "uv-0.13.9" / "bin" / "uv"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    run = new_run()
    calls = recorder(run, monkeypatch)
    assert uv_installer(run, str(tmp_path / "tools"), "0.13.9") == Installer(str(binary), str(tmp_path / "tools/cache"))
    assert calls == [] and run.warnings == []


def test_a_missing_uv_is_installed_and_other_versions_go(new_run: Callable[..., Run], tmp_path: Path, configs: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    tools = tmp_path / "tools"
    (tools / "uv-0.1.0" / "bin").mkdir(parents=True)
    monkeypatch.setattr(installer, "PIP_WHEELS", str(tmp_path / "pip-*.whl"))
    (tmp_path / "pip-23.0.1-py3-none-any.whl").write_text("")
    run = new_run()
    calls = recorder(run, monkeypatch)
    home = str(tools / "uv-0.13.9")
    assert uv_installer(run, str(tools), "0.13.9") == Installer(f"{home}/bin/uv", f"{tools}/cache")
    assert [argv for argv, _env in calls] == [  # built beside, then renamed into place
        ["/usr/bin/python3", "-m", "venv", "--without-pip", f"{home}.new"],
        [f"{home}.new/bin/python", f"{tmp_path}/pip-23.0.1-py3-none-any.whl/pip", "install", "--quiet",
         "--disable-pip-version-check", "uv==0.13.9"]]
    assert sorted(os.listdir(tools)) == ["uv-0.13.9"]


def test_uv_that_cannot_be_installed_leaves_pip_with_a_warning(new_run: Callable[..., Run], tmp_path: Path,
                                                               configs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = tmp_path / "tools"
    (tools / "uv-0.1.0" / "bin").mkdir(parents=True)  # another version, kept until a new one is in place
    run = new_run()
    recorder(run, monkeypatch, fails="uv==")
    assert uv_installer(run, str(tools), "0.13.9") is PIP
    assert sorted(os.listdir(tools)) == ["uv-0.1.0"]
    assert run.warnings[0].startswith("uv 0.13.9 could not be installed in ") and "no such version" in run.warnings[0]
    assert run.errors == [] and not run.changed


@pytest.mark.parametrize("text, uses_pip", [
    ("[global]\nindex-url = https://pypi.example.org/simple\n", True),
    ("[global]\nindex_url = https://pypi.example.org/simple\n", True),
    ("[install]\nfind-links = /srv/wheels\n", True),
    ("[global]\nproxy = http://proxy.example.org:3128\n", True),
    ("[global]\ncert = /srv/private-ca.pem\n", True),
    ("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\ntimeout = 60\n", False),
    ("not an ini file\n", True),
])
def test_a_pip_configuration_that_names_a_source_keeps_pip(new_run: Callable[..., Run], tmp_path: Path, configs: Path,
                                                           monkeypatch: pytest.MonkeyPatch, text: str,
                                                           uses_pip: bool) -> None:
    """uv would ignore pip's index settings and fetch from PyPI: pip builds, unless uv has a configuration too."""
    (configs / "xdg-pip.conf").write_text(text)
    run = new_run()
    recorder(run, monkeypatch)
    assert (uv_installer(run, str(tmp_path / "tools"), "0.13.9") is PIP) is uses_pip
    assert (pip_sources() == str(configs / "xdg-pip.conf")) is uses_pip
    if uses_pip:
        assert run.warnings == [f"{configs}/xdg-pip.conf tells pip where or how to get packages, and uv does not "
                                f"read it: releases are built with pip. Give uv the same settings in "
                                f"{configs}/uv/uv.toml, or set apps_python_installer: pip."]
    (configs / "xdg-uv.toml").write_text('index-url = "https://pypi.example.org/simple"\n')
    assert pip_sources() is None


def test_pip_settings_in_the_environment_keep_pip(configs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pip_sources() is None
    monkeypatch.setenv("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt")  # the system's store: uv reads it too
    assert pip_sources() is None
    monkeypatch.setenv("PIP_INDEX_URL", "https://pypi.example.org/simple")
    assert pip_sources() == "the environment variable PIP_INDEX_URL"
    monkeypatch.delenv("PIP_INDEX_URL")
    (configs / "elsewhere.conf").write_text("[global]\nfind-links = /srv/wheels\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(configs / "elsewhere.conf"))
    assert pip_sources() == str(configs / "elsewhere.conf")


def test_uv_is_looked_for_only_when_something_is_built(new_run: Callable[..., Run], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(build, "uv_installer", lambda run, tools, version: asked.append((tools, version)) or PIP)
    builder = Builder(new_run(), uv=(str(tmp_path / "tools"), "0.13.9"))
    assert builder.build_all([]) == [] and asked == []
    monkeypatch.setattr(build, "build_release", lambda *args: args[-1] is PIP)
    app = {"name": "blog", "home": str(tmp_path / "blog")}
    assert builder.build_all([(app, "r1", "c", Settings("", ""))]) == [True]  # type: ignore[list-item]
    assert asked == [(str(tmp_path / "tools"), "0.13.9")]
    assert Builder(new_run()).installer() is PIP
