"""axe-core on a page visit of a touchpoint that promises accessibility (`accessibility: {max: ...}`).

Run after the step's clock stopped (scenario_run.step_passed, like page_evidence), so axe's time is
never the touchpoint's; once per touchpoint per scenario attempt: a second visit of the same page
in one scenario would mostly find the same rules, and axe costs a few hundred milliseconds a page.
axe-core comes bundled with axe-playwright-python: it is injected into the page, nothing is fetched.

Only what the report needs is kept: per rule its id, impact, help text and URL, how many elements
break it and the selectors of the first few, every text redacted of the customer's secrets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from axe_playwright_python.base import AXE_SCRIPT

from harness.map.journey_map import IMPACTS, PAGE_CHANNELS, Touchpoint
from harness.observation import AccessibilityChecked, AccessibilityViolation, Observation, utc_now
from harness.record.context import Shopper
from harness.record.secrets import page_location, redact

MAX_TARGETS = 3  # selectors kept per rule: enough to find the elements, not a dump of the page
MAX_TEXT_CHARS = 300

# Started without awaiting: the harness then waits for the answer no longer than the touchpoint's
# fail_after (page.evaluate itself could not be bounded). The page keeps only the figures the report needs.
START_AXE = """(keep) => {
  window.__shopperAxe = null;
  axe.run(document, {resultTypes: ['violations']}).then(
    (results) => { window.__shopperAxe = {violations: results.violations.map((rule) => ({
      rule: rule.id, impact: rule.impact || 'minor', help: rule.help, help_url: rule.helpUrl,
      nodes: rule.nodes.length,
      targets: rule.nodes.slice(0, keep).map((node) => [].concat(node.target).join(' '))}))}; },
    (error) => { window.__shopperAxe = {error: String(error && error.message || error)}; });
}"""


@dataclass
class AccessibilityFound:
    """What one axe run on a page found, or why it could not run (then a harness error)."""

    touchpoint: Touchpoint
    url: str
    violations: list[AccessibilityViolation] = field(default_factory=list)
    error: str = ""
    started_at: dt.datetime = field(default_factory=utc_now)  # when axe began: after the step's clock stopped

    def event(self, observation: Observation, node_id: str) -> AccessibilityChecked:
        """What the recorder emits: these findings, tied to the observation of the visit they checked."""
        return AccessibilityChecked(
            run_id=observation.run_id,
            seq=observation.seq,
            node_id=node_id,
            segment=observation.segment,
            touchpoint=self.touchpoint.id,
            url=self.url,
            violations=self.violations,
            error=self.error,
            checked_at=self.started_at,
        )


def promised(shopper: Shopper) -> Touchpoint | None:
    """The page touchpoint the step waited for last, if it promises accessibility to this segment."""
    part = shopper.last_part()
    touchpoint = part.touchpoint if part is not None else None
    if touchpoint is None or touchpoint.channel not in PAGE_CHANNELS or shopper.page is None:
        return None
    return touchpoint if touchpoint.expectation(shopper.segment).accessibility else None


def check_page(shopper: Shopper, touchpoint: Touchpoint) -> AccessibilityFound:
    """axe-core's violations on the page the customer is on; an error (never raised) when it cannot run."""
    hidden = shopper.secrets()
    url = redact(page_location(shopper.page_url()), hidden)
    found = AccessibilityFound(touchpoint=touchpoint, url=url)
    if shopper.page is None:
        found.error = "axe could not run: there is no page"
        return found
    try:
        shopper.page.evaluate(AXE_SCRIPT)
        shopper.page.evaluate(START_AXE, MAX_TARGETS)
        handle = shopper.page.wait_for_function("() => window.__shopperAxe", timeout=shopper.wait_ms())
        answer = handle.json_value()
    except Exception as exc:  # the page navigated away, a script of the page broke axe, a timeout
        found.error = redact(f"axe could not run on the page: {_first_line(exc)}", hidden)[:MAX_TEXT_CHARS]
        return found
    if not isinstance(answer, dict) or "error" in answer:
        said = answer.get("error", "") if isinstance(answer, dict) else "no answer"
        found.error = redact(f"axe could not run on the page: {said}", hidden)[:MAX_TEXT_CHARS]
        return found
    rows = answer.get("violations")
    found.violations = [_violation(row, hidden) for row in rows if isinstance(row, dict)] if isinstance(
        rows, list
    ) else []
    return found


def _violation(row: dict[str, Any], hidden: list[str]) -> AccessibilityViolation:
    impact = str(row.get("impact") or "minor")
    targets = row.get("targets")
    return AccessibilityViolation(
        rule=_text(row.get("rule"), hidden),
        impact=impact if impact in IMPACTS else "minor",
        help=_text(row.get("help"), hidden),
        help_url=_text(row.get("help_url"), hidden),
        nodes=int(row.get("nodes") or 0),
        targets=[_text(t, hidden) for t in targets[:MAX_TARGETS]] if isinstance(targets, list) else [],
    )


def _text(value: Any, hidden: list[str]) -> str:
    return redact(str(value or ""), hidden)[:MAX_TEXT_CHARS]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
