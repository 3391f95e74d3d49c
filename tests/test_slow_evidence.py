"""A slow touchpoint's evidence, a partly measured stage and a content miss, from a real run.

Real parts: `shopper run` drives Chromium against a site served here on loopback; the page's
image is held back by the server, so the page is slow for a reason the report must show (its
screenshot and the waterfall row of that image). The store is a real SQLite file; the report is
written from it as `shopper report` writes it, but judged without the runner's health, so that a
busy test machine cannot hold the slow verdict back (that rule has tests of its own).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from journeys import QuietHandler, send_html, serve, shopper_run, stored_observations, write_features
from PIL import Image
from test_report_schema import errors_of

from harness.analysis.gaps import analyse
from harness.map.loading import load_map
from harness.record.secrets import MASK_COLOR
from harness.report.gap_report import write_report
from harness.report.window import Window
from harness.store.sqlite import open_store

DELAY_S = 1.2  # how long the server holds the image back: a lower bound of the image's duration
PASSWORD = "Wat3rfall-s3cret"
# A 1×1 PNG.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a4f70000000049454e44ae426082"
)

MAP = """\
journey: Slow evidence
version: v1
segments: [self-serve]
stages:
  - id: discover
    touchpoints:
      - {id: plans-page, channel: web, owner: Web, url: /plans, expect: {within: 1s, fail_after: 10s}}
      - {id: blog-page, channel: web, owner: Web, url: /blog, expect: {within: 1s, fail_after: 10s}}
  - id: words
    touchpoints:
      - {id: words-page, channel: web, owner: Web, url: /words, expect: {within: 5s, fail_after: 5s}}
  - id: broken
    touchpoints:
      - {id: broken-page, channel: web, owner: Web, url: /broken, expect: {within: 5s, fail_after: 5s}}
"""

FEATURE = """\
Feature: Slow evidence

  @stage:discover
  Scenario: The plans page waits for its picture
    Given I open the plans page

  @stage:words
  Scenario: A page that loaded lacks its words
    Given I open the words page
    Then I should see "Pricing for teams"

  @stage:broken
  Scenario: A page that breaks
    Given I open the broken page
"""


class Site(QuietHandler):
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/hero.png":
            time.sleep(DELAY_S)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PIXEL)))
            self.end_headers()
            self.wfile.write(PIXEL)
        elif path == "/plans":
            # The image's query carries the customer's password: a careless tracking pixel.
            body = f'<h1>Plans</h1><p>for {html.escape(PASSWORD)}</p><img src="/hero.png?u={PASSWORD}">'
            send_html(self, f"<!doctype html><title>Plans</title>{body}")
        elif path == "/words":
            send_html(self, "<!doctype html><title>Words</title><h1>Something else</h1>")
        elif path == "/broken":
            send_html(self, "<!doctype html><title>Oops</title><h1>Server error</h1>", status=500)
        else:
            send_html(self, "<h1>Not found</h1>", status=404)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("slow")
    (root / "map.yaml").write_text(MAP)
    features = write_features(root / "features", FEATURE)
    patch = pytest.MonkeyPatch()
    patch.setenv("SHOPPER_PASSWORD", PASSWORD)
    try:
        with serve(Site) as url:
            args = ("--quiet", "--evidence-dir", str(root / "evidence"))
            assert shopper_run(url, features, root / "obs.db", *args, journey_map=root / "map.yaml") == 1
    finally:
        patch.undo()
    yield root


def _report(root: Path) -> tuple[Path, dict[str, Any]]:
    out = root / "report"
    store = open_store(root / "obs.db")
    try:
        runs = store.runs()
        run_ids = [run.run_id for run in runs]
        frame, slowest = store.analysis_frame(run_ids), store.slowest_visits(run_ids)
    finally:
        store.close()
    analysis = analyse(load_map(root / "map.yaml"), frame, run_order=run_ids)
    write_report(analysis, Window(runs=runs, previous=[]), out, slow_visits=slowest)
    return out / "gap-report.html", json.loads((out / "gap-report.json").read_text())


@pytest.fixture(scope="module")
def report(recorded: Path) -> tuple[Path, dict[str, Any]]:
    return _report(recorded)


def _verdict(document: dict[str, Any], touchpoint: str) -> dict[str, Any]:
    found = [tp for stage in document["stages"] for tp in stage["touchpoints"] if tp["id"] == touchpoint]
    return dict(found[0]["segments"]["self-serve"])


def test_the_page_visit_keeps_its_requests_and_a_slow_screenshot(recorded: Path) -> None:
    store = open_store(recorded / "obs.db")
    try:
        (visit,) = [
            v for v in store.slowest_visits([r.run_id for r in store.runs()]) if v.touchpoint == "plans-page"
        ]
    finally:
        store.close()
    assert visit.duration_ms >= DELAY_S * 1000  # the page's load waited for its image
    names = [request.name for request in visit.page.requests]
    assert visit.page.requests[0].kind == "navigation" and names[0].endswith("/plans")
    (image,) = [request for request in visit.page.requests if request.name.endswith("/hero.png")]
    assert image.kind == "img" and image.duration_ms >= DELAY_S * 1000
    assert "?" not in image.name  # the query (and the password in it) is gone
    shot = Path(visit.page.screenshot)
    assert shot.is_file() and shot.name.endswith("-slow.png")
    assert shot.is_relative_to(recorded / "evidence")
    # The page shows the password: the slow page's screenshot masks it as the evidence at failure does.
    mask = tuple(int(MASK_COLOR[i : i + 2], 16) for i in (1, 3, 5))
    with Image.open(shot) as image:
        colors = image.convert("RGB").getcolors(maxcolors=image.width * image.height) or []
        assert sum(count for count, color in colors if color == mask) > 100
    # The screenshot was taken after the customer's wait: the step's wall time is the page's.
    obs = stored_observations(recorded / "obs.db")
    assert PASSWORD not in (recorded / "obs.db").read_bytes().decode("utf-8", "replace")
    plans = obs[obs["touchpoint"] == "plans-page"].iloc[0]
    assert plans["outcome"] == "passed" and plans["evidence"] == ""  # evidence at failure stays for failures


def test_a_slow_touchpoint_shows_its_screenshot_and_the_request_that_held_it_up(
    report: tuple[Path, dict[str, Any]],
) -> None:
    page, document = report
    assert _verdict(document, "plans-page")["status"] == "slow"
    text = page.read_text()
    section = text.split('<div class="slow-visit">', 1)[1].split("</table>", 1)[0]
    assert '<img src="data:image/png;base64,' in section
    rows = re.findall(
        r'<tr data-duration-ms="([0-9.]+)"[^>]*><td class="request"[^>]*><code>([^<]*)</code>', section
    )
    durations = {unquote(html.unescape(name)).rsplit("/", 1)[-1]: float(ms) for ms, name in rows}
    assert durations["hero.png"] >= DELAY_S * 1000
    assert "plans" in durations  # the page's own request opens the waterfall
    (marked,) = re.findall(r'class="slowest"><td class="request"[^>]*><code>([^<]*)</code>', section)
    assert marked.endswith("/hero.png")  # the request that held the page up is the one marked
    assert PASSWORD not in text
    (slowest,) = document["slowest_visits"]  # the JSON report holds the same evidence
    assert slowest["touchpoint_id"] == "plans-page" and slowest["screenshot"].endswith("-slow.png")
    assert any(
        r["name"].endswith("/hero.png") and r["duration_ms"] >= DELAY_S * 1000 for r in slowest["requests"]
    )
    assert errors_of(document) == []  # and follows docs/report.schema.json


def test_a_partly_measured_stage_is_marked(report: tuple[Path, dict[str, Any]]) -> None:
    page, document = report
    discover = next(e for e in document["emotions"] if e["stage_id"] == "discover")
    assert (discover["measured"], discover["touchpoints"], discover["partly_measured"]) == (1, 2, True)
    words = next(e for e in document["emotions"] if e["stage_id"] == "words")
    assert (words["measured"], words["touchpoints"], words["partly_measured"]) == (1, 1, False)
    assert (
        page.read_text().count("partly measured (1 of 2 touchpoints)") >= 2
    )  # on the curve and in its table


def test_a_content_miss_scores_milder_than_a_broken_page(
    recorded: Path, report: tuple[Path, dict[str, Any]]
) -> None:
    obs = stored_observations(recorded / "obs.db")
    failed = obs[obs["outcome"] == "failed"].set_index("touchpoint")
    assert failed.loc["words-page", "failure"] == "content"
    assert failed.loc["broken-page", "failure"] == ""  # the 500 is the page's failure, not its words'
    page, document = report
    emotions = {e["stage_id"]: e["experienced"] for e in document["emotions"]}
    assert emotions["words"] > emotions["broken"]
    assert (emotions["words"], emotions["broken"]) == (-1.0, -2.0)
    assert _verdict(document, "words-page")["status"] == "failing"  # still the owner's failing gap
    assert "content check" in document["emotion_rule"] and "content check" in page.read_text()


def test_trace_links_still_resolve_in_a_copied_report_folder(
    recorded: Path, report: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    page, _ = report
    hrefs = re.findall(r'<a href="([^"]+\.zip)">', page.read_text())
    assert hrefs  # the broken page's failure kept a trace
    copy = tmp_path / "elsewhere"
    shutil.copytree(recorded / "report", copy / "report")
    shutil.copytree(recorded / "evidence", copy / "evidence")
    for href in hrefs:
        assert not href.startswith(("/", "file:")), href
        assert (copy / "report" / unquote(html.unescape(href))).is_file(), href
    assert f"playwright show-trace {unquote(hrefs[0])}" in html.unescape(page.read_text())
