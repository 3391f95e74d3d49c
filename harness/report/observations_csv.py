"""The window's raw observations as CSV, streamed from the store read-only (SQLite or PostgreSQL).

Text columns come from the target site, so a cell that a spreadsheet would run as a formula is
quoted (OWASP "CSV injection"), as `exports.csv_safe` does for the action plan.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, NoStoreError, StoreError
from harness.report.exports import FORMULA_STARTS
from harness.store.columns import OBSERVATION_COLUMNS, ObservationChunks
from harness.store.sqlite import is_postgres, store_path

CHUNK_ROWS = 5000  # rows per fetchmany: bounded memory however big the store is


def _open_read_only(store_url: str) -> sqlite3.Connection:
    path = store_path(store_url)
    if not path.is_file():
        raise NoStoreError(path)
    try:
        # mode=ro: an export must never create, migrate or write a store.
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store: {exc}", file=path) from None


def _select(db: sqlite3.Connection) -> tuple[str, list[int]]:
    """The SELECT of every observation column, and which of them hold text."""
    declared = {row[1]: str(row[2]).upper() for row in db.execute("PRAGMA table_info(observations)")}
    if not declared:
        raise sqlite3.DatabaseError("it has no observations table")
    # A store written by an older harness lacks the columns added since; read-only, it is not migrated.
    columns = [column if column in declared else f"'' AS {column}" for column in OBSERVATION_COLUMNS]
    text = [i for i, column in enumerate(OBSERVATION_COLUMNS) if "TEXT" in declared.get(column, "TEXT")]
    return ", ".join(columns), text


def _safe_rows(rows: Sequence[tuple[Any, ...]], text: list[int]) -> Iterable[list[Any]]:
    for row in rows:
        values = list(row)
        for i in text:
            value = values[i]
            if value and value.startswith(FORMULA_STARTS):
                values[i] = "'" + value
        yield values


def _sqlite_chunks(store_url: str, run_ids: list[str]) -> ObservationChunks:
    """Each run's observations in the order they were recorded, a chunk at a time, with the text columns."""
    db = _open_read_only(store_url)
    try:
        columns, text = _select(db)
        db.execute("BEGIN")  # one snapshot: a run still recording cannot tear the export
        for run_id in dict.fromkeys(run_ids):
            cursor = db.execute(f"SELECT {columns} FROM observations WHERE run_id = ? ORDER BY id", (run_id,))
            while chunk := cursor.fetchmany(CHUNK_ROWS):
                yield chunk, text
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read observations: {exc}", file=store_path(store_url)) from None
    finally:
        db.close()


def write_observations_csv(store_url: str, run_ids: list[str], path: Path) -> int:
    """Write every stored observation of the runs to a CSV file; return the number of rows.

    Streams from the store in chunks, so memory stays flat for a store of millions of rows. Runs
    come in the order given, each run's observations in the order they were recorded. The file
    appears only once complete.
    """
    if is_postgres(store_url):
        from harness.store.postgres import observation_chunks  # psycopg only for a PostgreSQL store

        chunks = observation_chunks(store_url, run_ids, CHUNK_ROWS)
    else:
        chunks = _sqlite_chunks(store_url, run_ids)
    partial = path.with_name(path.name + ".partial")
    rows = 0
    try:
        with partial.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(OBSERVATION_COLUMNS)
            for chunk, text in chunks:
                writer.writerows(_safe_rows(chunk, text))
                rows += len(chunk)
        partial.replace(path)
    except OSError as exc:
        raise HarnessError(f"cannot write the observations: {exc.strerror or exc}", file=path) from None
    finally:
        chunks.close()
        partial.unlink(missing_ok=True)  # left behind only by a failed export
    return rows
