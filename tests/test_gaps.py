"""Every gap status, reached by real observations: real Chromium walking a real local site."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from journeys import serve, shopper_run, write_features

from harness.cli import main

# The pages meant to be "met" or "flaky" are promised 30s, so a busy machine cannot make them slow;
# the slow one sleeps 400 ms against a promise of 150 ms, a margin no machine can close.
MAP = """\
journey: Status check
version: v1
segments: [self-serve]
stages:
  - id: browse
    name: Browse
    touchpoints:
      - {id: fast-page, name: Fast page, channel: web, owner: Web, url: /fast,
         expect: {within: 30s, fail_after: 60s}}
      - {id: slow-page, name: Slow page, channel: web, owner: Web, url: /slow,
         expect: {within: 150ms, fail_after: 10s}}
      - {id: broken-page, name: Broken page, channel: web, owner: Platform, url: /broken,
         moment_of_truth: true,
         expect: {within: 2s, fail_after: 10s}}
      - {id: stuck-page, name: Stuck page, channel: web, owner: Platform, url: /stuck,
         expect: {within: 500ms, fail_after: 1s}}
      - {id: flaky-page, name: Flaky page, channel: web, owner: Web, url: /flaky,
         expect: {within: 30s, fail_after: 60s}}
      - {id: never-page, name: Never page, channel: web, owner: Web, url: /never,
         expect: {within: 2s, fail_after: 10s}}
"""

FEATURE = """\
@stage:browse
Feature: Browse the site
  As a visitor, I want every page to answer quickly.

  Scenario: The fast page
    Given I open the fast page
    Then I should see "Fast"

  Scenario: The slow page
    Given I open the slow page
    Then I should see "Slow"

  Scenario: The broken page
    Given I open the broken page
    Then I should see "Broken"

  Scenario: The stuck page
    Given I open the stuck page
    Then I should see "Stuck"

  Scenario: The flaky page
    Given I open the flaky page
    Then I should see "Flaky"

  Scenario: A page the map does not know
    Given I open "/elsewhere"
    Then I should see "Elsewhere"
"""


class Site(BaseHTTPRequestHandler):
    flaky_hits = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        status, text = 200, ""
        if path == "/fast":
            text = "Fast"
        elif path == "/slow":
            time.sleep(0.4)
            text = "Slow"
        elif path == "/broken":
            status, text = 500, "Broken"
        elif path == "/stuck":
            time.sleep(3)
            text = "Stuck"
        elif path == "/flaky":
            with Site.lock:
                Site.flaky_hits += 1
                first = Site.flaky_hits == 1
            status, text = (503, "Try later") if first else (200, "Flaky")
        elif path == "/elsewhere":
            text = "Elsewhere"
        else:
            status, text = 404, "Not found"
        body = f"<!doctype html><title>{text}</title><link rel=icon href='data:,'><h1>{text}</h1>".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve(Site) as url:
        yield url


@pytest.fixture(scope="module")
def reported(site: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object], int, int]:
    root = tmp_path_factory.mktemp("statuses")
    features = write_features(root / "features", FEATURE, "browse.feature")
    (root / "map.yaml").write_text(MAP)
    store = root / "obs.db"
    # Every status exactly as the site makes it: on a busy runner the slow one would be held back
    # as runner-busy (that rule has its own tests, tests/test_runner_health.py).
    run_status = shopper_run(
        site,
        features,
        store,
        *("--retries", "1", "--quiet", "--", "--no-runner-check"),
        journey_map=root / "map.yaml",
    )
    report_status = main(["report", "--store", str(store), "--out", str(root / "out")])
    document = json.loads((root / "out" / "gap-report.json").read_text())
    return root, document, run_status, report_status


def _verdicts(document: dict[str, object]) -> dict[str, dict[str, object]]:
    stages = document["stages"]
    assert isinstance(stages, list)
    return {tp["id"]: tp["segments"]["self-serve"] for stage in stages for tp in stage["touchpoints"]}


def test_each_status_is_reached_by_real_observations(
    reported: tuple[Path, dict[str, object], int, int],
) -> None:
    _, document, run_status, report_status = reported
    verdicts = _verdicts(document)
    assert {tp: v["status"] for tp, v in verdicts.items()} == {
        "fast-page": "met",
        "slow-page": "slow",
        "broken-page": "failing",
        "stuck-page": "failing",
        "flaky-page": "flaky",
        "never-page": "untested",
    }
    off_map = document["off_map"]
    assert isinstance(off_map, list)
    assert [(item["touchpoint"], item["status"]) for item in off_map] == [("/elsewhere", "off-map")]
    assert run_status == 1 and report_status == 1


def test_figures_behind_the_statuses(reported: tuple[Path, dict[str, object], int, int]) -> None:
    _, document, _, _ = reported
    verdicts = _verdicts(document)
    slow = verdicts["slow-page"]["observed"]
    assert slow["p50_ms"] >= 400 and slow["success_rate"] == 1.0
    assert verdicts["slow-page"]["expected"]["within_ms"] == 150
    flaky = verdicts["flaky-page"]["observed"]
    # A mystery shopper cares about the first try: reported on its own.
    assert flaky["first_attempt_success_rate"] == 0.0 and flaky["success_rate"] == 1.0 and flaky["n"] == 2
    broken = verdicts["broken-page"]
    assert broken["observed"]["success_rate"] == 0.0 and "HTTP 500" in broken["error"]
    stuck = verdicts["stuck-page"]
    assert "Timeout" in stuck["error"] or "timeout" in stuck["error"]
    assert verdicts["never-page"]["observed"]["n"] == 0
    actions = document["actions"]
    assert isinstance(actions, list)
    ranked = [(a["touchpoint_id"], a["status"]) for a in actions]
    # Failing moments of truth come first; untested touchpoints last.
    assert ranked[0] == ("broken-page", "failing") and ranked[-1] == ("never-page", "untested")
    assert {a["owner"] for a in actions} == {"Web", "Platform"}


def test_a_refreshed_map_is_applied_to_stored_runs_without_a_new_run(
    reported: tuple[Path, dict[str, object], int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _, _, _ = reported
    tightened = (
        (root / "map.yaml")
        .read_text()
        .replace("version: v1", "version: v2")
        .replace("url: /fast,\n         expect: {within: 30s", "url: /fast,\n         expect: {within: 1ms")
    )
    (root / "map-v2.yaml").write_text(tightened)
    status = main(
        [
            "report",
            "--store",
            str(root / "obs.db"),
            "--map",
            str(root / "map-v2.yaml"),
            "--out",
            str(root / "out-v2"),
        ]
    )
    document = json.loads((root / "out-v2" / "gap-report.json").read_text())
    assert status == 1
    assert document["map"]["version"] == "v2"
    assert _verdicts(document)["fast-page"]["status"] == "slow"
    # The report names what the refresh changed against the map recorded with the runs.
    assert document["map"]["recorded_version"] == "v1"
    changed = document["map"]["changed_expectations"]
    assert [(c["touchpoint_id"], c["field"], c["old"], c["new"]) for c in changed] == [
        ("fast-page", "within", "30s", "1ms")
    ]
    assert (
        "2 change(s) to the map since version v1, recorded with the runs:\n"
        "  map: version v1 → v2\n  Fast page: within 30s → 1ms" in capsys.readouterr().out
    )
    html = (root / "out-v2" / "gap-report.html").read_text()
    assert 'id="map-refresh"' in html and "Fast page: within 30s → 1ms" in html


def test_a_segment_no_run_played_is_named_as_such(
    reported: tuple[Path, dict[str, object], int, int],
) -> None:
    root, _, _, _ = reported
    two_segments = (
        (root / "map.yaml").read_text().replace("segments: [self-serve]", "segments: [self-serve, vip]")
    )
    (root / "map-vip.yaml").write_text(two_segments)
    main(
        [
            "report",
            "--store",
            str(root / "obs.db"),
            "--map",
            str(root / "map-vip.yaml"),
            "--out",
            str(root / "vip"),
        ]
    )
    document = json.loads((root / "vip" / "gap-report.json").read_text())
    stages = document["stages"]
    assert isinstance(stages, list)
    fast = stages[0]["touchpoints"][0]["segments"]
    assert fast["self-serve"]["status"] == "met"
    assert (
        fast["vip"]["status"] == "untested"
        and "no run in the window played the vip segment" in fast["vip"]["gap"]
    )
    actions = document["actions"]
    assert isinstance(actions, list)
    vip = [a for a in actions if a["segment"] == "vip"]
    assert vip and all(a["what_to_fix"].startswith("Run the scenarios as vip customers") for a in vip)
