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


FLOOR_PLAYBOOK = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: One round trip\n      ansible.builtin.ping:\n"


def bench_apps(count: int, idle_timeout: int = 0) -> list[dict[str, Any]]:
    """`count` copies of bench/app under /b1 ... /bN (names b1 ... bN); scaled to zero after `idle_timeout` s."""
    return [
        {
            "name": f"b{i}",
            "mount": f"/b{i}",
            "module": "app:app",
            "source": {"path": "app"},
            "packages": ["flask>=3,<4"],
            "static": [{"url": "/static", "path": "static"}],
        }
        | ({"idle_timeout": idle_timeout} if idle_timeout else {})
        for i in range(1, count + 1)
    ]


def write_apps_file(directory: Path, count: int, idle_timeout: int = 0) -> Path:
    path = directory / f"apps-{count}{f'-idle{idle_timeout}' if idle_timeout else ''}.yml"
    path.write_text("---\n" + yaml.safe_dump({"appmount_apps": bench_apps(count, idle_timeout)}, sort_keys=False))
    return path


def write_inventory(directory: Path, *hosts: str, connection: str = "community.docker.docker") -> Path:
    """The hosts over the docker connection (Mitogen's strategy accelerates the short name `docker` only)."""
    path = directory / f"inventory-{hosts[0]}-{len(hosts)}-{connection.rsplit('.', 1)[-1]}{'-short' if '.' not in connection else ''}.yml"
    inventory = {
        "appmount": {
            "hosts": {
                host: {
                    "ansible_connection": connection,
                    "ansible_python_interpreter": "/usr/bin/python3",
                    "ansible_become": False,
                }
                for host in hosts
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

    def floor(self, label: str, host: str, inventory: Path, extra_env: dict[str, str] | None = None) -> PlaybookRun:
        """Ansible's floor on this host: a playbook of one task (ping), no facts, same ansible.cfg and connection."""
        playbook = inventory.parent / "floor.yml"
        playbook.write_text(FLOOR_PLAYBOOK)
        return self.run(label, host, inventory, None, 0, str(playbook), extra_env)

    def run(self, label: str, host: str, inventory: Path, apps_file: Path | None, apps: int,
            playbook: str = "playbooks/site.yml", extra_env: dict[str, str] | None = None) -> PlaybookRun:
        cmd = [str(self.venv_bin / "ansible-playbook"), playbook, "-i", str(inventory)]
        if apps_file is not None:
            cmd += ["-e", f"@{apps_file}", "-e", f"apps_source_dir={self.apps_source_dir}"]
        env = os.environ | {
            "ANSIBLE_CONFIG": str(self.source_root / "ansible.cfg"),
            "PATH": f"{self.venv_bin}:{os.environ.get('PATH', '')}",
            "ANSIBLE_NOCOLOR": "1",
            # per-task wall times in the log and a summary of the slowest tasks (output only)
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
            "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "8",
        } | (extra_env or {})
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
