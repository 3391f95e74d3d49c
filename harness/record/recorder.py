"""The recorder: turns scenario and step events into observations and hands them to handlers.

It does not import pytest: the plugin's hooks pass plain values in. It only emits; the store
(and any other handler) consumes, one observation as soon as each step ends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.mail.message import audit_record
from harness.mail.pending import EmailPending, wanted_to_dict
from harness.map.catalogue import Binding
from harness.map.journey_map import JourneyMap, Touchpoint
from harness.observation import (
    Event,
    Handler,
    Observation,
    PageEvidence,
    PendingExpectation,
    Run,
    RunFinished,
    RunnerSampled,
    RunStarted,
    StepEnded,
    StepObserved,
    utc_now,
)
from harness.record.context import Shopper
from harness.record.runner_health import RunnerSample
from harness.record.secrets import page_location, redact, without_credentials
from harness.record.step_parts import TimedPart, pieces_of
from harness.record.workers import WORKER_BLOCK

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 2000
MAX_TITLE_CHARS = 300


def map_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class ScenarioRecord:
    feature: str
    scenario: str
    node_id: str
    stage: str
    attempt: int
    steps: list[tuple[int, str]]  # (line, "Given I open the pricing page") in execution order
    shopper: Shopper
    executed: set[int] = field(default_factory=set)
    step_started_at: dt.datetime | None = None
    step_clock: float | None = None
    step_stopped: float | None = None  # when the step's clock stopped, before any evidence was taken
    stages: list[tuple[dt.datetime, str]] = field(default_factory=list)  # (step start, stage), in order
    audited: set[str] = field(default_factory=set)  # mailbox keys already in the inbox audit
    accessibility_checked: set[str] = field(default_factory=set)  # touchpoints axe ran on this attempt

    def stage_at(self, moment: dt.datetime | None) -> str:
        """The stage the customer was in at `moment`: that of the last step started before it."""
        current = self.stages[0][1] if self.stages else self.stage
        for started, stage in self.stages:
            if moment is not None and started > moment:
                break
            current = stage
        return current


def classify(exc: BaseException) -> str:
    """'failed' when the customer met a broken touchpoint; 'error' when the step itself could not run."""
    if isinstance(exc, AssertionError):
        return "failed"
    module = type(exc).__module__
    if module.startswith("playwright"):
        text = str(exc)
        if browser_crashed(exc):
            return "error"  # the runner's browser died: nothing the site did
        if type(exc).__name__ == "TimeoutError" or "net::ERR_" in text:
            return "failed"
    return "error"


# How Playwright says the browser (or the page's renderer) is gone under the step.
CRASHED_SAYS = "the browser crashed under this step (a harness error; the next scenario gets a new one)"
_CRASHED = ("Target crashed", "has been closed", "Browser closed", "Connection closed", "has disconnected")


def browser_crashed(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("playwright") and any(words in str(exc) for words in _CRASHED)


def error_text(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if browser_crashed(exc):
        text = f"{CRASHED_SAYS}: {text}"
    # Playwright appends a long call log; the first lines say what the customer met.
    lines = [line for line in text.splitlines() if line.strip()][:6]
    return "\n".join(lines)[:MAX_ERROR_CHARS]


def sent_at(parts: list[TimedPart], started: float, stopped: float) -> float:
    """When what a step sent was received: at its first part (the form's reply), not at the end of the
    page it led to; an email it caused is timed from there."""
    return min(max(parts[0].answered, started), stopped) if parts else stopped


class Recorder:
    def __init__(
        self,
        *,
        run_id: str,
        journey_map: JourneyMap,
        segment: str,
        target: str,
        handlers: list[Handler],
        evidence_dir: Path | None = None,
        worker: int = 0,
        location: str = "",
        run_pid: int | None = None,
    ) -> None:
        """`worker`: this process's number among a parallel run's workers (see WORKER_BLOCK);
        `run_pid`: the process the run belongs to (a parallel run's controller), this one if None."""
        self.run_id = run_id
        self.journey_map = journey_map
        self.segment = segment
        self.target = target
        self.handlers = handlers
        self.evidence_dir = evidence_dir
        self.started = False
        self.failures = 0
        self.location = location or socket.gethostname()
        self.run_pid = run_pid or os.getpid()
        self._first = worker * WORKER_BLOCK
        self._seq = 0
        self._customers = 0

    def emit(self, event: Event) -> None:
        for handler in self.handlers:
            handler.handle(event)

    def start_run(self) -> None:
        """Open the run lazily, at its first scenario: a session that runs no scenario leaves no run."""
        if self.started:
            return
        self.started = True
        map_text = self.journey_map.text
        self.emit(
            RunStarted(
                Run(
                    run_id=self.run_id,
                    started_at=utc_now(),
                    pid=self.run_pid,
                    host=socket.gethostname(),
                    location=self.location,
                    target=without_credentials(self.target),
                    segment=self.segment,
                    journey=self.journey_map.journey,
                    map_version=self.journey_map.version,
                    map_path=str(self.journey_map.path.resolve()),
                    map_digest=map_digest(map_text) if map_text else "",
                    browsing=self.journey_map.browsing_of(self.segment).described(),
                ),
                map_text=map_text,
            )
        )

    def finish_run(self, state: str = "finished") -> None:
        if self.started:
            self.emit(RunFinished(run_id=self.run_id, state=state))

    def runner_sampled(self, record: ScenarioRecord, sample: RunnerSample) -> None:
        """How busy the runner was as the scenario began: stored apart, never a customer's observation."""
        self.emit(
            RunnerSampled(
                run_id=self.run_id,
                node_id=record.node_id,
                attempt=record.attempt,
                sampled_at=utc_now(),
                control_ms=sample.control_ms,
                run_queue=sample.run_queue,
                load_per_core=sample.load_per_core,
                steal=sample.steal,
                sleep_lag_ms=sample.sleep_lag_ms,
                problem=sample.problem,
            )
        )

    def next_customer_number(self) -> int:
        self._customers += 1
        return self._first + self._customers

    def step_started(self, record: ScenarioRecord) -> None:
        record.step_started_at = utc_now()
        record.step_clock = time.monotonic()
        touchpoint = record.shopper.touchpoint
        record.stages.append((record.step_started_at, touchpoint.stage_id if touchpoint else record.stage))

    def step_pending(self, record: ScenarioRecord, *, line: int, text: str, pending: EmailPending) -> None:
        """The step's email is still awaited: a `pending` observation, and what `mail poll` needs."""
        observation = self.step_ended(
            record, line=line, text=text, outcome="pending", triggers=False, emit=False
        )
        shopper = record.shopper
        self.emit(
            PendingExpectation(
                run_id=self.run_id,
                seq=observation.seq,
                node_id=record.node_id,
                segment=shopper.segment,
                stage=observation.stage,
                touchpoint=observation.touchpoint or "",
                wanted=wanted_to_dict(pending.wanted),
                triggered_at=pending.triggered_at,
                deadline=pending.deadline,
                mailbox=shopper.mailbox_url,
                observation=observation,
            )
        )
        self.emit(StepEnded.of([observation]))

    def audit_inbox(self, record: ScenarioRecord) -> None:
        """Record every message the scenario's customer has got so far, with the stage they were in."""
        shopper = record.shopper
        if shopper.mailbox is None:
            return
        try:
            found = shopper.mailbox.messages()
        except Exception as exc:  # the audit must never cost the run what it recorded
            log.warning("could not audit the inbox of %s: %s", shopper.customer.email, exc)
            return
        taken = {message.key: touchpoint for touchpoint, message in shopper.emails.items()}
        for message in found:
            if message.key in record.audited or not message.addressed_to(shopper.customer.email):
                continue
            record.audited.add(message.key)
            matched = shopper.journey_map.touchpoint(taken.get(message.key) or "")
            self.emit(
                audit_record(
                    message,
                    run_id=self.run_id,
                    node_id=record.node_id,
                    segment=shopper.segment,
                    # A message a step waited for belongs to that touchpoint's stage; another one to
                    # the stage the customer was in when it arrived (on the mailbox's clock).
                    stage=matched.stage_id if matched else record.stage_at(message.received_at),
                    address=shopper.customer.email,
                    touchpoint=matched.id if matched else None,
                )
            )

    def step_ended(
        self,
        record: ScenarioRecord,
        *,
        line: int,
        text: str,
        outcome: str,
        error: str = "",
        evidence: str = "",
        timed: bool = True,
        trace: str = "",
        page_url: str = "",
        page_title: str = "",
        triggers: bool = True,
        emit: bool = True,
        failure: str = "",
        page: PageEvidence | None = None,
    ) -> Observation:
        """Emit the step's observations (one per part it timed, see step_parts.TimedPart). `triggers`: a
        passed timed step starts the clock of the emails it may cause (a form sent does; reading an
        email does not)."""
        if record.step_clock is None or record.step_started_at is None:
            # The step broke before it could start (no definition, a bad argument): it took no time.
            self.step_started(record)
        assert record.step_clock is not None and record.step_started_at is not None
        now = record.step_stopped if record.step_stopped is not None else time.monotonic()
        shopper = record.shopper
        measures = shopper.take_measures()
        ended_at = (shopper.touchpoint, shopper.off_map)
        pieces = pieces_of(measures, ended_at, record.step_clock, now, outcome == "passed")
        if outcome == "passed" and timed and triggers:
            shopper.sent(sent_at(measures.parts, record.step_clock, now))
        record.executed.add(line)
        observations = []
        for number, piece in enumerate(pieces, start=1):
            # Every answer before the last was given; the step's outcome is the last one's.
            final = number == len(pieces)
            observation = self._observation(
                record,
                text,
                record.step_started_at + dt.timedelta(seconds=piece.offset_s),
                piece.duration_ms,
                outcome if final else "passed",
                error if final else "",
                evidence if final else "",
                trace=trace if final else "",
                page_url=page_url if final else "",
                page_title=page_title if final else "",
                where=(piece.touchpoint, piece.off_map),
            )
            observation.timed = timed
            observation.wall_ms = round(piece.wall_ms, 3)
            if final:
                observation.failure, observation.page = failure, page
            observations.append(observation)
        record.step_clock = record.step_started_at = record.step_stopped = None
        if outcome in ("failed", "error"):
            self.failures += 1
        if emit:
            for observation in observations:
                self.emit(StepObserved(observation))
            self.emit(StepEnded.of(observations))
        return observations[-1]

    def stop_step(self, record: ScenarioRecord) -> None:
        """Stop the step's clock: what the harness does next (evidence) is not the customer's wait."""
        if record.step_clock is None or record.step_started_at is None:
            self.step_started(record)  # it broke before it could start: it took no time
        if record.step_stopped is None:
            record.step_stopped = time.monotonic()

    def scenario_ended(
        self, record: ScenarioRecord, where: Callable[[str], Binding | None] | None = None
    ) -> list[Observation]:
        """Steps after a failure never ran: record them as skipped so the attempt shows what went untried.

        `where` tells, from a step's text alone, which touchpoint it would have exercised.
        """
        skipped = []
        for line, text in record.steps:
            if line in record.executed:
                continue
            binding = where(text.split(" ", 1)[1]) if where else None
            if binding is not None and not binding.unresolved:
                record.shopper.at(binding.touchpoint, binding.off_map)
            observation = self._observation(record, text, utc_now(), 0.0, "skipped", "", "")
            observation.timed = False
            skipped.append(observation)
            self.emit(StepObserved(observation))
        return skipped

    def _observation(
        self,
        record: ScenarioRecord,
        text: str,
        started_at: dt.datetime,
        duration_ms: float,
        outcome: str,
        error: str,
        evidence: str,
        *,
        trace: str = "",
        page_url: str = "",
        page_title: str = "",
        where: tuple[Touchpoint | None, str | None] | None = None,
    ) -> Observation:
        shopper = record.shopper
        touchpoint, off_map = where if where is not None else (shopper.touchpoint, shopper.off_map)
        stage = touchpoint.stage_id if touchpoint else record.stage
        hidden = shopper.secrets()
        self._seq += 1
        return Observation(
            run_id=self.run_id,
            feature=record.feature,
            scenario=record.scenario,
            node_id=record.node_id,
            segment=shopper.segment,
            stage=stage,
            touchpoint=touchpoint.id if touchpoint else off_map,
            step=redact(text, hidden),
            started_at=started_at,
            duration_ms=round(duration_ms, 3),
            outcome=outcome,
            attempt=record.attempt,
            seq=self._first + self._seq,
            error=redact(error, hidden),
            evidence=evidence,
            trace=trace,
            page_url=redact(page_location(page_url), hidden) if page_url else "",
            page_title=redact(" ".join(page_title.split()), hidden)[:MAX_TITLE_CHARS],
        )

    def evidence_path(self, record: ScenarioRecord, line: int) -> Path | None:
        if self.evidence_dir is None:
            return None
        name = f"{self._first + self._seq + 1:05d}-line{line}-attempt{record.attempt}.png"
        return self.evidence_dir / self.run_id / name
