"""Benchmark: build the gap report from many synthetic observations (run by hand, not in tests).

    .venv/bin/python bench/bench_report.py --observations 1000000 --stages 20 --touchpoints 200 --segments 3

Fills a SQLite store, then builds the report in a child process, as `shopper report --last N` does
with N = half the runs: the other half is the previous window the trend compares with, so every
observation in the store is read and analysed. Prints the time of each phase (read the store,
analyse, write every format) and the child's peak memory, which is the report's alone.

With `--store postgresql://user@host:port/db` (an empty database; the password in PGPASSWORD) the
same rows (the same seed) fill that database instead, and the report reads them from there:
`python tests/postgres.py` starts a throwaway server and prints such a URL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from harness.analysis.gaps import analyse
from harness.map.loading import load_map_text
from harness.report.gap_report import write_report
from harness.report.observations_csv import write_observations_csv
from harness.report.reading import read_window
from harness.report.window import Window
from harness.store.columns import OBSERVATION_COLUMNS
from harness.store.sqlite import is_postgres, open_store


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
                "        expect: {within: 800ms, fail_after: 5s, success_rate: 0.9, emotion: 1}",
            ]
            if s == stages // 2 and t == 0:
                lines.append("        milestone: first-value")
    return "\n".join(lines) + "\n"


def fill_store(store: str, n: int, stages: int, touchpoints: int, segments: int, runs: int) -> list[str]:
    """Write rows straight into the store: the bench is about reading and analysing, not the recorder."""
    opened = open_store(store)
    if opened.runs():
        sys.exit(f"{store} already holds runs: the bench fills an empty store")
    opened.close()
    rng = random.Random(7)
    per_stage = max(1, touchpoints // stages)
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    run_ids = [f"run-{r:04d}" for r in range(runs)]
    # Each run's observations one after another, as runs append them: a run's rows are together in
    # the store, and a window is the newest part of it (one observation a second, a run after the other).
    first_row = [-(-r * n // runs) for r in range(runs)]  # the first i with i * runs // n == r
    run_rows = [
        (
            r,
            (start + dt.timedelta(seconds=first_row[i])).isoformat(),
            "finished",
            f"s{i % segments}",
            "Bench",
            "b1",
        )
        for i, r in enumerate(run_ids)
    ]
    rows = []
    for i in range(n):
        run = i * runs // n
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
                "",
                "",
                "",
                None,  # wall_ms: the bench's rows say nothing of the harness's own time
                "",  # failure
            )
        )
    (_write_postgres if is_postgres(store) else _write_sqlite)(store, run_rows, rows)
    return run_ids


RUN_FIELDS = "run_id, started_at, state, segment, journey, map_version"


def _write_sqlite(path: str, run_rows: list[tuple[object, ...]], rows: list[tuple[object, ...]]) -> None:
    db = sqlite3.connect(path)
    db.executemany(f"INSERT INTO runs ({RUN_FIELDS}) VALUES (?, ?, ?, ?, ?, ?)", run_rows)
    marks = ", ".join("?" for _ in OBSERVATION_COLUMNS)
    db.executemany(f"INSERT INTO observations ({', '.join(OBSERVATION_COLUMNS)}) VALUES ({marks})", rows)
    db.commit()
    db.close()


def _write_postgres(url: str, run_rows: list[tuple[object, ...]], rows: list[tuple[object, ...]]) -> None:
    import psycopg

    with psycopg.connect(url) as db, db.cursor() as cursor:
        cursor.executemany(f"INSERT INTO runs ({RUN_FIELDS}) VALUES (%s, %s, %s, %s, %s, %s)", run_rows)
        with cursor.copy(f"COPY observations ({', '.join(OBSERVATION_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    # As autovacuum leaves a store that has been written for weeks: without it, the report's first
    # scan after the bulk load would also be the one that sets every row's visibility hint bits.
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("VACUUM (ANALYZE) observations")


def measure(store_url: str, out: Path, args: argparse.Namespace) -> None:
    """The report phases, timed; run in a child so that its peak memory is the report's alone."""
    clock = time.perf_counter()
    store = open_store(store_url)
    both = store.runs(last=args.runs)
    size = args.runs if args.no_previous else args.runs // 2
    runs, previous_runs = both[-size:], both[:-size]
    observations, read_previous = read_window(store, store_url, runs, previous_runs)
    store.close()
    read = time.perf_counter()
    journey_map = load_map_text(synthetic_map(args.stages, args.touchpoints, args.segments))
    previous_rows = 0

    def previous() -> pd.DataFrame | None:  # as the report does: read while this window is judged
        nonlocal previous_rows
        frame = read_previous()
        previous_rows = 0 if frame is None else len(frame)
        return frame

    analysis = analyse(journey_map, observations, previous=previous, run_order=[run.run_id for run in runs])
    analysed = time.perf_counter()
    write_report(analysis, Window(runs=runs, previous=previous_runs), out)
    written = time.perf_counter()
    # What `shopper report --observations-csv` adds.
    rows = write_observations_csv(store_url, [run.run_id for run in runs], out / "observations.csv")
    exported = time.perf_counter()
    print(
        f"{len(observations) + previous_rows} observations read ({len(observations)} in the window),"
        f" {len(journey_map.touchpoints())} touchpoints, {args.segments} segments,"
        f" {len(analysis.movements)} movements"
    )
    print(
        f"read {read - clock:.2f}s | analyse {analysed - read:.2f}s | write HTML, JSON, Markdown, JUnit,"
        f" actions CSV {written - analysed:.2f}s | report total {written - clock:.2f}s"
    )
    print("(read: this window's; the previous window's is read on a thread while this one is analysed)")
    print(f"observations CSV ({rows} rows, optional) {exported - written:.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=1_000_000)
    parser.add_argument("--stages", type=int, default=20)
    parser.add_argument("--touchpoints", type=int, default=200)
    parser.add_argument("--segments", type=int, default=3)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument(
        "--no-previous", action="store_true", help="one window of every run, no previous window to compare"
    )
    parser.add_argument("--store", help="an empty PostgreSQL database's URL (default: a SQLite file)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.out, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or str(Path(tmp) / "bench.db")
        clock = time.perf_counter()
        fill_store(store, args.observations, args.stages, args.touchpoints, args.segments, args.runs)
        print(f"filled the store in {time.perf_counter() - clock:.1f}s")
        child = [sys.executable, __file__, *sys.argv[1:], "--measure", store, "--out", str(Path(tmp) / "out")]
        subprocess.run(child, check=True)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"report peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
