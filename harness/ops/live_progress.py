"""`shopper run`'s progress on a terminal: a live display (rich) redrawn a few times a second.

Three lines while a segment runs: the segment with its scenarios passed and failed so far and how
long it has been running; the scenario running now; the step running now and for how long. A
line per scenario is printed above them as it ends (✓ or ✗, and the failing step's first words).
The display is drawn in this process (see harness/ops/progress.py), never in the run's.
"""

from __future__ import annotations

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

    @contextmanager
    def showing(self) -> Iterator[None]:
        """The display while one segment's run runs; it leaves only the scenarios' lines behind."""
        with Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=REFRESH_PER_S,
            transient=True,
        ):
            yield

    def output(self, line: str) -> None:
        """pytest's own output (--verbose), printed above the display."""
        self.console.print(Text.from_ansi(line.rstrip("\n")), soft_wrap=True)

    def event(self, event: dict[str, Any]) -> None:
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
