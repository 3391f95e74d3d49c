"""The store's reads as frames: a window of observations as a lean, categorical frame for the gap analysis.

Kept apart from the stores, which write and read runs one by one: this is the read that must stay
fast at a million rows (ADBC into Arrow: SQLite's driver where it is installed, sqlite3 otherwise;
PostgreSQL's), and the only part of the store that needs pandas, which a run never imports.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness.store.columns import OBSERVATION_COLUMNS
from harness.store.database import LOCK_WAIT_S

# What the gap analysis needs of every observation; DETAIL_COLUMNS only of failed and errored ones.
LEAN_COLUMNS = [
    "run_id",
    "seq",
    "node_id",
    "segment",
    "stage",
    "touchpoint",
    "duration_ms",
    "outcome",
    "attempt",
    "timed",
]
CATEGORICAL_COLUMNS = ["run_id", "segment", "stage", "touchpoint", "outcome"]
DETAIL_COLUMNS = [
    "feature",
    "scenario",
    "step",
    "started_at",
    "error",
    "evidence",
    "trace",
    "page_url",
    "page_title",
    "failure",
]


def observations_frame(db: sqlite3.Connection, run_ids: list[str]) -> pd.DataFrame:
    """Every column of these runs' observations, in scenario and step order."""
    if not run_ids:
        return pd.DataFrame(columns=OBSERVATION_COLUMNS)
    marks = ", ".join("?" for _ in run_ids)
    return pd.read_sql_query(
        f"SELECT {', '.join(OBSERVATION_COLUMNS)} FROM observations WHERE run_id IN ({marks})"
        " ORDER BY run_id, node_id, attempt, seq",
        db,
        params=run_ids,
    )


def analysis_frame(db: sqlite3.Connection, path: Path | None, run_ids: list[str]) -> pd.DataFrame:
    """The observations the gap analysis reads, built for windows of millions of rows.

    Text columns are categorical, node_id is an integer code (scenarios are told apart, not
    named), and the texts that only matter at a failure (step, error, evidence, page) are
    read for failed and errored steps alone: at a million rows, turning every cell into a
    Python string is what costs seconds.
    """
    if not run_ids:
        return pd.DataFrame(columns=["id", *OBSERVATION_COLUMNS])
    marks = ", ".join("?" for _ in run_ids)
    # Observations are appended in time order, so the window's rows lie between its runs' first
    # and last ids; scanning that range beats an index lookup per row when the window is large.
    bounds = [
        db.execute("SELECT MIN(id), MAX(id) FROM observations WHERE run_id = ?", (run_id,)).fetchone()
        for run_id in run_ids
    ]
    low = min((row[0] for row in bounds if row[0] is not None), default=0)
    high = max((row[1] for row in bounds if row[1] is not None), default=0)
    lean = ", ".join(LEAN_COLUMNS)
    where = f"id BETWEEN ? AND ? AND +run_id IN ({marks})"
    query = f"SELECT id, {lean} FROM observations WHERE {where}"
    params: list[str | int] = [low, high, *run_ids]
    # A store read in place (a read-only mount) is read through its own connection, not ADBC's.
    frame = _read_arrow(path, query, params) if path is not None else None
    if frame is None:
        frame = pd.read_sql_query(query, db, params=params)
        for column in CATEGORICAL_COLUMNS:
            frame[column] = frame[column].astype("category")
        frame["node_id"] = pd.factorize(frame["node_id"])[0]
    details = pd.read_sql_query(
        f"SELECT id, {', '.join(DETAIL_COLUMNS)} FROM observations"
        f" WHERE outcome IN ('failed', 'error') AND {where}",
        db,
        params=params,
    )
    located = dict(db.execute(f"SELECT run_id, location FROM runs WHERE run_id IN ({marks})", run_ids))
    return _with_locations(_with_details(frame, details), located)


def _with_details(frame: pd.DataFrame, details: pd.DataFrame) -> pd.DataFrame:
    """The failure-only texts as categorical columns, empty (code -1) on every other row."""
    rows = pd.Index(frame["id"]).get_indexer(details["id"])
    for column in DETAIL_COLUMNS:
        categories = pd.Index(details[column].astype(str).unique())
        codes = np.full(len(frame), -1, dtype=np.int32)
        codes[rows] = categories.get_indexer(details[column].astype(str))
        frame[column] = pd.Categorical.from_codes(codes, categories=categories)
    return frame


def _with_locations(frame: pd.DataFrame, located: dict[str, str]) -> pd.DataFrame:
    """Where each observation's run walked from (harness.analysis.locations): a column of the run's."""
    runs = frame["run_id"].astype("category").cat  # mapped per run, not per row: a million rows stay cheap
    names = pd.Index(sorted({"", *located.values()}))
    per_run = names.get_indexer(pd.Index([located.get(str(run), "") for run in runs.categories]))
    frame["location"] = pd.Categorical.from_codes(per_run[runs.codes.to_numpy()], categories=names)
    return frame


def _read_arrow(path: Path, query: str, params: list[str | int]) -> pd.DataFrame | None:
    """The query through ADBC into Arrow, dictionary-encoded; None where the driver is not installed."""
    try:
        import adbc_driver_sqlite.dbapi as adbc
    except ImportError:
        return None
    with adbc.connect(str(path)) as connection, connection.cursor() as cursor:
        # ADBC's SQLite connection does not wait for a lock unless told, as sqlite3's does.
        cursor.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_S * 1000}")
        cursor.execute(query, params)
        return _lean(cursor.fetch_arrow_table())


def _lean(table: pa.Table) -> pd.DataFrame:
    """The lean columns as the analysis reads them: texts dictionary-encoded, scenarios as codes."""
    for column in CATEGORICAL_COLUMNS:
        index = table.schema.get_field_index(column)
        if not pa.types.is_dictionary(table.schema.field(index).type):  # unpacked ones already are
            table = table.set_column(index, column, pc.dictionary_encode(table.column(column)))
    # Scenarios are only told apart, never named, in the analysis; hundreds of thousands of node ids
    # as pandas categories would cost more than the rest of the read.
    index, column = table.schema.get_field_index("node_id"), table.column("node_id")
    if pa.types.is_integer(column.type):  # PostgreSQL's hashes of them: a numpy hash table codes them
        nodes = pa.array(pd.factorize(column.to_numpy())[0].astype(np.int32))
    else:
        nodes = pc.dictionary_encode(column.combine_chunks()).indices
    table = table.set_column(index, "node_id", nodes)
    frame: pd.DataFrame = table.to_pandas()
    return frame


# PostgreSQL, through ADBC's driver (adbc_driver_postgresql). The window's run ids go into the query
# as one quoted array literal, not as a bind parameter: ADBC streams a query without parameters as
# binary COPY, but fetches one with parameters row by row, which doubled the read of a million rows.
# Texts are ordered bytewise (COLLATE "C") as SQLite orders them.
def _in_window(run_ids: list[str]) -> str:
    from psycopg import sql  # the store's own driver; quoting is its job, not ours

    return f"run_id = ANY({sql.quote(run_ids)}::text[])"


def _fetch(connection: Any, query: str) -> pa.Table:
    with connection.cursor() as cursor:
        cursor.execute(query)
        table: pa.Table = cursor.fetch_arrow_table()
    return table


def postgres_observations(connection: Any, run_ids: list[str]) -> pd.DataFrame:
    """observations_frame's frame, from a PostgreSQL store."""
    if not run_ids:
        return pd.DataFrame(columns=OBSERVATION_COLUMNS)
    query = (
        f"SELECT {', '.join(OBSERVATION_COLUMNS)} FROM observations WHERE {_in_window(run_ids)}"
        ' ORDER BY run_id COLLATE "C", node_id COLLATE "C", attempt, seq'
    )
    frame: pd.DataFrame = _fetch(connection, query).to_pandas()
    return frame


# The lean texts that are never NULL and take few values in a window (its runs, segments, stages and
# outcomes) travel as one text, split again once per distinct value: the driver's cost is per field,
# and one column of a few thousand distinct values instead of four took a third off the client's
# CPU for a window of 500,000 rows (0.8 → 0.5 s). ASCII's unit separator is in no id a map, a
# feature or the harness writes; a window where one is found is read unpacked.
PACKED_COLUMNS = ["run_id", "segment", "stage", "outcome"]
SEPARATOR = "\x1f"


def _unpacked(table: pa.Table) -> pa.Table | None:
    """The packed column as its four dictionary-encoded columns; None if a text held the separator
    (or was NULL, which the schema does not allow)."""
    packed = pc.dictionary_encode(table.column("packed").combine_chunks())
    parts = [str(value).split(SEPARATOR) for value in packed.dictionary.to_pylist()]
    if packed.null_count or any(len(part) != len(PACKED_COLUMNS) for part in parts):
        return None
    rows = packed.indices.to_numpy()
    table = table.drop_columns(["packed"])
    for number, column in enumerate(PACKED_COLUMNS):
        # The dictionary is in the order of first appearance, so each text's codes are too, as
        # dictionary-encoding the column itself would give them.
        per_value, names = pd.factorize(np.array([part[number] for part in parts], dtype=object))
        codes = pa.array(per_value.astype(np.int32)[rows])
        table = table.append_column(
            column, pa.DictionaryArray.from_arrays(codes, pa.array(names, pa.string()))
        )
    return table.select(["id", *LEAN_COLUMNS])


def postgres_analysis_frame(connection: Any, run_ids: list[str]) -> pd.DataFrame:
    """analysis_frame's frame, from a PostgreSQL store: the lean columns of every row through Arrow,
    the failure texts of the failed and errored rows alone."""
    if not run_ids:
        return pd.DataFrame(columns=["id", *OBSERVATION_COLUMNS])
    window = _in_window(run_ids)
    # Scenarios are only told apart (see _lean): the server sends each node id as a 64-bit hash, not
    # its text, so a million rows carry 8 bytes each for it; two of a window's few thousand scenarios
    # sharing a hash is a chance of about 1 in 10^12.
    said = {"node_id": "hashtextextended(node_id, 0) AS node_id"}
    packed = f" || '{SEPARATOR}' || ".join(PACKED_COLUMNS) + " AS packed"
    kept = [said.get(column, column) for column in LEAN_COLUMNS if column not in PACKED_COLUMNS]
    table = _unpacked(
        _fetch(connection, f"SELECT id, {packed}, {', '.join(kept)} FROM observations WHERE {window}")
    )
    if table is None:
        columns = [said.get(column, column) for column in LEAN_COLUMNS]
        table = _fetch(connection, f"SELECT id, {', '.join(columns)} FROM observations WHERE {window}")
    frame = _lean(table)
    details_query = (
        f"SELECT id, {', '.join(DETAIL_COLUMNS)} FROM observations"
        f" WHERE outcome IN ('failed', 'error') AND {window}"
    )
    details: pd.DataFrame = _fetch(connection, details_query).to_pandas()
    located = _fetch(connection, f"SELECT run_id, location FROM runs WHERE {window}")
    runs, places = located.column("run_id").to_pylist(), located.column("location").to_pylist()
    return _with_locations(_with_details(frame, details), dict(zip(runs, places, strict=True)))
