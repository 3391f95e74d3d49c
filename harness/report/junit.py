"""The gap report's touchpoint verdicts as JUnit XML, for CI: one suite per stage, one test per
touchpoint and segment. Texts from the target site pass `xml_safe` (characters XML 1.0 forbids).
"""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET

from harness.analysis.gaps import GapAnalysis
from harness.analysis.verdicts import Verdict, finite
from harness.map.journey_map import format_duration
from harness.report.exports import xml_safe
from harness.report.window import Window


def _percent(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.0%}"



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

