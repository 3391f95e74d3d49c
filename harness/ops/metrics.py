"""Prometheus metrics of scheduled runs: runs, failed visits, step durations, touchpoint statuses, and
each touchpoint's web vitals (p75 over the run's page visits, and its web.dev rating).

Each Metrics owns its CollectorRegistry rather than prometheus-client's global one, so tests and
several schedulers in one process do not collide on metric names.

Labels stay bounded: a touchpoint label is a journey-map touchpoint id, or "off-map" for every
touchpoint the map lacks (those are URL paths of the target site, as many as it has pages), or
"unbound" for a step bound to no touchpoint. A map touchpoint is labelled with its own map stage.

Pass a run's own verdicts (analyse() over that run's observations, `verdicts + off_map`): a
touchpoint the run did not exercise (untested) keeps the status it last had, so a schedule that
plays one segment does not blank out the others.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from wsgiref.simple_server import WSGIServer

import pandas as pd
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

from harness.analysis.verdicts import STATUSES, Verdict
from harness.analysis.visits import group_visits
from harness.analysis.vitals import RATINGS, TouchpointVitals
from harness.errors import HarnessError
from harness.map.journey_map import JourneyMap
from harness.observation import Run

OFF_MAP = "off-map"
UNBOUND = "unbound"
RUN_STATES = ("running", "finished", "aborted")
# From a page load (a tenth of a second) to an email or a support reply (up to an hour).
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
MAP_STATUSES = tuple(status for status in STATUSES if status != OFF_MAP)
_REMEMBERED_RUNS = 1000  # enough to ignore a run recorded twice, bounded for a scheduler that runs for months


class MetricsError(HarnessError):
    """The metrics endpoint cannot be served."""


@dataclass
class MetricsServer:
    """The running /metrics endpoint; close() stops it and frees the port."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Metrics:
    def __init__(self, journey_map: JourneyMap | None = None) -> None:
        self.registry = CollectorRegistry()
        self.runs = Counter(
            "shopper_runs", "Scheduled runs by final state.", ["state"], registry=self.registry
        )
        self.failures = Counter(
            "shopper_failures",
            "Failed visits (a step failed; steps the harness could not run are not counted).",
            ["stage", "touchpoint", "segment"],
            registry=self.registry,
        )
        self.step_duration = Histogram(
            "shopper_step_duration_seconds",
            "Duration of executed steps (skipped steps and steps in error measured nothing).",
            ["stage", "touchpoint"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.last_run = Gauge(
            "shopper_last_run_timestamp_seconds",
            "When the latest recorded run finished (or started, if it has no end), Unix time.",
            registry=self.registry,
        )
        self.status = Gauge(
            "shopper_touchpoint_status",
            "1 for the touchpoint's current status for a segment, 0 for the others.",
            ["touchpoint", "segment", "status"],
            registry=self.registry,
        )
        self.vital = Gauge(
            "shopper_web_vital_p75",
            "A touchpoint's web vital p75 over the run's page visits: seconds (LCP, INP, TTFB, FCP, TBT),"
            " or the bare layout-shift score (CLS).",
            ["touchpoint", "segment", "vital"],
            registry=self.registry,
        )
        self.vital_rating = Gauge(
            "shopper_web_vital_rating",
            "1 for the web vital's current web.dev rating (good, needs-improvement, poor), 0 for the others.",
            ["touchpoint", "segment", "vital", "rating"],
            registry=self.registry,
        )
        for state in RUN_STATES:
            # Present at 0 from the start: rate() and absent() need the series before the first failure.
            self.runs.labels(state=state)
        self._stage_of: dict[str, str] = {}  # map touchpoint id -> its stage id
        self._stages: set[str] = set()
        if journey_map is not None:
            self._stages = {stage.id for stage in journey_map.stages}
            self._stage_of = {tp.id: tp.stage_id for tp in journey_map.touchpoints()}
        self._status_known: set[tuple[str, str]] = set()
        self._recorded: deque[str] = deque(maxlen=_REMEMBERED_RUNS)
        self._last_moment = 0.0
        self._lock = threading.Lock()

    def record_run(
        self,
        run: Run,
        observations: pd.DataFrame,
        verdicts: list[Verdict],
        vitals: Sequence[TouchpointVitals] = (),
    ) -> None:
        """Count one run: its state, failed visits, step durations, its verdicts' statuses, its vitals."""
        with self._lock:
            if run.run_id in self._recorded:
                return
            self._recorded.append(run.run_id)
            for verdict in verdicts:
                if verdict.status != OFF_MAP:
                    self._stage_of[verdict.touchpoint_id] = verdict.stage_id
                    self._stages.add(verdict.stage_id)
            self.runs.labels(state=run.state).inc()
            moment = (run.finished_at or run.started_at).timestamp()
            # A run recorded late (a restart catching up) must not move the clock back.
            self._last_moment = max(moment, self._last_moment)
            self.last_run.set(self._last_moment)
            if len(observations):
                self._record_steps(observations)
                self._record_failures(observations)
            self._record_statuses(verdicts)
            self._record_vitals(vitals)

    def _touchpoint(self, touchpoint: object) -> str:
        if not isinstance(touchpoint, str) or not touchpoint:  # None or NaN: a step bound to nothing
            return UNBOUND
        return touchpoint if touchpoint in self._stage_of else OFF_MAP

    def _stage(self, touchpoint: str, scenario_stage: object) -> str:
        if touchpoint in self._stage_of:
            return self._stage_of[touchpoint]
        return str(scenario_stage) if str(scenario_stage) in self._stages else OFF_MAP

    def _record_steps(self, observations: pd.DataFrame) -> None:
        # A pending step's duration is only the wait so far, not a response time.
        executed = observations[~observations["outcome"].isin(["skipped", "error", "pending"])]
        for touchpoint, stage, duration_ms in zip(
            executed["touchpoint"], executed["stage"], executed["duration_ms"], strict=True
        ):
            label = self._touchpoint(touchpoint)
            self.step_duration.labels(stage=self._stage(label, stage), touchpoint=label).observe(
                float(duration_ms) / 1000
            )

    def _record_failures(self, observations: pd.DataFrame) -> None:
        visits = group_visits(observations)
        failed = visits.failed & ~visits.errored
        for t, s, st in zip(
            visits.touchpoint[failed], visits.segment[failed], visits.stage[failed], strict=True
        ):
            label = self._touchpoint(visits.touchpoints[t])
            stage = self._stage(label, visits.stages[st] if st >= 0 else None)
            self.failures.labels(stage=stage, touchpoint=label, segment=visits.segments[s]).inc()

    def _record_statuses(self, verdicts: list[Verdict]) -> None:
        off_map_segments = {v.segment for v in verdicts if v.status == OFF_MAP}
        for segment in {v.segment for v in verdicts}:
            self.status.labels(touchpoint=OFF_MAP, segment=segment, status=OFF_MAP).set(
                1 if segment in off_map_segments else 0
            )
        for verdict in verdicts:
            key = (verdict.touchpoint_id, verdict.segment)
            if verdict.status == OFF_MAP or (verdict.status == "untested" and key in self._status_known):
                continue
            self._status_known.add(key)
            for status in MAP_STATUSES:
                self.status.labels(touchpoint=key[0], segment=key[1], status=status).set(
                    1 if status == verdict.status else 0
                )

    def _record_vitals(self, vitals: Sequence[TouchpointVitals]) -> None:
        # Map touchpoints only (analysis.vitals keeps no off-map page): the labels stay bounded.
        for summary in vitals:
            for figure in summary.figures:
                labels = {"touchpoint": summary.touchpoint_id, "segment": summary.segment}
                labels["vital"] = figure.name
                self.vital.labels(**labels).set(figure.p75 if figure.name == "cls" else figure.p75 / 1000)
                for rating in RATINGS:
                    self.vital_rating.labels(**labels, rating=rating).set(1 if rating == figure.rating else 0)

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format, as a scrape of /metrics returns them."""
        return generate_latest(self.registry)

    def serve(self, port: int, addr: str = "127.0.0.1") -> MetricsServer:
        """Serve /metrics in a daemon thread; port 0 lets the kernel choose (see MetricsServer.port)."""
        try:
            server, thread = start_http_server(port, addr, registry=self.registry)
        except OSError as exc:
            raise MetricsError(f"cannot serve metrics on {addr}:{port}: {exc.strerror or exc}") from None
        return MetricsServer(server, thread)
