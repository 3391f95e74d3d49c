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
from typing import Any

from harness.map.journey_map import PAGE_CHANNELS, JourneyMap, Touchpoint

BY_NAME = "name"  # the parameter names a touchpoint of the map ("the pricing page")
API_KIND = "api"  # a step that calls the target's API binds among the map's api touchpoints
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
        channels = ("api",) if entry.kind == API_KIND else PAGE_CHANNELS
        touchpoint = journey_map.touchpoint_for_url(path, channels)
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
