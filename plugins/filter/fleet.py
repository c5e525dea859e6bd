# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet of app hosts behind balancers: how a balancer reaches each app host, what a rollout did on each host,
and the fleet's summary (``playbooks/site.yml``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any, Callable


def balancer_server(host: Mapping[str, Any], port: int = 80) -> dict[str, Any]:
    """How the balancer reaches an app host (its hostvars): ``balancer_backend_address``, else ``ansible_host``,
    else its inventory name; ``balancer_backend_port`` (a host variable) or ``port``."""
    name = str(host.get("inventory_hostname"))
    address = host.get("balancer_backend_address") or host.get("ansible_host") or name
    return {"name": name, "address": str(address), "port": int(host.get("balancer_backend_port") or port)}


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return address == "localhost" or address.startswith("localhost.")


def balancer_errors(hosts: Sequence[Mapping[str, Any]], group: str, port: int = 80) -> list[str]:
    """What keeps the balancer from reaching the app hosts (their hostvars), naming the host and the field."""
    if not hosts:
        return [f"balancer_group: the inventory group {group!r} has no app hosts for the balancer"]
    errors = []
    seen: dict[tuple[str, int], str] = {}
    for host in hosts:
        server = balancer_server(host, port)
        if _loopback(server["address"]):
            errors.append(f"{server['name']}: the balancer would reach it at {server['address']}, its own loopback; "
                          "set the host's balancer_backend_address to an address the balancer reaches it at")
        key = (server["address"], server["port"])
        if key in seen:
            errors.append(f"{server['name']}: balancer_backend_address {server['address']} is also "
                          f"{seen[key]}'s; each app host needs its own")
        seen.setdefault(key, server["name"])
    return errors


def rollout_apps(apps: Sequence[Mapping[str, Any]], deployed: Mapping[str, Any] | None,
                 health: Mapping[str, Any] | None, sites: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per app of a host, what its summary shows and what a probe from the balancer needs: the app's record
    (``apps_normalize``) with its release (``app_deploy``), the status its health gate saw (``app_health``) and
    the name its site answers to."""
    names = {str(site.get("name")): str(site.get("server_name") or "") for site in sites}
    first = str(sites[0].get("name")) if sites else ""
    releases = (deployed or {}).get("apps") or {}
    status = (health or {}).get("status") or {}
    keep = ("name", "state", "location", "mount", "site", "socket", "prefix_check")
    result = []
    for app in apps:
        entry = {key: app[key] for key in keep if key in app}
        entry["site"] = str(app.get("site") or first)
        entry["server_name"] = names.get(entry["site"], "")
        entry["release"] = str((releases.get(app["name"]) or {}).get("release") or "-")
        entry["status"] = int(status[app["name"]]) if app["name"] in status else None
        result.append(entry)
    return result


def probe_sites(apps: Sequence[Mapping[str, Any]], url: str) -> list[dict[str, Any]]:
    """``app_health``'s sites for a probe of an app host at ``url`` (its plain-HTTP address, as the balancer
    reaches it): one per site its apps are on, by the name the site answers to. The first is a placeholder, as
    ``app_health`` asks the apps of the first of its sites through its own ``base_url``."""
    sites: dict[str, dict[str, Any]] = {}
    for app in apps:
        sites.setdefault(str(app["site"]), {"name": str(app["site"]), "url": url,
                                            "server_name": app.get("server_name") or None, "ca_file": None})
    return [{"name": "", "url": url, "server_name": None, "ca_file": None}, *list(sites.values())]


def fleet_summary(hosts: Sequence[Mapping[str, Any]], upstreams: Sequence[Mapping[str, Any]] = (),
                  probes: Sequence[Mapping[str, Any]] = (), lost: Sequence[str] = ()) -> list[str]:
    """The fleet's summary, line by line.

    ``hosts``: the hostvars of the app hosts in rollout order, with the facts the rollout recorded
    (``appmount_rollout``: passed or failed, none when not attempted; ``appmount_rollout_error``;
    ``appmount_rollout_apps``: ``rollout_apps``). ``upstreams``: per balancer, the result of reading its upstream
    (``item``: the balancer, ``drained``). ``probes``: per app host, the result of probing it from the first
    balancer (``item.name``, ``status`` per app). ``lost``: the hosts Ansible dropped (unreachable, or failed
    outside their deploy).
    """
    drained_on = {str(u.get("item")): list(u.get("drained") or []) for u in upstreams if "drained" in u}
    probed = {str((p.get("item") or {}).get("name")): p.get("status") or {} for p in probes if "status" in p}
    rows = []
    for host in hosts:
        name = str(host.get("inventory_hostname"))
        rollout = "dropped" if name in lost else str(host.get("appmount_rollout") or "not attempted")
        on_balancer = ("-" if not drained_on else
                       "drained" if any(name in drained for drained in drained_on.values()) else "serving")
        for app in host.get("appmount_rollout_apps") or [{}]:
            status = app.get("status")
            # a row without an app (a host not attempted, or without apps) was never probed
            probe = (probed.get(name) or {}).get(str(app["name"])) if drained_on and "name" in app else "-"
            rows.append((name, rollout, str(app.get("name", "-")), str(app.get("release", "-")),
                         "-" if status is None else str(status), on_balancer,
                         "-" if probe == "-" else "no answer" if not probe else str(probe)))
    header = ("host", "rollout", "app", "release", "gate", "balancer", "probe")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = ["  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[-1] for row in [header, *rows]]
    for host in hosts:
        if host.get("appmount_rollout") == "failed":
            lines.append(f"{host.get('inventory_hostname')} failed: {host.get('appmount_rollout_error')}")
    for balancer, drained in drained_on.items():
        state = f"drained: {', '.join(drained)}" if drained else "every app host serving"
        lines.append(f"balancer {balancer}: {state}")
    return lines


class FilterModule:
    """appmount.wsgi fleet filters."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"balancer_server": balancer_server, "balancer_errors": balancer_errors, "rollout_apps": rollout_apps,
                "probe_sites": probe_sites, "fleet_summary": fleet_summary}
