"""What the two stores share: the Store protocol, and the events, runs and tables written and read in
the SQL both SQLite and PostgreSQL speak.

SQLiteStore (sqlite.py) and PostgresStore (postgres.py) differ in how they open, how they read a
window into a frame, and how they compact; everything else is here, once. The statements use `?`
placeholders and SQL both dialects know (ON CONFLICT upserts, partial indexes); the PostgreSQL
connection (postgres.PgDatabase) turns the placeholders into psycopg's.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harness.errors import StoreError
from harness.observation import (
    AccessibilityChecked,
    Event,
    ExpectationResolved,
    MessageReceived,
    Observation,
    PendingExpectation,
    Run,
    RunFinished,
    RunnerSampled,
    RunStarted,
    StepObserved,
    VisitVitals,
    VitalsObserved,
    from_iso,
    to_iso,
)
from harness.store import accessibility as accessibility_store
from harness.store import mail as mail_store
from harness.store import pages as page_store
from harness.store import runner as runner_store
from harness.store import vitals as vitals_store
from harness.store.columns import OBSERVATION_COLUMNS
from harness.store.database import Database

if TYPE_CHECKING:
    import pandas as pd


class Store(Protocol):
    """What the recorder, the gap analysis and the CLI need from a store."""

    def handle(self, event: Event) -> None: ...
    def scenarios_recorded(self, run_id: str) -> int: ...
    def has_run(self, run_id: str) -> bool: ...
    def runs(self, last: int | None = None) -> list[Run]: ...
    def map_text(self, digest: str) -> str | None: ...
    def observations(self, run_ids: list[str]) -> pd.DataFrame: ...
    def analysis_frame(self, run_ids: list[str]) -> pd.DataFrame: ...
    def messages(self, run_ids: list[str]) -> list[MessageReceived]: ...
    def slowest_visits(self, run_ids: list[str]) -> list[page_store.SlowestVisit]: ...
    def visit_vitals(self, run_ids: list[str]) -> list[VisitVitals]: ...
    def accessibility_checks(self, run_ids: list[str]) -> list[AccessibilityChecked]: ...
    def open_pending(self) -> list[PendingExpectation]: ...
    def resolve(self, resolved: ExpectationResolved) -> bool: ...
    def close(self) -> None: ...


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; only its parent has not reaped it yet.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


RUN_COLUMNS = (
    "run_id, started_at, state, finished_at, pid, host, target, segment, journey,"
    " map_version, map_path, map_digest, browsing, location"
)


class SQLStore:
    """The store over one Database connection; subclasses open it and say which errors it raises."""

    _db: Database
    # The driver's own errors, turned into StoreError here; a table a read-only old store lacks.
    errors: tuple[type[Exception], ...] = ()
    missing_table: tuple[type[Exception], ...] = ()
    read_only = False

    @property
    def where(self) -> str | Path:
        """What a StoreError names: the file, or the URL without a password."""
        raise NotImplementedError

    def handle(self, event: Event) -> None:
        try:
            if isinstance(event, StepObserved):
                self._insert_observation(event.observation)
            elif isinstance(event, RunStarted):
                if event.map_text and event.run.map_digest:
                    self._db.execute(
                        "INSERT INTO maps (digest, journey, version, text) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT DO NOTHING",
                        (event.run.map_digest, event.run.journey, event.run.map_version, event.map_text),
                    )
                self._insert_run(event.run)
            elif isinstance(event, RunFinished):
                self._db.execute(
                    "UPDATE runs SET state = ?, finished_at = ? WHERE run_id = ?",
                    (event.state, to_iso(event.finished_at), event.run_id),
                )
            elif isinstance(event, MessageReceived):
                mail_store.add_message(self._db, event)
            elif isinstance(event, PendingExpectation):
                self._db.execute("BEGIN")
                try:
                    if event.observation is not None:
                        self._insert_observation(event.observation)
                    mail_store.add_pending(self._db, event)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            elif isinstance(event, ExpectationResolved):
                mail_store.resolve(self._db, event)
            elif isinstance(event, RunnerSampled):
                runner_store.add_sample(self._db, event)
            elif isinstance(event, VitalsObserved):
                vitals_store.add_vitals(self._db, event)
            elif isinstance(event, AccessibilityChecked):
                accessibility_store.add_check(self._db, event)
        except self.errors as exc:
            raise StoreError(f"cannot write to the store: {exc}", file=self.where) from None

    def _insert_run(self, run: Run) -> None:
        # Re-opening keeps the earliest start and takes the new pid: retries re-open a run in its own
        # process, and the workers of a parallel run (harness/record/workers.py) each open it, in any
        # order, under their controller's pid. CASE, not MIN/LEAST: both dialects read it alike.
        self._db.execute(
            f"INSERT INTO runs ({RUN_COLUMNS.replace(' finished_at,', '')})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(run_id) DO UPDATE SET state = excluded.state, pid = excluded.pid,"
            " host = excluded.host, finished_at = NULL, started_at = CASE"
            " WHEN excluded.started_at < runs.started_at THEN excluded.started_at ELSE runs.started_at END",
            (
                run.run_id,
                to_iso(run.started_at),
                run.state,
                run.pid,
                run.host,
                run.target,
                run.segment,
                run.journey,
                run.map_version,
                run.map_path,
                run.map_digest,
                run.browsing,
                run.location,
            ),
        )

    def _insert_observation(self, obs: Observation) -> None:
        self._db.execute(
            f"INSERT INTO observations ({', '.join(OBSERVATION_COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in OBSERVATION_COLUMNS)})",
            (
                obs.run_id,
                obs.seq,
                obs.feature,
                obs.scenario,
                obs.node_id,
                obs.segment,
                obs.stage,
                obs.touchpoint,
                obs.step,
                to_iso(obs.started_at),
                obs.duration_ms,
                obs.outcome,
                obs.error,
                obs.attempt,
                obs.evidence,
                int(obs.timed),
                obs.trace,
                obs.page_url,
                obs.page_title,
                obs.wall_ms,
                obs.failure,
            ),
        )
        page_store.add_page(self._db, obs)

    def reconcile_aborted(self) -> list[str]:
        """Mark runs whose process on this host is gone as aborted; return their ids.

        Only this host's runs: a pid says nothing of a process on another machine (a store shared
        on PostgreSQL), so another host's run stays "running" until that host's harness looks.
        """
        if self.read_only:
            return []  # what a read-only copy says is what it kept
        host = socket.gethostname()
        rows = self._db.execute("SELECT run_id, pid FROM runs WHERE state = 'running' AND host = ?", (host,))
        gone = [run_id for run_id, pid in rows.fetchall() if pid is None or not process_alive(pid)]
        for run_id in gone:
            last = self._db.execute(
                "SELECT MAX(started_at) FROM observations WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            self._db.execute(
                "UPDATE runs SET state = 'aborted', finished_at = ? WHERE run_id = ? AND state = 'running'",
                (last, run_id),
            )
        return gone

    def scenarios_recorded(self, run_id: str) -> int:
        """Scenario attempts with at least one observation kept."""
        row = self._db.execute(
            "SELECT COUNT(DISTINCT node_id || ':' || attempt) FROM observations WHERE run_id = ?", (run_id,)
        ).fetchone()
        return int(row[0])

    def has_run(self, run_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is not None

    def runs(self, last: int | None = None) -> list[Run]:
        self.reconcile_aborted()
        query = f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started_at DESC"
        params: tuple[int, ...] = ()
        if last is not None:
            query += " LIMIT ?"
            params = (last,)
        found = [
            Run(
                run_id=r[0],
                started_at=from_iso(r[1]) or dt.datetime.min,
                state=r[2],
                finished_at=from_iso(r[3]),
                pid=r[4],
                host=r[5],
                target=r[6],
                segment=r[7],
                journey=r[8],
                map_version=r[9],
                map_path=r[10],
                map_digest=r[11],
                browsing=r[12],
                location=r[13],
            )
            for r in self._db.execute(query, params).fetchall()
        ]
        return list(reversed(found))

    def map_text(self, digest: str) -> str | None:
        """The journey map a run was recorded with, as it was written then."""
        row = self._db.execute("SELECT text FROM maps WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else str(row[0])

    def open_pending(self) -> list[PendingExpectation]:
        return mail_store.open_pending(self._db)

    def resolve(self, resolved: ExpectationResolved) -> bool:
        """Complete a pending expectation; False when another poller already did."""
        try:
            return mail_store.resolve(self._db, resolved)
        except self.errors as exc:
            raise StoreError(f"cannot write to the store: {exc}", file=self.where) from None

    def runner_samples(self, run_ids: list[str]) -> list[RunnerSampled]:
        """How busy the runner was during these runs (none for runs of an older harness)."""
        return runner_store.samples(self._db, run_ids)

    def messages(self, run_ids: list[str]) -> list[MessageReceived]:
        """The inbox audit of these runs, oldest message first."""
        return mail_store.messages(self._db, run_ids)

    def slowest_visits(self, run_ids: list[str]) -> list[page_store.SlowestVisit]:
        """Each touchpoint's slowest page visit with its requests and screenshot (the report's evidence)."""
        try:
            return page_store.slowest_visits(self._db, run_ids)
        except self.missing_table:  # a read-only store from before the table: no waterfalls
            return []

    def visit_vitals(self, run_ids: list[str]) -> list[VisitVitals]:
        """The web vitals of the window's passed page visits (none for runs of an older harness)."""
        try:
            return vitals_store.visit_vitals(self._db, run_ids)
        except self.missing_table:  # a read-only store from before the table: no vitals
            return []

    def accessibility_checks(self, run_ids: list[str]) -> list[AccessibilityChecked]:
        """What axe found on the page visits of these runs (none for runs of an older harness)."""
        try:
            return accessibility_store.checks(self._db, run_ids)
        except self.missing_table:  # a read-only store from before the table: nothing was checked
            return []

    def close(self) -> None:
        self._db.close()

    def observations(self, run_ids: list[str]) -> pd.DataFrame:
        """Every column of these runs' observations, in scenario and step order."""
        raise NotImplementedError

    def analysis_frame(self, run_ids: list[str]) -> pd.DataFrame:
        """The observations the gap analysis reads, built for windows of millions of rows."""
        raise NotImplementedError

    def prune(self, older_than: dt.datetime) -> list[str]:
        """Delete the finished runs started before `older_than`, and what they recorded; their ids."""
        raise NotImplementedError

    def _delete_runs(self, older_than: dt.datetime) -> list[str]:
        """Delete the finished runs started before `older_than` with everything they recorded, in one
        transaction; their ids."""
        rows = self._db.execute(
            "SELECT run_id FROM runs WHERE started_at < ? AND state != 'running'", (to_iso(older_than),)
        ).fetchall()
        pruned = [str(row[0]) for row in rows]
        if not pruned:
            return []
        self._db.execute("BEGIN")
        try:
            for start in range(0, len(pruned), 500):  # SQLite caps the number of ? in one statement
                chunk = pruned[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                self._db.execute(f"DELETE FROM observations WHERE run_id IN ({marks})", chunk)
                mail_store.prune(self._db, chunk)
                runner_store.prune(self._db, chunk)
                page_store.prune(self._db, chunk)
                vitals_store.prune(self._db, chunk)
                accessibility_store.prune(self._db, chunk)
                self._db.execute(f"DELETE FROM runs WHERE run_id IN ({marks})", chunk)
            self._db.execute("DELETE FROM maps WHERE digest NOT IN (SELECT map_digest FROM runs)")
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return pruned
