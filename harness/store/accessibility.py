"""The store's accessibility table: what axe-core found on a page visit of a touchpoint that promises
accessibility, one row per check (harness.observation.AccessibilityChecked).

Kept apart from the observations like page_evidence: the timing analysis never reads it. A store
written before this table existed gains it when opened (CREATE IF NOT EXISTS); its visits were
simply never checked.
"""

from __future__ import annotations

import dataclasses
import json

from harness.observation import AccessibilityChecked, AccessibilityViolation, from_iso, to_iso, utc_now
from harness.store.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS accessibility (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    node_id TEXT NOT NULL DEFAULT '',
    segment TEXT NOT NULL DEFAULT '',
    touchpoint TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    checked_at TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    violations TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, seq)
);
"""


def add_check(db: Database, check: AccessibilityChecked) -> None:
    violations = json.dumps([dataclasses.asdict(violation) for violation in check.violations])
    db.execute(
        "INSERT INTO accessibility (run_id, seq, node_id, segment, touchpoint, url, checked_at,"
        " error, violations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, seq) DO UPDATE SET"
        " node_id = excluded.node_id, segment = excluded.segment, touchpoint = excluded.touchpoint,"
        " url = excluded.url, checked_at = excluded.checked_at, error = excluded.error,"
        " violations = excluded.violations",
        (
            check.run_id,
            check.seq,
            check.node_id,
            check.segment,
            check.touchpoint,
            check.url,
            to_iso(check.checked_at),
            check.error,
            violations,
        ),
    )


def checks(db: Database, run_ids: list[str]) -> list[AccessibilityChecked]:
    """The checks of these runs, in the order they were recorded."""
    found: list[AccessibilityChecked] = []
    for start in range(0, len(run_ids), 500):  # SQLite caps the number of ? in one statement
        chunk = run_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            "SELECT run_id, seq, node_id, segment, touchpoint, url, checked_at, error, violations"
            f" FROM accessibility WHERE run_id IN ({marks}) ORDER BY checked_at, seq",
            chunk,
        )
        for run_id, seq, node_id, segment, touchpoint, url, checked_at, error, violations in rows:
            found.append(
                AccessibilityChecked(
                    run_id=run_id,
                    seq=int(seq),
                    node_id=node_id,
                    segment=segment,
                    touchpoint=touchpoint,
                    url=url,
                    violations=_violations(violations),
                    error=error,
                    checked_at=from_iso(checked_at) or utc_now(),
                )
            )
    return found


def _violations(text: str) -> list[AccessibilityViolation]:
    try:
        rows = json.loads(text)
    except ValueError:
        return []
    return [AccessibilityViolation(**row) for row in rows if isinstance(row, dict)]


def prune(db: Database, run_ids: list[str]) -> None:
    marks = ", ".join("?" for _ in run_ids)
    db.execute(f"DELETE FROM accessibility WHERE run_id IN ({marks})", run_ids)
