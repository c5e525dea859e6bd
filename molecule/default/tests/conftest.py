"""Testinfra helpers: every check runs inside the containers (docker backend)."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pytest
import testinfra.utils.ansible_runner
import yaml


def molecule_hosts() -> List[str]:
    """The scenario's containers, reached with testinfra's docker backend."""
    runner = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
    return [f"docker://{name}" for name in runner.get_hosts("appmount")]


@dataclass
class Response:
    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


def http(host: Any, path: str, method: str = "GET", data: Optional[str] = None, jar: Optional[str] = None) -> Response:
    """One request to nginx on the container's loopback, redirects not followed."""
    cmd = ["curl", "-sS", "-i", "--max-time", "20", "-X", method]
    if data is not None:
        cmd += ["--data", data]
    if jar is not None:
        cmd += ["-b", jar, "-c", jar]
    cmd.append(f"http://127.0.0.1{path}")
    out = host.check_output(shlex.join(cmd))
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    status_line, *lines = head.split("\n")
    headers = {}
    for line in lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    return Response(int(status_line.split()[1]), headers, body)


@pytest.fixture(scope="session")
def apps() -> List[Dict[str, Any]]:
    """The example apps as deployed by the converge playbook."""
    path = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "examples", "apps.yml")
    with open(path, encoding="utf-8") as handle:
        return list(yaml.safe_load(handle)["appmount_apps"])
