"""Scenario `default`: the shared helpers live in tests/integration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "integration"))

from appmount_testinfra import example_apps  # noqa: E402


@pytest.fixture(scope="session")
def apps() -> List[Dict[str, Any]]:
    """The example apps as deployed by the converge playbook."""
    return example_apps()
