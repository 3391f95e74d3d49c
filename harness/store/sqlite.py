"""Where observations live: SQLite by default, behind an interface a PostgreSQL backend can implement.

Every observation is committed as soon as it arrives, so a run that is killed keeps everything
it recorded. A run left in state "running" whose process is gone is reported as aborted.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote

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
from harness.store import schema
from harness.store import vitals as vitals_store
from harness.store.columns import OBSERVATION_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_STORE = "shopper.db"


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


def _process_alive(pid: int) -> bool:
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


class SQLiteStore:
    """One SQLite file in WAL mode: readers (a report) never block the run that is writing."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.read_only = False
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and os.statvfs(self.path).f_flag & os.ST_RDONLY:
                self._open_read_only()
                return
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            schema.check_ours(self._db, self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            schema.create(self._db)
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):
                raise StoreError("is not a shopper store (not an SQLite database)", file=self.path) from None
            raise StoreError(f"the store cannot be read ({exc})", file=self.path) from None
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the store: {exc}", file=self.path) from None

    def _open_read_only(self) -> None:
        """A store on a read-only mount (an archive, a copy from CI) can still be reported from.

        SQLite's `immutable` mode reads it without the locks and WAL index it cannot create there;
        nothing writes to a read-only mount, so nothing can change under the read.
        """
        uri = f"file:{quote(str(self.path.resolve()))}?immutable=1"
        self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
        self.read_only = True
        schema.check_ours(self._db, self.path)

    def handle(self, event: Event) -> None:
        try:
            if isinstance(event, StepObserved):
                self._insert_observation(event.observation)
            elif isinstance(event, RunStarted):
                if event.map_text and event.run.map_digest:
                    self._db.execute(
                        "INSERT OR IGNORE INTO maps (digest, journey, version, text) VALUES (?, ?, ?, ?)",
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
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the store: {exc}", file=self.path) from None

    def _insert_run(self, run: Run) -> None:
        # Re-opening keeps the earliest start and takes the new pid: the workers of a parallel run
        # each open it (harness/record/workers.py), in any order, under their controller's pid.
        self._db.execute(
            "INSERT INTO runs (run_id, started_at, state, pid, host, target, segment, journey, map_version,"
            " map_path, map_digest, browsing, location) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(run_id) DO UPDATE SET state = excluded.state, pid = excluded.pid,"
            " host = excluded.host, finished_at = NULL, started_at = MIN(started_at, excluded.started_at)",
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
        """Mark runs whose process on this host is gone as aborted; return their ids."""
        if self.read_only:
            return []  # what a read-only copy says is what it kept
        host = socket.gethostname()
        rows = self._db.execute("SELECT run_id, pid FROM runs WHERE state = 'running' AND host = ?", (host,))
        gone = [run_id for run_id, pid in rows.fetchall() if pid is None or not _process_alive(pid)]
        for run_id in gone:
            last = self._db.execute(
                "SELECT MAX(started_at) FROM observations WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            self._db.execute(
                "UPDATE runs SET state = 'aborted', finished_at = ? WHERE run_id = ?", (last, run_id)
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
        query = (
            "SELECT run_id, started_at, state, finished_at, pid, host, target, segment, journey,"
            " map_version, map_path, map_digest, browsing, location FROM runs ORDER BY started_at DESC"
        )
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

    def observations(self, run_ids: list[str]) -> pd.DataFrame:
        # The frames need pandas; a run, which only writes, must not pay for importing it.
        from harness.store.frame import observations_frame

        return observations_frame(self._db, run_ids)

    def analysis_frame(self, run_ids: list[str]) -> pd.DataFrame:
        """The observations the gap analysis reads, built for windows of millions of rows."""
        from harness.store.frame import analysis_frame  # pandas, as above

        return analysis_frame(self._db, None if self.read_only else self.path, run_ids)

    def open_pending(self) -> list[PendingExpectation]:
        return mail_store.open_pending(self._db)

    def resolve(self, resolved: ExpectationResolved) -> bool:
        """Complete a pending expectation; False when another poller already did."""
        try:
            return mail_store.resolve(self._db, resolved)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the store: {exc}", file=self.path) from None

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
        except sqlite3.OperationalError:  # a read-only store from before the table: no waterfalls
            return []

    def visit_vitals(self, run_ids: list[str]) -> list[VisitVitals]:
        """The web vitals of the window's passed page visits (none for runs of an older harness)."""
        try:
            return vitals_store.visit_vitals(self._db, run_ids)
        except sqlite3.OperationalError:  # a read-only store from before the table: no vitals
            return []

    def accessibility_checks(self, run_ids: list[str]) -> list[AccessibilityChecked]:
        """What axe found on the page visits of these runs (none for runs of an older harness)."""
        try:
            return accessibility_store.checks(self._db, run_ids)
        except sqlite3.OperationalError:  # a read-only store from before the table: nothing was checked
            return []

    def close(self) -> None:
        self._db.close()

    def prune(self, older_than: dt.datetime) -> list[str]:
        """Delete the runs started before `older_than` with their observations; return their ids.

        A run still going is kept, whatever its age. The file is compacted afterwards (incrementally
        where the store was made with auto_vacuum=INCREMENTAL), so retention also keeps it small.
        """
        try:
            rows = self._db.execute(
                "SELECT run_id FROM runs WHERE started_at < ? AND state != 'running'", (to_iso(older_than),)
            ).fetchall()
            pruned = [str(row[0]) for row in rows]
            if not pruned:
                return []
            self._db.execute("BEGIN")
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
            incremental = self._db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
            self._db.execute("PRAGMA incremental_vacuum" if incremental else "VACUUM").fetchall()
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"cannot prune the store: {exc}", file=self.path) from None
        return pruned


def open_store(url: str | Path) -> SQLiteStore:
    """Open a store by URL: a file path or sqlite:///path. PostgreSQL comes with its own issue."""
    text = str(url)
    if text.startswith(("postgres://", "postgresql://")):
        raise StoreError("PostgreSQL stores are not supported yet; use a SQLite file path", file=text)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return SQLiteStore(text)



class LazyStore:
    """Opens the store at the first event, so a session that records nothing leaves no file behind."""

    def __init__(self, url: str | Path) -> None:
        self.url = url
        self._store: SQLiteStore | None = None

    def handle(self, event: Event) -> None:
        if self._store is None:
            self._store = open_store(self.url)
        self._store.handle(event)


def store_path(url: str | Path) -> Path:
    text = str(url)
    return Path(text[len("sqlite:///") :] if text.startswith("sqlite:///") else text)


def run_exists(url: str | Path, run_id: str) -> bool:
    if not store_path(url).exists():
        return False
    store = open_store(url)
    try:
        return store.has_run(run_id)
    finally:
        store.close()
