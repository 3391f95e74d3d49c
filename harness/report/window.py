"""The window a report covers: its runs, and the window before it that movements compare with.

A leaf of the report: the JSON, the HTML and the exports all say which runs they cover, and the
composer (`harness.report.gap_report.write_report`) hands the same window to each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from harness.observation import Run


@dataclass
class Window:
    runs: list[Run]  # oldest first
    previous: list[Run] = field(default_factory=list)  # the window before, of the same length at most
    journeys: dict[str, int] = field(default_factory=dict)  # customer journeys per segment; empty: not known

    @property
    def start(self) -> dt.datetime | None:
        return min((run.started_at for run in self.runs), default=None)

    @property
    def end(self) -> dt.datetime | None:
        ends = [run.finished_at or run.started_at for run in self.runs]
        return max(ends, default=None)


def journeys_per_segment(observations: Any) -> dict[str, int]:
    """Customer journeys (scenario runs, retries not counted) per segment, from the window's observations."""
    if not len(observations):
        return {}
    played = observations.drop_duplicates(["run_id", "node_id"]).groupby("segment").size()
    return {str(segment): int(count) for segment, count in played.items()}
