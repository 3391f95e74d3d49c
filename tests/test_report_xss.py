"""A hostile target site: what it puts in page titles, error texts and URLs reaches the report as text.

The site is real (an HTTP server), the run is real (Chromium through `shopper run`), the report
is opened in a real Chromium twice: as written, and with its Content-Security-Policy removed, so
that escaping alone is shown to keep every payload inert.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from journeys import serve, shopper_run, write_features
from playwright.sync_api import sync_playwright

from harness.cli import main
from harness.record.browser import launch_options

# Each payload would set window.__xss (or open a dialog) if it ever ran.
PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    '<svg onload="window.__xss=3"></svg>',
    '"><script>window.__xss=4</script>',
    "'><img src=x onerror=window.__xss=5>",
    "</title><script>window.__xss=6</script>",
    '<iframe srcdoc="<script>parent.__xss=7</script>"></iframe>',
    '<a href="javascript:window.__xss=8">click me</a>',
    "</script><script>window.__xss=9</script>",
    '<body onload="alert(10)">',
    "<style>body{display:none}</style>",
    "{{ 7*7 }} ${7*7} <!-- comment -->",
    '<math><mtext><table><mglyph><style><img src=x onerror="window.__xss=13">',
]
# Survives a URL path unencoded: breaking out of a quoted attribute is the risk here.
URL_PAYLOAD = "'onmouseover='window.__xss=99'x"


class HostileSite(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = self.path.split("/")
        if len(parts) == 3 and parts[1] == "p":  # /p/N: off to a URL carrying a payload
            self.send_response(302)
            self.send_header("Location", f"/p/{parts[2]}/{URL_PAYLOAD}")
            self.end_headers()
            return
        number = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
        payload = html.escape(PAYLOADS[number % len(PAYLOADS)])
        # Escaped here, so that the page's title and heading *text* is exactly the payload.
        body = f"<!doctype html><title>{payload}</title><link rel=icon href='data:,'><h1>{payload}</h1>"
        data = body.encode()
        self.send_response(500)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve(HostileSite) as url:
        yield url


def _map() -> str:
    touchpoints = "".join(
        # Every page answers HTTP 500, so each check fails at once on it, whatever fail_after says;
        # fail_after bounds the page's open, and a loaded runner may take over a second for it.
        f"      - {{id: page-{n}, channel: web, owner: Web, url: /p/{n},"
        " expect: {within: 1s, fail_after: 20s}}\n"
        for n in range(len(PAYLOADS))
    )
    header = "journey: Hostile\nversion: v1\nsegments: [self-serve]\nstages:\n  - id: visit\n"
    return f"{header}    touchpoints:\n{touchpoints}"


def _feature() -> str:
    examples = "".join(f"      | {n} |\n" for n in range(len(PAYLOADS)))
    return (
        "@stage:visit\nFeature: Visit a hostile site\n\n"
        "  Scenario Outline: Page <n>\n"
        '    Given I open "/p/<n>"\n'
        '    Then I should see "a friendly page"\n\n'
        f"    Examples:\n      | n |\n{examples}"
    )


@pytest.fixture(scope="module")
def report(site: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("hostile")
    (root / "map.yaml").write_text(_map())
    features = write_features(root / "features", _feature())
    status = shopper_run(site, features, root / "obs.db", "--quiet", journey_map=root / "map.yaml")
    assert status == 1  # every page failed
    assert main(["report", "--store", str(root / "obs.db"), "--out", str(root / "out")]) == 1
    return root / "out", json.loads((root / "out" / "gap-report.json").read_text())


def test_the_payloads_were_recorded_raw(report: tuple[Path, dict[str, Any]]) -> None:
    _, document = report
    verdicts = [tp["segments"]["self-serve"] for tp in document["stages"][0]["touchpoints"]]
    assert [v["page_title"] for v in verdicts] == PAYLOADS
    assert all(unquote(v["page_url"]).endswith(URL_PAYLOAD) for v in verdicts)
    for verdict, payload in zip(verdicts, PAYLOADS, strict=True):
        assert verdict["error"].endswith(payload) and URL_PAYLOAD in unquote(verdict["error"])


@pytest.mark.parametrize("policy", ["with CSP", "without CSP"])
def test_no_payload_runs_and_every_one_reads_as_text(
    report: tuple[Path, dict[str, Any]], tmp_path: Path, policy: str
) -> None:
    out, _ = report
    page_file = out / "gap-report.html"
    if policy == "without CSP":
        text = page_file.read_text()
        assert 'http-equiv="Content-Security-Policy"' in text
        page_file = tmp_path / "gap-report.html"
        page_file.write_text(text.replace('http-equiv="Content-Security-Policy"', 'name="removed"'))
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options({}, playwright.chromium.executable_path))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(page_file.as_uri())
        page.wait_for_timeout(300)  # an onload or onerror handler would have run by now
        # And an onmouseover one, wherever it hid.
        page.evaluate(
            "() => document.querySelectorAll('*').forEach(e => e.dispatchEvent(new MouseEvent('mouseover')))"
        )
        ran = page.evaluate("() => window.__xss ?? null")
        injected = page.evaluate(
            """() => ({
                scripts: [...document.scripts].filter(s => s.id !== 'gap-report-data').length,
                images: document.querySelectorAll('img:not([src^="data:"])').length,
                frames: document.querySelectorAll('iframe, svg[onload], [onmouseover], [onerror]').length,
                links: document.querySelectorAll('a[href^="javascript:"]').length,
                hidden: getComputedStyle(document.body).display,
            })"""
        )
        shown = page.locator("#evidence").inner_text()
        embedded = page.evaluate("() => JSON.parse(document.getElementById('gap-report-data').textContent)")
        browser.close()
    assert ran is None and dialogs == []
    assert injected == {"scripts": 0, "images": 0, "frames": 0, "links": 0, "hidden": "block"}
    for payload in PAYLOADS:
        assert payload in shown, payload
    assert URL_PAYLOAD in unquote(shown)
    titles = [tp["segments"]["self-serve"]["page_title"] for tp in embedded["stages"][0]["touchpoints"]]
    assert titles == PAYLOADS  # the embedded JSON kept its content and its script element


def _slow_store(root: Path) -> Path:
    """A store holding one slow page visit whose requests are named by the payloads.

    A browser percent-encodes markup in the URLs it requests, so a real site cannot get raw markup
    into Resource Timing names; the store is written directly here (a real SQLite store, the real
    report and browser) so that the waterfall's escaping is shown even for names that could.
    """
    import datetime as dt

    from harness.observation import (
        Observation,
        PageEvidence,
        PageRequest,
        Run,
        RunFinished,
        RunStarted,
        StepObserved,
    )
    from harness.store.sqlite import open_store

    journey_map = root / "map.yaml"
    journey_map.write_text(
        "journey: Hostile\nversion: v1\nsegments: [self-serve]\nstages:\n  - id: visit\n    touchpoints:\n"
        "      - {id: slow-page, channel: web, owner: Web, url: /slow,"
        " expect: {within: 1s, fail_after: 9s}}\n"
    )
    started = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    requests = [
        PageRequest(f"http://site.test/{p}", 10.0 * n, 100.0, 10, "img") for n, p in enumerate(PAYLOADS)
    ]
    page = PageEvidence(url=f"http://site.test/slow/{URL_PAYLOAD}", requests=requests)
    store = open_store(root / "obs.db")
    store.handle(RunStarted(Run("r1", started, state="running", map_path=str(journey_map))))
    store.handle(
        StepObserved(
            Observation(
                run_id="r1",
                feature="f",
                scenario="s",
                node_id="n",
                segment="self-serve",
                stage="visit",
                touchpoint="slow-page",
                step="Given I open the slow page",
                started_at=started,
                duration_ms=3000.0,
                outcome="passed",
                seq=1,
                page=page,
            )
        )
    )
    store.handle(RunFinished("r1", "finished"))
    store.close()
    return root / "obs.db"


@pytest.mark.parametrize("policy", ["with CSP", "without CSP"])
def test_request_names_in_the_waterfall_read_as_text(tmp_path: Path, policy: str) -> None:
    store = _slow_store(tmp_path)
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "out")]) == 1  # a slow gap
    page_file = tmp_path / "out" / "gap-report.html"
    text = page_file.read_text()
    if policy == "without CSP":
        page_file.write_text(text.replace('http-equiv="Content-Security-Policy"', 'name="removed"'))
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options({}, playwright.chromium.executable_path))
        page = browser.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(page_file.as_uri())
        page.wait_for_timeout(300)
        page.evaluate(
            "() => document.querySelectorAll('*').forEach(e => e.dispatchEvent(new MouseEvent('mouseover')))"
        )
        ran = page.evaluate("() => window.__xss ?? null")
        handlers = page.evaluate(
            "() => document.querySelectorAll('[onmouseover], [onerror], [onload]').length"
        )
        shown = page.locator(".waterfall").inner_text()
        browser.close()
    assert ran is None and dialogs == [] and handlers == 0
    for payload in PAYLOADS:
        assert f"http://site.test/{payload}" in shown, payload
