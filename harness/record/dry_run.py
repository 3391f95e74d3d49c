"""A dry run: every page the scenarios open, every field and button their steps name, nothing sent.

Steps still find what they name (so a field a run would not find shows now, before it becomes a
gap) and still type into fields, but hold back whatever would send or trigger something: a press,
a click on a button, a form sent, an email waited for. Once an action is held back the customer
is not where a real run would be, so the scenario's next steps are not checked until one opens a
page by itself. Nothing reaches the store.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


AWAY = "not checked: it comes after an action a dry run holds back, so the page is not the real one"
NO_MAIL = "not checked: a dry run reads no email"
OPENED_BY_URL = "not checked: the page was opened by its url, not reached as a run reaches it"
VERDICTS = {"error": "scenario to fix", "failed": "the touchpoint would fail"}


@dataclass
class Trip:
    """A step a real run would trip on, or one the dry run could not check: where, and what it said."""

    feature: str
    line: int
    step: str
    outcome: str  # "error" (a scenario to fix), "failed" (the touchpoint's answer) or "unchecked"
    error: str = ""

    def describe(self) -> str:
        said = self.error.splitlines()[0] if self.error else ""
        verdict = VERDICTS.get(self.outcome, self.outcome)
        return f"{self.feature}:{self.line}: {self.step} — {said} [{verdict}]"


@dataclass
class Findings:
    """What a dry run found, in the order the steps ran; written for the CLI as JSON."""

    trips: list[Trip] = field(default_factory=list)
    unchecked: list[Trip] = field(default_factory=list)
    out: str = ""  # the JSON file they go to at the end ("": only the terminal hears of them)

    def write(self) -> None:
        if self.out:
            data = {"trips": list(map(asdict, self.trips)), "unchecked": list(map(asdict, self.unchecked))}
            Path(self.out).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Findings:
        if not path.exists() or not path.stat().st_size:
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            trips=[Trip(**item) for item in data["trips"]],
            unchecked=[Trip(**item) for item in data["unchecked"]],
        )

    def step_ended(self, state: DryRun | None, feature: str, step: Any) -> None:
        """Note the step (pytest-bdd's) that just passed if the dry run did not check it."""
        if state is not None and state.skipped:
            text = f"{step.keyword} {step.name}"
            self.unchecked.append(Trip(feature, step.line_number, text, "unchecked", state.skipped))
            state.skipped = ""

    def step_failed(self, feature: str, step: Any, outcome: str, error: str) -> None:
        self.trips.append(Trip(feature, step.line_number, f"{step.keyword} {step.name}", outcome, error))

    def extend(self, other: Findings) -> None:
        self.trips += other.trips
        self.unchecked += other.unchecked

    def verdict(self) -> str:
        return f"{len(self.trips)} step(s) would trip" if self.trips else "nothing would trip"

    def lines(self) -> list[str]:
        said = [f"  {trip.describe()}" for trip in self.trips]
        if self.unchecked:
            said.append(f"  {len(self.unchecked)} step(s) not checked:")
            said += [f"    {step.feature}:{step.line}: {step.step} — {step.error}" for step in self.unchecked]
        return said


@dataclass
class DryRun:
    away: bool = False  # an action was held back: the page a real run would be on is unknown
    skipped: str = ""  # why the step that just ran was not checked (read and reset by the plugin)
    returning: bool = False  # a step that `opens` runs after an action held back (it may come back)
    by_url: bool = False  # came back by opening a page's url: its fields are real, its contents may not be


def held_back(dry_run: DryRun | None) -> bool:
    """True in a dry run: the action is not taken, and the scenario's page is no longer the real one."""
    if dry_run is None:
        return False
    dry_run.away = True
    return True


def dry_run_aware(func: F, kind: str, opens: bool) -> F:
    """The step as a dry run calls it: not at all while the page is not the real one, nor an email step.

    A step that opens a page by itself (`opens`) brings the dry run back to a real page; one that
    says where the customer is ("I am on the login page") may, by opening that page's url.
    """
    waits_for_mail = kind == "email"
    moves = "page" in inspect.signature(func).parameters

    @functools.wraps(func)
    def step(*args: Any, **kwargs: Any) -> Any:
        state = getattr(kwargs.get("shopper"), "dry_run", None)
        if state is None:
            return func(*args, **kwargs)
        if opens:
            state.returning, state.away, state.by_url = state.away, False, False
            try:
                return func(*args, **kwargs)
            finally:
                state.returning = False
        if state.away or waits_for_mail:
            state.skipped = AWAY if state.away else NO_MAIL
            # An email step that acts on the page (a link followed) leaves the customer elsewhere.
            state.away = state.away or (waits_for_mail and moves)
            return None
        return func(*args, **kwargs)

    return step  # type: ignore[return-value]
