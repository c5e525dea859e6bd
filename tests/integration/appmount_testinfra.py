"""Shared testinfra helpers of the Molecule scenarios.

Every HTTP check runs inside the containers (testinfra's docker backend, curl
on the container's loopback); playbooks run from the controller against the
scenario's inventory, exactly as a user runs them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import testinfra
import testinfra.utils.ansible_runner
import yaml

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[2]))
LOAD_TOOL = PROJECT / "tests" / "tools" / "load.py"


def molecule_names() -> List[str]:
    """The scenario's containers (inventory group `appmount`)."""
    runner = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
    return list(runner.get_hosts("appmount"))


def molecule_hosts() -> List[str]:
    """The containers as testinfra host specs (docker backend)."""
    return [f"docker://{name}" for name in molecule_names()]


def get_host(name: str) -> Any:
    return testinfra.get_host(f"docker://{name}")


def example_apps(project: Path = PROJECT) -> List[Dict[str, Any]]:
    """The apps of examples/apps.yml in ``project`` (a checkout of the collection, this one by default)."""
    with open(project / "examples" / "apps.yml", encoding="utf-8") as handle:
        return list(yaml.safe_load(handle)["appmount_apps"])


@dataclass
class Response:
    status: int
    headers: Dict[str, str] = field(default_factory=dict)  # the last value of each header, by lower-case name
    body: str = ""
    cookies: List[str] = field(default_factory=list)  # every Set-Cookie value, in order

    def cookie_paths(self) -> Dict[str, Optional[str]]:
        """The Path attribute of each cookie set (None when it has none), by cookie name."""
        result: Dict[str, Optional[str]] = {}
        for value in self.cookies:
            name, *attributes = value.split(";")
            paths = [a.split("=", 1)[1].strip() for a in attributes if a.split("=", 1)[0].strip().lower() == "path"]
            result[name.split("=", 1)[0].strip()] = paths[0] if paths else None
        return result

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
    head, _sep, body = out.replace("\r\n", "\n").partition("\n\n")
    status_line, *lines = head.split("\n")
    headers = {}
    cookies = []
    for line in lines:
        key, _sep, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
        if key.strip().lower() == "set-cookie":
            cookies.append(value.strip())
    return Response(int(status_line.split()[1]), headers, body, cookies)


DJANGO = "/django/site"  # the Django example's mount (examples/apps.yml)
DJANGO_ADMIN_PASSWORD = "demo-only-admin-password"


def csrf_token(body: str) -> str:
    """The CSRF token of a Django form on the page."""
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert match, body[:2000]
    return match.group(1)


def django_login(host: Any, jar: str) -> None:
    """Log in to the Django example's admin with the cookies in ``jar``, as a browser would (CSRF token included)."""
    login = f"{DJANGO}/admin/login/?next={DJANGO}/admin/"
    token = csrf_token(http(host, login, jar=jar).body)
    form = f"csrfmiddlewaretoken={token}&username=admin&password={DJANGO_ADMIN_PASSWORD}&next={DJANGO}/admin/"
    done = http(host, login, "POST", data=form, jar=jar)
    assert (done.status, done.headers.get("location")) == (302, f"{DJANGO}/admin/"), done.body[:2000]


@dataclass
class Run:
    rc: int
    output: str

    def changed(self) -> Dict[str, int]:
        """changed= of every host in the PLAY RECAP."""
        return {m[0]: int(m[1]) for m in re.findall(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", self.output, re.M)}


def playbook(apps: List[Dict[str, Any]], *args: str, name: str = "site.yml", source_dir: Optional[Path] = None,
             project: Path = PROJECT) -> Run:
    """Run one of the collection's playbooks with these apps against the scenario's hosts.

    ``project`` is a checkout of the collection (another version of it, for an upgrade)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as handle:
        yaml.safe_dump({"appmount_apps": apps}, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=str(project / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)  # the checkout's ansible.cfg names its own
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(project / "playbooks" / name),
           "-e", f"@{handle.name}", "-e", f"apps_source_dir={source_dir or PROJECT / 'examples'}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=project)
    os.unlink(handle.name)
    return Run(proc.returncode, proc.stdout + proc.stderr)


def logged(host: Any, path: str, text: str, timeout: int = 10) -> bool:
    """Whether ``text`` shows up in the file at ``path`` within ``timeout`` seconds (servers log after responding)."""
    wait = f"until grep -qF -- {shlex.quote(text)} {shlex.quote(path)}; do sleep 0.1; done"
    return bool(host.run(f"timeout {timeout} sh -c {shlex.quote(wait)}").rc == 0)


def unit(name: str) -> str:
    """The systemd service of an app."""
    return f"appmount-app@{name}.service"


def main_pid(host: Any, name: str) -> str:
    """The PID of the app's uWSGI master, as systemd knows it ("0" when it does not run)."""
    return str(host.check_output(f"systemctl show -P MainPID {unit(name)}"))


def masters(host: Any, names: List[str]) -> Dict[str, str]:
    """The uWSGI master PID of each app."""
    return {name: main_pid(host, name) for name in names}


def journal(host: Any, name: str, since: str = "") -> str:
    """What the app's unit wrote to the journal (uWSGI's log and the app's stdout and stderr, and systemd's lines
    about the unit), all of it or from ``since`` (the host's ``%Y-%m-%d %H:%M:%S``) on."""
    after = f" --since {shlex.quote(since)}" if since else ""
    return str(host.check_output(f"journalctl -u {unit(name)}{after} --no-pager -o cat"))


def in_journal(host: Any, name: str, text: str, timeout: int = 10) -> bool:
    """Whether ``text`` shows up in the app's journal within ``timeout`` seconds (uWSGI logs after responding)."""
    wait = (f"until journalctl -u {unit(name)} --no-pager -o cat | grep -qF -- {shlex.quote(text)}; "
            "do sleep 0.2; done")
    return bool(host.run(f"timeout {timeout} sh -c {shlex.quote(wait)}").rc == 0)


LOAD_STOP = "/tmp/load.stop"


def start_load(name: str, urls: List[str], clients: int = 20, seconds: int = 20, base: str = "http://127.0.0.1",
               cafile: str = "") -> None:
    """Start a bounded load inside the container (on itself only); read it with load_result.

    It runs for `seconds`, or until stop_load(name), whichever comes first. Paths are relative to `base`; an
    https base is verified against `cafile`.
    """
    subprocess.run(["docker", "cp", str(LOAD_TOOL), f"{name}:/usr/local/bin/appmount-load"], check=True)
    targets = " ".join(shlex.quote(f"{base}{u}") for u in urls)
    options = f"--cafile {shlex.quote(cafile)} " if cafile else ""
    get_host(name).run(f"rm -f /tmp/load.json {LOAD_STOP}; setsid nohup python3 /usr/local/bin/appmount-load "
                       f"{options}--clients {clients} --seconds {seconds} --stop-file {LOAD_STOP} {targets} "
                       "> /tmp/load.json 2>/tmp/load.err < /dev/null &")


def stop_load(name: str) -> None:
    """Let the load started by start_load end now (its clients finish the requests they have sent)."""
    get_host(name).run(f"touch {LOAD_STOP}")


def load_result(name: str, timeout: float = 90) -> Dict[str, Any]:
    host = get_host(name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = host.run("cat /tmp/load.json").stdout.strip()
        if out:
            return dict(json.loads(out))
        time.sleep(1)
    raise AssertionError(f"no load result on {name}: {host.run('cat /tmp/load.err').stdout}")


INSTANCES = r"""
import os
procs = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        comm = open(f"/proc/{pid}/comm").read().strip()
        ppid = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
        unit = [l.split("/")[-1] for l in open(f"/proc/{pid}/cgroup").read().splitlines() if "name=systemd" in l or l.startswith("0::")][0]
    except (OSError, IndexError):
        continue
    procs[pid] = (comm, ppid, unit)
for pid, (comm, ppid, unit) in sorted(procs.items()):
    if comm.startswith("uwsgi") and not procs.get(ppid, ("",))[0].startswith("uwsgi"):
        print(pid, unit)
"""


def uwsgi_masters(host: Any) -> List[str]:
    """The unit (last cgroup path element) of every uWSGI master running in the container, one per master."""
    out = host.check_output(f"python3 -c {shlex.quote(INSTANCES)}")
    return sorted(line.split()[1] for line in out.splitlines() if line.strip())
