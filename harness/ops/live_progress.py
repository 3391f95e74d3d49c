"""`shopper run`'s progress on a terminal: a live display (rich) redrawn a few times a second.

Three lines while a segment runs: the segment with its scenarios passed and failed so far and how
long it has been running; the scenario running now; the step running now and for how long. A
line per scenario is printed above them as it ends (✓ or ✗, and the failing step's first words).
The display is drawn in this process (see harness/ops/progress.py), never in the run's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from harness.ops.progress import FAILED, Tally, seconds

# A redraw a quarter second: the elapsed times tick visibly, the terminal is not kept busy.
REFRESH_PER_S = 4


class LiveProgress:
    def __init__(self, console: Console) -> None:
        self.tally = Tally()
        self.console = console
        self._spinner = Spinner("dots")
        # One writer at a time. The run's events are printed from the feed's thread; rich's own
        # auto-refresh would redraw from a thread of its own, and a redraw landing between a print's
        # cursor move and its write left a stale frame on the screen and overwrote the lines above
        # it (seen on a loaded machine). So the redraws are ours, under this lock, as are the
        # prints and the tally's changes the redraw reads.
        self._drawing = threading.RLock()

    @contextmanager
    def showing(self) -> Iterator[None]:
        """The display while one segment's run runs; it leaves only the scenarios' lines behind."""
        live = Live(console=self.console, get_renderable=self._render, auto_refresh=False, transient=True)
        stopped = threading.Event()

        def redraw() -> None:
            while not stopped.wait(1 / REFRESH_PER_S):
                with self._drawing:
                    live.refresh()

        with live:
            ticker = threading.Thread(target=redraw, name="progress-redraw", daemon=True)
            ticker.start()
            try:
                yield
            finally:
                stopped.set()
                ticker.join()  # before the display's last frame is drawn and taken away

    def output(self, line: str) -> None:
        """pytest's own output (--verbose), printed above the display."""
        with self._drawing:
            self.console.print(Text.from_ansi(line.rstrip("\n")), soft_wrap=True)

    def event(self, event: dict[str, Any]) -> None:
        with self._drawing:
            self._event(event)

    def _event(self, event: dict[str, Any]) -> None:
        tally = self.tally
        tally.focus(event)
        scenario, feature, since = tally.scenario, tally.feature, tally.scenario_since
        tally.apply(event)
        if event.get("event") == "run_end":
            took = seconds(time.monotonic() - tally.run_since)
            self.console.print(Text(f"segment {tally.segment}: {tally.so_far()} · {took}", style="bold"))
        if event.get("event") != "scenario_end":
            return
        took = seconds(time.monotonic() - since)
        outcome = event["outcome"]
        if outcome in FAILED:
            self.console.print(Text(f"✗ {scenario} ({feature}) · {outcome} at {tally.broke} · {took}", "red"))
            if tally.broke_said:
                self.console.print(Text(f"    {tally.broke_said}"))
        elif outcome == "pending":
            self.console.print(
                Text(f"… {scenario} ({feature}) · an email is left to `shopper mail poll` · {took}")
            )
        else:
            self.console.print(Text(f"✓ {scenario} ({feature}) · {tally.steps} steps · {took}", "green"))

    def _render(self) -> RenderableType:
        tally, now = self.tally, time.monotonic()
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=2)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        heading = f"segment {tally.segment or '…'} · {tally.so_far()} · {seconds(now - tally.run_since)}"
        grid.add_row(self._spinner, Text(heading, style="bold"))
        if tally.scenario:
            again = f" · attempt {tally.attempt}" if tally.attempt > 1 else ""
            done = f"step {min(tally.steps_done + 1, tally.steps)}/{tally.steps}"
            took = seconds(now - tally.scenario_since)
            grid.add_row("", Text(f"{tally.scenario} ({tally.feature}){again} · {done} · {took}"))
        if tally.step:
            grid.add_row(
                "", Text(f"▶ {tally.step} · running {seconds(now - tally.step_since)}", style="cyan")
            )
        return grid
