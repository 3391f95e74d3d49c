"""A slow touchpoint's evidence: its slowest visit's screenshot and the waterfall of that page's requests.

The waterfall is drawn from the browser's Resource/Navigation Timing kept with the visit
(record.page_evidence): one row per request, its bar placed at its start and as long as its
duration on the page's own time axis, so a reader sees which request held the page up. Plain
numbers for the template (slow_evidence.html.j2), which draws the bars as inline SVG and escapes
every name (they come from the target site).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.store.pages import SlowestVisit

BAR_WIDTH = 320  # px of the bar column; the axis is the page's own span, from navigation start


@dataclass
class WaterfallRow:
    name: str
    kind: str
    start_ms: float
    duration_ms: float
    bytes: int | None
    x: float  # the bar's left edge, px
    width: float  # the bar's length, px (at least one, so a cached request still shows)
    slowest: bool  # the request that took longest: the first place to look


@dataclass
class SlowEvidence:
    visit: SlowestVisit
    image: str | None  # the screenshot as a data: URI, embedded like the evidence at failure
    image_note: str
    rows: list[WaterfallRow]
    span_ms: float  # the axis: from navigation start to the last request's end
    bar_width: int = BAR_WIDTH


def waterfall(visit: SlowestVisit) -> tuple[list[WaterfallRow], float]:
    requests = sorted(visit.page.requests, key=lambda r: r.start_ms)
    span = max((r.start_ms + r.duration_ms for r in requests), default=0.0) or 1.0
    longest = max(requests, key=lambda r: r.duration_ms, default=None)
    rows = [
        WaterfallRow(
            name=request.name,
            kind=request.kind,
            start_ms=request.start_ms,
            duration_ms=request.duration_ms,
            bytes=request.bytes,
            x=round(request.start_ms / span * BAR_WIDTH, 1),
            width=round(max(request.duration_ms / span * BAR_WIDTH, 1.0), 1),
            slowest=request is longest,
        )
        for request in requests
    ]
    return rows, span


def slow_evidence(
    visits: Sequence[SlowestVisit], embed: Callable[[str], tuple[str | None, str]]
) -> dict[tuple[str, str], SlowEvidence]:
    """Per (touchpoint, segment), its slowest visit's evidence; `embed` makes a screenshot a data: URI."""
    found = {}
    for visit in visits:
        image, note = embed(visit.page.screenshot)
        if not visit.page.screenshot:
            note = "no screenshot: this visit was not over its `within` target when it was recorded"
        rows, span = waterfall(visit)
        found[(visit.touchpoint, visit.segment)] = SlowEvidence(visit, image, note, rows, span)
    return found


def slowest_json(visits: Sequence[SlowestVisit], slow: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The JSON report's `slowest_visits`: those of the (touchpoint, segment) pairs judged slow."""
    return [
        {
            "touchpoint_id": visit.touchpoint,
            "segment": visit.segment,
            "run_id": visit.run_id,
            "seq": visit.seq,
            "duration_ms": visit.duration_ms,
            "url": visit.page.url,
            "screenshot": visit.page.screenshot,
            "requests": [dataclasses.asdict(request) for request in visit.page.requests],
        }
        for visit in visits
        if (visit.touchpoint, visit.segment) in slow
    ]
