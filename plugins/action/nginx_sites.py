# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of appmount.wsgi.nginx_sites: every file rendered here, then one module run on the host."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.appmount.wsgi.plugins.plugin_utils.render import render

MODULE = "appmount.wsgi.nginx_sites"
PASSED = ("available_dir", "enabled_dir", "marker", "gone", "absent", "directories", "apply")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files", "sites", "site_src", *PASSED))

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = self._task.args
        sites = args.get("sites") or []
        if sites and not args.get("site_src"):
            raise AnsibleActionFail("site_src is required with sites")
        files = [{"path": entry["dest"], "mode": entry.get("mode", "0644"), "kind": entry.get("kind", "nginx"),
                  "content": render(self, entry["src"], task_vars)} for entry in args.get("files") or []]
        files += [{"path": f"{args.get('available_dir')}/{site['name']}.conf", "mode": "0644", "kind": "nginx",
                   "content": render(self, args["site_src"], task_vars, site=site)} for site in sites]
        module_args = {key: args[key] for key in PASSED if key in args}
        module_args.update(files=files, sites=[site["name"] for site in sites])
        result.update(self._execute_module(MODULE, module_args=module_args, task_vars=task_vars))
        return result
