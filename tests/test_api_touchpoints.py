"""API touchpoints: the built-in steps call the target's API, time it and judge it against the map.

Real parts: `shopper run` drives Chromium's request context against a JSON API of this test's own
(a delay and a 500 injected on two endpoints), and `shopper report` judges what was stored.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from journeys import QuietHandler, send_html, serve, shopper_run, stored_observations, write_features

pytestmark = pytest.mark.browser

DELAY_S = 1.0
PASSWORD = "api-Secret-4711-pass"

MAP = """\
journey: An API journey
version: 2030-01-01
segments: [developers]
stages:
  - id: integrate
    touchpoints:
      - id: status-api
        channel: api
        owner: Platform
        url: /api/status
        expect: {within: 5s, fail_after: 10s}
      - id: signup-api
        channel: api
        owner: Identity
        url: /api/signup
        expect: {within: 5s, fail_after: 10s}
      - id: quote-api
        channel: api
        owner: Billing
        url: /api/quote
        expect: {within: 500ms, fail_after: 10s}
      - id: invoice-api
        channel: api
        owner: Billing
        url: /api/invoices
        expect: {within: 5s, fail_after: 10s}
"""

FEATURE = """\
Feature: A developer integrates
  Scenario: The API is up and tells the plan
    When I call GET "/api/status"
    Then the response status is 200
    And the response has "plan.name" = "team"

  Scenario: A developer signs up through the API
    When I post {"email": "my email", "password": "my password", "plan": "team"} to "/api/signup"
    Then the response status is 201
    And the response has "plan" = "team"

  Scenario: A quote takes its time
    When I call GET "/api/quote"
    Then the response has "total" = "120"

  Scenario: The invoices are down
    When I call GET "/api/invoices"
"""


class Api(QuietHandler):
    signups: list[dict[str, Any]]
    stop: threading.Event

    def _json(self, status: int, document: Any) -> None:
        send_html(self, json.dumps(document), status, {"Content-Type": "application/json"})

    def do_GET(self) -> None:
        if self.path == "/api/status":
            self._json(200, {"status": "ok", "plan": {"name": "team"}})
        elif self.path == "/api/quote":
            self.stop.wait(DELAY_S)
            self._json(200, {"total": 120})
        elif self.path == "/api/invoices":
            self._json(500, {"error": "the invoice database is down"})
        else:
            self._json(404, {"error": "no such endpoint"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.signups.append(body)
        self._json(201, {"plan": body.get("plan"), "id": 7})


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    signups: list[dict[str, Any]] = []
    stop = threading.Event()
    with serve(type("TestApi", (Api,), {"signups": signups, "stop": stop})) as url:
        yield url, signups
        stop.set()


def test_api_touchpoints_are_timed_bound_and_judged(
    tmp_path: Path, api: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, signups = api
    monkeypatch.setenv("SHOPPER_PASSWORD", PASSWORD)
    (tmp_path / "map.yaml").write_text(MAP)
    features = write_features(tmp_path / "features", FEATURE)
    store = tmp_path / "shopper.db"
    args = ("--quiet", "--", "--no-runner-check")
    assert shopper_run(url, features, store, *args, journey_map=tmp_path / "map.yaml") == 1

    # The customer's own details reached the API; the password never reached the store.
    assert len(signups) == 1 and signups[0]["password"] == PASSWORD and "@" in signups[0]["email"]
    assert PASSWORD.encode() not in store.read_bytes()

    observations = stored_observations(store)
    calls = observations[observations["step"].str.contains("I call|I post")]
    assert set(calls["touchpoint"]) == {"status-api", "signup-api", "quote-api", "invoice-api"}

    out = tmp_path / "report"
    subprocess.run(
        [sys.executable, "-m", "harness", "report", "--store", str(store), "--out", str(out)],
        check=False,
        capture_output=True,
        timeout=120,
    )
    document = json.loads((out / "gap-report.json").read_text())
    verdicts = {
        tp["id"]: tp["segments"]["developers"] for stage in document["stages"] for tp in stage["touchpoints"]
    }
    assert verdicts["status-api"]["status"] == "met"
    assert verdicts["signup-api"]["status"] == "met"
    # The injected delay is in the API's time (a lower bound it cannot beat), and makes it slow.
    assert verdicts["quote-api"]["status"] == "slow"
    assert verdicts["quote-api"]["observed"]["p50_ms"] >= DELAY_S * 1000
    # A 500 is the API owner's failure, in the API's own words.
    assert verdicts["invoice-api"]["status"] == "failing"
    assert "the invoice database is down" in verdicts["invoice-api"]["error"]
    assert verdicts["invoice-api"]["harness_error"] == ""


def test_a_body_that_is_not_json_is_a_scenario_to_fix(
    tmp_path: Path, api: tuple[str, list[dict[str, Any]]]
) -> None:
    url, signups = api
    (tmp_path / "map.yaml").write_text(MAP)
    feature = 'Feature: x\n  Scenario: y\n    When I post {"plan": team} to "/api/signup"\n'
    features = write_features(tmp_path / "features", feature)
    store = tmp_path / "shopper.db"
    assert (
        shopper_run(
            url, features, store, "--quiet", "--", "--no-runner-check", journey_map=tmp_path / "map.yaml"
        )
        == 1
    )
    (seen,) = stored_observations(store).itertuples()
    assert seen.outcome == "error" and "not JSON" in seen.error
    assert signups == []
