"""The gap report: the gap analysis written as a self-contained HTML page and a JSON document.

Everything that came from the target site (step texts, error texts, URLs) reaches the page
through Jinja2's autoescaping only; the page loads nothing from the network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.analysis.actions import PRIORITY_RULE
from harness.analysis.emotion import EMOTION_RULE
from harness.analysis.gaps import GapAnalysis
from harness.analysis.inbox_audit import INBOX_RULE
from harness.analysis.runner_rule import RUNNER_RULE
from harness.analysis.verdicts import TrendPoint, Verdict, finite
from harness.map.journey_map import Expectation, JourneyMap, Stage, Touchpoint
from harness.observation import AccessibilityChecked, MessageReceived, Run, VisitVitals
from harness.report import exports, junit, observations_csv
from harness.report.html import render_html
from harness.report.reading import Previous, read_window
from harness.report.slow_evidence import slowest_json
from harness.report.vitals import vitals_json
from harness.report.window import Window, journeys_per_segment
from harness.report.wording import verdict_sentence

if TYPE_CHECKING:
    import pandas as pd

    from harness.analysis.runner_rule import RunnerHealth
    from harness.map.diff import MapChange
    from harness.store.pages import SlowestVisit

HTML_NAME = "gap-report.html"
JSON_NAME = "gap-report.json"
SUMMARY_NAME = "summary.md"
ACTIONS_CSV_NAME = "actions.csv"
ACTIONS_MD_NAME = "actions.md"
JUNIT_NAME = "junit.xml"
OBSERVATIONS_NAME = "observations.csv"
# The JSON report's contract version (docs/report.schema.json): bumped when a field is removed or its
# meaning or type changes, never for a new field (readers ignore it; the schema still describes it).
SCHEMA_VERSION = 1
_WORST_FIRST = ("failing", "flaky", "slow", "runner-busy", "untested", "pending", "met")
_TREND_FIELDS = [field.name for field in dataclasses.fields(TrendPoint)]


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _expected(expectation: Expectation) -> dict[str, Any]:
    # Every promise of the map, in its order; a new one fails the schema test until the schema has it.
    return dataclasses.asdict(expectation)


def _observed(verdict: Verdict) -> dict[str, Any]:
    observed = verdict.observed
    return {
        "n": observed.n,
        "runs": observed.runs,
        "journeys": observed.journeys,
        "success_rate": finite(observed.success_rate),
        "first_attempt_success_rate": finite(observed.first_attempt_success_rate),
        "p50_ms": finite(observed.p50_ms),
        "p95_ms": finite(observed.p95_ms),
        "flaky": observed.flaky,
        "pending": observed.pending,
    }


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "status": verdict.status,
        "expected": _expected(verdict.expected),
        "observed": _observed(verdict),
        "gap": verdict.gap,
        "step": verdict.step,
        "error": verdict.error,
        "evidence": verdict.evidence,
        "trace": verdict.trace,
        "page_url": verdict.page_url,
        "page_title": verdict.page_title,
        "harness_error": verdict.harness_error,
        "blocked_by": verdict.blocked_by,
        # Flat points, field by field: asdict's deep copies took a tenth of a million-row report.
        "trend": [{name: getattr(point, name) for name in _TREND_FIELDS} for point in verdict.trend],
    }


def _map_json(journey_map: JourneyMap) -> dict[str, Any]:
    return {
        "journey": journey_map.journey,
        "version": journey_map.version,
        "path": str(journey_map.path),
    }


def _window_json(window: Window) -> dict[str, Any]:
    return {
        "runs": len(window.runs),
        "from": _iso(window.start),
        "to": _iso(window.end),
        "run_ids": [run.run_id for run in window.runs],
    }


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "state": run.state,
        "segment": run.segment,
        "target": run.target,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "map_version": run.map_version,
        "browsing": run.browsing,
        "location": run.location,
    }


def _summary_json(analysis: GapAnalysis) -> dict[str, Any]:
    return {
        "status_counts": analysis.status_counts(),
        "all_met": analysis.all_met,
        "verdict": verdict_sentence(analysis),
        "unbound_steps": analysis.unbound_steps,
    }


def _touchpoint_json(analysis: GapAnalysis, touchpoint: Touchpoint) -> dict[str, Any]:
    per_segment = {
        segment: _verdict_json(verdict)
        for segment in analysis.segments
        if (verdict := analysis.verdict(touchpoint.id, segment)) is not None
    }
    statuses = {item["status"] for item in per_segment.values()}
    return {
        "id": touchpoint.id,
        "name": touchpoint.name,
        "channel": touchpoint.channel,
        "owner": touchpoint.owner,
        "moment_of_truth": touchpoint.moment_of_truth,
        "status": next((status for status in _WORST_FIRST if status in statuses), "untested"),
        "segments": per_segment,
    }


def _stage_json(analysis: GapAnalysis, stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "name": stage.name,
        "customer_goal": stage.customer_goal,
        "touchpoints": [_touchpoint_json(analysis, touchpoint) for touchpoint in stage.touchpoints],
    }


def _off_map_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "touchpoint": verdict.touchpoint_id,
        "stage": verdict.stage_id,
        "segment": verdict.segment,
        **_verdict_json(verdict),
    }


def report_json(analysis: GapAnalysis, window: Window) -> dict[str, Any]:
    """The JSON document (docs/report.schema.json); its key order is part of what readers see."""
    return {
        "schema_version": SCHEMA_VERSION,
        "map": _map_json(analysis.journey_map),
        "window": _window_json(window),
        "runs": [_run_json(run) for run in window.runs],
        "segments": analysis.segments,
        "summary": _summary_json(analysis),
        "stages": [_stage_json(analysis, stage) for stage in analysis.journey_map.stages],
        "off_map": [_off_map_json(verdict) for verdict in analysis.off_map],
        "actions": [dataclasses.asdict(action) for action in analysis.actions],
        "priority_rule": PRIORITY_RULE,
        "emotions": [
            {**dataclasses.asdict(e), "partly_measured": e.partly_measured} for e in analysis.emotions
        ],
        "emotion_rule": EMOTION_RULE,
        "previous_window": {"runs": len(window.previous), "run_ids": [r.run_id for r in window.previous]},
        "movements": [dataclasses.asdict(movement) for movement in analysis.movements],
        "first_value": [dataclasses.asdict(first) for first in analysis.first_value],
        "inbox": [dataclasses.asdict(entry) for entry in analysis.inbox],
        "inbox_rule": INBOX_RULE,
        "runner": [dataclasses.asdict(health) for health in analysis.runner],
        "runner_rule": RUNNER_RULE,
        "vitals": vitals_json(analysis.vitals),
        "accessibility": [entry.as_json() for entry in analysis.accessibility],
        "locations": analysis.locations.as_json(),
    }


def write_report(
    analysis: GapAnalysis,
    window: Window,
    out_dir: Path,
    *,
    changes: Sequence[MapChange] = (),
    recorded_version: str | None = None,
    store_url: str | None = None,
    slow_visits: Sequence[SlowestVisit] = (),
) -> tuple[Path, Path]:
    """Every format into out_dir: the HTML page, its JSON, the exports beside it. `changes` are the
    expectations that changed since the map recorded with the window's runs; `store_url` lets the
    observations go out as CSV, streamed from the store; `slow_visits` are each touchpoint's slowest
    page visit, shown as a slow touchpoint's evidence."""
    out_dir.mkdir(parents=True, exist_ok=True)
    generated_at = dt.datetime.now(dt.UTC)
    document = report_json(analysis, window)
    document["generated_at"] = generated_at.isoformat()
    document["map"]["recorded_version"] = recorded_version
    document["map"]["changes"] = [
        {**dataclasses.asdict(change), "sentence": change.sentence} for change in changes
    ]
    slow = {(v.touchpoint_id, v.segment) for v in analysis.verdicts if v.status == "slow"}
    document["slowest_visits"] = slowest_json(slow_visits, slow)
    document["map"]["changed_expectations"] = [
        item for item in document["map"]["changes"] if item["what"] == "expectation"
    ]
    written = {
        "json": JSON_NAME,
        "summary_md": SUMMARY_NAME,
        "actions_csv": ACTIONS_CSV_NAME,
        "actions_md": ACTIONS_MD_NAME,
        "junit": JUNIT_NAME,
    }
    json_path = out_dir / JSON_NAME
    # Compact, for the C encoder (json's indenting one is pure Python): `jq .` shows it indented.
    json_path.write_text(json.dumps(document, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / SUMMARY_NAME).write_text(
        exports.markdown_summary(analysis, window, HTML_NAME), encoding="utf-8"
    )
    (out_dir / ACTIONS_CSV_NAME).write_text(exports.actions_csv(analysis), encoding="utf-8", newline="")
    (out_dir / ACTIONS_MD_NAME).write_text(exports.actions_markdown(analysis), encoding="utf-8")
    (out_dir / JUNIT_NAME).write_text(junit.junit_xml(analysis, window), encoding="utf-8")
    if store_url is not None:
        observations_csv.write_observations_csv(
            store_url, [run.run_id for run in window.runs], out_dir / OBSERVATIONS_NAME
        )
        written["observations_csv"] = OBSERVATIONS_NAME
    html_path = out_dir / HTML_NAME
    html = render_html(
        analysis,
        window,
        generated_at,
        out_dir=out_dir,
        document=document,
        changes=list(changes),
        recorded_version=recorded_version,
        exports=written,
        slow_visits=slow_visits,
    )
    html_path.write_text(html, encoding="utf-8")
    return html_path, json_path


@dataclass
class BuiltReport:
    html_path: Path
    json_path: Path
    all_met: bool
    summary: str


@dataclass
class _StoreWindow:
    """What the report reads from the store, read while it is open and then closed."""

    runs: list[Run]
    previous_runs: list[Run]
    journey_map: JourneyMap
    recorded: JourneyMap | None
    observations: pd.DataFrame
    previous: Previous  # read meanwhile, on a thread: called when the analysis needs it
    messages: list[MessageReceived]
    runner: list[RunnerHealth]
    slowest: list[SlowestVisit]
    vitals: list[VisitVitals]
    accessibility: list[AccessibilityChecked]  # what axe found on page visits, of both windows


def _read_store(store_url: str, map_path: Path | None, last: int) -> _StoreWindow:
    from harness.analysis.runner_rule import runner_health
    from harness.errors import HarnessError
    from harness.map.diff import recorded_map
    from harness.map.loading import load_map
    from harness.store.sqlite import open_store

    store = open_store(store_url)
    try:
        both = store.runs(last=2 * last)
        runs, previous_runs = both[-last:], both[:-last]
        if map_path is None:
            if not runs:
                raise HarnessError(
                    "the store has no runs yet, so there is no map to report on: pass --map MAP"
                )
            map_path = Path(runs[-1].map_path)
        journey_map = load_map(map_path)
        recorded = recorded_map(store, runs)
        observations, previous = read_window(store, store_url, runs, previous_runs)
        run_ids = [run.run_id for run in runs]
        messages, runner = store.messages(run_ids), runner_health(store.runner_samples(run_ids), run_ids)
        slowest, vitals = store.slowest_visits(run_ids), store.visit_vitals(run_ids)
        # Both windows' checks: a touchpoint failing on accessibility in both has not got worse.
        checks = store.accessibility_checks([run.run_id for run in [*previous_runs, *runs]])
    finally:
        store.close()
    found = (observations, previous, messages, runner, slowest, vitals, checks)
    return _StoreWindow(runs, previous_runs, journey_map, recorded, *found)


def _summary_line(analysis: GapAnalysis, read: _StoreWindow, changes: Sequence[MapChange]) -> str:
    """The report's summary for the terminal: counts, map changes, a busy runner, what got worse."""
    runs, recorded = read.runs, read.recorded
    counts = ", ".join(f"{count} {status}" for status, count in analysis.status_counts().items() if count)
    aborted = sum(1 for run in runs if run.state == "aborted")
    summary = (
        f"{len(runs)} run(s){f' ({aborted} aborted)' if aborted else ''}; touchpoint × segment: {counts}"
    )
    if changes and recorded is not None:
        summary += (
            f"\n{len(changes)} change(s) to the map since version {recorded.version}, recorded with the runs:"
        )
        summary += "".join(f"\n  {change.sentence}" for change in changes)
    busy = [health for health in analysis.runner if health.busy]
    if busy:
        summary += (
            f"\n{len(busy)} run(s) had a runner too busy to measure fairly"
            f" ({busy[-1].reason}): their slow verdicts are held back as runner-busy"
        )
    worse = [m for m in analysis.movements if m.direction == "worse"]
    if worse:
        summary += f"\n{len(worse)} got worse since the previous {len(read.previous_runs)} run(s):"
        summary += "".join(f"\n  {m.name} ({m.segment}): {m.reason}" for m in worse)
    return summary


def build_report(
    *, store_url: str, map_path: Path | None, out_dir: Path, last: int, observations_csv: bool = False
) -> BuiltReport:
    """Store → gap analysis → report, evaluated against whichever map is given (default: the last run's).

    The window is the last `last` runs; the `last` runs before them are the previous window that
    trends and regressions compare with.
    """
    from harness.analysis.gaps import analyse
    from harness.errors import HarnessError, NoStoreError
    from harness.map.diff import diff_maps

    if last < 1:
        raise HarnessError("--last must be at least 1")
    if not Path(store_url).exists() and "://" not in store_url:
        raise NoStoreError(store_url)
    read = _read_store(store_url, map_path, last)
    analysis = analyse(
        read.journey_map,
        read.observations,
        previous=read.previous,
        run_order=[run.run_id for run in read.runs],
        messages=read.messages,
        runner=read.runner,
        vitals=read.vitals,
        accessibility=read.accessibility,
    )
    recorded = read.recorded
    changes = diff_maps(recorded, read.journey_map) if recorded is not None else []
    window = Window(read.runs, read.previous_runs, journeys_per_segment(read.observations))
    html_path, json_path = write_report(
        analysis,
        window,
        out_dir,
        changes=changes,
        recorded_version=recorded.version if recorded is not None else None,
        store_url=store_url if observations_csv else None,
        slow_visits=read.slowest,
    )
    summary = _summary_line(analysis, read, changes)
    return BuiltReport(html_path=html_path, json_path=json_path, all_met=analysis.all_met, summary=summary)
