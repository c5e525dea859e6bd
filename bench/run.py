"""`make bench`: playbook wall time against the number of apps, and serving speed.

1. Playbook scale: for each N (default 1, 10, 50) a fresh Debian 12 container
   of the test image gets N copies of bench/app (b1..bN at /b1../bN); timed:
   the first converge, the idempotent re-run (must report changed=0) and, for
   some N, adding one app (N+1).
2. Serving (in the N=1 container): wrk inside the container against
   127.0.0.1 only: nginx -> uWSGI, uWSGI alone, nginx -> gunicorn, a static file.
3. Tuning: uWSGI / nginx variants on nginx -> uWSGI.

Writes bench/results/latest.json, latest.md and playbook_time.png. Exits 0
even when a target is missed, unless --strict. Containers are removed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

import builds
import fleet
import memory
import report
import wrk
from container import NAME_PREFIX, BenchError, Container
from playbook import PlaybookRun, Runner, write_apps_file, write_inventory
from serving import GUNICORN_DIR, URLS, Serving
from tuning import VARIANTS, Tuning

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# What the warm caches hold: Debian packages the playbook and the bench install,
# and wheels for the apps' venvs and the gunicorn venv (pip's find-links).
APT_WARM = ["nginx", "uwsgi", "uwsgi-plugin-python3", "python3-venv", "python3-packaging", "wrk"]
# uv: the apps role installs it on each host (apps_uv_version) before it builds
UV_VERSION = yaml.safe_load((ROOT / "roles" / "apps" / "defaults" / "main.yml").read_text())["apps_uv_version"]
PIP_WARM = ["flask>=3,<4", "gunicorn", f"uv=={UV_VERSION}"]
WHEELHOUSE = "/root/.cache/pip/wheelhouse"
IDLE_S = 16  # the bench apps' idle_timeout in the scale-to-zero runs: the shortest the default start limit allows
FLOOR_RUNS = 3  # one-task playbooks timed on the N = 1 container (median)
COLD_APPS = 5  # idle apps whose first request is timed


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sizes(text: str) -> list[int]:
    return sorted({int(n) for n in text.split(",") if n.strip()})


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=sizes, default=[1, 10, 50], help="numbers of apps (default 1,10,50)")
    p.add_argument("--add-one", type=sizes, default=[1, 50], help="sizes that also time adding one app (default 1,50)")
    p.add_argument("--ref", default="", help="bench this git ref (exported with git archive) instead of the work tree")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=int, default=10, help="seconds of each measured wrk run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of the wrk warmup before each run")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the serving runs (medians are reported; 0: tuning only)")
    p.add_argument("--build-rounds", type=int, default=3, help="rounds of the venv build methods side by side (0: skip)")
    p.add_argument("--tuning-rounds", type=int, default=3, help="interleaved rounds of the tuning variants")
    p.add_argument("--tuning-duration", type=int, default=5, help="seconds of each measured tuning run")
    p.add_argument(
        "--variants",
        type=lambda text: [w for w in text.split(",") if w],
        default=[],
        help="only the tuning variants whose name contains one of these comma-separated words (and the baseline)",
    )
    p.add_argument("--fleet-apps", type=int, default=10, help="apps per host of the fleet runs (0: skip the fleet)")
    p.add_argument("--no-mitogen", dest="mitogen", action="store_false", help="skip the Mitogen runs beside Ansible's own strategy")
    p.add_argument("--no-serving", action="store_true", help="skip the serving runs (and the tuning)")
    p.add_argument("--no-tuning", action="store_true", help="skip the tuning experiments")
    p.add_argument("--results", type=Path, default=BENCH / "results")
    p.add_argument("--keep", action="store_true", help="leave the containers running (debugging)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return p.parse_args(argv)


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def source_tree(ref: str, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """The collection checkout to run: the work tree, or `ref` exported into workdir."""
    if not ref:
        dirty = bool(git("status", "--porcelain", "--", "roles", "plugins", "playbooks"))
        return ROOT, {"ref": "work tree", "commit": git("rev-parse", "HEAD"), "dirty": dirty}
    dest = workdir / "src"
    dest.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest, {"ref": ref, "commit": git("rev-parse", f"{ref}^{{commit}}"), "dirty": False}


def warm_caches(pip_cache: Path, apt_cache: Path) -> dict[str, Any]:
    """Fill the host cache directories once (a marker records what they hold)."""
    spec = json.dumps({"apt": APT_WARM, "pip": PIP_WARM})
    marker = pip_cache / ".bench-warm"
    wanted = hashlib.sha256(spec.encode()).hexdigest()[:16]
    if marker.exists() and marker.read_text().strip() == wanted:
        return {"warmed_now": False}
    log("pre-warming the apt and pip caches (once)")
    box = Container(f"{NAME_PREFIX}-warm-{os.getpid()}", pip_cache, apt_cache)
    start = time.monotonic()
    try:
        box.start()
        box.sh(
            f"apt-get update -qq && apt-get install -y -qq --download-only {' '.join(APT_WARM)} >/dev/null"
            " && apt-get install -y -qq python3-venv >/dev/null"
            f" && python3 -m venv /tmp/warm && /tmp/warm/bin/pip download -q -d {WHEELHOUSE} "
            + " ".join(f"'{p}'" for p in PIP_WARM),
            timeout=900,
        )
    finally:
        box.remove()
    marker.write_text(wanted + "\n")
    return {"warmed_now": True, "warm_s": round(time.monotonic() - start, 1)}


def start_box(name: str, pip_cache: Path, apt_cache: Path) -> Container:
    box = Container(name, pip_cache, apt_cache)
    box.start()
    # pip (uv's install, the gunicorn venv) and uv (the apps' venvs) take the pre-downloaded wheels (still resolving
    # against the index); uv reads its own file, and without it the role would build with pip (pip.conf names a source)
    box.write("/etc/pip.conf", f"[global]\nfind-links = {WHEELHOUSE}\n")
    box.sh("mkdir -p /etc/uv")
    box.write("/etc/uv/uv.toml", f'find-links = ["{WHEELHOUSE}"]\n')
    return box


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.monotonic()
    results_dir: Path = args.results
    (results_dir / "logs").mkdir(parents=True, exist_ok=True)
    pip_cache, apt_cache = ROOT / ".cache" / "bench-pip", ROOT / ".cache" / "bench-apt"
    pip_cache.mkdir(parents=True, exist_ok=True)
    apt_cache.mkdir(parents=True, exist_ok=True)
    load = wrk.Load(args.threads, args.connections, args.duration, args.warmup)
    workdir = Path(tempfile.mkdtemp(prefix="appmount-bench-"))
    boxes: list[Container] = []
    ansible: dict[str, Any] = {"sizes": args.sizes, "converge_s": {}, "idempotent_s": {}, "add_one_s": {}, "idempotent_changed": {}, "runs": []}
    serving: dict[str, Any] = {}
    tuning: list[dict[str, Any]] = []
    mem: dict[str, Any] = {}
    scale: dict[str, Any] = {}
    build_methods: dict[str, Any] = {}
    fleet_result: dict[str, Any] = {}
    scratch: list[Path] = []  # directories removed at the end
    meta: dict[str, Any] = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "host": {"nproc": os.cpu_count(), "loadavg_start": os.getloadavg()},
        "load": vars(load),
        "rounds": args.rounds,
        "tuning_load": vars(wrk.Load(args.threads, args.connections, args.tuning_duration, args.warmup)),
        "tuning_rounds": args.tuning_rounds,
        "image": "appmount-test/debian:12",
        "argv": sys.argv[1:] if argv is None else argv,
    }
    error: str | None = None
    failed: list[str] = []  # labels of playbook runs that failed
    try:
        subprocess.run([str(ROOT / "scripts" / "build-images.sh"), "12"], check=True)
        meta["caches"] = warm_caches(pip_cache, apt_cache)
        source_root, meta["source"] = source_tree(args.ref, workdir)
        runner = Runner(source_root, ROOT / ".venv" / "bin", BENCH, results_dir / "logs")
        log(f"benching {meta['source']['ref']} ({meta['source']['commit'][:10]}), sizes {args.sizes}, add-one {args.add_one}")

        def record(run: PlaybookRun, key: str) -> PlaybookRun:
            ansible["runs"].append(run.to_json())
            if not run.ok:
                failed.append(run.label)
            if run.ok:
                ansible[key][str(run.apps if key != "add_one_s" else run.apps - 1)] = run.seconds
            log(f"{run.label:<16} {run.seconds:8.1f} s  rc={run.returncode}  {run.recap}")
            return run

        serving_sizes = [1] if 1 in args.sizes else []
        for n in args.sizes:
            # the pid keeps two bench runs on one host from removing each other's containers
            box = start_box(f"{NAME_PREFIX}-n{n}-{os.getpid()}", pip_cache, apt_cache)
            boxes.append(box)
            inventory = write_inventory(workdir, box.name)
            converge = record(runner.run(f"converge-{n}", box.name, inventory, write_apps_file(workdir, n), n), "converge_s")
            if not converge.ok:
                log(f"converge of {n} apps failed: see {converge.log}")
                continue
            idem = record(runner.run(f"idempotent-{n}", box.name, inventory, write_apps_file(workdir, n), n), "idempotent_s")
            ansible["idempotent_changed"][str(n)] = idem.recap.get("changed") if idem.ok else None
            if n == min(args.sizes):
                floors = [runner.floor(f"floor-{i + 1}", box.name, inventory) for i in range(FLOOR_RUNS)]
                ansible["floor_runs_s"] = [r.seconds for r in floors if r.ok]
                ansible["floor_s"] = statistics.median(ansible["floor_runs_s"]) if ansible["floor_runs_s"] else None
                ansible["floor_apps"] = n
                log(f"floor (one-task playbook) {ansible['floor_runs_s']} s, median {ansible['floor_s']}")
                if args.mitogen:
                    ansible["mitogen"] = with_mitogen(runner, box, workdir, n)
            if n in args.add_one:
                record(runner.run(f"add-one-{n}", box.name, inventory, write_apps_file(workdir, n + 1), n + 1), "add_one_s")
            if n in serving_sizes and not args.no_serving:
                serving, tuning, mem = serve(box, load, args)
            if n == min(args.sizes) and args.build_rounds:
                log(f"builds: venv+pip, wheel pip and uv side by side, {args.build_rounds} rounds")
                build_methods = builds.measure(box, args.build_rounds, UV_VERSION)
                log(f"builds: medians {build_methods['median_s']}")
            if n == max(args.sizes) and n >= COLD_APPS:
                scale = scale_to_zero(box, runner, inventory, workdir, n, n + 1 if n in args.add_one else n)
            if not args.keep:
                box.remove()
        if not serving_sizes and not args.no_serving:
            box = start_box(f"{NAME_PREFIX}-serve-{os.getpid()}", pip_cache, apt_cache)
            boxes.append(box)
            run = runner.run("converge-serving", box.name, write_inventory(workdir, box.name), write_apps_file(workdir, 1), 1)
            if not run.ok:
                raise BenchError(f"deploying the serving app failed: see {run.log}")
            serving, tuning, mem = serve(box, load, args)
        if args.fleet_apps:
            log(f"fleet: {fleet.HOSTS} hosts against 1, {args.fleet_apps} apps each")

            def fleet_box(label: str) -> Container:
                # apt locks its archive directory: hosts that converge together each get their own (hard links)
                own_apt = apt_cache.parent / f"bench-apt-{label}-{os.getpid()}"  # beside it: same file system
                scratch.append(own_apt)
                subprocess.run(["cp", "-al", str(apt_cache), str(own_apt)], check=True)
                for path in (own_apt / "lock", own_apt / "partial"):
                    subprocess.run(["rm", "-rf", str(path)], check=True)
                (own_apt / "partial").mkdir()
                box = start_box(f"{NAME_PREFIX}-{label}-{os.getpid()}", pip_cache, own_apt)
                boxes.append(box)
                return box

            fleet_result = fleet.measure(fleet_box, runner, workdir, args.fleet_apps, log)
    except BenchError as exc:
        error = str(exc)
        log(f"ERROR: {error}")
    finally:
        if not args.keep:
            for box in boxes:
                box.remove()
        shutil.rmtree(workdir, ignore_errors=True)
        for path in scratch:
            shutil.rmtree(path, ignore_errors=True)
    if failed and not error:
        error = f"playbook runs failed: {', '.join(failed)} (logs in {results_dir / 'logs'})"
        log(f"ERROR: {error}")
    meta["host"]["loadavg_end"] = os.getloadavg()
    meta["total_s"] = round(time.monotonic() - t0, 1)
    meta["error"] = error
    mem.update(scale.pop("memory", {}))
    results = {"meta": meta, "ansible": ansible, "serving": serving, "memory": mem, "scale_to_zero": scale, "builds": build_methods,
               "fleet": fleet_result, "tuning": tuning}
    report.derive(results)
    results["targets"] = report.targets(results)
    report.write_json(results_dir / "latest.json", results)
    (results_dir / "latest.md").write_text(report.markdown(results))
    report.plot(results_dir / "playbook_time.png", ansible)
    print()
    print(report.markdown(results))
    missed = [t["name"] for t in results["targets"] if not t["pass"]]
    log(f"wrote {results_dir}/latest.json, latest.md, playbook_time.png in {meta['total_s']} s")
    log("targets: all met" if not missed else f"targets MISSED: {', '.join(missed)}")
    if error:
        return 2
    return 1 if args.strict and missed else 0


def with_mitogen(runner: Runner, box: Container, workdir: Path, n: int) -> dict[str, Any]:
    """The idempotent run and the floor again with Mitogen's strategy (mitogen_linear), side by side: measured, not
    adopted. Mitogen accelerates the connection named `docker` (not its FQCN), so its inventory says `docker`."""
    where = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", "import ansible_mitogen, mitogen, os; "
                            "print(os.path.dirname(ansible_mitogen.__file__)); print('.'.join(map(str, mitogen.__version__)))"],
                           capture_output=True, text=True, check=True).stdout.split()
    env = {"ANSIBLE_STRATEGY_PLUGINS": f"{where[0]}/plugins/strategy", "ANSIBLE_STRATEGY": "mitogen_linear"}
    inventory = write_inventory(workdir, box.name, connection="docker")
    result: dict[str, Any] = {"version": where[1], "strategy": "mitogen_linear", "runs": []}
    idem = [runner.run(f"mitogen-idempotent-{n}-{i + 1}", box.name, inventory, write_apps_file(workdir, n), n, extra_env=env) for i in range(FLOOR_RUNS)]
    floors = [runner.floor(f"mitogen-floor-{i + 1}", box.name, inventory, env) for i in range(FLOOR_RUNS)]
    result["runs"] = [r.to_json() for r in idem + floors]
    ok_idem, ok_floor = [r.seconds for r in idem if r.ok], [r.seconds for r in floors if r.ok]
    result["idempotent_s"] = statistics.median(ok_idem) if ok_idem else None
    result["floor_s"] = statistics.median(ok_floor) if ok_floor else None
    result["idempotent_changed"] = [r.recap.get("changed") for r in idem]
    result["failed_runs"] = [r.label for r in idem + floors if not r.ok]
    log(f"mitogen {result['version']}: idempotent {ok_idem} s (changed {result['idempotent_changed']}), floor {ok_floor} s,"
        f" failed runs {result['failed_runs']}")
    return result


def idle_run(runner: Runner, result: dict[str, Any], label: str, box: Container, inventory: Path, apps_file: Path, apps: int) -> PlaybookRun:
    """A playbook run of the scale-to-zero part, recorded in its result; the part stops when it fails."""
    run = runner.run(label, box.name, inventory, apps_file, apps)
    result["runs"].append(run.to_json())
    log(f"{label:<16} {run.seconds:8.1f} s  rc={run.returncode}  {run.recap}")
    if not run.ok:
        raise BenchError(f"{label} failed: see {run.log}")
    return run


def scale_to_zero(box: Container, runner: Runner, inventory: Path, workdir: Path, n: int, deployed: int) -> dict[str, Any]:
    """Memory of n always-on apps after a request each; the same apps with idle_timeout after it has passed; a run
    while they are idle (changed=0); the first request of COLD_APPS idle apps."""
    names = [f"b{i}" for i in range(1, n + 1)]
    result: dict[str, Any] = {"apps": n, "idle_timeout_s": IDLE_S, "runs": []}
    failed = [f"always on: {f}" for f in memory.touch_all(box, names)]
    on = memory.apps_usage(box, names)
    log(f"scale to zero: {n} apps always on: {on}")
    run = idle_run(runner, result, f"idle-on-{deployed}", box, inventory, write_apps_file(workdir, deployed, IDLE_S), deployed)
    failed += [f"after {run.label}: {f}" for f in memory.touch_all(box, names)]
    result["idle_wait_s"] = memory.wait_idle(box, names, IDLE_S + 60)  # from the last request to all stopped
    idle_use = memory.apps_usage(box, names)
    log(f"scale to zero: {n} apps idle: {idle_use} (all stopped {result['idle_wait_s']} s after their last request)")
    result["idle_before_run"] = n - memory.active(box, names)
    run = idle_run(runner, result, f"idle-idempotent-{deployed}", box, inventory, write_apps_file(workdir, deployed, IDLE_S), deployed)
    result["idempotent_changed"] = run.recap.get("changed")
    memory.wait_idle(box, names, IDLE_S + 60)
    cold = memory.cold_starts(box, names[:COLD_APPS])
    log(f"scale to zero: first requests after idling {cold}")
    result["cold_starts"] = cold
    result["cold_start_s"] = max(c["seconds"] for c in cold)
    failed += [f"first request after idling: {c['app']}: {c['status']}" for c in cold if c["status"] != 200]
    result["failed"], result["failed_requests"] = len(failed), failed
    if failed:
        log(f"scale to zero: failed requests {failed}; nginx's error log says:\n"
            + box.sh("tail -n 20 /var/log/nginx/error.log", check=False).stdout)
    result["memory"] = {f"apps_{n}_always_on_mb": on["pss_mb"], f"apps_{n}_idle_mb": idle_use["pss_mb"],
                        f"apps_{n}_always_on": on, f"apps_{n}_idle": idle_use}
    return result


def serve(box: Container, load: wrk.Load, args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    serving_runner = Serving(box)
    if args.rounds == 0:  # tuning only
        box.sh("apt-get install -y -qq wrk >/dev/null", timeout=300)
        return {}, run_tuning(box, load, args), {}
    log(f"serving: setting up uWSGI direct, gunicorn, wrk; {args.rounds} rounds of {load.warmup_s}+{load.duration_s} s per path")
    setup = serving_runner.prepare()
    runs = serving_runner.measure(load, args.rounds)
    for name, r in runs.items():
        log(
            f"serving {name:<15} {r['rps']:8.0f} req/s (median; {r['rps_min']:.0f}..{r['rps_max']:.0f})  p50 {r['p50_ms']:6.2f} ms"
            f"  p99 {r['p99_ms']:6.2f} ms  {r['server_cpu_us_per_req']:5.0f} us/req  errors {r['errors']}"
        )
    serving: dict[str, Any] = {f"{name}_rps": r["rps"] for name, r in runs.items()}
    for name, r in runs.items():
        serving[f"{name}_p50_ms"] = r["p50_ms"]
        serving[f"{name}_p99_ms"] = r["p99_ms"]
    serving["non_2xx"] = sum(r["errors"] for r in runs.values())
    serving["uwsgi_keepalive_rps"] = runs["uwsgi_direct_http11"]["rps"]
    serving["per_round"] = [
        {"nginx_uwsgi_rps": runs["nginx_uwsgi"]["samples"][i]["rps"], "nginx_gunicorn_rps": runs["nginx_gunicorn"]["samples"][i]["rps"],
         "uwsgi_keepalive_rps": runs["uwsgi_direct_http11"]["samples"][i]["rps"]}
        for i in range(args.rounds)
    ]
    # memory of one app after a request: the deployed b1 (its unit's processes) and the same app under gunicorn
    app_mem = memory.one_app(box, "b1", URLS["nginx_uwsgi"])
    gunicorn_mem = memory.gunicorn(box, f"{GUNICORN_DIR}/pid", URLS["nginx_gunicorn"])
    mem = {"app_rss_mb": app_mem["pss_mb"], "gunicorn_rss_mb": gunicorn_mem["pss_mb"], "measure": "PSS", "app": app_mem, "gunicorn": gunicorn_mem}
    log(f"memory after a request: b1 under uWSGI {app_mem}, under gunicorn {gunicorn_mem}")
    serving["rounds"] = args.rounds
    serving["runs"] = runs
    serving["setup"] = setup
    tuning: list[dict[str, Any]] = []
    if not args.no_tuning:
        serving_runner.stop_extras()
        tuning = run_tuning(box, load, args)
    return serving, tuning, mem


def run_tuning(box: Container, load: wrk.Load, args: argparse.Namespace) -> list[dict[str, Any]]:
    tune_load = wrk.Load(load.threads, load.connections, args.tuning_duration, load.warmup_s)
    variants = tuple(v for v in VARIANTS if not args.variants or v is VARIANTS[0] or any(w in v.name for w in args.variants))
    log(f"tuning: {len(variants)} nginx -> uWSGI variants, {args.tuning_rounds} rounds of {tune_load.warmup_s}+{tune_load.duration_s} s")
    return Tuning(box).run(tune_load, args.tuning_rounds, variants)


if __name__ == "__main__":
    sys.exit(main())
