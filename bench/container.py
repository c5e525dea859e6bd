"""Debian 12 systemd containers of the project's test image, for the bench only.

Every container is started with the `docker run` flags of scripts/demo.sh
(no published port: all bench traffic stays inside the container) plus the
bind mounts of the warm caches.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

IMAGE = "appmount-test/debian:12"
NAME_PREFIX = "appmount-bench"

# scripts/demo.sh's flags, minus `-p`: nothing outside the container talks to it.
RUN_FLAGS = [
    "--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--tmpfs", "/run", "--tmpfs", "/run/lock",
]  # fmt: skip


class BenchError(RuntimeError):
    """A bench step failed in a way that makes its measurement meaningless."""


@dataclass
class Container:
    name: str
    pip_cache: Path
    apt_cache: Path

    def start(self) -> None:
        if not self.name.startswith(NAME_PREFIX):
            raise BenchError(f"bench containers are named {NAME_PREFIX}*, not {self.name}")
        self.remove()
        subprocess.run(
            ["docker", "run", "-d", "--name", self.name, "--hostname", self.name, *RUN_FLAGS,
             "-v", f"{self.pip_cache}:/root/.cache/pip",
             "-v", f"{self.apt_cache}:/var/cache/apt/archives",
             IMAGE],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for _attempt in range(120):
            state = self.sh("systemctl is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.5)
        raise BenchError(f"{self.name}: systemd did not come up")

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    def sh(self, script: str, check: bool = True, timeout: float = 600, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a bash script inside the container as root."""
        proc = subprocess.run(
            ["docker", "exec", *(["-i"] if stdin is not None else []), "-e", "SYSTEMCTL_SKIP_REDIRECT=1",
             "-e", "DEBIAN_FRONTEND=noninteractive", self.name, "bash", "-c", script],
            input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise BenchError(f"{self.name}: `{script}` exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        return proc

    def write(self, path: str, text: str) -> None:
        self.sh(f"cat > '{path}'", stdin=text)

    def read(self, path: str) -> str:
        return self.sh(f"cat '{path}'").stdout

    def http_status(self, url: str) -> int:
        out = self.sh(f"curl -s -o /dev/null -m 5 -w '%{{http_code}}' '{url}'", check=False).stdout.strip()
        return int(out) if out.isdigit() else 0

    def wait_ok(self, url: str, tries: int = 60) -> None:
        """Wait until `url` answers 200 (bench URLs are on 127.0.0.1 inside the container)."""
        for _attempt in range(tries):
            if self.http_status(url) == 200:
                return
            time.sleep(0.5)
        raise BenchError(f"{self.name}: {url} does not answer 200")
