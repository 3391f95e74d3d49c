"""The step catalogue: every step phrase, its parameters and the touchpoint kind it exercises.

A step definition declares how it binds to the journey map, so the recorder can put each
observation on the right touchpoint and `shopper map check` can tell which touchpoints the
features cover without running them. `shopper steps` prints this catalogue for people who write
scenarios without reading Python.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from harness.map.journey_map import JourneyMap, Touchpoint
from harness.record.dry_run import dry_run_aware

F = TypeVar("F", bound=Callable[..., Any])

BY_NAME = "name"  # the parameter names a touchpoint of the map ("the pricing page")
BY_URL = "url"  # the parameter is a path; the map touchpoint whose url it falls under, else off-map


@dataclass
class StepEntry:
    keyword: str
    phrase: str
    kind: str
    func: Callable[..., Any]
    doc: str = ""
    binds: str | None = None
    binds_by: str = BY_NAME
    suffix: str = ""
    timed: bool = False  # its duration is the touchpoint answering, not the customer typing or checking
    opens: bool = False  # it opens a page by itself, wherever the customer was (a dry run resumes there)
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    @property
    def parameters(self) -> list[str]:
        return [name for _, name, _, _ in string.Formatter().parse(self.phrase) if name]

    def match(self, text: str) -> dict[str, str] | None:
        """Parse a step text against this phrase (the same `{name}` syntax as pytest-bdd's parsers.parse)."""
        if self._pattern is None:
            regex = ""
            for literal, name, _, _ in string.Formatter().parse(self.phrase):
                regex += re.escape(literal)
                if name:
                    regex += f"(?P<{name}>.+?)"
            self._pattern = re.compile(f"^{regex}$")
        found = self._pattern.match(text.strip())
        return found.groupdict() if found else None


CATALOGUE: list[StepEntry] = []


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


def entry_for(func: Callable[..., Any]) -> StepEntry | None:
    entry = getattr(func, "__shopper_step__", None)
    return entry if isinstance(entry, StepEntry) else None


def find_entry(text: str) -> tuple[StepEntry, dict[str, str]] | None:
    for entry in CATALOGUE:
        args = entry.match(text)
        if args is not None:
            return entry, args
    return None


def entries() -> Iterator[StepEntry]:
    yield from CATALOGUE


@dataclass
class Binding:
    """Where a step lands: a map touchpoint, an off-map one (a path the map does not know), or nowhere."""

    touchpoint: Touchpoint | None = None
    off_map: str | None = None
    unresolved: str | None = None  # the name the step gave that the map does not have

    @property
    def touchpoint_id(self) -> str | None:
        return self.touchpoint.id if self.touchpoint else self.off_map


def bind(entry: StepEntry, args: dict[str, Any], journey_map: JourneyMap) -> Binding | None:
    """The touchpoint a step names, or None when the step acts on the current touchpoint."""
    if entry.binds is None or entry.binds not in args:
        return None
    value = str(args[entry.binds]).strip()
    if entry.binds_by == BY_URL:
        path = (
            _path_of(value) if "://" in value else "/" + value.split("?", 1)[0].split("#", 1)[0].lstrip("/")
        )
        touchpoint = journey_map.touchpoint_for_url(path)
        return Binding(touchpoint=touchpoint) if touchpoint else Binding(off_map=path)
    for ref in (f"{value} {entry.suffix}".strip(), value):
        touchpoint = journey_map.find_touchpoint(ref)
        if touchpoint is not None:
            return Binding(touchpoint=touchpoint)
    return Binding(unresolved=f"{value} {entry.suffix}".strip())


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path or "/"


def static_binding(text: str, journey_map: JourneyMap) -> Binding | None:
    """The touchpoint a step's text names, found without running it (None: it acts where the customer is)."""
    found = find_entry(text)
    return bind(found[0], found[1], journey_map) if found else None
