"""Targets, and the results as JSON, a markdown table and a plot."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

SERVING_LABELS = {
    "nginx_uwsgi": "nginx → uWSGI at /b1/ (deployed)",
    "uwsgi_direct": "uWSGI alone, http-socket :9090 (a connection per request)",
    "uwsgi_direct_http11": "uWSGI alone, http11-socket :9091 (keep-alive; extra)",
    "nginx_gunicorn": "nginx → gunicorn (sync), unix socket",
    "static": "static file via nginx /b1/static/",
}


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0 or math.isnan(num) or math.isnan(den):
        return None
    return round(num / den, 3)


def _target(name: str, value: float | None, op: str, limit: float, what: str) -> dict[str, Any]:
    passed = value is not None and (value <= limit if op == "<=" else value >= limit if op == ">=" else value == limit)
    return {"name": name, "what": what, "value": value, "op": op, "limit": limit, "pass": passed}


def derive(results: dict[str, Any]) -> None:
    """The figures computed from others: per-app build time, the floor ratio, the serving ratios per round."""
    ansible, serving = results.get("ansible", {}), results.get("serving", {})
    conv = {int(n): v for n, v in ansible.get("converge_s", {}).items() if v is not None}
    if len(conv) >= 2:
        lo, hi = min(conv), max(conv)
        ansible["per_app_build_s"] = round((conv[hi] - conv[lo]) / (hi - lo), 2)
    ansible["idempotent_over_floor"] = _ratio(ansible.get("idempotent_s", {}).get("1"), ansible.get("floor_s"))
    rounds = serving.get("per_round") or []
    for key, den in (("uwsgi_over_gunicorn", "nginx_gunicorn_rps"), ("uwsgi_over_keepalive", "uwsgi_keepalive_rps")):
        ratios = [r for r in (_ratio(x["nginx_uwsgi_rps"], x[den]) for x in rounds) if r is not None]
        if ratios:
            serving[key] = {"median": round(statistics.median(ratios), 3), "min": min(ratios), "max": max(ratios),
                            "per_round": ratios}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    ansible, serving = results.get("ansible", {}), results.get("serving", {})
    mem, scale, fleet = results.get("memory", {}), results.get("scale_to_zero", {}), results.get("fleet", {})
    idem, add = ansible.get("idempotent_s", {}), ansible.get("add_one_s", {})
    changed = ansible.get("idempotent_changed", {})
    n = str(scale.get("apps", 50))
    fleet_idem, fleet_cpu = fleet.get("idempotent_s", {}), fleet.get("cpu_s_per_host", {})
    return [
        _target("idempotent_over_floor", ansible.get("idempotent_over_floor"), "<=", 3.0, "idempotent(1) / floor (one-task playbook)"),
        _target("per_app_build_s", ansible.get("per_app_build_s"), "<=", 1.5, "(converge(50) - converge(1)) / 49, s per app"),
        _target("idempotent_50_over_1", _ratio(idem.get("50"), idem.get("1")), "<=", 1.2, "idempotent(50) / idempotent(1)"),
        _target("add_one_50_over_1", _ratio(add.get("50"), add.get("1")), "<=", 1.2, "add_one(50) / add_one(1)"),
        _target("idempotent_changed_0",
                max(changed.values()) if changed and all(v is not None for v in changed.values()) else None,
                "==", 0, "largest changed= count of the idempotent re-runs"),
        _target("fleet_idempotent_4_over_1", _ratio(fleet_idem.get("4"), fleet_idem.get("1")), "<=", 1.5,
                "fleet: idempotent(4 hosts) / idempotent(1 host)"),
        _target("fleet_cpu_per_host_4_over_1", _ratio(fleet_cpu.get("4"), fleet_cpu.get("1")), "<=", 1.1,
                "fleet: CPU s per host, 4 hosts / 1 host"),
        _target("nginx_uwsgi_over_nginx_gunicorn", (serving.get("uwsgi_over_gunicorn") or {}).get("median"), ">=", 2.0,
                "nginx_uwsgi_rps / nginx_gunicorn_rps, median of the rounds"),
        _target("nginx_uwsgi_over_uwsgi_keepalive", (serving.get("uwsgi_over_keepalive") or {}).get("median"), ">=", 0.8,
                "nginx_uwsgi_rps / uwsgi_keepalive_rps, median of the rounds"),
        _target("nginx_uwsgi_over_uwsgi_direct", _ratio(serving.get("nginx_uwsgi_rps"), serving.get("uwsgi_direct_rps")), ">=", 0.7,
                "nginx_uwsgi_rps / uwsgi_direct_rps (medians; earlier target)"),
        _target("non_2xx", serving.get("non_2xx"), "==", 0, "non-2xx/3xx responses + socket errors, all serving runs"),
        _target("idle_over_always_on", _ratio(mem.get(f"apps_{n}_idle_mb"), mem.get(f"apps_{n}_always_on_mb")), "<=", 0.05,
                f"apps_{n}_idle_mb / apps_{n}_always_on_mb"),
        _target("cold_start_s", scale.get("cold_start_s"), "<=", 1.5, "slowest first response after idling, s"),
        _target("scale_to_zero_failed", scale.get("failed"), "==", 0, "failed requests, scale-to-zero runs"),
        _target("scale_to_zero_idempotent_changed", scale.get("idempotent_changed"), "==", 0,
                "changed= of a run while the apps are idle"),
    ]


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _recap(run: dict[str, Any] | None) -> str:
    if not run:
        return "–"
    r = run.get("recap") or {}
    if not r:
        return f"rc={run.get('returncode')}, no recap"
    return f"ok={r['ok']} changed={r['changed']} failed={r['failed']} skipped={r['skipped']}"


def markdown(results: dict[str, Any]) -> str:
    meta, ansible, serving = results.get("meta", {}), results.get("ansible", {}), results.get("serving", {})
    out: list[str] = []
    src = meta.get("source", {})
    load = meta.get("load", {})
    dirty = ", dirty tree" if src.get("dirty") else ""
    commit = f"{src.get('commit', '?')[:10]}{dirty}"
    out.append(f"Bench of appmount.wsgi at {src.get('ref', '?')} ({commit}), {meta.get('started', '')}; total {_fmt(meta.get('total_s'))} s.")
    out.append("")
    out.append("### Playbook wall time (s)")
    out.append("")
    out.append("| apps (N) | converge | idempotent re-run | add one (N+1) | converge recap | idempotent recap | add-one recap |")
    out.append("|---:|---:|---:|---:|---|---|---|")
    runs = {r["label"]: r for r in ansible.get("runs", [])}
    for n in ansible.get("sizes", []):
        key = str(n)
        out.append(
            f"| {n} | {_fmt(ansible.get('converge_s', {}).get(key))} | {_fmt(ansible.get('idempotent_s', {}).get(key))} | "
            f"{_fmt(ansible.get('add_one_s', {}).get(key))} | {_recap(runs.get(f'converge-{n}'))} | "
            f"{_recap(runs.get(f'idempotent-{n}'))} | {_recap(runs.get(f'add-one-{n}'))} |"
        )
    out.append("")
    out.append(
        f"Floor (a one-task `ansible.builtin.ping` playbook, no facts, same container and ansible.cfg): "
        f"{_fmt(ansible.get('floor_s'), 2)} s (runs {ansible.get('floor_runs_s', [])}); idempotent(1) / floor = "
        f"{_fmt(ansible.get('idempotent_over_floor'), 2)}. Per-app build time of the first converge: "
        f"{_fmt(ansible.get('per_app_build_s'), 2)} s."
    )
    mitogen = ansible.get("mitogen") or {}
    if mitogen:
        out.append("")
        out.append(
            f"Mitogen {mitogen.get('version')} side by side (strategy {mitogen.get('strategy')}, same container): idempotent(1) "
            f"{_fmt(mitogen.get('idempotent_s'), 2)} s (changed= {mitogen.get('idempotent_changed')}), floor {_fmt(mitogen.get('floor_s'), 2)} s; "
            f"failed runs: {', '.join(mitogen.get('failed_runs') or []) or 'none'}."
        )
    out.extend(_builds(results.get("builds") or {}))
    if serving.get("per_round"):
        out.append("")
        out.append("### Serving rounds (req/s)")
        out.append("")
        out.append("| round | nginx → uWSGI | nginx → gunicorn | uWSGI keep-alive | uWSGI / gunicorn | nginx → uWSGI / keep-alive |")
        out.append("|---:|---:|---:|---:|---:|---:|")
        for i, r in enumerate(serving["per_round"], 1):
            out.append(
                f"| {i} | {_fmt(r['nginx_uwsgi_rps'], 0)} | {_fmt(r['nginx_gunicorn_rps'], 0)} | {_fmt(r['uwsgi_keepalive_rps'], 0)} | "
                f"{_fmt(_ratio(r['nginx_uwsgi_rps'], r['nginx_gunicorn_rps']), 2)} | {_fmt(_ratio(r['nginx_uwsgi_rps'], r['uwsgi_keepalive_rps']), 2)} |"
            )
        for key, what in (("uwsgi_over_gunicorn", "nginx → uWSGI / nginx → gunicorn"), ("uwsgi_over_keepalive", "nginx → uWSGI / uWSGI keep-alive")):
            spread = serving.get(key) or {}
            if spread:
                out.append(f"\n{what}: median {_fmt(spread['median'], 2)}, rounds {_fmt(spread['min'], 2)}–{_fmt(spread['max'], 2)}.")
    out.extend(_memory(results.get("memory") or {}, results.get("scale_to_zero") or {}))
    out.extend(_fleet(results.get("fleet") or {}))
    if serving.get("runs"):
        out.append("")
        out.append(
            f"### Serving the bench app (wrk -t{load.get('threads')} -c{load.get('connections')} -d{load.get('duration_s')}s"
            f" after a {load.get('warmup_s')} s warmup, inside the container)"
        )
        out.append("")
        out.append(f"Medians of {serving.get('rounds')} interleaved rounds; the range is the lowest and highest round.")
        out.append("")
        out.append("| path | req/s | req/s range | p50 ms | p99 ms | server CPU µs/req | non-2xx + socket errors |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, run in serving["runs"].items():
            out.append(
                f"| {SERVING_LABELS.get(name, name)} | {_fmt(run['rps'], 0)} | {_fmt(run['rps_min'], 0)}–{_fmt(run['rps_max'], 0)} | "
                f"{_fmt(run['p50_ms'], 2)} | {_fmt(run['p99_ms'], 2)} | {_fmt(run.get('server_cpu_us_per_req'), 0)} | {run['errors']} |"
            )
    out.append("")
    out.append("### Targets")
    out.append("")
    out.append("| target | value | limit | result |")
    out.append("|---|---:|---:|---|")
    for t in results.get("targets", []):
        out.append(f"| {t['what']} | {_fmt(t['value'], 2)} | {t['op']} {t['limit']} | {'PASS' if t['pass'] else 'FAIL'} |")
    tuning = results.get("tuning") or []
    if tuning:
        base = tuning[0]["rps"]
        out.append("")
        tl = meta.get("tuning_load", {})
        out.append("### Tuning, nginx → uWSGI at /b1/")
        out.append("")
        out.append(
            f"wrk -t{tl.get('threads')} -c{tl.get('connections')} -d{tl.get('duration_s')}s after {tl.get('warmup_s')} s warmup; "
            f"medians of {meta.get('tuning_rounds')} interleaved rounds (each variant restarts uWSGI and reloads nginx)."
        )
        out.append("")
        out.append("| variant | req/s | req/s range | vs baseline | p50 ms | p99 ms | server CPU µs/req | errors |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for t in tuning:
            delta = f"{(t['rps'] / base - 1) * 100:+.1f} %" if base else "–"
            out.append(
                f"| {t['variant']} | {_fmt(t['rps'], 0)} | {_fmt(t['rps_min'], 0)}–{_fmt(t['rps_max'], 0)} | {delta} | "
                f"{_fmt(t['p50_ms'], 2)} | {_fmt(t['p99_ms'], 2)} | {_fmt(t.get('server_cpu_us_per_req'), 0)} | {t['errors']} |"
            )
    return "\n".join(out) + "\n"


def _builds(builds: dict[str, Any]) -> list[str]:
    if not builds:
        return []
    med, samples = builds["median_s"], builds["samples_s"]
    out = ["", f"### Building one release's venv (flask), {builds['rounds']} rounds, medians (s)", "",
           "| method | median | rounds |", "|---|---:|---|"]
    labels = {"venv_pip": "python3 -m venv + pip (ensurepip; before)", "wheel_pip": "venv --without-pip + Debian's pip wheel (app_deploy with pip)",
              "uv": f"uv venv + uv pip install ({builds.get('uv_version', 'uv')}, app_deploy's default)"}
    for name, value in med.items():
        out.append(f"| {labels.get(name, name)} | {_fmt(value, 2)} | {', '.join(_fmt(v, 2) for v in samples[name])} |")
    return out


def _fleet(fleet: dict[str, Any]) -> list[str]:
    if not fleet.get("idempotent_s"):
        return []
    out = ["", f"### Fleet: the same {fleet['apps_per_host']} apps on 1 and on 4 hosts (one batch, forks 20, pipelining)", "",
           "| hosts | idempotent run (s) | changed= (largest) | CPU s per host | controller CPU s | hosts' CPU s |",
           "|---:|---:|---:|---:|---:|---|"]
    for count, seconds in fleet["idempotent_s"].items():
        cpu = fleet["cpu"][count]
        out.append(f"| {count} | {_fmt(seconds)} | {fleet['changed'].get(count)} | {_fmt(cpu['per_host_s'], 2)} | "
                   f"{_fmt(cpu['controller_s'], 2)} | {', '.join(_fmt(h, 2) for h in cpu['hosts_s'])} |")
    return out


def _memory(mem: dict[str, Any], scale: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if "app_rss_mb" in mem:
        app, gun = mem["app"], mem["gunicorn"]
        out += ["", "### Memory after a request (MB; PSS, RSS beside it)", "",
                "| what | PSS | RSS | processes |", "|---|---:|---:|---:|",
                f"| b1 under uWSGI (its unit's master and workers) | {_fmt(app['pss_mb'])} | {_fmt(app['rss_mb'])} | {app['processes']} |",
                f"| b1 under gunicorn (sync, same process count) | {_fmt(gun['pss_mb'])} | {_fmt(gun['rss_mb'])} | {gun['processes']} |"]
    if scale:
        n = scale["apps"]
        on, idle = mem.get(f"apps_{n}_always_on") or {}, mem.get(f"apps_{n}_idle") or {}
        out += ["", f"### Scale to zero, {n} apps (idle_timeout {scale['idle_timeout_s']} s)", "",
                "| what | value |", "|---|---:|",
                f"| always on, after one request each: PSS / RSS MB, processes | {_fmt(on.get('pss_mb'))} / {_fmt(on.get('rss_mb'))}, {on.get('processes')} |",
                f"| idle timeout passed: PSS / RSS MB, processes | {_fmt(idle.get('pss_mb'))} / {_fmt(idle.get('rss_mb'))}, {idle.get('processes')} |",
                f"| every app stopped, seconds after the last request to them | {_fmt(scale.get('idle_wait_s'))} |",
                f"| apps idle when the idempotent run started | {scale.get('idle_before_run')} |",
                f"| changed= of that run | {scale.get('idempotent_changed')} |",
                f"| first response after idling, {len(scale.get('cold_starts', []))} apps (s) | "
                f"{', '.join(_fmt(c['seconds'], 3) for c in scale.get('cold_starts', []))} |",
                f"| failed requests | {scale.get('failed')} |"]
        for run in scale.get("runs", []):
            out.append(f"| {run['label']} playbook (s), recap | {_fmt(run['seconds'])}, {_recap(run)} |")
    return out


def plot(path: Path, ansible: dict[str, Any]) -> bool:
    """Playbook wall time against the number of apps: converge, idempotent, add-one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    drawn = False
    for key, label, marker in (("converge_s", "first converge", "o"), ("idempotent_s", "idempotent re-run", "s"), ("add_one_s", "add one app (N → N+1)", "^")):
        points = sorted((int(n), s) for n, s in ansible.get(key, {}).items() if s is not None)
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker=marker, label=label)
            for x, y in points:
                ax.annotate(f"{y:.0f}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
            drawn = True
    if ansible.get("floor_s"):
        ax.axhline(ansible["floor_s"], color="grey", linestyle="--", linewidth=1)
        ax.annotate(f"floor: a one-task playbook, {ansible['floor_s']:.1f} s", (0.01, ansible["floor_s"]), xycoords=("axes fraction", "data"),
                    textcoords="offset points", xytext=(0, 3), fontsize=8, color="grey")
        ax.axhline(3 * ansible["floor_s"], color="grey", linestyle=":", linewidth=1)
        ax.annotate("3 × floor (idempotent target)", (0.01, 3 * ansible["floor_s"]), xycoords=("axes fraction", "data"),
                    textcoords="offset points", xytext=(0, 3), fontsize=8, color="grey")
    ax.set_xlabel("number of apps N (copies of the bench Flask app)")
    ax.set_ylabel("ansible-playbook wall time (s)")
    ax.set_title("appmount.wsgi playbooks/site.yml, one Debian 12 container, 2 cores")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    if drawn:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return drawn
