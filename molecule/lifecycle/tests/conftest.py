"""Scenario `lifecycle`: the shared helpers live in tests/integration."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "integration"))

from appmount_testinfra import PROJECT  # noqa: E402


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of examples/ the tests may edit (new releases, broken releases)."""
    dest = tmp_path_factory.mktemp("examples") / "examples"
    shutil.copytree(PROJECT / "examples", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest
