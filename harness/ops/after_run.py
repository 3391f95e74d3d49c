"""What `shopper schedule` does around each run, in the cycle's worker thread: the replies promised
for later polled, the gap report refreshed, the run analysed and alerted on, and old runs pruned.

Each step opens the store itself, in the thread that uses it, as SQLite connections want. The
schedule (harness.ops.schedule) wraps each one so that whatever it raises is logged and the
schedule goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil

import pandas as pd

from harness.analysis.gaps import GapAnalysis, analyse
from harness.analysis.verdicts import Verdict
from harness.map.loading import load_map
from harness.observation import Run
from harness.ops.alert_config import AlertConfig
from harness.ops.alerts import Alerter
from harness.ops.schedule_file import ScheduleConfig
from harness.store.sqlite import open_store

log = logging.getLogger("shopper.schedule")


def poll_pending(store_url: str) -> None:
    """The pending expectations (of this run or earlier ones) whose replies came or are overdue."""
    from harness.ops.mail_poll import poll

    store = open_store(store_url)
    try:
        polled = poll(store, report=lambda result: log.info("pending expectation: %s", result.describe()))
    finally:
        store.close()
    for problem in polled.problems:
        log.info("pending expectations: %s", problem)


def publish_report(config: ScheduleConfig, run_id: str) -> None:
    """The run's report into the archive, then copied over the stable one a reader bookmarks."""
    from harness.report.gap_report import build_report

    assert config.report is not None
    stable = config.report
    archive = stable / "archive" / run_id
    build_report(store_url=config.store, map_path=config.map, out_dir=archive, last=config.last)
    for built in archive.iterdir():
        if built.is_file():  # each file replaced whole, so a reader never sees half a report
            partial = stable / f".{built.name}.partial"
            shutil.copyfile(built, partial)
            os.replace(partial, stable / built.name)
    log.info("report written %s (archive %s)", stable / "gap-report.html", archive)


def analyse_run(config: ScheduleConfig, run_id: str, recent: int) -> tuple[Run, pd.DataFrame, GapAnalysis]:
    """The run, its observations, and their analysis alone, against the map as it is now.

    `recent` is how many of the latest runs to look through for it (a cycle's segments, and one).
    """
    from harness.analysis.runner_rule import runner_health

    journey_map = load_map(config.map)  # it may have been refreshed since the start
    store = open_store(config.store)
    try:
        run = next(run for run in store.runs(last=recent) if run.run_id == run_id)
        observations = store.analysis_frame([run_id])
        runner = runner_health(store.runner_samples([run_id]), [run_id])
        vitals = store.visit_vitals([run_id])
    finally:
        store.close()
    return run, observations, analyse(journey_map, observations, runner=runner, vitals=vitals)


def alert_run(alerts: AlertConfig, store_url: str, run: Run, verdicts: list[Verdict]) -> None:
    # Opened here, in the worker thread, as SQLite connections want; the streaks live in the store.
    with Alerter(alerts, store_url, journey_name=run.journey, map_version=run.map_version) as alerter:
        alerter.deliver(alerter.observe(run.run_id, verdicts))  # it logs every delivery, sent or not


def prune_runs(config: ScheduleConfig, now: dt.datetime) -> None:
    """Runs older than the retention, and their archived reports, deleted."""
    if config.retention_s is None:
        return
    cutoff = now - dt.timedelta(seconds=config.retention_s)
    store = open_store(config.store)
    try:
        pruned = store.prune(cutoff)
    finally:
        store.close()
    archive = config.report / "archive" if config.report is not None else None
    if archive is not None and archive.is_dir():
        for folder in archive.iterdir():
            if folder.name in pruned or _run_started(folder.name) < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
    if pruned:
        log.info("retention: pruned %d run(s) started before %s", len(pruned), f"{cutoff:%Y-%m-%d %H:%M} UTC")


def _run_started(run_id: str) -> dt.datetime:
    """When a run started, read from its id (observation.new_run_id); the future for any other name."""
    try:
        return dt.datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)
