"""The SQLite store's tables: their schema, the columns later versions added, and the checks that a
file is ours before a schema is added to it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from harness.errors import StoreError
from harness.store import accessibility as accessibility_store
from harness.store import mail as mail_store
from harness.store import pages as page_store
from harness.store import runner as runner_store
from harness.store import vitals as vitals_store

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL,
    pid INTEGER,
    host TEXT NOT NULL DEFAULT '',
    target TEXT NOT NULL DEFAULT '',
    segment TEXT NOT NULL DEFAULT '',
    journey TEXT NOT NULL DEFAULT '',
    map_version TEXT NOT NULL DEFAULT '',
    map_path TEXT NOT NULL DEFAULT '',
    map_digest TEXT NOT NULL DEFAULT '',
    browsing TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS maps (
    digest TEXT PRIMARY KEY,
    journey TEXT NOT NULL,
    version TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    seq INTEGER NOT NULL,
    feature TEXT NOT NULL,
    scenario TEXT NOT NULL,
    node_id TEXT NOT NULL,
    segment TEXT NOT NULL,
    stage TEXT NOT NULL,
    touchpoint TEXT,
    step TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    attempt INTEGER NOT NULL DEFAULT 1,
    evidence TEXT NOT NULL DEFAULT '',
    timed INTEGER NOT NULL DEFAULT 1,
    trace TEXT NOT NULL DEFAULT '',
    page_url TEXT NOT NULL DEFAULT '',
    page_title TEXT NOT NULL DEFAULT '',
    wall_ms REAL,
    failure TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS observations_run ON observations(run_id);
CREATE INDEX IF NOT EXISTS observations_failed ON observations(id) WHERE outcome IN ('failed', 'error');
"""

# Columns later versions added: a store written by an older harness gains them when opened.
ADDED_COLUMNS = [
    ("runs", "map_digest", "TEXT NOT NULL DEFAULT ''"),
    ("runs", "browsing", "TEXT NOT NULL DEFAULT ''"),
    ("runs", "location", "TEXT NOT NULL DEFAULT ''"),  # '': walked before locations were recorded
    ("observations", "trace", "TEXT NOT NULL DEFAULT ''"),
    ("observations", "page_url", "TEXT NOT NULL DEFAULT ''"),
    ("observations", "page_title", "TEXT NOT NULL DEFAULT ''"),
    ("observations", "wall_ms", "REAL"),  # NULL: recorded before the harness kept its wall time
    ("observations", "failure", "TEXT NOT NULL DEFAULT ''"),  # '': no content miss told apart then
]

# Any of these makes a file ours (the alert state may be written before the first run).
OUR_TABLES = {"runs", "observations", "maps", "messages", "pending", "alert_state", "page_evidence"}
OUR_TABLES |= {"page_vitals", "accessibility"}


def check_ours(db: sqlite3.Connection, path: Path) -> None:
    """Another application's SQLite file must be refused before a schema is added to it."""
    tables = {
        row[0]
        for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not row[0].startswith("sqlite_")
    }
    runs = {row[1] for row in db.execute("PRAGMA table_info(runs)")} if "runs" in tables else set()
    if tables and (not tables & OUR_TABLES or ("runs" in tables and "run_id" not in runs)):
        raise StoreError(
            "is not a shopper store (an SQLite file of another application); name another with --store",
            file=path,
        )


def create(db: sqlite3.Connection) -> None:
    """Every table the store keeps, and the columns added since an older harness wrote the file."""
    tables = (mail_store.SCHEMA, runner_store.SCHEMA, page_store.SCHEMA, vitals_store.SCHEMA)
    db.executescript(SCHEMA + "".join(tables))
    db.executescript(accessibility_store.SCHEMA)
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
