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
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import report
import wrk
from container import NAME_PREFIX, BenchError, Container
from playbook import PlaybookRun, Runner, write_apps_file, write_inventory
from serving import Serving
from tuning import VARIANTS, Tuning

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# What the warm caches hold: Debian packages the playbook and the bench install,
# and wheels for the apps' venvs and the gunicorn venv (pip's find-links).
APT_WARM = ["nginx", "uwsgi", "uwsgi-plugin-python3", "python3-venv", "python3-packaging", "wrk"]
PIP_WARM = ["flask>=3,<4", "gunicorn"]
WHEELHOUSE = "/root/.cache/pip/wheelhouse"


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
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the serving runs (medians are reported; 0: tuning only)")
    p.add_argument("--tuning-rounds", type=int, default=3, help="interleaved rounds of the tuning variants")
    p.add_argument("--tuning-duration", type=int, default=5, help="seconds of each measured tuning run")
    p.add_argument(
        "--variants",
        type=lambda text: [w for w in text.split(",") if w],
        default=[],
        help="only the tuning variants whose name contains one of these comma-separated words (and the baseline)",
    )
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
    # pip in the app venvs takes the pre-downloaded wheels (still resolving against the index)
    box.write("/etc/pip.conf", f"[global]\nfind-links = {WHEELHOUSE}\n")
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
            if n in args.add_one:
                record(runner.run(f"add-one-{n}", box.name, inventory, write_apps_file(workdir, n + 1), n + 1), "add_one_s")
            if n in serving_sizes and not args.no_serving:
                serving, tuning = serve(box, load, args)
            if not args.keep:
                box.remove()
        if not serving_sizes and not args.no_serving:
            box = start_box(f"{NAME_PREFIX}-serve-{os.getpid()}", pip_cache, apt_cache)
            boxes.append(box)
            run = runner.run("converge-serving", box.name, write_inventory(workdir, box.name), write_apps_file(workdir, 1), 1)
            if not run.ok:
                raise BenchError(f"deploying the serving app failed: see {run.log}")
            serving, tuning = serve(box, load, args)
    except BenchError as exc:
        error = str(exc)
        log(f"ERROR: {error}")
    finally:
        if not args.keep:
            for box in boxes:
                box.remove()
        shutil.rmtree(workdir, ignore_errors=True)
    if failed and not error:
        error = f"playbook runs failed: {', '.join(failed)} (logs in {results_dir / 'logs'})"
        log(f"ERROR: {error}")
    meta["host"]["loadavg_end"] = os.getloadavg()
    meta["total_s"] = round(time.monotonic() - t0, 1)
    meta["error"] = error
    results = {"meta": meta, "ansible": ansible, "serving": serving, "targets": report.targets(ansible, serving), "tuning": tuning}
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


def serve(box: Container, load: wrk.Load, args: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    serving_runner = Serving(box)
    if args.rounds == 0:  # tuning only
        box.sh("apt-get install -y -qq wrk >/dev/null", timeout=300)
        return {}, run_tuning(box, load, args)
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
    serving["rounds"] = args.rounds
    serving["runs"] = runs
    serving["setup"] = setup
    tuning: list[dict[str, Any]] = []
    if not args.no_tuning:
        serving_runner.stop_extras()
        tuning = run_tuning(box, load, args)
    return serving, tuning


def run_tuning(box: Container, load: wrk.Load, args: argparse.Namespace) -> list[dict[str, Any]]:
    tune_load = wrk.Load(load.threads, load.connections, args.tuning_duration, load.warmup_s)
    variants = tuple(v for v in VARIANTS if not args.variants or v is VARIANTS[0] or any(w in v.name for w in args.variants))
    log(f"tuning: {len(variants)} nginx -> uWSGI variants, {args.tuning_rounds} rounds of {tune_load.warmup_s}+{tune_load.duration_s} s")
    return Tuning(box).run(tune_load, args.tuning_rounds, variants)


if __name__ == "__main__":
    sys.exit(main())
