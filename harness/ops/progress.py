"""`shopper run`'s progress: what the run's pytest process is doing, tailed from its feed and shown.

The run's process writes its progress as JSON lines to a file (harness/record/progress_feed.py);
`FeedTail` reads the new lines as they come, in a thread of this process, and hands each to a view.
On a terminal the view is a live display (rich): the segment, the scenario and the step running now,
how long each has been running, and the scenarios passed and failed so far, with one line per
scenario as it ends. Anywhere else (a pipe, a CI log) it is plain lines, one per scenario's start
and end and per step's, flushed, with no terminal codes. All of it runs here, never in the run's
process: what a step measured cannot include a frame drawn.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

log = logging.getLogger(__name__)

# How often the feed is read: a line shows at most this late, and an idle run costs 5 reads a second.
POLL_S = 0.2
FAILED = ("failed", "error")


class ProgressView(Protocol):
    """What shows a run's progress: the plain lines below, or the live display of live_progress.py."""

    def showing(self) -> AbstractContextManager[None]: ...
    def event(self, event: dict[str, Any]) -> None: ...
    def output(self, line: str) -> None: ...


def seconds(elapsed_s: float) -> str:
    if elapsed_s < 60:
        return f"{elapsed_s:.1f} s"
    minutes, rest = divmod(int(elapsed_s), 60)
    return f"{minutes}:{rest:02d}"


class FeedTail:
    """Reads the feed's complete lines as they are written; `finish` reads the last ones, then stops."""

    def __init__(
        self, path: Path, on_event: Callable[[dict[str, Any]], None], poll_s: float = POLL_S
    ) -> None:
        self.path = path
        self.on_event = on_event
        self.poll_s = poll_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="shopper-progress", daemon=True)
        self._partial = b""
        self._position = 0

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        """The run's process has ended: what it wrote last is read before this returns."""
        self._done.set()
        self._thread.join()

    def _follow(self) -> None:
        while True:
            done = self._done.wait(self.poll_s)
            self._read()
            if done:
                return

    def _read(self) -> None:
        try:
            with self.path.open("rb") as feed:
                feed.seek(self._position)
                data = feed.read()
        except FileNotFoundError:
            return  # the run has not begun yet
        self._position += len(data)
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            try:
                self.on_event(event)
            except Exception:  # a view that cannot draw must not cost the run, nor stop its tail
                log.exception("the run's progress could not be shown")


# A scenario's fields of the tally, kept per scenario while a parallel run plays several at once.
_PLAYING = (
    *("scenario", "feature", "attempt", "steps", "steps_done"),
    *("step", "scenario_since", "step_since", "broke", "broke_said"),
)


@dataclass
class Tally:
    """What the feed has said so far of the segment being run."""

    segment: str = ""
    run_id: str = ""
    scenario: str = ""
    feature: str = ""
    attempt: int = 1
    steps: int = 0
    steps_done: int = 0
    step: str = ""  # the step running now; "" between steps
    run_since: float = field(default_factory=time.monotonic)
    scenario_since: float = 0.0
    step_since: float = 0.0
    broke: str = ""  # the scenario's failing step
    broke_said: str = ""  # and the first line of what it said
    outcomes: dict[str, str] = field(default_factory=dict)  # scenario -> its latest attempt's outcome
    node_id: str = ""  # the scenario the fields above are of
    playing: dict[str, dict[str, Any]] = field(default_factory=dict)  # other workers' scenarios, by node

    def count(self, *outcomes: str) -> int:
        return sum(outcome in outcomes for outcome in self.outcomes.values())

    def so_far(self) -> str:
        pending = self.count("pending")
        said = f"{self.count('passed')} passed, {self.count(*FAILED)} failed"
        return said + (f", {pending} pending" if pending else "")

    def focus(self, event: dict[str, Any]) -> None:
        """The scenario fields above turn to the scenario `event` is of: a parallel run's workers
        (`--workers`) interleave their scenarios' events in one feed."""
        node = event.get("node_id")
        if node is None or event.get("event") == "scenario" or node == self.node_id:
            return
        if self.node_id:
            self.playing[self.node_id] = {name: getattr(self, name) for name in _PLAYING}
        for name, value in self.playing.pop(node, {}).items():
            setattr(self, name, value)
        self.node_id = node

    def apply(self, event: dict[str, Any]) -> None:
        self.focus(event)
        kind, now = event.get("event"), time.monotonic()
        if kind == "run" and event["run_id"] != self.run_id:  # a parallel run's workers each say it
            self.segment, self.run_id, self.run_since = event["segment"], event["run_id"], now
            self.outcomes = {}
        elif kind == "scenario":
            if self.node_id and self.scenario:  # another worker's scenario is still playing
                self.playing[self.node_id] = {name: getattr(self, name) for name in _PLAYING}
            self.node_id, self.step = event["node_id"], ""
            self.scenario, self.feature, self.attempt = event["scenario"], event["feature"], event["attempt"]
            self.steps, self.steps_done, self.scenario_since, self.broke = event["steps"], 0, now, ""
        elif kind == "step":
            self.step, self.step_since = event["step"], now
        elif kind == "step_end":
            self.step, self.steps_done = "", self.steps_done + 1
            if event["outcome"] in FAILED and not self.broke:
                self.broke, self.broke_said = event["step"], event["error"]
        elif kind == "scenario_end":
            self.outcomes[event["node_id"]] = event["outcome"]
            self.scenario, self.node_id = "", ""


class PlainProgress:
    """One line per scenario's start and end and per step's, flushed: for a pipe or a CI log."""

    def __init__(self, stream: TextIO) -> None:
        self.tally = Tally()
        self.stream = stream
        self._lock = threading.Lock()  # the feed's thread and pytest's relayed output both write

    @contextmanager
    def showing(self) -> Iterator[None]:
        yield

    def say(self, line: str) -> None:
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def output(self, line: str) -> None:
        self.say(line.rstrip("\n"))

    def event(self, event: dict[str, Any]) -> None:
        tally, kind = self.tally, event.get("event")
        tally.focus(event)
        scenario = tally.scenario
        tally.apply(event)
        if kind == "run":
            self.say(f"segment {tally.segment}: run {tally.run_id}")
        elif kind == "scenario":
            again = f", attempt {tally.attempt}" if tally.attempt > 1 else ""
            self.say(f"scenario: {tally.scenario} ({tally.feature}{again})")
        elif kind == "step":
            self.say(f"  running: {event['step']}")
        elif kind == "step_end":
            said = f": {event['error']}" if event["error"] else ""
            self.say(f"  {event['outcome']}: {event['step']} ({seconds(event['wall_ms'] / 1000)}){said}")
        elif kind == "scenario_end":
            self.say(f"scenario {event['outcome']}: {scenario}; so far {tally.so_far()}")
        elif kind == "run_end":
            self.say(f"segment {tally.segment}: {tally.so_far()}")
