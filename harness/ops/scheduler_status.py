"""`shopper status`: what the scheduler did last, what it does next, and what is open.

The scheduler (harness.ops.schedule) rewrites a small JSON file next to the store after every cycle;
this module writes and reads it, and turns it into the lines `shopper status` prints.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from harness.analysis.runner_rule import OPERATOR_ACTION, runner_health
from harness.errors import HarnessError
from harness.map.loading import load_map
from harness.ops.alerts import open_alerts
from harness.ops.schedule_file import ScheduleConfig, load_schedule
from harness.store.sqlite import _process_alive, open_store, store_exists, store_path


def status_path(store: str) -> Path:
    path = store_path(store)
    return path.with_name(path.name + ".status.json")


def write_status(path: Path, document: dict[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)  # a reader never sees half a file


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def instant(moment: dt.datetime, zone: str) -> dict[str, str]:
    return {
        "utc": moment.astimezone(dt.UTC).isoformat(),
        "local": moment.astimezone(ZoneInfo(zone)).isoformat(),
    }


def _shown(moment: str | None, zone: str = "UTC") -> str:
    if not moment:
        return "—"
    parsed = dt.datetime.fromisoformat(moment).astimezone(ZoneInfo(zone))
    return f"{parsed:%Y-%m-%d %H:%M:%S} {zone}"


def status_lines(store: str, config: ScheduleConfig | None = None) -> list[str]:
    """What `shopper status` prints: the scheduler, its last run, the next one, open alerts."""
    document = read_status(status_path(store)) or {}
    if config is None and Path(str(document.get("schedule", ""))).is_file():
        try:
            config = load_schedule(document["schedule"])
        except HarnessError:
            config = None  # the file changed since; the status still says what ran
    pid = int(document.get("pid") or 0)
    running = (
        document.get("state") == "running"
        and document.get("host") == socket.gethostname()
        and _process_alive(pid)
    )
    if not document:
        lines = [f"scheduler: never ran with this store (no {status_path(store)})"]
    elif running:
        lines = [f"scheduler: running, {document.get('rule')}, pid {pid}"]
    else:
        lines = [f"scheduler: not running (last seen {_shown(document.get('updated_at'))}, pid {pid})"]
    lines += _last_runs(store, document)
    zone = str(document.get("timezone") or "UTC")
    due = (document.get("next_run") or {}).get("utc") if running else None
    local = f" ({_shown(due, zone)})" if due and zone != "UTC" else ""
    lines.append(f"next run: {_shown(due)}{local}" if due else "next run: none: the scheduler is not running")
    lines.append(f"skipped runs: {document.get('skipped', 0)} (due while the cycle before was still going)")
    lines += _open_alerts(store, config)
    lines += _pending(store)
    lines += _runner(store)
    if config is not None and config.broker is not None:
        from harness.ops.fleet_broker import fleet_lines

        lines += fleet_lines(config.broker, config.locations)
    return lines


RUNNER_RUNS = 10  # how far back `shopper status` looks at the runner


def _runner(store: str) -> list[str]:
    """Whether the runner was too busy to measure fairly lately (harness.analysis.runner_rule)."""
    if not store_exists(store):
        return []
    opened = open_store(store)
    try:
        run_ids = [run.run_id for run in opened.runs(last=RUNNER_RUNS)]
        health = runner_health(opened.runner_samples(run_ids), run_ids)
    finally:
        opened.close()
    if not health:
        return ["runner: not measured (runs of an older harness, or no browser step)"]
    busy = [h for h in health if h.busy]
    if not busy:
        return [f"runner: measured fairly in the last {len(health)} measured run(s)"]
    last = busy[-1]
    return [
        f"runner: too busy to measure fairly in {len(busy)} of the last {len(health)} measured run(s);"
        " their slow verdicts are held back as runner-busy, not charged to an owner",
        f"  last: run {last.run_id}: {last.reason}. {OPERATOR_ACTION}.",
    ]


def _pending(store: str) -> list[str]:
    if not store_exists(store):
        return ["pending expectations: none"]
    opened = open_store(store)
    try:
        pending = opened.open_pending()
    finally:
        opened.close()
    lines = [f"pending expectations: {len(pending) or 'none'}"]
    for item in pending:
        lines.append(
            f"  {item.touchpoint} ({item.segment}, run {item.run_id}): awaited since"
            f" {_shown(item.triggered_at.isoformat())}, fails after {_shown(item.deadline.isoformat())}"
        )
    return lines


def _last_runs(store: str, document: dict[str, Any]) -> list[str]:
    states: dict[str, str] = {}
    stored = []
    if store_exists(store):
        opened = open_store(store)
        try:
            stored = opened.runs(last=50)
        finally:
            opened.close()
        states = {run.run_id: run.state for run in stored}
    runs = (document.get("last_cycle") or {}).get("runs") or []
    if not runs and stored:
        last = stored[-1]
        started = _shown(last.started_at.isoformat())
        return [f"last run: {last.run_id} ({last.segment}), started {started}, {last.state}"]
    if not runs:
        return ["last run: none yet"]
    return [
        f"last run: {run['run_id']} ({run['segment']}), started {_shown(run.get('started_at'))},"
        f" {states.get(run['run_id'], 'not recorded')}: {run.get('verdict')}"
        for run in runs
    ]


def _open_alerts(store: str, config: ScheduleConfig | None) -> list[str]:
    journey = None  # every journey in the store, unless the schedule's map names one
    if config is not None:
        with contextlib.suppress(HarnessError):  # a broken map: show the open alerts of every journey
            journey = load_map(config.map).journey
    alerts = open_alerts(store, journey)
    lines = [f"open alerts: {len(alerts) or 'none'}"]
    for alert in alerts:
        segment = f" ({alert.segment})" if alert.segment else ""
        lines.append(
            f"  {alert.touchpoint_name}{segment}: {alert.last_status} {alert.streak} runs in a row"
            f" since {_shown(alert.since)}; owner {alert.owner}"
        )
    return lines
