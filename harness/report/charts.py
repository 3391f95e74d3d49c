"""Chart geometry for the gap report: the template draws inline SVG from the numbers computed here.

Only numbers leave this module (coordinates, "x,y x,y" point lists for <polyline>, and rows of
<circle> made of nothing but coordinates), so nothing a target site wrote can end up inside an SVG
attribute. Every time scale starts at zero: a bar twice
as long is twice as slow. A target that would squash the data into a sliver is left off the scale
and said so (`*_off_scale`), rather than drawn on a scale nobody can read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

Point = tuple[float, float]

# A fail_after limit further out than this multiple of the data's largest value is not drawn.
OFF_SCALE_FACTOR = 2.5


def _round(value: float) -> float:
    return round(value, 1)


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at or above raw (a readable tick step)."""
    if not math.isfinite(raw) or raw <= 0:
        return 1.0
    exponent = math.floor(math.log10(raw))
    base = 10.0**exponent
    fraction = raw / base
    nice = next(step for step in (1.0, 2.0, 5.0, 10.0) if fraction <= step + 1e-9)
    return nice * base


# Steps a clock reads well: 15 s and 30 s, not 20 s and 50 s; a day's worth in hours, not 10^k ms.
_DURATION_STEPS_MS = (
    *(factor * 10**power for power in range(3) for factor in (1, 2, 5)),
    *(1000 * seconds for seconds in (1, 2, 5, 10, 15, 30)),
    *(60_000 * minutes for minutes in (1, 2, 5, 10, 15, 30)),
    *(3_600_000 * hours for hours in (1, 2, 3, 6, 12)),
)


def duration_step(raw_ms: float) -> float:
    """A tick step for a time axis in milliseconds, at or above raw_ms."""
    step = next((step for step in _DURATION_STEPS_MS if raw_ms <= step + 1e-9), None)
    return float(step) if step is not None else 86_400_000 * nice_step(raw_ms / 86_400_000)


def axis_ticks(largest: float, count: int = 4, *, durations: bool = False) -> list[float]:
    """Tick values from 0 to a round number at or above largest, about `count` steps."""
    largest = largest if math.isfinite(largest) and largest > 0 else 1.0
    step = duration_step(largest / count) if durations else nice_step(largest / count)
    steps = math.ceil(largest / step - 1e-9)
    return [step * index for index in range(steps + 1)]


def scale(value: float, low: float, high: float, start: float, end: float) -> float:
    """value in [low, high] mapped linearly to [start, end] (pixels), clamped to it."""
    if high == low:
        return (start + end) / 2
    fraction = min(max((value - low) / (high - low), 0.0), 1.0)
    return start + fraction * (end - start)


def polylines(points: Sequence[Point | None]) -> list[str]:
    """SVG `points` strings, one per unbroken run: a missing value leaves a gap, not a made-up line.

    A run of a single point draws nothing as a polyline; callers draw every point as a dot anyway.
    """
    runs: list[list[Point]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [" ".join(f"{x:g},{y:g}" for x, y in run) for run in runs if len(run) > 1]


def circles(points: Sequence[Point], css_class: str, radius: float) -> Markup:
    """One <circle> per point, as markup: the dots of a trend line.

    Built here rather than by a loop in the template because a report of 600 cards draws about
    60,000 dots, and the template's escape of every coordinate was a third of writing the page.
    A float prints as digits, a point, a sign, `e`, `nan` or `inf`, so the coordinates need no
    escaping once made floats; the class is escaped, in case a template ever passes a variable.
    """
    kind, r = escape(css_class), float(radius)
    return Markup(
        "".join(f'<circle class="{kind}" cx="{float(x)}" cy="{float(y)}" r="{r}"/>' for x, y in points)
    )


def _xs(count: int, left: float, right: float) -> list[float]:
    if count == 1:
        return [_round((left + right) / 2)]
    return [_round(left + index * (right - left) / (count - 1)) for index in range(count)]


def _largest(*values: float | None) -> float:
    present = [value for value in values if value is not None and math.isfinite(value)]
    return max(present, default=0.0)


@dataclass(frozen=True)
class Trend:
    """Response time per run: p95 (and p50) lines, failed runs marked, the `within` target dashed."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    xs: list[float]
    p95_lines: list[str]
    p50_lines: list[str]
    p95_dots: list[Point]
    failed: list[Point]  # at the top edge, above the run that had a failed visit
    target_y: float | None
    limit_y: float | None
    limit_off_scale: bool
    y_ticks: list[tuple[float, float]]  # (y, ms)


def trend(
    p50: Sequence[float | None],
    p95: Sequence[float | None],
    failed: Sequence[bool],
    within_ms: float | None,
    fail_after_ms: float | None,
    *,
    width: float,
    height: float,
    left: float = 2.0,
    bottom: float = 2.0,
    top: float = 6.0,
    right_pad: float = 4.0,
) -> Trend:
    largest = _largest(*p95, *p50, within_ms)
    limit_off_scale = fail_after_ms is not None and largest > 0 and fail_after_ms > largest * OFF_SCALE_FACTOR
    if fail_after_ms is not None and not limit_off_scale:
        largest = max(largest, fail_after_ms)
    ticks = axis_ticks(largest * 1.05 if largest else 1.0, durations=True)
    high = ticks[-1]
    plot_bottom = height - bottom
    right = width - right_pad

    def y(value: float) -> float:
        return _round(scale(value, 0.0, high, plot_bottom, top))

    xs = _xs(len(p95), left, right)
    p95_points = [(x, y(value)) if value is not None else None for x, value in zip(xs, p95, strict=True)]
    p50_points = [(x, y(value)) if value is not None else None for x, value in zip(xs, p50, strict=True)]
    return Trend(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=plot_bottom,
        xs=xs,
        p95_lines=polylines(p95_points),
        p50_lines=polylines(p50_points),
        p95_dots=[point for point in p95_points if point is not None],
        failed=[(x, _round(top - 3)) for x, bad in zip(xs, failed, strict=True) if bad],
        target_y=y(within_ms) if within_ms is not None else None,
        limit_y=y(fail_after_ms) if fail_after_ms is not None and not limit_off_scale else None,
        limit_off_scale=limit_off_scale,
        y_ticks=[(y(value), value) for value in ticks],
    )


@dataclass(frozen=True)
class Bars:
    """p50 and p95 as horizontal bars from zero, against the `within` target and fail_after limit."""

    width: float
    height: float
    left: float
    right: float
    bar_height: float
    p50_y: float
    p95_y: float
    p50_width: float | None
    p95_width: float | None
    target_x: float | None
    limit_x: float | None
    limit_off_scale: bool
    axis_y: float
    x_ticks: list[tuple[float, float]]  # (x, ms)


def bars(
    p50_ms: float | None,
    p95_ms: float | None,
    within_ms: float | None,
    fail_after_ms: float | None,
    *,
    width: float,
    left: float = 34.0,
    right_pad: float = 14.0,
    bar_height: float = 12.0,
) -> Bars:
    largest = _largest(p50_ms, p95_ms, within_ms)
    limit_off_scale = fail_after_ms is not None and largest > 0 and fail_after_ms > largest * OFF_SCALE_FACTOR
    if fail_after_ms is not None and not limit_off_scale:
        largest = max(largest, fail_after_ms)
    ticks = axis_ticks(largest * 1.05 if largest else 1.0, durations=True)
    high = ticks[-1]
    right = width - right_pad

    def x(value: float) -> float:
        return _round(scale(value, 0.0, high, left, right))

    p50_y, p95_y = 4.0, 4.0 + bar_height + 6.0
    axis_y = p95_y + bar_height + 4.0
    return Bars(
        width=width,
        height=axis_y + 14.0,
        left=left,
        right=right,
        bar_height=bar_height,
        p50_y=p50_y,
        p95_y=p95_y,
        p50_width=_round(x(p50_ms) - left) if p50_ms is not None else None,
        p95_width=_round(x(p95_ms) - left) if p95_ms is not None else None,
        target_x=x(within_ms) if within_ms is not None else None,
        limit_x=x(fail_after_ms) if fail_after_ms is not None and not limit_off_scale else None,
        limit_off_scale=limit_off_scale,
        axis_y=axis_y,
        x_ticks=[(x(value), value) for value in ticks],
    )


EMOTION_MIN, EMOTION_MAX = -2, 2


@dataclass(frozen=True)
class EmotionCurve:
    """Stages left to right, emotion -2..+2 up: the map's expected line against the experienced one."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    xs: list[float]  # one per stage
    y_ticks: list[tuple[float, int]]  # (y, emotion)
    zero_y: float
    expected_lines: list[str]
    experienced_lines: list[str]
    expected_dots: list[tuple[int, Point]]  # (stage index, point)
    experienced_dots: list[tuple[int, Point]]


def emotion_curve(
    expected: Sequence[float | None],
    experienced: Sequence[float | None],
    *,
    width: float,
    height: float,
    left: float = 44.0,
    right_pad: float = 24.0,
    top: float = 12.0,
    bottom_pad: float = 40.0,
) -> EmotionCurve:
    bottom = height - bottom_pad
    right = width - right_pad
    # Stages sit in the middle of equal columns, like the journey strip above the chart.
    column = (right - left) / max(len(expected), 1)
    xs = [_round(left + column * (index + 0.5)) for index in range(len(expected))]

    def y(value: float) -> float:
        return _round(scale(value, EMOTION_MIN, EMOTION_MAX, bottom, top))

    def points(values: Sequence[float | None]) -> list[Point | None]:
        return [(x, y(value)) if value is not None else None for x, value in zip(xs, values, strict=True)]

    expected_points, experienced_points = points(expected), points(experienced)
    return EmotionCurve(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        xs=xs,
        y_ticks=[(y(value), value) for value in range(EMOTION_MIN, EMOTION_MAX + 1)],
        zero_y=y(0),
        expected_lines=polylines(expected_points),
        experienced_lines=polylines(experienced_points),
        expected_dots=[(index, point) for index, point in enumerate(expected_points) if point is not None],
        experienced_dots=[
            (index, point) for index, point in enumerate(experienced_points) if point is not None
        ],
    )
