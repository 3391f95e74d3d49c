"""Visits: step observations grouped into what a customer experiences at a touchpoint, and their figures.

A *visit* is the consecutive steps of one scenario attempt spent at one touchpoint. Its duration
is the time the touchpoint took to answer: the sum of its timed steps (page loads, form replies,
emails arriving; not the customer typing or checking), or of all its steps when none is timed.
It failed when a step failed; it *errored* when a step could not run at all (the harness's
problem, not the touchpoint's).

Everything here is numpy over integer codes: a window can hold millions of observations, and
grouping Python strings row by row is what makes that slow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from harness.observation import CONTENT_MISS

FAILED = ("failed", "error")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def codes(column: pd.Series, *, names: bool = True) -> tuple[IntArray, list[str]]:
    """Integer codes (-1 for missing) and the values they stand for, in order of first appearance.

    `names=False` skips building the list of values where only the codes matter (scenario ids).
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        values = column.cat.categories.to_numpy(dtype=object).tolist() if names else []
        return column.cat.codes.to_numpy().astype(np.int64), [str(value) for value in values]
    if not names and pd.api.types.is_integer_dtype(column.dtype) and len(column):
        # Already codes (the store's frame numbers scenarios 0..n-1): coding them again costs a hash
        # table per window, and the order of appearance is not needed where only codes matter.
        found = column.to_numpy(dtype=np.int64)
        if found.min() >= 0 and found.max() <= len(found):
            return found, []
    found, uniques = pd.factorize(column, use_na_sentinel=True)
    return found.astype(np.int64), [str(value) for value in uniques] if names else []


def present(column: pd.Series) -> set[str]:
    """The values that occur in a column; counted on a categorical's codes, not as a million strings."""
    found, names = codes(column)
    found = found[found >= 0]
    return {names[number] for number in np.flatnonzero(np.bincount(found, minlength=len(names)))}


@dataclass
class Visits:
    """One row per executed visit, as parallel arrays; codes index the lists of names."""

    run_ids: list[str]
    touchpoints: list[str]
    segments: list[str]
    stages: list[str]
    run: IntArray
    node: IntArray
    attempt: IntArray
    touchpoint: IntArray
    segment: IntArray
    stage: IntArray
    duration_ms: FloatArray
    failed: BoolArray
    errored: BoolArray
    failure_row: IntArray  # row of the observations frame holding the visit's failing step, or -1
    nodes: int
    # The visit's email is still awaited (see harness.mail.pending): neither a success nor a failure yet.
    pending: BoolArray
    # It failed at a text check on a page that loaded (observation.CONTENT_MISS), not at the page.
    content_miss: BoolArray

    def __len__(self) -> int:
        return len(self.run)

    def select(self, mask: BoolArray) -> Visits:
        arrays = {
            name: getattr(self, name)[mask]
            for name in (
                "run",
                "node",
                "attempt",
                "touchpoint",
                "segment",
                "stage",
                "duration_ms",
                "failed",
                "errored",
                "failure_row",
                "pending",
                "content_miss",
            )
        }
        return Visits(
            run_ids=self.run_ids,
            touchpoints=self.touchpoints,
            segments=self.segments,
            stages=self.stages,
            nodes=self.nodes,
            **arrays,
        )


def _no_visits(run_ids: list[str], touchpoints: list[str], segments: list[str], stages: list[str]) -> Visits:
    """The visits of a window where no step was bound to a touchpoint."""
    empty = np.zeros(0, dtype=np.int64)
    return Visits(
        run_ids,
        touchpoints,
        segments,
        stages,
        empty,
        empty,
        empty,
        empty,
        empty,
        empty,
        np.zeros(0),
        np.zeros(0, dtype=bool),
        np.zeros(0, dtype=bool),
        empty,
        0,
        np.zeros(0, dtype=bool),
        np.zeros(0, dtype=bool),
    )


def _visit_order(run: IntArray, node: IntArray, attempt: IntArray, seq: IntArray) -> IntArray:
    """The order of (run, scenario, attempt, seq): one argsort of a packed key where it fits in 63
    bits, which is two to three times as fast as lexsort's four passes at a million rows."""
    if not len(run):
        return np.zeros(0, dtype=np.int64)
    spans = [int(values.max()) + 1 for values in (node, attempt, seq)]
    negative = min(int(values.min()) for values in (run, node, attempt, seq)) < 0
    if negative or (int(run.max()) + 1) * math.prod(spans) >= 2**62:
        return np.lexsort((seq, attempt, node, run))
    key = ((run * spans[0] + node) * spans[1] + attempt) * spans[2] + seq
    return np.argsort(key, kind="stable")


def _visit_rows(
    run: IntArray, node: IntArray, attempt: IntArray, seq: IntArray, touchpoint: IntArray
) -> tuple[IntArray, IntArray]:
    """The bound steps' rows in visit order, and where in them each visit starts."""
    rows = np.flatnonzero(touchpoint >= 0)  # a step bound to no touchpoint is no visit
    rows = rows[_visit_order(run[rows], node[rows], attempt[rows], seq[rows])]
    keys = (run[rows], node[rows], attempt[rows], touchpoint[rows])
    starts = np.ones(len(rows), dtype=bool)
    if len(rows) > 1:
        starts[1:] = np.any([key[1:] != key[:-1] for key in keys], axis=0)
    return rows, np.flatnonzero(starts)


def group_visits(observations: pd.DataFrame) -> Visits:
    """Group step observations into visits: consecutive steps of one attempt at one touchpoint."""
    run, run_ids = codes(observations["run_id"])
    node, _ = codes(observations["node_id"], names=False)
    touchpoint, touchpoints = codes(observations["touchpoint"])
    segment, segments = codes(observations["segment"])
    stage, stages = codes(observations["stage"])
    attempt = observations["attempt"].to_numpy(dtype=np.int64)
    seq = observations["seq"].to_numpy(dtype=np.int64)
    outcome = observations["outcome"]
    failed = outcome.isin(FAILED).to_numpy(dtype=bool)
    errored = (outcome == "error").to_numpy(dtype=bool)
    waiting = (outcome == "pending").to_numpy(dtype=bool)
    executed = (outcome != "skipped").to_numpy(dtype=bool)
    duration = observations["duration_ms"].to_numpy(dtype=np.float64)
    timed = observations["timed"].to_numpy(dtype=bool)
    content = np.zeros(len(outcome), dtype=bool)
    if "failure" in observations.columns:  # a frame from before content misses were told apart has none
        content = (observations["failure"] == CONTENT_MISS).to_numpy(dtype=bool) & failed

    rows, first = _visit_rows(run, node, attempt, seq, touchpoint)
    if len(rows) == 0:
        return _no_visits(run_ids, touchpoints, segments, stages)
    d, t = duration[rows], timed[rows]
    total = np.add.reduceat(d, first)
    timed_total = np.add.reduceat(d * t, first)
    any_timed = np.logical_or.reduceat(t, first)
    failing_row = np.where(failed[rows], rows, -1)
    failure_row = np.maximum.reduceat(failing_row, first)
    start_rows = rows[first]
    keep = np.logical_or.reduceat(executed[rows], first)
    return Visits(
        run_ids=run_ids,
        touchpoints=touchpoints,
        segments=segments,
        stages=stages,
        run=run[start_rows][keep],
        node=node[start_rows][keep],
        attempt=attempt[start_rows][keep],
        touchpoint=touchpoint[start_rows][keep],
        segment=segment[start_rows][keep],
        stage=stage[start_rows][keep],
        duration_ms=np.where(any_timed, timed_total, total)[keep],
        failed=np.logical_or.reduceat(failed[rows], first)[keep],
        errored=np.logical_or.reduceat(errored[rows], first)[keep],
        # The failing step of a visit (the last one, if several) is its evidence.
        failure_row=failure_row[keep],
        nodes=int(node.max()) + 1 if len(node) else 0,
        pending=np.logical_or.reduceat(waiting[rows], first)[keep],
        content_miss=np.where(failure_row >= 0, content[failure_row], False)[keep],
    )


@dataclass
class Figures:
    """Per group (touchpoint × segment code), the figures of the gap analysis, as arrays."""

    n: IntArray
    runs: IntArray
    success_rate: FloatArray  # final attempt of each scenario run; NaN when no visit
    first_attempt_success_rate: FloatArray
    p50_ms: FloatArray
    p95_ms: FloatArray
    max_ms: FloatArray
    flaky: IntArray  # scenario runs that failed first and passed on a retry
    runs_affected: IntArray  # runs with a failed, slow or overlong visit
    beyond_fail_after: IntArray
    last_failure: IntArray  # failure_row of the group's latest failed visit, or -1
    journeys: IntArray  # scenario runs that reached the group: the customers the success rate is of


def _starts(keys: IntArray) -> IntArray:
    """Where each run of equal values begins in a sorted array."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))


def _distinct_count(group: IntArray, other: IntArray, groups: int) -> IntArray:
    width = int(other.max()) + 1 if len(other) else 1
    pairs = np.unique(group * width + other)
    return np.bincount(pairs // width, minlength=groups).astype(np.int64)


def quantiles(values: FloatArray, group: IntArray, groups: int) -> tuple[FloatArray, FloatArray]:
    """p50 and p95 per group (linear interpolation, as pandas' quantile), NaN for an empty group."""
    p50, p95 = np.full(groups, np.nan), np.full(groups, np.nan)
    if len(values) == 0:
        return p50, p95
    # One argsort of a composite key (group, then value) is twice as fast as a lexsort of the two, and
    # numpy's default sort four times as fast as its stable one: equal keys are values of one group
    # that differ by less than the key's rounding (a ten-millionth of a millisecond at thousands of
    # groups), so which of them comes first cannot change a quantile that is reported.
    low, span = float(values.min()), float(values.max() - values.min()) + 1.0
    order = np.argsort(group * span + (values - low))
    sorted_values, sorted_groups = values[order], group[order]
    counts = np.bincount(sorted_groups, minlength=groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    present = np.flatnonzero(counts)
    for q, out in ((0.5, p50), (0.95, p95)):
        position = (counts[present] - 1) * q
        low = np.floor(position).astype(np.int64)
        high = np.ceil(position).astype(np.int64)
        below = sorted_values[starts[present] + low]
        above = sorted_values[starts[present] + high]
        out[present] = below + (above - below) * (position - low)
    return p50, p95


def figures(
    visits: Visits, group: IntArray, groups: int, within: FloatArray, fail_after: FloatArray
) -> Figures:
    """The figures of every group at once; `within`/`fail_after` are per group (NaN: no target)."""
    duration, failed = visits.duration_ms, visits.failed
    n = np.bincount(group, minlength=groups).astype(np.int64)
    runs = _distinct_count(group, visits.run, groups)

    # One try = one attempt of one scenario run at this touchpoint; it failed if any visit failed.
    scenario = (group * max(len(visits.run_ids), 1) + visits.run) * max(visits.nodes, 1) + visits.node
    attempts = int(visits.attempt.max()) + 1 if len(visits) else 1
    # Sorted by (scenario run, attempt), runs of equal keys are tries and runs of equal scenario are a
    # scenario's attempts in order: reductions over the sorted arrays, where pandas' groupbys cost
    # most of this function at a million rows. Any sort does (the default is the fastest): the
    # reductions over a run of equal keys do not depend on its order.
    order = np.argsort(scenario * attempts + visits.attempt)
    try_key = (scenario * attempts + visits.attempt)[order]
    try_starts = _starts(try_key)
    tried_failed = (
        np.logical_or.reduceat(failed[order], try_starts) if len(order) else np.zeros(0, dtype=bool)
    )
    try_scenario = try_key[try_starts] // attempts
    scenario_starts = _starts(try_scenario)
    # (cut to the starts' length: with no tries at all there is no end either)
    scenario_ends = np.concatenate((scenario_starts[1:], [len(try_scenario)]))[: len(scenario_starts)] - 1
    first_failed, final_failed = tried_failed[scenario_starts], tried_failed[scenario_ends]
    scenario_group = try_scenario[scenario_starts] // (max(len(visits.run_ids), 1) * max(visits.nodes, 1))
    journeys = np.bincount(scenario_group, minlength=groups).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0: a group nobody reached is NaN
        first_rate = 1.0 - np.bincount(scenario_group, weights=first_failed, minlength=groups) / journeys
        final_rate = 1.0 - np.bincount(scenario_group, weights=final_failed, minlength=groups) / journeys
    flaky = np.bincount(scenario_group[first_failed & ~final_failed], minlength=groups).astype(np.int64)

    # Response times are those of visits that succeeded; a touchpoint that never did is timed as it failed.
    passed = ~failed
    p50, p95 = quantiles(duration[passed], group[passed], groups)
    never_passed = np.isin(group, np.flatnonzero(np.bincount(group[passed], minlength=groups) == 0))
    if never_passed.any():
        q50, q95 = quantiles(duration[never_passed], group[never_passed], groups)
        p50, p95 = np.where(np.isnan(p50), q50, p50), np.where(np.isnan(p95), q95, p95)
    max_ms = np.full(groups, np.nan)
    np.fmax.at(max_ms, group, duration)

    with np.errstate(invalid="ignore"):
        overlong = duration > fail_after[group]  # NaN target compares False
        slow = duration > within[group]
    affected = failed | overlong | slow
    # Visits are in run order (first appearance in the store: time order), so the latest is the highest.
    latest = np.full(groups, -1, dtype=np.int64)
    failed_at = np.flatnonzero(failed)
    np.maximum.at(latest, group[failed_at], failed_at)
    last_failure = (
        np.where(latest >= 0, visits.failure_row[np.maximum(latest, 0)], -1) if len(visits) else latest
    )
    return Figures(
        n=n,
        runs=runs,
        success_rate=final_rate,
        first_attempt_success_rate=first_rate,
        p50_ms=p50,
        p95_ms=p95,
        max_ms=max_ms,
        flaky=flaky,
        runs_affected=_distinct_count(group[affected], visits.run[affected], groups),
        beyond_fail_after=np.bincount(group[overlong], minlength=groups).astype(np.int64),
        last_failure=last_failure,
        journeys=journeys,
    )
