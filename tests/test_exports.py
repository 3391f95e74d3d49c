"""The report's other formats: action plan CSV and Markdown, Markdown summary, JUnit XML, observations CSV.

The analysis is the real one (harness.analysis.gaps.analyse) over synthetic observations that reach every
status; only the window-over-window figures (movements, first value) are made by hand.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.analysis.actions import Action
from harness.analysis.first_value import FirstValue
from harness.analysis.gaps import GapAnalysis, analyse
from harness.analysis.movements import Movement
from harness.errors import HarnessError
from harness.map.loading import load_map_text
from harness.observation import Observation, Run, RunFinished, RunStarted, StepObserved
from harness.report.exports import (
    ACTION_COLUMNS,
    actions_csv,
    actions_markdown,
    markdown_summary,
    md_escape,
)
from harness.report.junit import junit_xml
from harness.report.observations_csv import write_observations_csv
from harness.report.window import Window
from harness.store.columns import OBSERVATION_COLUMNS
from harness.store.sqlite import open_store

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
IMG = "<img src=x onerror=alert(1)>"
LINK = "[click](javascript:alert(1))"
HOSTILE = f"{IMG} {LINK}\nsecond line"

MAP_YAML = """\
journey: Status check
version: v1
segments: [self-serve, enterprise]
stages:
  - id: browse
    name: Browse
    touchpoints:
      - {id: fast-page, name: Fast page, channel: web, owner: Web, url: /fast,
         expect: {within: 2s, fail_after: 10s}}
      - {id: slow-page, name: Slow page, channel: web, owner: Web, url: /slow,
         expect: {within: 150ms, fail_after: 10s}}
  - id: buy
    name: Buy
    touchpoints:
      - {id: broken-page, name: Broken page, channel: web, owner: Platform, url: /broken,
         moment_of_truth: true, expect: {within: 2s, fail_after: 10s}}
      - {id: stuck-page, name: Stuck page, channel: web, owner: Platform, url: /stuck,
         expect: {within: 500ms, fail_after: 1s}}
      - {id: flaky-page, name: Flaky page, channel: web, owner: Web, url: /flaky,
         expect: {within: 2s, fail_after: 10s}}
      - {id: never-page, name: Never page, channel: web, owner: Web, url: /never,
         expect: {within: 2s, fail_after: 10s}}
"""

# Per segment: the status each touchpoint must reach from the observations below.
EXPECTED = {
    ("fast-page", "self-serve"): "met",
    ("slow-page", "self-serve"): "slow",
    ("broken-page", "self-serve"): "failing",
    ("stuck-page", "self-serve"): "failing",
    ("flaky-page", "self-serve"): "flaky",
    ("never-page", "self-serve"): "untested",
    ("fast-page", "enterprise"): "met",
    ("slow-page", "enterprise"): "untested",
    ("broken-page", "enterprise"): "untested",
    ("stuck-page", "enterprise"): "untested",
    ("flaky-page", "enterprise"): "untested",
    ("never-page", "enterprise"): "untested",
}
OFF_MAP = "/sale_[50%]*(now)"


def observations(broken_error: str = HOSTILE) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []

    def step(run: str, segment: str, stage: str, touchpoint: str, ms: float, **changes: Any) -> None:
        row = {
            "run_id": run,
            "seq": len(rows),
            "feature": f"{stage}.feature",
            "scenario": f"The {touchpoint}",
            "node_id": f"scenarios/test_journey.py::test_{touchpoint}[{segment}]",
            "segment": segment,
            "stage": stage,
            "touchpoint": touchpoint,
            "step": f"I open the {touchpoint}",
            "started_at": (T0 + dt.timedelta(seconds=len(rows))).isoformat(),
            "duration_ms": ms,
            "outcome": "passed",
            "error": "",
            "attempt": 1,
            "evidence": "",
            "timed": 1,
            "trace": "",
            "page_url": "",
            "page_title": "",
        }
        rows.append({**row, **changes})

    for run in ("run-1", "run-2"):
        step(run, "self-serve", "browse", "fast-page", 100)
        step(run, "self-serve", "browse", "slow-page", 400)
        step(
            run,
            "self-serve",
            "buy",
            "broken-page",
            80,
            outcome="failed",
            error=broken_error,
            evidence='=HYPERLINK("http://evil.test","shot.png")',
        )
        step(run, "self-serve", "buy", "stuck-page", 3000)
        step(run, "self-serve", "browse", OFF_MAP, 50)
        step(run, "enterprise", "browse", "fast-page", 120)
    step("run-1", "self-serve", "buy", "flaky-page", 90, outcome="failed", error="HTTP 503")
    step("run-1", "self-serve", "buy", "flaky-page", 90, attempt=2)
    return pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)


def make_analysis(broken_error: str = HOSTILE) -> GapAnalysis:
    return analyse(load_map_text(MAP_YAML), observations(broken_error))


def make_window() -> Window:
    return Window(
        runs=[
            Run("run-1", T0, state="finished", finished_at=T0 + dt.timedelta(minutes=5)),
            Run("run-2", T0 + HOUR, state="finished", finished_at=T0 + 2 * HOUR),
        ]
    )


@pytest.fixture
def analysis() -> GapAnalysis:
    made = make_analysis()
    # The fixture is only worth something if the real analysis reaches every status.
    assert {(v.touchpoint_id, v.segment): v.status for v in made.verdicts} == EXPECTED
    assert [(v.touchpoint_id, v.status) for v in made.off_map] == [(OFF_MAP, "off-map")]
    return made


# --- action plan CSV ---------------------------------------------------------------------------------


def test_actions_csv_parses_back_in_priority_order(analysis: GapAnalysis) -> None:
    reader = csv.DictReader(io.StringIO(actions_csv(analysis), newline=""))
    rows = list(reader)
    assert reader.fieldnames == ACTION_COLUMNS
    assert ACTION_COLUMNS[:3] == ["priority", "owner", "stage"] and ACTION_COLUMNS[-1] == "evidence"
    gaps = [status for status in EXPECTED.values() if status != "met"]
    assert [int(row["priority"]) for row in rows] == list(range(1, len(gaps) + 1))
    first = rows[0]
    assert (first["touchpoint"], first["stage"], first["segment"], first["status"]) == (
        "broken-page",
        "buy",
        "self-serve",
        "failing",
    )
    assert first["owner"] == "Platform" and first["moment_of_truth"] == "yes"
    assert float(first["score"]) == analysis.actions[0].score
    # The first line of the error is the cause; a CSV cell keeps its text as is.
    assert first["what_to_fix"].endswith(f": {IMG} {LINK}")
    assert Counter(row["status"] for row in rows) == Counter(gaps)


def test_actions_csv_neutralises_formulas(analysis: GapAnalysis) -> None:
    analysis.actions[1].owner = "@SUM(1+1)"
    analysis.actions[2].what_to_fix = "-2+3"
    rows = list(csv.DictReader(io.StringIO(actions_csv(analysis), newline="")))
    assert rows[0]["evidence"] == '\'=HYPERLINK("http://evil.test","shot.png")'
    assert rows[1]["owner"] == "'@SUM(1+1)"
    assert rows[2]["what_to_fix"] == "'-2+3"
    # Numbers are not text: left as they are.
    assert rows[2]["priority"] == "3" and not rows[2]["score"].startswith("'")


# --- Markdown ----------------------------------------------------------------------------------------


def test_md_escape_leaves_no_markup() -> None:
    escaped = md_escape(HOSTILE)
    assert "<" not in escaped and ">" not in escaped
    assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in escaped
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in escaped
    assert "\n" not in escaped and escaped.endswith(" second line")
    assert md_escape("a & b | c # d *e* _f_ `g` !h") == "a &amp; b \\| c \\# d \\*e\\* \\_f\\_ \\`g\\` \\!h"
    assert md_escape("\x1b[31mred\x1b[0m\x00") == "red"
    long = md_escape("x" * 1000, 200)
    assert len(long) == 200 and long.endswith("…")
    # The cut is made before escaping, so it never leaves half an escape behind.
    assert md_escape("(" * 300, 200) == "\\(" * 199 + "…"


def test_actions_markdown_groups_by_owner_in_order_of_best_priority(analysis: GapAnalysis) -> None:
    text = actions_markdown(analysis)
    assert "score = severity" in text  # the stated priority rule
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert headings == ["### Platform", "### Web", "### Coverage: scenarios to write or fix"]
    platform, rest = text.split("### Web")
    web, coverage = rest.split("### Coverage")
    by_team = {"Platform": platform, "Web": web, "Coverage": coverage}
    for action in analysis.actions:
        team = "Coverage" if action.status == "untested" else action.owner
        for name, section in by_team.items():
            assert (f"**#{action.priority}** " in section) == (name == team), (action, name)
    line = next(line for line in text.splitlines() if line.startswith("- **#1** "))
    assert line.startswith("- **#1** Broken page (buy, self\\-serve) — failing ★: Make Broken page")
    assert IMG not in text and LINK not in text and "<img" not in text
    assert "&lt;img" in text


def test_actions_markdown_without_gaps() -> None:
    analysis = make_analysis()
    analysis.actions = []
    assert "Nothing to fix" in actions_markdown(analysis)


def _movement(name: str, direction: str, before: str, after: str, reason: str) -> Movement:
    return Movement(
        stage_id="browse",
        touchpoint_id=name.lower().replace(" ", "-"),
        name=name,
        owner="Web",
        segment="self-serve",
        direction=direction,
        before_status=before,
        after_status=after,
        before_p95_ms=100.0,
        after_p95_ms=400.0,
        before_success_rate=1.0,
        after_success_rate=1.0,
        reason=reason,
    )


def test_markdown_summary(analysis: GapAnalysis) -> None:
    analysis.previous_runs = 2
    analysis.movements = [
        _movement("Slow page", "worse", "met", "slow", "p95 went from 100ms to 400ms"),
        _movement("Fast page", "better", "slow", "met", "p95 went from 3s to 100ms"),
    ]
    analysis.first_value = [
        FirstValue(
            touchpoint_id="broken-page",
            name="Broken page",
            segment="self-serve",
            expected_ms=300_000,
            expected_rule="sum of the `within` targets on the way",
            runs=2,
            reached=1,
            p50_ms=4200.0,
            p95_ms=4200.0,
            status="met",
        )
    ]
    text = markdown_summary(analysis, make_window(), html_name="report 1.html")
    assert "**Gap report: Status check** (map v1)" in text
    assert "2 runs, 2026-11-01 09:00 – 2026-11-01 11:00 UTC" in text
    assert "2 met · 1 slow · 2 failing · 1 flaky · 6 untested · 1 off-map" in text
    assert "- self\\-serve → Broken page: p50 4.2s vs 5m expected (met), reached in 1/2 runs" in text
    worse, better = text.index("Got worse:"), text.index("Got better:")
    assert worse < text.index("Slow page (self\\-serve, Web): met → slow") < better
    assert better < text.index("Fast page (self\\-serve, Web): slow → met")
    assert "](report%201.html#actions)" in text
    ci = markdown_summary(analysis, make_window(), html_name="https://ci.test/a/gap report (1).html?x=1")
    assert "](https://ci.test/a/gap%20report%20%281%29.html?x=1#actions)" in ci
    assert "1. Broken page (buy, self\\-serve) — failing ★ — Platform:" in text
    assert IMG not in text and LINK not in text and "<img" not in text
    assert "- /sale\\_\\[50%\\]\\*\\(now\\) (browse, self\\-serve): 2 visit(s)" in text
    assert OFF_MAP not in text


def test_markdown_summary_without_previous_window_and_with_many_actions(analysis: GapAnalysis) -> None:
    extra = [
        Action(
            priority=len(analysis.actions) + n,
            score=0.1,
            owner="Web",
            touchpoint_id=f"extra-{n}",
            touchpoint_name=f"Extra {n}",
            stage_id="browse",
            segment="self-serve",
            status="untested",
            moment_of_truth=False,
            what_to_fix=f"Write a scenario for extra {n}",
        )
        for n in range(1, 4)
    ]
    analysis.actions += extra
    assert analysis.previous_runs == 0 and not analysis.first_value
    text = markdown_summary(analysis, make_window())
    assert "No previous window to compare with." in text
    assert "Got worse" not in text and "Time to first value" not in text
    listed = [line for line in text.splitlines() if line[:1].isdigit() and ". " in line[:4]]
    assert [int(line.split(".", 1)[0]) for line in listed] == list(range(1, 11))
    assert f"…and {len(analysis.actions) - 10} more in the [full plan](gap-report.html#actions)." in text


def test_markdown_summary_cuts_a_long_error() -> None:
    analysis = make_analysis("boom " * 200)
    line = next(line for line in markdown_summary(analysis, make_window()).splitlines() if "Broken" in line)
    assert line.endswith("…") and len(line) < 320


# --- JUnit XML ---------------------------------------------------------------------------------------


def _counts(element: ET.Element) -> tuple[int, int, int, int]:
    def count(key: str) -> int:
        return int(element.get(key, "-1"))

    return count("tests"), count("failures"), count("skipped"), count("errors")


def test_junit_counts_match_the_statuses(analysis: GapAnalysis) -> None:
    root = ET.fromstring(junit_xml(analysis, make_window()))
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["Browse", "Buy", "off-map"]
    # Browse: fast ×2 met, slow self-serve slow, slow enterprise untested.
    assert _counts(suites["Browse"]) == (4, 1, 1, 0)
    # Buy: broken, stuck failing, flaky flaky (self-serve); the rest untested.
    assert _counts(suites["Buy"]) == (8, 3, 5, 0)
    assert _counts(suites["off-map"]) == (1, 1, 0, 0)
    assert _counts(root) == (13, 5, 6, 0)
    for suite in suites.values():
        members = suite.findall("testcase")
        assert int(suite.get("tests", "")) == len(members)
        assert int(suite.get("failures", "")) == sum(1 for c in members if c.find("failure") is not None)
        assert int(suite.get("skipped", "")) == sum(1 for c in members if c.find("skipped") is not None)
    cases = {case.get("name"): case for case in root.iter("testcase")}
    slow = cases["Slow page [self-serve]"]
    assert slow.get("classname") == "Status check.browse" and slow.get("time") == "0.400"
    failure = slow.find("failure")
    assert failure is not None and failure.get("type") == "slow"
    verdict = analysis.verdict("slow-page", "self-serve")
    assert verdict is not None and failure.get("message") == verdict.gap
    broken = cases["Broken page [self-serve]"].find("failure")
    assert broken is not None and broken.get("type") == "failing"
    assert broken.text is not None and IMG in broken.text and "I open the broken-page" in broken.text
    flaky = cases["Flaky page [self-serve]"].find("failure")
    assert flaky is not None and flaky.get("type") == "flaky"
    assert cases["Fast page [enterprise]"].find("*") is None
    never = cases["Never page [self-serve]"].find("skipped")
    assert never is not None and never.get("message") == "no observation in the window"
    assert cases["Never page [self-serve]"].get("time") == "0"
    off_map = cases[f"{OFF_MAP} [self-serve]"].find("failure")
    assert off_map is not None and off_map.get("type") == "off-map"


def test_junit_survives_control_characters_in_an_error() -> None:
    analysis = make_analysis("bad\x00\x1b[31m red\x1b[0m \x07bell\x0b\ufffe end")
    text = junit_xml(analysis, make_window())
    root = ET.fromstring(text)  # expat rejects the whole file for a single forbidden character
    cases = {case.get("name"): case for case in root.iter("testcase")}
    failure = cases["Broken page [self-serve]"].find("failure")
    assert failure is not None and failure.text is not None
    assert "error: bad red bell end" in failure.text


def test_junit_without_off_map_or_window_start() -> None:
    broken_only = observations()
    broken_only = broken_only[broken_only["touchpoint"] == "broken-page"]
    analysis = analyse(load_map_text(MAP_YAML), broken_only)
    root = ET.fromstring(junit_xml(analysis, Window(runs=[])))
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == ["Browse", "Buy"]
    assert all(suite.get("timestamp") is None for suite in suites)
    assert _counts(root) == (12, 1, 11, 0)


# --- observations CSV --------------------------------------------------------------------------------


def _observation(run_id: str, seq: int, **changes: Any) -> Observation:
    base = Observation(
        run_id=run_id,
        feature="discover.feature",
        scenario="The home page tells me what Acme is",
        node_id="scenarios/test_journey.py::test_home",
        segment="self-serve",
        stage="discover",
        touchpoint="home-page",
        step="I open the home page",
        started_at=T0 + dt.timedelta(seconds=seq),
        duration_ms=100.0 + seq,
        outcome="passed",
        seq=seq,
    )
    return replace(base, **changes)


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    path = tmp_path / "shopper.db"
    store = open_store(path)
    for run_id, count in (("run-b", 5), ("run-a", 3)):
        store.handle(RunStarted(Run(run_id, T0, host="elsewhere.invalid")))
        for seq in range(count):
            store.handle(StepObserved(_observation(run_id, seq)))
        store.handle(RunFinished(run_id, "finished"))
    store.handle(
        StepObserved(
            _observation(
                "run-b",
                5,
                outcome="failed",
                error="=cmd|' /C calc'!A0\nat line 2",
                touchpoint=None,
                page_title="+SUM(A1)",
            )
        )
    )
    store.close()
    return path


def test_observations_csv_round_trips(store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "observations.csv"
    assert write_observations_csv(str(store_file), ["run-b", "run-a"], out) == 9
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert reader.fieldnames == OBSERVATION_COLUMNS
    assert len(rows) == 9
    # Runs in the order asked for, each in the order recorded.
    assert [(row["run_id"], row["seq"]) for row in rows] == [
        *(("run-b", str(seq)) for seq in range(6)),
        *(("run-a", str(seq)) for seq in range(3)),
    ]
    assert float(rows[2]["duration_ms"]) == 102.0 and rows[2]["timed"] == "1"
    assert rows[0]["started_at"] == T0.isoformat()
    last = rows[5]
    assert last["error"] == "'=cmd|' /C calc'!A0\nat line 2"
    assert last["page_title"] == "'+SUM(A1)" and last["touchpoint"] == ""
    assert not list(tmp_path.glob("*.partial"))


def test_observations_csv_of_some_runs_and_of_none(store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    assert write_observations_csv(f"sqlite:///{store_file}", ["run-a", "run-a", "run-z"], out) == 3
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4
    assert write_observations_csv(str(store_file), [], out) == 0
    assert out.read_text(encoding="utf-8").strip() == ",".join(OBSERVATION_COLUMNS)


def test_observations_csv_never_creates_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "shopper.db"
    with pytest.raises(HarnessError, match="no store here"):
        write_observations_csv(str(missing), ["run-1"], tmp_path / "out.csv")
    assert not missing.exists() and not missing.parent.exists()
    assert not (tmp_path / "out.csv").exists()


def test_observations_csv_of_a_file_that_is_no_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a SQLite file, but no observations table
    with pytest.raises(HarnessError, match="no observations table"):
        write_observations_csv(str(empty), ["run-1"], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.glob("*.partial"))
