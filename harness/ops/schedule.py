"""`shopper schedule`: the journey walked on a schedule, forever, whatever a run does.

Each due time (harness.ops.schedule_file) starts a cycle in a worker thread: one run per segment,
each in its own pytest process under a watchdog (harness.ops.runner), and after each run the gap
report refreshed, alerts evaluated and metrics recorded. The main thread only keeps time: a run
due while a cycle is still going is skipped and logged, never overlapped. Whatever fails inside a
cycle is logged and the schedule goes on. SIGTERM and SIGINT stop it: the run in progress is
killed and recorded as aborted. Every event is one line on stderr, in UTC.

With a `broker` (a fleet), each due time is enqueued instead, once per location and segment, for
the workers of each location to walk (harness.ops.fleet_broker, harness.ops.fleet).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import schedule

from harness.errors import HarnessError
from harness.map.journey_map import JourneyMap, format_duration
from harness.observation import utc_now
from harness.ops.after_run import alert_run, analyse_run, poll_pending, prune_runs, publish_report
from harness.ops.alert_config import AlertConfig, alert_config
from harness.ops.fleet_broker import Dispatcher, fleet_anchor, ledger_keep_s
from harness.ops.metrics import Metrics, MetricsServer
from harness.ops.runner import PYTEST_FAILED, PYTEST_NO_TESTS, PYTEST_OK, RunRequest, RunResult, run_scenarios
from harness.ops.schedule_file import Every, Rule, ScheduleConfig, ScheduleError, load_schedule, next_due
from harness.ops.schedule_log import Unsecret, configure_logging
from harness.ops.scheduler_status import instant, status_path, write_status
from harness.record.secrets import without_credentials
from harness.store.sqlite import open_store, run_exists

log = logging.getLogger("shopper.schedule")
TICK_S = 0.2  # how often the main thread looks at the clock and at signals
Clock = Callable[[], dt.datetime]  # the current instant, aware, in UTC
EXIT_INTERRUPTED = 130  # the CLI's convention for Ctrl-C
VERDICTS = {
    PYTEST_OK: "every scenario passed",
    PYTEST_FAILED: "failures found",
    PYTEST_NO_TESTS: "no scenario for this segment",
}


class ZonedJob(schedule.Job):
    """A job of `schedule`'s own Scheduler whose due instants come from `next_due`, in UTC."""

    def __init__(
        self, rule: Rule, scheduler: schedule.Scheduler, anchor: dt.datetime, clock: Clock = utc_now
    ) -> None:
        super().__init__(1, scheduler)
        self.rule, self.anchor, self.clock = rule, anchor, clock
        # A monitor that was just started should show something at once: `every` runs at the start.
        self.due = anchor if isinstance(rule, Every) else next_due(rule, anchor, anchor)

    @property
    def should_run(self) -> bool:
        return self.clock() >= self.due

    def _schedule_next_run(self) -> None:
        if self.last_run is not None:  # `do()` calls this too, before the first run
            self.due = next_due(self.rule, self.clock(), self.anchor)
        self.next_run = self.due.astimezone().replace(tzinfo=None)  # schedule's own field: naive local


def verdict(result: RunResult, timeout_s: float) -> str:
    if result.killed == "timeout":
        return f"killed: over the timeout of {format_duration(timeout_s * 1000)}, recorded as aborted"
    if result.killed:
        return "killed: the schedule was stopped, recorded as aborted"
    return VERDICTS.get(result.exit_code) or f"the scenarios did not run: {result.problem()}"


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"


class ScheduleLoop:
    def __init__(self, config: ScheduleConfig, *, clock: Clock = utc_now) -> None:
        from harness.map.check import check_map
        from harness.steps import load_catalogue

        load_catalogue()  # the coverage reads the step catalogue
        checked = check_map(config.map, config.features)
        if checked.errors:
            raise checked.errors[0]
        assert checked.journey_map is not None
        self.config = config
        self.journey_map: JourneyMap = checked.journey_map
        known = self.journey_map.segments
        for segment, line in config.segment_lines.items():
            if known and segment not in known:
                raise ScheduleError(
                    f'segment "{segment}" is not in the journey map; it has: {", ".join(known)}',
                    file=config.path,
                    line=line,
                )
        self.segments = config.segments or known or ["default"]
        open_store(config.store).close()  # a store that cannot be written is an input error, now
        self.target = without_credentials(config.target)
        self.jobs = schedule.Scheduler()
        self.job: ZonedJob | None = None
        self.stopping = threading.Event()
        self.signal: int | None = None
        self.worker: threading.Thread | None = None
        self.failed = False  # some run of this process did not pass: `--once` exits 1
        self.cycles = 0
        self.skipped = 0
        self.last_cycle: dict[str, Any] | None = None
        # What "now" is to due times and the status: injectable, so cadence is testable without waiting.
        self.clock = clock
        self.started_at = clock()
        self._status_lock = threading.Lock()
        self.alerts = self._alert_config()
        self.metrics: Metrics | None = None
        self.metrics_server: MetricsServer | None = None
        self.dispatcher = Dispatcher(config, self.segments) if config.broker else None

    def _alert_config(self) -> AlertConfig | None:
        if self.config.alerts_block is None:
            return None
        # Checked again now that the map is known: a misspelled touchpoint would never alert.
        data, line = self.config.alerts_block
        touchpoints = {touchpoint.id for touchpoint in self.journey_map.touchpoints()}
        return alert_config(data, self.config.path, line, touchpoint_ids=touchpoints)

    # The main thread: time, signals, status.

    def run(self, *, once: bool = False) -> int:
        configure_logging()
        unsecret = Unsecret(self.config.target)
        log.addFilter(unsecret)
        previous = {
            signum: signal.signal(signum, self._on_signal) for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self._start_metrics()
            if once:
                self._start_cycle()
            else:
                anchor = self.started_at
                if self.dispatcher is not None:
                    anchor = fleet_anchor(self.config.rule, anchor)
                self.job = ZonedJob(self.config.rule, self.jobs, anchor, self.clock)
                self.job.do(self._due)
            log.info(
                "schedule started: %s, %d segment(s) against %s, store %s, pid %d%s",
                "one cycle now" if once else self.config.rule,
                len(self.segments),
                self.target,
                self.config.store,
                os.getpid(),
                self._next_text(),
            )
            if self.dispatcher is not None and (self.config.report or self.alerts or self.metrics):
                log.info("a fleet's scheduler only enqueues: no report, alert or metric follows its runs yet")
            self._write_status("running")
            while not self.stopping.is_set():
                if once and not self._busy():
                    break
                self.jobs.run_pending()
                self.stopping.wait(TICK_S)
            if self.signal is not None:
                busy = ": the run in progress is stopped" if self._busy() else ""
                log.info("schedule stopping on %s%s", signal.Signals(self.signal).name, busy)
            if self.worker is not None:
                self.worker.join()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if self.metrics_server is not None:
                self._step("metrics", self.metrics_server.close)
            if self.dispatcher is not None:
                self._step("broker", self.dispatcher.close)
            self._write_status("stopped")
            log.info("schedule stopped after %d cycle(s), %d skipped", self.cycles, self.skipped)
            log.removeFilter(unsecret)
        if self.signal == signal.SIGINT:
            return EXIT_INTERRUPTED
        return 1 if once and self.failed else 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only flags here: logging from a signal handler could interleave with a line being written.
        self.signal = signum
        self.stopping.set()

    def _busy(self) -> bool:
        return self.worker is not None and self.worker.is_alive()

    def _due(self) -> None:
        if self.dispatcher is not None:
            self._dispatch(self.job.due if self.job is not None else self.clock())
            return
        if self._busy():
            self.skipped += 1
            log.info(
                "run skipped: due at %s, a cycle is still going (%d skipped so far)%s",
                f"{self.job.due:%H:%M:%S} UTC" if self.job is not None else "now",
                self.skipped,
                self._next_text(),
            )
            self._write_status("running")
            return
        self._start_cycle()

    def _start_cycle(self) -> None:
        if self.dispatcher is not None:
            self._dispatch(self.clock())
            return
        self.worker = threading.Thread(target=self._cycle, name="shopper-cycle", daemon=True)
        self.worker.start()

    def _upcoming(self) -> dt.datetime | None:
        """The next due instant; while its job runs, `schedule` has not moved the job's own on yet."""
        if self.job is None:
            return None
        now = self.clock()
        return self.job.due if self.job.due > now else next_due(self.config.rule, now, self.job.anchor)

    def _next_text(self) -> str:
        due = self._upcoming()
        return "" if due is None else f"; next run {due:%Y-%m-%d %H:%M:%S} UTC"

    def _write_status(self, state: str) -> None:
        due = self._upcoming() if state == "running" else None
        document = {
            "state": state,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "schedule": str(self.config.path.resolve()),
            "rule": str(self.config.rule),
            "timezone": self.config.timezone,
            "started_at": self.started_at.isoformat(),
            "updated_at": self.clock().isoformat(),
            "cycles": self.cycles,
            "skipped": self.skipped,
            "last_cycle": self.last_cycle,
            "next_run": instant(due, self.config.timezone) if due is not None else None,
        }
        if self.config.broker is not None:
            document["fleet"] = {"broker": without_credentials(self.config.broker),
                                 "locations": self.config.locations}
        with self._status_lock:
            try:
                write_status(status_path(self.config.store), document)
            except OSError as exc:
                log.info("status not written: %s", exc.strerror or exc)

    def _start_metrics(self) -> None:
        if self.config.metrics_port is None:
            return
        self.metrics = Metrics(self.journey_map)
        self.metrics_server = self.metrics.serve(self.config.metrics_port, self.config.metrics_addr)
        log.info("metrics served at http://%s:%d/metrics", self.config.metrics_addr, self.metrics_server.port)

    def _dispatch(self, due: dt.datetime) -> None:
        """A fleet's cycle, in the main thread (it only enqueues): retention, then the due runs."""
        assert self.dispatcher is not None
        started = self.clock()
        self._step("retention", prune_runs, self.config, started)
        sent: list[str] = []
        try:
            sent, before = self.dispatcher.enqueue(due, ledger_keep_s(self.config.rule))
            for job_id in sent:
                log.info("run enqueued %s (due %s UTC)", job_id, f"{due:%H:%M:%S}")
            for job_id in before:
                log.info("run already enqueued %s: not sent again", job_id)
        except Exception as exc:  # a broker gone for a moment must not end the schedule
            self.failed = True
            log.info("enqueueing failed (due %s UTC): %s", f"{due:%H:%M:%S}", _reason(exc))
        self.cycles += 1
        self.last_cycle = {"started_at": started.isoformat(), "finished_at": self.clock().isoformat()}
        self.last_cycle.update(runs=[], enqueued=sent)
        self._write_status("running")

    # The worker thread: one cycle.

    def _cycle(self) -> None:
        started = self.clock()
        runs: list[dict[str, Any]] = []
        try:
            # First, so the reports of this cycle show no pruned run.
            self._step("retention", prune_runs, self.config, self.clock())
            for segment in self.segments:
                if self.stopping.is_set():
                    break
                runs.append(self._run(segment))
        except Exception as exc:  # the worker must never die silently: the next cycle depends on it
            self.failed = True
            log.info("cycle failed: %s", _reason(exc))
        finally:
            self.cycles += 1
            self.last_cycle = {"started_at": started.isoformat(), "finished_at": self.clock().isoformat()}
            self.last_cycle["runs"] = runs
            self._write_status("running")

    def _run(self, segment: str) -> dict[str, Any]:
        config = self.config
        backoff = ["--reruns-delay", f"{config.retry_backoff_s:g}"] if config.retries else []
        request = RunRequest(
            features=config.features,
            journey_map=config.map,
            base_url=config.target,
            segment=segment,
            store=config.store,
            retries=config.retries,
            mailbox=config.mailbox,
            max_wait=config.max_wait,
            customer_address=config.customer_address,
            location=config.location,
            pytest_args=backoff,
            quiet=True,  # pytest's own output would drown the log; a run that did not run says why
        )
        entry: dict[str, Any] = {
            "run_id": request.run_id,
            "segment": segment,
            "started_at": self.clock().isoformat(),
        }
        log.info("run started %s (%s) against %s", request.run_id, segment, self.target)
        began = time.monotonic()
        try:
            result = run_scenarios(request, timeout_s=config.timeout_s, stop=self.stopping.is_set)
        except HarnessError as exc:
            self.failed = True
            log.info("run crashed %s (%s): %s", request.run_id, segment, _reason(exc))
            return {**entry, "finished_at": self.clock().isoformat(), "exit_code": None, "verdict": str(exc)}
        said = verdict(result, config.timeout_s)
        event = "killed" if result.killed else "finished" if result.ran else "crashed"
        log.info(
            "run %s %s (%s) in %.1fs: %s", event, request.run_id, segment, time.monotonic() - began, said
        )
        self.failed = self.failed or not result.passed or bool(result.killed)
        entry.update(finished_at=self.clock().isoformat(), exit_code=result.exit_code, verdict=said)
        if result.killed != "stopped":
            self._after_run(request.run_id)
        return entry

    def _step(self, name: str, action: Callable[..., Any], *args: Any) -> Any:
        """An after-run step: whatever it raises is logged, and the schedule goes on."""
        try:
            return action(*args)
        except Exception as exc:
            log.info("%s failed: %s", name, _reason(exc))
            return None

    def _after_run(self, run_id: str) -> None:
        # Replies promised for later (pending expectations, of this run or earlier ones) first, so
        # the report of this cycle already counts the ones that came or are overdue. (Alerts judge
        # this run alone: a reply of an earlier run that turns failing shows in the report only.)
        self._step("pending expectations", poll_pending, self.config.store)
        if not run_exists(self.config.store, run_id):
            log.info("nothing to report: run %s recorded nothing", run_id)
            return
        if self.config.report is not None:
            self._step("report", publish_report, self.config, run_id)
        analysed = None
        if self.alerts is not None or self.metrics is not None:
            analysed = self._step("analysis", analyse_run, self.config, run_id, len(self.segments) + 1)
        if analysed is not None:
            run, observations, analysis = analysed
            if self.alerts is not None:
                self._step("alerts", alert_run, self.alerts, self.config.store, run, analysis.verdicts)
            if self.metrics is not None:
                verdicts = analysis.verdicts + analysis.off_map
                self._step("metrics", self.metrics.record_run, run, observations, verdicts, analysis.vitals)


def run_schedule(path: Path, *, once: bool = False) -> int:
    return ScheduleLoop(load_schedule(path)).run(once=once)
