"""The store's page_vitals table: a timed page visit's web vitals and Navigation Timing, one row per
observation that has them (a VitalsObserved event).

Kept apart from the observations like page_evidence: the analysis frame stays lean, and the vitals
are read for the window's passed visits only. A store written before this table existed gains it
when opened (CREATE IF NOT EXISTS); its visits simply have no vitals.
"""

from __future__ import annotations

import dataclasses

from harness.observation import PageVitals, VisitVitals, VitalsObserved
from harness.store.database import Database

COLUMNS = [field.name for field in dataclasses.fields(PageVitals)]

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_vitals (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ttfb_ms REAL,
    fcp_ms REAL,
    lcp_ms REAL,
    cls REAL,
    inp_ms REAL,
    tbt_ms REAL,
    dom_content_loaded_ms REAL,
    load_ms REAL,
    transferred_bytes INTEGER,
    requests INTEGER NOT NULL DEFAULT 0,
    failed_requests INTEGER NOT NULL DEFAULT 0,
    console_errors INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, seq)
);
"""


def add_vitals(db: Database, event: VitalsObserved) -> None:
    values = dataclasses.astuple(event.vitals)
    db.execute(
        f"INSERT INTO page_vitals (run_id, seq, {', '.join(COLUMNS)})"
        f" VALUES (?, ?, {', '.join('?' for _ in COLUMNS)}) ON CONFLICT (run_id, seq) DO UPDATE SET"
        f" {', '.join(f'{column} = excluded.{column}' for column in COLUMNS)}",
        (event.run_id, event.seq, *values),
    )


def visit_vitals(db: Database, run_ids: list[str]) -> list[VisitVitals]:
    """The vitals of the window's passed visits to a touchpoint (a failed visit's page is the gap itself)."""
    found: list[VisitVitals] = []
    for start in range(0, len(run_ids), 500):  # SQLite caps the number of ? in one statement
        chunk = run_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            f"SELECT o.touchpoint, o.segment, v.run_id, v.seq, {', '.join(f'v.{c}' for c in COLUMNS)}"
            " FROM page_vitals v JOIN observations o ON o.run_id = v.run_id AND o.seq = v.seq"
            f" WHERE v.run_id IN ({marks}) AND o.outcome = 'passed' AND o.touchpoint IS NOT NULL"
            " ORDER BY v.run_id, v.seq",
            chunk,
        )
        for touchpoint, segment, run_id, seq, *values in rows:
            vitals = PageVitals(**dict(zip(COLUMNS, values, strict=True)))
            found.append(VisitVitals(str(touchpoint), str(segment), str(run_id), int(seq), vitals))
    return found


def prune(db: Database, run_ids: list[str]) -> None:
    marks = ", ".join("?" for _ in run_ids)
    db.execute(f"DELETE FROM page_vitals WHERE run_id IN ({marks})", run_ids)
