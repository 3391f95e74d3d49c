"""Benchmark: build the gap report from many synthetic observations (run by hand, not in tests).

    .venv/bin/python bench/bench_report.py --observations 200000 --stages 20 --touchpoints 200 --segments 3

Prints the time of each phase (write the store, read it, analyse, render) and the peak memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from harness.gaps import analyse
from harness.journey_map import load_map_text
from harness.report import Window, write_report
from harness.store import OBSERVATION_COLUMNS, open_store


def synthetic_map(stages: int, touchpoints: int, segments: int) -> str:
    lines = [
        "journey: Bench",
        "version: b1",
        f"segments: [{', '.join(f's{i}' for i in range(segments))}]",
        "stages:",
    ]
    per_stage = max(1, touchpoints // stages)
    for s in range(stages):
        lines += [f"  - id: stage-{s}", "    touchpoints:"]
        for t in range(per_stage):
            lines += [
                f"      - id: tp-{s}-{t}",
                "        channel: web",
                f"        url: /s{s}/t{t}",
                "        expect: {within: 800ms, fail_after: 5s, success_rate: 0.9}",
            ]
    return "\n".join(lines) + "\n"


def fill_store(path: Path, n: int, stages: int, touchpoints: int, segments: int, runs: int) -> list[str]:
    """Write rows straight into SQLite: the bench is about reading and analysing, not the recorder."""
    store = open_store(path)
    store.close()
    rng = random.Random(7)
    per_stage = max(1, touchpoints // stages)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    run_ids = [f"run-{r:04d}" for r in range(runs)]
    db = sqlite3.connect(path)
    db.executemany(
        "INSERT INTO runs (run_id, started_at, state, segment, journey, map_version)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (r, (start + dt.timedelta(minutes=i)).isoformat(), "finished", f"s{i % segments}", "Bench", "b1")
            for i, r in enumerate(run_ids)
        ],
    )
    rows = []
    for i in range(n):
        run = i % runs
        s, t = rng.randrange(stages), rng.randrange(per_stage)
        outcome = "failed" if rng.random() < 0.03 else "passed"
        rows.append(
            (
                run_ids[run],
                i,
                "bench.feature",
                f"scenario {s}",
                f"node-{s}-{i // 20}",
                f"s{run % segments}",
                f"stage-{s}",
                f"tp-{s}-{t}",
                "Given I open it",
                (start + dt.timedelta(seconds=i)).isoformat(),
                rng.lognormvariate(5.5, 0.6),
                outcome,
                "boom" if outcome == "failed" else "",
                1,
                "",
                1,
            )
        )
    marks = ", ".join("?" for _ in OBSERVATION_COLUMNS)
    db.executemany(f"INSERT INTO observations ({', '.join(OBSERVATION_COLUMNS)}) VALUES ({marks})", rows)
    db.commit()
    db.close()
    return run_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=200_000)
    parser.add_argument("--stages", type=int, default=20)
    parser.add_argument("--touchpoints", type=int, default=200)
    parser.add_argument("--segments", type=int, default=3)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        clock = time.perf_counter()
        run_ids = fill_store(path, args.observations, args.stages, args.touchpoints, args.segments, args.runs)
        filled = time.perf_counter()
        store = open_store(path)
        runs = store.runs(last=args.runs)
        observations = store.observations(run_ids)
        read = time.perf_counter()
        journey_map = load_map_text(synthetic_map(args.stages, args.touchpoints, args.segments))
        analysis = analyse(journey_map, observations)
        analysed = time.perf_counter()
        write_report(analysis, Window(runs=runs), Path(tmp) / "out")
        rendered = time.perf_counter()
        store.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    touchpoints = len(journey_map.touchpoints())
    print(f"{args.observations} observations, {touchpoints} touchpoints, {args.segments} segments")
    print(
        f"fill store {filled - clock:.2f}s | read {read - filled:.2f}s | analyse {analysed - read:.2f}s"
        f" | render {rendered - analysed:.2f}s | report total {rendered - filled:.2f}s"
        f" | peak RSS {peak_mb:.0f} MB"
    )


if __name__ == "__main__":
    main()
