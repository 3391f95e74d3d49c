"""Web vitals per touchpoint and segment: each vital's p75 over the window's passed page visits,
rated as web.dev does, and the rule that makes a touchpoint *slow* on them.

A vital is rated good / needs improvement / poor on its p75 (web.dev's thresholds below). A
touchpoint whose map promises a vital (`expect: {lcp: 2.5s, cls: 0.1, ...}`, per segment too) breaches
it when the p75 is over the promise. A breach makes a met touchpoint slow, the vital named in the gap
("LCP p75 4.1s; the map promises 2.5s"); a touchpoint already slow on its response time gets the
vital's sentence added. A vital the map promises nothing about is rated and shown, never a gap: a
page's owner answers for what the map promised (a map that promised `within: 10s` was not asking
for web.dev's 4s), and a page reached by a form's slow reply carries that wait in its TTFB and LCP.
LCP and CLS are read when the page had loaded (harness.record.vitals): "so far" at that moment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from harness.analysis.verdicts import Verdict
from harness.map.journey_map import JourneyMap, format_duration
from harness.observation import VisitVitals

# name: (label, good up to, poor over, PageVitals attribute); durations in ms, CLS a bare score.
# TBT stands in for INP where the visit had no interaction (Lighthouse's lab thresholds).
VITALS = {
    "lcp": ("LCP", 2500.0, 4000.0, "lcp_ms"),
    "cls": ("CLS", 0.1, 0.25, "cls"),
    "inp": ("INP", 200.0, 500.0, "inp_ms"),
    "ttfb": ("TTFB", 800.0, 1800.0, "ttfb_ms"),
    "fcp": ("FCP", 1800.0, 3000.0, "fcp_ms"),
    "tbt": ("TBT", 200.0, 600.0, "tbt_ms"),
}
GOOD, NEEDS_IMPROVEMENT, POOR = "good", "needs-improvement", "poor"
RATINGS = (GOOD, NEEDS_IMPROVEMENT, POOR)

VITALS_RULE = (
    "Each web vital's p75 over the window's passed page visits, rated as web.dev does (LCP good up to"
    " 2.5s, poor over 4s; CLS 0.1/0.25; INP 200/500ms; FCP 1.8/3s; TTFB 0.8/1.8s; TBT 200/600ms where"
    " no interaction gave an INP). A vital over the map's promise makes the touchpoint slow; one the map"
    " promises nothing about is rated, never a gap. LCP and CLS are as the page stood when it had loaded."
)


@dataclass
class VitalFigure:
    name: str  # lcp, cls, inp, ttfb, fcp, tbt
    label: str  # LCP, ...
    p75: float  # ms, or the bare CLS score
    rating: str  # good, needs-improvement, poor
    visits: int  # visits that measured it
    promise: float | None = None  # the map's, if it promises this vital
    breached: bool = False

    @property
    def shown(self) -> str:
        return show(self.name, self.p75)


@dataclass
class TouchpointVitals:
    touchpoint_id: str
    segment: str
    visits: int
    figures: list[VitalFigure] = field(default_factory=list)

    def figure(self, name: str) -> VitalFigure | None:
        return next((figure for figure in self.figures if figure.name == name), None)


def show(name: str, value: float) -> str:
    return f"{value:.2f}" if name == "cls" else format_duration(value)


def rate(name: str, value: float) -> str:
    _, good, poor, _ = VITALS[name]
    return GOOD if value <= good else POOR if value > poor else NEEDS_IMPROVEMENT


def summarise(journey_map: JourneyMap, visits: list[VisitVitals]) -> list[TouchpointVitals]:
    """Per map touchpoint and segment with vitals, each vital's p75 and rating, against its promise."""
    grouped: dict[tuple[str, str], list[VisitVitals]] = defaultdict(list)
    for visit in visits:
        grouped[(visit.touchpoint, visit.segment)].append(visit)
    summaries = []
    for (touchpoint_id, segment), group in sorted(grouped.items()):
        touchpoint = journey_map.touchpoint(touchpoint_id)
        if touchpoint is None:
            continue  # an off-map page has no owner to promise it anything
        expectation = touchpoint.expectation(segment)
        summary = TouchpointVitals(touchpoint_id, segment, len(group))
        for name, (label, _, _, attribute) in VITALS.items():
            values = [v for v in (getattr(visit.vitals, attribute) for visit in group) if v is not None]
            if not values:
                continue
            p75 = round(float(np.percentile(values, 75)), 4 if name == "cls" else 1)
            promise = expectation.vital(name)
            breached = promise is not None and p75 > promise
            rating = rate(name, p75)
            summary.figures.append(VitalFigure(name, label, p75, rating, len(values), promise, breached))
        summaries.append(summary)
    return summaries


def breach_sentence(figure: VitalFigure) -> str:
    if figure.promise is not None:
        return f"{figure.label} p75 {figure.shown}; the map promises {show(figure.name, figure.promise)}"
    _, _, poor, _ = VITALS[figure.name]
    return f"{figure.label} p75 {figure.shown} is poor (over {show(figure.name, poor)})"


def judge_vitals(verdicts: list[Verdict], summaries: list[TouchpointVitals]) -> None:
    """A met (or slow) verdict whose page breaches a vital becomes slow, the vitals named in its gap."""
    found = {(summary.touchpoint_id, summary.segment): summary for summary in summaries}
    for verdict in verdicts:
        summary = found.get((verdict.touchpoint_id, verdict.segment))
        breached = [figure for figure in summary.figures if figure.breached] if summary else []
        if not breached or verdict.status not in ("met", "slow"):
            continue  # a failing touchpoint's gap is its failure; vitals come after
        said = "; ".join(breach_sentence(figure) for figure in breached)
        size = max(figure.p75 / max(_limit(figure), 1e-9) - 1.0 for figure in breached)
        if verdict.status == "met":
            verdict.status, verdict.gap, verdict.gap_size = "slow", said, size
        else:
            verdict.gap, verdict.gap_size = f"{verdict.gap}; {said}", max(verdict.gap_size, size)


def _limit(figure: VitalFigure) -> float:
    return figure.promise if figure.promise is not None else VITALS[figure.name][2]
