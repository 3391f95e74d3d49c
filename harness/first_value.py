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

from harness.journey_map import JourneyMap
from harness.visits import FAILED, codes, quantiles

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
    node, _ = codes(observations["node_id"])
    stage_code, stage_ids = codes(observations["stage"])
    stage = np.array([index.get(s, -1) for s in stage_ids] + [-1], dtype=np.int64)[stage_code]
    attempt = observations["attempt"].to_numpy(dtype=np.int64)
    seq = observations["seq"].to_numpy(dtype=np.int64)
    steps = pd.DataFrame(
        {
            "run": run,
            "scenario": run * (int(node.max()) + 1 if len(node) else 1) + node,
            "stage": np.where(stage >= 0, stage, np.iinfo(np.int64).max),
            "seq": seq,
            "duration": observations["duration_ms"].to_numpy(dtype=np.float64),
            "executed": (observations["outcome"] != "skipped").to_numpy(dtype=bool),
            "broken": observations["outcome"].isin(FAILED).to_numpy(dtype=bool),
            "milestone": (observations["touchpoint"] == milestone_id).to_numpy(dtype=bool),
            "segment": observations["segment"].astype(str).to_numpy(),
        }
    )
    final = attempt == pd.Series(attempt).groupby(steps["scenario"].to_numpy()).transform("max").to_numpy()
    steps = steps[final & (steps["stage"] <= milestone_stage).to_numpy()]
    if steps.empty:
        return pd.DataFrame(columns=["run_id", "segment", "reached", "journey_ms"])
    executed = steps[steps["executed"]]
    scenarios = pd.DataFrame(
        {
            "run": steps.groupby("scenario")["run"].first(),
            "start": steps.groupby("scenario")["stage"].min(),
            "total": executed.groupby("scenario")["duration"].sum(),
            "broken": steps.groupby("scenario")["broken"].any(),
        }
    )
    scenarios["total"] = scenarios["total"].fillna(0.0)
    # The scenario that reaches the milestone counts up to the milestone's last step.
    at = steps[steps["milestone"]]
    cutoff = at.groupby("scenario")["seq"].max()
    through = (at["broken"] | ~at["executed"]).groupby(at["scenario"]).any()  # skipped: never got there
    upto = executed[executed["seq"] <= executed["scenario"].map(cutoff).fillna(-1)]
    reaching = pd.DataFrame({"to_milestone": upto.groupby("scenario")["duration"].sum(), "broken": through})
    reaching = reaching[~reaching["broken"]].join(scenarios[["run", "start"]])
    best = reaching.sort_values("to_milestone").drop_duplicates("run").set_index("run")
    lead_ins = (
        scenarios[~scenarios["broken"]].groupby(["run", "start"])["total"].min().reset_index()
    )  # the quickest way through each stage
    stages_played = scenarios.groupby("run")["start"].apply(set)
    rows = []
    segment_of = steps.groupby("run")["segment"].first()
    for run_code, segment in segment_of.items():
        played = stages_played.get(run_code, set())
        reached, journey = False, float("nan")
        if run_code in best.index:
            start = int(best.loc[run_code, "start"])
            earlier = lead_ins[(lead_ins["run"] == run_code) & (lead_ins["start"] < start)]
            needed = {s for s in played if s < start}
            reached = needed <= set(earlier["start"])
            journey = float(best.loc[run_code, "to_milestone"]) + float(earlier["total"].sum())
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
