#!/usr/bin/python
# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply the state of every app of a host in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_deploy
short_description: Apply the state of every WSGI app of a host in one run
version_added: 0.1.0
author: appmount.wsgi maintainers (@appmount)
description:
  - Used by the C(appmount.wsgi.apps) role, through the action plugin of the same name, which renders the files on
    the controller and sends the code of C(source.path) apps as archives. One run handles every app of the host.
  - For each present app, builds a release (code and virtualenv) beside the current one when its code or packages
    changed, imports the app's module in the new release as the app's user before anything switches, then switches
    the C(current) symlink atomically and chain-reloads that app alone.
  - Writes the rendered uWSGI and nginx files and their enabled symlinks; when an nginx file changed, runs
    C(nginx -t) and restores every nginx file of this run when it fails.
  - Starts the present apps that are down and reloads those whose uWSGI file changed; stops disabled and absent apps
    (after removing their uWSGI symlinks, so that nothing starts them again) and removes every trace of absent apps.
  - Holds C(/run/lock/appmount-uwsgi.lock) while it links, starts and stops apps; the uWSGI watchdog of the
    C(appmount.wsgi.uwsgi) role skips its rounds meanwhile.
options:
  apps:
    description: The apps, as prepared by the role (see C(appmount.wsgi.apps_normalize)).
    type: list
    elements: dict
    required: true
  files:
    description: Files that belong to no single app (path, content, mode, kind).
    type: list
    elements: dict
    default: []
  keep_releases:
    description: Releases kept per app, the current one included.
    type: int
    default: 3
  control:
    description: Start, stop and reload the uWSGI instances (off when uWSGI is not installed yet in check mode).
    type: bool
    default: true
  probe:
    description: Only report which apps lack the release for their C(code.id) (used by the action plugin).
    type: bool
    default: false
  rollback:
    description: Name of one app to switch back to its previous release (nothing else is done).
    type: str
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
# Used by the appmount.wsgi.apps role; see roles/apps/tasks/deploy.yml.
- name: Apply every app's state
  appmount.wsgi.app_deploy:
    apps: "{{ apps }}"
"""

RETURN = r"""
apps:
  description: Per app, what was done (release, switched, files, action) by name.
  type: dict
  returned: always
nginx_changed:
  description: Whether an nginx file or symlink changed (the role then reloads nginx).
  type: bool
  returned: always
missing:
  description: With I(probe), names of apps whose release does not exist yet.
  type: list
  returned: when probe
"""

import contextlib
import fcntl
import grp
import hashlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import tarfile
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

from ansible.module_utils.basic import AnsibleModule

INIT = "/etc/init.d/uwsgi"
INIT_ENV = dict(os.environ, SYSTEMCTL_SKIP_REDIRECT="1")
# The uWSGI watchdog (uwsgi role) skips its round while this lock is held: it never
# starts an app this module is starting, nor one it is retiring.
LOCK = "/run/lock/appmount-uwsgi.lock"
START_GRACE_S = 10.0  # how long a master may take to show up after the init script said "failed"
IMPORT_TEST = (
    "import importlib, sys\n"
    "name, attr = sys.argv[1].split(':')\n"
    "sys.path.insert(0, sys.argv[2])\n"
    "app = getattr(importlib.import_module(name), attr)\n"
    "assert callable(app), sys.argv[1] + ' is not callable'\n"
)


def account_exists(lookup: Callable[[str], Any], name: str) -> bool:
    """Whether ``lookup`` (``pwd.getpwnam`` or ``grp.getgrnam``) knows ``name``."""
    try:
        lookup(name)
    except KeyError:
        return False
    return True


def group_id(name: str) -> int:
    """The gid of group ``name``; -1 for a group that does not exist yet (check mode)."""
    return grp.getgrnam(name).gr_gid if account_exists(grp.getgrnam, name) else -1


class Deployer:
    def __init__(self, module: AnsibleModule) -> None:
        self.m = module
        self.check = module.check_mode
        self.changed = False
        self.diffs: List[Dict[str, str]] = []
        self.report: Dict[str, Dict[str, Any]] = {}
        self.errors: List[str] = []
        self.nginx_changed = False
        self.nginx_undo: List[tuple] = []
        self.reloading: List[tuple] = []

    # -- small helpers -----------------------------------------------------------------
    def run(self, argv: List[str], **kwargs: Any) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)

    def note(self, app: str, key: str, value: Any = True) -> None:
        self.report.setdefault(app, {})[key] = value
        self.changed = True

    def mkdir(self, path: str, owner: str = "root", mode: int = 0o755) -> None:
        try:
            uid, gid = (0, 0) if owner == "root" else (pwd.getpwnam(owner).pw_uid, grp.getgrnam(owner).gr_gid)
        except KeyError:  # check mode: the account would be created first
            self.changed = True
            return
        if not os.path.isdir(path):
            self.changed = True
            if self.check:
                return
            os.makedirs(path, mode)
        st = os.stat(path)
        if (st.st_uid, st.st_gid, st.st_mode & 0o7777) != (uid, gid, mode):
            self.changed = True
            if not self.check:
                os.chown(path, uid, gid)
                os.chmod(path, mode)

    def write(self, path: str, content: str, mode: int, kind: str, group: str = "root") -> bool:
        """Write a file owned by root and ``group`` atomically when content, mode or owner differ."""
        gid = group_id(group)
        before: Optional[str] = None
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                before = handle.read()
            st = os.stat(path)
            if before == content and st.st_mode & 0o7777 == mode and (st.st_uid, st.st_gid) == (0, gid):
                return False
        self.diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": content})
        self.changed = True
        if kind == "nginx":
            self.nginx_changed = True
            self.nginx_undo.append(("file", path, before))
        if not self.check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.appmount-tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chmod(tmp, mode)
            os.chown(tmp, 0, gid)
            os.replace(tmp, path)
        return True

    def link(self, path: str, src: str, kind: str) -> bool:
        if os.path.islink(path) and os.readlink(path) == src:
            return False
        before = os.readlink(path) if os.path.islink(path) else None
        self.diffs.append({"before_header": path, "after_header": path, "before": f"-> {before}\n" if before else "",
                           "after": f"-> {src}\n"})
        self.changed = True
        if kind == "nginx":
            self.nginx_changed = True
            self.nginx_undo.append(("link", path, before))
        if not self.check:
            tmp = f"{path}.appmount-tmp"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(src, tmp)
            os.replace(tmp, path)
        return True

    def remove(self, path: str, kind: str = "") -> bool:
        if not os.path.lexists(path):
            return False
        self.changed = True
        if kind == "nginx":
            self.nginx_changed = True
            before = os.readlink(path) if os.path.islink(path) else None
            if before is not None:
                self.nginx_undo.append(("link", path, before))
            else:
                with open(path, encoding="utf-8") as handle:
                    self.nginx_undo.append(("file", path, handle.read()))
        self.diffs.append({"before_header": path, "after_header": path, "before": f"{path}\n", "after": ""})
        if not self.check:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        return True

    # -- accounts ----------------------------------------------------------------------
    def ensure_account(self, app: Dict[str, Any]) -> None:
        user = app["user"]
        if not account_exists(grp.getgrnam, user):
            self.note(app["name"], "group_created")
            if not self.check:
                self.checked(["groupadd", "--system", user])
        if not account_exists(pwd.getpwnam, user):
            self.note(app["name"], "user_created")
            if not self.check:
                self.checked(["useradd", "--system", "--gid", user, "--home-dir", app["home"], "--no-create-home",
                              "--shell", "/usr/sbin/nologin", "--comment", f"appmount app {app['name']}", user])

    def checked(self, argv: List[str], **kwargs: Any) -> subprocess.CompletedProcess:
        proc = self.run(argv, **kwargs)
        if proc.returncode != 0:
            self.fail_command(argv, proc)
        return proc

    def fail_command(self, argv: List[str], proc: subprocess.CompletedProcess) -> None:
        self.m.fail_json(msg=f"{' '.join(argv)} failed: {proc.stderr.strip() or proc.stdout.strip()}",
                         changed=self.changed)

    # -- releases ----------------------------------------------------------------------
    @staticmethod
    def release_id(app: Dict[str, Any], code_id: str) -> str:
        """Code, packages and the callable: a change of any of them is a new, import-tested release."""
        return hashlib.sha256(json.dumps([code_id, app["packages"], app["module"]]).encode()).hexdigest()[:12]

    def code_id(self, app: Dict[str, Any]) -> Optional[str]:
        code = app["code"]
        if code["kind"] == "path":
            return code["id"]
        if code["kind"] == "none":
            return "none"
        mirror = f"{app['home']}/git"
        if self.check and not os.path.isdir(mirror):
            return None
        if not os.path.isdir(mirror):
            self.checked(["git", "clone", "--quiet", "--mirror", code["repo"], mirror])
        elif not self.check:
            self.checked(["git", "--git-dir", mirror, "fetch", "--quiet", "--prune", "origin",
                          "+refs/*:refs/*"])
        rev = self.run(["git", "--git-dir", mirror, "rev-parse", "--verify", f"{code['version']}^{{commit}}"])
        if rev.returncode != 0:
            self.errors.append(f"{app['name']}: source.version {code['version']!r} is not in {code['repo']}")
            return None
        return rev.stdout.strip()

    def build_release(self, app: Dict[str, Any], rid: str, code_id: str) -> bool:
        """Build releases/<rid> (code + venv) and import-test it; False when the import fails.

        The release counts as built only once its ``code-id`` marker exists, written last.
        """
        home, name = app["home"], app["name"]
        final = f"{home}/releases/{rid}"
        if os.path.lexists(final):
            shutil.rmtree(final)
        os.makedirs(f"{final}/code", 0o755)
        code = app["code"]
        if code["kind"] == "path":
            with tarfile.open(code["archive"]) as archive:
                try:
                    archive.extractall(f"{final}/code", filter="data")
                except TypeError:  # Python without tarfile extraction filters
                    archive.extractall(f"{final}/code")
        elif code["kind"] == "git":
            tarball = f"{final}.tar"
            self.checked(["git", "--git-dir", f"{home}/git", "archive", "--format=tar", "-o", tarball, code_id])
            try:
                self.checked(["tar", "-x", "--no-same-owner", "-C", f"{final}/code", "-f", tarball])
            finally:
                os.unlink(tarball)
        for root, dirs, files in os.walk(f"{final}/code"):
            for entry in dirs + files:
                os.lchown(os.path.join(root, entry), 0, 0)
        os.chmod(f"{final}/code", 0o755)
        venv = f"{final}/venv"
        self.checked(["/usr/bin/python3", "-m", "venv", venv])
        pip = [f"{venv}/bin/pip", "install", "--quiet", "--disable-pip-version-check"]
        installs = ([pip + ["-r", f"{final}/code/{app['requirements']}"]] if app.get("requirements") else []) + (
            [pip + list(app["packages"])] if app["packages"] else [])
        for argv in installs:
            proc = self.run(argv)
            if proc.returncode != 0:
                shutil.rmtree(final)
                self.errors.append(f"{name}: pip could not build the new release ({' '.join(argv[1:])}); it is not "
                                   f"switched to (the current release, if any, keeps serving).\n{proc.stderr.strip()}")
                return False
        user = pwd.getpwnam(app["user"])
        env = dict(app["env"], PATH="/usr/bin:/bin", HOME=app["home"])
        test = self.run([f"{venv}/bin/python", "-c", IMPORT_TEST, app["module"], f"{final}/code"],
                        cwd=f"{final}/code", env=env, user=user.pw_uid, group=user.pw_gid, timeout=120)
        if test.returncode != 0:
            shutil.rmtree(final)
            self.errors.append(f"{name}: the new release does not import {app['module']!r}; it is not switched to "
                               f"(the current release, if any, keeps serving).\n{test.stderr.strip()}")
            return False
        with open(f"{final}/code-id", "w", encoding="utf-8") as handle:
            handle.write(code_id + "\n")
        return True

    @staticmethod
    def has_release(home: str, rid: str) -> bool:
        return os.path.isfile(f"{home}/releases/{rid}/code-id")

    @staticmethod
    def history(home: str) -> List[str]:
        """Release ids in the order they were switched to, the newest last."""
        path = f"{home}/releases/history"
        if not os.path.isfile(path):
            return []
        with open(path, encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip()]

    @staticmethod
    def save_history(home: str, ids: List[str]) -> None:
        with open(f"{home}/releases/history", "w", encoding="utf-8") as handle:
            handle.write("".join(f"{rid}\n" for rid in ids))

    @staticmethod
    def current_release(home: str) -> Optional[str]:
        current = f"{home}/current"
        return os.path.basename(os.readlink(current)) if os.path.islink(current) else None

    def switch(self, app: Dict[str, Any], rid: str) -> bool:
        """Point `current` at the release, atomically; the release becomes the newest of the history."""
        if not self.link(f"{app['home']}/current", f"releases/{rid}", "release"):
            return False
        self.note(app["name"], "switched", rid)
        if not self.check:
            self.save_history(app["home"], [r for r in self.history(app["home"]) if r != rid] + [rid])
        return True

    def prune(self, app: Dict[str, Any], keep: int) -> None:
        home = app["home"]
        hist = self.history(home)
        keep_ids = set(hist[-keep:]) | {self.current_release(home)}
        for entry in os.listdir(f"{home}/releases"):
            if entry != "history" and entry not in keep_ids:
                self.remove(f"{home}/releases/{entry}")
        if not self.check and hist != [r for r in hist if r in keep_ids]:
            self.save_history(home, [r for r in hist if r in keep_ids])

    # -- processes ---------------------------------------------------------------------
    @staticmethod
    def master_pid(name: str) -> Optional[int]:
        try:
            with open(f"/run/uwsgi/app/{name}/pid", encoding="utf-8") as handle:
                pid = int(handle.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                return pid if b"uwsgi" in handle.read() else None
        except (OSError, ValueError):
            return None

    def stop(self, name: str) -> None:
        pid = self.master_pid(name)
        if pid is None:
            return
        self.note(name, "action", "stopped")
        if self.check:
            return
        os.kill(pid, signal.SIGINT)
        for _attempt in range(100):
            if not os.path.exists(f"/proc/{pid}"):
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    @staticmethod
    def workers(master: int) -> set:
        """PIDs of the master's children (its workers)."""
        children = set()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                        if int(handle.read().rsplit(")", 1)[1].split()[1]) == master:
                            children.add(int(entry))
                except (OSError, IndexError, ValueError):
                    continue
        return children

    def chain_reload(self, app: Dict[str, Any]) -> None:
        """uWSGI's touch-chain-reload: workers are replaced one by one, each loading the new release."""
        self.note(app["name"], "action", "chain-reloaded")
        master = self.master_pid(app["name"])
        if not self.check and master:
            self.reloading.append((app, master, self.workers(master)))
            os.utime(app["chain_reload"])

    def wait_for_chain_reloads(self, timeout: float = 90) -> None:
        """Return once every chain-reloaded app runs only workers started after the switch."""
        deadline = time.monotonic() + timeout
        for app, master, old in self.reloading:
            while time.monotonic() < deadline:
                current = self.workers(master)
                if current and not current & old:
                    break
                time.sleep(0.2)
            else:
                self.errors.append(f"{app['name']}: the chain reload onto the new release did not finish within "
                                   f"{timeout:.0f} s; see /var/log/uwsgi/app/{app['name']}.log")

    def init(self, action: str, name: str) -> None:
        self.note(name, "action", {"start": "started", "reload": "reloaded"}[action])
        if self.check:
            return
        argv = [INIT, action, name]
        proc = self.run(argv, env=INIT_ENV)
        # after a start the init script reads the pid file once, right away: uWSGI may
        # not have written it yet. A master that shows up is a start that worked.
        if proc.returncode != 0 and not (action == "start" and self.wait_for_master(name)):
            self.fail_command(argv, proc)

    def wait_for_master(self, name: str) -> bool:
        deadline = time.monotonic() + START_GRACE_S
        while self.master_pid(name) is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    @contextlib.contextmanager
    def instances_locked(self) -> Iterator[None]:
        """Hold LOCK (the watchdog's) while apps are linked, unlinked, started and stopped."""
        if self.check:
            yield
            return
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        with open(LOCK, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    # -- the run -----------------------------------------------------------------------
    def probe(self, apps: List[Dict[str, Any]]) -> List[str]:
        missing = []
        for app in apps:
            if app["state"] == "present" and app["code"]["kind"] == "path":
                rid = self.release_id(app, app["code"]["id"])
                if not self.has_release(app["home"], rid):
                    missing.append(app["name"])
        return missing

    def apply(self, apps: List[Dict[str, Any]], files: List[Dict[str, Any]], keep: int, control: bool) -> None:
        live = [a for a in apps if a["state"] != "absent"]
        present = [a for a in apps if a["state"] == "present"]
        retired = [a for a in apps if a["state"] != "present"]
        # 1. accounts, directories, new releases (nothing switches yet)
        for app in live:
            self.ensure_account(app)
            self.mkdir(app["home"])
            self.mkdir(app["data_dir"], owner=app["user"], mode=0o750)
            self.mkdir(f"{app['home']}/releases")
            self.write(app["chain_reload"], "", 0o644, "uwsgi")
        ready: Dict[str, str] = {}
        unusable = set()  # present apps whose first release failed: nothing to route to or start
        for app in present:
            code_id = self.code_id(app)
            if code_id is None:
                if not os.path.islink(f"{app['home']}/current"):
                    unusable.add(app["name"])
                continue
            rid = self.release_id(app, code_id)
            if not self.has_release(app["home"], rid):
                self.note(app["name"], "built", rid)
                if not self.check and not self.build_release(app, rid, code_id):
                    if not os.path.islink(f"{app['home']}/current"):
                        unusable.add(app["name"])
                    continue
            ready[app["name"]] = rid
        # 2. nginx: location files and links, tested before anything else moves
        for entry in files:
            self.write(entry["path"], entry["content"], int(entry["mode"], 8), entry["kind"])
        for app in apps:
            for entry in app.get("files", []):
                if entry["kind"] == "nginx":
                    self.write(entry["path"], entry["content"], int(entry["mode"], 8), "nginx")
            if app["state"] == "present" and app["name"] not in unusable:
                for entry in app.get("links", []):
                    if entry["kind"] == "nginx":
                        self.link(entry["path"], entry["src"], "nginx")
            elif app["state"] != "present":
                self.remove(app["nginx_enabled"], "nginx")
            if app["state"] == "absent":
                self.remove(app["nginx_conf"], "nginx")
        if self.nginx_changed and not self.check:
            self.test_nginx()
        # 3. retire disabled and absent apps, 4. bring the others up; the watchdog waits meanwhile
        with self.instances_locked():
            self.retire(retired, control)
            self.bring_up(live, ready, unusable, control)
        self.wait_for_chain_reloads()
        # old releases go only once no worker runs them any more
        for app in present:
            if app["name"] in ready and not self.check:
                self.prune(app, keep)

    def retire(self, retired: List[Dict[str, Any]], control: bool) -> None:
        """Disabled and absent apps: unlinked first (nothing restarts them), then stopped."""
        for app in retired:
            self.remove(app["uwsgi_enabled"])
            if control:
                self.stop(app["name"])
            if app["state"] == "absent":
                for path in app["purge"]:
                    self.remove(path)
                self.drop_account(app)

    def bring_up(self, live: List[Dict[str, Any]], ready: Dict[str, str], unusable: set, control: bool) -> None:
        """uWSGI files, release switches, then start / reload / chain reload of the apps that changed."""
        for app in live:
            name = app["name"]
            ini_changed = any(self.write(e["path"], e["content"], int(e["mode"], 8), "uwsgi", e.get("group", "root"))
                              for e in app.get("files", []) if e["kind"] == "uwsgi")
            if app["state"] != "present" or name in unusable:
                continue
            switched = name in ready and self.switch(app, ready[name])
            for entry in app.get("links", []):
                if entry["kind"] == "uwsgi":
                    self.link(entry["path"], entry["src"], "uwsgi")
            if self.current_release(app["home"]):
                self.report.setdefault(name, {})["release"] = self.current_release(app["home"])
            if not control:
                continue
            if self.master_pid(name) is None:
                self.init("start", name)
            elif ini_changed:
                self.init("reload", name)
            elif switched:
                self.chain_reload(app)

    def drop_account(self, app: Dict[str, Any]) -> None:
        if account_exists(pwd.getpwnam, app["user"]):
            self.note(app["name"], "user_removed")
            if not self.check:
                self.checked(["userdel", app["user"]])
        if account_exists(grp.getgrnam, app["user"]):
            self.changed = True
            if not self.check:
                self.checked(["groupdel", app["user"]])

    def test_nginx(self) -> None:
        if not shutil.which("nginx"):
            return
        proc = self.run(["nginx", "-t"])
        if proc.returncode == 0:
            return
        for kind, path, before in reversed(self.nginx_undo):
            if os.path.lexists(path):
                os.unlink(path)
            if before is not None and kind == "file":
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(before)
            elif before is not None:
                os.symlink(before, path)
        self.m.fail_json(msg="nginx -t failed; the previous nginx files were restored and nginx keeps serving "
                             "its current configuration:\n" + proc.stderr.strip(), changed=False)

    def rollback(self, app: Dict[str, Any]) -> None:
        hist = self.history(app["home"])
        current = self.current_release(app["home"])
        older = [r for r in hist if r != current and self.has_release(app["home"], r)]
        if not older:
            self.m.fail_json(msg=f"{app['name']}: no previous release to roll back to (kept: {hist})")
        self.report.setdefault(app["name"], {})["release"] = older[-1]
        if self.switch(app, older[-1]) and not self.check:
            if current:  # the release rolled back from becomes the oldest: the next rollback goes further back
                self.save_history(app["home"], [current] + [r for r in self.history(app["home"]) if r != current])
            self.chain_reload(app)
            self.wait_for_chain_reloads()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "apps": {"type": "list", "elements": "dict", "required": True},
            "files": {"type": "list", "elements": "dict", "default": []},
            "keep_releases": {"type": "int", "default": 3},
            "control": {"type": "bool", "default": True},
            "probe": {"type": "bool", "default": False},
            "rollback": {"type": "str"},
        },
        supports_check_mode=True,
    )
    deployer = Deployer(module)
    apps = module.params["apps"]
    if module.params["probe"]:
        module.exit_json(changed=False, missing=deployer.probe(apps))
    if module.params["rollback"]:
        target = [a for a in apps if a["name"] == module.params["rollback"]]
        if not target:
            module.fail_json(msg=f"no app named {module.params['rollback']!r} on this host")
        deployer.rollback(target[0])
    else:
        deployer.apply(apps, module.params["files"], module.params["keep_releases"], module.params["control"])
    result = {"changed": deployer.changed, "apps": deployer.report, "nginx_changed": deployer.nginx_changed}
    if module._diff:
        result["diff"] = deployer.diffs
    if deployer.errors:
        if deployer.nginx_changed and not module.check_mode and shutil.which("nginx"):
            # the play stops here and its handlers will not run: serve the routes of the apps that did deploy
            deployer.run(["nginx", "-s", "reload"])
        module.fail_json(msg="\n\n".join(deployer.errors), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
