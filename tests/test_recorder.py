"""The recorder end to end: real pytest runs, real Chromium, a real local site and a real SQLite store.

Every test writes a journey map, a feature and a conftest into a pytester folder, runs pytest in a
subprocess (Playwright's sync API must not run inside this process) against a small HTTP server
started here, and reads what the harness stored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pandas as pd
import pytest
from journeys import send_html

from harness.cli import main
from harness.store.sqlite import open_store

pytest_plugins = ["pytester"]

PASSWORD = "S3cr3t-Pa55word"

MAP = """\
journey: Recorder test journey
version: 2030-01-02
segments: [self-serve, enterprise]
stages:
  - id: discover
    touchpoints:
      - id: home-page
        channel: web
        url: /
      - id: pricing-page
        channel: web
        url: /pricing
      - id: plans-page
        channel: web
        url: /plans
        expect: {within: 1s, fail_after: 2s}   # a check for missing text gives up after 2 s
      - id: slow-page
        channel: web
        url: /slow
        expect: {within: 2s, fail_after: 10s}
  - id: evaluate
    touchpoints:
      - id: broken-page
        channel: web
        url: /broken
      - id: flaky-page
        channel: web
        url: /flaky
      - id: hang-page
        channel: web
        url: /hang
        expect: {within: 1s, fail_after: 60s}
  - id: signup
    touchpoints:
      - id: login-page
        channel: form
        url: /login
      - id: get-login-page
        channel: form
        url: /get-login
"""

CONFTEST = (
    'pytest_plugins = ["harness.record.plugin", "harness.steps.web", "harness.steps.forms",'
    ' "harness.steps.signup", "harness.steps.email"]\n'
)
TEST_JOURNEY = 'from pytest_bdd import scenarios\n\nscenarios(".")\n'

PAGES = {
    "/": "<h1>Welcome to Testco</h1>",
    "/pricing": "<h1>Pricing</h1><p>Starter</p><p>Team</p><p>Enterprise</p>",
    "/plans": "<h1>Plans</h1><p>Starter</p><p>Team</p>",
    "/not-in-map": "<h1>Somewhere else</h1>",
    "/login": (
        '<form method="post" action="/login">'
        '<label for="email">Email</label><input id="email" name="email" type="email">'
        '<label for="password">Password</label><input id="password" name="password" type="password">'
        '<button type="submit">Log in</button></form>'
    ),
    # A careless form: what the customer types ends up in the URL.
    "/get-login": (
        '<form method="get" action="/session">'
        '<label for="password">Password</label><input id="password" name="password" type="password">'
        '<button type="submit">Log in</button></form>'
    ),
}
PAGE = "<!doctype html><html><head><title>Testco</title></head><body>{body}</body></html>"


# ---------------------------------------------------------------- the target site


class Site:
    """What the server saw, and what the tests can make it do."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[str] = []
        self.hits: Counter[str] = Counter()
        self.forms: list[dict[str, list[str]]] = []
        self.stop = threading.Event()
        # path -> called (in the server thread) before the answer: lets a test look at the store mid-run
        self.probes: dict[str, Callable[[], None]] = {}
        self.lock = threading.Lock()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, str]:
        with self.lock:
            self.requests.append(f"{method} {path}")
            self.hits[path] += 1
            hits = self.hits[path]
        probe = self.probes.get(path)
        if probe is not None:
            probe()
        if method == "POST":
            self.forms.append(parse_qs(body.decode()))
            return 500, "<h1>Login is down</h1>"
        if path == "/session":
            return 500, "<h1>Session store is down</h1>"
        if path == "/slow":
            time.sleep(0.3)
            return 200, "<h1>Slow but sure</h1>"
        if path == "/broken":
            return 500, "<h1>Broken</h1>"
        if path == "/flaky":
            return (500, "<h1>Oops</h1>") if hits == 1 else (200, "<h1>Back on its feet</h1>")
        if path == "/hang":
            self.stop.wait(30)
            return 200, "<h1>Finally</h1>"
        if path in PAGES:
            return 200, PAGES[path]
        return 404, "<h1>Not found</h1>"


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(b"")

        def do_POST(self) -> None:
            self._reply(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _reply(self, body: bytes) -> None:
            status, html = site.answer(self.command, self.path.split("?", 1)[0], body)
            send_html(self, PAGE.format(body=html), status)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        site.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The harness reads these; a developer's shell must not change what the tests see.
    for name in ("SHOPPER_MAP", "SHOPPER_STORE", "SHOPPER_PASSWORD", "SHOPPER_CHROMIUM", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------- helpers


def write_project(pytester: pytest.Pytester, feature: str, *, conftest: str = CONFTEST) -> Path:
    """Map, feature, conftest and test module in the pytester folder; returns the feature's path."""
    (pytester.path / "map.yaml").write_text(MAP, encoding="utf-8")
    (pytester.path / "conftest.py").write_text(conftest, encoding="utf-8")
    (pytester.path / "test_journey.py").write_text(TEST_JOURNEY, encoding="utf-8")
    feature_path = pytester.path / "journey.feature"
    feature_path.write_text(textwrap.dedent(feature), encoding="utf-8")
    return feature_path


def store_path(pytester: pytest.Pytester) -> Path:
    return pytester.path / "obs.db"


def journey_args(pytester: pytest.Pytester, site: Site, run_id: str = "r1") -> list[str]:
    return [
        "--journey-map",
        str(pytester.path / "map.yaml"),
        "--base-url",
        site.url,
        "--store",
        str(store_path(pytester)),
        "--run-id",
        run_id,
        "-p",
        "no:cacheprovider",
    ]


def run_journey(pytester: pytest.Pytester, site: Site, *extra: str, run_id: str = "r1") -> pytest.RunResult:
    return pytester.runpytest_subprocess(*journey_args(pytester, site, run_id), *extra)


def observations(pytester: pytest.Pytester, run_id: str = "r1") -> pd.DataFrame:
    store = open_store(store_path(pytester))
    try:
        return store.observations([run_id]).sort_values("seq").reset_index(drop=True)
    finally:
        store.close()


def rows(frame: pd.DataFrame, scenario: str) -> pd.DataFrame:
    return frame[frame["scenario"] == scenario].reset_index(drop=True)


def output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


# ---------------------------------------------------------------- 1. one observation per step


def test_each_step_is_one_observation_bound_to_its_touchpoint(pytester: pytest.Pytester, site: Site) -> None:
    write_project(
        pytester,
        """\
        @stage:evaluate
        Feature: Compare plans before a trial

          Scenario: I read the prices
            Given I open the pricing page
            Then I should see "Enterprise"
            And I should see "Team"

          Scenario: I start at the front door
            Given I open the home page
            Then I should see "Welcome to Testco"
        """,
    )
    states_mid_run: list[str] = []

    def look_at_runs() -> None:
        store = open_store(store_path(pytester))
        try:
            states_mid_run.extend(run.state for run in store.runs() if run.run_id == "r1")
        finally:
            store.close()

    site.probes["/"] = look_at_runs
    before = dt.datetime.now(dt.UTC)

    result = run_journey(pytester, site)

    result.assert_outcomes(passed=2)
    assert states_mid_run == ["running"]
    obs = observations(pytester)
    assert len(obs) == 5
    assert set(obs["run_id"]) == {"r1"}
    assert set(obs["feature"]) == {f"{pytester.path.name}/journey.feature"}  # pytest-bdd's rel_filename
    assert set(obs["segment"]) == {"self-serve"}  # the map's first segment
    assert set(obs["outcome"]) == {"passed"}
    assert set(obs["attempt"]) == {1}
    assert (obs["duration_ms"] > 0).all()
    assert obs["seq"].is_unique

    prices = rows(obs, "I read the prices")
    assert list(prices["step"]) == [
        "Given I open the pricing page",
        'Then I should see "Enterprise"',
        'And I should see "Team"',
    ]
    # The touchpoint's stage, not the scenario's tag: the pricing page lives in "discover".
    assert list(prices["touchpoint"]) == ["pricing-page"] * 3
    assert list(prices["stage"]) == ["discover"] * 3
    assert len(set(prices["node_id"])) == 1 and "test_journey.py::" in prices["node_id"][0]

    home = rows(obs, "I start at the front door")
    assert list(home["step"]) == ["Given I open the home page", 'Then I should see "Welcome to Testco"']
    assert list(home["touchpoint"]) == ["home-page", "home-page"]
    assert home["node_id"][0] != prices["node_id"][0]

    after = dt.datetime.now(dt.UTC)
    for text in obs["started_at"]:
        started = dt.datetime.fromisoformat(text)
        assert started.utcoffset() == dt.timedelta(0)
        assert before <= started <= after
    assert list(obs["started_at"]) == sorted(obs["started_at"])

    store = open_store(store_path(pytester))
    try:
        (run,) = store.runs()
    finally:
        store.close()
    assert run.run_id == "r1"
    assert run.state == "finished"
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.journey == "Recorder test journey"
    assert run.map_version == "2030-01-02"
    assert run.segment == "self-serve"
    assert run.target == site.url
    assert run.map_path.endswith("map.yaml")


# ---------------------------------------------------------------- 2. timed steps


def test_slow_page_load_is_timed_and_checks_are_not(pytester: pytest.Pytester, site: Site) -> None:
    write_project(
        pytester,
        """\
        @stage:discover
        Feature: A slow page

          Scenario: I wait for the slow page
            Given I open the slow page
            Then I should see "Slow but sure"
        """,
    )

    result = run_journey(pytester, site)

    result.assert_outcomes(passed=1)
    opened, seen = observations(pytester).itertuples(index=False)
    assert opened.step == "Given I open the slow page"
    assert opened.touchpoint == "slow-page"
    assert opened.duration_ms >= 300  # the server sleeps 300 ms before it answers
    assert bool(opened.timed) is True
    assert seen.step == 'Then I should see "Slow but sure"'
    assert seen.touchpoint == "slow-page"
    assert bool(seen.timed) is False


# ---------------------------------------------------------------- 3. failures, evidence, skipped steps


def test_failures_are_recorded_with_error_evidence_and_skipped_steps(
    pytester: pytest.Pytester, site: Site
) -> None:
    write_project(
        pytester,
        """\
        @stage:evaluate
        Feature: Things go wrong

          Scenario: The broken page answers 500
            Given I open the broken page
            Then I should see "Broken"
            And I should see "anything at all"

          Scenario: The plans page lacks a plan
            Given I open the plans page
            Then I should see "Platinum"
            And I should see "Team"

          Scenario: A step nobody wrote
            Given I open the pricing page
            When I haggle over the price
            Then I should see "Team"
        """,
    )

    result = run_journey(pytester, site)

    result.assert_outcomes(failed=3)
    obs = observations(pytester)
    assert len(obs) == 9

    broken = rows(obs, "The broken page answers 500")
    assert list(broken["outcome"]) == ["failed", "skipped", "skipped"]
    assert list(broken["touchpoint"]) == ["broken-page"] * 3
    assert "HTTP 500" in broken["error"][0]
    evidence = Path(broken["evidence"][0])
    assert evidence.is_file()
    assert evidence.read_bytes().startswith(b"\x89PNG")
    assert evidence.is_relative_to(pytester.path / "evidence" / "r1")
    assert list(broken["error"][1:]) == ["", ""]
    assert list(broken["evidence"][1:]) == ["", ""]
    assert list(broken["duration_ms"][1:]) == [0.0, 0.0]
    assert not broken["timed"][1:].astype(bool).any()

    missing = rows(obs, "The plans page lacks a plan")
    assert list(missing["outcome"]) == ["passed", "failed", "skipped"]
    assert list(missing["touchpoint"]) == ["plans-page"] * 3
    assert "Platinum" in missing["error"][1]
    assert Path(missing["evidence"][1]).is_file()
    assert missing["evidence"][1] != broken["evidence"][0]
    assert missing["step"][2] == 'And I should see "Team"'

    undefined = rows(obs, "A step nobody wrote")
    assert list(undefined["outcome"]) == ["passed", "error", "skipped"]
    assert undefined["step"][1] == "When I haggle over the price"
    assert "haggle over the price" in undefined["error"][1]
    assert undefined["touchpoint"][1] == "pricing-page"

    store = open_store(store_path(pytester))
    try:
        assert [run.state for run in store.runs()] == ["finished"]
    finally:
        store.close()


# ---------------------------------------------------------------- 4. unknown journey tags


@pytest.mark.parametrize(
    "tag",
    ["stage:nowhere", "touchpoint:nowhere-page", "segment:freeloader"],
)
def test_unknown_journey_tag_fails_collection_naming_file_line_and_tag(
    pytester: pytest.Pytester, site: Site, tag: str
) -> None:
    feature = write_project(
        pytester,
        f"""\
        Feature: Bound to nothing

          @{tag}
          Scenario: Somewhere the map does not know
            Given I open the pricing page
        """,
    )

    result = run_journey(pytester, site)

    assert result.ret not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    text = output(result)
    assert f"{feature.resolve()}, line 3:" in text
    assert f'"@{tag}"' in text
    assert "no tests ran" in text
    assert "passed" not in text
    assert site.requests == []  # no scenario ran: nobody opened a page
    assert not store_path(pytester).exists()  # no run was opened, so nothing was stored


# ---------------------------------------------------------------- 5. segments


SEGMENT_FEATURE = """\
@stage:discover
Feature: Plans by segment

  Scenario: Anyone reads the prices
    Given I open the pricing page

  @segment:enterprise
  Scenario: An enterprise buyer checks the enterprise plan
    Given I open the pricing page
    Then I should see "Enterprise"
"""


def test_segment_scenarios_are_deselected_for_other_segments(pytester: pytest.Pytester, site: Site) -> None:
    write_project(pytester, SEGMENT_FEATURE)

    self_serve = run_journey(pytester, site, "--segment", "self-serve", run_id="r1")

    self_serve.assert_outcomes(passed=1, deselected=1)
    obs = observations(pytester, "r1")
    assert set(obs["scenario"]) == {"Anyone reads the prices"}
    assert set(obs["segment"]) == {"self-serve"}

    enterprise = run_journey(pytester, site, "--segment", "enterprise", run_id="r2")

    enterprise.assert_outcomes(passed=2)
    obs = observations(pytester, "r2")
    assert len(rows(obs, "An enterprise buyer checks the enterprise plan")) == 2
    assert len(rows(obs, "Anyone reads the prices")) == 1
    assert set(obs["segment"]) == {"enterprise"}
    store = open_store(store_path(pytester))
    try:
        assert {run.run_id: run.segment for run in store.runs()} == {"r1": "self-serve", "r2": "enterprise"}
    finally:
        store.close()


# ---------------------------------------------------------------- 6. retries


def test_a_retry_is_a_second_attempt_of_the_same_scenario(pytester: pytest.Pytester, site: Site) -> None:
    write_project(
        pytester,
        """\
        @stage:evaluate
        Feature: A page that fails once

          Scenario: I come back to the flaky page
            Given I open the flaky page
            Then I should see "Back on its feet"
        """,
    )

    result = run_journey(pytester, site, "--reruns", "1")

    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("rerun"), outcomes.get("failed")) == (1, 1, None)
    assert site.hits["/flaky"] == 2
    obs = observations(pytester)
    assert len(set(obs["node_id"])) == 1
    first = obs[obs["attempt"] == 1].reset_index(drop=True)
    second = obs[obs["attempt"] == 2].reset_index(drop=True)
    assert list(first["outcome"]) == ["failed", "skipped"]
    assert "HTTP 500" in first["error"][0]
    assert list(second["outcome"]) == ["passed", "passed"]
    assert list(second["step"]) == ["Given I open the flaky page", 'Then I should see "Back on its feet"']
    assert set(obs["attempt"]) == {1, 2}


# ---------------------------------------------------------------- 7. secrets


def test_the_password_reaches_the_site_but_never_the_store_or_the_output(
    pytester: pytest.Pytester, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPPER_PASSWORD", PASSWORD)
    write_project(
        pytester,
        """\
        @stage:signup
        Feature: Log in

          Scenario: I log in while login is down
            Given I open the login page
            When I fill in "Email" with my email
            And I fill in "Password" with my password
            And I press "Log in"
            Then I should see "Welcome back"
        """,
    )

    result = run_journey(pytester, site)

    result.assert_outcomes(failed=1)
    # The secret really was typed: otherwise its absence below would prove nothing.
    assert [form.get("password") for form in site.forms] == [[PASSWORD]]
    obs = observations(pytester)
    assert list(obs["outcome"]) == ["passed", "passed", "passed", "failed", "skipped"]
    assert "HTTP 500" in obs["error"][3]
    files = [path for path in pytester.path.glob("obs.db*") if path.is_file()]
    assert store_path(pytester) in files
    for path in files:
        assert PASSWORD.encode() not in path.read_bytes(), path.name
    assert PASSWORD not in output(result)


def test_a_password_sent_in_a_url_stays_out_of_the_store_and_the_output(
    pytester: pytest.Pytester, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPPER_PASSWORD", PASSWORD)
    write_project(
        pytester,
        """\
        @stage:signup
        Feature: Log in through a GET form

          Scenario: I log in and the session store is down
            Given I open the get login page
            When I fill in "Password" with my password
            And I press "Log in"
        """,
    )

    result = run_journey(pytester, site, "--tb=long")

    result.assert_outcomes(failed=1)
    assert "GET /session" in site.requests  # the browser really sent it in the URL
    obs = observations(pytester)
    assert list(obs["outcome"]) == ["passed", "passed", "failed"]
    assert "HTTP 500" in obs["error"][2]
    for path in [p for p in pytester.path.glob("obs.db*") if p.is_file()]:
        assert PASSWORD.encode() not in path.read_bytes(), path.name
    assert PASSWORD not in output(result)


# ---------------------------------------------------------------- 8. off-map


def test_a_path_the_map_does_not_know_is_an_off_map_touchpoint(pytester: pytest.Pytester, site: Site) -> None:
    write_project(
        pytester,
        """\
        @stage:discover
        Feature: Wandering off the map

          Scenario: I open a page nobody drew
            Given I open "/not-in-map"
            Then I should see "Somewhere else"
        """,
    )

    result = run_journey(pytester, site)

    result.assert_outcomes(passed=1)
    obs = observations(pytester)
    assert list(obs["touchpoint"]) == ["/not-in-map", "/not-in-map"]
    assert list(obs["stage"]) == ["discover", "discover"]  # no map touchpoint: the scenario's stage
    assert list(obs["outcome"]) == ["passed", "passed"]
    assert "GET /not-in-map" in site.requests


# ---------------------------------------------------------------- 9. no map, no recording


def test_without_a_journey_map_nothing_is_recorded(pytester: pytest.Pytester, site: Site) -> None:
    write_project(
        pytester,
        """\
        Feature: A plain pytest-bdd suite

          Scenario: Counting apples
            Given a basket with 2 apples
            Then the basket holds 2 apples
        """,
        conftest=CONFTEST
        + textwrap.dedent(
            """\
            from pytest_bdd import given, parsers, then

            @given(parsers.parse("a basket with {count:d} apples"), target_fixture="basket")
            def basket(count):
                return ["apple"] * count

            @then(parsers.parse("the basket holds {count:d} apples"))
            def holds(basket, count):
                assert len(basket) == count
            """
        ),
    )

    # --store is accepted: the harness plugin is loaded, it only has no map to record against.
    result = pytester.runpytest_subprocess("--store", str(store_path(pytester)), "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)
    assert not store_path(pytester).exists()
    assert not (pytester.path / "shopper.db").exists()
    assert not (pytester.path / "evidence").exists()
    assert list(pytester.path.glob("*.db*")) == []


# ---------------------------------------------------------------- 10. a killed run


KILL_FEATURE = """\
@stage:discover
Feature: A run that gets killed

  Scenario: I read the prices
    Given I open the pricing page
    Then I should see "Team"

  Scenario: I go home
    Given I open the home page
    Then I should see "Welcome to Testco"

  Scenario: I wait for a page that never comes
    Given I open the pricing page
    When I open the hang page
    Then I should see "Finally"
"""


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _live_group_members(pgid: int) -> list[int]:
    """Processes of a process group that still run (zombies have exited already)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text(encoding="ascii").rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


def test_a_killed_run_keeps_its_observations_and_is_reported_aborted(
    pytester: pytest.Pytester, site: Site
) -> None:
    write_project(pytester, KILL_FEATURE)
    log = pytester.path / "pytest.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *journey_args(pytester, site)],
            cwd=pytester.path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        before_kill = pd.DataFrame()

        def recorded_enough() -> bool:
            nonlocal before_kill
            if process.poll() is not None:
                raise AssertionError(f"pytest ended early:\n{log.read_text(errors='replace')}")
            if "GET /hang" not in site.requests or not store_path(pytester).exists():
                return False
            before_kill = observations(pytester)
            return len(before_kill) >= 3

        _wait_for(recorded_enough, 30, "the run to reach the hang page")
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # Chromium and Playwright's driver
        process.wait(timeout=10)
        _wait_for(lambda: not _live_group_members(process.pid), 10, "Chromium to exit")

    # Everything up to the page that hung: two whole scenarios and the step before it.
    assert len(before_kill) == 5
    after = observations(pytester)
    columns = ["seq", "scenario", "step", "touchpoint", "outcome", "started_at", "duration_ms"]
    pd.testing.assert_frame_equal(after[columns], before_kill[columns])
    assert "I open the hang page" not in " ".join(after["step"])
    store = open_store(store_path(pytester))
    try:
        (run,) = store.runs()
    finally:
        store.close()
    assert run.run_id == "r1"
    assert run.state == "aborted"
    assert run.pid == process.pid

    # The next report says so too.
    assert main(["report", "--store", str(store_path(pytester)), "--out", str(pytester.path / "out")]) == 1
    document = json.loads((pytester.path / "out" / "gap-report.json").read_text())
    assert [(r["run_id"], r["state"]) for r in document["runs"]] == [("r1", "aborted")]
    assert "aborted" in (pytester.path / "out" / "gap-report.html").read_text()
