# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What no single app can be checked for: names unique on the host, mounts (and static URLs) unique per site."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.appmount.wsgi.plugins.plugin_utils import appspec
from ansible_collections.appmount.wsgi.plugins.plugin_utils.refusals import collector, item_label


def join_url(mount: str, url: str) -> str:
    """The full URL of ``url`` under ``mount`` ("/" + "/static" is "/static")."""
    return url if mount == "/" else mount + url


def is_live(app: Any) -> bool:
    """Absent apps are being removed: they cannot conflict with the others."""
    return isinstance(app, Mapping) and app.get("state", appspec.app_defaults()["state"]) != "absent"


def site_of(app: Mapping[str, Any], default_site: str | None) -> str | None:
    """The site that serves the app: its ``site``, else the first site's name (``default_site``)."""
    site = app.get("site")
    return site if isinstance(site, str) else default_site


def check_conflicts(apps: Sequence[Any], errors: list[str], default_site: str | None = None) -> None:
    """Add to ``errors`` each app whose name is taken on the host, or whose mount or static URL is taken on its site."""
    seen_names: dict[str, int] = {}
    seen_mounts: dict[tuple[str | None, str], int] = {}

    def on_site(site: str | None) -> str:
        return f" on site '{site}'" if site else ""

    for i, app in enumerate(apps):
        if not is_live(app):
            continue
        name, mount, site = app.get("name"), app.get("mount"), site_of(app, default_site)
        err = collector(errors, item_label("appmount_apps", i, app))
        if isinstance(name, str):
            if name in seen_names:
                err(f"name '{name}' is already used by appmount_apps[{seen_names[name]}]; names must be unique")
            seen_names.setdefault(name, i)
        if isinstance(mount, str):
            if (site, mount) in seen_mounts:
                other = apps[seen_mounts[(site, mount)]]
                err(f"mount '{mount}' is already used by app '{other.get('name')}'{on_site(site)}; "
                    "mounts must be unique per site")
            seen_mounts.setdefault((site, mount), i)
    for i, app in enumerate(apps):
        if not is_live(app) or not isinstance(app.get("static"), list) or not isinstance(app.get("mount"), str):
            continue
        site = site_of(app, default_site)
        for entry in app["static"]:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
                continue
            full = join_url(app["mount"], entry["url"])
            if (site, full) in seen_mounts:
                other = apps[seen_mounts[(site, full)]]
                collector(errors, item_label("appmount_apps", i, app))(
                    f"static url '{full}' collides with the mount of app '{other.get('name')}'{on_site(site)}; "
                    "choose another url")
