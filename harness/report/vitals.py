"""The report's web vitals: per touchpoint and segment, each vital's p75 and its web.dev rating
(harness.analysis.vitals), for the JSON report and the touchpoint cards (templates/vitals.html.j2).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from harness.analysis.vitals import VITALS_RULE, TouchpointVitals, VitalFigure

# The order a card shows them in: the three core vitals first.
SHOWN = ("lcp", "cls", "inp", "ttfb", "fcp", "tbt")


def vitals_json(summaries: list[TouchpointVitals]) -> dict[str, Any]:
    """The JSON report's `vitals`: the rule, and per touchpoint and segment its vitals' p75 and rating."""
    touchpoints = [
        {
            "touchpoint": summary.touchpoint_id,
            "segment": summary.segment,
            "visits": summary.visits,
            "vitals": [dataclasses.asdict(figure) for figure in ordered(summary)],
        }
        for summary in summaries
    ]
    return {"rule": VITALS_RULE, "touchpoints": touchpoints}


def ordered(summary: TouchpointVitals) -> list[VitalFigure]:
    return sorted(summary.figures, key=lambda figure: SHOWN.index(figure.name))


def vitals_by_card(summaries: list[TouchpointVitals]) -> dict[tuple[str, str], list[VitalFigure]]:
    """(touchpoint id, segment) → its vitals in the order shown: what the template looks up."""
    return {(summary.touchpoint_id, summary.segment): ordered(summary) for summary in summaries}
