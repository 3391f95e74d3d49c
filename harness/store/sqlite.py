"""Where observations live: SQLite by default, PostgreSQL for a history several runners share.

Every observation is committed as soon as it arrives, so a run that is killed keeps everything
it recorded. A run left in state "running" whose process is gone is reported as aborted.
`open_store(url)` is the one way in: a file path or sqlite:///path opens a SQLiteStore here,
postgresql://user@host/db a PostgresStore (postgres.py); both are a base.SQLStore.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from harness.errors import StoreError
from harness.observation import Event
from harness.store import schema
from harness.store.base import SQLStore, Store, process_alive
from harness.store.database import LOCK_WAIT_S

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_STORE = "shopper.db"
POSTGRES_SCHEMES = ("postgres://", "postgresql://")

__all__ = ["DEFAULT_STORE", "LazyStore", "SQLiteStore", "Store", "open_store", "run_exists", "store_path"]
_process_alive = process_alive  # the name harness.ops.scheduler_status reads


class SQLiteStore(SQLStore):
    """One SQLite file in WAL mode: readers (a report) never block the run that is writing."""

    _db: sqlite3.Connection
    errors = (sqlite3.Error,)
    missing_table = (sqlite3.OperationalError,)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.read_only = False
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and os.statvfs(self.path).f_flag & os.ST_RDONLY:
                self._open_read_only()
                return
            self._db = sqlite3.connect(self.path, timeout=LOCK_WAIT_S, isolation_level=None)
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

    @property
    def where(self) -> Path:
        return self.path

    def _open_read_only(self) -> None:
        """A store on a read-only mount (an archive, a copy from CI) can still be reported from.

        SQLite's `immutable` mode reads it without the locks and WAL index it cannot create there;
        nothing writes to a read-only mount, so nothing can change under the read.
        """
        uri = f"file:{quote(str(self.path.resolve()))}?immutable=1"
        self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
        self.read_only = True
        schema.check_ours(self._db, self.path)

    def observations(self, run_ids: list[str]) -> pd.DataFrame:
        # The frames need pandas; a run, which only writes, must not pay for importing it.
        from harness.store.frame import observations_frame

        return observations_frame(self._db, run_ids)

    def analysis_frame(self, run_ids: list[str]) -> pd.DataFrame:
        """The observations the gap analysis reads, built for windows of millions of rows."""
        from harness.store.frame import analysis_frame  # pandas, as above

        return analysis_frame(self._db, None if self.read_only else self.path, run_ids)

    def prune(self, older_than: dt.datetime) -> list[str]:
        """Delete the runs started before `older_than` with their observations; return their ids.

        A run still going is kept, whatever its age. The file is compacted afterwards (incrementally
        where the store was made with auto_vacuum=INCREMENTAL), so retention also keeps it small.
        """
        try:
            pruned = self._delete_runs(older_than)
            if not pruned:
                return []
            incremental = self._db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
            self._db.execute("PRAGMA incremental_vacuum" if incremental else "VACUUM").fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot prune the store: {exc}", file=self.path) from None
        return pruned


def is_postgres(url: str | Path) -> bool:
    return str(url).startswith(POSTGRES_SCHEMES)


def open_store(url: str | Path) -> SQLStore:
    """Open a store by URL: a file path, sqlite:///path, or postgresql://user@host:port/db."""
    text = str(url)
    if is_postgres(text):
        # psycopg is imported only by a run that writes to PostgreSQL.
        from harness.store.postgres import PostgresStore

        return PostgresStore(text)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return SQLiteStore(text)


class LazyStore:
    """Opens the store at the first event, so a session that records nothing leaves no file behind."""

    def __init__(self, url: str | Path) -> None:
        self.url = url
        self._store: SQLStore | None = None

    def handle(self, event: Event) -> None:
        if self._store is None:
            self._store = open_store(self.url)
        self._store.handle(event)


def store_path(url: str | Path) -> Path:
    """The store's file; for a PostgreSQL store, the name the files kept beside a store are named
    after (the database's), in the working directory: evidence, pytest's cache, the scheduler's status."""
    text = str(url)
    if is_postgres(text):
        from harness.store.postgres import database_name

        return Path(database_name(text))
    return Path(text[len("sqlite:///") :] if text.startswith("sqlite:///") else text)


def store_exists(url: str | Path) -> bool:
    """Whether there is a store to read: a file, or a PostgreSQL server (its tables made when opened)."""
    return is_postgres(url) or store_path(url).exists()


def run_exists(url: str | Path, run_id: str) -> bool:
    if not store_exists(url):
        return False
    store = open_store(url)
    try:
        return store.has_run(run_id)
    finally:
        store.close()
