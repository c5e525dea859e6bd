"""Scenario `https`: the shared helpers live in tests/integration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "integration"))

from https_sites import https_apps  # noqa: E402


@pytest.fixture(scope="session")
def apps() -> List[Dict[str, Any]]:
    """The example apps as deployed by the converge playbook, each on its site."""
    return https_apps()
