"""Building one release's virtualenv three ways, side by side, in a bench container.

- `venv+pip`: `python3 -m venv` (ensurepip installs pip and setuptools) and the venv's pip (before this change);
- `wheel-pip`: `python3 -m venv --without-pip` and pip run from Debian's pip wheel (app_deploy's fallback,
  `apps_python_installer: pip`);
- `uv`: `uv venv` and `uv pip install --compile-bytecode` with the system's CA store, as app_deploy runs them (the
  default, `apps_python_installer: uv`; the role's uv version in a venv of its own; its cache warmed by a first build).

Each builds a venv with the bench app's packages from the same local wheels (pip's find-links, uv's find-links in
/etc/uv/uv.toml, the index still asked), `--rounds` times, interleaved; medians.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from container import Container

PACKAGES = "'flask>=3,<4'"
UV_VENV = "/opt/bench-uv"
PIP_WHEEL = "$(ls /usr/share/python-wheels/pip-*.whl | tail -n 1)"
METHODS = {
    "venv_pip": "python3 -m venv {d} && {d}/bin/pip install -q --disable-pip-version-check " + PACKAGES,
    "wheel_pip": (
        "python3 -m venv --without-pip {d} && {d}/bin/python " + PIP_WHEEL
        + "/pip install -q --disable-pip-version-check " + PACKAGES
    ),
    "uv": (
        # uv trusts the system's CA store only when told (the index is reached through a TLS-inspecting egress here)
        f"export UV_SYSTEM_CERTS=1 UV_NATIVE_TLS=1 && {UV_VENV}/bin/uv venv -q --python /usr/bin/python3 {{d}}"
        f" && {UV_VENV}/bin/uv pip install -q --compile-bytecode --python {{d}}/bin/python " + PACKAGES
    ),
}


def measure(box: Container, rounds: int, uv_version: str) -> dict[str, Any]:
    box.sh(f"python3 -m venv {UV_VENV} && {UV_VENV}/bin/pip install -q --disable-pip-version-check uv=={uv_version}",
           timeout=300)
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
