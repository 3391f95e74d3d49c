"""The store's runner_health table: how busy the runner was during each run (harness.record.runner_health).

Plain functions over the store's SQLite connection, like mail_store. Kept apart from the
observations on purpose: a control-page visit is the runner's figure, never a customer's. A store
written before this table existed gains it when opened (CREATE IF NOT EXISTS); its runs have no
samples, so none of them counts as busy.
"""

from __future__ import annotations

import datetime as dt
import json

from harness.observation import RunnerSampled, from_iso, to_iso
from harness.store.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS runner_health (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    sampled_at TEXT NOT NULL,
    control_ms TEXT NOT NULL,
    run_queue REAL,
    load_per_core REAL,
    steal REAL,
    sleep_lag_ms REAL,
    problem TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runner_health_run ON runner_health(run_id);
"""


def add_sample(db: Database, sample: RunnerSampled) -> None:
    db.execute(
        "INSERT INTO runner_health (run_id, node_id, attempt, sampled_at, control_ms, run_queue,"
        " load_per_core, steal, sleep_lag_ms, problem) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sample.run_id,
            sample.node_id,
            sample.attempt,
            to_iso(sample.sampled_at),
            json.dumps([round(ms, 3) for ms in sample.control_ms]),
            sample.run_queue,
            sample.load_per_core,
            sample.steal,
            sample.sleep_lag_ms,
            sample.problem,
        ),
    )


def samples(db: Database, run_ids: list[str]) -> list[RunnerSampled]:
    """The runner samples of these runs, oldest first."""
    found: list[RunnerSampled] = []
    for start in range(0, len(run_ids), 500):  # SQLite caps the number of ? in one statement
        chunk = run_ids[start : start + 500]
        rows = db.execute(
            "SELECT run_id, node_id, attempt, sampled_at, control_ms, run_queue, load_per_core, steal,"
            " sleep_lag_ms, problem FROM runner_health"
            f" WHERE run_id IN ({', '.join('?' for _ in chunk)}) ORDER BY id",
            chunk,
        ).fetchall()
        found += [
            RunnerSampled(
                run_id=r[0],
                node_id=r[1],
                attempt=int(r[2]),
                sampled_at=from_iso(r[3]) or dt.datetime.min,
                control_ms=[float(ms) for ms in json.loads(r[4])],
                run_queue=r[5],
                load_per_core=r[6],
                steal=r[7],
                sleep_lag_ms=r[8],
                problem=r[9],
            )
            for r in rows
        ]
    return found


def prune(db: Database, run_ids: list[str]) -> None:
    db.execute(f"DELETE FROM runner_health WHERE run_id IN ({', '.join('?' for _ in run_ids)})", run_ids)
