"""The gap report: the gap analysis written as a self-contained HTML page and a JSON document.

Everything that came from the target site (step texts, error texts, URLs) reaches the page
through Jinja2's autoescaping only; the page loads nothing from the network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.gaps import PRIORITY_RULE, STATUSES, GapAnalysis, Verdict, finite
from harness.journey_map import Expectation, format_duration
from harness.observation import Run

HTML_NAME = "gap-report.html"
JSON_NAME = "gap-report.json"


@dataclass
class Window:
    runs: list[Run]

    @property
    def start(self) -> dt.datetime | None:
        return min((run.started_at for run in self.runs), default=None)

    @property
    def end(self) -> dt.datetime | None:
        ends = [run.finished_at or run.started_at for run in self.runs]
        return max(ends, default=None)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _expected(expectation: Expectation) -> dict[str, Any]:
    return {
        "within_ms": expectation.within_ms,
        "fail_after_ms": expectation.fail_after_ms,
        "success_rate": expectation.success_rate,
        "emotion": expectation.emotion,
    }


def _observed(verdict: Verdict) -> dict[str, Any]:
    observed = verdict.observed
    return {
        "n": observed.n,
        "runs": observed.runs,
        "success_rate": finite(observed.success_rate),
        "first_attempt_success_rate": finite(observed.first_attempt_success_rate),
        "p50_ms": finite(observed.p50_ms),
        "p95_ms": finite(observed.p95_ms),
        "flaky": observed.flaky,
    }


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "status": verdict.status,
        "expected": _expected(verdict.expected),
        "observed": _observed(verdict),
        "gap": verdict.gap,
        "error": verdict.error,
        "evidence": verdict.evidence,
    }


def worst(statuses: list[str]) -> str:
    order = ("failing", "flaky", "slow", "untested", "met")
    return next((status for status in order if status in statuses), "untested")


def report_json(analysis: GapAnalysis, window: Window) -> dict[str, Any]:
    journey_map = analysis.journey_map
    stages = []
    for stage in journey_map.stages:
        touchpoints = []
        for touchpoint in stage.touchpoints:
            per_segment = {
                segment: _verdict_json(verdict)
                for segment in analysis.segments
                if (verdict := analysis.verdict(touchpoint.id, segment)) is not None
            }
            touchpoints.append(
                {
                    "id": touchpoint.id,
                    "name": touchpoint.name,
                    "channel": touchpoint.channel,
                    "owner": touchpoint.owner,
                    "moment_of_truth": touchpoint.moment_of_truth,
                    "status": worst([item["status"] for item in per_segment.values()]),
                    "segments": per_segment,
                }
            )
        stages.append(
            {
                "id": stage.id,
                "name": stage.name,
                "customer_goal": stage.customer_goal,
                "touchpoints": touchpoints,
            }
        )
    return {
        "map": {
            "journey": journey_map.journey,
            "version": journey_map.version,
            "path": str(journey_map.path),
        },
        "window": {
            "runs": len(window.runs),
            "from": _iso(window.start),
            "to": _iso(window.end),
            "run_ids": [run.run_id for run in window.runs],
        },
        "runs": [
            {
                "run_id": run.run_id,
                "state": run.state,
                "segment": run.segment,
                "target": run.target,
                "started_at": _iso(run.started_at),
                "finished_at": _iso(run.finished_at),
                "map_version": run.map_version,
            }
            for run in window.runs
        ],
        "segments": analysis.segments,
        "summary": {
            "status_counts": analysis.status_counts(),
            "all_met": analysis.all_met,
            "unbound_steps": analysis.unbound_steps,
        },
        "stages": stages,
        "off_map": [
            {"touchpoint": v.touchpoint_id, "stage": v.stage_id, "segment": v.segment, **_verdict_json(v)}
            for v in analysis.off_map
        ],
        "actions": [dataclasses.asdict(action) for action in analysis.actions],
        "priority_rule": PRIORITY_RULE,
    }


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = format_duration
    env.filters["percent"] = lambda value: "—" if value is None else f"{value:.0%}"
    return env


def render_html(analysis: GapAnalysis, window: Window, generated_at: dt.datetime) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(
        analysis=analysis,
        journey_map=analysis.journey_map,
        window=window,
        statuses=STATUSES,
        generated_at=generated_at,
        priority_rule=PRIORITY_RULE,
    )


def write_report(analysis: GapAnalysis, window: Window, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    generated_at = dt.datetime.now(dt.UTC)
    document = report_json(analysis, window)
    document["generated_at"] = generated_at.isoformat()
    json_path = out_dir / JSON_NAME
    json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path = out_dir / HTML_NAME
    html_path.write_text(render_html(analysis, window, generated_at), encoding="utf-8")
    return html_path, json_path


@dataclass
class BuiltReport:
    html_path: Path
    json_path: Path
    all_met: bool
    summary: str


def build_report(*, store_url: str, map_path: Path | None, out_dir: Path, last: int) -> BuiltReport:
    """Store → gap analysis → report, evaluated against whichever map is given (default: the last run's)."""
    from harness.errors import HarnessError
    from harness.gaps import analyse
    from harness.journey_map import load_map
    from harness.store import open_store

    if last < 1:
        raise HarnessError("--last must be at least 1")
    if not Path(store_url).exists() and "://" not in store_url:
        raise HarnessError("no store here yet: run `shopper run` (or `shopper demo`) first", file=store_url)
    store = open_store(store_url)
    try:
        runs = store.runs(last=last)
        if map_path is None:
            if not runs:
                raise HarnessError(
                    "the store has no runs yet, so there is no map to report on: pass --map MAP"
                )
            map_path = Path(runs[-1].map_path)
        journey_map = load_map(map_path)
        observations = store.observations([run.run_id for run in runs])
    finally:
        store.close()
    analysis = analyse(journey_map, observations)
    window = Window(runs=runs)
    html_path, json_path = write_report(analysis, window, out_dir)
    counts = ", ".join(f"{count} {status}" for status, count in analysis.status_counts().items() if count)
    aborted = sum(1 for run in runs if run.state == "aborted")
    summary = (
        f"{len(runs)} run(s){f' ({aborted} aborted)' if aborted else ''}; touchpoint × segment: {counts}"
    )
    return BuiltReport(html_path=html_path, json_path=json_path, all_met=analysis.all_met, summary=summary)
