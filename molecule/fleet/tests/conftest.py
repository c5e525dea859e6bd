"""Scenario `fleet`: the shared helpers live in tests/integration."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "integration"))

from appmount_testinfra import PROJECT


@pytest.fixture
def code(tmp_path: Path) -> Path:
    """A copy of the test apps this test alone edits (a new release, a broken release)."""
    dest = tmp_path / "apps"
    shutil.copytree(PROJECT / "tests" / "integration" / "apps", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest
