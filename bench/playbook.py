"""Generate the bench apps file and inventory, run site.yml, time it, parse its PLAY RECAP."""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

# profile_tasks' summary lines: "role : Task name ------------------ 12.34s"
TASK_TIME_RE = re.compile(r"^(?P<task>\S.*?) -{3,} (?P<seconds>\d+\.\d+)s$", re.MULTILINE)
RECAP_RE = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.MULTILINE,
)


@dataclass
class PlaybookRun:
    label: str
    apps: int
    seconds: float
    returncode: int
    recap: dict[str, int] = field(default_factory=dict)
    log: str = ""
    host_load1: float = 0.0  # the host's 1-minute load average at the end of the run (2 cores)
    slowest_tasks: list[tuple[str, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.recap) and self.recap.get("failed", 1) == 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


def parse_recap(output: str, host: str) -> dict[str, int]:
    """The counts of `host` in the last PLAY RECAP of an ansible-playbook output."""
    counts: dict[str, int] = {}
    for match in RECAP_RE.finditer(output):
        if match.group("host") == host:
            counts = {k: int(v) for k, v in match.groupdict().items() if k != "host"}
    return counts


def parse_slowest(output: str) -> list[tuple[str, float]]:
    """The slowest tasks from profile_tasks' summary at the end of the output."""
    tail = output[output.rfind("PLAY RECAP") :] if "PLAY RECAP" in output else output
    return [(m.group("task"), float(m.group("seconds"))) for m in TASK_TIME_RE.finditer(tail)]


def bench_apps(count: int) -> list[dict[str, Any]]:
    """`count` copies of bench/app under /b1 ... /bN (names b1 ... bN)."""
    return [
        {
            "name": f"b{i}",
            "mount": f"/b{i}",
            "module": "app:app",
            "source": {"path": "app"},
            "packages": ["flask>=3,<4"],
            "static": [{"url": "/static", "path": "static"}],
        }
        for i in range(1, count + 1)
    ]


def write_apps_file(directory: Path, count: int) -> Path:
    path = directory / f"apps-{count}.yml"
    path.write_text("---\n" + yaml.safe_dump({"appmount_apps": bench_apps(count)}, sort_keys=False))
    return path


def write_inventory(directory: Path, host: str) -> Path:
    path = directory / f"inventory-{host}.yml"
    inventory = {
        "appmount": {
            "hosts": {
                host: {
                    "ansible_connection": "community.docker.docker",
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "ansible_become": False,
                }
            }
        }
    }
    path.write_text("---\n" + yaml.safe_dump(inventory, sort_keys=False))
    return path


@dataclass
class Runner:
    """Runs site.yml of the collection checkout at `source_root` with its ansible.cfg."""

    source_root: Path
    venv_bin: Path
    apps_source_dir: Path
    log_dir: Path
    timeout_s: float = 2400

    def run(self, label: str, host: str, inventory: Path, apps_file: Path, apps: int) -> PlaybookRun:
        cmd = [
            str(self.venv_bin / "ansible-playbook"), "playbooks/site.yml", "-i", str(inventory),
            "-e", f"@{apps_file}", "-e", f"apps_source_dir={self.apps_source_dir}",
        ]  # fmt: skip
        env = os.environ | {
            "ANSIBLE_CONFIG": str(self.source_root / "ansible.cfg"),
            "PATH": f"{self.venv_bin}:{os.environ.get('PATH', '')}",
            "ANSIBLE_NOCOLOR": "1",
            # per-task wall times in the log and a summary of the slowest tasks (output only)
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
            "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "8",
        }
        log = self.log_dir / f"{label}.log"
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=self.source_root, env=env, capture_output=True, text=True, timeout=self.timeout_s, check=False)
            output, returncode = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            partial = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            output, returncode = f"{partial}\nTIMEOUT after {self.timeout_s}s", -1
        seconds = time.monotonic() - start
        log.write_text(output)
        return PlaybookRun(label, apps, round(seconds, 2), returncode, parse_recap(output, host), str(log), round(os.getloadavg()[0], 2), parse_slowest(output))
