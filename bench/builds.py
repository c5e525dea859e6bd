"""Building one release's virtualenv three ways, side by side, in a bench container.

- `venv+pip`: `python3 -m venv` (ensurepip installs pip and setuptools) and the venv's pip (before this change);
- `wheel-pip`: `python3 -m venv --without-pip` and pip run from Debian's pip wheel (what app_deploy does now);
- `uv`: `uv venv` and `uv pip install` (uv from PyPI in a venv of its own; its cache warmed by a first build).

Each builds a venv with the bench app's packages from the same local wheels (pip's find-links / uv's
--find-links, the index still asked), `--rounds` times, interleaved; medians. Not used by the roles: uv is
measured here only.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from container import Container

PACKAGES = "'flask>=3,<4'"
UV_VENV = "/opt/bench-uv"
WHEELHOUSE = "/root/.cache/pip/wheelhouse"
PIP_WHEEL = "$(ls /usr/share/python-wheels/pip-*.whl | tail -n 1)"
METHODS = {
    "venv_pip": "python3 -m venv {d} && {d}/bin/pip install -q --disable-pip-version-check " + PACKAGES,
    "wheel_pip": (
        "python3 -m venv --without-pip {d} && {d}/bin/python " + PIP_WHEEL
        + "/pip install -q --disable-pip-version-check " + PACKAGES
    ),
    "uv": (
        # uv trusts the system's CA bundle only when told (the index is reached through a TLS-inspecting egress here)
        f"export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt && {UV_VENV}/bin/uv venv -q --python /usr/bin/python3 {{d}}"
        f" && {UV_VENV}/bin/uv pip install -q --python {{d}}/bin/python --find-links {WHEELHOUSE} " + PACKAGES
    ),
}


def measure(box: Container, rounds: int) -> dict[str, Any]:
    box.sh(f"python3 -m venv {UV_VENV} && {UV_VENV}/bin/pip install -q --disable-pip-version-check uv", timeout=300)
    version = box.sh(f"{UV_VENV}/bin/uv --version").stdout.strip()
    box.sh(METHODS["uv"].format(d="/tmp/bench-build-warm"), timeout=300)  # uv's cache, as after a first build
    samples: dict[str, list[float]] = {name: [] for name in METHODS}
    for i in range(rounds):
        for name, script in METHODS.items():
            target = f"/tmp/bench-build-{name}-{i}"
            start = time.monotonic()
            box.sh(script.format(d=target), timeout=300)
            samples[name].append(round(time.monotonic() - start, 2))
            box.sh(f"{target}/bin/python -c 'import flask' && rm -rf {target}")
    return {
        "rounds": rounds,
        "uv_version": version,
        "median_s": {name: statistics.median(values) for name, values in samples.items()},
        "samples_s": samples,
    }
