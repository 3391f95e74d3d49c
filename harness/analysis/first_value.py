"""Time to first value: how long a customer takes from the start of the journey to the map's milestone.

A touchpoint marked `milestone: first-value` is the moment the customer first gets what they came
for; `first_value_within` at the top of the map promises how soon. Scenarios are written per
stage, so one run holds several ways through each stage. A run's journey time is one
customer's quickest way there:

    the scenario that reaches the milestone, from its first step to the milestone's last step,
    plus, for each stage before the one that scenario starts in, the quickest scenario of that
    stage that succeeded,

counting every executed step of the final attempts (the customer's typing included: the customer
spends that time too) and nothing between scenarios (a new browser, the harness). A run reached
first value when such a scenario got through the milestone and every earlier stage it needs had
a scenario that succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis.visits import FAILED, BoolArray, IntArray, codes, quantiles
from harness.map.journey_map import JourneyMap

MILESTONE = "first-value"
RULE = (
    "per run: the scenario that reaches the milestone, from its first step to the milestone, plus the"
    " quickest successful scenario of each stage before it; every executed step of the final attempts"
)


@dataclass
class FirstValue:
    """Time to first value for one segment over the window."""

    touchpoint_id: str
    name: str
    segment: str
    expected_ms: float | None  # the map's first_value_within; None when it promises no time
    expected_rule: str  # how the journey time is measured
    runs: int  # runs in the window that played the journey for this segment
    reached: int  # of those, runs in which the customer got to the milestone
    p50_ms: float | None
    p95_ms: float | None
    status: str  # met, slow, failing or untested


def journey_times(journey_map: JourneyMap, observations: pd.DataFrame, milestone_id: str) -> pd.DataFrame:
    """Per run that played the journey: its segment, whether it reached the milestone, and its time."""
    index = {stage.id: number for number, stage in enumerate(journey_map.stages)}
    milestone_stage = index[next(tp.stage_id for tp in journey_map.touchpoints() if tp.id == milestone_id)]
    run, run_ids = codes(observations["run_id"])
    node, _ = codes(observations["node_id"], names=False)
    segment, segment_names = codes(observations["segment"])
    stage_code, stage_ids = codes(observations["stage"])
    stage = np.array([index.get(s, -1) for s in stage_ids] + [-1], dtype=np.int64)[stage_code]
    attempt = observations["attempt"].to_numpy(dtype=np.int64)
    # Scenario runs coded once: every figure below is a numpy reduction over these codes.
    scenario, _ = pd.factorize(run * (int(node.max()) + 1 if len(node) else 1) + node)
    count = int(scenario.max()) + 1 if len(scenario) else 0
    final_attempt = np.zeros(count, dtype=np.int64)
    np.maximum.at(final_attempt, scenario, attempt)
    keep = (attempt == final_attempt[scenario]) & (stage >= 0) & (stage <= milestone_stage)
    if not keep.any():
        return pd.DataFrame(columns=["run_id", "segment", "reached", "journey_ms"])
    segment_code = np.full(len(run_ids), -1, dtype=np.int64)
    segment_code[run[keep]] = segment[keep]
    scenarios, reaching = _scenario_times(observations, keep, scenario, stage, run, count, milestone_id)
    return _quickest_journeys(scenarios, reaching, segment_code, segment_names, run_ids)


def _scenario_times(
    observations: pd.DataFrame,
    keep: BoolArray,
    scenario: IntArray,
    stage: IntArray,
    run: IntArray,
    count: int,
    milestone_id: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per kept scenario run: run, first stage, time, whether it broke; and those reaching the milestone."""
    sc, st = scenario[keep], stage[keep]
    seq = observations["seq"].to_numpy(dtype=np.int64)[keep]
    duration = observations["duration_ms"].to_numpy(dtype=np.float64)[keep]
    executed = (observations["outcome"] != "skipped").to_numpy(dtype=bool)[keep]
    broken = observations["outcome"].isin(FAILED).to_numpy(dtype=bool)[keep]
    at = (observations["touchpoint"] == milestone_id).to_numpy(dtype=bool)[keep]

    run_of = np.full(count, -1, dtype=np.int64)
    run_of[sc] = run[keep]
    start = np.full(count, np.iinfo(np.int64).max)
    np.minimum.at(start, sc, st)
    total = np.bincount(sc, weights=duration * executed, minlength=count)
    failed = np.bincount(sc, weights=broken, minlength=count) > 0
    # The scenario that reaches the milestone counts up to the milestone's last step; a skipped
    # milestone step means the customer never got there.
    cutoff = np.full(count, -1, dtype=np.int64)
    np.maximum.at(cutoff, sc[at], seq[at])
    missed = np.bincount(sc[at], weights=broken[at] | ~executed[at], minlength=count) > 0
    upto = executed & (seq <= cutoff[sc])
    to_milestone = np.bincount(sc[upto], weights=duration[upto], minlength=count)
    present = np.bincount(sc, minlength=count) > 0
    scenarios = pd.DataFrame(
        {"run": run_of, "start": start, "total": total, "broken": failed, "to_milestone": to_milestone}
    )[present]
    return scenarios, scenarios[(cutoff[present] >= 0) & ~missed[present]]


def _quickest_journeys(
    scenarios: pd.DataFrame,
    reaching: pd.DataFrame,
    segment_code: IntArray,
    segment_names: list[str],
    run_ids: list[str],
) -> pd.DataFrame:
    """Per run: the quickest scenario to the milestone plus the quickest way through each stage before it."""
    best = reaching.sort_values("to_milestone").drop_duplicates("run").set_index("run")
    # The quickest way through each stage, per run, as plain dicts: a pandas filter per run cost more
    # than the rest of the first-value figures at 50 runs of 10,000 observations.
    lead_ins = scenarios[~scenarios["broken"]].groupby(["run", "start"])["total"].min()
    quickest: dict[int, dict[int, float]] = {}
    for (run, start), total in zip(lead_ins.index.tolist(), lead_ins.tolist(), strict=True):
        quickest.setdefault(run, {})[start] = total  # in stage order: the groupby sorts
    stages_played: dict[int, set[int]] = {}
    played = scenarios[["run", "start"]].drop_duplicates()  # a few per run, of many scenarios
    for run, start in zip(played["run"].tolist(), played["start"].tolist(), strict=True):
        stages_played.setdefault(run, set()).add(start)
    best_start = dict(zip(best.index.tolist(), best["start"].tolist(), strict=True))
    best_time = dict(zip(best.index.tolist(), best["to_milestone"].tolist(), strict=True))
    rows = []
    for run_code in np.flatnonzero(segment_code >= 0).tolist():
        segment = segment_names[segment_code[run_code]]
        reached, journey = False, float("nan")
        if run_code in best_start:
            first_stage = int(best_start[run_code])
            earlier = {s: t for s, t in quickest.get(run_code, {}).items() if s < first_stage}
            needed = {s for s in stages_played.get(run_code, set()) if s < first_stage}
            reached = needed <= earlier.keys()
            # numpy's sum skipping NaN, as the frame's was: the same pairwise rounding, the same figure.
            journey = float(best_time[run_code]) + float(
                np.nansum(np.array(list(earlier.values()), dtype=np.float64))
            )
        rows.append(
            {"run_id": run_ids[int(run_code)], "segment": segment, "reached": reached, "journey_ms": journey}
        )
    return pd.DataFrame(rows)


def first_value(journey_map: JourneyMap, segments: list[str], observations: pd.DataFrame) -> list[FirstValue]:
    milestone = next((tp for tp in journey_map.touchpoints() if tp.milestone == MILESTONE), None)
    if milestone is None:
        return []
    expected = journey_map.first_value_within_ms
    times = journey_times(journey_map, observations, milestone.id) if len(observations) else None
    results = []
    for segment in segments:
        mine = times[times["segment"] == segment] if times is not None else pd.DataFrame()
        reached = mine[mine["reached"]]["journey_ms"].to_numpy(dtype=np.float64) if len(mine) else np.zeros(0)
        p50, p95 = quantiles(reached, np.zeros(len(reached), dtype=np.int64), 1)
        status = "untested"
        if len(mine):
            status = "met"
            if len(reached) / len(mine) < milestone.expectation(segment).success_rate:
                status = "failing"
            elif expected is not None and p95[0] > expected:
                status = "slow"
        results.append(
            FirstValue(
                touchpoint_id=milestone.id,
                name=milestone.name,
                segment=segment,
                expected_ms=None if expected is None else float(expected),
                expected_rule=RULE,
                runs=len(mine),
                reached=len(reached),
                p50_ms=None if np.isnan(p50[0]) else float(p50[0]),
                p95_ms=None if np.isnan(p95[0]) else float(p95[0]),
                status=status,
            )
        )
    return results
