"""Shared fixtures: the filter plugin loaded by file path (the collection is not installed as a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
APPS_FILTER_PATH = REPO_ROOT / "plugins" / "filter" / "apps.py"


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file at ``path`` as a module called ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None, f"cannot load {path}"
    assert spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def apps_filter() -> ModuleType:
    """``plugins/filter/apps.py`` as a module."""
    return load_module(APPS_FILTER_PATH, "appmount_wsgi_filter_apps")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def deploy_action() -> ModuleType:
    """``plugins/action/app_deploy.py`` (controller side) as a module."""
    return load_module(REPO_ROOT / "plugins" / "action" / "app_deploy.py", "appmount_wsgi_action_app_deploy")


@pytest.fixture(scope="session")
def deploy_module() -> ModuleType:
    """``plugins/modules/app_deploy.py`` (host side) as a module."""
    return load_module(REPO_ROOT / "plugins" / "modules" / "app_deploy.py", "appmount_wsgi_module_app_deploy")


@pytest.fixture(scope="session")
def health_module() -> ModuleType:
    """``plugins/modules/app_health.py`` as a module."""
    return load_module(REPO_ROOT / "plugins" / "modules" / "app_health.py", "appmount_wsgi_module_app_health")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print how many invalid app lists the validator refused (the count the issue asks the tests to print)."""
    refused = [r for r in terminalreporter.stats.get("passed", []) if "test_apps_errors_refuses" in r.nodeid]
    if refused:
        terminalreporter.write_line(f"refused-input cases: {len(refused)} invalid app lists refused, "
                                    "each naming the app and the field")
