"""The journey map: what a customer should experience, stage by stage (shape: docs/design.md).

The model (stages, touchpoints, their expectations), durations as a map writes them, and how a
touchpoint's url pattern matches a page. Reading a map's YAML is harness.map.loading.

Defaults keep a first draft short: a touchpoint without `owner` belongs to "Unassigned", so the
report still shows who to chase; `success_rate` defaults to 0.95, because a touchpoint nobody wrote
a target for should still work nineteen times out of twenty. Durations read "800ms", "2s", "1.5s",
"2m", "4h" or "1d"; a bare number is seconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from harness.errors import MapError

CHANNELS = ("web", "email", "chat", "form", "api", "phone")
PAGE_CHANNELS = ("web", "form")  # what a browser's page can be; an `api` touchpoint is called, not opened
DEFAULT_OWNER = "Unassigned"
DEFAULT_SUCCESS_RATE = 0.95
# axe-core's impacts, least first: `accessibility: {max: serious}` fails a page on a serious or critical one.
IMPACTS = ("minor", "moderate", "serious", "critical")

_UNIT_MS = {"d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_DURATION = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?")


def parse_duration(
    text: str | int | float, *, file: str | Path | None = None, line: int | None = None
) -> int:
    """Milliseconds for "800ms", "2s", "1.5s", "2m", "4h", "1d" or a bare number of seconds."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if math.isfinite(text) and text >= 0:
            return round(text * 1000)
    elif match := _DURATION.fullmatch(str(text).strip()):
        number, unit = match.groups()
        return round(float(number) * _UNIT_MS[unit or "s"])
    raise MapError(
        f"duration '{text}' does not parse; use a number with ms, s, m, h or d, e.g. 2s", file=file, line=line
    )


def format_duration(ms: int | float | None) -> str:
    """The shortest exact spelling ("1.5s", "2m"), or a rounded one for a measured time."""
    if ms is None:
        return "—"
    for unit in ("d", "h", "m", "s"):
        value = ms / _UNIT_MS[unit]
        if value >= 1 and abs(value * 10 - round(value * 10)) < 1e-9:
            return f"{_trim(value, 1)}{unit}"
    if ms < 1000:
        return f"{round(ms)}ms"
    # A measured p95 like 1234.5ms reads better as "1.23s" than exactly.
    unit = next(unit for unit in ("d", "h", "m", "s") if ms >= _UNIT_MS[unit])
    return f"{_trim(ms / _UNIT_MS[unit], 2)}{unit}"


@dataclass(frozen=True)
class Expectation:
    within_ms: int | None = None  # response time target: p95 should be within it
    fail_after_ms: int | None = None  # an attempt taking longer than this counts as failed
    success_rate: float = DEFAULT_SUCCESS_RATE
    emotion: int | None = None  # -2..+2
    # Promised web vitals of its page, (name, limit) sorted by name: lcp, fcp, inp, ttfb in ms, cls bare.
    vitals: tuple[tuple[str, float], ...] = ()
    # `accessibility: {max: IMPACT}`: no axe violation of this impact or worse on the page; None: not judged.
    accessibility: str | None = None

    def vital(self, name: str) -> float | None:
        return dict(self.vitals).get(name)


@dataclass
class Touchpoint:
    id: str
    name: str
    channel: str
    owner: str
    stage_id: str
    expect: Expectation = field(default_factory=Expectation)
    # Already merged with `expect`, so no caller ever merges by hand.
    segment_expect: dict[str, Expectation] = field(default_factory=dict)
    moment_of_truth: bool = False
    url: str | None = None
    # Regular expressions an email of this touchpoint must match: its subject, its From, its body.
    subject: str | None = None
    sender: str | None = None  # the map's `from:`
    body: str | None = None
    code: str | None = None  # how a code reads in the email body ("I read the code in ...")
    milestone: str | None = None
    line: int = 0

    def expectation(self, segment: str | None) -> Expectation:
        return self.segment_expect.get(segment, self.expect) if segment else self.expect


@dataclass
class Stage:
    id: str
    name: str
    touchpoints: list[Touchpoint]
    customer_goal: str = ""
    max_messages: int | None = None
    max_senders: int | None = None
    accessibility: str | None = None  # the stage's promise, taken by every touchpoint that makes none
    line: int = 0


COLOR_SCHEMES = ("light", "dark", "no-preference")


@dataclass(frozen=True)
class Browsing:
    """How a segment's customers browse: a Playwright device (`iPhone 13`) and what they set apart from
    it; all empty is the browser's own defaults. Each segment's run opens its browser this way."""

    device: str = ""
    viewport: tuple[int, int] | None = None  # width, height in CSS pixels
    user_agent: str = ""
    locale: str = ""  # e.g. de-DE
    timezone: str = ""  # an IANA name, e.g. Europe/Berlin
    color_scheme: str = ""  # light, dark or no-preference

    def described(self) -> str:
        """What a report and a run's record say the customers used: "iPhone 13, de-DE, Europe/Berlin"."""
        parts = [self.device] if self.device else []
        if self.viewport:
            parts.append(f"{self.viewport[0]}×{self.viewport[1]}")
        parts += [part for part in (self.locale, self.timezone) if part]
        if self.color_scheme:
            parts.append(f"{self.color_scheme} colours")
        if self.user_agent:
            parts.append("its own user agent")
        return ", ".join(parts)


@dataclass
class JourneyMap:
    journey: str
    version: str
    segments: list[str]  # may be empty: the map then draws no line between customers
    stages: list[Stage]
    path: Path
    # The promised time from the first step of the journey to the `milestone: first-value` touchpoint.
    first_value_within_ms: int | None = None
    text: str = field(default="", repr=False)  # the YAML as written: stored with every run, for map diffs
    browsing: dict[str, Browsing] = field(default_factory=dict)  # by segment; a segment absent browses as is

    def browsing_of(self, segment: str) -> Browsing:
        return self.browsing.get(segment, Browsing())

    def touchpoints(self) -> list[Touchpoint]:
        return [touchpoint for stage in self.stages for touchpoint in stage.touchpoints]

    def touchpoint(self, touchpoint_id: str) -> Touchpoint | None:
        return next((tp for tp in self.touchpoints() if tp.id == touchpoint_id), None)

    def stage(self, stage_id: str) -> Stage | None:
        return next((stage for stage in self.stages if stage.id == stage_id), None)

    def find_touchpoint(self, ref: str) -> Touchpoint | None:
        """The touchpoint a step phrase names loosely: "Pricing page", "pricing page" or "pricing-page"."""
        touchpoints = self.touchpoints()
        name, slug = ref.strip().casefold(), slugify(ref)
        # Exact id first, so a loose match can never shadow a touchpoint named precisely.
        return (
            next((tp for tp in touchpoints if tp.id == ref), None)
            or next((tp for tp in touchpoints if tp.name.casefold() == name), None)
            or next((tp for tp in touchpoints if slug and slug in (tp.id, slugify(tp.name))), None)
        )

    def touchpoint_for_url(self, path: str, channels: tuple[str, ...] = PAGE_CHANNELS) -> Touchpoint | None:
        """The touchpoint of these channels (a page's: web or form) whose url pattern matches path most
        specifically (see url_match); an API call looks among the `api` ones."""
        best: Touchpoint | None = None
        best_rank: tuple[int, int] = (-1, -1)
        for tp in self.touchpoints():
            if tp.channel not in channels or tp.url is None:
                continue
            rank = url_match(tp.url, path)
            if rank is not None and rank > best_rank:
                best, best_rank = tp, rank
        return best


# `{key}` in a url stands for one path segment the site makes up (a confirmation key, an id).
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def _segments(path: str) -> list[str]:
    return [part for part in (urlsplit(path).path or "/").split("/") if part]


def is_template(url: str) -> bool:
    return bool(PLACEHOLDER.search(url))


def url_match(pattern: str, path: str) -> tuple[int, int] | None:
    """How specifically a touchpoint's url pattern matches a path, or None when it does not.

    A pattern is a path prefix, segment by segment ("/pricing" owns "/pricing/team", not
    "/pricing-old"), whose `{name}` parts match any text within one segment. "/" owns only the
    home page. The rank (segments matched, of them literal) lets the most specific pattern win.
    """
    want, have = _segments(pattern), _segments(path)
    if not want:
        return (0, 0) if not have else None
    if len(have) < len(want):
        return None
    literal = 0
    for wanted, part in zip(want, have, strict=False):
        if not PLACEHOLDER.search(wanted):
            if wanted != part:
                return None
            literal += 1
        elif not _segment_regex(wanted).fullmatch(part):
            return None
    return (len(want), literal)


def _segment_regex(segment: str) -> re.Pattern[str]:
    pieces = PLACEHOLDER.split(segment)
    return re.compile("[^/]+".join(re.escape(piece) for piece in pieces))


def _trim(value: float, places: int) -> str:
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
