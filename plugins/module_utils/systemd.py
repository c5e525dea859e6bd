# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Process control: every app is ``appmount-app@NAME.service``, on the socket ``appmount-app@NAME.socket`` holds.

systemd starts, supervises, restarts and stops the uWSGI masters. This module only asks it to (``systemctl``),
runs commands in an app's sandbox (``systemd-run`` with the properties of the app's drop-in) and hands over the
instances that Debian's init script started under earlier versions of the collection.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

from ansible_collections.appmount.wsgi.plugins.module_utils.app import App
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run

SYSTEMCTL = "systemctl"
LEGACY_PID = "pid"  # beside the socket: the pid file of an instance Debian's init script started
DRAIN_S = 30.0  # how long a handed-over instance may take to finish the requests it holds
JOURNAL_LINES = 15


def service(name: str) -> str:
    return f"appmount-app@{name}.service"


def socket_unit(name: str) -> str:
    return f"appmount-app@{name}.socket"


def properties(dropin: str) -> list[str]:
    """The ``Key=Value`` lines of a unit drop-in's ``[Service]`` section, in order (for ``systemd-run -p``)."""
    result: list[str] = []
    section = ""
    for raw in dropin.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "Service" and "=" in line:
            result.append(line)
    return result


def sandboxed(run: Run, app: App, dropin: str, argv: list[str], cwd: str, env_file: str,
              timeout: int, writable: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """``argv`` as the app's user with the environment, sandbox and limits of the app's unit.

    ``dropin`` is the app's (new) drop-in; ``env_file`` replaces its ``EnvironmentFile=`` (a new environment is
    tested before it is put in place); ``writable`` are more paths the command may write. A transient unit, waited
    for, its output piped back.
    """
    props = [p for p in properties(dropin) if not p.startswith("EnvironmentFile=")]
    cmd = [
        "systemd-run", "--quiet", "--wait", "--pipe", "--collect", "--service-type=exec",
        f"--unit=appmount-test-{app['name']}-{os.getpid()}",
        "-p", f"User={app['user']}", "-p", f"Group={app['user']}", "-p", f"EnvironmentFile={env_file}",
        "-p", f"RuntimeMaxSec={timeout}", f"--working-directory={cwd}",
    ]
    for prop in props + [f"ReadWritePaths={path}" for path in writable or []]:
        cmd += ["-p", prop]
    return run.run([*cmd, "--", *argv], stdin=subprocess.DEVNULL, timeout=timeout + 30)


def workers(master: int) -> set[int]:
    """PIDs of the master's children (its workers)."""
    children: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    if int(handle.read().rsplit(")", 1)[1].split()[1]) == master:
                        children.add(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return children


def legacy_master(socket: str, unit_pid: int | None) -> int | None:
    """The master of an instance Debian's init script started on this socket (earlier versions), if one runs."""
    try:
        with open(os.path.join(os.path.dirname(socket), LEGACY_PID), encoding="utf-8") as handle:
            pid = int(handle.read().strip())
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            comm = handle.read().strip()
    except (OSError, ValueError):
        return None
    return pid if comm.startswith("uwsgi") and pid != unit_pid else None


class Units:
    """Start, restart, chain-reload and stop the apps' units; every action is noted in the run."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.reloading: list[tuple[App, int, set[int]]] = []  # (app, master, its workers before the reload)
        self.state: dict[str, dict[str, str]] = {}
        self.sockets: dict[str, str] = {}  # app name -> its socket path

    # -- what systemd knows ---------------------------------------------------------------
    def daemon_reload(self) -> None:
        if not self.run.check:
            self.run.checked([SYSTEMCTL, "daemon-reload"])

    def refresh(self, apps: list[App]) -> None:
        """Read the state of every app's service and socket in one ``systemctl show``."""
        self.sockets.update({app["name"]: app["socket"] for app in apps})
        names = [app["name"] for app in apps]
        if not names:
            return
        units = [u for n in names for u in (service(n), socket_unit(n))]
        props = "Id,ActiveState,MainPID,UnitFileState,Result,NeedDaemonReload"
        proc = self.run.command([SYSTEMCTL, "show", "-p", props, *units])
        self.state = {}
        for block in proc.stdout.strip().split("\n\n"):
            fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            if "Id" in fields:
                self.state[fields["Id"]] = fields

    def _field(self, unit: str, key: str) -> str:
        return self.state.get(unit, {}).get(key, "")

    def needs_daemon_reload(self) -> bool:
        """Whether systemd says a unit file of an app changed on disk since it last read it."""
        return any(fields.get("NeedDaemonReload") == "yes" for fields in self.state.values())

    def main_pid(self, name: str) -> int | None:
        pid = self._field(service(name), "MainPID")
        return int(pid) if pid.isdigit() and int(pid) > 0 else None

    def is_running(self, name: str) -> bool:
        return self._field(service(name), "ActiveState") in ("active", "reloading")

    def is_idle(self, app: App) -> bool:
        """Scaled to zero (``idle_timeout``): the app's uWSGI exited after its idle time, and its socket waits for the
        next request to start it. It counts as up."""
        name = app["name"]
        return (bool(app.get("idle_timeout")) and self._field(service(name), "ActiveState") == "inactive"
                and self._field(socket_unit(name), "ActiveState") == "active")

    def is_enabled(self, name: str) -> bool:
        return all(self._field(u, "UnitFileState") == "enabled" for u in (service(name), socket_unit(name)))

    def is_failed(self, name: str) -> bool:
        return self._field(service(name), "ActiveState") == "failed"

    def failure(self, name: str) -> str | None:
        """Why systemd gave up on the app (its unit is ``failed``: a start limit hit, say), or None."""
        if not self.is_failed(name):
            return None
        return (f"{service(name)} failed ({self._field(service(name), 'Result')}); its last log lines:\n"
                f"{self.journal(name)}")

    def journal(self, name: str) -> str:
        proc = self.run.command(["journalctl", "-u", service(name), "-n", str(JOURNAL_LINES), "--no-pager",
                                 "-o", "cat"])
        return proc.stdout.strip()

    # -- actions ------------------------------------------------------------------------------
    def start(self, name: str) -> None:
        """Enable (start at boot) and start the socket and the service; uWSGI says when it is ready."""
        self.run.note(name, "action", "started")
        if self.run.check:
            return
        legacy = legacy_master(self.sockets[name], None)
        if self.is_failed(name):  # a deploy is a new start: systemd's start limit counts from here
            self.run.command([SYSTEMCTL, "reset-failed", service(name), socket_unit(name)])
        self._systemctl(name, "enable", "--now", socket_unit(name), service(name))
        if legacy:
            self._retire_legacy(name, legacy)

    def enable(self, name: str) -> None:
        """Make sure a running app also starts at boot."""
        if not self.is_enabled(name):
            self.run.changed = True
            if not self.run.check:
                self._systemctl(name, "enable", socket_unit(name), service(name))

    def restart(self, name: str) -> None:
        """A graceful stop (``q``) and a start: new ini, environment or unit settings. The socket stays, so
        connections wait meanwhile instead of failing."""
        self.run.note(name, "action", "restarted")
        if not self.run.check:
            self._systemctl(name, "restart", service(name))

    def restart_if_awake(self, name: str) -> None:
        """New ini, settings or release of an app that scales to zero: ``try-restart`` restarts it only if it runs;
        otherwise its next start reads them. Never a chain reload: the app may exit on its own at any moment, and
        the reload would wait for workers that are gone."""
        self.run.note(name, "action", "restarted if awake")
        if not self.run.check:
            self._systemctl(name, "try-restart", service(name))

    def stop(self, name: str) -> None:
        """Stop and disable the service and its socket (the app is unlinked first, so nothing starts it)."""
        legacy = legacy_master(self.sockets[name], self.main_pid(name))
        active = any(self._field(u, "ActiveState") not in ("", "inactive", "failed")
                     or self._field(u, "UnitFileState") == "enabled" for u in (service(name), socket_unit(name)))
        failed = self.is_failed(name) or self._field(socket_unit(name), "ActiveState") == "failed"
        if not (active or legacy or failed):
            return
        self.run.note(name, "action", "stopped")
        if self.run.check:
            return
        if active:
            self._systemctl(name, "disable", "--now", service(name), socket_unit(name))
        if failed:  # systemd forgets the failure: a disabled app is not listed among the failed units
            self.run.command([SYSTEMCTL, "reset-failed", service(name), socket_unit(name)])
        if legacy:
            self._kill(legacy)

    def chain_reload(self, app: App) -> None:
        """``systemctl reload``: uWSGI's chain reload, workers replaced one by one, each loading the new release."""
        self.run.note(app["name"], "action", "chain-reloaded")
        master = self.main_pid(app["name"])
        if not self.run.check and master:
            self.reloading.append((app, master, workers(master)))
            self._systemctl(app["name"], "reload", service(app["name"]))

    def wait_for_chain_reloads(self, timeout: float = 90) -> None:
        """Return once every chain-reloaded app runs only workers started after the switch."""
        deadline = time.monotonic() + timeout
        for app, master, old in self.reloading:
            while time.monotonic() < deadline:
                current = workers(master)
                if current and not current & old:
                    break
                time.sleep(0.2)
            else:
                self.run.errors.append(f"{app['name']}: the chain reload onto the new release did not finish within "
                                       f"{timeout:.0f} s; journalctl -u {service(app['name'])} says:\n"
                                       f"{self.journal(app['name'])}")

    def _systemctl(self, name: str, *args: str) -> bool:
        argv = [SYSTEMCTL, *args]
        proc = self.run.command(argv)
        if proc.returncode != 0:
            self.run.errors.append(f"{name}: {' '.join(argv)} failed: {proc.stderr.strip()}\n"
                                   f"journalctl -u {service(name)} says:\n{self.journal(name)}")
            return False
        return True

    # -- instances of earlier versions ----------------------------------------------------------
    def _retire_legacy(self, name: str, master: int) -> None:
        """The unit's socket now owns the path, so the old instance gets no new connection: once it has answered
        the ones it holds, it goes."""
        path = self.sockets[name]
        pids = {master} | workers(master)
        deadline = time.monotonic() + DRAIN_S
        while time.monotonic() < deadline and self._holds_connections(pids, path):
            time.sleep(0.1)
        self._kill(master)
        try:
            os.unlink(os.path.join(os.path.dirname(path), LEGACY_PID))
        except OSError:
            pass
        self.run.note(name, "handed_over", master)

    def _holds_connections(self, pids: set[int], path: str) -> bool:
        """Whether processes ``pids`` have connections queued on, or accepted from, the socket at ``path``."""
        if not shutil.which("ss"):
            time.sleep(2)
            return False
        out = self.run.command(["ss", "-xapnH"]).stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) < 5 or fields[4] != path:
                continue
            owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
            if owners & pids and (fields[1] == "ESTAB" or (fields[1] == "LISTEN" and fields[2] != "0")):
                return True
        return False

    @staticmethod
    def _kill(master: int) -> None:
        try:
            os.kill(master, signal.SIGINT)
        except ProcessLookupError:
            return
        for _attempt in range(100):
            if not os.path.exists(f"/proc/{master}"):
                return
            time.sleep(0.1)
        os.kill(master, signal.SIGKILL)
