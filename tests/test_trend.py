"""Trends over twenty runs: Acme gets slower half way, and the report says what got worse.

One real run (Chromium against Acme, its pricing page slowed by the fault profile) is the last of
the twenty; the nineteen before it are that run's own observations written again through the
store's API (as bench/bench_report.py fills a store), with pricing-page times chosen: fast in the
first half, slow in the second. So the verdicts follow from numbers the test set, and the one
measured time is only held to the lower bound it cannot beat, the delay Acme added.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from journeys import shopper_run, write_features

from harness.cli import main
from harness.demo import load_faults_text, start_acme
from harness.observation import Event, Observation, Run, RunFinished, RunStarted, StepObserved
from harness.store.sqlite import open_store

RUNS = 20
FAST_MS = 300.0  # the first half: well within the enterprise promise of 1s
SLOWER_MS = 1300  # the second half, and Acme's injected delay in the real run

FEATURE = """\
@stage:discover
Feature: Find out what Acme costs

  Scenario: I find the price of a plan
    Given I open the pricing page
    Then I should see "Team"
"""
OBSERVATION_FIELDS = {field.name for field in dataclasses.fields(Observation)}


def _again(
    real: Run, map_text: str, observations: list[dict[str, Any]], number: int, pricing_ms: float
) -> list[Event]:
    """The real run's events once more, as run `number` of RUNS (earlier), its pricing time set."""
    shift = dt.timedelta(minutes=RUNS - number)
    started = real.started_at - shift
    run_id = f"{started:%Y%m%dT%H%M%SZ}-again{number:02d}"
    run = dataclasses.replace(real, run_id=run_id, started_at=started, state="running", finished_at=None)
    events: list[Event] = [RunStarted(run, map_text=map_text)]
    for row in observations:
        fields = {key: value for key, value in row.items() if key in OBSERVATION_FIELDS}
        observation = Observation(**fields)
        observation.run_id, observation.started_at = run_id, observation.started_at - shift
        if observation.touchpoint == "pricing-page" and observation.timed:
            observation.duration_ms = pricing_ms
        events.append(StepObserved(observation))
    events.append(RunFinished(run_id, "finished", finished_at=started + dt.timedelta(seconds=5)))
    return events


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trend")
    features = write_features(root / "features", FEATURE)
    store = root / "obs.db"
    faults = load_faults_text(f"latency_ms: {{/pricing: {SLOWER_MS}}}\n")
    with start_acme(faults, root / "mail") as acme:
        # Timed exactly (no trace) and judged as measured (no runner check): the step is the site's.
        extra = ("--segment", "enterprise", "--quiet", "--", "--no-trace", "--no-runner-check")
        status = shopper_run(acme.url, features, store, *extra)
    assert status == 0  # slow is a gap for the report, not a failed step
    opened = open_store(store)
    try:
        (real,) = opened.runs()
        frame = opened.observations([real.run_id])
        text = opened.map_text(real.map_digest)
        assert text is not None
        rows = frame.to_dict("records")
        for row in rows:
            row["started_at"] = dt.datetime.fromisoformat(str(row["started_at"]))
            row["timed"] = bool(row["timed"])
        timed = [row for row in rows if row["touchpoint"] == "pricing-page" and row["timed"]]
        assert timed and all(row["duration_ms"] >= SLOWER_MS for row in timed)  # the injected delay
        for number in range(RUNS - 1):
            pricing_ms = FAST_MS if number < RUNS // 2 else SLOWER_MS + 50.0
            for event in _again(real, text, rows, number, pricing_ms):
                opened.handle(event)
    finally:
        opened.close()
    return store


def _report(
    store: Path, out: Path, last: int, capsys: pytest.CaptureFixture[str]
) -> tuple[dict[str, Any], str]:
    status = main(["report", "--store", str(store), "--out", str(out), "--last", str(last)])
    printed = capsys.readouterr().out
    assert status == 1
    return json.loads((out / "gap-report.json").read_text()), printed


def _pricing(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(
        tp for stage in document["stages"] for tp in stage["touchpoints"] if tp["id"] == "pricing-page"
    )["segments"]["enterprise"]
    return found


def test_the_window_against_the_previous_one_names_the_regression(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document, printed = _report(history, tmp_path / "out", RUNS // 2, capsys)
    assert document["window"]["runs"] == RUNS // 2 and document["previous_window"]["runs"] == RUNS // 2
    worse = [m for m in document["movements"] if m["direction"] == "worse"]
    assert [(m["touchpoint_id"], m["segment"], m["before_status"], m["after_status"]) for m in worse] == [
        ("pricing-page", "enterprise", "met", "slow")
    ]
    assert worse[0]["before_p95_ms"] < 1000 <= SLOWER_MS <= worse[0]["after_p95_ms"]
    assert "got worse since the previous 10 run(s)" in printed and "Pricing page (enterprise)" in printed
    html = (tmp_path / "out" / "gap-report.html").read_text()
    assert 'id="trend"' in html and "met → slow" in html
    assert "Got worse" in (tmp_path / "out" / "summary.md").read_text()


def test_the_trend_across_the_window_shows_the_step(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document, _ = _report(history, tmp_path / "out", RUNS, capsys)
    trend = _pricing(document)["trend"]
    assert [point["run_id"] for point in trend] == document["window"]["run_ids"]  # oldest first
    before, after = trend[: RUNS // 2], trend[RUNS // 2 :]
    assert all(point["p95_ms"] < 1000 for point in before)
    assert all(point["p95_ms"] >= SLOWER_MS for point in after)
    assert document["previous_window"]["runs"] == 0 and document["movements"] == []
