"""The connection the store's table modules write and read through: sqlite3's, or PostgreSQL's wrapped.

A leaf of the store, so the table modules (mail, pages, runner, vitals, accessibility) and the two
stores name one type and import nothing of each other to do so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

# How long a connection to a SQLite store waits for another's lock before it gives up: a run writing
# while a report reads, or a report's two windows opening the file at once, wait for each other
# instead of failing with "database is locked".
LOCK_WAIT_S = 30


class Cursor(Protocol):
    """What the table modules read of a statement's result (sqlite3's cursor and psycopg's alike)."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """A connection in autocommit mode with explicit BEGIN/COMMIT: sqlite3's, or postgres.PgDatabase."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...
    def executescript(self, sql_script: str, /) -> object: ...
    @property
    def in_transaction(self) -> bool: ...
    def close(self) -> None: ...
