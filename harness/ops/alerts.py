"""Alerts on touchpoints: a streak of failing scheduled runs raises one alert, the first good run clears it.

What monitoring tools learned the hard way (Checkly, Datadog, Uptime Kuma): one bad run is noise, so a
touchpoint alerts only after `after` failing runs in a row; it says so once, not at every run while
it stays down; it says once more when it recovers; and a chat channel or mail server that is down
must never stop the schedule, so delivery retries with back-off, then logs and gives up.

Per touchpoint and segment, each run's verdict moves a streak:

    a status in `on` (default: failing)   the streak grows; reaching `after` raises the alert
    met, or slow/flaky when not in `on`    the streak ends; an open alert recovers
    untested, off-map                      nothing: this run did not exercise the touchpoint
    runner-busy                            nothing: the runner was too busy to measure it fairly

A run whose runner was too busy to measure fairly (harness.analysis.runner_rule) is the harness operator's
to fix, never a touchpoint owner's: it moves a streak of its own, "the runner", owned by the
operator, that alerts (after the same number of runs) and recovers like a touchpoint's.

The streaks live in the store's SQLite file (table alert_state), so a restarted scheduler neither
repeats an alert nor forgets one that is open. Secrets stay out of logs and state: the SMTP password
is read from the environment at send time, and webhook URLs (a Slack URL is itself a credential)
are logged by host only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import smtplib
import sqlite3
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from harness.analysis.runner_rule import OPERATOR, OPERATOR_ACTION
from harness.analysis.verdicts import Observed, Verdict
from harness.errors import StoreError
from harness.map.journey_map import Expectation
from harness.ops.alert_config import (
    JUDGED,
    AlertConfig,
    EmailAlerts,
)
from harness.store.sqlite import store_path as file_of

log = logging.getLogger("shopper.alerts")

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
class AlertEvent:
    kind: str  # alert or recovery
    journey: str
    map_version: str
    touchpoint_id: str
    touchpoint_name: str
    stage_id: str
    segment: str
    owner: str
    status: str  # the status of the run that raised or cleared the alert
    gap: str
    consecutive: int  # failing runs in a row (for a recovery: the streak that just ended)
    run_id: str
    moment_of_truth: bool = False
    report_url: str | None = None
    at: str = ""  # UTC, ISO 8601

    def headline(self) -> str:
        if self.touchpoint_id == RUNNER:
            if self.kind == "alert":
                return f"The runner was too busy to measure fairly, {self.consecutive} runs in a row"
            return "The runner measures fairly again"
        who = f"{self.segment} customers"
        if self.kind == "alert":
            return (
                f"{self.touchpoint_name} ({self.stage_id}) is {self.status} for {who},"
                f" {self.consecutive} runs in a row"
            )
        return f"{self.touchpoint_name} ({self.stage_id}) recovered for {who} (now {self.status})"

    def text(self) -> str:
        """The whole message in plain sentences, for a chat line or a mail body."""
        parts = [f"{self.headline()}."]
        if self.kind == "alert" and self.gap:
            parts.append(f"{self.gap[0].upper()}{self.gap[1:]}.")
        if self.kind == "recovery":
            parts.append(f"It had failed {self.consecutive} runs in a row.")
        parts.append(
            f"Owner: {self.owner}. Journey: {self.journey} ({self.map_version}). Run: {self.run_id}."
        )
        if self.report_url:
            parts.append(f"Report: {self.report_url}")
        return " ".join(parts)

    def json_body(self) -> dict[str, Any]:
        return {"event": self.kind, **{k: v for k, v in asdict(self).items() if k != "kind"}}

    def slack_body(self) -> dict[str, Any]:
        icon = ":rotating_light:" if self.kind == "alert" else ":white_check_mark:"
        label = "Alert" if self.kind == "alert" else "Recovered"
        text = f"{icon} *{label}*: {_slack_escape(self.text())}"
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}

    def subject(self) -> str:
        label = "Alert" if self.kind == "alert" else "Recovered"
        return f"[shopper] {label}: {self.headline()} ({self.journey})"


@dataclass(frozen=True)
class Delivery:
    event: AlertEvent
    channel: str  # webhook or email
    target: str  # safe to show: a webhook's host, or the mail recipients
    ok: bool
    attempts: int
    error: str = ""


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


RUNNER = "(runner)"  # the streak of the runner itself: no touchpoint of a map has this id


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


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions; names and gap sentences come from the user's map.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_target(url: str) -> str:
    """A webhook URL without its path, query or credentials: those are the secret part of most hooks."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


# ---------------------------------------------------------------------------------------------------
# Streaks and their state


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _connect(path: str | Path) -> sqlite3.Connection:
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
        self._db = _connect(store_path)

    def observe(self, run_id: str, verdicts: list[Verdict], *, report: str | None = None) -> list[AlertEvent]:
        """Move every touchpoint's streak by this run's verdicts; the alerts and recoveries it caused.

        Seeing the same run twice (a scheduler restarted mid-way) changes nothing the second time.
        """
        events: list[AlertEvent] = []
        now = _now()
        try:
            # IMMEDIATE: two schedulers on one file must not both read a streak of 1 and both alert at 2.
            self._db.execute("BEGIN IMMEDIATE")
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
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"cannot update the alert state: {exc}", file=file_of(self._path)) from None
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

    def open_alerts(self) -> list[OpenAlert]:
        return _open_alerts(self._db, self.journey)

    # -----------------------------------------------------------------------------------------------
    # Delivery

    def deliver(self, events: list[AlertEvent]) -> list[Delivery]:
        """Send every event to every webhook and the mail recipients; never raises, failures are returned."""
        deliveries = []
        for event in events:
            for hook in self.config.webhooks:
                body = event.slack_body() if hook.format == "slack" else event.json_body()
                data = json.dumps(body).encode("utf-8")
                send = partial(self._post, hook.url, data)
                deliveries.append(self._attempt(event, "webhook", safe_target(hook.url), send))
            if self.config.email is not None:
                email = self.config.email
                send = partial(self._mail, email, event)
                deliveries.append(self._attempt(event, "email", ", ".join(email.to), send))
        return deliveries

    def _attempt(self, event: AlertEvent, channel: str, target: str, send: Callable[[], None]) -> Delivery:
        attempts, error = 0, ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                self._sleep(self.config.retry_backoff_s * 2 ** (attempt - 1))
            attempts += 1
            try:
                send()
            except _Permanent as exc:
                error = str(exc)
                break
            # Anything a receiver, a socket or a mail server can throw: delivery must not stop the schedule.
            except Exception as exc:
                error = _describe(exc)
                log.info("%s %s to %s failed (attempt %d): %s", channel, event.kind, target, attempts, error)
                continue
            log.info("%s %s for %s sent to %s", channel, event.kind, event.touchpoint_id, target)
            return Delivery(event, channel, target, ok=True, attempts=attempts)
        log.warning(
            "could not deliver the %s %s for %s (%s) to %s after %d attempt(s): %s",
            channel,
            event.kind,
            event.touchpoint_id,
            event.segment,
            target,
            attempts,
            error,
        )
        return Delivery(event, channel, target, ok=False, attempts=attempts, error=error)

    def _post(self, url: str, data: bytes) -> None:
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "shopper-alerts"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            # A 4xx other than 429 is the hook's configuration: asking again will not change the answer.
            if 400 <= exc.code < 500 and exc.code != 429:
                raise _Permanent(f"the receiver answered HTTP {exc.code} {exc.reason}") from None
            raise

    def _mail(self, email: EmailAlerts, event: AlertEvent) -> None:
        message = EmailMessage()
        message["From"] = email.sender
        message["To"] = ", ".join(email.to)
        message["Subject"] = event.subject()
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="shopper.alerts")
        message.set_content(event.text() + "\n")
        with smtplib.SMTP(email.smtp_host, email.smtp_port, timeout=self.config.timeout_s) as smtp:
            if email.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if email.username is not None and email.password_env is not None:
                password = os.environ.get(email.password_env)
                if password is None:
                    raise _Permanent(
                        f"the environment variable {email.password_env} holding the SMTP password is not set"
                    )
                try:
                    smtp.login(email.username, password)
                except smtplib.SMTPAuthenticationError as exc:
                    # Asking again with the same password could lock the account.
                    raise _Permanent(f"the mail server refused the login (SMTP {exc.smtp_code})") from None
            smtp.send_message(message)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Alerter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Permanent(Exception):
    """A delivery failure that a retry cannot fix."""


def _describe(exc: Exception) -> str:
    # Built from the parts, never str(exc) of a whole request: that could carry the URL.
    if isinstance(exc, urllib.error.HTTPError):
        return f"the receiver answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return f"cannot reach the receiver: {reason.strerror if isinstance(reason, OSError) else reason}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the mail server answered SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPException):
        return f"the mail server failed: {exc or type(exc).__name__}"
    if isinstance(exc, OSError):
        return f"cannot reach the server: {exc.strerror or type(exc).__name__}"
    return type(exc).__name__


def _open_alerts(db: sqlite3.Connection, journey: str | None) -> list[OpenAlert]:
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
    if not file_of(store).exists():
        return []
    db = _connect(store)
    try:
        return _open_alerts(db, journey)
    finally:
        db.close()
