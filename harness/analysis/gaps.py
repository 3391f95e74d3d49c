"""Gap analysis: the journey map held against stored observations, per touchpoint and segment.

Observations are per step; a customer experiences a touchpoint as a *visit*: the consecutive
steps of one scenario attempt spent at it. A visit's duration is the time the touchpoint took to
answer: the sum of its timed steps (page loads, form replies, emails arriving; not the customer
typing or checking), or of all its steps when none is timed. It succeeds when no step failed.
A visit with a step in error (the harness could not run it: no mailbox, a step the map cannot
bind, a crashed browser) measured nothing: it is left out of the figures and reported as a
problem of the scenario, not of the touchpoint's owner.
Statuses follow docs/design.md:

    untested  in the map, no visit in the window
    failing   final success rate below target, or a visit beyond fail_after, or a page visit
              breaking the touchpoint's accessibility promise (harness.analysis.accessibility)
    flaky     failed on a first attempt and passed on a retry
    slow      succeeds, but p95 above `within`
    met       otherwise
    pending   its only visits await an email `shopper mail poll` has not resolved yet
    off-map   visited, but the map has no such touchpoint
    runner-busy  slow only in runs whose runner was too busy to measure fairly (see runner_verdicts)

A visit still pending (a support reply promised within hours) is counted apart and judged once
it resolves: it is not a failure while its fail_after has not passed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis.accessibility import (
    TouchpointAccessibility,
    apply_to_verdicts,
    judge_window,
    reword_actions,
)
from harness.analysis.actions import Action, operator_actions, rank
from harness.analysis.blocked import blocked_by
from harness.analysis.emotion import StageEmotion, emotions_of
from harness.analysis.first_value import FirstValue, first_value
from harness.analysis.inbox_audit import StageInbox, inbox_actions, inbox_audit
from harness.analysis.locations import LocationComparison, compare_locations
from harness.analysis.movements import Movement, movements
from harness.analysis.runner_rule import RunnerHealth, busy_runs
from harness.analysis.runner_verdicts import fair_figures, hold_back
from harness.analysis.verdicts import STATUSES, Observed, TrendPoint, Verdict, judge
from harness.analysis.visits import Figures, FloatArray, IntArray, Visits, figures, group_visits, quantiles
from harness.analysis.vitals import TouchpointVitals, judge_vitals, summarise
from harness.map.journey_map import Expectation, JourneyMap, Touchpoint
from harness.observation import AccessibilityChecked, MessageReceived, VisitVitals


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
    inbox: list[StageInbox] = field(default_factory=list)  # what the customer received, per stage and segment
    runner: list[RunnerHealth] = field(default_factory=list)  # how busy the runner was, per run of the window
    vitals: list[TouchpointVitals] = field(default_factory=list)  # web vitals per touchpoint and segment
    # axe's findings per touchpoint × segment that promises accessibility (harness.analysis.accessibility)
    accessibility: list[TouchpointAccessibility] = field(default_factory=list)
    locations: LocationComparison = field(default_factory=LocationComparison)  # per location, if several
    _index: dict[tuple[str, str], Verdict] = field(default_factory=dict, init=False, compare=False)

    def accessibility_of(self, touchpoint_id: str, segment: str) -> TouchpointAccessibility | None:
        return next(
            (a for a in self.accessibility if a.touchpoint_id == touchpoint_id and a.segment == segment), None
        )

    def verdict(self, touchpoint_id: str, segment: str) -> Verdict | None:
        if len(self._index) != len(self.verdicts):  # indexed once: a scan per call was quadratic
            self._index = {(v.touchpoint_id, v.segment): v for v in self.verdicts}
        return self._index.get((touchpoint_id, segment))

    def status_counts(self) -> dict[str, int]:
        found = Counter(verdict.status for verdict in [*self.verdicts, *self.off_map])
        return {**dict.fromkeys(STATUSES, 0), **found}

    @property
    def all_met(self) -> bool:
        # A pending reply is not a gap yet (`shopper mail poll` turns it into one), nor a held-back one.
        return all(v.status in ("met", "pending", "runner-busy") for v in self.verdicts) and not self.off_map


def _observed(fig: Figures, g: int) -> Observed:
    if fig.n[g] == 0:
        return Observed()
    return Observed(
        n=int(fig.n[g]),
        runs=int(fig.runs[g]),
        success_rate=_number(fig.success_rate[g]),
        first_attempt_success_rate=_number(fig.first_attempt_success_rate[g]),
        p50_ms=_number(fig.p50_ms[g]),
        p95_ms=_number(fig.p95_ms[g]),
        max_ms=_number(fig.max_ms[g]),
        flaky=int(fig.flaky[g]),
        runs_affected=int(fig.runs_affected[g]),
        beyond_fail_after=int(fig.beyond_fail_after[g]),
        journeys=int(fig.journeys[g]),
    )


def _number(value: Any) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


DETAILS = ("step", "error", "evidence", "trace", "page_url", "page_title")


def _details(observations: pd.DataFrame, rows: IntArray) -> dict[int, dict[str, str]]:
    """The texts of the failing steps shown as evidence, read in one go (row by row is slow)."""
    wanted = np.unique(rows[rows >= 0])
    columns = [column for column in DETAILS if column in observations.columns]
    picked = observations.iloc[wanted][columns]
    found: dict[int, dict[str, str]] = {}
    for row, values in zip(wanted.tolist(), picked.itertuples(index=False, name=None), strict=True):
        found[row] = {
            column: "" if pd.isna(value) else str(value)
            for column, value in zip(columns, values, strict=True)
        }
    return found


def _run_rank(visits_run_ids: list[str], run_order: list[str] | None) -> IntArray:
    """Each run code's place in the window (oldest first); runs the window does not name go last."""
    place = {run_id: number for number, run_id in enumerate(run_order or [])}
    return np.array(
        [place.get(run_id, len(place) + code) for code, run_id in enumerate(visits_run_ids)], dtype=np.int64
    )


def _trends(visits: Visits, group: IntArray, groups: int, rank: IntArray) -> list[list[TrendPoint]]:
    """Per group, one point per run that visited it, oldest run first."""
    runs = max(len(visits.run_ids), 1)
    key = group * runs + visits.run
    cells = groups * runs
    count = np.bincount(key, minlength=cells)
    failed = np.bincount(key[visits.failed], minlength=cells)
    passed = ~visits.failed
    p50, p95 = quantiles(visits.duration_ms[passed], key[passed], cells)
    present = np.flatnonzero(count)
    present = present[np.lexsort((rank[present % runs], present // runs))]
    trends: list[list[TrendPoint]] = [[] for _ in range(groups)]
    for cell in present.tolist():
        g, r = divmod(cell, runs)
        trends[g].append(
            TrendPoint(
                run_id=visits.run_ids[r],
                visits=int(count[cell]),
                failed=int(failed[cell]),
                p50_ms=_number(p50[cell]),
                p95_ms=_number(p95[cell]),
            )
        )
    return trends


@dataclass
class _Judged:
    verdicts: list[Verdict]
    off_map: list[Verdict]
    emotions: list[StageEmotion]


@dataclass
class _Window:
    """The window's figures per group (touchpoint × segment code), as each verdict reads them."""

    journey_map: JourneyMap
    width: int  # segment codes per touchpoint code: group = touchpoint * width + segment
    touchpoint_code: dict[str, int]
    segment_code: dict[str, int]
    fig: Figures
    fair: Figures | None  # the figures without the busy runner's runs; None when no run was busy
    pending: IntArray
    errors: IntArray
    last_error: IntArray  # row of the group's latest step in error, or -1
    texts: dict[int, dict[str, str]]
    trends: list[list[TrendPoint]] | None
    played: set[str]
    blocked: dict[tuple[str, str], tuple[str, str]]


def _expectation_grid(
    journey_map: JourneyMap, visits: Visits, width: int, groups: int
) -> tuple[FloatArray, FloatArray]:
    """`within` and `fail_after` per touchpoint × segment (NaN: no target, or off the map)."""
    within, fail_after = np.full(groups, np.nan), np.full(groups, np.nan)
    for t, touchpoint_id in enumerate(visits.touchpoints):
        touchpoint = journey_map.touchpoint(touchpoint_id)
        for s, segment in enumerate(visits.segments):
            expectation = touchpoint.expectation(segment) if touchpoint else Expectation()
            if expectation.within_ms is not None:
                within[t * width + s] = expectation.within_ms
            if expectation.fail_after_ms is not None:
                fail_after[t * width + s] = expectation.fail_after_ms
    return within, fail_after


def _status(window: _Window, g: int, expectation: Expectation, observed: Observed) -> tuple[str, str, float]:
    """Status, gap and size; a slow verdict that only busy runs made slow is held back."""
    status, gap, size = judge(observed, expectation)
    if status == "slow" and window.fair is not None and g >= 0:
        fairly = _observed(window.fair, g)
        status, gap, size = hold_back((status, gap, size), judge(fairly, expectation)[0], fairly.runs)
    return status, gap, size


def _blocked_wording(journey_map: JourneyMap, blocker: str, blocked_how: str) -> tuple[str, str]:
    """The blocking touchpoint's name, and the gap of an untested one it stopped the scenarios at."""
    found = journey_map.touchpoint(blocker)
    name = found.name if found else blocker
    gap = (
        f"blocked by {name}: the scenarios that reach it stopped at that failure first"
        if blocked_how == "failed"
        else f"blocked by the scenario to fix at {name}: the harness could not run past it"
    )
    return name, gap


def _verdict(
    window: _Window, touchpoint: Touchpoint | None, touchpoint_id: str, stage_id: str, segment: str
) -> Verdict:
    t, s = window.touchpoint_code.get(touchpoint_id), window.segment_code.get(segment)
    g = t * window.width + s if t is not None and s is not None else -1
    expectation = touchpoint.expectation(segment) if touchpoint else Expectation()
    observed = _observed(window.fig, g) if g >= 0 else Observed()
    observed.pending = int(window.pending[g]) if g >= 0 else 0
    status, gap, size = _status(window, g, expectation, observed)
    harness_error = window.texts.get(int(window.last_error[g]), {}).get("error", "") if g >= 0 else ""
    if harness_error and status == "untested":
        gap = f"{int(window.errors[g])} visit(s) measured nothing: the scenario could not run"
    untried = status == "untested" and not harness_error
    blocker, blocked_how = window.blocked.get((touchpoint_id, segment), ("", "")) if untried else ("", "")
    if blocker:
        blocker, gap = _blocked_wording(window.journey_map, blocker, blocked_how)
    row = int(window.fig.last_failure[g]) if g >= 0 else -1
    result = Verdict(
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
        harness_error=harness_error,
        trend=window.trends[g] if window.trends is not None and g >= 0 else [],
        blocked_by=blocker,
        blocked_by_harness=blocked_how == "error",
    )
    for column, value in window.texts.get(row, {}).items():
        setattr(result, column, value)
    if touchpoint and segment not in window.played:
        result.segment_played = False
        result.gap = f"no run in the window played the {segment} segment"
    return result


def _off_map_verdicts(window: _Window, visits: Visits) -> list[Verdict]:
    """A verdict for each touchpoint × segment visited at a touchpoint the map does not have."""
    off_map = []
    stage_names = [str(s) for s in visits.stages]
    for t, touchpoint_id in enumerate(visits.touchpoints):
        if window.journey_map.touchpoint(touchpoint_id) is not None:
            continue
        for s, segment in enumerate(visits.segments):
            g = t * window.width + s
            if window.fig.n[g] or window.errors[g] or window.pending[g]:
                where = visits.stage[(visits.touchpoint == t) & (visits.segment == s)]
                stage_id = stage_names[int(where[0])] if len(where) and where[0] >= 0 else ""
                off_map.append(_verdict(window, None, touchpoint_id, stage_id, segment))
    return off_map


def _judge_window(
    journey_map: JourneyMap,
    segments: list[str],
    observations: pd.DataFrame,
    run_order: list[str] | None,
    *,
    details: bool = True,
    busy: frozenset[str] = frozenset(),
) -> _Judged:
    visits = group_visits(observations)
    width = max(len(visits.segments), 1)
    groups = max(len(visits.touchpoints), 1) * width
    group = visits.touchpoint * width + visits.segment
    within, fail_after = _expectation_grid(journey_map, visits, width, groups)
    errored = visits.errored
    waiting = visits.pending & ~visits.failed & ~errored
    clean, clean_group = visits.select(~errored & ~waiting), group[~errored & ~waiting]
    fig = figures(clean, clean_group, groups, within, fail_after)
    last_error = np.full(groups, -1, dtype=np.int64)
    np.maximum.at(last_error, group[errored], visits.failure_row[errored])
    window = _Window(
        journey_map=journey_map,
        width=width,
        touchpoint_code={tp: number for number, tp in enumerate(visits.touchpoints)},
        segment_code={segment: number for number, segment in enumerate(visits.segments)},
        fig=fig,
        fair=fair_figures(clean, clean_group, groups, within, fail_after, busy),
        pending=np.bincount(group[waiting], minlength=groups),
        errors=np.bincount(group[errored], minlength=groups),
        last_error=last_error,
        texts=_details(observations, np.concatenate([fig.last_failure, last_error])),
        trends=_trends(clean, clean_group, groups, _run_rank(visits.run_ids, run_order)) if details else None,
        played=set(visits.segments),  # every segment of the frame (codes() names them all)
        blocked=blocked_by(observations),
    )
    verdicts = [
        _verdict(window, touchpoint, touchpoint.id, stage.id, segment)
        for stage in journey_map.stages
        for touchpoint in stage.touchpoints
        for segment in segments
    ]
    emotions: list[StageEmotion] = []
    if details:
        emotions = emotions_of(journey_map, segments, clean, clean_group, within, fail_after)
    return _Judged(verdicts=verdicts, off_map=_off_map_verdicts(window, visits), emotions=emotions)


def _segments(journey_map: JourneyMap, observations: pd.DataFrame) -> list[str]:
    if journey_map.segments:
        return list(journey_map.segments)
    seen = sorted(str(s) for s in observations["segment"].dropna().unique()) if len(observations) else []
    return seen or ["default"]


def analyse(
    journey_map: JourneyMap,
    observations: pd.DataFrame,
    *,
    previous: pd.DataFrame | Callable[[], pd.DataFrame | None] | None = None,
    run_order: list[str] | None = None,
    messages: list[MessageReceived] | None = None,
    runner: list[RunnerHealth] | None = None,
    vitals: list[VisitVitals] | None = None,
    accessibility: list[AccessibilityChecked] | None = None,
) -> GapAnalysis:
    """Judge the window's observations against the map; `previous` is the window before it, for trends.

    `previous` may be a function returning it, called once this window is judged. `run_order` names
    the window's runs oldest first (the trend's x axis); by default, as they appear. `messages` is
    the window's inbox audit; `runner` how busy its runner was (harness.analysis.runner_rule): slow
    verdicts of busy runs are held back. `vitals` are the window's page visits' web vitals
    (harness.analysis.vitals); `accessibility` what axe found on page visits, of either window.
    """
    segments, busy = _segments(journey_map, observations), busy_runs(runner or [])
    unbound = int(observations["touchpoint"].isna().sum()) if len(observations) else 0
    judged = _judge_window(journey_map, segments, observations, run_order, busy=busy)
    found = judge_window(journey_map, accessibility, observations)
    alone = apply_to_verdicts(judged.verdicts, found)
    inbox = inbox_audit(journey_map, messages or [])
    page_vitals = summarise(journey_map, vitals or [])
    judge_vitals(judged.verdicts, page_vitals)
    analysis = GapAnalysis(
        journey_map=journey_map,
        segments=segments,
        verdicts=judged.verdicts,
        off_map=judged.off_map,
        actions=rank(judged.verdicts, [*inbox_actions(inbox), *operator_actions(judged.verdicts)]),
        inbox=inbox,
        runner=list(runner or []),
        unbound_steps=unbound,
        emotions=judged.emotions,
        first_value=first_value(journey_map, segments, observations),
        vitals=page_vitals,
        accessibility=found,
    )
    reword_actions(analysis.actions, found, alone)

    def again(part: pd.DataFrame) -> list[Verdict]:  # a location's runs, judged as the window's
        return _judge_window(journey_map, segments, part, None, details=False, busy=busy).verdicts

    analysis.locations = compare_locations(observations, judged.verdicts, again)
    previous = previous() if callable(previous) else previous
    if previous is not None and len(previous):
        before = _judge_window(journey_map, segments, previous, None, details=False)
        apply_to_verdicts(before.verdicts, judge_window(journey_map, accessibility, previous))
        analysis.previous_runs = int(previous["run_id"].nunique())
        analysis.movements = movements(judged.verdicts, before.verdicts)
    return analysis
