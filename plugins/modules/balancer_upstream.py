#!/usr/bin/python
# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The balancer's upstream of app hosts: drain hosts, put them back, keep the state across runs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: balancer_upstream
short_description: Write the balancer's upstream of app hosts, draining or putting back hosts, and apply it
version_added: 0.1.0
author: appmount.wsgi maintainers (@appmount)
description:
  - Writes one nginx C(upstream) block listing every app host; a drained host is marked C(down), so nginx sends it
    no new request. Used by the C(appmount.wsgi.balancer) role and by the rolling deploy of C(playbooks/site.yml).
  - Which hosts are drained is kept in I(state_file) across runs - a host stays drained (for example after a
    failed health gate) until a run puts it back. A host the balancer has never listed joins drained, so that no
    request reaches it before its first deploy has passed its gate.
  - Draining never takes out the last serving hosts - those stay in, since their own deploys drop no request -
    and the result says so (C(kept_serving)).
  - A change goes through I(apply) (C(nginx -t); the previous files back when nginx refuses; then a reload). After
    a drain it waits until nginx's old workers, which finish the requests they have, have exited.
options:
  servers:
    description: The app hosts, in order - C(name) (the inventory name), C(address) and C(port) as the balancer
      reaches them.
    type: list
    elements: dict
    required: true
  drain:
    description: Hosts to mark down.
    type: list
    elements: str
    default: []
  undrain:
    description: Hosts to put back.
    type: list
    elements: str
    default: []
  name:
    description: The upstream's name (what the balancer's locations pass requests to).
    type: str
    default: appmount_fleet
  path:
    description: The nginx file of the upstream (in nginx's http context).
    type: path
    default: /etc/nginx/conf.d/appmount-balancer.conf
  state_file:
    description: Where the drained hosts are kept across runs.
    type: path
    default: /var/lib/appmount/balancer/state.json
  max_fails:
    description: Failed attempts within I(fail_timeout) after which nginx leaves a host out for I(fail_timeout).
    type: int
    default: 3
  fail_timeout:
    description: Seconds, see I(max_fails).
    type: int
    default: 10
  keepalive:
    description: Idle connections to the app hosts each nginx worker keeps open (0 - none).
    type: int
    default: 16
  apply:
    description: The nginx role's apply script (C(nginx_apply_command)).
    type: path
    required: true
  restore:
    description: More C(--restore PATH BEFORE) arguments for the apply script, for files the caller changed just
      before (put back too when nginx refuses the configuration).
    type: list
    elements: str
    default: []
  drain_timeout:
    description: Seconds to wait, after a drain, for nginx's old workers to finish their requests; past it the play
      goes on with a warning (those requests still finish).
    type: int
    default: 60
notes:
  - Supports check mode.
"""

EXAMPLES = r"""
- name: Drain the hosts of this batch
  appmount.wsgi.balancer_upstream:
    servers:
      - {name: app1, address: 10.0.0.11, port: 80}
      - {name: app2, address: 10.0.0.12, port: 80}
    drain: [app1]
    apply: /usr/local/sbin/appmount-nginx-apply
"""

RETURN = r"""
drained:
  description: The drained hosts after this run.
  type: list
  elements: str
  returned: always
kept_serving:
  description: Hosts asked to drain that stay in, since no other host would serve.
  type: list
  elements: str
  returned: always
"""

import os
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appmount.wsgi.plugins.module_utils.upstream import dump_state, load_state, next_state, render

SHUTTING_DOWN = "nginx: worker process is shutting down"
HEADER = "# Ansible managed: written by the appmount.wsgi.balancer_upstream module"


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write(module: AnsibleModule, path: str, content: str, mode: int) -> None:
    """``content`` to ``path`` atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".appmount-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(tmp, mode)
    module.atomic_move(tmp, path)


def wait_for_old_workers(module: AnsibleModule, timeout: int) -> bool:
    """Whether nginx's old workers exited within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        rc, _out, _err = module.run_command(["pgrep", "-f", SHUTTING_DOWN])
        if rc == 1:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "servers": {"type": "list", "elements": "dict", "required": True},
            "drain": {"type": "list", "elements": "str", "default": []},
            "undrain": {"type": "list", "elements": "str", "default": []},
            "name": {"type": "str", "default": "appmount_fleet"},
            "path": {"type": "path", "default": "/etc/nginx/conf.d/appmount-balancer.conf"},
            "state_file": {"type": "path", "default": "/var/lib/appmount/balancer/state.json"},
            "max_fails": {"type": "int", "default": 3},
            "fail_timeout": {"type": "int", "default": 10},
            "keepalive": {"type": "int", "default": 16},
            "apply": {"type": "path", "required": True},
            "restore": {"type": "list", "elements": "str", "default": []},
            "drain_timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    p = module.params
    servers = [{"name": str(s["name"]), "address": str(s["address"]), "port": int(s.get("port") or 80)}
               for s in p["servers"]]
    state_text = read(p["state_file"])
    state, kept = next_state(load_state(state_text), servers, p["drain"], p["undrain"])  # type: ignore[arg-type]
    content = render(p["name"], servers, state["drained"], p, HEADER)  # type: ignore[arg-type]
    before = read(p["path"])
    new_state = dump_state(state)
    changed = content != before or new_state != state_text
    if kept:
        module.warn(f"not drained, since no other app host would serve: {', '.join(kept)}")
    result = {"drained": state["drained"], "kept_serving": kept, "servers": servers}
    if module.check_mode or not (changed or p["restore"]):
        module.exit_json(changed=changed, **result)
    backup = "-"
    if content != before:
        if before is not None:
            fd, backup = tempfile.mkstemp(prefix="appmount-upstream-")
            os.close(fd)
            shutil.copy2(p["path"], backup)
        write(module, p["path"], content, 0o644)
    try:
        restores = (["--restore", p["path"], backup] if content != before else []) + p["restore"]
        rc, out, err = module.run_command([p["apply"], "--reload", *restores])
    finally:
        if backup != "-":
            os.unlink(backup)
    if rc != 0:
        module.fail_json(msg=f"nginx refused the balancer's configuration; it keeps serving the previous one: "
                             f"{err or out}", **result)
    write(module, p["state_file"], new_state, 0o644)
    newly_down = set(p["drain"]) & set(state["drained"])
    if newly_down and not wait_for_old_workers(module, p["drain_timeout"]):
        module.warn(f"nginx's old workers still finish requests after {p['drain_timeout']} s; the play goes on")
    module.exit_json(changed=True, **result)


if __name__ == "__main__":
    main()
