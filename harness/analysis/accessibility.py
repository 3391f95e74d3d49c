"""Accessibility as a promise of the journey map: axe-core's findings held against `accessibility`.

A touchpoint (or its stage, or a segment override) promising `accessibility: {max: serious}` lets no
page visit show a violation of that impact or worse (minor < moderate < serious < critical). One
that does is *failing* for that reason, charged to its owner: a screen-reader customer cannot use
the page. A touchpoint that promises nothing is not judged on accessibility, whatever axe found.
A check axe could not run (the page navigated away, a script error) is the harness's problem: it
is counted apart and never fails the touchpoint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.analysis.actions import Action
from harness.analysis.verdicts import Verdict
from harness.analysis.visits import present
from harness.map.journey_map import IMPACTS, JourneyMap
from harness.observation import AccessibilityChecked

# Verdicts an accessibility gap turns into failing; failing ones keep their status and gain the reason.
_JUDGED = ("met", "slow", "flaky", "runner-busy", "failing")


@dataclass
class RuleFound:
    """One axe rule broken on a touchpoint's visits in the window (the report's evidence row)."""

    rule: str
    impact: str
    help: str
    help_url: str
    nodes: int  # elements breaking it, on the visit that showed the most
    visits: int  # checked visits that showed it
    targets: list[str] = field(default_factory=list)
    breaks_promise: bool = False  # at or above the promised impact

    @property
    def sentence(self) -> str:
        return f"{self.rule} ({self.impact}): {self.help}, on {self.nodes} element(s)"


@dataclass
class TouchpointAccessibility:
    """axe's findings for one touchpoint and segment, against what the map promises it."""

    touchpoint_id: str
    segment: str
    promise: str  # the least impact that breaks the promise
    checked: int = 0  # visits axe ran on
    failed_visits: int = 0  # checked visits with a violation at or above the promise
    runs_failed: int = 0
    errors: int = 0  # checks axe could not run: harness errors
    last_error: str = ""
    rules: list[RuleFound] = field(default_factory=list)  # worst impact first

    @property
    def failing(self) -> bool:
        return self.failed_visits > 0

    @property
    def gap(self) -> str:
        breaking = [rule for rule in self.rules if rule.breaks_promise]
        if not breaking:
            return ""
        others = len(breaking) - 1
        more = f"; and {others} more rule(s) at {self.promise} or worse" if others else ""
        return f"{breaking[0].sentence}{more} (the map promises nothing {self.promise} or worse)"

    def as_json(self) -> dict[str, Any]:
        """As the JSON report carries it (docs/report.schema.json, touchpoint_accessibility)."""
        return {**dataclasses.asdict(self), "failing": self.failing, "gap": self.gap}


def breaks(impact: str, promise: str) -> bool:
    rank = {name: number for number, name in enumerate(IMPACTS)}
    return rank.get(impact, 0) >= rank.get(promise, len(IMPACTS))


def judge_accessibility(
    journey_map: JourneyMap, checks: Sequence[AccessibilityChecked]
) -> list[TouchpointAccessibility]:
    """Per touchpoint and segment that promises accessibility (by the map judged against), its findings."""
    found: dict[tuple[str, str], TouchpointAccessibility] = {}
    rules: dict[tuple[str, str], dict[str, RuleFound]] = {}
    failed_runs: dict[tuple[str, str], set[str]] = {}
    for check in checks:
        touchpoint = journey_map.touchpoint(check.touchpoint)
        promise = touchpoint.expectation(check.segment).accessibility if touchpoint else None
        if promise is None:
            continue  # promised nothing: not judged on accessibility
        key = (check.touchpoint, check.segment)
        entry = found.setdefault(key, TouchpointAccessibility(check.touchpoint, check.segment, promise))
        if check.error:
            entry.errors += 1
            entry.last_error = check.error
            continue
        entry.checked += 1
        seen = rules.setdefault(key, {})
        for violation in check.violations:
            rule = seen.get(violation.rule)
            if rule is None:
                rule = seen[violation.rule] = RuleFound(
                    violation.rule,
                    violation.impact,
                    violation.help,
                    violation.help_url,
                    0,
                    0,
                    list(violation.targets),
                    breaks(violation.impact, promise),
                )
            rule.visits += 1
            if violation.nodes > rule.nodes:
                rule.nodes, rule.targets = violation.nodes, list(violation.targets)
        if any(breaks(violation.impact, promise) for violation in check.violations):
            entry.failed_visits += 1
            failed_runs.setdefault(key, set()).add(check.run_id)
    for key, entry in found.items():
        order = {name: number for number, name in enumerate(IMPACTS)}
        entry.rules = sorted(rules.get(key, {}).values(), key=lambda r: (-order.get(r.impact, 0), r.rule))
        entry.runs_failed = len(failed_runs.get(key, set()))
    return list(found.values())


def judge_window(
    journey_map: JourneyMap, checks: Sequence[AccessibilityChecked] | None, observations: pd.DataFrame
) -> list[TouchpointAccessibility]:
    """judge_accessibility on the checks of the runs these observations come from (one window's)."""
    runs = present(observations["run_id"]) if len(observations) else set()
    return judge_accessibility(journey_map, [check for check in checks or [] if check.run_id in runs])


def apply_to_verdicts(
    verdicts: list[Verdict], findings: list[TouchpointAccessibility]
) -> set[tuple[str, str]]:
    """A touchpoint whose visits broke its accessibility promise is failing, charged to its owner.

    Returns the (touchpoint, segment) pairs failing for that reason alone.
    """
    by_key = {(entry.touchpoint_id, entry.segment): entry for entry in findings if entry.failing}
    alone: set[tuple[str, str]] = set()
    for verdict in verdicts:
        key = (verdict.touchpoint_id, verdict.segment)
        entry = by_key.get(key)
        if entry is None or verdict.status not in _JUDGED:
            continue
        verdict.observed.runs_affected = max(verdict.observed.runs_affected, entry.runs_failed)
        if verdict.status == "failing":
            verdict.gap = f"{verdict.gap}; and {entry.gap}" if verdict.gap else entry.gap
            continue
        verdict.status, verdict.gap = "failing", entry.gap
        verdict.gap_size = entry.failed_visits / max(entry.checked, 1)
        alone.add(key)
    return alone


def reword_actions(
    actions: list[Action], findings: list[TouchpointAccessibility], alone: set[tuple[str, str]]
) -> None:
    """An action whose only gap is accessibility says so, for the customer it shuts out."""
    by_key = {(entry.touchpoint_id, entry.segment): entry for entry in findings}
    for action in actions:
        key = (action.touchpoint_id, action.segment)
        if key in alone and key in by_key:
            worst = next(rule for rule in by_key[key].rules if rule.breaks_promise)
            action.what_to_fix = (
                f"Make {action.touchpoint_name} usable with a screen reader for {action.segment} customers:"
                f" {worst.sentence}"
            )
