"""The gap analysis's derived figures: emotion, trend, movements, time to first value.

Observations go through a real SQLite store and come back through both of its read paths; the
browser is not what these tests are about (tests/test_gaps.py reaches every status with one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis.emotion import StageEmotion
from harness.analysis.gaps import GapAnalysis, analyse
from harness.analysis.visits import quantiles
from harness.map.journey_map import JourneyMap
from harness.map.loading import load_map_text
from harness.observation import CONTENT_MISS, Observation, Run, RunStarted, StepObserved
from harness.report.gap_report import report_json
from harness.report.window import Window
from harness.store.sqlite import open_store

MAP = """\
journey: Analysis check
version: v1
segments: [self-serve, enterprise]
first_value_within: 3s
stages:
  - id: discover
    name: Discover
    touchpoints:
      - {id: home, channel: web, url: /, expect: {within: 1s, fail_after: 5s, emotion: 1}}
      - {id: pricing, channel: web, url: /pricing, moment_of_truth: true,
         expect: {within: 1s, fail_after: 5s, emotion: 2}}
  - id: signup
    name: Sign up
    touchpoints:
      - {id: signup-form, channel: form, url: /signup, milestone: first-value,
         expect: {within: 2s, fail_after: 5s, emotion: 0}}
      - {id: welcome-email, channel: email, expect: {within: 1m}}
"""

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class Journeys:
    """Writes observations the way the recorder does: one event at a time into a real store."""

    path: Path
    seq: int = 0

    def run(self, run_id: str, minute: int, segment: str = "self-serve") -> str:
        store = open_store(self.path)
        store.handle(RunStarted(Run(run_id, T0 + dt.timedelta(minutes=minute), "finished", segment=segment)))
        store.close()
        return run_id

    def step(
        self,
        run_id: str,
        node: str,
        touchpoint: str | None,
        duration_ms: float,
        outcome: str = "passed",
        *,
        stage: str = "discover",
        attempt: int = 1,
        timed: bool = True,
        segment: str = "self-serve",
        error: str = "",
        failure: str = "",
    ) -> None:
        self.seq += 1
        store = open_store(self.path)
        store.handle(
            StepObserved(
                Observation(
                    run_id=run_id,
                    feature="journey.feature",
                    scenario=node,
                    node_id=node,
                    segment=segment,
                    stage=stage,
                    touchpoint=touchpoint,
                    step=f"Given step {self.seq}",
                    started_at=T0 + dt.timedelta(seconds=self.seq),
                    duration_ms=duration_ms,
                    outcome=outcome,
                    attempt=attempt,
                    seq=self.seq,
                    error=error or ("it broke" if outcome in ("failed", "error") else ""),
                    timed=timed,
                    failure=failure,
                )
            )
        )
        store.close()

    def analyse(self, journey_map: JourneyMap, previous: list[str] | None = None) -> GapAnalysis:
        store = open_store(self.path)
        try:
            runs = [run.run_id for run in store.runs()]
            window = [run for run in runs if run not in (previous or [])]
            fast = analyse(
                journey_map,
                store.analysis_frame(window),
                previous=store.analysis_frame(previous) if previous else None,
                run_order=window,
            )
            plain = analyse(
                journey_map,
                store.observations(window),
                previous=store.observations(previous) if previous else None,
                run_order=window,
            )
        finally:
            store.close()
        # The store's fast read (Arrow, categorical) must judge exactly as the plain one does.
        assert report_json(fast, Window(runs=[])) == report_json(plain, Window(runs=[]))
        return fast


@pytest.fixture
def journeys(tmp_path: Path) -> Journeys:
    return Journeys(tmp_path / "store.db")


@pytest.fixture
def journey_map() -> JourneyMap:
    return load_map_text(MAP)


def test_experienced_emotion_follows_the_stated_rule(journeys: Journeys, journey_map: JourneyMap) -> None:
    run = journeys.run("r1", 0)
    journeys.step(run, "a", "home", 400)  # within half the 1s target: +2
    journeys.step(run, "a", "pricing", 900)  # within it: +1
    journeys.step(run, "b", "pricing", 1500)  # up to twice the target: 0
    journeys.step(run, "c", "home", 2500)  # beyond twice: -1
    journeys.step(run, "d", "home", 300, "failed")  # failed: -2
    journeys.step(run, "e", "signup-form", 900, stage="signup")  # within half of 2s: +2
    emotions = {(e.stage_id, e.segment): e for e in journeys.analyse(journey_map).emotions}
    discover = emotions[("discover", "self-serve")]
    assert (discover.experienced, discover.visits, discover.expected) == (0.0, 5, 1.5)
    signup = emotions[("signup", "self-serve")]
    assert (signup.experienced, signup.expected) == (2.0, 0.0)
    assert emotions[("discover", "enterprise")].experienced is None
    assert emotions[("discover", "enterprise")].visits == 0


def test_a_content_miss_scores_milder_than_a_broken_page(journeys: Journeys, journey_map: JourneyMap) -> None:
    run = journeys.run("r1", 0)
    # The home page loaded (400 ms, +2 had it said what it should) but lacked a text: a content miss.
    journeys.step(run, "a", "home", 400)
    journeys.step(run, "a", "home", 1000, "failed", timed=False, failure=CONTENT_MISS)
    # The sign-up form answered HTTP 500: a broken page.
    journeys.step(run, "b", "signup-form", 300, "failed", stage="signup")
    emotions = {(e.stage_id, e.segment): e for e in journeys.analyse(journey_map).emotions}
    discover, signup = emotions[("discover", "self-serve")], emotions[("signup", "self-serve")]
    assert (discover.experienced, signup.experienced) == (-1.0, -2.0)
    # A content miss past fail_after is a broken page all the same: the customer waited too long.
    journeys.step(journeys.run("r2", 1), "c", "home", 6000, "failed", failure=CONTENT_MISS)
    assert emotions_after(journeys, journey_map)[("discover", "self-serve")].experienced == -1.5


def emotions_after(journeys: Journeys, journey_map: JourneyMap) -> dict[tuple[str, str], StageEmotion]:
    return {(e.stage_id, e.segment): e for e in journeys.analyse(journey_map).emotions}


def test_a_stage_scored_from_some_of_its_touchpoints_is_partly_measured(
    journeys: Journeys, journey_map: JourneyMap
) -> None:
    run = journeys.run("r1", 0)
    journeys.step(run, "a", "home", 400)
    journeys.step(run, "a", "/elsewhere", 400)  # an off-map page is no touchpoint of the stage
    journeys.step(run, "b", "signup-form", 900, stage="signup")
    journeys.step(run, "b", "welcome-email", 9000, stage="signup")
    emotions = emotions_after(journeys, journey_map)
    discover, signup = emotions[("discover", "self-serve")], emotions[("signup", "self-serve")]
    assert (discover.measured, discover.touchpoints, discover.partly_measured) == (1, 2, True)
    assert (signup.measured, signup.touchpoints, signup.partly_measured) == (2, 2, False)
    unvisited = emotions[("discover", "enterprise")]  # no visit: not scored, so not partly measured
    assert (unvisited.measured, unvisited.partly_measured) == (0, False)


def test_trend_has_a_point_per_run_that_visited_oldest_first(
    journeys: Journeys, journey_map: JourneyMap
) -> None:
    journeys.step(journeys.run("r1", 0), "a", "home", 100)
    r2 = journeys.run("r2", 1)
    journeys.step(r2, "a", "home", 300)
    journeys.step(r2, "b", "home", 500)
    journeys.step(journeys.run("r3", 2), "a", "home", 700, "failed")
    journeys.run("r4", 3)  # played, never reached the home page
    verdict = journeys.analyse(journey_map).verdict("home", "self-serve")
    assert verdict is not None
    points = [(p.run_id, p.visits, p.failed, p.p50_ms) for p in verdict.trend]
    assert points == [("r1", 1, 0, 100.0), ("r2", 2, 0, 400.0), ("r3", 1, 1, None)]
    assert verdict.trend[1].p95_ms == pytest.approx(490.0)


def test_movements_name_what_got_worse_and_better(journeys: Journeys, journey_map: JourneyMap) -> None:
    before = [journeys.run(f"old{n}", n) for n in range(3)]
    for run in before:
        journeys.step(run, "a", "pricing", 200)
        journeys.step(run, "a", "home", 3000)
        journeys.step(run, "b", "signup-form", 100, stage="signup")
    for n in range(3):
        run = journeys.run(f"new{n}", 10 + n)
        journeys.step(run, "a", "pricing", 1500)
        journeys.step(run, "a", "home", 200)
        journeys.step(run, "b", "signup-form", 900, stage="signup")
    analysis = journeys.analyse(journey_map, previous=before)
    assert analysis.previous_runs == 3
    moved = [(m.touchpoint_id, m.direction, m.before_status, m.after_status) for m in analysis.movements]
    assert moved == [
        ("pricing", "worse", "met", "slow"),
        ("signup-form", "worse", "met", "met"),
        ("home", "better", "slow", "met"),
    ]
    reasons = {m.touchpoint_id: m.reason for m in analysis.movements}
    assert reasons["pricing"].startswith("met → slow: p95 1.5s")
    assert reasons["signup-form"] == "p95 100ms → 900ms"


def test_nothing_moves_without_a_previous_window(journeys: Journeys, journey_map: JourneyMap) -> None:
    journeys.step(journeys.run("r1", 0), "a", "home", 100)
    analysis = journeys.analyse(journey_map)
    assert analysis.previous_runs == 0 and analysis.movements == []


def test_time_to_first_value_sums_the_steps_up_to_the_milestone(
    journeys: Journeys, journey_map: JourneyMap
) -> None:
    r1 = journeys.run("r1", 0)
    journeys.step(r1, "discover", "home", 500)
    journeys.step(r1, "discover", "pricing", 700)
    journeys.step(r1, "discover", "pricing", 0, "skipped")
    journeys.step(r1, "signup", "signup-form", 300, stage="signup", timed=False)  # the customer typing
    journeys.step(r1, "signup", "signup-form", 400, stage="signup")
    journeys.step(r1, "signup", "welcome-email", 9000, stage="signup")  # after the milestone: not counted
    r2 = journeys.run("r2", 1)
    journeys.step(r2, "discover", "home", 1000)
    journeys.step(r2, "signup", "signup-form", 4000, "failed", stage="signup")
    journeys.step(r2, "signup", "signup-form", 2500, stage="signup", attempt=2)  # only the final attempt
    r3 = journeys.run("r3", 2)
    journeys.step(r3, "discover", "home", 200)
    journeys.step(r3, "signup", "signup-form", 100, "failed", stage="signup")
    first = {f.segment: f for f in journeys.analyse(journey_map).first_value}
    mine = first["self-serve"]
    assert (mine.runs, mine.reached) == (3, 2)
    assert mine.p50_ms == pytest.approx((1900 + 3500) / 2)
    assert mine.expected_ms == 3000 and "quickest successful scenario" in mine.expected_rule
    assert mine.status == "failing"  # reached in 2 of 3 runs; the milestone promises 95%
    assert first["enterprise"].status == "untested" and first["enterprise"].runs == 0


def test_time_to_first_value_takes_the_quickest_way_through_each_earlier_stage(journeys: Journeys) -> None:
    journey_map = load_map_text(MAP.replace("first_value_within: 3s\n", ""))
    r1 = journeys.run("r1", 0)
    journeys.step(r1, "slow-discover", "home", 3000)
    journeys.step(r1, "quick-discover", "pricing", 800)
    journeys.step(r1, "broken-discover", "pricing", 10, "failed")  # never a way through
    journeys.step(r1, "signup", "signup-form", 2000, stage="signup")
    r2 = journeys.run("r2", 1)
    journeys.step(r2, "broken-discover", "home", 10, "failed")  # no way through discover at all
    journeys.step(r2, "signup", "signup-form", 2000, stage="signup")
    mine = journeys.analyse(journey_map).first_value[0]
    assert (mine.runs, mine.reached, mine.p50_ms) == (2, 1, 2800.0)
    # The map promises no time: judged on reaching the milestone alone.
    assert mine.expected_ms is None and mine.status == "failing"


def test_a_map_without_a_milestone_has_no_first_value(journeys: Journeys) -> None:
    journey_map = load_map_text(
        MAP.replace("first_value_within: 3s\n", "").replace(" milestone: first-value,", "")
    )
    journeys.step(journeys.run("r1", 0), "a", "home", 100)
    assert journeys.analyse(journey_map).first_value == []


def test_errors_off_map_and_unbound_steps_survive_the_fast_read(
    journeys: Journeys, journey_map: JourneyMap
) -> None:
    run = journeys.run("r1", 0)
    journeys.step(run, "a", "home", 100)
    journeys.step(run, "a", None, 50)  # bound to no touchpoint
    journeys.step(run, "b", "/elsewhere", 80, "failed", error="<b>gone</b>")
    journeys.step(run, "c", "pricing", 10, "error", error="no mailbox configured")
    analysis = journeys.analyse(journey_map)  # asserts both read paths agree
    assert analysis.unbound_steps == 1
    assert [(v.touchpoint_id, v.status, v.error) for v in analysis.off_map] == [
        ("/elsewhere", "off-map", "<b>gone</b>")
    ]
    pricing = analysis.verdict("pricing", "self-serve")
    assert pricing is not None and pricing.status == "untested"
    assert pricing.harness_error == "no mailbox configured"


def test_quantiles_match_pandas() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(5, 1, 5000)
    groups = rng.integers(0, 40, 5000)
    groups[groups == 7] = 8  # an empty group in the middle
    p50, p95 = quantiles(values, groups, 41)
    expected = pd.Series(values).groupby(groups).quantile([0.5, 0.95]).unstack()
    assert np.allclose(p50[expected.index], expected[0.5])
    assert np.allclose(p95[expected.index], expected[0.95])
    assert np.isnan(p50[7]) and np.isnan(p95[40])


def test_a_window_without_failures_or_observations_is_judged(
    journeys: Journeys, journey_map: JourneyMap
) -> None:
    journeys.run("r0", 0)
    assert journeys.analyse(journey_map).status_counts()["untested"] == 8
    journeys.step(journeys.run("r1", 1), "a", "home", 100)
    verdict = journeys.analyse(journey_map).verdict("home", "self-serve")
    assert verdict is not None and verdict.status == "met" and verdict.error == ""
