# Copyright: appmount.wsgi maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The balancer's upstream of app hosts: which hosts are drained, and the nginx file that says so.

The drained set is the balancer's state across runs (a JSON file on the balancer): a host stays drained until a
deploy has passed its health gate and puts it back, whatever run comes next. A host the balancer has never seen
joins drained, so no request reaches it before its apps are deployed and checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict


class Server(TypedDict):
    name: str  # the app host's inventory name
    address: str  # how the balancer reaches it (an IP address or a DNS name)
    port: int


class State(TypedDict):
    members: list[str]  # every host the upstream had, drained or not
    drained: list[str]


def load_state(text: str | None) -> State:
    """The state file's content (None: no file yet); a file that is not this state counts as none."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    if not isinstance(data, Mapping):
        data = {}
    members = data.get("members")
    drained = data.get("drained")
    return {"members": [str(m) for m in members] if isinstance(members, list) else [],
            "drained": [str(d) for d in drained] if isinstance(drained, list) else []}


def dump_state(state: State) -> str:
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


def next_state(state: State, servers: Sequence[Server], drain: Iterable[str] = (),
               undrain: Iterable[str] = ()) -> tuple[State, list[str]]:
    """The state after draining ``drain`` and putting back ``undrain``, and what was kept serving.

    Hosts that left the group leave the state; new hosts join drained. Draining never takes the last serving
    hosts out: they stay in (their own deploys are zero-downtime), and are returned so the caller can say so.
    """
    names = [s["name"] for s in servers]
    known = set(state["members"])
    drained = {d for d in state["drained"] if d in names} | {n for n in names if n not in known}
    drained -= set(undrain)
    wanted = [n for n in drain if n in names]
    kept: list[str] = []
    if wanted:
        serving = [n for n in names if n not in drained and n not in wanted]
        if serving:
            drained |= set(wanted)
        else:
            kept = [n for n in wanted if n not in drained]
    return {"members": sorted(names), "drained": sorted(drained)}, kept


def render(name: str, servers: Sequence[Server], drained: Iterable[str], settings: Mapping[str, Any],
           header: str) -> str:
    """The upstream block for nginx's http context: every app host, drained ones ``down``. ``settings``:
    ``max_fails``, ``fail_timeout`` (seconds) and ``keepalive`` (idle connections kept per worker)."""
    down = set(drained)
    lines = [header.rstrip("\n"), "# appmount.wsgi balancer: the app hosts; drained ones are down",
             f"upstream {name} {{"]
    for server in servers:
        state = " down" if server["name"] in down else ""
        note = "drained" if server["name"] in down else "serving"
        lines.append(f"    server {_host(server['address'])}:{int(server['port'])} "
                     f"max_fails={int(settings['max_fails'])} fail_timeout={int(settings['fail_timeout'])}s{state};"
                     f"  # {server['name']} ({note})")
    if int(settings.get("keepalive") or 0) > 0:
        lines.append(f"    keepalive {int(settings['keepalive'])};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _host(address: str) -> str:
    """An IPv6 address in brackets, as nginx wants it before a port."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address
