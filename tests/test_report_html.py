"""The HTML gap report, opened in a real Chromium: every section, the segment switch, the embedded data."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from harness.analysis.actions import COVERAGE_TEAM
from harness.analysis.emotion import StageEmotion
from harness.analysis.first_value import FirstValue
from harness.analysis.gaps import GapAnalysis, analyse
from harness.analysis.movements import Movement
from harness.analysis.verdicts import TrendPoint
from harness.map.diff import MapChange
from harness.map.loading import load_map_text
from harness.observation import Run
from harness.record.browser import launch_options
from harness.report import charts
from harness.report.gap_report import report_json
from harness.report.html import render_html
from harness.report.window import Window
from harness.store.columns import OBSERVATION_COLUMNS

MAP = """\
journey: Report check
version: v2
segments: [self-serve, enterprise]
stages:
  - id: discover
    name: Discover
    customer_goal: Find out what it costs
    touchpoints:
      - {id: home-page, name: Home page, channel: web, owner: Marketing,
         expect: {within: 1s, fail_after: 10s, emotion: 1}}
      - {id: pricing-page, name: Pricing page, channel: web, owner: Marketing, moment_of_truth: true,
         expect: {within: 2s, fail_after: 10s, emotion: 1}, segments: {enterprise: {within: 500ms}}}
  - id: signup
    name: Sign up
    touchpoints:
      - {id: signup-form, name: Signup form, channel: form, owner: Product, moment_of_truth: true,
         expect: {within: 2s, fail_after: 10s, emotion: 1}}
      - {id: confirmation-email, name: Confirmation email, channel: email, owner: Product,
         expect: {within: 2m, fail_after: 15m}}
  - id: onboard
    name: Onboard
    touchpoints:
      - {id: checklist, name: Onboarding checklist, channel: web, owner: Customer Success,
         milestone: first-value, expect: {within: 2s, fail_after: 10s, emotion: 2}}
      - {id: phone-support, name: Phone support, channel: phone, owner: Support}
"""

HOSTILE = '<img src=x onerror="window.pwned=2">'
BREAKOUT = "</script><script>window.pwned=1</script>"
START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xc6\x28\x28" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _observations(screenshot: Path) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []

    def step(run: str, segment: str, stage: str, touchpoint: str | None, ms: float, **extra: Any) -> None:
        attempt = extra.pop("attempt", 1)
        rows.append(
            {
                "run_id": run,
                "seq": len(rows),
                "feature": "journey.feature",
                "scenario": f"{stage} {touchpoint}",
                "node_id": f"{run}::{stage}::{touchpoint}",
                "segment": segment,
                "stage": stage,
                "touchpoint": touchpoint,
                "step": f"Given I use {touchpoint}",
                "started_at": (START + dt.timedelta(seconds=len(rows))).isoformat(),
                "duration_ms": ms,
                "outcome": "passed",
                "error": "",
                "attempt": attempt,
                "evidence": "",
                "timed": True,
                "trace": "",
                "page_url": "",
                "page_title": "",
                **extra,
            }
        )

    for number in range(3):
        for segment in ("self-serve", "enterprise"):
            run = f"run-{segment}-{number}"
            step(run, segment, "discover", "home-page", 300 + number * 20)
            step(run, segment, "discover", "pricing-page", 900 + number * 50)
            if segment == "enterprise":
                step(
                    run,
                    segment,
                    "signup",
                    "signup-form",
                    700,
                    outcome="failed",
                    step=f"When I submit the signup form {HOSTILE}",
                    error=f"HTTP 500 on /signup\n{HOSTILE}",
                    evidence=str(screenshot),
                )
                step(run, segment, "signup", "confirmation-email", 40_000, outcome="failed", error="no mail")
                step(run, segment, "signup", "confirmation-email", 35_000, attempt=2)
            else:
                step(run, segment, "signup", "signup-form", 800)
                step(run, segment, "signup", "confirmation-email", 30_000 + number * 1000)
                step(run, segment, "onboard", "checklist", 1200)
            step(run, segment, "discover", f"/elsewhere?q={HOSTILE}", 200)
            step(run, segment, "mystery-stage", "lost-page", 200)
            step(run, segment, "discover", None, 5)
    return pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)


def _analysis(root: Path) -> tuple[GapAnalysis, Window, Path, Path]:
    screenshot = root / "evidence" / "run-1" / "signup.png"
    trace = root / "evidence" / "run-1" / "signup-trace.zip"
    screenshot.parent.mkdir(parents=True)
    screenshot.write_bytes(_png(64, 40))
    trace.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    analysis = analyse(load_map_text(MAP, root / "map.yaml"), _observations(screenshot))
    for verdict in analysis.verdicts:
        if verdict.observed.n:
            verdict.trend = [
                TrendPoint(
                    f"run-{i}",
                    visits=1,
                    failed=int(verdict.status == "failing" and i == 1),
                    p50_ms=(verdict.observed.p50_ms or 0) * (0.9 + i / 10),
                    p95_ms=None if i == 1 and verdict.status == "met" else verdict.observed.p95_ms,
                )
                for i in range(3)
            ]
    failing = analysis.verdict("signup-form", "enterprise")
    assert failing is not None and failing.status == "failing"
    failing.trace = str(trace)
    failing.page_url = f"http://acme.test/signup?next={HOSTILE}"
    failing.page_title = f"Sign up {HOSTILE}"
    emotions: dict[str, list[tuple[float, float | None, int]]] = {
        "self-serve": [(1.0, 1.5, 6), (1.0, 0.5, 6), (2.0, 1.0, 3)],
        "enterprise": [(1.0, 0.0, 6), (1.0, -2.0, 6), (2.0, None, 0)],  # never reached Onboard
    }
    analysis.emotions = [
        StageEmotion(stage.id, stage.name, segment, expected, experienced, visits)
        for segment, values in emotions.items()
        for stage, (expected, experienced, visits) in zip(analysis.journey_map.stages, values, strict=True)
    ]
    analysis.previous_runs = 6
    analysis.movements = [
        Movement(
            stage_id="discover",
            touchpoint_id="home-page",
            name="Home page",
            owner="Marketing",
            segment="self-serve",
            direction="better",
            before_status="slow",
            after_status="met",
            before_p95_ms=1400.0,
            after_p95_ms=340.0,
            before_success_rate=1.0,
            after_success_rate=1.0,
            reason="p95 fell below the 1s target",
        ),
        Movement(
            stage_id="signup",
            touchpoint_id="signup-form",
            name="Signup form",
            owner="Product",
            segment="enterprise",
            direction="worse",
            before_status="met",
            after_status="failing",
            before_p95_ms=800.0,
            after_p95_ms=700.0,
            before_success_rate=1.0,
            after_success_rate=0.0,
            reason="the form answers HTTP 500",
        ),
    ]
    rule = "the sum of `within` up to it"
    analysis.first_value = [
        FirstValue(
            "checklist", "Onboarding checklist", "self-serve", 14e3, rule, 3, 3, 33e3, 35e3, "failing"
        ),
        FirstValue(
            "checklist", "Onboarding checklist", "enterprise", 12.5e3, rule, 3, 0, None, None, "failing"
        ),
    ]
    runs = [
        Run(
            run_id=f"run-{segment}-{n}",
            started_at=START + dt.timedelta(minutes=n),
            state="finished",
            finished_at=START + dt.timedelta(minutes=n, seconds=40),
            segment=segment,
            target=f"http://acme.test/{HOSTILE}",
            map_version="v1",
        )
        for n in range(3)
        for segment in ("self-serve", "enterprise")
    ]
    return analysis, Window(runs=runs), screenshot, trace


@dataclass
class Written:
    html: Path
    text: str
    document: dict[str, Any]
    trace: Path
    analysis: GapAnalysis
    window: Window


CHANGES = [
    MapChange(
        "changed",
        "expectation",
        "discover",
        "pricing-page",
        "enterprise",
        "within",
        "1s",
        "500ms",
        name="Pricing page",
    ),
    MapChange(
        "changed",
        "expectation",
        "signup",
        "signup-form",
        "",
        "success_rate",
        "90%",
        "95%",
        name="Signup form",
    ),
    MapChange("added", "segment", "", segment="partner"),
]
EXPORTS = {"json": "gap-report.json", "actions_csv": "actions.csv", "actions_md": "actions.md"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    root = tmp_path_factory.mktemp("report")
    analysis, window, _, trace = _analysis(root)
    out_dir = root / "reports" / "latest"
    out_dir.mkdir(parents=True)
    document = report_json(analysis, window)
    document["note"] = BREAKOUT
    document["separators"] = "a\u2028b\u2029c <!-- & -->"
    text = render_html(
        analysis,
        window,
        START + dt.timedelta(hours=1),
        out_dir=out_dir,
        document=document,
        changes=CHANGES,
        recorded_version="v1",
        exports=EXPORTS,
    )
    html = out_dir / "gap-report.html"
    html.write_text(text, encoding="utf-8")
    return Written(html, text, document, trace, analysis, window)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        options = launch_options({}, playwright.chromium.executable_path)
        launched = playwright.chromium.launch(**options)  # type: ignore[arg-type]
        yield launched
        launched.close()


@dataclass
class Opened:
    page: Page
    errors: list[str]
    requests: list[str]


@pytest.fixture
def opened(browser: Browser, written: Written) -> Iterator[Opened]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(written.html.as_uri())
    yield Opened(page, errors, requests)
    page.close()


HREFS = "links => links.map(a => a.getAttribute('href'))"
SECTIONS = [
    "journey-strip",
    "segment-switch",
    "emotion-curve",
    "response-times",
    "coverage",
    "action-plan",
    "evidence",
    "trend",
    "first-value",
    "map-refresh",
    "runs",
]


def test_every_section_is_visible_offline_and_quiet(opened: Opened, tmp_path: Path) -> None:
    page = opened.page
    for section in SECTIONS:
        assert page.locator(f"#{section}").is_visible(), section
    # Readable at 1280 px: the page itself never scrolls sideways (the strip scrolls inside itself).
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.locator("#strip-seg-0 .card.failing, #strip-seg-1 .card.failing").count() >= 1
    assert page.locator("#emotion-curve .seg-0 polyline.experienced").count() == 1
    # The enterprise curve has no visit in Onboard: a gap, so the line stops at Sign up.
    assert page.locator("#emotion-curve .seg-1 polyline.experienced").count() == 1
    assert page.locator("#emotion-curve .seg-1 circle.dot-experienced").count() == 2
    shot = tmp_path / "report-1280.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert opened.errors == []
    assert all(url.startswith(("file:", "data:")) for url in opened.requests), opened.requests
    assert page.evaluate("window.pwned") is None


def test_the_segment_switch_switches_every_per_segment_part(opened: Opened) -> None:
    page = opened.page
    first, second = page.locator("#strip-seg-0"), page.locator("#strip-seg-1")
    assert first.is_visible() and not second.is_visible()
    page.locator("#segment-switch label", has_text="enterprise").click()
    assert not first.is_visible() and second.is_visible()
    for section in ("emotion-curve", "response-times", "coverage", "first-value"):
        assert not page.locator(f"#{section} .seg-pane.seg-0").is_visible(), section
        assert page.locator(f"#{section} .seg-pane.seg-1").is_visible(), section
    pricing = second.locator(".card", has_text="Pricing page")
    assert "slow" in (pricing.get_attribute("class") or "")
    assert pricing.locator(".changed").is_visible()  # the refresh tightened within for enterprise
    page.locator("#segment-switch label", has_text="self-serve").click()
    assert first.is_visible() and not second.is_visible()
    assert first.locator(".card", has_text="Pricing page").locator(".changed").count() == 0
    page.emulate_media(media="print")
    assert first.is_visible() and second.is_visible()
    assert not page.locator("#segment-switch").is_visible()


def test_the_embedded_json_is_the_document_and_cannot_break_out(opened: Opened, written: Written) -> None:
    parsed = opened.page.evaluate("JSON.parse(document.getElementById('gap-report-data').textContent)")
    assert parsed == json.loads(json.dumps(written.document))
    assert parsed["note"] == BREAKOUT and "\u2028" in parsed["separators"]
    assert BREAKOUT not in written.text and "\u2028" not in written.text
    assert opened.page.locator("script").count() == 1
    assert opened.page.evaluate("window.pwned") is None


def test_site_text_is_shown_as_text(opened: Opened, written: Written) -> None:
    page = opened.page
    entry = page.locator("#evidence .entry", has_text="Signup form")
    assert HOSTILE in entry.inner_text()
    assert f"Sign up {HOSTILE}" in entry.locator("dd").nth(2).inner_text()
    assert page.locator("img[src='x']").count() == 0
    assert HOSTILE not in written.text  # escaped everywhere, not only where this test looks
    assert HOSTILE in page.locator("#runs").inner_text()
    assert "/elsewhere?q=" in page.locator("#off-map + p + table").inner_text()


def test_evidence_embeds_the_screenshot_and_links_the_trace(opened: Opened, written: Written) -> None:
    page = opened.page
    entry = page.locator("#evidence .entry", has_text="Signup form")
    image = entry.locator("img")
    assert (image.get_attribute("src") or "").startswith("data:image/png;base64,")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 64
    link = entry.locator("a", has_text="signup-trace.zip")
    assert not (link.get_attribute("href") or "").startswith(("file:", "/"))
    assert link.evaluate("a => a.href") == written.trace.as_uri()
    # The command names the trace from the report's folder: it still works in a copy of the folder.
    relative = Path(os.path.relpath(written.trace, written.html.parent)).as_posix()
    assert f"playwright show-trace {relative}" in entry.locator("code").last.inner_text()


def test_the_action_plan_groups_by_owner_and_links_its_evidence(opened: Opened, written: Written) -> None:
    page = opened.page
    owners = page.locator("#action-plan .owner h3").all_inner_texts()
    best: dict[str, int] = {}
    for action in written.analysis.actions:
        # Untested touchpoints wait for a scenario, not for their owner: one coverage group.
        best.setdefault(COVERAGE_TEAM if action.status == "untested" else action.owner, action.priority)
    assert [owner.split(" (")[0] for owner in owners] == sorted(best, key=best.__getitem__)
    assert COVERAGE_TEAM in best
    assert "score = severity" in page.locator("#action-plan").inner_text()
    hrefs = page.locator("#action-plan .exports a").evaluate_all(HREFS)
    assert hrefs == ["actions.csv", "actions.md"]
    evidence_links = page.locator("#action-plan a[href^='#evidence-']")
    assert evidence_links.count() >= 2
    for href in evidence_links.evaluate_all(HREFS):
        assert page.locator(href).count() == 1
    product = page.locator("#action-plan .owner", has_text="Product")
    assert product.locator("tr", has_text="Signup form").locator(".mot").count() == 1


def test_trend_coverage_and_first_value(opened: Opened) -> None:
    page = opened.page
    trend = page.locator("#trend tr")
    assert "previous window of 6 run(s)" in page.locator("#trend").inner_text()
    assert "worse" in trend.nth(1).inner_text() and "better" in trend.nth(2).inner_text()
    assert "800ms → 700ms" in trend.nth(1).inner_text()
    coverage = page.locator("#coverage .seg-0 tr", has_text="Onboard").inner_text()
    assert "1 / 2" in coverage and "Phone support" in coverage
    assert "lost-page" in page.locator("#coverage").inner_text()
    assert "6 step(s) in the window were bound to no touchpoint" in page.locator("#coverage").inner_text()
    assert "3 of 3 run(s)" in page.locator("#first-value .seg-0").inner_text()
    untested = page.locator("#response-times .seg-1").inner_text()
    assert "Untested (2): Onboarding checklist, Phone support." in untested
    refresh = page.locator("#map-refresh").inner_text()
    assert "Pricing page (enterprise): within 1s → 500ms" in refresh and "v1" in refresh
    assert 'segment "partner" added' in refresh


def _render(analysis: GapAnalysis, window: Window, out_dir: Path, **extra: Any) -> str:
    return render_html(
        analysis, window, START, out_dir=out_dir, document=report_json(analysis, window), **extra
    )


def test_a_missing_or_oversized_screenshot_is_a_note(tmp_path: Path, written: Written) -> None:
    analysis = copy.deepcopy(written.analysis)
    failing = analysis.verdict("signup-form", "enterprise")
    assert failing is not None
    failing.evidence = str(tmp_path / "gone.png")
    html = _render(analysis, written.window, tmp_path)
    assert "the screenshot cannot be read" in html and "data:image/png" not in html
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024))
    failing.evidence = str(big)
    assert "too large to embed" in _render(analysis, written.window, tmp_path)


def test_without_history_changes_or_milestone_the_report_says_so(tmp_path: Path, written: Written) -> None:
    analysis = copy.deepcopy(written.analysis)
    analysis.previous_runs, analysis.movements, analysis.first_value = 0, [], []
    html = _render(analysis, written.window, tmp_path)
    assert "There is no previous window to compare with" in html
    assert 'id="map-refresh"' not in html and "expectation changed</span>" not in html.split("<body>")[1]
    assert "no run in the window measured it" in html


def test_chart_geometry() -> None:
    assert charts.polylines([(0, 1), (2, 3), None, (4, 5), (6, 7)]) == ["0,1 2,3", "4,5 6,7"]
    assert charts.axis_ticks(1800) == [0, 500, 1000, 1500, 2000]
    assert charts.axis_ticks(126_000, durations=True) == [0, 60_000, 120_000, 180_000]
    assert charts.axis_ticks(50_000, durations=True) == [0, 15_000, 30_000, 45_000, 60_000]
    bars = charts.bars(400, 1200, 1000, 900_000, width=300)
    assert bars.limit_off_scale and bars.limit_x is None
    assert bars.p50_width is not None and bars.p95_width is not None
    assert bars.p95_width == pytest.approx(3 * bars.p50_width, abs=0.2)  # drawn from zero
    assert bars.target_x is not None and bars.left < bars.target_x < bars.left + bars.p95_width
    curve = charts.emotion_curve([1, 1, 2], [1.5, None, -2], width=300, height=200)
    # No line across the stage without data: its neighbours stand alone as dots.
    assert curve.experienced_lines == [] and [i for i, _ in curve.experienced_dots] == [0, 2]
    assert curve.expected_lines == [" ".join(f"{x:g},{y:g}" for _, (x, y) in curve.expected_dots)]
    assert curve.y_ticks[0][1] == -2 and curve.y_ticks[0][0] == curve.bottom
    trend = charts.trend([None, None], [100, None], [False, True], 200, None, width=100, height=30)
    assert trend.p95_dots == [(2.0, trend.p95_dots[0][1])] and len(trend.failed) == 1
