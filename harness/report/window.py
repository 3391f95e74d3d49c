"""The window a report covers: its runs, and the window before it that movements compare with.

A leaf of the report: the JSON, the HTML and the exports all say which runs they cover, and the
composer (`harness.report.gap_report.write_report`) hands the same window to each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from harness.observation import Run


@dataclass
class Window:
    runs: list[Run]  # oldest first
    previous: list[Run] = field(default_factory=list)  # the window before, of the same length at most

    @property
    def start(self) -> dt.datetime | None:
        return min((run.started_at for run in self.runs), default=None)

    @property
    def end(self) -> dt.datetime | None:
        ends = [run.finished_at or run.started_at for run in self.runs]
        return max(ends, default=None)
