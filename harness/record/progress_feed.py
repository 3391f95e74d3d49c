"""The run's progress, for the `shopper run` that watches it: one JSON line per event, to a file.

A file, not a pipe: a write to it never blocks the run (a parent that stopped reading cannot
stall a step), and whatever was written before the process ended is still there for the parent's
last read, however the run ended. The parent tails it (harness/ops/progress.py). Each line is
written and flushed as its event comes, a few microseconds: outside every step's clock (a step's
start is written before its clock starts, its end after the clock stopped). A run started as plain
pytest has no `--progress-file` and no feed.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any, TextIO

from harness.observation import (
    Event,
    RunFinished,
    RunStarted,
    ScenarioEnded,
    ScenarioStarted,
    StepEnded,
    StepStarted,
)

log = logging.getLogger(__name__)

# The worst outcome of a scenario's steps is the scenario's; a step left untried is not counted.
_WORST = ("error", "failed", "pending", "passed")


class ProgressFeed:
    """A handler of the recorder's events that writes what the run is doing to `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._outcomes: list[str] = []  # of the current scenario's steps
        self._out: TextIO | None = None
        try:
            self._out = path.open("a", encoding="utf-8")
        except OSError as exc:  # no progress to show, but the run is not stopped for that
            log.warning("the run's progress could not be written to %s: %s", path, exc)

    def handle(self, event: Event) -> None:
        line = self._line(event)
        if line is None or self._out is None or self._out.closed:
            return
        try:
            self._out.write(json.dumps(line) + "\n")
            self._out.flush()
        except OSError as exc:  # progress must never cost the run a step: the feed stops, the run goes on
            log.warning("the run's progress could not be written to %s: %s", self.path, exc)
            self._close()
        if isinstance(event, RunFinished):
            self._close()

    def _close(self) -> None:
        # Closing flushes what a failed write left buffered: that fails again, and the file is closed.
        with contextlib.suppress(OSError):
            if self._out is not None:
                self._out.close()

    def _line(self, event: Event) -> dict[str, Any] | None:
        if isinstance(event, RunStarted):
            return {"event": "run", "run_id": event.run.run_id, "segment": event.run.segment}
        if isinstance(event, ScenarioStarted):
            self._outcomes = []
            return {
                "event": "scenario",
                "node_id": event.node_id,
                "feature": event.feature,
                "scenario": event.scenario,
                "attempt": event.attempt,
                "steps": event.steps,
            }
        if isinstance(event, StepStarted):
            return {"event": "step", "node_id": event.node_id, "step": event.step}
        if isinstance(event, StepEnded):
            self._outcomes.append(event.outcome)
            return {
                "event": "step_end",
                "node_id": event.node_id,
                "step": event.step,
                "outcome": event.outcome,
                "wall_ms": round(event.wall_ms, 1),
                "error": event.error,
            }
        if isinstance(event, ScenarioEnded):
            outcome = next((worst for worst in _WORST if worst in self._outcomes), "passed")
            return {"event": "scenario_end", "node_id": event.node_id, "outcome": outcome}
        if isinstance(event, RunFinished):
            return {"event": "run_end", "state": event.state}
        return None
