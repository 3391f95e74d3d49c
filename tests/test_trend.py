"""Trends over twenty real runs: Acme gets slower half way, and the report says what got worse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from journeys import shopper_run, write_features

from harness.cli import main
from harness.demo import load_faults_text, start_acme

RUNS = 20
SLOWER_MS = 1300  # the enterprise segment is promised the pricing page within 1s

FEATURE = """\
@stage:discover
Feature: Find out what Acme costs

  Scenario: I find the price of a plan
    Given I open the pricing page
    Then I should see "Team"
"""


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trend")
    features = write_features(root / "features", FEATURE)
    store = root / "obs.db"
    faults = load_faults_text("")
    with start_acme(faults, root / "mail") as acme:
        for number in range(RUNS):
            if number == RUNS // 2:
                faults.latency_ms["/pricing"] = SLOWER_MS  # the fault profile made worse between runs
            # Timed exactly (no trace) and judged as measured (no runner check): the step is the site's.
            status = shopper_run(
                acme.url,
                features,
                store,
                *("--segment", "enterprise", "--quiet", "--", "--no-trace", "--no-runner-check"),
            )
            assert status == 0, number
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
