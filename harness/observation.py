"""What the recorder emits: runs and observations, and the events that carry them.

The recorder only emits these; the store, the gap analysis and the report consume them
(schemathesis' event/handler split), so nothing downstream can change what was observed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Run:
    run_id: str
    started_at: dt.datetime
    state: str = "running"  # running, finished or aborted
    finished_at: dt.datetime | None = None
    pid: int | None = None
    host: str = ""
    target: str = ""
    segment: str = ""
    journey: str = ""
    map_version: str = ""
    map_path: str = ""
    map_digest: str = ""  # names the map text stored with the run (see RunStarted.map_text)


@dataclass
class Observation:
    """One timed step attempt, bound to the stage and touchpoint it exercised."""

    run_id: str
    feature: str
    scenario: str
    node_id: str
    segment: str
    stage: str
    touchpoint: str | None
    step: str
    started_at: dt.datetime
    duration_ms: float
    outcome: (
        str  # passed, failed (the touchpoint let the customer down), error (the step could not run), skipped
    )
    attempt: int = 1
    seq: int = 0
    error: str = ""
    evidence: str = ""  # screenshot at failure
    trace: str = ""  # Playwright trace at failure (`playwright show-trace FILE`)
    page_url: str = ""  # where the customer was when the step failed
    page_title: str = ""
    timed: bool = True  # the step waited for the touchpoint's answer (see catalogue.StepEntry.timed)


@dataclass
class RunStarted:
    run: Run
    map_text: str = ""  # the journey map as the run saw it: a later map refresh is diffed against it


@dataclass
class StepObserved:
    observation: Observation


@dataclass
class RunFinished:
    run_id: str
    state: str
    finished_at: dt.datetime = field(default_factory=utc_now)


Event = RunStarted | StepObserved | RunFinished


class Handler(Protocol):
    def handle(self, event: Event) -> None: ...
