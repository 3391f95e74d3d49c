"""A step's observations: one per answer it waited for (see shopper.TimedPart), each where it happened.

Plain values only, like the recorder that uses it: no pytest, no Playwright.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.map.journey_map import Touchpoint
from harness.record.context import Shopper, TimedPart


@dataclass
class Piece:
    """One observation a step makes: where, what the touchpoint took, and the harness's wall time."""

    touchpoint: Touchpoint | None
    off_map: str | None
    duration_ms: float
    wall_ms: float
    offset_s: float  # from the step's start


def pieces_of(
    shopper: Shopper, parts: list[TimedPart], started: float, stopped: float, passed: bool
) -> list[Piece]:
    """A step's observations: one per part it timed, each where it happened; the rest is where the step ended.

    Without parts the step is one observation, timed by the step's own measure or its wall time.
    The wall time is split where the step knew each part; the last part runs to the stop.
    """
    measured, shopper.measured_ms = shopper.measured_ms, None
    wall_ms = (stopped - started) * 1000.0
    if not parts:
        duration = measured if measured is not None else wall_ms
        return [Piece(shopper.touchpoint, shopper.off_map, duration, wall_ms, 0.0)]
    pieces = []
    begun = started
    for part in parts:
        ended = min(max(part.clock, begun), stopped)
        wall_ms = (ended - begun) * 1000.0
        pieces.append(Piece(part.touchpoint, part.off_map, part.duration_ms, wall_ms, begun - started))
        begun = ended
    rest_ms = (stopped - begun) * 1000.0
    last = parts[-1]
    ended_there = (last.touchpoint, last.off_map) == (shopper.touchpoint, shopper.off_map)
    if passed or ended_there:
        pieces[-1].wall_ms += rest_ms
    else:
        # What broke after the last answer (the answering page never loaded) took the rest of the step.
        duration = measured if measured is not None else rest_ms
        pieces.append(Piece(shopper.touchpoint, shopper.off_map, duration, rest_ms, begun - started))
    return pieces
