"""A test app that reports, from inside its unit, what its environment, sandbox and limits let it do.

GET /env          the process environment as JSON
GET /sandbox      one entry per probe: what the app could do ("allowed") or what stopped it
GET /limits       the cgroup limits the kernel applies to the app's unit
GET /alloc?mb=N   allocate N MiB and keep it (the memory limit kills the worker)
GET /threads?n=N  start N sleeping threads, report how many could start (the task limit stops them)
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import socket
import threading
import time
from typing import Any, Callable, Dict, Iterable, List

if os.environ.get("PROBE_FAIL_IMPORT"):
    raise RuntimeError("PROBE_FAIL_IMPORT is set: this environment does not import")

HOLD: List[bytearray] = []
SYS_SYSFS = 139  # x86_64: an obsolete syscall any user may call, outside @system-service


def attempt(action: Callable[[], Any]) -> str:
    try:
        action()
    except OSError as err:
        return f"denied: {err.strerror or err}"
    return "allowed"


def write(path: str) -> Callable[[], None]:
    def go() -> None:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(os.environ.get("APPMOUNT_APP", "?") + "\n")
    return go


def syscall_sysfs() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(SYS_SYSFS, 3) < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def wx_memory() -> None:
    mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC).close()


def listing(path: str) -> List[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def sandbox() -> Dict[str, Any]:
    name = os.environ.get("APPMOUNT_APP", "probe")
    me = os.getuid()
    visible = [p for p in os.listdir("/proc") if p.isdigit()]
    others = []
    for pid in visible:
        try:
            if os.stat(f"/proc/{pid}").st_uid != me:
                others.append(pid)
        except OSError:
            continue
    umask_file = os.path.join(os.environ["APPMOUNT_DATA_DIR"], "umask-probe")
    if os.path.exists(umask_file):  # a new file each time: its mode comes from the umask
        os.unlink(umask_file)
    write(umask_file)()
    with open("/proc/self/status", encoding="utf-8") as handle:
        no_new_privs = [line.split()[1] for line in handle if line.startswith("NoNewPrivs:")][0]
    return {
        "write_world_writable_dir": attempt(write("/srv/appmount-probe-rw/" + name)),
        "write_tmp": attempt(write(f"/tmp/probe-{name}")),
        "write_var_tmp": attempt(write(f"/var/tmp/probe-{name}")),
        "write_dev_shm": attempt(write(f"/dev/shm/probe-{name}")),
        "list_home": attempt(lambda: os.listdir("/home")),
        "netlink_socket": attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0).close()),
        "obsolete_syscall": attempt(syscall_sysfs),
        "wx_memory": attempt(wx_memory),
        "tmp": listing("/tmp") + listing("/var/tmp") + listing("/dev/shm"),
        "processes_of_other_users": len(others),
        "dev": sorted(os.listdir("/dev")),
        "no_new_privs": no_new_privs,
        "new_file_mode": oct(os.stat(umask_file).st_mode & 0o777),
    }


def limits() -> Dict[str, str]:
    paths = {}
    with open("/proc/self/cgroup", encoding="utf-8") as handle:
        for line in handle:
            _id, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(","):
                paths[controller or "unified"] = path
    files = {"memory": ("memory", "memory.limit_in_bytes"), "tasks": ("pids", "pids.max"),
             "cpu_quota_us": ("cpu", "cpu.cfs_quota_us")}
    v2 = {"memory": "memory.max", "tasks": "pids.max", "cpu_quota_us": "cpu.max"}
    result = {}
    for key, (controller, filename) in files.items():
        for candidate in (f"/sys/fs/cgroup/{controller}{paths.get(controller, '')}/{filename}",
                          f"/sys/fs/cgroup{paths.get('unified', '')}/{v2[key]}"):
            try:
                with open(candidate, encoding="utf-8") as handle:
                    result[key] = handle.read().strip()
                break
            except OSError:
                continue
    return result


def start_threads(count: int) -> int:
    started = 0
    while started < count:
        try:
            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        except RuntimeError:  # can't start new thread: the unit's TasksMax
            break
        started += 1
    return started


def application(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
    if path == "/env":
        body: Any = dict(os.environ)
    elif path == "/sandbox":
        body = sandbox()
    elif path == "/limits":
        body = limits()
    elif path == "/alloc":
        # every page written, so the memory is really used (a zeroed bytearray may not be)
        HOLD.append(bytearray(b"\x01") * (int(query.get("mb", "1")) * 1024 * 1024))
        body = {"held_mb": sum(len(b) for b in HOLD) // (1024 * 1024)}
    elif path == "/threads":
        body = {"started": start_threads(int(query.get("n", "1")))}
    else:
        body = {"app": os.environ.get("APPMOUNT_APP"), "pid": os.getpid()}
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
