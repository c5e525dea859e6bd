"""Memory of the apps, and scale to zero (idle_timeout), inside one bench container.

Memory is the PSS (proportional set size, /proc/PID/smaps_rollup) summed over an app's processes: pages shared
between a uWSGI master and its workers count once in total, as they cost the host. RSS is recorded beside it.
An app's processes are its unit's main process (the uWSGI master of appmount-app@NAME.service) and its
descendants, so the hand-started uWSGI and gunicorn instances of the serving runs, which run as the same user,
are not counted.
"""

from __future__ import annotations

import json
import time
from typing import Any

from container import BenchError, Container

# per unit (its main process and descendants) or pid list: PSS and RSS in kB, and the number of processes
SUM_SCRIPT = r"""
import json, os, subprocess, sys
def children():
    kids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    kids.setdefault(int(fh.read().rsplit(")", 1)[1].split()[1]), []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return kids
def tree(pid, kids):
    return [pid] + [p for child in kids.get(pid, []) for p in tree(child, kids)]
def pids_of(spec, kids):
    if spec.startswith("pids:"):
        return [int(p) for p in spec[5:].split(",") if p]
    # unit:NAME - the main process of a service and its descendants
    main = int(subprocess.run(["systemctl", "show", "-P", "MainPID", spec[5:]], capture_output=True, text=True).stdout or 0)
    return tree(main, kids) if main else []
kids = children()
out = {}
for spec in sys.argv[1:]:
    pss = rss = n = 0
    for pid in pids_of(spec, kids):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
            n += 1
        except OSError:
            pass
    out[spec] = {"pss_kb": pss, "rss_kb": rss, "processes": n}
print(json.dumps(out))
"""


def usage(box: Container, specs: list[str]) -> dict[str, dict[str, int]]:
    """PSS/RSS (kB) and process count per `unit:NAME.service` or `pids:1,2,3`."""
    proc = box.sh("python3 - " + " ".join(f"'{s}'" for s in specs), stdin=SUM_SCRIPT)
    result: dict[str, dict[str, int]] = json.loads(proc.stdout)
    return result


def app_unit(name: str) -> str:
    return f"unit:appmount-app@{name}.service"


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def apps_usage(box: Container, names: list[str]) -> dict[str, Any]:
    per = usage(box, [app_unit(n) for n in names])
    pss = sum(v["pss_kb"] for v in per.values())
    rss = sum(v["rss_kb"] for v in per.values())
    return {"pss_mb": _mb(pss), "rss_mb": _mb(rss), "processes": sum(v["processes"] for v in per.values())}


def one_app(box: Container, name: str, url: str) -> dict[str, Any]:
    """One deployed app's memory after a request."""
    box.wait_ok(url)
    return apps_usage(box, [name])


def gunicorn(box: Container, pidfile: str, url: str) -> dict[str, Any]:
    """The serving runs' gunicorn (master + workers) after a request."""
    box.wait_ok(url)
    master = box.read(pidfile).strip()
    pids = box.sh(f"echo {master}; pgrep -P {master}").stdout.split()
    spec = "pids:" + ",".join(pids)
    used = usage(box, [spec])[spec]
    return {"pss_mb": _mb(used["pss_kb"]), "rss_mb": _mb(used["rss_kb"]), "processes": used["processes"]}


def touch_all(box: Container, names: list[str]) -> list[str]:
    """One request to each app; the apps that did not answer 200, with what they answered."""
    script = "; ".join(f"curl -s -o /dev/null -m 30 -w '%{{http_code}}\\n' http://127.0.0.1/{n}/" for n in names)
    codes = box.sh(script, timeout=600).stdout.split()
    return [f"{name}: {code}" for name, code in zip(names, codes) if code != "200"]


def active(box: Container, names: list[str]) -> int:
    units = " ".join(f"appmount-app@{n}.service" for n in names)
    states = box.sh(f"systemctl show -P ActiveState {units}").stdout.split()
    return sum(1 for s in states if s != "inactive")


def wait_idle(box: Container, names: list[str], timeout: float) -> float:
    """Seconds until every app's service is inactive (scaled to zero)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if active(box, names) == 0:
            return round(time.monotonic() - start, 1)
        time.sleep(1)
    raise BenchError(f"{box.name}: {active(box, names)} of {len(names)} apps still run {timeout:.0f} s after their "
                     "idle timeout should have stopped them")


def cold_starts(box: Container, names: list[str]) -> list[dict[str, Any]]:
    """The first request to each idle app, one after another: status and seconds to the whole answer."""
    result = []
    for name in names:
        out = box.sh(f"curl -s -o /dev/null -m 30 -w '%{{http_code}} %{{time_total}}' http://127.0.0.1/{name}/",
                     check=False).stdout.split()
        status, seconds = (int(out[0]), float(out[1])) if len(out) == 2 else (0, 30.0)
        result.append({"app": name, "status": status, "seconds": round(seconds, 3)})
    return result
