"""The store's page_evidence table: what a timed page visit left to show a slow gap (its requests,
and a screenshot when it was slow), one row per observation that has it.

Kept apart from the observations: the analysis never reads it (its frame stays lean); the report
reads the slowest visit of each touchpoint from it. A store written before this table existed
gains it when opened (CREATE IF NOT EXISTS); its visits simply have no waterfall.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from harness.observation import Observation, PageEvidence, PageRequest
from harness.store.database import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_evidence (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    screenshot TEXT NOT NULL DEFAULT '',
    requests TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_id, seq)
);
"""


@dataclass
class SlowestVisit:
    """The slowest passed page visit of a touchpoint and segment in a window, with its evidence."""

    touchpoint: str
    segment: str
    run_id: str
    seq: int
    duration_ms: float
    page: PageEvidence


def add_page(db: Database, obs: Observation) -> None:
    if obs.page is None:
        return
    requests = json.dumps([dataclasses.asdict(request) for request in obs.page.requests])
    db.execute(
        "INSERT INTO page_evidence (run_id, seq, url, screenshot, requests) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (run_id, seq) DO UPDATE SET url = excluded.url, screenshot = excluded.screenshot,"
        " requests = excluded.requests",
        (obs.run_id, obs.seq, obs.page.url, obs.page.screenshot, requests),
    )


def slowest_visits(db: Database, run_ids: list[str]) -> list[SlowestVisit]:
    """Per touchpoint and segment, the passed observation with page evidence that took longest."""
    found: dict[tuple[str, str], SlowestVisit] = {}
    for start in range(0, len(run_ids), 500):  # SQLite caps the number of ? in one statement
        chunk = run_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            "SELECT o.touchpoint, o.segment, o.run_id, o.seq, o.duration_ms, p.url, p.screenshot, p.requests"
            " FROM page_evidence p JOIN observations o ON o.run_id = p.run_id AND o.seq = p.seq"
            f" WHERE p.run_id IN ({marks}) AND o.outcome = 'passed' AND o.touchpoint IS NOT NULL",
            chunk,
        )
        for touchpoint, segment, run_id, seq, duration, url, screenshot, requests in rows:
            key = (str(touchpoint), str(segment))
            if key in found and found[key].duration_ms >= duration:
                continue
            page = PageEvidence(url=url, requests=_requests(requests), screenshot=screenshot)
            found[key] = SlowestVisit(key[0], key[1], run_id, int(seq), float(duration), page)
    return list(found.values())


def _requests(text: str) -> list[PageRequest]:
    try:
        rows = json.loads(text)
    except ValueError:
        return []
    return [PageRequest(**row) for row in rows if isinstance(row, dict)]


def prune(db: Database, run_ids: list[str]) -> None:
    marks = ", ".join("?" for _ in run_ids)
    db.execute(f"DELETE FROM page_evidence WHERE run_id IN ({marks})", run_ids)
