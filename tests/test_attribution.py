"""Every wait charged to the touchpoint that caused it, timed as the browser saw it.

Real parts only: pytest runs the scenarios in a subprocess (pytester) driving a real Chromium
against a small HTTP server of this test's own, whose login form's POST answers with a 303 to a
welcome page after a delay the test injects (or with a 500); the tests read the SQLite store back
and judge it with the real gap analysis.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from journeys import send_html

from harness.analysis.gaps import analyse
from harness.errors import MapError
from harness.map.journey_map import url_match
from harness.map.loading import load_map, load_map_text
from harness.store.sqlite import open_store

pytest_plugins = ["pytester"]

MAP = """\
journey: Attribution test journey
version: 2030-02-01
segments: [self-serve]
stages:
  - id: discover
    touchpoints:
      - id: home-page
        channel: web
        owner: Web
        url: /
      - id: pricing-page
        channel: web
        owner: Web
        url: /pricing
        expect: {within: 5s, fail_after: 20s}
  - id: signup
    touchpoints:
      - id: login-page
        name: Login page
        channel: form
        owner: Identity
        url: /login
        expect: {within: 1s, fail_after: 8s}
      - id: welcome-page
        channel: web
        owner: Web
        url: /welcome
        expect: {within: 3s, fail_after: 20s}   # the injected delay: met means its own load was less
      - id: account-page
        channel: web
        owner: Web
        url: /account
      - id: signup-page
        channel: form
        owner: Identity
        url: /signup
      - id: confirm-page
        channel: web
        owner: Identity
        url: /confirm/{key}/
"""

CONFTEST = """\
from pytest_bdd import then

pytest_plugins = ["harness.record.plugin", "harness.steps.web", "harness.steps.forms", "harness.steps.signup"]


@then("the page lacks a plan")
def lacks_a_plan(page):
    raise AssertionError("no plan on the page")
"""
TEST_JOURNEY = 'from pytest_bdd import scenarios\n\nscenarios(".")\n'
LINK_HIDDEN_MS = 2500  # the pricing link appears this long after the home page loads


def page(body: str, script: str = "") -> str:
    return f"<!doctype html><html><head><title>Testco</title>{script}</head><body>{body}</body></html>"


LOGIN = page(
    '<form method="post" action="/session">'
    '<label for="email">Email</label><input id="email" name="email" type="email">'
    '<label for="password">Password</label><input id="password" name="password" type="password">'
    '<button type="submit">Log in</button></form>'
)
SIGNUP = page(
    '<form method="post" action="/signup">'
    '<label for="email">Email</label><input id="email" name="email" type="email">'
    '<button type="submit">Sign up</button></form>'
)
# The link says when it appeared (the browser's Date.now()): the server hears it with the click.
HOME = page(
    '<h1>Testco</h1><a id="pricing" href="/pricing" style="display:none">See pricing</a>',
    "<script>addEventListener('load', () => setTimeout(() => {"
    " const link = document.getElementById('pricing');"
    " link.href = '/pricing?shown=' + Date.now(); link.style.display = 'inline';"
    f" }}, {LINK_HIDDEN_MS}))</script>",
)
PAGES = {
    "/": HOME,
    "/login": LOGIN,
    "/signup": SIGNUP,
    "/pricing": page("<h1>Pricing</h1><p>Team</p>"),
    "/welcome": page('<h1>Welcome back</h1><a href="/account">My account</a>'),
    "/account": page("<h1>Your account</h1>"),
    "/confirm/abc123/": page("<h1>Confirm your email</h1>"),
}


class Site:
    """The test's own site: what each login POST does is queued by the test, in scenario order."""

    def __init__(self) -> None:
        self.url = ""
        self.posts: list[tuple[float, int]] = []  # (delay in seconds, status) per POST /session
        self.delays: dict[str, float] = {}  # GET path -> seconds before the answer
        self.shown: list[int] = []  # when the pricing link appeared (epoch ms), as each click said
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def answer(self, method: str, path: str, query: str = "") -> tuple[int, str, dict[str, str]]:
        if method == "POST" and path == "/session":
            with self.lock:
                delay, status = self.posts.pop(0) if self.posts else (0.0, 303)
            self.stop.wait(delay)
            if status == 303:
                return 303, "", {"Location": "/welcome"}
            return status, page("<h1>Sessions are down for maintenance</h1>"), {}
        if method == "POST" and path == "/signup":
            return 303, "", {"Location": "/confirm/abc123/"}
        self.stop.wait(self.delays.get(path, 0.0))
        if "shown=" in query:
            self.shown.append(int(query.split("shown=", 1)[1].split("&", 1)[0]))
        if path in PAGES:
            return 200, PAGES[path], {}
        return 404, page("<h1>Not found</h1>"), {}


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._reply()

        def _reply(self) -> None:
            path, _, query = self.path.partition("?")
            status, body, headers = site.answer(self.command, path, query)
            send_html(self, body, status, headers)

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
        site.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOPPER_MAP", "SHOPPER_STORE", "SHOPPER_PASSWORD", "SHOPPER_CHROMIUM", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)


def run_journey(pytester: pytest.Pytester, site: Site, feature: str) -> pytest.RunResult:
    (pytester.path / "map.yaml").write_text(MAP, encoding="utf-8")
    (pytester.path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
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
    )


def observations(pytester: pytest.Pytester) -> pd.DataFrame:
    store = open_store(pytester.path / "obs.db")
    try:
        return store.observations(["r1"]).sort_values("seq").reset_index(drop=True)
    finally:
        store.close()


def analysis(pytester: pytest.Pytester) -> Any:
    store = open_store(pytester.path / "obs.db")
    try:
        frame = store.analysis_frame(["r1"])
    finally:
        store.close()
    return analyse(load_map(pytester.path / "map.yaml"), frame)


def scenario(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame[frame["scenario"] == name].reset_index(drop=True)


def at(frame: pd.DataFrame, touchpoint: str, step: str) -> pd.Series:
    found = frame[(frame["touchpoint"] == touchpoint) & frame["step"].str.contains(step, regex=False)]
    assert len(found) == 1, (touchpoint, step, frame[["touchpoint", "step", "outcome"]])
    return found.iloc[0]


# ---------------------------------------------------------------- a submit's wait and its reply

LOGIN_FEATURE = """\
@stage:signup
Feature: Log in

  Scenario: A slow login
    Given I open the login page
    When I log in with my account
    Then I am on the welcome page
    And I should see "Welcome back"

  Scenario: Sessions are down
    Given I open the login page
    When I log in with my account
    Then I am on the welcome page
    When I click "My account"
    Then I am on the account page

  Scenario: A login slower than five seconds
    Given I open the login page
    When I log in with my account
    Then I am on the welcome page

  Scenario: A login slower than its fail_after
    Given I open the login page
    When I log in with my account
    Then I am on the welcome page
"""


def test_each_wait_of_a_submit_is_charged_to_the_touchpoint_that_made_the_customer_wait(
    pytester: pytest.Pytester, site: Site
) -> None:
    # In scenario order: a 3 s reply, a 500, a reply slower than 5 s but within fail_after 8 s, one past it.
    site.posts = [(3.0, 303), (0.0, 500), (5.5, 303), (9.0, 303)]
    result = run_journey(pytester, site, LOGIN_FEATURE)
    result.assert_outcomes(passed=2, failed=2)
    obs = observations(pytester)

    # (a) The login form's reply took the injected 3 s; the welcome page's own load is its own.
    slow = scenario(obs, "A slow login")
    reply = at(slow, "login-page", "I log in")
    landing = at(slow, "welcome-page", "I log in")
    assert (reply["outcome"], landing["outcome"]) == ("passed", "passed")
    assert reply["duration_ms"] >= 3000
    assert landing["duration_ms"] < reply["duration_ms"]
    assert at(slow, "welcome-page", "I am on the welcome page")["outcome"] == "passed"

    # (b) A 500 from the POST is the login form failing, in the error page's own words.
    down = scenario(obs, "Sessions are down")
    failed = at(down, "login-page", "I log in")
    assert failed["outcome"] == "failed"
    assert "Sessions are down for maintenance" in failed["error"]
    assert "Login page answered HTTP 500" in failed["error"]

    # (c) No hidden cap: a 5.5 s reply within fail_after is measured; one past fail_after fails.
    slower = at(scenario(obs, "A login slower than five seconds"), "login-page", "I log in")
    assert (slower["outcome"], slower["duration_ms"] >= 5500) == ("passed", True)
    stuck = at(scenario(obs, "A login slower than its fail_after"), "login-page", "I log in")
    assert stuck["outcome"] == "failed"
    assert stuck["duration_ms"] >= 8000

    judged = analysis(pytester)
    assert judged.verdict("welcome-page", "self-serve").status == "met"
    login = judged.verdict("login-page", "self-serve")
    assert login.status == "failing"
    assert login.observed.max_ms >= 8000

    # (f) The account page was never reached: blocked by the failing login, not missing a scenario.
    account = judged.verdict("account-page", "self-serve")
    assert account.status == "untested"
    assert account.blocked_by == "Login page"
    assert "blocked by Login page" in account.gap
    fix = next(action for action in judged.actions if action.touchpoint_id == "account-page")
    assert fix.what_to_fix.startswith("Unblock Account page")
    assert "Login page" in fix.what_to_fix
    assert "Write a scenario" not in fix.what_to_fix
    # A touchpoint nothing tried still asks for a scenario.
    home = next(action for action in judged.actions if action.touchpoint_id == "home-page")
    assert home.what_to_fix.startswith("Write a scenario")


# ---------------------------------------------------------------- what the browser saw, not the harness

CLICK_FEATURE = """\
@stage:discover
Feature: Browse

  Scenario: I click my way to the prices
    Given I open the home page
    When I click "See pricing"
    Then I am on the pricing page

  Scenario: I open the prices
    Given I open the pricing page

  Scenario: The plans are missing
    Given I open the pricing page
    Then the page lacks a plan
    And I should see "Team"

  @stage:signup
  Scenario: I sign up and land on a page whose url the site made up
    Given I open the signup page
    When I sign up with my details
    Then I am on the confirm page
    And I should see "Confirm your email"
"""


def test_a_visit_is_timed_by_the_browser_without_actionability_or_evidence(
    pytester: pytest.Pytester, site: Site
) -> None:
    site.delays["/pricing"] = 1.0
    result = run_journey(pytester, site, CLICK_FEATURE)
    result.assert_outcomes(passed=3, failed=1)
    obs = observations(pytester)

    # (d) The click waited for the link to appear (actionability): the harness's time, not the page's.
    clicked = at(scenario(obs, "I click my way to the prices"), "pricing-page", "I click")
    assert clicked["duration_ms"] >= 1000  # the injected delay: a lower bound it cannot beat
    assert clicked["wall_ms"] > clicked["duration_ms"]
    (shown,) = site.shown
    began = pd.Timestamp(clicked["started_at"]).timestamp() * 1000.0
    # The step waited shown − began for the link before the click; none of it is the page's.
    assert clicked["wall_ms"] - clicked["duration_ms"] >= shown - began - 2
    assert shown > began  # the link appeared during the click step: a real wait for it
    opened = at(scenario(obs, "I open the prices"), "pricing-page", "I open")
    assert opened["duration_ms"] >= 1000
    assert opened["wall_ms"] >= opened["duration_ms"]

    # (g) The failed step's clock stopped before its evidence was written.
    frozen = scenario(obs, "The plans are missing")
    failed = at(frozen, "pricing-page", "the page lacks a plan")
    assert failed["outcome"] == "failed" and failed["evidence"] and failed["trace"]
    assert at(frozen, "pricing-page", "I should see")["outcome"] == "skipped"
    stopped = pd.Timestamp(failed["started_at"]).timestamp() + failed["duration_ms"] / 1000.0
    assert stopped < Path(failed["evidence"]).stat().st_mtime <= Path(failed["trace"]).stat().st_mtime
    assert failed["wall_ms"] == failed["duration_ms"]

    # (e) The signup form's reply is the form's; the confirmation page binds by its url template.
    signup = scenario(obs, "I sign up and land on a page whose url the site made up")
    assert at(signup, "signup-page", "I sign up")["outcome"] == "passed"
    assert at(signup, "confirm-page", "I sign up")["outcome"] == "passed"
    assert at(signup, "confirm-page", "I am on the confirm page")["outcome"] == "passed"
    assert at(signup, "confirm-page", "I should see")["outcome"] == "passed"


# ---------------------------------------------------------------- one url rule, checked by the map


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/confirm/{key}/", "/confirm/abc123/", True),
        ("/confirm/{key}/", "/confirm/abc123", True),
        ("/confirm/{key}/", "/confirm/", False),
        ("/accounts/confirm-email/{key}/", "/accounts/confirm-email/Mg:1t:x/", True),
        ("/orders/order-{number}", "/orders/order-42/items", True),
        ("/orders/order-{number}", "/orders/invoice-42", False),
        ("/pricing", "/pricing-old", False),
        ("/", "/pricing", False),
        ("/", "/", True),
    ],
)
def test_a_url_is_a_prefix_or_a_template(pattern: str, path: str, matches: bool) -> None:
    assert (url_match(pattern, path) is not None) is matches


def test_the_most_specific_url_wins_and_a_stray_brace_is_a_map_error(tmp_path: Path) -> None:
    journey_map = load_map_text(MAP, tmp_path / "map.yaml")
    found = journey_map.touchpoint_for_url("/confirm/xyz/")
    assert found is not None and found.id == "confirm-page"
    broken = MAP.replace("url: /confirm/{key}/", "url: /confirm/{key/")
    with pytest.raises(MapError, match="stray brace") as raised:
        load_map_text(broken, tmp_path / "map.yaml")
    assert raised.value.line == MAP.splitlines().index("        url: /confirm/{key}/") + 1


def test_a_template_url_cannot_be_opened(tmp_path: Path) -> None:
    from harness.errors import HarnessError
    from harness.record.context import Customer, Shopper

    journey_map = load_map_text(MAP, tmp_path / "map.yaml")
    shopper = Shopper(journey_map, "self-serve", Customer("A", "a@example.test", "pw"), base_url="http://x")
    confirm = journey_map.touchpoint("confirm-page")
    assert confirm is not None
    with pytest.raises(HarnessError, match="cannot be opened"):
        shopper.url_for(confirm)


def test_an_older_store_gains_the_wall_time_column(tmp_path: Path) -> None:
    import sqlite3

    from test_store import OLD_SCHEMA, T0, make_obs

    from harness.observation import StepObserved

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    store = open_store(path)
    try:
        store.handle(StepObserved(make_obs("old", 2, T0, duration_ms=1012.0, wall_ms=1740.5)))
        walls = store.observations(["old"]).sort_values("seq")["wall_ms"].tolist()
    finally:
        store.close()
    assert pd.isna(walls[0]) and walls[1] == 1740.5  # recorded before the harness kept it: unknown
