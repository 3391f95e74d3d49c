"""Synthetic traffic is labelled: the target's server can tell every request of a run from a customer's.

Real parts: `shopper run` drives Chromium against a header-logging site of this test's own (a page
with an image, a script, a fetch and an XHR; a form whose POST answers with a redirect) and, for the
CORS case, an API on a second origin that allows any origin but no extra header.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from journeys import QuietHandler, send_html, serve, shopper_run, stored_observations, write_features

from harness.record.labels import DEFAULT_HEADER, product_token

pytestmark = pytest.mark.browser

MAP = """\
journey: Labelled traffic
version: 2030-01-01
segments: [everyone]
stages:
  - id: discover
    touchpoints:
      - id: home-page
        channel: web
        owner: Web
        url: /
        expect: {within: 5s, fail_after: 10s}
      - id: prices-page
        channel: web
        owner: Web
        url: /prices
        expect: {within: 5s, fail_after: 10s}
  - id: contact
    touchpoints:
      - id: contact-form
        channel: form
        owner: Support
        url: /contact
        expect: {within: 5s, fail_after: 10s}
      - id: thanks-page
        channel: web
        owner: Support
        url: /thanks
"""

HOME = """<!doctype html><title>Labco</title><h1>Labco</h1><img src="/logo.png" alt="logo">
<script src="/app.js"></script><p id="fetched"></p><p id="xhr"></p>"""
APP_JS = """
fetch('/api/hello').then(r => r.text()).then(t => { document.getElementById('fetched').textContent = t; });
const x = new XMLHttpRequest(); x.open('GET', '/api/xhr');
x.onload = () => { document.getElementById('xhr').textContent = x.responseText; }; x.send();
"""
CONTACT = """<!doctype html><title>Contact</title><form method="post" action="/contact">
<label for="m">Message</label><input id="m" name="message"><button type="submit">Send</button></form>"""
# The prices come from an API on another origin, as a site's single-page app often does.
PRICES = """<!doctype html><title>Prices</title><h1>Prices</h1><p id="prices">loading</p>
<script>fetch('{api}/prices').then(r => r.text())
.then(t => {{ document.getElementById('prices').textContent = t; }})
.catch(() => {{ document.getElementById('prices').textContent = 'no prices'; }});</script>"""

FEATURE = """\
Feature: Labelled traffic
  Scenario: A customer browses, and asks a question
    Given I open the home page
    Then I should see "hello from fetch"
    And I should see "hello from xhr"
    When I open "/contact"
    And I fill in "Message" with "Where is my order?"
    And I press "Send"
    Then I should see "Thanks"
    When I call GET "/api/account"
    Then the response status is 200
"""
PRICES_FEATURE = """\
Feature: Prices from another origin
  Scenario: A customer reads the prices
    Given I open the prices page
    Then I should see "Team 10 EUR"
"""


@dataclass
class Heard:
    """What a server was sent: (method, path, label header, user agent), in arrival order."""

    header: str = DEFAULT_HEADER
    requests: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, handler: QuietHandler) -> None:
        with self.lock:
            self.requests.append(
                (
                    handler.command,
                    handler.path,
                    handler.headers.get(self.header),
                    handler.headers["User-Agent"],
                )
            )


def _site(heard: Heard, api: str) -> type[QuietHandler]:
    class Site(QuietHandler):
        def do_GET(self) -> None:
            heard.add(self)
            answers = {
                "/": HOME,
                "/contact": CONTACT,
                "/thanks": "<!doctype html><title>Thanks</title><h1>Thanks</h1>",
                "/prices": PRICES.format(api=api),
                "/api/hello": "hello from fetch",
                "/api/xhr": "hello from xhr",
                "/api/account": '{"plan": "team"}',
                "/app.js": APP_JS,
            }
            send_html(self, answers.get(self.path, ""), 200 if self.path in answers else 404)

        def do_POST(self) -> None:
            heard.add(self)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            send_html(self, "", 303, {"Location": "/thanks"})

    return Site


class Api(QuietHandler):
    """An API on another origin: any origin may read it, no extra request header is allowed."""

    heard: Heard

    def do_OPTIONS(self) -> None:
        self.heard.add(self)
        send_html(self, "", 204, {"Access-Control-Allow-Origin": "*"})

    def do_GET(self) -> None:
        self.heard.add(self)
        send_html(self, "Team 10 EUR", 200, {"Access-Control-Allow-Origin": "*"})


@pytest.fixture
def servers() -> Iterator[tuple[str, Heard, Heard]]:
    site_heard, api_heard = Heard(), Heard()
    api_handler = type("TestApi", (Api,), {"heard": api_heard})
    with serve(api_handler) as api, serve(_site(site_heard, api)) as site:
        yield site, site_heard, api_heard


def _run(tmp_path: Path, site: str, feature: str, *extra: str) -> int:
    (tmp_path / "map.yaml").write_text(MAP)
    features = write_features(tmp_path / "features", feature)
    store = tmp_path / "shopper.db"
    args = ("--quiet", *extra)
    return shopper_run(
        site, features, store, *args, "--", "--no-runner-check", journey_map=tmp_path / "map.yaml"
    )


def _run_id(tmp_path: Path) -> str:
    (run_id,) = set(stored_observations(tmp_path / "shopper.db")["run_id"])
    return str(run_id)


def test_every_request_of_a_run_carries_the_run_label(
    tmp_path: Path, servers: tuple[str, Heard, Heard]
) -> None:
    site, heard, _ = servers
    assert _run(tmp_path, site, FEATURE) == 0
    kinds = {(method, path) for method, path, _, _ in heard.requests}
    # Page loads, a sub-resource, a script, fetch, XHR, the form's POST and an API call reached the site.
    expected = {("GET", "/"), ("GET", "/logo.png"), ("GET", "/app.js"), ("GET", "/api/hello")}
    expected |= {("GET", "/api/xhr"), ("GET", "/contact"), ("POST", "/contact"), ("GET", "/thanks")}
    expected |= {("GET", "/api/account")}  # an API call through the context's request client
    assert expected <= kinds
    run_id = _run_id(tmp_path)
    unlabelled = [r for r in heard.requests if r[2] != run_id or not r[3].endswith(product_token())]
    assert unlabelled == [], f"{len(unlabelled)} of {len(heard.requests)} requests went unlabelled"
    assert "HeadlessChrome" in heard.requests[0][3]  # the browser's own agent, extended, not replaced


def test_no_label_header_sends_none_and_the_agent_still_says_shopper(
    tmp_path: Path, servers: tuple[str, Heard, Heard]
) -> None:
    site, heard, _ = servers
    assert _run(tmp_path, site, FEATURE, "--no-label-header") == 0
    assert heard.requests and all(header is None for _, _, header, _ in heard.requests)
    assert all(agent.endswith(product_token()) for _, _, _, agent in heard.requests)


def test_a_header_renamed_is_sent_under_its_new_name(
    tmp_path: Path, servers: tuple[str, Heard, Heard]
) -> None:
    site, heard, _ = servers
    heard.header = "X-Synthetic"
    assert _run(tmp_path, site, FEATURE, "--label-header", "X-Synthetic") == 0
    run_id = _run_id(tmp_path)
    assert heard.requests and all(header == run_id for _, _, header, _ in heard.requests)


def test_an_api_that_refuses_the_label_is_the_harnesss_doing_not_the_owners(
    tmp_path: Path, servers: tuple[str, Heard, Heard]
) -> None:
    site, _, api_heard = servers
    assert _run(tmp_path, site, PRICES_FEATURE) == 1
    observations = stored_observations(tmp_path / "shopper.db")
    seen = observations[observations["step"].str.contains("Team 10 EUR")].iloc[0]
    # The preflight the label caused was refused: a harness error naming the header, not "failed".
    assert seen["outcome"] == "error"
    assert DEFAULT_HEADER in seen["error"] and "--no-label-header" in seen["error"]
    assert ("OPTIONS", "/prices") in {(m, p) for m, p, _, _ in api_heard.requests}

    # Without the header the same customer reads the prices: the site was never to blame.
    (tmp_path / "shopper.db").unlink()
    api_heard.requests.clear()
    assert _run(tmp_path, site, PRICES_FEATURE, "--no-label-header") == 0
    assert [(m, p) for m, p, _, _ in api_heard.requests] == [("GET", "/prices")]
