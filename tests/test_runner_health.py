"""A runner too busy to measure fairly: measured per run, its slow verdicts held back, the operator told.

The rule is tested on a real SQLite store written through the store's own events; the
measurement itself with real Chromium, a real control page on loopback and real CPU burners.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from journeys import html_site, serve, shopper_run, write_features
from markupsafe import escape
from playwright.sync_api import sync_playwright

from harness.analysis.gaps import analyse
from harness.analysis.runner_rule import OPERATOR, OPERATOR_ACTION, RUNNER_RULE, judge_runner, runner_health
from harness.cli import main
from harness.map.loading import load_map
from harness.observation import Observation, Run, RunnerSampled, RunStarted, StepObserved
from harness.ops.alert_config import AlertConfig
from harness.ops.alert_delivery import RUNNER
from harness.ops.alerts import Alerter
from harness.record.browser import launch_options
from harness.record.runner_health import RunnerProbe, RunnerSample, cores
from harness.report.gap_report import build_report
from harness.store import mail as mail_store
from harness.store.schema import SCHEMA
from harness.store.sqlite import open_store

MAP = """\
journey: Runner check
version: v1
segments: [self-serve]
stages:
  - id: browse
    name: Browse
    touchpoints:
      - {id: signup-page, name: Signup page, channel: form, owner: Product, url: /signup,
         expect: {within: 1s, fail_after: 10s}}
      - {id: pricing-page, name: Pricing page, channel: web, owner: Marketing, url: /pricing,
         expect: {within: 1s, fail_after: 10s}}
      - {id: contact-form, name: Contact form, channel: form, owner: Support, url: /support,
         expect: {within: 1s, fail_after: 10s}}
      - {id: checkout, name: Checkout, channel: web, owner: Payments, url: /checkout,
         expect: {within: 1s, fail_after: 2s}}
      - {id: broken-page, name: Broken page, channel: web, owner: Platform, url: /broken,
         expect: {within: 1s, fail_after: 10s}}
      - {id: home-page, name: Home page, channel: web, owner: Web, url: /,
         expect: {within: 1s, fail_after: 10s}}
"""

T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
QUIET, BUSY = "20261130T090000Z-quiet0", "20261130T091000Z-busy00"

# (touchpoint, quiet run's visit, busy run's visit): ms, or an outcome; None: not visited.
VISITS: list[tuple[str, Any, Any]] = [
    ("signup-page", 600.0, 1300.0),  # slow only with the busy run's visit: held back
    ("pricing-page", 1500.0, 1500.0),  # slow in the quiet run too: the owner's gap
    ("contact-form", None, 1400.0),  # only the busy run visited it: nothing measured it fairly
    ("checkout", None, 2500.0),  # beyond fail_after on a busy runner: a failure is never held back
    ("broken-page", None, "failed"),  # a failed visit: never held back either
    ("home-page", 200.0, 300.0),  # met anyway
]


def _observation(run_id: str, seq: int, touchpoint: str, visit: Any) -> Observation:
    failed = visit == "failed"
    return Observation(
        run_id=run_id,
        feature="browse.feature",
        scenario=f"The {touchpoint}",
        node_id=f"features/test_journey.py::test_{touchpoint}",
        segment="self-serve",
        stage="browse",
        touchpoint=touchpoint,
        step=f"Given I open the {touchpoint}",
        started_at=T0 + dt.timedelta(seconds=seq),
        duration_ms=80.0 if failed else float(visit),
        outcome="failed" if failed else "passed",
        seq=seq,
        error="HTTP 500" if failed else "",
    )


def _sample(run_id: str, control_ms: list[float], run_queue: float) -> RunnerSampled:
    return RunnerSampled(
        run_id=run_id,
        node_id="features/test_journey.py::test_signup-page",
        attempt=1,
        sampled_at=T0,
        control_ms=control_ms,
        run_queue=run_queue,
        load_per_core=run_queue,
        steal=0.0,
        sleep_lag_ms=0.1,
    )


@pytest.fixture
def synthetic(tmp_path: Path) -> tuple[Path, Path]:
    """A store with a quiet run and a busy one, written through the store's own events."""
    map_path = tmp_path / "map.yaml"
    map_path.write_text(MAP)
    store_path = tmp_path / "obs.db"
    store = open_store(store_path)
    try:
        for number, run_id in enumerate((QUIET, BUSY)):
            run = Run(run_id=run_id, started_at=T0 + dt.timedelta(minutes=10 * number), segment="self-serve")
            run.map_path, run.journey, run.state = str(map_path), "Runner check", "finished"
            store.handle(RunStarted(run))
            for seq, (touchpoint, *visits) in enumerate(VISITS, start=1):
                if visits[number] is not None:
                    store.handle(StepObserved(_observation(run_id, seq, touchpoint, visits[number])))
        store.handle(_sample(QUIET, [21.0, 24.0, 19.0], 0.0))
        store.handle(_sample(BUSY, [420.0, 380.0, 450.0], 1.5))
    finally:
        store.close()
    return map_path, store_path


def _statuses(document: dict[str, Any]) -> dict[str, str]:
    return {
        tp["id"]: tp["segments"]["self-serve"]["status"]
        for stage in document["stages"]
        for tp in stage["touchpoints"]
    }


def test_slow_verdicts_of_a_busy_run_are_held_back_for_the_operator(
    synthetic: tuple[Path, Path], tmp_path: Path
) -> None:
    map_path, store_path = synthetic
    built = build_report(store_url=str(store_path), map_path=map_path, out_dir=tmp_path / "out", last=2)
    document = json.loads(built.json_path.read_text())
    assert _statuses(document) == {
        "signup-page": "runner-busy",
        "pricing-page": "slow",
        "contact-form": "runner-busy",
        "checkout": "failing",
        "broken-page": "failing",
        "home-page": "met",
    }
    runner = {health["run_id"]: health for health in document["runner"]}
    assert runner[QUIET]["busy"] is False and runner[QUIET]["control_ms"] == 21.0
    assert runner[BUSY]["busy"] is True and runner[BUSY]["control_ms"] == 420.0
    reason = runner[BUSY]["reason"]
    assert "control page median 420 ms" in reason and "1.5 other runnable" in reason
    assert document["runner_rule"] == RUNNER_RULE
    signup = document["stages"][0]["touchpoints"][0]["segments"]["self-serve"]
    assert "too busy to measure fairly" in signup["gap"] and "measured fairly met it" in signup["gap"]

    actions = document["actions"]
    charged = {(a["touchpoint_id"], a["owner"]) for a in actions if a["owner"] != OPERATOR}
    assert charged == {("pricing-page", "Marketing"), ("checkout", "Payments"), ("broken-page", "Platform")}
    (operator,) = [a for a in actions if a["owner"] == OPERATOR]
    assert operator["status"] == "runner-busy" and operator["what_to_fix"].startswith(OPERATOR_ACTION)
    assert "Signup page (self-serve)" in operator["what_to_fix"] and "Contact form" in operator["what_to_fix"]
    assert "held back as runner-busy" in built.summary


def test_the_runner_rule_reads_each_bound() -> None:
    quiet = judge_runner("r", [_sample("r", [30.0, 40.0, 35.0], 0.5)])
    assert not quiet.busy and quiet.reason == ""
    queued = judge_runner("r", [_sample("r", [30.0, 40.0, 35.0], 1.0)])
    assert queued.busy and "1 other runnable task(s) per core" in queued.reason
    stolen = _sample("r", [30.0], 0.0)
    stolen.steal = 0.25
    assert judge_runner("r", [stolen]).busy
    slow_control = judge_runner("r", [_sample("r", [151.0, 160.0, 20.0], 0.0)])
    assert slow_control.busy and "control page median 151 ms" in slow_control.reason
    # A run without a sample (an older harness, no browser step) is not in the list, so never busy.
    assert [h.run_id for h in runner_health([stolen], ["old", "r"])] == ["r"]


def test_the_report_shows_the_runner_busy_status_and_the_rule_escaped(
    synthetic: tuple[Path, Path], tmp_path: Path
) -> None:
    map_path, store_path = synthetic
    built = build_report(store_url=str(store_path), map_path=map_path, out_dir=tmp_path / "out", last=2)
    html = built.html_path.read_text()
    section = html[html.index('<section id="runner">') : html.index("</section>", html.index('id="runner"'))]
    assert str(escape(RUNNER_RULE)) in section and "harness&#39;s operator" in section
    assert RUNNER_RULE not in section  # its apostrophes went through autoescaping
    assert '<div class="card runner-busy"' in html and '<span class="status runner-busy">' in html
    assert f"<td>{BUSY}</td><td>420ms</td>" in section and "measured fairly" in section
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert 'name="Signup page [self-serve]"' in junit and "runner too busy" in junit


def test_shopper_status_mentions_the_busy_runner(
    synthetic: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, store_path = synthetic
    assert main(["status", "--store", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert "runner: too busy to measure fairly in 1 of the last 2 measured run(s)" in out
    assert f"last: run {BUSY}: control page median 420 ms" in out and OPERATOR_ACTION in out


def test_the_operator_is_alerted_and_no_owner_streak_moves(synthetic: tuple[Path, Path]) -> None:
    map_path, store_path = synthetic
    journey_map = load_map(map_path)
    store = open_store(store_path)
    try:
        runs = {run_id: store.analysis_frame([run_id]) for run_id in (BUSY, QUIET)}
        health = runner_health(store.runner_samples([BUSY, QUIET]), [BUSY, QUIET])
    finally:
        store.close()
    busy, quiet = (analyse(journey_map, runs[run_id], runner=health) for run_id in (BUSY, QUIET))
    config = AlertConfig(after=1, on=("failing", "slow"))
    with Alerter(config, store_path, journey_name=journey_map.journey) as alerter:
        events = alerter.observe(BUSY, busy.verdicts)
        assert {e.touchpoint_id for e in events} == {RUNNER, "checkout", "broken-page"}
        (runner,) = [e for e in events if e.touchpoint_id == RUNNER]
        assert runner.kind == "alert" and runner.owner == OPERATOR
        assert runner.headline() == "The runner was too busy to measure fairly, 1 runs in a row"
        assert "Signup page (self-serve)" in runner.text() and OPERATOR_ACTION in runner.text()
        assert alerter.observe(BUSY, busy.verdicts) == []  # the same run twice says nothing new
        recovered = alerter.observe(QUIET, quiet.verdicts)
        assert [(e.touchpoint_id, e.kind) for e in recovered if e.owner == OPERATOR] == [(RUNNER, "recovery")]
        # Slow alerts are on, yet the held-back signup page started no streak of its owner's.
        assert {a.touchpoint_id for a in alerter.open_alerts()} == {"pricing-page", "checkout", "broken-page"}


def test_an_older_store_without_the_runner_table_keeps_working(tmp_path: Path) -> None:
    map_path = tmp_path / "map.yaml"
    map_path.write_text(MAP)
    store_path = tmp_path / "old.db"
    db = sqlite3.connect(store_path)
    db.executescript(SCHEMA + mail_store.SCHEMA)  # the schema before the runner table
    db.execute(
        "INSERT INTO runs (run_id, started_at, state, map_path) VALUES (?, ?, 'finished', ?)",
        (BUSY, T0.isoformat(), str(map_path)),
    )
    db.execute(
        "INSERT INTO observations (run_id, seq, feature, scenario, node_id, segment, stage, touchpoint,"
        " step, started_at, duration_ms, outcome) VALUES (?, 1, 'f', 's', 'n', 'self-serve', 'browse',"
        " 'signup-page', 'Given I open the signup page', ?, 1300.0, 'passed')",
        (BUSY, T0.isoformat()),
    )
    db.commit()
    db.close()
    built = build_report(store_url=str(store_path), map_path=map_path, out_dir=tmp_path / "out", last=5)
    document = json.loads(built.json_path.read_text())
    assert document["runner"] == [] and _statuses(document)["signup-page"] == "slow"
    assert "No run in the window measured its runner" in built.html_path.read_text()
    tables = {row[0] for row in sqlite3.connect(store_path).execute("SELECT name FROM sqlite_master")}
    assert "runner_health" in tables  # opening it added the table


@contextmanager
def burners(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """CPU-burning loops beside the harness, killed however the test ends."""
    started = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(count)]
    try:
        time.sleep(0.3)  # running, not starting up
        yield started
    finally:
        for burner in started:
            burner.kill()
        for burner in started:
            burner.wait()


def _sampled(run_id: str, sample: RunnerSample) -> RunnerSampled:
    return RunnerSampled(
        run_id,
        "n",
        1,
        T0,
        sample.control_ms,
        sample.run_queue,
        sample.load_per_core,
        sample.steal,
        sample.sleep_lag_ms,
    )


def burner_count() -> int:
    # Two on the two-core runner this is written for; one per core on a bigger one, so that
    # every core has a task besides the harness's.
    return max(2, cores())


def test_the_control_page_with_burners_beside_it_marks_the_run_busy() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options({}, playwright.chromium.executable_path))
        try:
            context = browser.new_context()
            page = context.new_page()
            probe = RunnerProbe()
            try:
                quiet = [probe.measure(page) for _ in range(2)]
                with burners(burner_count()):
                    loaded = [probe.measure(page) for _ in range(3)]
            finally:
                probe.close()
            # The customer's page is left where a fresh page starts, before the scenario's first step.
            assert page.url == "about:blank" and len(context.pages) == 1
        finally:
            browser.close()
    # Three visits before the first scenario, one before each later one (the rule's median is the run's).
    assert [len(sample.control_ms) for sample in [*quiet, *loaded]] == [3, 1, 1, 1, 1]
    for sample in [*quiet, *loaded]:
        assert sample.problem == "" and min(sample.control_ms) > 0
    # Every core had a burner on it: at least one runnable task per core besides the harness.
    assert all(sample.run_queue is not None and sample.run_queue >= 1.0 for sample in loaded)
    samples = [_sampled("burning", s) for s in loaded]
    health = judge_runner("burning", samples)
    assert health.busy and "other runnable task(s) per core" in health.reason


Acme = html_site(
    lambda path: "<!doctype html><title>Home</title><link rel=icon href='data:,'><h1>Welcome</h1>"
)


HOME_FEATURE = """\
@stage:browse
Feature: Home
  As a visitor, I want the home page.

  Scenario: The home page
    Given I open the home page
    Then I should see "Welcome"

  Scenario: The home page again
    Given I open the home page
    Then I should see "Welcome"
"""


def test_each_scenario_measures_its_runner_apart_from_the_customers_observations(tmp_path: Path) -> None:
    map_path = tmp_path / "map.yaml"
    map_path.write_text(MAP)
    features = write_features(tmp_path / "features", HOME_FEATURE)
    store_path = tmp_path / "obs.db"
    with serve(Acme) as url:
        assert shopper_run(url, features, store_path, "--quiet", journey_map=map_path) == 0
        unmeasured = ("--quiet", "--", "--no-runner-check")
        assert shopper_run(url, features, store_path, *unmeasured, journey_map=map_path) == 0
    store = open_store(store_path)
    try:
        measured, unmeasured = (run.run_id for run in store.runs())
        samples = store.runner_samples([measured, unmeasured])
        observations = store.observations([measured, unmeasured])
    finally:
        store.close()
    assert [sample.run_id for sample in samples] == [measured, measured]  # one per scenario
    assert {sample.node_id.rsplit("::", 1)[1] for sample in samples} == {
        "test_the_home_page",
        "test_the_home_page_again",
    }
    assert [len(sample.control_ms) for sample in samples] == [3, 1]
    assert all(sample.problem == "" for sample in samples)
    # The control page is no touchpoint and no step of the customer's.
    assert set(observations["touchpoint"]) == {"home-page"}
    assert not observations["page_url"].str.contains("control").any()
    assert len(observations) == 8  # 2 runs × 2 scenarios × 2 steps
