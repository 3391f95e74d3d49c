"""Benchmark: journeys per minute of a fleet location with 1 and with 2 workers on this machine
(run by hand, not in tests).

    .venv/bin/python bench/bench_fleet.py --jobs 12

Starts a real Redis (Debian's redis-server) on a free port and a one-page site on loopback; for
each worker count, a fresh store and queue, that many `shopper worker --location bench`
subprocesses, and, once every worker answers, `--jobs` due runs enqueued at once the way the
scheduler enqueues them (harness.ops.fleet_broker.Dispatcher). Each job is one real run: one
scenario in Chromium, recorded into the shared SQLite store. The clock runs from the enqueue to
the last run recorded finished. Also printed: what the broker and the store cost per run (Redis
commands per run from INFO commandstats, the enqueue's own time, observations per run), the
figures docs/deploy.md scales from. On a 2-core machine Chromium is the limit: expect a modest ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from bench_schedule import COLLECTOR, FEATURE, Home, free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.observation import Observation, Run, RunFinished, RunStarted, StepObserved, utc_now  # noqa: E402
from harness.ops.fleet_broker import Dispatcher, fleet_state, redis_client  # noqa: E402
from harness.ops.schedule_file import load_schedule  # noqa: E402
from harness.store.sqlite import open_store  # noqa: E402

LOCATION = "bench"
MAP = (
    "journey: Bench\nsegments: [self-serve]\nstages:\n  - id: discover\n    touchpoints:\n"
    "      - id: home-page\n        channel: web\n        url: /\n        expect: {fail_after: 30s}\n"
)


def finished(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT COUNT(*) FROM runs WHERE state = 'finished'").fetchone()[0])


def observations(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])


def redis_calls(url: str) -> int:
    client = redis_client(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(int(value["calls"]) for value in stats.values())


def store_costs(store_url: str, runs: int = 50, steps: int = 40) -> tuple[float, float]:
    """What the store costs a worker: ms per observation written, and per run (its start and end,
    and the look for a job's earlier attempts, which reads the runs table)."""
    store = open_store(store_url)
    run_s = observation_s = 0.0
    try:
        for n in range(runs):
            run_id = f"20260101T000000Z-bench-{n:08x}-1"
            began = time.perf_counter()
            store.handle(RunStarted(Run(run_id=run_id, started_at=utc_now(), pid=1, host="h", segment="s")))
            store.runs()
            run_s += time.perf_counter() - began
            began = time.perf_counter()
            for seq in range(steps):
                store.handle(
                    StepObserved(
                        Observation(
                            run_id=run_id,
                            feature="F",
                            scenario="S",
                            node_id="n",
                            segment="s",
                            stage="discover",
                            touchpoint="home-page",
                            step="Given I open the home page",
                            started_at=utc_now(),
                            duration_ms=12.0,
                            outcome="passed",
                            seq=seq,
                        )
                    )
                )
            observation_s += time.perf_counter() - began
            began = time.perf_counter()
            store.handle(RunFinished(run_id, "finished"))
            run_s += time.perf_counter() - began
    finally:
        store.close()
    return observation_s / (runs * steps) * 1000, run_s / runs * 1000


def one_setting(folder: Path, url: str, site: str, workers: int, jobs: int) -> dict[str, float]:
    run_folder = folder / f"workers-{workers}"
    features = run_folder / "features"
    features.mkdir(parents=True)
    (features / "journey.feature").write_text(FEATURE)
    (features / "test_journey.py").write_text(COLLECTOR)
    (run_folder / "map.yaml").write_text(MAP)
    store = run_folder / "shopper.db"
    schedule = run_folder / "schedule.yaml"
    schedule.write_text(
        f"target: {site}\nmap: map.yaml\nfeatures: features\nevery: 1h\ntimeout: 5m\nretries: 0\n"
        f"store: {store}\nbroker: {url}\nlocations: [{LOCATION}]\n"
    )
    client = redis_client(url)
    client.flushall()
    client.close()
    command = [sys.executable, "-m", "harness", "worker", "--location", LOCATION, "--broker", url]
    started = [
        subprocess.Popen([*command, "--store", str(store)], cwd=ROOT, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        while len(fleet_state(url, [LOCATION])[0].workers) < workers:  # every worker consumes
            time.sleep(0.2)
        dispatcher = Dispatcher(load_schedule(schedule), ["self-serve"])
        calls_before = redis_calls(url)
        began = time.perf_counter()
        base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for n in range(jobs):  # distinct due times: distinct jobs
            dispatcher.enqueue(base + dt.timedelta(minutes=n), 3600)
        enqueue_s = time.perf_counter() - began
        dispatcher.close()
        while finished(store) < jobs:
            time.sleep(0.1)
        elapsed = time.perf_counter() - began
        calls = redis_calls(url) - calls_before
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=120)
    return {
        "per_minute": jobs / elapsed * 60,
        "elapsed_s": elapsed,
        "enqueue_ms_per_run": enqueue_s / jobs * 1000,
        "redis_calls_per_run": calls / jobs,
        "observations_per_run": observations(store) / jobs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12, help="runs per setting (default 12)")
    args = parser.parse_args()
    server_binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    site = ThreadingHTTPServer(("127.0.0.1", 0), Home)
    site.daemon_threads = True
    threading.Thread(target=site.serve_forever, daemon=True).start()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="shopper-bench-fleet-") as folder:
        redis = subprocess.Popen(
            [server_binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            for _ in range(100):
                with contextlib.suppress(Exception):
                    redis_client(url).ping()
                    break
                time.sleep(0.05)
            results = {
                n: one_setting(Path(folder), url, f"http://127.0.0.1:{site.server_address[1]}", n, args.jobs)
                for n in (1, 2)
            }
        finally:
            redis.terminate()
            redis.wait(timeout=10)
            site.shutdown()
    for n, result in results.items():
        print(
            f"{n} worker(s): {result['per_minute']:.1f} journeys/min"
            f" ({args.jobs} runs in {result['elapsed_s']:.1f}s);"
            f" enqueue {result['enqueue_ms_per_run']:.2f} ms/run, {result['redis_calls_per_run']:.0f} Redis"
            f" commands/run, {result['observations_per_run']:.0f} observations/run"
        )
    print(f"ratio 2 workers / 1 worker: {results[2]['per_minute'] / results[1]['per_minute']:.2f}")
    with tempfile.TemporaryDirectory(prefix="shopper-bench-store-") as folder:
        per_observation, per_run = store_costs(str(Path(folder) / "shopper.db"))
    print(f"store (SQLite): {per_observation:.3f} ms per observation, {per_run:.2f} ms per run's own rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
