"""The accessibility rule of the gap analysis, on stored-shaped observations and axe findings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from playwright.sync_api import sync_playwright

from harness.analysis.gaps import GapAnalysis, analyse
from harness.map.loading import load_map_text
from harness.observation import AccessibilityChecked, AccessibilityViolation, Run
from harness.record.browser import launch_options
from harness.report.gap_report import write_report
from harness.report.window import Window
from harness.store.columns import OBSERVATION_COLUMNS

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
MAP = """\
journey: x
segments: [self-serve]
stages:
  - id: signup
    accessibility: {max: serious}
    touchpoints:
      - {id: signup-page, channel: form, owner: Product, url: /signup}
      - {id: plans-page, channel: web, owner: Web, url: /plans, accessibility: {max: critical}}
      - {id: broken-page, channel: web, owner: Web, url: /broken}
"""


def _frame(outcomes: dict[str, str], run_id: str = "r1") -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for seq, (touchpoint, outcome) in enumerate(outcomes.items(), start=1):
        rows.append(
            {
                "run_id": run_id,
                "seq": seq,
                "feature": "f",
                "scenario": touchpoint,
                "node_id": touchpoint,
                "segment": "self-serve",
                "stage": "signup",
                "touchpoint": touchpoint,
                "step": f"I open the {touchpoint}",
                "started_at": T0.isoformat(),
                "duration_ms": 100.0,
                "outcome": outcome,
                "error": "HTTP 500" if outcome == "failed" else "",
                "attempt": 1,
                "evidence": "",
                "timed": 1,
                "trace": "",
                "page_url": "",
                "page_title": "",
            }
        )
    return pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)


def _violation(rule: str, impact: str) -> AccessibilityViolation:
    return AccessibilityViolation(
        rule, impact, f"{rule} help", f"https://dequeuniversity.com/rules/axe/4.10/{rule}", 2
    )


def _check(
    seq: int, touchpoint: str, *violations: AccessibilityViolation, error: str = ""
) -> AccessibilityChecked:
    return AccessibilityChecked("r1", seq, touchpoint, "self-serve", touchpoint, "", list(violations), error)


def _run_check(run_id: str, *violations: AccessibilityViolation) -> AccessibilityChecked:
    return AccessibilityChecked(run_id, 1, "n", "self-serve", "signup-page", "", list(violations))


def test_a_gap_in_both_windows_has_not_moved_and_a_new_one_got_worse() -> None:
    journey_map, label = load_map_text(MAP), _violation("label", "critical")
    now, before = _frame({"signup-page": "passed"}, "r1"), _frame({"signup-page": "passed"}, "r0")
    both = analyse(
        journey_map, now, previous=before, accessibility=[_run_check("r0", label), _run_check("r1", label)]
    )
    assert _status(both, "signup-page")[0] == "failing"
    assert [m.touchpoint_id for m in both.movements] == []
    new = analyse(
        journey_map, now, previous=before, accessibility=[_run_check("r0"), _run_check("r1", label)]
    )
    assert [(m.touchpoint_id, m.direction) for m in new.movements] == [("signup-page", "worse")]


def _analysis(checks: list[AccessibilityChecked]) -> GapAnalysis:
    outcomes = {"signup-page": "passed", "plans-page": "passed", "broken-page": "failed"}
    return analyse(load_map_text(MAP), _frame(outcomes), accessibility=checks)


def _status(analysis: GapAnalysis, touchpoint: str) -> tuple[str, str]:
    verdict = analysis.verdict(touchpoint, "self-serve")
    assert verdict is not None
    return verdict.status, verdict.gap


def test_a_violation_below_the_promise_is_shown_but_does_not_fail() -> None:
    analysis = _analysis([_check(2, "plans-page", _violation("color-contrast", "serious"))])
    assert _status(analysis, "plans-page") == ("met", "")
    found = analysis.accessibility_of("plans-page", "self-serve")
    assert found is not None and found.promise == "critical" and not found.failing
    assert [(rule.rule, rule.breaks_promise) for rule in found.rules] == [("color-contrast", False)]


def test_the_worst_broken_rule_names_the_gap_and_the_owners_action() -> None:
    checks = [
        _check(
            1,
            "signup-page",
            _violation("region", "moderate"),
            _violation("label", "critical"),
            _violation("color-contrast", "serious"),
        )
    ]
    analysis = _analysis(checks)
    status, gap = _status(analysis, "signup-page")
    assert status == "failing"
    assert gap.startswith(
        "label (critical): label help, on 2 element(s); and 1 more rule(s) at serious or worse"
    )
    (action,) = [a for a in analysis.actions if a.touchpoint_id == "signup-page"]
    assert action.owner == "Product" and action.status == "failing"
    assert action.what_to_fix.endswith(
        "screen reader for self-serve customers: label (critical): label help, on 2 element(s)"
    )


def test_axe_that_could_not_run_is_the_harness_problem_not_the_owners() -> None:
    analysis = _analysis([_check(1, "signup-page", error="axe could not run on the page: navigated away")])
    assert _status(analysis, "signup-page") == ("met", "")
    found = analysis.accessibility_of("signup-page", "self-serve")
    assert found is not None and (found.errors, found.checked, found.failing) == (1, 0, False)
    assert "navigated away" in found.last_error
    assert not [a for a in analysis.actions if a.touchpoint_id == "signup-page"]


def test_a_touchpoint_already_failing_gains_the_reason() -> None:
    analysis = _analysis([_check(3, "broken-page", _violation("label", "critical"))])
    status, gap = _status(analysis, "broken-page")
    assert status == "failing" and "; and label (critical)" in gap and gap.startswith("succeeded in 0%")


def test_findings_for_a_touchpoint_that_promises_nothing_are_ignored() -> None:
    journey_map = MAP.replace("    accessibility: {max: serious}\n", "", 1)
    checks = [_check(1, "signup-page", _violation("label", "critical"))]
    outcomes = {"signup-page": "passed"}
    analysis = analyse(load_map_text(journey_map), _frame(outcomes), accessibility=checks)
    assert _status(analysis, "signup-page") == ("met", "")
    assert analysis.accessibility_of("signup-page", "self-serve") is None


def test_what_axe_read_from_a_hostile_page_reaches_the_report_as_text(tmp_path: Path) -> None:
    payload = '<img src=x onerror="window.__xss=1">'
    hostile = AccessibilityViolation(
        rule="label",
        impact="critical",
        help=f"Form {payload}",
        help_url="javascript:window.__xss=2",
        nodes=1,
        targets=[f"#a{payload}"],
    )
    analysis = _analysis([_check(1, "signup-page", hostile)])
    html_path, _ = write_report(analysis, Window(runs=[Run("r1", T0, state="finished")]), tmp_path / "out")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options({}, playwright.chromium.executable_path))
        page = browser.new_page()
        page.goto(html_path.as_uri())
        page.wait_for_timeout(300)  # an onerror handler would have run by now
        ran = page.evaluate("() => window.__xss ?? null")
        links = page.locator('a[href^="javascript:"]').count()
        shown = page.locator(".accessibility").inner_text()
        browser.close()
    assert ran is None and links == 0
    assert f"Form {payload}" in shown and f"#a{payload}" in shown
