"""Fleet: the same apps on 4 hosts against 1 host, in one bench run.

Five containers would not fit the point; the bench uses 4: host 1 alone first (converge, then the timed
idempotent run), then hosts 1-4 together (converge of the 3 new ones, then the timed idempotent run of all 4).
The inventory has no balancer, so site.yml deploys every app host in one batch (serial 100 %), with the
settings docs/fleet.md recommends (the repository's ansible.cfg: forks 20, pipelining).

CPU seconds of a run: the controller's (ansible-playbook and its forks: RUSAGE_CHILDREN around the process)
plus each host container's (its cgroup's CPU counter before and after), divided by the number of hosts.
"""

from __future__ import annotations

import glob
import resource
import subprocess
from pathlib import Path
from typing import Any, Callable

from container import BenchError, Container
from playbook import PlaybookRun, Runner, parse_recap, write_apps_file, write_inventory

HOSTS = 4


def cpu_ns(box: Container) -> int:
    """CPU time of every process of the container so far (cgroup v1 cpuacct or v2 cpu.stat)."""
    cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", box.name], capture_output=True, text=True, check=True).stdout.strip()
    for path in glob.glob(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage") + glob.glob(f"/sys/fs/cgroup/cpuacct/*/docker-{cid}.scope/cpuacct.usage"):
        return int(Path(path).read_text())
    for path in glob.glob(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat") + glob.glob(f"/sys/fs/cgroup/docker/{cid}/cpu.stat"):
        for line in Path(path).read_text().splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) * 1000
    raise BenchError(f"{box.name}: no CPU counter of its cgroup found")


def timed(runner: Runner, label: str, boxes: list[Container], inventory: Path, apps_file: Path, apps: int) -> tuple[PlaybookRun, dict[str, Any]]:
    before_ctl = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_hosts = [cpu_ns(b) for b in boxes]
    run = runner.run(label, boxes[0].name, inventory, apps_file, apps)
    after_ctl = resource.getrusage(resource.RUSAGE_CHILDREN)
    hosts_s = [(cpu_ns(b) - before) / 1e9 for b, before in zip(boxes, before_hosts)]
    controller_s = (after_ctl.ru_utime - before_ctl.ru_utime) + (after_ctl.ru_stime - before_ctl.ru_stime)
    cpu = {"controller_s": round(controller_s, 2), "hosts_s": [round(h, 2) for h in hosts_s],
           "per_host_s": round((controller_s + sum(hosts_s)) / len(boxes), 2)}
    return run, cpu


def measure(new_box: Callable[[str], Container], runner: Runner, workdir: Path, apps: int, log: Callable[[str], None]) -> dict[str, Any]:
    boxes = [new_box(f"fleet{i}") for i in range(1, HOSTS + 1)]
    apps_file = write_apps_file(workdir, apps)
    result: dict[str, Any] = {"apps_per_host": apps, "idempotent_s": {}, "cpu_s_per_host": {}, "cpu": {}, "changed": {}, "runs": []}
    for count in (1, HOSTS):
        group = boxes[:count]
        inventory = write_inventory(workdir, *[b.name for b in group])
        converge = runner.run(f"fleet-converge-{count}", group[0].name, inventory, apps_file, apps)
        result["runs"].append(converge.to_json())
        log(f"fleet-converge-{count:<3} {converge.seconds:8.1f} s  rc={converge.returncode}")
        if converge.returncode != 0:
            raise BenchError(f"fleet converge of {count} hosts failed: see {converge.log}")
        run, cpu = timed(runner, f"fleet-idempotent-{count}", group, inventory, apps_file, apps)
        result["runs"].append(run.to_json())
        output = Path(run.log).read_text()
        changed = [parse_recap(output, box.name).get("changed") for box in group]
        log(f"fleet-idempotent-{count:<3} {run.seconds:8.1f} s  rc={run.returncode}  changed={changed}  cpu {cpu}")
        if run.returncode != 0:
            raise BenchError(f"fleet idempotent run of {count} hosts failed: see {run.log}")
        result["idempotent_s"][str(count)] = run.seconds
        result["cpu_s_per_host"][str(count)] = cpu["per_host_s"]
        result["cpu"][str(count)] = cpu
        result["changed"][str(count)] = None if None in changed else max(changed)
    for box in boxes:
        box.remove()
    return result
