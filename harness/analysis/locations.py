"""Locations: each touchpoint judged per location the window's runs walked from, beside its overall verdict.

A run records where it walked from (`shopper run --location`, the host name by default); the
analysis frame carries it as a `location` column. With one location there is nothing to compare;
with more, every touchpoint is judged again on each location's observations alone, by the same
rules (the `judge` the composer hands in: `harness.analysis.gaps` judges, this module compares),
and a touchpoint that falls short at some locations while it is met at the others is called out
in plain words: its gap is where the customer is, not the touchpoint everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.analysis.verdicts import Verdict, finite

LOCATION_RULE = (
    "Where the window's runs walked from more than one location, each touchpoint is judged on each"
    " location's runs alone, by the same rules as overall. A touchpoint that is slow, failing or flaky"
    " at some locations and met at every other one is called out as a gap of those locations only."
)
FELL_SHORT = ("failing", "flaky", "slow")  # the order a call-out names them in
UNRECORDED = "(not recorded)"  # runs of a harness that recorded no location


@dataclass
class AtLocation:
    location: str
    status: str
    runs: int
    success_rate: float | None
    p95_ms: float | None


@dataclass
class TouchpointLocations:
    touchpoint_id: str
    name: str
    segment: str
    overall: str  # the status over every location's runs
    at: list[AtLocation]
    callout: str = ""  # the plain sentence when some locations fall short and others meet the promise


@dataclass
class LocationComparison:
    locations: list[str] = field(default_factory=list)  # the window's, in the order first seen
    touchpoints: list[TouchpointLocations] = field(default_factory=list)  # only with several locations

    rule: str = LOCATION_RULE

    @property
    def callouts(self) -> list[str]:
        return [tp.callout for tp in self.touchpoints if tp.callout]

    def as_json(self) -> dict[str, Any]:
        return {
            "names": self.locations,
            "touchpoints": [
                {
                    "touchpoint_id": tp.touchpoint_id,
                    "name": tp.name,
                    "segment": tp.segment,
                    "overall": tp.overall,
                    "at": [
                        {
                            "location": at.location,
                            "status": at.status,
                            "runs": at.runs,
                            "success_rate": at.success_rate,
                            "p95_ms": finite(at.p95_ms),
                        }
                        for at in tp.at
                    ],
                    "callout": tp.callout,
                }
                for tp in self.touchpoints
            ],
            "callouts": self.callouts,
            "rule": LOCATION_RULE,
        }


def _seen(observations: pd.DataFrame) -> dict[str, str]:
    """Each location as stored ("" for a run of an older harness) and as shown, in the order first seen.

    Read through the column's categories, not cell by cell: a window holds a million observations."""
    if "location" not in observations or not len(observations):
        return {}
    column = observations["location"].astype("category")
    stored = [str(name) for name in pd.unique(column)]
    return {name: name or UNRECORDED for name in stored}


def locations_of(observations: pd.DataFrame) -> list[str]:
    """The locations the window's runs walked from, in the order first seen (a frame without the
    column, or runs of an older harness alone, have none)."""
    shown = list(_seen(observations).values())
    return [] if shown == [UNRECORDED] else shown


def callout(name: str, segment: str, at: list[AtLocation], segments: int) -> str:
    """'Pricing page is slow from eu-west only (met from us-east)'; "" unless some locations fall short
    and others meet the promise."""
    met = [a.location for a in at if a.status == "met"]
    short = {status: [a.location for a in at if a.status == status] for status in FELL_SHORT}
    parts = [f"{status} from {' and '.join(where)}" for status, where in short.items() if where]
    if not met or not parts:
        return ""
    who = f"{name} ({segment})" if segments > 1 else name
    return f"{who} is {' and '.join(parts)} only (met from {', '.join(met)})"


def compare_locations(
    observations: pd.DataFrame,
    overall: list[Verdict],
    judge: Callable[[pd.DataFrame], list[Verdict]],
) -> LocationComparison:
    """Each touchpoint × segment per location, when the window holds more than one; `judge` gives the
    verdicts of a part of the window, as the overall ones were given."""
    seen = _seen(observations)
    names = locations_of(observations)
    if len(names) < 2:
        return LocationComparison(locations=names)
    column = observations["location"].astype("category")
    per_location = {
        shown: {(v.touchpoint_id, v.segment): v for v in judge(observations[(column == stored).to_numpy()])}
        for stored, shown in seen.items()
    }
    segments, compared = len({v.segment for v in overall}), []
    for verdict in overall:
        key = (verdict.touchpoint_id, verdict.segment)
        at = [
            AtLocation(
                name,
                found.status,
                found.observed.runs,
                found.observed.success_rate,
                found.observed.p95_ms,
            )
            for name in names
            if (found := per_location[name].get(key)) is not None
        ]
        if all(a.status == "untested" for a in at):
            continue  # no location reached it: nothing to compare
        said = callout(verdict.name, verdict.segment, at, segments)
        where = (verdict.touchpoint_id, verdict.name, verdict.segment)
        compared.append(TouchpointLocations(*where, verdict.status, at, said))
    return LocationComparison(locations=names, touchpoints=compared)
