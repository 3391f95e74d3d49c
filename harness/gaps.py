"""Gap analysis: the journey map held against stored observations, per touchpoint and segment.

Observations are per step; a customer experiences a touchpoint as a *visit*: the consecutive
steps of one scenario attempt spent at it. A visit's duration is the time the touchpoint took to
answer: the sum of its timed steps (page loads, form replies, emails arriving; not the customer
typing or checking), or of all its steps when none is timed. It succeeds when no step failed.
A visit with a step in error (the harness could not run it: no mailbox, a step the map cannot
bind, a crashed browser) measured nothing: it is left out of the figures and reported as a
problem of the scenario, not of the touchpoint's owner.
Statuses follow DESIGN.md:

    untested  in the map, no visit in the window
    failing   final success rate below target, or a visit beyond fail_after
    flaky     failed on a first attempt and passed on a retry
    slow      succeeds, but p95 above `within`
    met       otherwise
    off-map   visited, but the map has no such touchpoint
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from harness.journey_map import Expectation, JourneyMap, Touchpoint, format_duration

STATUSES = ("met", "slow", "failing", "flaky", "untested", "off-map")
FAILED = ("failed", "error")
SEVERITY = {"failing": 3.0, "flaky": 2.0, "slow": 1.0, "untested": 0.5}

EMOTION_RULE = (
    "each visit the customer made scores +2 when answered within half the `within` target, +1 within it,"
    " 0 up to twice the target, -1 beyond that, -2 when it failed or took longer than fail_after;"
    " a visit to a touchpoint without a `within` target scores +1 when it succeeded;"
    " a stage's experienced emotion is the mean over its visits"
)

PRIORITY_RULE = (
    "score = severity (failing 3, flaky 2, slow 1, untested 0.5) × 2 if a moment of truth"
    " × (1 + relative size of the gap) × number of runs affected; highest score first"
)


@dataclass
class Observed:
    n: int = 0  # visits, all attempts
    runs: int = 0
    success_rate: float | None = None  # final attempt of each scenario run
    first_attempt_success_rate: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    flaky: int = 0  # scenario runs that failed first and passed on a retry
    runs_affected: int = 0  # runs with a failed, slow or overlong visit
    beyond_fail_after: int = 0


@dataclass
class TrendPoint:
    """One run's figures for a touchpoint and segment: the response-time trend across the window."""

    run_id: str
    visits: int
    failed: int
    p50_ms: float | None
    p95_ms: float | None


@dataclass
class Verdict:
    stage_id: str
    touchpoint_id: str
    name: str
    channel: str
    owner: str
    moment_of_truth: bool
    segment: str
    status: str
    expected: Expectation
    observed: Observed
    gap: str = ""
    gap_size: float = 0.0
    step: str = ""
    error: str = ""
    evidence: str = ""
    harness_error: str = ""  # why some visits measured nothing (see the module docstring)
    segment_played: bool = True  # some run in the window played this segment
    trend: list[TrendPoint] = field(default_factory=list)  # window runs that visited it, oldest first
    trace: str = ""  # Playwright trace of the failing step shown as evidence
    page_url: str = ""
    page_title: str = ""


@dataclass
class StageEmotion:
    """The map's expected emotion for a stage against the one its visits gave (EMOTION_RULE)."""

    stage_id: str
    stage_name: str
    segment: str
    expected: float | None  # mean of the stage's touchpoint emotions in the map; None if the map has none
    experienced: float | None  # None when no visit in the window
    visits: int


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


@dataclass
class FirstValue:
    """Time to first value: from the first step of the first stage to the `milestone: first-value` touchpoint."""

    touchpoint_id: str
    name: str
    segment: str
    expected_ms: float | None
    expected_rule: str  # how the expectation was derived from the map
    runs: int  # runs in the window that played the journey for this segment
    reached: int  # of those, runs in which the customer got to the milestone
    p50_ms: float | None
    p95_ms: float | None
    status: str  # met, slow, failing or untested


@dataclass
class Action:
    priority: int
    score: float
    owner: str
    touchpoint_id: str
    touchpoint_name: str
    stage_id: str
    segment: str
    status: str
    moment_of_truth: bool
    what_to_fix: str
    evidence: str = ""


@dataclass
class GapAnalysis:
    journey_map: JourneyMap
    segments: list[str]
    verdicts: list[Verdict]
    off_map: list[Verdict]
    actions: list[Action] = field(default_factory=list)
    unbound_steps: int = 0
    emotions: list[StageEmotion] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)  # empty when there is no previous window
    previous_runs: int = 0  # runs in the previous window (0: nothing to compare with)
    first_value: list[FirstValue] = field(default_factory=list)  # one per segment, if the map has a milestone

    def verdict(self, touchpoint_id: str, segment: str) -> Verdict | None:
        return next(
            (v for v in self.verdicts if v.touchpoint_id == touchpoint_id and v.segment == segment), None
        )

    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for verdict in [*self.verdicts, *self.off_map]:
            counts[verdict.status] += 1
        return counts

    @property
    def all_met(self) -> bool:
        return all(v.status == "met" for v in self.verdicts) and not self.off_map


VISIT_COLUMNS = ["run_id", "node_id", "attempt", "segment", "touchpoint", "stage"]


def visits(observations: pd.DataFrame) -> pd.DataFrame:
    """Group step observations into visits: consecutive steps of one attempt at one touchpoint."""
    obs = observations[observations["touchpoint"].notna()]
    obs = obs.sort_values(["run_id", "node_id", "attempt", "seq"], kind="stable").reset_index(drop=True)
    columns = [*VISIT_COLUMNS, "duration_ms", "failed", "errored", "step", "error", "evidence"]
    if obs.empty:
        return pd.DataFrame(columns=columns)
    keys = obs[["run_id", "node_id", "attempt", "touchpoint"]]
    starts = (keys != keys.shift()).any(axis=1).to_numpy()
    failed = obs["outcome"].isin(FAILED).to_numpy()
    timed = obs["timed"].astype(bool).to_numpy()
    duration = obs["duration_ms"].to_numpy(dtype=float)
    # Numeric aggregation only: grouping object columns row by row is what makes big windows slow.
    steps = pd.DataFrame(
        {
            "visit": starts.cumsum(),
            "failed": failed,
            "errored": (obs["outcome"] == "error").to_numpy(),
            "executed": (obs["outcome"] != "skipped").to_numpy(),
            "total_ms": duration,
            "timed_ms": duration * timed,
            "any_timed": timed,
        }
    )
    per_visit = steps.groupby("visit").agg(
        failed=("failed", "max"),
        errored=("errored", "max"),
        executed=("executed", "max"),
        total_ms=("total_ms", "sum"),
        timed_ms=("timed_ms", "sum"),
        any_timed=("any_timed", "max"),
    )
    result = obs.loc[starts, VISIT_COLUMNS].reset_index(drop=True)
    result["duration_ms"] = (
        per_visit["timed_ms"].where(per_visit["any_timed"], per_visit["total_ms"]).to_numpy()
    )
    result["failed"] = per_visit["failed"].to_numpy()
    result["errored"] = per_visit["errored"].to_numpy()
    # The failing step of a visit (the last one, if several) is its evidence.
    failures = obs.loc[failed, ["step", "error", "evidence"]].assign(
        visit=steps.loc[failed, "visit"].to_numpy()
    )
    failures = failures.drop_duplicates("visit", keep="last").set_index("visit")
    index = per_visit.index
    for column in ("step", "error", "evidence"):
        result[column] = failures[column].reindex(index).fillna("").to_numpy()
    return result[per_visit["executed"].to_numpy()].reset_index(drop=True)


def _quantile(values: pd.Series, q: float) -> float | None:
    return None if values.empty else float(values.quantile(q))


def observe(group: pd.DataFrame, expectation: Expectation) -> Observed:
    """The figures of one touchpoint and segment over the window."""
    passed = group.loc[~group["failed"], "duration_ms"]
    timed = passed if not passed.empty else group["duration_ms"]
    tries = group.groupby(["run_id", "node_id", "attempt"], sort=False)["failed"].any()
    per_scenario = tries.groupby(level=["run_id", "node_id"], sort=False)
    first_failed = per_scenario.first()  # attempts were sorted ascending
    final_failed = per_scenario.last()
    within = expectation.within_ms
    fail_after = expectation.fail_after_ms
    never = pd.Series(False, index=group.index)
    overlong = group["duration_ms"] > fail_after if fail_after is not None else never
    slow = group["duration_ms"] > within if within is not None else never
    affected = group.loc[group["failed"] | overlong | slow, "run_id"].nunique()
    return Observed(
        n=len(group),
        runs=group["run_id"].nunique(),
        success_rate=float(1.0 - final_failed.mean()),
        first_attempt_success_rate=float(1.0 - first_failed.mean()),
        p50_ms=_quantile(timed, 0.5),
        p95_ms=_quantile(timed, 0.95),
        max_ms=float(group["duration_ms"].max()),
        flaky=int((first_failed & ~final_failed).sum()),
        runs_affected=int(affected),
        beyond_fail_after=int(overlong.sum()),
    )


def judge(observed: Observed, expectation: Expectation) -> tuple[str, str, float]:
    """Status, a plain sentence for the gap, and its relative size (0 = none)."""
    if observed.n == 0:
        return "untested", "no observation in the window", 0.0
    assert observed.success_rate is not None
    if observed.success_rate < expectation.success_rate:
        size = expectation.success_rate - observed.success_rate
        return (
            "failing",
            f"succeeded in {observed.success_rate:.0%} of scenario runs; the map promises"
            f" {expectation.success_rate:.0%}",
            size,
        )
    if observed.beyond_fail_after and expectation.fail_after_ms is not None:
        assert observed.max_ms is not None
        size = observed.max_ms / max(expectation.fail_after_ms, 1) - 1.0
        return (
            "failing",
            f"{observed.beyond_fail_after} visit(s) took longer than fail_after"
            f" {format_duration(expectation.fail_after_ms)} (longest {format_duration(observed.max_ms)})",
            size,
        )
    if observed.flaky:
        size = 1.0 - (observed.first_attempt_success_rate or 0.0)
        return (
            "flaky",
            f"failed on the first attempt and passed on a retry in {observed.flaky} scenario run(s)",
            size,
        )
    within = expectation.within_ms
    if within is not None and observed.p95_ms is not None and observed.p95_ms > within:
        return (
            "slow",
            f"p95 {format_duration(observed.p95_ms)} is {format_duration(observed.p95_ms - within)} over the"
            f" {format_duration(within)} target",
            observed.p95_ms / max(within, 1) - 1.0,
        )
    return "met", "", 0.0


def _what_to_fix(verdict: Verdict) -> str:
    who = f"{verdict.segment} customers"
    if verdict.status == "failing":
        cause = f": {verdict.error.splitlines()[0]}" if verdict.error else ""
        return f"Make {verdict.name} work for {who}{cause}"
    if verdict.status == "flaky":
        return f"Find the intermittent fault in {verdict.name}: it fails on the first try, then passes"
    if verdict.status == "slow":
        target = format_duration(verdict.expected.within_ms)
        return (
            f"Bring {verdict.name} p95 from {format_duration(verdict.observed.p95_ms)} to {target} for {who}"
        )
    if verdict.harness_error:
        return f"Fix the scenario for {verdict.name} ({who}): {verdict.harness_error.splitlines()[0]}"
    if not verdict.segment_played:
        return f"Run the scenarios as {verdict.segment} customers: no run in the window played that segment"
    if verdict.channel == "phone":
        return f"Measure {verdict.name} by hand (a mystery call) or drop the promise from the map"
    return f"Write a scenario that exercises {verdict.name} ({verdict.channel}) for {who}"


def rank(verdicts: list[Verdict]) -> list[Action]:
    scored = []
    for verdict in verdicts:
        if verdict.status not in SEVERITY:
            continue
        score = SEVERITY[verdict.status] * (2.0 if verdict.moment_of_truth else 1.0)
        score *= 1.0 + max(0.0, min(verdict.gap_size, 10.0))
        score *= max(1, verdict.observed.runs_affected)
        scored.append((score, verdict))
    scored.sort(key=lambda pair: (-pair[0], pair[1].stage_id, pair[1].touchpoint_id, pair[1].segment))
    return [
        Action(
            priority=number,
            score=round(score, 2),
            owner=v.owner,
            touchpoint_id=v.touchpoint_id,
            touchpoint_name=v.name,
            stage_id=v.stage_id,
            segment=v.segment,
            status=v.status,
            moment_of_truth=v.moment_of_truth,
            what_to_fix=_what_to_fix(v),
            evidence=v.evidence,
        )
        for number, (score, v) in enumerate(scored, start=1)
    ]


def _verdict(
    touchpoint: Touchpoint | None,
    touchpoint_id: str,
    stage_id: str,
    segment: str,
    group: pd.DataFrame | None,
    expectation: Expectation,
) -> Verdict:
    errored = group[group["errored"]] if group is not None and not group.empty else None
    harness_error = str(errored["error"].iloc[-1]) if errored is not None and not errored.empty else ""
    if group is not None and not group.empty:
        group = group[~group["errored"]]
    observed = observe(group, expectation) if group is not None and not group.empty else Observed()
    status, gap, size = judge(observed, expectation)
    if harness_error and status == "untested":
        count = len(errored) if errored is not None else 0
        gap = f"{count} visit(s) measured nothing: the scenario could not run"
    failures = group[group["failed"]] if group is not None and not group.empty else None
    last_failure = failures.iloc[-1] if failures is not None and not failures.empty else None
    return Verdict(
        stage_id=stage_id,
        touchpoint_id=touchpoint_id,
        name=touchpoint.name if touchpoint else touchpoint_id,
        channel=touchpoint.channel if touchpoint else "",
        owner=touchpoint.owner if touchpoint else "Unassigned",
        moment_of_truth=touchpoint.moment_of_truth if touchpoint else False,
        segment=segment,
        status=status if touchpoint else "off-map",
        expected=expectation,
        observed=observed,
        gap=gap if touchpoint else "the journey map has no such touchpoint",
        gap_size=size,
        step=str(last_failure["step"]) if last_failure is not None else "",
        error=str(last_failure["error"]) if last_failure is not None else "",
        evidence=str(last_failure["evidence"]) if last_failure is not None else "",
        harness_error=harness_error,
    )


def analyse(journey_map: JourneyMap, observations: pd.DataFrame) -> GapAnalysis:
    segments = list(journey_map.segments) or sorted(set(observations["segment"])) or ["default"]
    unbound = int(observations["touchpoint"].isna().sum()) if not observations.empty else 0
    table = visits(observations)
    groups = {key: group for key, group in table.groupby(["touchpoint", "segment"], sort=False)}
    played = set(observations["segment"]) if not observations.empty else set()
    verdicts = []
    for stage in journey_map.stages:
        for touchpoint in stage.touchpoints:
            for segment in segments:
                group = groups.get((touchpoint.id, segment))
                expectation = touchpoint.expectation(segment)
                verdict = _verdict(touchpoint, touchpoint.id, stage.id, segment, group, expectation)
                if segment not in played:
                    verdict.segment_played = False
                    verdict.gap = f"no run in the window played the {segment} segment"
                verdicts.append(verdict)
    known = {touchpoint.id for touchpoint in journey_map.touchpoints()}
    off_map = [
        _verdict(None, str(touchpoint_id), str(group["stage"].iloc[0]), str(segment), group, Expectation())
        for (touchpoint_id, segment), group in groups.items()
        if touchpoint_id not in known
    ]
    return GapAnalysis(
        journey_map=journey_map,
        segments=segments,
        verdicts=verdicts,
        off_map=off_map,
        actions=rank(verdicts),
        unbound_steps=unbound,
    )


def finite(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 1)
