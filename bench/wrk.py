"""Run wrk inside a bench container against 127.0.0.1 and parse its output."""

from __future__ import annotations

import os
import re
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Protocol

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
LATENCY_RE = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
TOTAL_RE = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
NON2XX_RE = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
TICKS_RE = re.compile(r"^SERVER_TICKS (\d+) (\d+) (\d+)$", re.MULTILINE)
# user+system clock ticks of every nginx, uwsgi and gunicorn process in the container
CPU_TICKS = (
    "cpu_ticks() { cat $(pgrep -x 'nginx|uwsgi|gunicorn' | sed 's#.*#/proc/&/stat#') 2>/dev/null"
    " | awk '{s += $14 + $15} END {print s + 0}'; }"
)
SOCKET_RE = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


class Shell(Protocol):
    def sh(self, script: str, check: bool = ..., timeout: float = ..., stdin: str | None = ...) -> Any:
        ...


@dataclass(frozen=True)
class Load:
    """A bounded wrk run: fixed threads, connections and duration, after a warmup run."""

    threads: int = 2
    connections: int = 32
    duration_s: int = 10
    warmup_s: int = 2


@dataclass
class WrkResult:
    url: str
    rps: float
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    host_load1: float = 0.0  # the host's 1-minute load average right after the run (2 cores)
    # CPU time of the server processes (nginx, uwsgi, gunicorn) per request: unlike
    # req/s, this hardly depends on what else runs on the (shared) host
    server_cpu_us_per_req: float = float("nan")

    @property
    def errors(self) -> int:
        """Responses that were not 2xx/3xx plus socket errors (connect, read, write, timeout)."""
        return self.non_2xx + self.socket_errors

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"errors": self.errors}


def parse(output: str, url: str) -> WrkResult:
    rps = RPS_RE.search(output)
    total = TOTAL_RE.search(output)
    if not rps or not total:
        raise ValueError(f"no wrk result in:\n{output}")
    latency = {pct: float(value) * UNITS_MS[unit] for pct, value, unit in LATENCY_RE.findall(output)}
    non_2xx = NON2XX_RE.search(output)
    sockets = SOCKET_RE.search(output)
    return WrkResult(
        url=url,
        rps=round(float(rps.group(1)), 1),
        p50_ms=round(latency.get("50", float("nan")), 3),
        p75_ms=round(latency.get("75", float("nan")), 3),
        p90_ms=round(latency.get("90", float("nan")), 3),
        p99_ms=round(latency.get("99", float("nan")), 3),
        requests=int(total.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def run(box: Shell, url: str, load: Load) -> WrkResult:
    """Warm up, then measure `url` (always a 127.0.0.1 URL inside the container)."""
    if not url.startswith("http://127.0.0.1"):
        raise ValueError(f"wrk only targets 127.0.0.1 inside the bench container, not {url}")
    base = f"wrk -t{load.threads} -c{load.connections} --timeout 5s"
    if load.warmup_s > 0:
        box.sh(f"{base} -d{load.warmup_s}s '{url}'", timeout=load.warmup_s + 30)
    measured = f"{base} -d{load.duration_s}s --latency '{url}'"
    out = box.sh(f"{CPU_TICKS}; a=$(cpu_ticks); {measured}; echo SERVER_TICKS $a $(cpu_ticks) $(getconf CLK_TCK)", timeout=load.duration_s + 30).stdout
    result = parse(out, url)
    result.host_load1 = round(os.getloadavg()[0], 2)
    ticks = TICKS_RE.search(out)
    if ticks and result.requests:
        before, after, hz = (int(x) for x in ticks.groups())
        result.server_cpu_us_per_req = round((after - before) / hz * 1e6 / result.requests, 1)
    return result


def summarize(samples: list[WrkResult]) -> dict[str, Any]:
    """The median of repeated runs of one URL (rps, p50, p99), all errors summed, and every sample."""
    return {
        "url": samples[0].url,
        "rps": round(statistics.median(s.rps for s in samples), 1),
        "p50_ms": round(statistics.median(s.p50_ms for s in samples), 3),
        "p99_ms": round(statistics.median(s.p99_ms for s in samples), 3),
        "errors": sum(s.errors for s in samples),
        "non_2xx": sum(s.non_2xx for s in samples),
        "socket_errors": sum(s.socket_errors for s in samples),
        "rounds": len(samples),
        "rps_min": min(s.rps for s in samples),
        "rps_max": max(s.rps for s in samples),
        "server_cpu_us_per_req": round(statistics.median(s.server_cpu_us_per_req for s in samples), 1),
        "samples": [s.to_json() for s in samples],
    }
