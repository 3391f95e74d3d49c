"""`--cucumberjson` with retries: every attempt reported, the final status right, exit 1 not 3.

Real parts: pytest-bdd's scenarios run in a subprocess (pytester, or `shopper run`'s own) driving
Chromium against a small HTTP server of this test's own, whose status page is still warming up
on its first visit and ready on every later one: a scenario that fails once, then passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from journeys import QuietHandler, send_html, serve, write_features

from harness.cli import main

pytest_plugins = ["pytester"]

MAP = """\
journey: Retries
segments: [visitor]
stages:
  - id: discover
    touchpoints:
      - id: status-page
        channel: web
        owner: Web
        url: /status
        expect: {within: 1s, fail_after: 3s}
"""
FEATURE = """\
@stage:discover
Feature: The status page
  Scenario: The status page says it is ready
    Given I open the status page
    Then I should see "Ready"

  Scenario: The status page says what it never says
    Given I open the status page
    Then I should see "Sold out"
"""
CONFTEST = 'pytest_plugins = ["harness.record.plugin", "harness.steps.web"]\n'


class WarmingSite(QuietHandler):
    visits: list[str]  # set per server

    def do_GET(self) -> None:
        self.visits.append(self.path)
        warming = self.path == "/status" and self.visits.count("/status") == 1
        send_html(
            self, f"<!doctype html><title>Status</title><h1>{'Warming up' if warming else 'Ready'}</h1>"
        )


@pytest.fixture
def site() -> Iterator[str]:
    with serve(type("Site", (WarmingSite,), {"visits": []})) as url:
        yield url


def attempts(path: Path) -> dict[str, list[str]]:
    """Each scenario's attempts in order, each as the status of its last step."""
    found: dict[str, list[str]] = {}
    for feature in json.loads(path.read_text(encoding="utf-8")):
        for element in feature["elements"]:
            found.setdefault(element["name"], []).append(element["steps"][-1]["result"]["status"])
    return found


def test_plain_pytest_reports_both_attempts_of_a_flaky_scenario(pytester: pytest.Pytester, site: str) -> None:
    (pytester.path / "map.yaml").write_text(MAP, encoding="utf-8")
    (pytester.path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    write_features(pytester.path, FEATURE)
    base = ["--journey-map", "map.yaml", "--base-url", site, "--store", "obs.db", "--cucumberjson=c.json"]
    flaky = pytester.runpytest_subprocess(*base, "--reruns", "1", "-k", "ready")
    assert flaky.ret == 0, flaky.outlines[-20:]
    assert attempts(pytester.path / "c.json") == {"The status page says it is ready": ["failed", "passed"]}
    broken = pytester.runpytest_subprocess(*base, "--reruns", "1", "-k", "never")
    assert broken.ret == 1, broken.outlines[-20:]
    assert attempts(pytester.path / "c.json") == {
        "The status page says what it never says": ["failed", "failed"]
    }


@pytest.mark.parametrize(
    "retries",
    [["--", "--cucumberjson={json}", "--reruns", "1"], ["--retries", "1", "--", "--cucumberjson", "{json}"]],
    ids=["reruns after --", "--retries"],
)
def test_shopper_run_writes_cucumber_json_with_retries(tmp_path: Path, site: str, retries: list[str]) -> None:
    features = write_features(tmp_path / "features", FEATURE)
    (tmp_path / "map.yaml").write_text(MAP, encoding="utf-8")
    report = tmp_path / "c.json"
    command = ["run", "--base-url", site, "--map", str(tmp_path / "map.yaml"), "--features", str(features)]
    command += ["--store", str(tmp_path / "shopper.db"), "--quiet"]
    status = main([*command, *[arg.format(json=report) for arg in retries]])
    assert status == 1  # the scenario that never passes; not 2 or 3
    assert attempts(report) == {
        "The status page says it is ready": ["failed", "passed"],
        "The status page says what it never says": ["failed", "failed"],
    }
