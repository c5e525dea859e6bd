# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Directories, files and symlinks on the host, with diffs; nginx files are tracked so that a failed
``nginx -t`` restores them."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import tempfile

from ansible_collections.appmount.wsgi.plugins.module_utils.accounts import group_id
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run

# Files and links of kind "nginx" are what ``nginx -t`` reads: a change of one sets ``nginx_changed`` and records
# ("file" or "link", path, what was there before or None) so that ``test_nginx`` can put it back.
NGINX = "nginx"


class HostFiles:
    """Writes for one run: every change is noted in the run (``changed``, ``diffs``)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.nginx_changed = False
        self.nginx_undo: list[tuple[str, str, str | None]] = []

    def _nginx(self, kind: str, entry: str, path: str, before: str | None) -> None:
        if kind == NGINX:
            self.nginx_changed = True
            self.nginx_undo.append((entry, path, before))

    def mkdir(self, path: str, owner: str = "root", mode: int = 0o755) -> None:
        """A directory owned by ``owner`` (user and group of that name) with ``mode``."""
        run = self.run
        try:
            uid, gid = (0, 0) if owner == "root" else (pwd.getpwnam(owner).pw_uid, grp.getgrnam(owner).gr_gid)
        except KeyError:  # check mode: the account would be created first
            run.changed = True
            return
        if not os.path.isdir(path):
            run.changed = True
            if run.check:
                return
            os.makedirs(path, mode)
        st = os.stat(path)
        if (st.st_uid, st.st_gid, st.st_mode & 0o7777) != (uid, gid, mode):
            run.changed = True
            if not run.check:
                os.chown(path, uid, gid)
                os.chmod(path, mode)

    def write(self, path: str, content: str, mode: int, kind: str, group: str = "root") -> bool:
        """Write a file owned by root and ``group`` atomically when content, mode or owner differ."""
        run = self.run
        gid = group_id(group)
        before: str | None = None
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                before = handle.read()
            st = os.stat(path)
            if before == content and st.st_mode & 0o7777 == mode and (st.st_uid, st.st_gid) == (0, gid):
                return False
        run.diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": content})
        run.changed = True
        self._nginx(kind, "file", path, before)
        if not run.check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.appmount-tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(content)
            os.chmod(tmp, mode)
            os.chown(tmp, 0, gid)
            # Not AnsibleModule.atomic_move: it copies the replaced file's owner and mode onto the new one
            # (keep_dest_attrs=False, ansible-core >= 2.17 only, turns that off) and gives a file it creates the
            # mode of the umask and the module's user and group: the mode and group set above would be lost.
            os.replace(tmp, path)
        return True

    def link(self, path: str, src: str, kind: str) -> bool:
        """Point the symlink ``path`` at ``src``, atomically."""
        run = self.run
        if os.path.islink(path) and os.readlink(path) == src:
            return False
        before = os.readlink(path) if os.path.islink(path) else None
        run.diffs.append({"before_header": path, "after_header": path, "before": f"-> {before}\n" if before else "",
                          "after": f"-> {src}\n"})
        run.changed = True
        self._nginx(kind, "link", path, before)
        if not run.check:
            tmp = f"{path}.appmount-tmp"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(src, tmp)
            os.replace(tmp, path)
        return True

    def remove(self, path: str, kind: str = "") -> bool:
        """Remove a file, symlink or directory tree."""
        run = self.run
        if not os.path.lexists(path):
            return False
        run.changed = True
        if kind == NGINX:
            self.nginx_changed = True
            before = os.readlink(path) if os.path.islink(path) else None
            if before is not None:
                self.nginx_undo.append(("link", path, before))
            else:
                with open(path, encoding="utf-8") as handle:
                    self.nginx_undo.append(("file", path, handle.read()))
        run.diffs.append({"before_header": path, "after_header": path, "before": f"{path}\n", "after": ""})
        if not run.check:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        return True

    def test_nginx(self, apply: str | None) -> None:
        """The nginx role's apply script (``apply``): ``nginx -t``; when nginx refuses the configuration, it puts
        back every nginx file and link of this run, and the run fails with nginx's error."""
        if not shutil.which("nginx"):
            return
        if not apply:
            self.run.fail("nginx files changed but no nginx_apply command was given (the nginx role's "
                          "nginx_apply_command)")
        with tempfile.TemporaryDirectory(prefix="appmount-nginx-") as saved:
            argv = [apply]
            for i, (entry, path, before) in enumerate(self.nginx_undo):
                if before is None:
                    spec = "-"
                elif entry == "link":
                    spec = f"link:{before}"
                else:
                    spec = os.path.join(saved, str(i))
                    with open(spec, "w", encoding="utf-8") as handle:
                        handle.write(before)
                    os.chmod(spec, 0o644)
                argv += ["--restore", path, spec]
            proc = self.run.command(argv)
        if proc.returncode != 0:
            self.run.fail((proc.stderr or proc.stdout).strip(), changed=False)
