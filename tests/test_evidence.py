"""Evidence at failure: a Playwright trace with every secret removed, and the page's URL and title.

Real parts only: pytest runs in a subprocess (pytester), the harness drives a real Chromium against a
small HTTP server started here, and the tests read the SQLite store and the evidence folder back.
"""

from __future__ import annotations

import html
import json
import textwrap
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, unquote, unquote_plus, urlsplit

import pandas as pd
import pytest
from journeys import send_html

from harness.store.sqlite import open_store

pytest_plugins = ["pytester"]

# Characters that percent-encode, form-encode ("+" for the space) and HTML-escape differently.
PASSWORD = "S3cr3t/pa ss+w&rd!"
PASSWORD_FORMS = [
    PASSWORD,
    quote(PASSWORD, safe=""),  # percent-encoded
    quote_plus(PASSWORD, safe=""),  # form-encoded, as a browser sends a GET form
    quote(PASSWORD, safe="!'()*~"),  # JavaScript's encodeURIComponent
    html.escape(PASSWORD),  # echoed in a page
    json.dumps(PASSWORD)[1:-1],
]

MAP = """\
journey: Evidence test journey
version: 2030-01-03
segments: [self-serve]
stages:
  - id: discover
    touchpoints:
      - id: plans-page
        channel: web
        url: /plans
        # A check for missing text gives up at fail_after; so does the page's own load, which a
        # loaded runner can take over a second for: 5 s keeps these tests about evidence, not speed.
        expect: {within: 1s, fail_after: 5s}
      - id: long-page
        channel: web
        url: /long
        expect: {within: 1s, fail_after: 5s}
  - id: signup
    touchpoints:
      - id: get-login-page
        channel: form
        url: /get-login
      - id: session-page
        channel: form
        url: /session
"""

CONFTEST = (
    'pytest_plugins = ["harness.record.plugin", "harness.steps.web", "harness.steps.forms",'
    ' "harness.steps.signup", "harness.steps.email"]\n'
)
TEST_JOURNEY = 'from pytest_bdd import scenarios\n\nscenarios(".")\n'
PLANS_TITLE = "Plans — Testco"
LONG_TITLE = "A very long title " * 60


class Site:
    def __init__(self) -> None:
        self.url = ""
        self.queries: list[dict[str, list[str]]] = []

    def answer(self, path: str, query: str) -> tuple[int, str, str]:
        """Status, title and body of a page."""
        if path == "/plans":
            return 200, PLANS_TITLE, "<h1>Plans</h1><p>Starter</p><p>Team</p>"
        if path == "/long":
            return 200, LONG_TITLE, "<h1>Long</h1>"
        if path == "/get-login":
            # A careless form: what the customer types ends up in the URL.
            return (
                200,
                "Log in",
                '<form method="get" action="/session">'
                '<label for="password">Password</label><input id="password" name="password" type="password">'
                '<button type="submit">Log in</button></form>',
            )
        if path == "/session":
            self.queries.append(parse_qs(query))
            typed = parse_qs(query).get("password", [""])[0]
            # A careless error page too: it shows what was typed, in its title and its text.
            return 500, f"Session store is down for {typed}", f"<h1>Down</h1><p>{html.escape(typed)}</p>"
        return 404, "Not found", "<h1>Not found</h1>"


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            status, title, body = site.answer(parts.path, parts.query)
            head = f"<head><title>{html.escape(title)}</title></head>"
            send_html(self, f"<!doctype html><html>{head}<body>{body}</body></html>", status)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOPPER_MAP", "SHOPPER_STORE", "SHOPPER_PASSWORD", "SHOPPER_CHROMIUM", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)


def run_journey(
    pytester: pytest.Pytester, site: Site, feature: str, *extra: str, conftest: str = CONFTEST
) -> pytest.RunResult:
    (pytester.path / "map.yaml").write_text(MAP, encoding="utf-8")
    (pytester.path / "conftest.py").write_text(conftest, encoding="utf-8")
    (pytester.path / "test_journey.py").write_text(TEST_JOURNEY, encoding="utf-8")
    (pytester.path / "journey.feature").write_text(textwrap.dedent(feature), encoding="utf-8")
    return pytester.runpytest_subprocess(
        "--journey-map",
        str(pytester.path / "map.yaml"),
        "--base-url",
        site.url,
        "--store",
        str(pytester.path / "obs.db"),
        "--run-id",
        "r1",
        "-p",
        "no:cacheprovider",
        *extra,
    )


def observations(pytester: pytest.Pytester) -> pd.DataFrame:
    store = open_store(pytester.path / "obs.db")
    try:
        return store.observations(["r1"]).sort_values("seq").reset_index(drop=True)
    finally:
        store.close()


def zips(pytester: pytest.Pytester) -> list[Path]:
    return sorted(pytester.path.rglob("*.zip"))


def entries(trace: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(trace) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def trace_events(trace: Path) -> str:
    """The text of the trace's event files (JSON lines: actions, snapshots, network)."""
    found = entries(trace)
    names = [name for name in found if name.endswith((".trace", ".network"))]
    assert "trace.trace" in names
    for name in names:
        for line in found[name].decode().splitlines():
            json.loads(line)  # still JSON lines after the secrets went
    return "\n".join(found[name].decode() for name in names)


def output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


# ---------------------------------------------------------------- a failure keeps its evidence

FAILING = """\
@stage:discover
Feature: Evidence

  Scenario: The plans page lacks a plan
    Given I open "/plans?ref=newsletter#top"
    Then I should see "Platinum"
"""


def test_a_failure_keeps_a_trace_and_the_page_url_and_title(pytester: pytest.Pytester, site: Site) -> None:
    result = run_journey(
        pytester,
        site,
        FAILING
        + """
  Scenario: A page with a long title lacks its text
    Given I open the long page
    Then I should see "Short"
""",
    )

    result.assert_outcomes(failed=2)
    obs = observations(pytester)
    assert list(obs["outcome"]) == ["passed", "failed", "passed", "failed"]
    failed = obs.iloc[1]
    assert failed["page_url"] == site.url + "/plans"  # no query, no fragment
    assert failed["page_title"] == PLANS_TITLE
    screenshot, trace = Path(failed["evidence"]), Path(failed["trace"])
    assert screenshot.is_file() and trace.is_file()
    assert trace.parent == screenshot.parent and trace.name == screenshot.stem + ".zip"
    assert trace.is_relative_to(pytester.path / "evidence" / "r1")
    events = trace_events(trace)
    assert site.url + "/plans" in events
    assert "Platinum" in events  # the failed check is in the trace too
    assert any(name.startswith("resources/") for name in entries(trace))  # page snapshots

    long = obs.iloc[3]
    assert long["page_url"] == site.url + "/long"
    assert len(long["page_title"]) == 300
    assert LONG_TITLE.strip().startswith(long["page_title"])
    assert Path(long["trace"]).is_file() and long["trace"] != failed["trace"]
    # Evidence belongs to failures: passed steps carry none.
    for column in ("evidence", "trace", "page_url", "page_title"):
        assert list(obs[column][[0, 2]]) == ["", ""], column
    assert sorted(zips(pytester)) == sorted([trace, Path(long["trace"])])


def test_a_passing_scenario_leaves_no_trace_behind(pytester: pytest.Pytester, site: Site) -> None:
    result = run_journey(
        pytester,
        site,
        """\
        @stage:discover
        Feature: Evidence

          Scenario: The plans page has the team plan
            Given I open the plans page
            Then I should see "Team"

          Scenario: The plans page lacks a plan
            Given I open the plans page
            Then I should see "Platinum"
        """,
    )

    result.assert_outcomes(passed=1, failed=1)
    obs = observations(pytester)
    assert list(obs["outcome"]) == ["passed", "passed", "passed", "failed"]
    assert set(obs["trace"][:3]) == {""}
    # Tracing ran in this session; only the failing scenario kept its trace.
    assert zips(pytester) == [Path(obs["trace"][3])]


def test_no_trace_records_the_failure_without_a_trace(pytester: pytest.Pytester, site: Site) -> None:
    result = run_journey(pytester, site, FAILING, "--no-trace")

    result.assert_outcomes(failed=1)
    obs = observations(pytester)
    assert list(obs["outcome"]) == ["passed", "failed"]
    assert obs["trace"][1] == ""
    assert Path(obs["evidence"][1]).is_file()
    assert obs["page_url"][1] == site.url + "/plans"
    assert obs["page_title"][1] == PLANS_TITLE
    assert zips(pytester) == []


def test_pytest_playwright_tracing_keeps_working(pytester: pytest.Pytester, site: Site) -> None:
    result = run_journey(pytester, site, FAILING, "--tracing", "on", "--output", "pw-results")

    result.assert_outcomes(failed=1)
    obs = observations(pytester)
    assert list(obs["outcome"]) == ["passed", "failed"]
    assert "Platinum" in obs["error"][1]
    assert obs["trace"][1] == ""  # the trace is pytest-playwright's, in its own folder
    assert Path(obs["evidence"][1]).is_file()
    assert obs["page_title"][1] == PLANS_TITLE
    (kept,) = zips(pytester)
    assert kept.name == "trace.zip" and kept.is_relative_to(pytester.path / "pw-results")
    assert site.url + "/plans" in trace_events(kept)


def test_a_dead_page_costs_no_observation(pytester: pytest.Pytester, site: Site) -> None:
    conftest = CONFTEST + textwrap.dedent(
        """\
        from pytest_bdd import then

        @then("the browser tab dies")
        def tab_dies(page):
            page.context.close()
            raise AssertionError("the tab died")
        """
    )
    result = run_journey(
        pytester,
        site,
        """\
        @stage:discover
        Feature: Evidence

          Scenario: The tab dies
            Given I open the plans page
            Then the browser tab dies
        """,
        conftest=conftest,
    )

    result.assert_outcomes(failed=1)
    obs = observations(pytester)
    assert list(obs["outcome"]) == ["passed", "failed"]
    assert obs["error"][1] == "the tab died"
    assert (obs["evidence"][1], obs["trace"][1], obs["page_title"][1]) == ("", "", "")
    assert zips(pytester) == []


# ---------------------------------------------------------------- secrets


def test_the_password_reaches_no_trace_entry_store_or_path(
    pytester: pytest.Pytester, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPPER_PASSWORD", PASSWORD)
    result = run_journey(
        pytester,
        site,
        """\
        @stage:signup
        Feature: Log in through a GET form

          Scenario: I log in and the session store is down
            Given I open the get login page
            When I fill in "Password" with my password
            And I press "Log in"
        """,
        "--tb=long",
    )

    result.assert_outcomes(failed=1)
    # The secret really was typed and sent in the URL: otherwise its absence below would prove nothing.
    assert [query.get("password") for query in site.queries] == [[PASSWORD]]
    obs = observations(pytester)
    assert list(obs["outcome"]) == ["passed", "passed", "failed"]
    failed = obs.iloc[2]
    assert "HTTP 500" in failed["error"]
    assert failed["page_url"] == site.url + "/session"
    assert failed["page_title"] == "Session store is down for •••"

    trace = Path(failed["trace"])
    assert trace.name == Path(failed["evidence"]).stem + ".zip"
    found = entries(trace)
    assert "trace.trace" in found and any(name.endswith(".network") for name in found)
    for name, data in found.items():
        text = data.decode("utf-8", errors="replace")
        decoded = (unquote(text), unquote_plus(text), html.unescape(text), html.unescape(unquote(text)))
        for seen in (text, *decoded):
            assert PASSWORD not in seen, name
        for form in PASSWORD_FORMS:
            assert form.encode() not in data, (name, form)
    events = trace_events(trace)
    assert "•••" in events  # where the password was (typed, then in the URL)
    assert site.url + "/session" in events and "Log in" in events  # the trace still tells the story

    for column in obs.columns:
        for value in obs[column].astype(str):
            for form in PASSWORD_FORMS:
                assert form not in value, column
    for path in [p for p in pytester.path.glob("obs.db*") if p.is_file()]:
        for form in PASSWORD_FORMS:
            assert form.encode() not in path.read_bytes(), path.name
    for path in pytester.path.rglob("*"):
        for form in PASSWORD_FORMS:
            assert form not in str(path)
    assert PASSWORD not in output(result)
