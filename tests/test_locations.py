"""Locations: every run records where it walked from; the report shows each touchpoint per location
and calls out a touchpoint that falls short at one location only (harness/analysis/locations.py).

The store is filled through its own event API (as the recorder fills it); tests/test_workers.py
proves on a real run that `shopper run --location` reaches the runs row.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from test_report_schema import errors_of
from test_store import OLD_SCHEMA

from harness.observation import Observation, Run, RunFinished, RunStarted, StepObserved
from harness.report.gap_report import build_report
from harness.store.sqlite import open_store

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
MAP = """\
journey: Locations
version: l1
stages:
  - id: evaluate
    touchpoints:
      - id: pricing
        name: Pricing page
        channel: web
        url: /pricing
        expect: {within: 1s, fail_after: 10s}
      - id: home
        name: Home page
        channel: web
        url: /
        expect: {within: 1s, fail_after: 10s}
"""


def _fill(store_path: Path, runs: list[tuple[str, dict[str, float]]]) -> None:
    """One run per (location, {touchpoint: duration}), each visiting every touchpoint once."""
    store = open_store(store_path)
    try:
        for number, (location, durations) in enumerate(runs):
            run_id = f"run-{number}"
            started = T0 + dt.timedelta(minutes=number)
            store.handle(RunStarted(Run(run_id, started, host="elsewhere.invalid", location=location)))
            for seq, (touchpoint, duration) in enumerate(durations.items(), start=1):
                store.handle(
                    StepObserved(
                        Observation(
                            run_id=run_id,
                            feature="evaluate.feature",
                            scenario="I compare the plans",
                            node_id=f"test_{touchpoint}",
                            segment="default",
                            stage="evaluate",
                            touchpoint=touchpoint,
                            step=f"Given I open the {touchpoint} page",
                            started_at=started + dt.timedelta(seconds=seq),
                            duration_ms=duration,
                            outcome="passed",
                            seq=seq,
                        )
                    )
                )
            store.handle(RunFinished(run_id, "finished", finished_at=started + dt.timedelta(seconds=30)))
    finally:
        store.close()


def _report(tmp_path: Path, runs: list[tuple[str, dict[str, float]]]) -> tuple[dict[str, Any], str]:
    map_path = tmp_path / "map.yaml"
    map_path.write_text(MAP, encoding="utf-8")
    _fill(tmp_path / "shopper.db", runs)
    built = build_report(
        store_url=str(tmp_path / "shopper.db"), map_path=map_path, out_dir=tmp_path / "out", last=len(runs)
    )
    return json.loads(built.json_path.read_text()), built.html_path.read_text()


SLOW_FROM_EU = [
    ("eu-west", {"pricing": 3000.0, "home": 200.0}),
    ("us-east", {"pricing": 300.0, "home": 250.0}),
    ("eu-west", {"pricing": 2800.0, "home": 210.0}),
    ("us-east", {"pricing": 320.0, "home": 240.0}),
]


def test_a_touchpoint_slow_from_one_location_only_is_called_out(tmp_path: Path) -> None:
    document, html = _report(tmp_path, SLOW_FROM_EU)
    locations = document["locations"]
    assert locations["names"] == ["eu-west", "us-east"]
    assert locations["callouts"] == ["Pricing page is slow from eu-west only (met from us-east)"]
    by_touchpoint = {tp["touchpoint_id"]: tp for tp in locations["touchpoints"]}
    pricing = {at["location"]: at for at in by_touchpoint["pricing"]["at"]}
    assert (pricing["eu-west"]["status"], pricing["us-east"]["status"]) == ("slow", "met")
    assert pricing["eu-west"]["runs"] == 2 and pricing["eu-west"]["p95_ms"] > 2000
    assert by_touchpoint["pricing"]["overall"] == "slow"  # half the runs over 1s: p95 overall too
    assert by_touchpoint["home"]["callout"] == ""
    assert {at["status"] for at in by_touchpoint["home"]["at"]} == {"met"}
    assert [run["location"] for run in document["runs"]] == ["eu-west", "us-east", "eu-west", "us-east"]
    assert errors_of(document) == []  # docs/report.schema.json describes the new fields
    section = html[html.index('<section id="locations">') : html.index('<section id="inbox">')]
    assert "Pricing page is slow from eu-west only (met from us-east)" in section
    assert "<th>eu-west</th>" in section and "<th>us-east</th>" in section
    assert "How locations are compared:" in section  # the rule is stated, as the others are
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "- Pricing page is slow from eu\\-west only \\(met from us\\-east\\)" in summary  # md-escaped


def test_one_location_shows_no_comparison(tmp_path: Path) -> None:
    document, html = _report(tmp_path, [("eu-west", durations) for _, durations in SLOW_FROM_EU])
    assert document["locations"]["names"] == ["eu-west"]
    assert document["locations"]["touchpoints"] == [] and document["locations"]["callouts"] == []
    assert "Every run in the window walked from eu-west" in html


def test_a_location_name_is_escaped_in_the_report(tmp_path: Path) -> None:
    hostile = "<script>alert('loc')</script>"
    document, html = _report(tmp_path, [(hostile if loc == "eu-west" else loc, d) for loc, d in SLOW_FROM_EU])
    said = f"Pricing page is slow from {hostile} only (met from us-east)"
    assert document["locations"]["callouts"] == [said]
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(" in html


def test_a_store_of_an_older_harness_gains_the_location_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    store = open_store(path)
    try:
        (run,) = store.runs()
        assert run.location == ""
        assert store.analysis_frame(["old"])["location"].astype(str).tolist() == [""]
        store.handle(RunStarted(Run("new", T0, host="elsewhere.invalid", location="eu-west")))
        assert {r.run_id: r.location for r in store.runs()} == {"old": "", "new": "eu-west"}
    finally:
        store.close()


def test_a_run_opened_again_keeps_its_earliest_start(tmp_path: Path) -> None:
    """Workers of a parallel run each open it, in any order: the later opening keeps the earlier start."""
    store = open_store(tmp_path / "shopper.db")
    try:
        store.handle(RunStarted(Run("r", T0 + dt.timedelta(seconds=3), host="elsewhere.invalid")))
        store.handle(RunStarted(Run("r", T0, host="elsewhere.invalid")))
        store.handle(RunStarted(Run("r", T0 + dt.timedelta(seconds=5), host="elsewhere.invalid")))
        (run,) = store.runs()
        assert run.started_at == T0
    finally:
        store.close()


def test_a_schedule_file_names_the_location_its_runs_walk_from(tmp_path: Path) -> None:
    from harness.ops.schedule_file import load_schedule

    path = tmp_path / "schedule.yaml"
    path.write_text("target: http://x\nmap: m.yaml\nfeatures: f\nevery: 5m\nlocation: eu-west\n")
    assert load_schedule(path).location == "eu-west"
    path.write_text("target: http://x\nmap: m.yaml\nfeatures: f\nevery: 5m\n")
    assert load_schedule(path).location == ""  # the host name, as `shopper run` records it
