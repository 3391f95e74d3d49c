"""The gap report as one HTML page: self-contained, offline, printable, no scripts.

Everything that came from the target site (step texts, error texts, titles, URLs) reaches the
page through Jinja2's autoescaping only; the page loads nothing from the network.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape

from harness.analysis.actions import PRIORITY_RULE, by_team
from harness.analysis.emotion import EMOTION_RULE, StageEmotion
from harness.analysis.gaps import GapAnalysis
from harness.analysis.inbox_audit import INBOX_RULE
from harness.analysis.runner_rule import RUNNER_RULE
from harness.analysis.verdicts import STATUSES, Verdict
from harness.map.journey_map import Stage, Touchpoint, format_duration
from harness.report import charts, wording
from harness.report.slow_evidence import slow_evidence
from harness.report.window import Window
from harness.store.pages import SlowestVisit

# Screenshots are embedded in the page; beyond this a report stops being a file one can mail around.
MAX_EMBEDDED_IMAGE_BYTES = 2 * 1024 * 1024
_IMAGE_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
# What could end a <script> element or an HTML comment inside it, and what older JavaScript
# parsers treat as a line break inside a string.
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_EXPORT_LABELS = {
    "json": "JSON report",
    "summary_md": "summary (Markdown)",
    "actions_csv": "action plan (CSV)",
    "actions_md": "action plan (Markdown)",
    "junit": "JUnit XML",
    "observations_csv": "observations (CSV)",
}
_ACTION_EXPORTS = ("actions_csv", "actions_md")
_EVIDENCE_STATUSES = ("failing", "flaky", "slow")
# Fewer runs than this draw no trend line (one dot, or a line between two, reads as a trend it is not):
# the page states the per-run figures as numbers instead.
MIN_TREND_RUNS = 3


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # Compiling the templates is a quarter of a second of every report; Jinja's cache keeps the
        # compiled code in a private folder of the user's temporary directory, keyed by the source's
        # checksum, so an edited template is compiled again. A report renders its templates once, so
        # there is nothing to reload (the check stats a file at each card's include).
        bytecode_cache=FileSystemBytecodeCache(),
        auto_reload=False,
    )
    env.filters["duration"] = format_duration
    env.filters["percent"] = lambda value: "—" if value is None else f"{value:.0%}"
    env.filters["emotion"] = _emotion
    env.filters["circles"] = charts.circles
    return env


def _emotion(value: float | None) -> str:
    if value is None:
        return "—"
    return "0.0" if round(value, 1) == 0 else f"{value:+.1f}"  # "+0.0" and "-0.0" read as a mood


def _script_json(document: dict[str, Any]) -> str:
    """The document as JSON that cannot end the <script> element it is embedded in."""
    text = json.dumps(document, ensure_ascii=False, default=str)
    for raw, escaped in _SCRIPT_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


def _href(target: str, out_dir: Path) -> str:
    """A link from the page in out_dir to a file: relative, so the folder can be moved as a whole."""
    absolute = os.path.abspath(target)
    try:
        relative = os.path.relpath(absolute, os.path.abspath(out_dir))
    except ValueError:  # another drive (Windows): no relative path exists
        return Path(absolute).as_uri()
    return quote(Path(relative).as_posix())


def _embedded_image(path: str) -> tuple[str | None, str]:
    """A data: URI for a screenshot, or why there is none; a missing file never breaks the report."""
    if not path:
        return None, "no screenshot was taken"
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_EMBEDDED_IMAGE_BYTES + 1)
    except OSError as exc:
        return None, f"the screenshot cannot be read ({exc.strerror or type(exc).__name__})"
    if len(data) > MAX_EMBEDDED_IMAGE_BYTES:
        return None, f"the screenshot is over {MAX_EMBEDDED_IMAGE_BYTES // 2**20} MB, too large to embed"
    mime = next((mime for signature, mime in _IMAGE_SIGNATURES if data.startswith(signature)), None)
    if mime is None:
        return None, "the screenshot file is not a PNG or JPEG image"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", ""


@dataclass
class _Evidence:
    anchor: str
    verdict: Verdict
    image: str | None
    image_note: str
    trace_href: str
    trace_command: str
    trace_path: str = ""  # relative to the report: what a copied report folder still finds


def _evidence(analysis: GapAnalysis, out_dir: Path) -> list[_Evidence]:
    """Failing, flaky and slow verdicts, most urgent action first, each with what shows the gap."""
    order = {(a.touchpoint_id, a.segment): a.priority for a in analysis.actions}
    verdicts = [v for v in analysis.verdicts if v.status in _EVIDENCE_STATUSES]
    verdicts.sort(key=lambda v: order.get((v.touchpoint_id, v.segment), len(order) + 1))
    entries = []
    for number, verdict in enumerate(verdicts, start=1):
        image, note = _embedded_image(verdict.evidence)
        relative = unquote(_href(verdict.trace, out_dir)) if verdict.trace else ""
        entries.append(
            _Evidence(
                anchor=f"evidence-{number}",
                verdict=verdict,
                image=image,
                image_note=note,
                trace_href=_href(verdict.trace, out_dir) if verdict.trace else "",
                # Run from the report's folder: the command keeps working when the folder is copied.
                trace_command=f"playwright show-trace {relative}" if verdict.trace else "",
                trace_path=relative,
            )
        )
    return entries


@dataclass
class _StageCoverage:
    stage: Stage
    tested: list[Touchpoint]
    untested: list[Touchpoint]
    blocked: dict[str, str] = field(default_factory=dict)  # untested touchpoint id -> what blocked it


def _coverage(analysis: GapAnalysis, segment: str) -> list[_StageCoverage]:
    rows = []
    for stage in analysis.journey_map.stages:
        tested: list[Touchpoint] = []
        untested: list[Touchpoint] = []
        blocked: dict[str, str] = {}
        for touchpoint in stage.touchpoints:
            verdict = analysis.verdict(touchpoint.id, segment)
            (tested if verdict is not None and verdict.observed.n else untested).append(touchpoint)
            if verdict is not None and verdict.blocked_by:
                blocked[touchpoint.id] = verdict.blocked_by
        rows.append(_StageCoverage(stage, tested, untested, blocked))
    return rows


def _emotion_curve(
    analysis: GapAnalysis, segment: str
) -> tuple[charts.EmotionCurve, list[StageEmotion | None]]:
    by_stage = {e.stage_id: e for e in analysis.emotions if e.segment == segment}
    rows = [by_stage.get(stage.id) for stage in analysis.journey_map.stages]
    curve = charts.emotion_curve(
        [row.expected if row else None for row in rows],
        [row.experienced if row else None for row in rows],
        width=900,
        height=230,
    )
    return curve, rows


def _sparkline(verdict: Verdict) -> charts.Trend | None:
    if len(verdict.trend) < MIN_TREND_RUNS:
        return None
    points = verdict.trend
    # p50 is left out so the small chart is scaled to what it shows: p95 against the target.
    return charts.trend(
        [None] * len(points),
        [point.p95_ms for point in points],
        [point.failed > 0 for point in points],
        verdict.expected.within_ms,
        None,
        width=180,
        height=30,
    )


def _trend_chart(verdict: Verdict) -> charts.Trend | None:
    if len(verdict.trend) < MIN_TREND_RUNS:
        return None
    points = verdict.trend
    return charts.trend(
        [point.p50_ms for point in points],
        [point.p95_ms for point in points],
        [point.failed > 0 for point in points],
        verdict.expected.within_ms,
        verdict.expected.fail_after_ms,
        width=290,
        height=96,
        left=44,
        bottom=14,
        top=8,
    )


def _bar_chart(verdict: Verdict) -> charts.Bars:
    expected = verdict.expected
    return charts.bars(
        verdict.observed.p50_ms,
        verdict.observed.p95_ms,
        expected.within_ms,
        expected.fail_after_ms,
        width=290,
    )


def _limit_off_scale(analysis: GapAnalysis) -> bool:
    """Whether any response-time chart leaves its fail_after limit off the scale (said once per page)."""
    for verdict in analysis.verdicts:
        if not verdict.observed.n:
            continue
        trend = _trend_chart(verdict)
        if _bar_chart(verdict).limit_off_scale or (trend is not None and trend.limit_off_scale):
            return True
    return False


def _segment_counts(analysis: GapAnalysis, segment: str) -> dict[str, int]:
    """The status counts of one segment: one per card its journey strip shows, off-map cards included."""
    counts = dict.fromkeys(STATUSES, 0)
    for verdict in [*analysis.verdicts, *analysis.off_map]:
        if verdict.segment == segment:
            counts[verdict.status] += 1
    return {status: count for status, count in counts.items() if count}


def _window_line(window: Window, segments: list[str]) -> str:
    """The window in customer journeys per segment, then runs: "6 journeys per segment over 3 runs"."""
    runs = wording.plural(len(window.runs), "run")
    played = [window.journeys.get(segment, 0) for segment in segments]
    if not window.journeys:
        return f"{runs} in the window"
    if len(set(played)) == 1:
        per = " per segment" if len(segments) > 1 else ""
        return f"{wording.plural(played[0], 'customer journey')}{per} over {runs}"
    each = ", ".join(f"{count} {segment}" for segment, count in zip(segments, played, strict=True))
    return f"customer journeys per segment: {each}, over {runs}"


def _changed_cards(changes: Sequence[Any], segments: list[str]) -> set[tuple[str, str]]:
    """(touchpoint, segment) cards whose expectation the map refresh changed; no segment means all."""
    cards = set()
    for change in changes:
        touchpoint_id = getattr(change, "touchpoint_id", None)
        if not touchpoint_id or getattr(change, "what", "") != "expectation":
            continue
        segment = getattr(change, "segment", None)
        # A base change reaches only the segments without an override of that field.
        reached = getattr(change, "reaches", ()) if getattr(change, "hidden_from", ()) else segments
        for name in [segment] if segment else reached:
            cards.add((str(touchpoint_id), str(name)))
    return cards


def _exports(exports: dict[str, str], keys: Sequence[str] | None = None) -> list[tuple[str, str]]:
    chosen = [key for key in exports if keys is None or key in keys]
    return [(_EXPORT_LABELS.get(key, key), quote(exports[key])) for key in chosen]


def render_html(
    analysis: GapAnalysis,
    window: Window,
    generated_at: dt.datetime,
    *,
    out_dir: Path,
    document: dict[str, Any],
    changes: Sequence[Any] = (),
    recorded_version: str | None = None,
    exports: dict[str, str] | None = None,
    slow_visits: Sequence[SlowestVisit] = (),
) -> str:
    """The report page for out_dir: trace links relative to it, screenshots and `document` embedded.

    `slow_visits`: each touchpoint's slowest page visit (its screenshot and requests), shown for slow ones.
    """
    template = _environment().get_template("report.html.j2")
    journey_map = analysis.journey_map
    evidence = _evidence(analysis, out_dir)
    exports = exports or {}
    return template.render(
        analysis=analysis,
        journey_map=journey_map,
        window=window,
        statuses=STATUSES,
        generated_at=generated_at,
        priority_rule=PRIORITY_RULE,
        emotion_rule=EMOTION_RULE,
        inbox_rule=INBOX_RULE,
        runner_rule=RUNNER_RULE,
        stage_ids=[stage.id for stage in journey_map.stages],
        off_map=analysis.off_map,
        changes=list(changes),
        changed=_changed_cards(changes, analysis.segments),
        recorded_version=recorded_version,
        exports=_exports(exports),
        action_exports=_exports(exports, _ACTION_EXPORTS),
        evidence=evidence,
        anchors={(item.verdict.touchpoint_id, item.verdict.segment): item.anchor for item in evidence},
        owner_groups=by_team(analysis.actions),
        coverage=[_coverage(analysis, segment) for segment in analysis.segments],
        emotion_curves=[_emotion_curve(analysis, segment) for segment in analysis.segments],
        movements=sorted(analysis.movements, key=lambda m: m.direction != "worse"),
        milestone=any(tp.milestone == "first-value" for tp in journey_map.touchpoints()),
        sparkline=_sparkline,
        trend_chart=_trend_chart,
        bar_chart=_bar_chart,
        document_json=_script_json(document),
        slow_visits=slow_evidence(slow_visits, _embedded_image),
        verdict_sentence=wording.verdict_sentence(analysis),
        segment_counts=[_segment_counts(analysis, segment) for segment in analysis.segments],
        window_line=_window_line(window, analysis.segments),
        limit_off_scale=_limit_off_scale(analysis),
        min_trend_runs=MIN_TREND_RUNS,
        waited=wording.waited,
        promised=wording.promised,
        got_through=wording.got_through,
        slowest=wording.slowest,
    )
