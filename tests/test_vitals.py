"""Web vitals per page visit, from a real run: a hero image held back makes LCP poor while TTFB stays
good, a late image without dimensions shifts the layout, and the report rates both.

Real parts: `shopper run` drives Chromium against a site served here on loopback; the store is a
real SQLite file; the report is written from it as `shopper report` does, judged without the
runner's health (that rule has tests of its own). Times are only bounded from below, by the delays
the server injects.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from journeys import DEMO_MAP, QuietHandler, send_html, serve, shopper_run, write_features
from test_report_schema import errors_of

from harness.analysis.gaps import analyse
from harness.analysis.verdicts import Verdict
from harness.analysis.vitals import judge_vitals, rate, summarise
from harness.demo.pages import BADGE, hero_png
from harness.errors import MapError
from harness.map.journey_map import Expectation
from harness.map.loading import load_map_text
from harness.observation import PageVitals, VisitVitals
from harness.report.gap_report import write_report
from harness.report.window import Window
from harness.store import schema
from harness.store.sqlite import open_store

# The hero image is held back this long: a lower bound of the page's LCP, past web.dev's 4s "poor"
# (3s would leave the rating to the machine's speed: needs improvement up to 4s).
HERO_DELAY_S = 4.1
BADGE_DELAY_S = 0.5  # the badge arrives after the first paint, and moves the words below it

MAP = """\
journey: Vitals
version: v1
segments: [self-serve]
stages:
  - id: discover
    touchpoints:
      - {id: hero-page, channel: web, owner: Web, url: /hero, expect: {within: 20s, fail_after: 30s}}
      - {id: shift-page, channel: web, owner: Web, url: /shift, expect: {within: 20s, fail_after: 30s}}
"""

FEATURE = """\
Feature: Vitals

  @stage:discover
  Scenario: The hero page and the page that shifts
    Given I open the hero page
    And I open the shift page
"""


class Site(QuietHandler):
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/hero.png":
            time.sleep(HERO_DELAY_S)
            self._send(hero_png(), "image/png")
        elif path == "/badge.svg":
            time.sleep(BADGE_DELAY_S)
            self._send(BADGE.encode(), "image/svg+xml")
        elif path == "/hero":
            body = '<h1>Hero</h1><img src="/hero.png" width=480 height=240 alt="hero"><p>Words.</p>'
            send_html(self, f'<!doctype html><title>Hero</title><link rel="icon" href="data:,">{body}')
        elif path == "/shift":
            words = "<p>" + "Words that move down when the badge arrives. " * 20 + "</p>"
            # No icon: the browser asks for /favicon.ico, which this site does not have.
            page = f'<!doctype html><title>Shift</title><h1>Shift</h1><img src="/badge.svg">{words}'
            send_html(self, page)
        else:
            send_html(self, "<h1>Not found</h1>", status=404)

    def _send(self, data: bytes, kind: str) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("vitals")
    (root / "map.yaml").write_text(MAP)
    features = write_features(root / "features", FEATURE)
    with serve(Site) as url:
        assert shopper_run(url, features, root / "obs.db", "--quiet", journey_map=root / "map.yaml") == 0
    yield root


def _stored(store_path: Path) -> tuple[list[VisitVitals], Any]:
    store = open_store(store_path)
    try:
        run_ids = [run.run_id for run in store.runs()]
        return store.visit_vitals(run_ids), (store.runs(), store.analysis_frame(run_ids))
    finally:
        store.close()


def test_every_page_visit_keeps_its_vitals(recorded: Path) -> None:
    visits, _ = _stored(recorded / "obs.db")
    by_page = {visit.touchpoint: visit.vitals for visit in visits}
    assert set(by_page) == {"hero-page", "shift-page"}
    hero = by_page["hero-page"]
    assert hero.lcp_ms is not None and hero.lcp_ms >= HERO_DELAY_S * 1000
    assert hero.ttfb_ms is not None and hero.fcp_ms is not None and hero.load_ms is not None
    assert hero.load_ms >= HERO_DELAY_S * 1000  # the page's load waited for its image
    assert hero.requests == 2 and hero.transferred_bytes is not None
    assert hero.transferred_bytes >= len(hero_png())
    assert hero.failed_requests == 0 and hero.console_errors == 0
    shift = by_page["shift-page"]
    assert shift.cls is not None and shift.cls > 0
    assert shift.failed_requests >= 1  # its /favicon.ico answered 404


def test_a_held_back_hero_makes_lcp_poor_and_the_touchpoint_slow(recorded: Path) -> None:
    visits, (runs, frame) = _stored(recorded / "obs.db")
    # Without a promise the poor LCP is rated and shown, never a gap: the map did not ask for it.
    unpromised = analyse(load_map_text(MAP, recorded / "map.yaml"), frame, vitals=visits)
    hero = next(s for s in unpromised.vitals if s.touchpoint_id == "hero-page")
    assert hero.figure("lcp").rating == "poor" and not hero.figure("lcp").breached  # type: ignore[union-attr]
    assert unpromised.verdict("hero-page", "self-serve").status == "met"  # type: ignore[union-attr]
    promised = MAP.replace(
        "url: /hero, expect: {within: 20s, fail_after: 30s}",
        "url: /hero, expect: {within: 20s, fail_after: 30s, lcp: 2.5s}",
    )
    journey_map = load_map_text(promised, recorded / "map.yaml")
    analysis = analyse(journey_map, frame, vitals=visits)
    hero = next(s for s in analysis.vitals if s.touchpoint_id == "hero-page")
    lcp, ttfb = hero.figure("lcp"), hero.figure("ttfb")
    assert lcp is not None and lcp.p75 >= HERO_DELAY_S * 1000 and lcp.rating == "poor" and lcp.breached
    assert ttfb is not None and ttfb.rating == "good"
    verdict = analysis.verdict("hero-page", "self-serve")
    assert verdict is not None and verdict.status == "slow"  # within 20s is met: the vital is the gap
    assert verdict.gap.startswith("LCP p75 ") and "the map promises 2.5s" in verdict.gap
    action = next(a for a in analysis.actions if a.touchpoint_id == "hero-page")
    assert action.what_to_fix == f"Speed up the page of Hero page for self-serve customers: {verdict.gap}"

    out = recorded / "report"
    write_report(analysis, Window(runs=runs, previous=[]), out)
    document = json.loads((out / "gap-report.json").read_text())
    assert errors_of(document) == []
    rows = {row["touchpoint"]: row for row in document["vitals"]["touchpoints"]}
    assert {v["name"]: v["rating"] for v in rows["hero-page"]["vitals"]}["lcp"] == "poor"
    html = (out / "gap-report.html").read_text()
    assert 'data-vital="lcp"' in html and "LCP " in html and "poor" in html


def test_a_promised_vital_is_breached_over_its_promise_and_named() -> None:
    journey_map = load_map_text(MAP.replace("fail_after: 30s}", "fail_after: 30s, lcp: 2.5s, cls: 0.5}"))
    visits = [
        VisitVitals("hero-page", "self-serve", "r", n, PageVitals(lcp_ms=ms, cls=0.3, ttfb_ms=100.0))
        for n, ms in enumerate((2000.0, 3000.0, 4100.0, 4100.0))
    ]
    summaries = summarise(journey_map, visits)
    lcp, cls = summaries[0].figure("lcp"), summaries[0].figure("cls")
    assert lcp is not None and lcp.promise == 2500.0 and lcp.breached and lcp.rating == "poor"
    # Poor by web.dev, but the map promises 0.5: not a breach.
    assert cls is not None and cls.rating == "poor" and not cls.breached
    observed = analyse(journey_map, _empty_frame()).verdicts[0].observed
    verdict = Verdict(
        "discover", "hero-page", "Hero", "web", "Web", False, "self-serve", "met", Expectation(), observed
    )
    judge_vitals([verdict], summaries)
    assert verdict.status == "slow" and verdict.gap == "LCP p75 4.1s; the map promises 2.5s"
    assert rate("ttfb", 800.0) == "good" and rate("ttfb", 801.0) == "needs-improvement"
    assert rate("inp", 501.0) == "poor"


def _empty_frame() -> Any:
    import pandas as pd

    from harness.store.columns import OBSERVATION_COLUMNS

    return pd.DataFrame(columns=OBSERVATION_COLUMNS)


def test_a_bad_vital_promise_names_its_line() -> None:
    bad = MAP.replace("fail_after: 30s}", "fail_after: 30s, cls: lots}", 1)
    with pytest.raises(MapError) as raised:
        load_map_text(bad)
    assert raised.value.line == 7 and "cls must be a layout-shift score" in str(raised.value)
    with pytest.raises(MapError) as raised:
        load_map_text(MAP.replace("fail_after: 30s}", "fail_after: 30s, lcp: soon}", 1))
    assert raised.value.line == 7


def test_no_vitals_reads_none(tmp_path: Path) -> None:
    (tmp_path / "map.yaml").write_text(MAP)
    feature = FEATURE.replace("    Given I open the hero page\n    And I open", "    Given I open")
    features = write_features(tmp_path / "features", feature)
    with serve(Site) as url:
        args = ("--quiet", "--", "--no-vitals")  # the plugin's option, through to pytest
        assert shopper_run(url, features, tmp_path / "obs.db", *args, journey_map=tmp_path / "map.yaml") == 0
    visits, (_, frame) = _stored(tmp_path / "obs.db")
    assert visits == [] and (frame["touchpoint"] == "shift-page").any()


def test_a_store_from_before_the_vitals_table_opens_and_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(schema.SCHEMA)  # the runs and observations of an older harness, no page_vitals
        row = ("old", "2026-01-01T00:00:00+00:00", "finished")
        db.execute("INSERT INTO runs (run_id, started_at, state) VALUES (?, ?, ?)", row)
    store = open_store(path)
    try:
        assert store.visit_vitals(["old"]) == []
        assert [run.run_id for run in store.runs()] == ["old"]
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(page_vitals)")}
    assert {"lcp_ms", "cls", "ttfb_ms", "console_errors"} <= columns


def test_the_demo_report_rates_lcp_cls_and_ttfb_of_every_web_page_visited(
    demo: tuple[Path, dict[str, Any]],
) -> None:
    out, document = demo
    assert errors_of(document) == []
    rated = {(row["touchpoint"], row["segment"]): row["vitals"] for row in document["vitals"]["touchpoints"]}
    visited = [
        (tp["id"], segment)
        for stage in document["stages"]
        for tp in stage["touchpoints"]
        if tp["channel"] == "web"
        for segment, verdict in tp["segments"].items()
        if verdict["status"] in ("met", "slow")
    ]
    assert {segment for _, segment in visited} == {"self-serve", "enterprise"}
    for key in visited:
        names = {vital["name"] for vital in rated.get(key, [])}
        assert names >= {"lcp", "cls", "ttfb"}, key
    # The home page's hero image is its largest contentful paint, after the page's first paint.
    home = {vital["name"]: vital for vital in rated[("home-page", "self-serve")]}
    assert home["lcp"]["p75"] >= home["fcp"]["p75"]
    html = (out / "gap-report.html").read_text()
    assert html.count('data-vital="ttfb"') >= len(visited)


def test_delaying_the_demo_hero_makes_only_the_home_page_lcp_poor(tmp_path: Path) -> None:
    from harness.demo import load_faults_text, start_acme

    delay_ms = 4100  # past web.dev's 4s: poor, whatever the machine's speed
    features = write_features(
        tmp_path / "features",
        "@stage:discover\nFeature: Home\n\n  Scenario: Home\n    Given I open the home page\n",
    )
    with start_acme(load_faults_text(f"latency_ms: {{/hero.png: {delay_ms}}}"), tmp_path / "mail") as acme:
        assert shopper_run(acme.url, features, tmp_path / "obs.db", "--quiet", "--segment", "self-serve") == 0
    visits, (_, frame) = _stored(tmp_path / "obs.db")
    analysis = analyse(load_map_text(DEMO_MAP.read_text(), DEMO_MAP), frame, vitals=visits)
    home = next(s for s in analysis.vitals if s.touchpoint_id == "home-page")
    lcp, ttfb = home.figure("lcp"), home.figure("ttfb")
    assert lcp is not None and lcp.p75 >= delay_ms and lcp.rating == "poor"
    assert ttfb is not None and ttfb.rating == "good"  # the page itself answered at once
    verdict = analysis.verdict("home-page", "self-serve")
    assert verdict is not None and verdict.status == "slow" and "LCP p75" in verdict.gap


def test_a_segment_override_adds_to_the_vitals_promised() -> None:
    text = MAP.replace("segments: [self-serve]", "segments: [self-serve, enterprise]").replace(
        "fail_after: 30s}", "fail_after: 30s, lcp: 2.5s, cls: 0.1}, segments: {enterprise: {lcp: 1.5s}}", 1
    )
    touchpoint = load_map_text(text).touchpoint("hero-page")
    assert touchpoint is not None
    assert touchpoint.expectation("self-serve").vital("lcp") == 2500.0
    assert touchpoint.expectation("enterprise").vital("lcp") == 1500.0
    assert touchpoint.expectation("enterprise").vital("cls") == 0.1


def test_the_metrics_expose_each_vital_and_its_rating() -> None:
    import datetime as dt

    from harness.observation import Run
    from harness.ops.metrics import Metrics

    journey_map = load_map_text(MAP)
    visits = [VisitVitals("hero-page", "self-serve", "r", 1, PageVitals(lcp_ms=4500.0, cls=0.05))]
    metrics = Metrics(journey_map)
    started = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    metrics.record_run(Run("r", started, "finished"), _empty_frame(), [], summarise(journey_map, visits))
    text = metrics.exposition().decode()
    where = 'segment="self-serve",touchpoint="hero-page"'
    assert f'shopper_web_vital_p75{{{where},vital="lcp"}} 4.5' in text
    assert f'shopper_web_vital_rating{{rating="poor",{where},vital="lcp"}} 1.0' in text
    assert f'shopper_web_vital_rating{{rating="good",{where},vital="cls"}} 1.0' in text
    assert f'shopper_web_vital_rating{{rating="poor",{where},vital="cls"}} 0.0' in text


def test_a_changed_vital_promise_is_a_map_change() -> None:
    from harness.map.diff import diff_maps

    before = load_map_text(MAP.replace("fail_after: 30s}", "fail_after: 30s, lcp: 2.5s}", 1))
    after = load_map_text(MAP.replace("fail_after: 30s}", "fail_after: 30s, lcp: 2s, cls: 0.1}", 1))
    sentences = [change.sentence for change in diff_maps(before, after)]
    assert "Hero page: vitals lcp 2.5s → cls 0.1, lcp 2s" in sentences
