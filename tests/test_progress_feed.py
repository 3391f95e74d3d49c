"""The progress feed between a run's process and `shopper run`: written by the recorder's handler,
tailed by the parent, nothing lost at the end, a line written in two halves read once, whole."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from harness.observation import (
    Run,
    RunFinished,
    RunStarted,
    ScenarioEnded,
    ScenarioStarted,
    StepEnded,
    StepStarted,
    utc_now,
)
from harness.ops.progress import FeedTail, PlainProgress
from harness.record.progress_feed import ProgressFeed


def run_events(run_id: str = "r1") -> list[object]:
    return [
        RunStarted(Run(run_id=run_id, started_at=utc_now(), segment="visitor")),
        ScenarioStarted(run_id, "n1", "shop.feature", "I buy a hat", 1, 2),
        StepStarted(run_id, "n1", 1, 'Given I open "/hats"'),
        StepEnded(run_id, "n1", 1, 'Given I open "/hats"', "passed", 1234.5),
        StepStarted(run_id, "n1", 1, "Then I should see a hat"),
        StepEnded(run_id, "n1", 1, "Then I should see a hat", "failed", 5000.0, "no hat"),
        ScenarioEnded(run_id, "n1", 1),
        RunFinished(run_id, "finished"),
    ]


def test_every_line_is_read_even_those_written_just_before_the_end(tmp_path: Path) -> None:
    feed_file = tmp_path / "progress.jsonl"
    out = io.StringIO()
    view = PlainProgress(out)
    # A poll far longer than the test: the last lines come only from the read at finish().
    tail = FeedTail(feed_file, view.event, poll_s=3600)
    tail.start()  # before the run's process has made the file
    feed = ProgressFeed(feed_file)
    for event in run_events():
        feed.handle(event)  # type: ignore[arg-type]
    tail.finish()
    assert out.getvalue().splitlines() == [
        "segment visitor: run r1",
        "scenario: I buy a hat (shop.feature)",
        '  running: Given I open "/hats"',
        '  passed: Given I open "/hats" (1.2 s)',
        "  running: Then I should see a hat",
        "  failed: Then I should see a hat (5.0 s): no hat",
        "scenario failed: I buy a hat; so far 0 passed, 1 failed",
        "segment visitor: 0 passed, 1 failed",
    ]


def test_a_line_written_in_two_halves_is_read_once_whole(tmp_path: Path) -> None:
    feed_file = tmp_path / "progress.jsonl"
    seen: list[dict[str, object]] = []
    arrived = threading.Event()

    def on_event(event: dict[str, object]) -> None:
        seen.append(event)
        arrived.set()

    tail = FeedTail(feed_file, on_event, poll_s=0.01)
    tail.start()
    with feed_file.open("w") as feed:
        feed.write('{"event": "step", "node_id": "n1", ')
        feed.flush()
        assert not arrived.wait(0.2)  # half a line is not an event
        feed.write('"step": "Given I open the home page"}\n')
        feed.flush()
        assert arrived.wait(60)  # a liveness bound, not a measured time
    tail.finish()
    assert seen == [{"event": "step", "node_id": "n1", "step": "Given I open the home page"}]


def test_a_feed_that_cannot_be_written_stops_without_stopping_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = ProgressFeed(Path("/dev/full"))  # every write fails as on a full disk
    for event in run_events():
        feed.handle(event)  # type: ignore[arg-type]  # none raises: the run goes on
    warned = [record.getMessage() for record in caplog.records]
    assert len(warned) == 1 and "could not be written to /dev/full" in warned[0], warned


def test_a_feed_that_cannot_be_opened_is_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    feed = ProgressFeed(tmp_path / "gone" / "progress.jsonl")
    for event in run_events():
        feed.handle(event)  # type: ignore[arg-type]
    assert not (tmp_path / "gone").exists()
    assert "could not be written" in caplog.text
