"""What a step measured, and its observations: one per answer it waited for, each where it happened.

Plain values only, like the recorder that uses it: no pytest, no Playwright. Steps hand their
measures to the scenario context's methods (Shopper.timed_part, Shopper.answered_in); the recorder
takes them as one value when the step ends (Shopper.take_measures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.map.journey_map import Touchpoint

Where = tuple[Touchpoint | None, str | None]  # (map touchpoint, else off-map path)


@dataclass
class TimedPart:
    """One answer a step waited for, as the browser timed it, and the touchpoint that gave it.

    A submit is two: the reply to the form (its POST and redirect: the touchpoint that received
    the request) and the answering page's own load (the page the customer lands on).
    """

    touchpoint: Touchpoint | None
    off_map: str | None
    duration_ms: float  # the browser's own timing of the request and load
    # On the harness's clock (time.monotonic()), from the browser's timing: when the part ended
    # (the harness's wall time splits there) and when its answer arrived (what it sent was
    # received by then: an email it caused is timed from here).
    clock: float
    answered: float


@dataclass
class StepMeasures:
    """What one step measured, handed to the recorder when it ends (see Shopper.take_measures)."""

    # The answers the step waited for, each charged to its own touchpoint; the recorder turns them
    # into one observation each, instead of one for the whole step.
    parts: list[TimedPart] = field(default_factory=list)
    answered_ms: float | None = None  # the step's own measure of the touchpoint's answer
    page_loaded: bool = False  # the step waited for a page's load: its web vitals are read after it


@dataclass
class Piece:
    """One observation a step makes: where, what the touchpoint took, and the harness's wall time."""

    touchpoint: Touchpoint | None
    off_map: str | None
    duration_ms: float
    wall_ms: float
    offset_s: float  # from the step's start


def pieces_of(
    measures: StepMeasures, ended_at: Where, started: float, stopped: float, passed: bool
) -> list[Piece]:
    """A step's observations: one per part it timed, each where it happened; the rest is where the step
    ended (`ended_at`).

    Without parts the step is one observation, timed by the step's own measure or its wall time.
    The wall time is split where the step knew each part; the last part runs to the stop.
    """
    parts, measured = measures.parts, measures.answered_ms
    wall_ms = (stopped - started) * 1000.0
    if not parts:
        duration = measured if measured is not None else wall_ms
        return [Piece(*ended_at, duration, wall_ms, 0.0)]
    pieces = []
    begun = started
    for part in parts:
        ended = min(max(part.clock, begun), stopped)
        wall_ms = (ended - begun) * 1000.0
        pieces.append(Piece(part.touchpoint, part.off_map, part.duration_ms, wall_ms, begun - started))
        begun = ended
    rest_ms = (stopped - begun) * 1000.0
    last = parts[-1]
    if passed or (last.touchpoint, last.off_map) == ended_at:
        pieces[-1].wall_ms += rest_ms
    else:
        # What broke after the last answer (the answering page never loaded) took the rest of the step.
        duration = measured if measured is not None else rest_ms
        pieces.append(Piece(*ended_at, duration, rest_ms, begun - started))
    return pieces
