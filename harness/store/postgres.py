"""The PostgreSQL store: one history that runners on several hosts write to and report from.

`--store postgresql://user@host:port/database` (or postgres://). The password is never part of the
URL: libpq reads it from PGPASSWORD (or ~/.pgpass), so it reaches neither a command line, a log
nor the store; a URL that carries one is refused. The tables, their columns and the statements
are the SQLite store's (schema.py, base.py, the table modules): writes go through psycopg 3,
and the report's window is read through ADBC's PostgreSQL driver straight into Arrow (COPY in
binary under the hood), as the SQLite store reads it through ADBC's SQLite driver.

Several writers are safe: every statement commits at once (autocommit) and the few that must
go together run in one transaction; two pollers resolving one pending item both UPDATE it,
the second waits for the first's row lock and then finds it resolved (mail.resolve), and the
schema is made under an advisory lock, so two runners starting at once do not race to create it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import psycopg
from psycopg.pq import TransactionStatus

from harness.errors import StoreError
from harness.store import schema
from harness.store.base import SQLStore
from harness.store.columns import OBSERVATION_COLUMNS, ObservationChunks
from harness.store.database import Cursor

if TYPE_CHECKING:
    import adbc_driver_postgresql.dbapi
    import pandas as pd

# Any fixed number: the key of the advisory lock under which a store's tables are made.
SCHEMA_LOCK = 0x5E0BBE7


def check_url(url: str) -> str:
    """The URL as it may be shown; refused if it carries a password (before `@`, or libpq's
    `?password=`), which is then cut from what the error names."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if parts.password is None and not any(key == "password" for key, _ in query):
        return url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo.split(':', 1)[0]}{at}{hostport}"
    kept = urlencode([(key, value) for key, value in query if key != "password"])
    shown = parts._replace(netloc=netloc, query=kept).geturl()
    said = "the PostgreSQL URL carries a password; leave it out and set PGPASSWORD instead"
    raise StoreError(said, file=shown)


def database_name(url: str) -> str:
    """The database a URL names (libpq's default, the user's name, when it names none)."""
    parts = urlsplit(url)
    return unquote(parts.path.lstrip("/")) or parts.username or "postgres"


_PLACEHOLDER = re.compile(r"\?")


class PgDatabase:
    """A psycopg connection that takes the table modules' SQL: `?` placeholders, BEGIN IMMEDIATE."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection
        self._said: dict[str, str] = {}

    def _translate(self, sql: str) -> str:
        said = self._said.get(sql)
        if said is None:
            # PostgreSQL has no IMMEDIATE: its row locks make the first writer win (mail.resolve).
            said = "BEGIN" if sql == "BEGIN IMMEDIATE" else _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))
            self._said[sql] = said
        return said

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        return self.connection.execute(self._translate(sql), tuple(parameters))

    def executescript(self, sql_script: str, /) -> object:
        # No parameters, so psycopg sends the script as one simple query: several statements at once.
        return self.connection.execute(sql_script.encode())

    @property
    def in_transaction(self) -> bool:
        return self.connection.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.connection.close()


def connect(url: str) -> PgDatabase:
    """A connection in autocommit mode, for the store or the alert state; StoreError when it fails."""
    shown = check_url(url)
    try:
        return PgDatabase(psycopg.connect(url, autocommit=True))
    except psycopg.Error as exc:
        # libpq's own words, which name the host and the user (never a password: there is none).
        said = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"cannot connect to the PostgreSQL store: {said}", file=shown) from None


def create_tables(db: PgDatabase, script: str, added: Sequence[tuple[str, str, str]] = ()) -> None:
    """Make the tables and the columns added since (schema.ADDED_COLUMNS), once, whoever else starts."""
    db.execute("BEGIN")
    try:
        db.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
        db.executescript(schema.for_postgres(script))
        for table, column, declaration in added:
            # Only when missing: ALTER TABLE locks the table even when IF NOT EXISTS finds the column.
            present = db.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = ? AND column_name = ?",
                (table, column),
            ).fetchone()
            if present is None:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {schema.for_postgres(declaration)}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


class PostgresStore(SQLStore):
    """A PostgreSQL database as the store: the SQLite store's tables and statements, many writers."""

    errors = (psycopg.Error,)
    missing_table = (psycopg.errors.UndefinedTable,)

    def __init__(self, url: str) -> None:
        self.url = check_url(url)
        self._arrow: adbc_driver_postgresql.dbapi.Connection | None = None
        self._db = connect(url)
        try:
            self._check_ours()
            create_tables(self._db, schema.tables(), schema.ADDED_COLUMNS)
        except psycopg.Error as exc:
            self._db.close()
            raise StoreError(f"cannot open the store: {exc}", file=self.url) from None
        except StoreError:
            self._db.close()
            raise

    @property
    def where(self) -> str:
        return self.url

    def _check_ours(self) -> None:
        """A database whose `runs` table is another application's must be refused before ours is added."""
        columns = {
            str(row[0])
            for row in self._db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = 'runs'"
            )
        }
        if columns and "run_id" not in columns:
            raise StoreError(
                "is not a shopper store (its runs table is another application's); name another with --store",
                file=self.url,
            )

    def arrow(self) -> adbc_driver_postgresql.dbapi.Connection:
        """ADBC's connection, opened at the first frame read (a run, which only writes, never opens it)."""
        if self._arrow is None:
            import adbc_driver_postgresql.dbapi as adbc

            try:
                self._arrow = adbc.connect(self.url)
            except adbc.Error as exc:
                raise StoreError(f"cannot read the store: {exc}", file=self.url) from None
        return self._arrow

    def observations(self, run_ids: list[str]) -> pd.DataFrame:
        from harness.store.frame import postgres_observations  # pandas only where a frame is read

        return postgres_observations(self.arrow(), run_ids)

    def analysis_frame(self, run_ids: list[str]) -> pd.DataFrame:
        from harness.store.frame import postgres_analysis_frame

        return postgres_analysis_frame(self.arrow(), run_ids)

    def prune(self, older_than: dt.datetime) -> list[str]:
        """Delete the finished runs started before `older_than`; autovacuum reclaims their space."""
        try:
            return self._delete_runs(older_than)
        except psycopg.Error as exc:
            raise StoreError(f"cannot prune the store: {exc}", file=self.url) from None

    def close(self) -> None:
        if self._arrow is not None:
            self._arrow.close()
            self._arrow = None
        self._db.close()


def observation_chunks(url: str, run_ids: list[str], size: int) -> ObservationChunks:
    """Each run's observations in the order they were recorded, `size` rows at a time, with the
    indexes of the text columns: one read-only snapshot, through a server-side cursor (flat memory)."""
    db = connect(url)
    numeric = {"seq", "duration_ms", "attempt", "timed", "wall_ms"}
    text = [i for i, column in enumerate(OBSERVATION_COLUMNS) if column not in numeric]
    try:
        with db.connection.transaction(), db.connection.cursor(name="shopper_export") as cursor:
            db.connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            for run_id in dict.fromkeys(run_ids):
                columns = ", ".join(OBSERVATION_COLUMNS)
                cursor.execute(f"SELECT {columns} FROM observations WHERE run_id = %s ORDER BY id", (run_id,))
                while chunk := cursor.fetchmany(size):
                    yield chunk, text
    except psycopg.Error as exc:
        raise StoreError(f"cannot read observations: {exc}", file=url) from None
    finally:
        db.close()
