"""Trend and regressions: how the window compares with the previous window of the same length.

A touchpoint moved when its status changed; within one status, when its p95 moved by a quarter
and at least 100 ms, or its success rate by 5 points: smaller changes are the noise of synthetic runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.analysis.verdicts import Verdict
from harness.map.journey_map import format_duration


@dataclass
class Movement:
    """A touchpoint that got worse or better since the previous window of the same length."""

    stage_id: str
    touchpoint_id: str
    name: str
    owner: str
    segment: str
    direction: str  # worse or better
    before_status: str
    after_status: str
    before_p95_ms: float | None
    after_p95_ms: float | None
    before_success_rate: float | None
    after_success_rate: float | None
    reason: str  # one sentence


STATUS_RANK = {"met": 0, "slow": 1, "flaky": 2, "failing": 3}


def movements(verdicts: list[Verdict], previous: list[Verdict]) -> list[Movement]:
    """Touchpoints that got worse or better than in the previous window: status first, then figures.

    Within one status, a p95 that moved by a quarter and at least 100 ms, or a success rate that
    moved by 5 points, counts as a move: smaller changes are the noise of synthetic runs.
    """
    before = {(v.touchpoint_id, v.segment): v for v in previous}
    moved = []
    for now in verdicts:
        then = before.get((now.touchpoint_id, now.segment))
        if then is None or now.status not in STATUS_RANK or then.status not in STATUS_RANK:
            continue
        direction, reason = _direction(then, now)
        if direction:
            moved.append(
                Movement(
                    stage_id=now.stage_id,
                    touchpoint_id=now.touchpoint_id,
                    name=now.name,
                    owner=now.owner,
                    segment=now.segment,
                    direction=direction,
                    before_status=then.status,
                    after_status=now.status,
                    before_p95_ms=then.observed.p95_ms,
                    after_p95_ms=now.observed.p95_ms,
                    before_success_rate=then.observed.success_rate,
                    after_success_rate=now.observed.success_rate,
                    reason=reason,
                )
            )
    moved.sort(key=lambda m: (m.direction != "worse", -STATUS_RANK[m.after_status], not _mot(m, verdicts)))
    return moved


def _mot(movement: Movement, verdicts: list[Verdict]) -> bool:
    return any(v.moment_of_truth for v in verdicts if v.touchpoint_id == movement.touchpoint_id)


def _direction(then: Verdict, now: Verdict) -> tuple[str, str]:
    if STATUS_RANK[now.status] != STATUS_RANK[then.status]:
        direction = "worse" if STATUS_RANK[now.status] > STATUS_RANK[then.status] else "better"
        detail = f": {now.gap}" if direction == "worse" and now.gap else ""
        return direction, f"{then.status} → {now.status}{detail}"
    before, after = then.observed.p95_ms, now.observed.p95_ms
    if before is not None and after is not None and abs(after - before) >= 100:
        if after > before * 1.25:
            return "worse", f"p95 {format_duration(before)} → {format_duration(after)}"
        if after * 1.25 < before:
            return "better", f"p95 {format_duration(before)} → {format_duration(after)}"
    rate_before, rate_after = then.observed.success_rate, now.observed.success_rate
    if rate_before is not None and rate_after is not None and abs(rate_after - rate_before) >= 0.05:
        direction = "worse" if rate_after < rate_before else "better"
        return direction, f"success {rate_before:.0%} → {rate_after:.0%}"
    return "", ""
