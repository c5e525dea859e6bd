"""Scenario `upgrade`: the shared helpers live in tests/integration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "integration"))

from appmount_testinfra import PROJECT  # noqa: E402

# the last commit before the apps ran as systemd units (Debian's init script and the polling watchdog)
PREVIOUS = "2d4e052"


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout of the collection at PREVIOUS (git archive of this repository's history)."""
    dest = tmp_path_factory.mktemp("previous")
    archive = subprocess.run(["git", "-C", str(PROJECT), "archive", PREVIOUS], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest
