"""Scenario `lifecycle`: the shared helpers live in tests/integration."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests" / "integration"))

from appmount_testinfra import PROJECT  # noqa: E402

# per host, per zero-downtime case: the figures of its load (test_lifecycle.measure)
ZERO_DOWNTIME = pytest.StashKey[Dict[str, Dict[str, Dict[str, Any]]]]()


@pytest.fixture
def code(tmp_path: Path) -> Path:
    """A copy of examples/ this test alone edits (new releases, broken releases): every test starts from the code
    of the examples, whatever an earlier one changed in its own copy."""
    dest = tmp_path / "examples"
    shutil.copytree(PROJECT / "examples", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture
def zero_downtime(pytestconfig: pytest.Config) -> Dict[str, Dict[str, Dict[str, Any]]]:
    """Where the zero-downtime cases record their figures, printed together at the end of the run."""
    return pytestconfig.stash.setdefault(ZERO_DOWNTIME, {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    """The figures of every zero-downtime case that ran, whatever the order (the closing note quotes them)."""
    for name, results in config.stash.get(ZERO_DOWNTIME, {}).items():
        for label, result in sorted(results.items()):
            terminalreporter.write_line(f"ZERO-DOWNTIME SUMMARY {name} {label}: requests={result['requests']} "
                                        f"non_2xx={result['non_2xx']} slowest_ms={result['slowest_ms_by_path']}")
