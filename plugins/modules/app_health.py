#!/usr/bin/python
# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ask nginx on the host itself for every app's prefix, in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: app_health
short_description: The HTTP status each app answers through nginx on the host itself
version_added: 0.1.0
author: appmount.wsgi maintainers (@appmount)
description:
  - Requests C(BASE_URL + path) of every app from the host itself, without following redirects, in one module run.
  - A deploy gate - fails when an app marked C(required) still answers 500 or more (or nothing) after I(retries)
    attempts one second apart, or at once when systemd gave up on its unit (C(failed), for example after its start
    limit), with the unit's last log lines.
options:
  base_url:
    description: Scheme, host and port of nginx as seen from the host, e.g. C(http://127.0.0.1:80).
    type: str
    required: true
  apps:
    description:
      - The apps (records of C(appmount.wsgi.apps_normalize)); each is asked for its C(location). Present apps are
        required to answer below 500; disabled apps are only reported; absent apps are skipped.
    type: list
    elements: dict
    required: true
  retries:
    description: Attempts for a required app before it counts as failing.
    type: int
    default: 15
notes:
  - Only reads; supports check mode.
"""

EXAMPLES = r"""
- name: Check that every app answers
  appmount.wsgi.app_health:
    base_url: http://127.0.0.1:80
    apps:
      - {name: blog, location: /blog/, state: present}
"""

RETURN = r"""
status:
  description: HTTP status per app name (0 when nothing answered).
  type: dict
  returned: always
"""

import time
import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appmount.wsgi.plugins.module_utils.app import App
from ansible_collections.appmount.wsgi.plugins.module_utils.runner import Run
from ansible_collections.appmount.wsgi.plugins.module_utils.systemd import Units


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def status_of(opener: urllib.request.OpenerDirector, url: str) -> int:
    try:
        with opener.open(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except (OSError, ValueError):
        return 0


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "base_url": {"type": "str", "required": True},
            "apps": {"type": "list", "elements": "dict", "required": True},
            "retries": {"type": "int", "default": 15},
        },
        supports_check_mode=True,
    )
    opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))
    base = module.params["base_url"].rstrip("/")
    apps: list[App] = [app for app in module.params["apps"] if app["state"] != "absent"]
    units = Units(Run(module))
    status: dict[str, int] = {}
    given_up: dict[str, str] = {}  # apps whose unit systemd gave up on: no need to wait for them
    failing: list[str] = []
    for attempt in range(max(1, module.params["retries"])):
        units.refresh([a["name"] for a in apps if a["state"] == "present" and a["name"] not in given_up])
        for app in apps:
            reason = units.failure(app["name"]) if app["state"] == "present" else None
            if reason:
                given_up[app["name"]] = reason
                status[app["name"]] = 0
            elif app["name"] not in given_up and (attempt == 0 or app["name"] in failing):
                status[app["name"]] = status_of(opener, base + app["location"])
        failing = [a["name"] for a in apps if a["state"] == "present" and not 0 < status[a["name"]] < 500]
        if not failing or set(failing) <= set(given_up):
            break
        time.sleep(1)
    if not failing:
        module.exit_json(changed=False, status=status)
    summary = ", ".join(f"{name} ({status[name] or 'no answer'})" for name in failing)
    reasons = "".join(f"\n\n{name}: {given_up[name]}" for name in failing if name in given_up)
    module.fail_json(msg=f"apps not serving through nginx: {summary}; journalctl -u appmount-app@NAME says why"
                         f"{reasons}", status=status)


if __name__ == "__main__":
    main()
