"""The gap report's other formats: the action plan as CSV and Markdown, a Markdown summary for a chat
channel or a pull request, JUnit XML for CI, and the window's raw observations as CSV.

Error texts, step texts, page titles and off-map touchpoint ids (URL paths) come from the target
site, so a hostile or broken site controls them. Each format neutralises them in its own way:
spreadsheet formulas in CSV (`csv_safe`), Markdown and HTML in chat and pull requests
(`md_escape`), characters XML 1.0 forbids in JUnit (`xml_safe`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from harness.analysis.actions import PRIORITY_RULE, Action, by_team
from harness.analysis.gaps import GapAnalysis
from harness.analysis.verdicts import STATUSES, Verdict, finite
from harness.errors import HarnessError, StoreError
from harness.map.journey_map import format_duration
from harness.report.window import Window
from harness.store.columns import OBSERVATION_COLUMNS
from harness.store.sqlite import store_path

ACTION_COLUMNS = [
    "priority",
    "owner",
    "stage",
    "touchpoint",
    "touchpoint_name",
    "segment",
    "status",
    "moment_of_truth",
    "score",
    "what_to_fix",
    "evidence",
]
TEXT_LIMIT = 200  # characters of a site's text a chat message shows; the HTML report has the rest
TOP_ACTIONS = 10
CHUNK_ROWS = 5000  # rows per fetchmany: bounded memory however big the store is
MOMENT_OF_TRUTH = "★"

# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Terminal colour codes: Playwright puts them in its error texts; they are noise outside a terminal.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
# C0/C1 controls, and the bidi controls that can make a text read differently from what it says.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_XML_FORBIDDEN = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- neutralising what the target site wrote ---------------------------------------------------------


def csv_safe(value: Any) -> Any:
    """A text value a spreadsheet will show as text, never run as a formula; other values unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def md_escape(text: str, limit: int | None = None) -> str:
    """Text that Markdown (GitHub, chat tools) shows literally: no HTML, link, image or emphasis.

    Lines are collapsed into one, so a text cannot start a heading or a list item of its own, and it
    is cut to `limit` characters before escaping, so the cut never splits an escape.
    """
    text = _ANSI.sub("", text)
    text = " ".join(text.split())
    text = _INVISIBLE.sub("", text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # Entities rather than backslashes: a backslash before "<" does not stop every renderer's HTML.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_safe(text: str) -> str:
    """Text without the characters XML 1.0 cannot carry (a parser rejects the whole file for one)."""
    return _XML_FORBIDDEN.sub("", _ANSI.sub("", text))


# --- the action plan ---------------------------------------------------------------------------------


def actions_csv(analysis: GapAnalysis) -> str:
    """The ranked action plan, one row per action, for a project plan or a spreadsheet.

    Rows end in CRLF (RFC 4180); write the text with `newline=""` to keep them so.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ACTION_COLUMNS)
    for action in sorted(analysis.actions, key=lambda a: a.priority):
        writer.writerow(
            [
                action.priority,
                *(
                    csv_safe(text)
                    for text in (
                        action.owner,
                        action.stage_id,
                        action.touchpoint_id,
                        action.touchpoint_name,
                        action.segment,
                        action.status,
                    )
                ),
                "yes" if action.moment_of_truth else "no",
                action.score,
                csv_safe(action.what_to_fix),
                csv_safe(action.evidence),
            ]
        )
    return buffer.getvalue()


def _action_line(action: Action, *, owner: bool) -> str:
    mark = f" {MOMENT_OF_TRUTH}" if action.moment_of_truth else ""
    team = f" — {md_escape(action.owner)}" if owner else ""
    return (
        f"{md_escape(action.touchpoint_name)} ({md_escape(action.stage_id)}, {md_escape(action.segment)})"
        f" — {action.status}{mark}{team}: {md_escape(action.what_to_fix, TEXT_LIMIT)}"
    )


def actions_markdown(analysis: GapAnalysis) -> str:
    """The action plan grouped by owner team, the team with the most urgent action first."""
    lines = ["## Action plan", "", f"Ranked by: {md_escape(PRIORITY_RULE)}.", ""]
    if not analysis.actions:
        lines.append("Every expectation of the map is met. Nothing to fix.")
        return "\n".join(lines) + "\n"
    for owner, actions in by_team(analysis.actions):
        lines += [f"### {md_escape(owner)}", ""]
        lines += [f"- **#{a.priority}** {_action_line(a, owner=False)}" for a in actions]
        lines.append("")
    lines.append(f"{MOMENT_OF_TRUTH} moment of truth")
    return "\n".join(lines) + "\n"


# --- the summary for a chat channel or a pull request ------------------------------------------------


def _utc(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:  # the store writes UTC; a naive time can only be a fallback value
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def _percent(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.0%}"


def _status_counts(analysis: GapAnalysis) -> str:
    counts = analysis.status_counts()
    return " · ".join(f"{counts[status]} {status}" for status in STATUSES if counts.get(status))


def _first_value_lines(analysis: GapAnalysis) -> list[str]:
    lines = ["", "**Time to first value**"]
    for item in analysis.first_value:
        observed = "not reached" if item.p50_ms is None else f"p50 {format_duration(item.p50_ms)}"
        expected = (
            "no expectation" if item.expected_ms is None else f"{format_duration(item.expected_ms)} expected"
        )
        lines.append(
            f"- {md_escape(item.segment)} → {md_escape(item.name)}: {observed} vs {expected}"
            f" ({item.status}), reached in {item.reached}/{item.runs} runs"
        )
    return lines


def _movement_lines(analysis: GapAnalysis) -> list[str]:
    if analysis.previous_runs <= 0:
        return ["", "No previous window to compare with."]
    lines = ["", f"**Since the previous window** ({analysis.previous_runs} runs)"]
    if not analysis.movements:
        return [*lines, "Nothing got worse or better."]
    for direction, title in (("worse", "Got worse"), ("better", "Got better")):
        moved = [m for m in analysis.movements if m.direction == direction]
        if moved:
            lines.append(f"{title}:")
            lines += [
                f"- {md_escape(m.name)} ({md_escape(m.segment)}, {md_escape(m.owner)}):"
                f" {m.before_status} → {m.after_status}: {md_escape(m.reason, TEXT_LIMIT)}"
                for m in moved
            ]
    return lines


def _off_map_lines(analysis: GapAnalysis) -> list[str]:
    lines = ["", "**Off-map touchpoints** (the customer met them; the map has no such touchpoint)"]
    for verdict in analysis.off_map:
        title = f" “{md_escape(verdict.page_title, TEXT_LIMIT)}”" if verdict.page_title else ""
        lines.append(
            f"- {md_escape(verdict.touchpoint_id, TEXT_LIMIT)}{title} ({md_escape(verdict.stage_id)},"
            f" {md_escape(verdict.segment)}): {verdict.observed.n} visit(s)"
        )
    return lines


def markdown_summary(analysis: GapAnalysis, window: Window, html_name: str = "gap-report.html") -> str:
    """A short summary: what is met, what moved, what to fix first, with a link to the full report."""
    journey_map = analysis.journey_map
    verdict = "All expectations met." if analysis.all_met else "Gaps found."
    lines = [
        f"**Gap report: {md_escape(journey_map.journey)}** (map {md_escape(journey_map.version)})",
        f"{len(window.runs)} runs, {_utc(window.start)} – {_utc(window.end)} UTC",
        "",
        f"{verdict} Touchpoint × segment: {_status_counts(analysis)}",
    ]
    if analysis.unbound_steps:
        lines.append(f"{analysis.unbound_steps} step(s) were bound to no touchpoint.")
    if analysis.first_value:
        lines += _first_value_lines(analysis)
    lines += _movement_lines(analysis)
    actions = sorted(analysis.actions, key=lambda a: a.priority)
    # An absolute URL (a CI artifact) passes; a space, parenthesis or bracket would end the link early.
    link = f"{quote(html_name, safe='/:?=&%~@!$,;+')}#actions"
    if actions:
        lines += ["", f"**Top actions** ([full plan]({link}))"]
        lines += [f"{a.priority}. {_action_line(a, owner=True)}" for a in actions[:TOP_ACTIONS]]
        if len(actions) > TOP_ACTIONS:
            lines += ["", f"…and {len(actions) - TOP_ACTIONS} more in the [full plan]({link})."]
    if analysis.off_map:
        lines += _off_map_lines(analysis)
    return "\n".join(lines) + "\n"


# --- JUnit XML for CI --------------------------------------------------------------------------------


def _seconds(ms: float | None) -> str:
    ms = finite(ms)
    return "0" if ms is None else f"{ms / 1000:.3f}"


def _details(verdict: Verdict) -> str:
    """The failure body a CI reader sees: where it failed, what the site said, and the figures."""
    observed = verdict.observed
    expected = verdict.expected
    lines = []
    if verdict.step:
        lines.append(f"step: {verdict.step}")
    if verdict.error:
        lines.append(f"error: {verdict.error}")
    if verdict.page_url or verdict.page_title:
        lines.append(f"page: {verdict.page_url} {verdict.page_title}".rstrip())
    if verdict.evidence:
        lines.append(f"evidence: {verdict.evidence}")
    if verdict.trace:
        lines.append(f"trace: {verdict.trace}")
    lines.append(
        f"observed: {observed.n} visit(s) in {observed.runs} run(s),"
        f" success {_percent(observed.success_rate)},"
        f" first try {_percent(observed.first_attempt_success_rate)},"
        f" p50 {format_duration(finite(observed.p50_ms))}, p95 {format_duration(finite(observed.p95_ms))}"
    )
    if verdict.status != "off-map":
        lines.append(
            f"expected: within {format_duration(expected.within_ms)},"
            f" fail after {format_duration(expected.fail_after_ms)}, success {expected.success_rate:.0%}"
        )
    return xml_safe("\n".join(lines))


def _testcase(suite: ET.Element, verdict: Verdict, classname: str, name: str) -> str:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=xml_safe(classname),
        name=xml_safe(f"{name} [{verdict.segment}]"),
        time=_seconds(verdict.observed.p95_ms),
    )
    if verdict.status in ("failing", "slow", "flaky", "off-map"):
        failure = ET.SubElement(case, "failure", type=verdict.status, message=xml_safe(verdict.gap))
        failure.text = _details(verdict)
        return "failure"
    if verdict.status in ("untested", "pending", "runner-busy"):
        skipped = ET.SubElement(case, "skipped", message=xml_safe(verdict.gap))
        if verdict.harness_error:
            skipped.text = xml_safe(verdict.harness_error)
        return "skipped"
    return "pass"


def _suite(parent: ET.Element, name: str, timestamp: str | None) -> ET.Element:
    suite = ET.SubElement(parent, "testsuite", name=xml_safe(name))
    if timestamp:
        suite.set("timestamp", timestamp)
    return suite


def _count(element: ET.Element, outcomes: list[str]) -> None:
    tests, failures, skipped = len(outcomes), outcomes.count("failure"), outcomes.count("skipped")
    for key, value in (("tests", tests), ("failures", failures), ("errors", 0), ("skipped", skipped)):
        element.set(key, str(value))


def junit_xml(analysis: GapAnalysis, window: Window) -> str:
    """Touchpoint verdicts as JUnit XML: one suite per stage, one test per touchpoint and segment.

    failing, slow and flaky are failures, untested and runner-busy are skipped, met passes; off-map
    touchpoints are failures in a suite of their own, as the exit status counts them as gaps.
    """
    journey_map = analysis.journey_map
    journey = journey_map.journey
    root = ET.Element("testsuites", name=xml_safe(f"{journey} (map {journey_map.version})"))
    start = window.start
    timestamp = _utc_iso(start) if start is not None else None
    everything: list[str] = []
    for stage in journey_map.stages:
        suite = _suite(root, stage.name, timestamp)
        outcomes = [
            _testcase(suite, verdict, f"{journey}.{stage.id}", verdict.name)
            for verdict in analysis.verdicts
            if verdict.stage_id == stage.id
        ]
        _count(suite, outcomes)
        everything += outcomes
    if analysis.off_map:
        suite = _suite(root, "off-map", timestamp)
        outcomes = [
            _testcase(suite, verdict, f"{journey}.{verdict.stage_id}", verdict.touchpoint_id)
            for verdict in analysis.off_map
        ]
        _count(suite, outcomes)
        everything += outcomes
    _count(root, everything)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _utc_iso(moment: dt.datetime) -> str:
    # JUnit's schema wants a timestamp without a zone; it is UTC, like every time the store keeps.
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


# --- the window's raw observations -------------------------------------------------------------------


def _open_read_only(store_url: str) -> sqlite3.Connection:
    if store_url.startswith(("postgres://", "postgresql://")):
        raise StoreError("exporting observations from PostgreSQL is not supported yet", file=store_url)
    path = store_path(store_url)
    if not path.is_file():
        raise StoreError("no store here: run `shopper run` (or `shopper demo`) first", file=path)
    try:
        # mode=ro: an export must never create, migrate or write a store.
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store: {exc}", file=path) from None


def _select(db: sqlite3.Connection) -> tuple[str, list[int]]:
    """The SELECT of every observation column, and which of them hold text."""
    declared = {row[1]: str(row[2]).upper() for row in db.execute("PRAGMA table_info(observations)")}
    if not declared:
        raise sqlite3.DatabaseError("it has no observations table")
    # A store written by an older harness lacks the columns added since; read-only, it is not migrated.
    columns = [column if column in declared else f"'' AS {column}" for column in OBSERVATION_COLUMNS]
    text = [i for i, column in enumerate(OBSERVATION_COLUMNS) if "TEXT" in declared.get(column, "TEXT")]
    return ", ".join(columns), text


def _safe_rows(rows: Sequence[tuple[Any, ...]], text: list[int]) -> Iterable[list[Any]]:
    for row in rows:
        values = list(row)
        for i in text:
            value = values[i]
            if value and value.startswith(_FORMULA_STARTS):
                values[i] = "'" + value
        yield values


def write_observations_csv(store_url: str, run_ids: list[str], path: Path) -> int:
    """Write every stored observation of the runs to a CSV file; return the number of rows.

    Streams from SQLite in chunks, so memory stays flat for a store of millions of rows. Runs come
    in the order given, each run's observations in the order they were recorded. The file appears
    only once complete.
    """
    db = _open_read_only(store_url)
    partial = path.with_name(path.name + ".partial")
    rows = 0
    try:
        columns, text = _select(db)
        db.execute("BEGIN")  # one snapshot: a run still recording cannot tear the export
        with partial.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(OBSERVATION_COLUMNS)
            for run_id in dict.fromkeys(run_ids):
                cursor = db.execute(
                    f"SELECT {columns} FROM observations WHERE run_id = ? ORDER BY id", (run_id,)
                )
                while chunk := cursor.fetchmany(CHUNK_ROWS):
                    writer.writerows(_safe_rows(chunk, text))
                    rows += len(chunk)
        partial.replace(path)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read observations: {exc}", file=store_path(store_url)) from None
    except OSError as exc:
        raise HarnessError(f"cannot write the observations: {exc.strerror or exc}", file=path) from None
    finally:
        db.close()
        partial.unlink(missing_ok=True)  # left behind only by a failed export
    return rows
