#!/usr/bin/python
# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the nginx sites of a host, test them, and remove the sites no longer listed, in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nginx_sites
short_description: The nginx sites of a host in one run, tested by nginx before they stay
version_added: 0.1.0
author: appmount.wsgi maintainers (@appmount)
description:
  - Used by the C(appmount.wsgi.nginx) role, through the action plugin of the same name, which renders I(files) and
    one file per site (I(site_src), with the variable C(site)) on the controller.
  - Writes each file whose content or mode differs (root-owned, atomically), points each site's link in
    I(enabled_dir) at its file in I(available_dir), removes I(absent), and removes the sites that an earlier run
    wrote (their file in I(available_dir) has a line starting with I(marker)) and that are no longer listed, each
    with the paths of I(gone) (C({name}) in a path is the site's name).
  - When anything nginx reads changed, runs I(apply) (the nginx role's script, C(nginx -t)); when nginx refuses the
    configuration, every file and link of this run is put back as it was and the task fails with nginx's error.
    Reloading is left to the role's handler.
options:
  files:
    description:
      - Files to write - C(path), C(content), C(mode), C(kind). The action plugin takes C(src) (a template of the
        role), C(dest) and optionally C(mode) (C(0644)) and C(kind), and renders them.
      - A file of C(kind=nginx) (the default) is read by nginx - put back when nginx refuses the run's configuration;
        any other kind (the apply script itself) is written first and stays.
    type: list
    elements: dict
    default: []
  sites:
    description:
      - The names of the sites, each a file in I(available_dir) linked from I(enabled_dir). The action plugin takes
        the sites' records (each with C(name)) and C(site_src), the template each is rendered from as C(site).
    type: list
    elements: str
    default: []
  available_dir:
    description: Where the sites' files are (Debian's C(/etc/nginx/sites-available)).
    type: path
    required: true
  enabled_dir:
    description: Where the links of the enabled sites are (Debian's C(/etc/nginx/sites-enabled)).
    type: path
    required: true
  marker:
    description: The start of a line that marks a file in I(available_dir) as a site of this module.
    type: str
    required: true
  gone:
    description:
      - Paths removed with a site no longer listed, C({name}) standing for its name. Its files and links are put back
        if nginx refuses the run; its directories (certificates, app locations) go only once nginx accepted it.
    type: list
    elements: str
    default: []
  directories:
    description: Directories that must exist, root-owned, mode 0755 (the webroot of ACME challenges).
    type: list
    elements: path
    default: []
  absent:
    description: Files, links or directories that must not exist (a directory goes only once nginx accepted the run).
    type: list
    elements: path
    default: []
  apply:
    description: The nginx role's script (I(nginx_apply_command)) - C(nginx -t), the files put back with C(--restore).
    type: path
    required: true
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
# Used by the appmount.wsgi.nginx role; see roles/nginx/tasks/configure.yml.
- name: Write the sites
  appmount.wsgi.nginx_sites:
    site_src: etc/nginx/sites-available/site.conf.j2
    sites: "{{ __nginx_sites }}"
    available_dir: /etc/nginx/sites-available
    enabled_dir: /etc/nginx/sites-enabled
    marker: "# appmount.wsgi site "
    apply: /usr/local/sbin/appmount-nginx-apply
"""

RETURN = r"""
removed_sites:
  description: The sites no longer listed that this run removed.
  type: list
  elements: str
  returned: always
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appmount.wsgi.plugins.module_utils.hostfiles import NGINX, HostFiles
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run


def listed_elsewhere(available_dir: str, marker: str, sites: list[str]) -> list[str]:
    """The sites whose file in ``available_dir`` carries ``marker`` and that ``sites`` does not list."""
    if not os.path.isdir(available_dir):
        return []
    gone = []
    for entry in sorted(os.listdir(available_dir)):
        name, ext = os.path.splitext(entry)
        if ext != ".conf" or name in sites or not os.path.isfile(os.path.join(available_dir, entry)):
            continue
        with open(os.path.join(available_dir, entry), encoding="utf-8", errors="replace") as handle:
            if any(line.startswith(marker) for line in handle):
                gone.append(name)
    return gone


def drop(files: HostFiles, path: str, later: list[str]) -> None:
    """Remove the file or link ``path`` (put back if nginx refuses the run's configuration); a directory (a gone
    site's certificates or app locations, which the apply script cannot put back) is left for ``later``, once nginx
    has accepted the run."""
    if os.path.isdir(path) and not os.path.islink(path):
        later.append(path)
    else:
        files.remove(path, NGINX)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "default": []},
            "sites": {"type": "list", "elements": "str", "default": []},
            "available_dir": {"type": "path", "required": True},
            "enabled_dir": {"type": "path", "required": True},
            "marker": {"type": "str", "required": True},
            "gone": {"type": "list", "elements": "str", "default": []},
            "absent": {"type": "list", "elements": "path", "default": []},
            "directories": {"type": "list", "elements": "path", "default": []},
            "apply": {"type": "path", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    run = Run(module)
    files = HostFiles(run)
    for path in params["directories"]:
        files.mkdir(path)
    ordered = sorted(params["files"], key=lambda entry: entry.get("kind", NGINX) == NGINX)  # the others first
    for entry in ordered:
        files.write(entry["path"], entry["content"], int(entry["mode"], 8), entry.get("kind", NGINX))
    for name in params["sites"]:
        files.link(f"{params['enabled_dir']}/{name}.conf", f"{params['available_dir']}/{name}.conf", NGINX)
    later: list[str] = []
    for path in params["absent"]:
        drop(files, path, later)
    gone = listed_elsewhere(params["available_dir"], params["marker"], params["sites"])
    for name in gone:
        for path in params["gone"]:
            drop(files, path.replace("{name}", name), later)
    if files.nginx_changed and not run.check:
        files.test_nginx(params["apply"])
    for path in later:
        files.remove(path)
    result = {"changed": run.changed, "removed_sites": gone}
    if module._diff:
        result["diff"] = run.diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
