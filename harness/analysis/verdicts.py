"""The verdicts of a gap analysis: what was observed at a touchpoint, and the status it earned.

A leaf of the analysis: the action plan, the movements, the alerts, the metrics and the report all
read verdicts, and `harness.analysis.gaps` composes them; none of them needs the whole pipeline to
name a verdict. The statuses are those of docs/design.md (see `harness.analysis.gaps`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness.map.journey_map import Expectation, format_duration

STATUSES = ("met", "slow", "failing", "flaky", "pending", "untested", "off-map", "runner-busy")


@dataclass
class Observed:
    n: int = 0  # visits, all attempts
    runs: int = 0
    success_rate: float | None = None  # final attempt of each scenario run
    first_attempt_success_rate: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    flaky: int = 0  # scenario runs that failed first and passed on a retry
    runs_affected: int = 0  # runs with a failed, slow or overlong visit
    beyond_fail_after: int = 0
    pending: int = 0  # visits whose email is still awaited, not in the figures above
    journeys: int = 0  # scenario runs that reached it (retries not counted): what success_rate is of


@dataclass
class TrendPoint:
    """One run's figures for a touchpoint and segment: the response-time trend across the window."""

    run_id: str
    visits: int
    failed: int
    p50_ms: float | None
    p95_ms: float | None


@dataclass
class Verdict:
    stage_id: str
    touchpoint_id: str
    name: str
    channel: str
    owner: str
    moment_of_truth: bool
    segment: str
    status: str
    expected: Expectation
    observed: Observed
    gap: str = ""
    gap_size: float = 0.0
    step: str = ""
    error: str = ""
    evidence: str = ""
    harness_error: str = ""  # why some visits measured nothing (see the module docstring)
    segment_played: bool = True  # some run in the window played this segment
    trend: list[TrendPoint] = field(default_factory=list)  # window runs that visited it, oldest first
    trace: str = ""  # Playwright trace of the failing step shown as evidence
    page_url: str = ""
    page_title: str = ""
    blocked_by: str = ""  # untested because scenarios stopped at this touchpoint's failure first (its name)
    blocked_by_harness: bool = False  # ...at a step the harness could not run there, not a failure


def judge(observed: Observed, expectation: Expectation) -> tuple[str, str, float]:
    """Status, a plain sentence for the gap, and its relative size (0 = none)."""
    if observed.n == 0 and observed.pending:
        return "pending", f"{observed.pending} email(s) still awaited; `shopper mail poll` resolves them", 0.0
    if observed.n == 0:
        return "untested", "no observation in the window", 0.0
    assert observed.success_rate is not None
    if observed.success_rate < expectation.success_rate:
        size = expectation.success_rate - observed.success_rate
        return (
            "failing",
            f"succeeded in {observed.success_rate:.0%} of scenario runs; the map promises"
            f" {expectation.success_rate:.0%}",
            size,
        )
    if observed.beyond_fail_after and expectation.fail_after_ms is not None:
        assert observed.max_ms is not None
        size = observed.max_ms / max(expectation.fail_after_ms, 1) - 1.0
        return (
            "failing",
            f"{observed.beyond_fail_after} visit(s) took longer than fail_after"
            f" {format_duration(expectation.fail_after_ms)} (longest {format_duration(observed.max_ms)})",
            size,
        )
    if observed.flaky:
        size = 1.0 - (observed.first_attempt_success_rate or 0.0)
        return (
            "flaky",
            f"failed on the first attempt and passed on a retry in {observed.flaky} scenario run(s)",
            size,
        )
    within = expectation.within_ms
    if within is not None and observed.p95_ms is not None and observed.p95_ms > within:
        return (
            "slow",
            f"p95 {format_duration(observed.p95_ms)} is {format_duration(observed.p95_ms - within)} over the"
            f" {format_duration(within)} target",
            observed.p95_ms / max(within, 1) - 1.0,
        )
    return "met", "", 0.0


def finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 1)
