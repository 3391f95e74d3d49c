"""A dry run: every page the scenarios open, every field and button their steps name, nothing sent.

Steps still find what they name (so a field a run would not find shows now, before it becomes a
gap) and still type into fields, but hold back whatever would send or trigger something: a press,
a click on a button, a form sent, an email waited for. Once an action is held back the customer
is not where a real run would be, so the scenario's next steps are not checked until one opens a
page by itself. Nothing reaches the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Trip:
    """A step a real run would trip on: where it is and the sentence its error said."""

    feature: str
    line: int
    step: str
    outcome: str  # "error" (a scenario to fix) or "failed" (what the touchpoint would answer)
    error: str

    def describe(self) -> str:
        first = self.error.splitlines()[0] if self.error else ""
        return f"{self.feature}:{self.line}: {self.step} — {first}"


@dataclass
class DryRun:
    away: bool = False  # an action was held back: the page a real run would be on is unknown
    unchecked: list[str] = field(default_factory=list)  # steps after it, not checked


def held_back(dry_run: DryRun | None) -> bool:
    """True in a dry run: the action is not taken, and the scenario's page is no longer the real one."""
    if dry_run is None:
        return False
    dry_run.away = True
    return True
