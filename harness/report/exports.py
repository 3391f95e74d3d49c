"""The gap report's other formats: the action plan as CSV and Markdown, and a Markdown summary for a
chat channel or a pull request (JUnit XML is `junit.py`, the raw observations `observations_csv.py`).

Error texts, step texts, page titles and off-map touchpoint ids (URL paths) come from the target
site, so a hostile or broken site controls them. Each format neutralises them in its own way:
spreadsheet formulas in CSV (`csv_safe`), Markdown and HTML in chat and pull requests
(`md_escape`), characters XML 1.0 forbids in JUnit (`xml_safe`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any
from urllib.parse import quote

from harness.analysis.actions import PRIORITY_RULE, Action, by_team
from harness.analysis.gaps import GapAnalysis
from harness.analysis.verdicts import STATUSES
from harness.map.journey_map import format_duration
from harness.report.window import Window

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
MOMENT_OF_TRUTH = "★"

# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Terminal colour codes: Playwright puts them in its error texts; they are noise outside a terminal.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
# C0/C1 controls, and the bidi controls that can make a text read differently from what it says.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_XML_FORBIDDEN = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- neutralising what the target site wrote ---------------------------------------------------------


def csv_safe(value: Any) -> Any:
    """A text value a spreadsheet will show as text, never run as a formula; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
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
    if analysis.locations.callouts:  # a gap of some locations only (harness.analysis.locations)
        lines += ["", "**By location**", *(f"- {md_escape(said)}" for said in analysis.locations.callouts)]
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

