"""Step definitions bound to the journey map: registered with pytest-bdd and in the step catalogue.

The catalogue (`harness.map.catalogue`) is what a step declares, read by `shopper map check` and
the recorder without running anything; registering it with pytest-bdd, wrapped so that a dry run
skips what it must, is the step library's own business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from harness.map.catalogue import BY_NAME, CATALOGUE, StepEntry
from harness.record.dry_run import dry_run_aware

F = TypeVar("F", bound=Callable[..., Any])


def touchpoint_step(
    keyword: str,
    phrase: str,
    *,
    kind: str,
    binds: str | None = None,
    binds_by: str = BY_NAME,
    suffix: str = "",
    timed: bool = False,
    opens: bool = False,
) -> Callable[[F], F]:
    """Register a step with pytest-bdd and in the catalogue, saying which touchpoint it exercises.

    `binds` names the phrase parameter that picks the touchpoint (with `suffix` appended: "pricing"
    + "page"); steps without it act on the touchpoint the customer is already at. `timed` steps wait
    for the touchpoint to answer (a page load, a reply to a form, an email): their durations make
    the touchpoint's response time. `opens` steps open a page by themselves (a URL, not a click).
    """
    from pytest_bdd import given, parsers, step, then, when

    decorators: dict[str, Callable[..., Any]] = {"given": given, "when": when, "then": then, "step": step}
    if keyword not in decorators:
        raise ValueError(f"keyword must be one of {sorted(decorators)}")

    def register(func: F) -> F:
        entry = StepEntry(
            keyword=keyword,
            phrase=phrase,
            kind=kind,
            func=func,
            doc=(func.__doc__ or "").strip(),
            binds=binds,
            binds_by=binds_by,
            suffix=suffix,
            timed=timed,
            opens=opens,
        )
        CATALOGUE.append(entry)
        func.__shopper_step__ = entry  # type: ignore[attr-defined]
        # The caller's module must own the step fixture, so register from its frame's point of view.
        decorators[keyword](parsers.parse(phrase), stacklevel=2)(dry_run_aware(func, entry.kind, opens))
        return func

    return register
