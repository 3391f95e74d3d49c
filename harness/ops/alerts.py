"""Alerts on touchpoints: a streak of failing scheduled runs raises one alert, the first good run clears it.

What monitoring tools learned the hard way (Checkly, Datadog, Uptime Kuma): one bad run is noise, so a
touchpoint alerts only after `after` failing runs in a row; it says so once, not at every run while
it stays down; it says once more when it recovers; and a chat channel or mail server that is down
must never stop the schedule, so delivery (harness.ops.alert_delivery) retries with back-off, then
logs and gives up.

Per touchpoint and segment, each run's verdict moves a streak:

    a status in `on` (default: failing)   the streak grows; reaching `after` raises the alert
    met, or slow/flaky when not in `on`    the streak ends; an open alert recovers
    untested, off-map                      nothing: this run did not exercise the touchpoint
    runner-busy                            nothing: the runner was too busy to measure it fairly

A run whose runner was too busy to measure fairly (harness.analysis.runner_rule) is the harness operator's
to fix, never a touchpoint owner's: it moves a streak of its own, "the runner", owned by the
operator, that alerts (after the same number of runs) and recovers like a touchpoint's.

The streaks live in the store (table alert_state: the SQLite file, or the PostgreSQL database), so
a restarted scheduler neither repeats an alert nor forgets one that is open, and two schedulers on
one store never both send one alert: each run's streaks move in one transaction that holds the
journey's write lock (SQLite's BEGIN IMMEDIATE; on PostgreSQL an advisory lock per journey).
Secrets stay out of logs and state: the SMTP password is read from the environment at send time,
and webhook URLs (a Slack URL is itself a credential) are logged by host only.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness.analysis.runner_rule import OPERATOR, OPERATOR_ACTION
from harness.analysis.verdicts import Observed, Verdict
from harness.errors import StoreError
from harness.map.journey_map import Expectation
from harness.ops.alert_config import JUDGED, AlertConfig
from harness.ops.alert_delivery import RUNNER, AlertEvent, Delivery, deliver
from harness.store.database import Database
from harness.store.sqlite import is_postgres, store_exists
from harness.store.sqlite import store_path as file_of

# With the journey's name hashed, the key of the PostgreSQL advisory lock that observe() holds.
ALERT_LOCK = 0x0A1E27

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_state (
    journey TEXT NOT NULL,
    touchpoint TEXT NOT NULL,
    segment TEXT NOT NULL,
    streak INTEGER NOT NULL DEFAULT 0,
    alerting INTEGER NOT NULL DEFAULT 0,
    last_status TEXT NOT NULL,
    last_run_id TEXT NOT NULL,
    alerted_at TEXT,
    updated_at TEXT NOT NULL,
    map_version TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    stage TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    gap TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (journey, touchpoint, segment)
);
"""


@dataclass(frozen=True)
class OpenAlert:
    """An alert raised and not yet recovered, as `shopper status` shows it."""

    journey: str
    touchpoint_id: str
    touchpoint_name: str
    stage_id: str
    segment: str
    owner: str
    streak: int
    last_status: str
    last_run_id: str
    gap: str
    since: str  # UTC, ISO 8601


def runner_verdict(verdicts: list[Verdict]) -> Verdict:
    """The runner as a run saw it: runner-busy when the run held back a verdict, else met."""
    held = [f"{verdict.name} ({verdict.segment})" for verdict in verdicts if verdict.status == "runner-busy"]
    return Verdict(
        stage_id="",
        touchpoint_id=RUNNER,
        name="The runner",
        channel="",
        owner=OPERATOR,
        moment_of_truth=False,
        segment="",
        status="runner-busy" if held else "met",
        expected=Expectation(),
        observed=Observed(),
        gap=f"{OPERATOR_ACTION}; held back as runner busy: {', '.join(held)}" if held else "",
    )


# ---------------------------------------------------------------------------------------------------
# Streaks and their state


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _connect(path: str | Path) -> Database:
    if is_postgres(path):
        # psycopg only for a store on PostgreSQL; its tables made like the store's (schema.for_postgres).
        from harness.store.postgres import PostgresStore, connect, create_tables

        shared = connect(str(path))
        try:
            create_tables(shared, SCHEMA)
        except PostgresStore.errors as exc:
            shared.close()
            raise StoreError(f"cannot open the alert state: {exc}", file=str(path)) from None
        return shared
    file = file_of(path)
    try:
        if file.parent != Path(""):
            file.parent.mkdir(parents=True, exist_ok=True)
        # Its own connection: the store's may be writing a run at the same moment; WAL lets both in.
        db = sqlite3.connect(file, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open the alert state: {exc}", file=file) from None
    return db


class Alerter:
    def __init__(
        self,
        config: AlertConfig,
        store_path: str | Path,
        *,
        journey_name: str,
        map_version: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.journey = journey_name
        self.map_version = map_version
        self._sleep = sleep
        self._path = store_path
        self._shared = is_postgres(store_path)
        self._db = _connect(store_path)
        self._errors = _errors(store_path)

    def observe(self, run_id: str, verdicts: list[Verdict], *, report: str | None = None) -> list[AlertEvent]:
        """Move every touchpoint's streak by this run's verdicts; the alerts and recoveries it caused.

        Seeing the same run twice (a scheduler restarted mid-way) changes nothing the second time.
        """
        events: list[AlertEvent] = []
        now = _now()
        try:
            # IMMEDIATE: two schedulers on one file must not both read a streak of 1 and both alert at 2.
            self._db.execute("BEGIN IMMEDIATE")
            if self._shared:  # PostgreSQL's BEGIN locks nothing: this journey's streaks are claimed here
                self._db.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (ALERT_LOCK, self.journey))
            for verdict in verdicts:
                event = self._step(run_id, verdict, now, report or self.config.report_url)
                if event is not None:
                    events.append(event)
            if any(verdict.status in (*JUDGED, "runner-busy") for verdict in verdicts):
                # The runner's own streak, for the operator: a run that measured nothing says nothing of it.
                runner = runner_verdict(verdicts)
                event = self._step(run_id, runner, now, report or self.config.report_url, on=("runner-busy",))
                events += [event] if event is not None else []
            self._db.execute("COMMIT")
        except self._errors as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            where = self._path if self._shared else file_of(self._path)
            raise StoreError(f"cannot update the alert state: {exc}", file=where) from None
        return events

    def _step(
        self, run_id: str, verdict: Verdict, now: str, report: str | None, on: tuple[str, ...] | None = None
    ) -> AlertEvent | None:
        on = self.config.on if on is None else on
        if verdict.status not in JUDGED and verdict.status not in on:
            return None
        key = (self.journey, verdict.touchpoint_id, verdict.segment)
        row = self._db.execute(
            "SELECT streak, alerting, last_run_id FROM alert_state"
            " WHERE journey = ? AND touchpoint = ? AND segment = ?",
            key,
        ).fetchone()
        streak, alerting, last_run = (int(row[0]), bool(row[1]), str(row[2])) if row else (0, False, "")
        if last_run == run_id:
            return None
        kind = ""
        ended = streak
        if verdict.status in on:
            streak += 1
            if not alerting and streak >= self.config.threshold(verdict.touchpoint_id):
                kind, alerting = "alert", True
        else:
            if alerting:
                kind, alerting = "recovery", False
            streak = 0
        self._save(key, streak, alerting, verdict, run_id, now)
        if not kind:
            return None
        return AlertEvent(
            kind=kind,
            journey=self.journey,
            map_version=self.map_version,
            touchpoint_id=verdict.touchpoint_id,
            touchpoint_name=verdict.name,
            stage_id=verdict.stage_id,
            segment=verdict.segment,
            owner=verdict.owner,
            status=verdict.status,
            gap=verdict.gap,
            consecutive=streak if kind == "alert" else ended,
            run_id=run_id,
            moment_of_truth=verdict.moment_of_truth,
            report_url=report,
            at=now,
        )

    def _save(
        self, key: tuple[str, str, str], streak: int, alerting: bool, verdict: Verdict, run_id: str, now: str
    ) -> None:
        """The streak as this run left it; an alert still open keeps the time it was raised."""
        self._db.execute(
            "INSERT INTO alert_state (journey, touchpoint, segment, streak, alerting, last_status,"
            " last_run_id, alerted_at, updated_at, map_version, name, stage, owner, gap)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(journey, touchpoint, segment) DO UPDATE SET streak = excluded.streak,"
            " alerting = excluded.alerting, last_status = excluded.last_status,"
            " last_run_id = excluded.last_run_id, updated_at = excluded.updated_at,"
            " alerted_at = CASE WHEN excluded.alerting = 0 THEN NULL"
            " ELSE COALESCE(alert_state.alerted_at, excluded.alerted_at) END,"
            " map_version = excluded.map_version, name = excluded.name, stage = excluded.stage,"
            " owner = excluded.owner, gap = excluded.gap",
            (
                *key,
                streak,
                int(alerting),
                verdict.status,
                run_id,
                now if alerting else None,
                now,
                self.map_version,
                verdict.name,
                verdict.stage_id,
                verdict.owner,
                verdict.gap,
            ),
        )

    def open_alerts(self) -> list[OpenAlert]:
        return _open_alerts(self._db, self.journey)

    def deliver(self, events: list[AlertEvent]) -> list[Delivery]:
        """Send every event to every webhook and the mail recipients; never raises, failures are returned."""
        return deliver(self.config, events, self._sleep)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Alerter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _errors(store: str | Path) -> tuple[type[Exception], ...]:
    if is_postgres(store):
        from harness.store.postgres import PostgresStore

        return PostgresStore.errors
    return (sqlite3.Error,)


def _open_alerts(db: Database, journey: str | None) -> list[OpenAlert]:
    query = (
        "SELECT journey, touchpoint, name, stage, segment, owner, streak, last_status, last_run_id, gap,"
        " alerted_at FROM alert_state WHERE alerting = 1"
    )
    params: tuple[str, ...] = ()
    if journey is not None:
        query += " AND journey = ?"
        params = (journey,)
    rows = db.execute(query + " ORDER BY alerted_at, journey, touchpoint, segment", params).fetchall()
    return [
        OpenAlert(
            journey=r[0],
            touchpoint_id=r[1],
            touchpoint_name=r[2],
            stage_id=r[3],
            segment=r[4],
            owner=r[5],
            streak=int(r[6]),
            last_status=r[7],
            last_run_id=r[8],
            gap=r[9],
            since=r[10] or "",
        )
        for r in rows
    ]


def open_alerts(store: str | Path, journey: str | None = None) -> list[OpenAlert]:
    """The open alerts recorded in a store, of every journey unless one is named (for `shopper status`)."""
    if not store_exists(store):
        return []
    db = _connect(store)
    try:
        return _open_alerts(db, journey)
    finally:
        db.close()
