"""Targets, and the results as JSON, a markdown table and a plot."""

from __future__ import annotations

import json
import math
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


def targets(ansible: dict[str, Any], serving: dict[str, Any]) -> list[dict[str, Any]]:
    idem, add = ansible.get("idempotent_s", {}), ansible.get("add_one_s", {})
    changed = ansible.get("idempotent_changed", {})
    return [
        _target("idempotent_50_over_1", _ratio(idem.get("50"), idem.get("1")), "<=", 1.5, "idempotent(50) / idempotent(1)"),
        _target("add_one_50_over_1", _ratio(add.get("50"), add.get("1")), "<=", 1.5, "add_one(50) / add_one(1)"),
        _target(
            "nginx_uwsgi_over_nginx_gunicorn",
            _ratio(serving.get("nginx_uwsgi_rps"), serving.get("nginx_gunicorn_rps")),
            ">=",
            2.0,
            "nginx_uwsgi_rps / nginx_gunicorn_rps",
        ),
        _target(
            "nginx_uwsgi_over_uwsgi_direct",
            _ratio(serving.get("nginx_uwsgi_rps"), serving.get("uwsgi_direct_rps")),
            ">=",
            0.7,
            "nginx_uwsgi_rps / uwsgi_direct_rps",
        ),
        _target("non_2xx", serving.get("non_2xx"), "==", 0, "non-2xx/3xx responses + socket errors, all serving runs"),
        _target(
            "idempotent_changed_0",
            max(changed.values()) if changed and all(v is not None for v in changed.values()) else None,
            "==",
            0,
            "largest changed= count of the idempotent re-runs",
        ),
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
