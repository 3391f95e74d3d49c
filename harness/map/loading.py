"""Reading a journey map's YAML into the model (harness.map.journey_map).

Defaults keep a first draft short: a stage or touchpoint without `name` is named after its id
("pricing-page" -> "Pricing page"); a touchpoint without `owner` belongs to "Unassigned". A
segment override replaces only the keys it names.

Every mistake raises MapError with the map's path, the 1-based line of the offending node and one
plain sentence. That is why the YAML is composed into a node tree instead of loaded into plain
values: every node still knows its line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import MapError, MapErrors, did_you_mean, read_user_file
from harness.map.journey_map import (
    CHANNELS,
    DEFAULT_OWNER,
    IMPACTS,
    PAGE_CHANNELS,
    PLACEHOLDER,
    Browsing,
    Expectation,
    JourneyMap,
    Stage,
    Touchpoint,
    format_duration,
    parse_duration,
    slugify,
)
from harness.map.segment_browsing import read_segment
from harness.map.user_yaml import compose

_TOP_KEYS = {"journey", "version", "segments", "stages", "description", "first_value_within"}
_STAGE_KEYS = {"id", "name", "description", "customer_goal", "touchpoints", "max_messages", "max_senders"}
_STAGE_KEYS |= {"accessibility"}
_TOUCHPOINT_KEYS = {"id", "name", "description", "channel", "owner", "moment_of_truth", "expect", "segments"}
_TOUCHPOINT_KEYS |= {"url", "subject", "from", "body", "code", "milestone", "accessibility"}
_VITAL_KEYS = {"lcp", "fcp", "inp", "ttfb", "cls"}  # web vitals a page may promise (analysis.vitals)
_EXPECT_KEYS = {"within", "fail_after", "success_rate", "emotion"} | _VITAL_KEYS
_OVERRIDE_KEYS = _EXPECT_KEYS | {"accessibility"}  # a segment override may promise accessibility too

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_NULL = "tag:yaml.org,2002:null"
_ABSENT = ScalarNode(_NULL, "")  # stands in for an optional block the map leaves out

T = TypeVar("T")

def load_map(path: str | Path) -> JourneyMap:
    return load_map_text(read_user_file(path, "journey map", MapError), path)


def load_map_text(text: str, path: str | Path = "<map>") -> JourneyMap:
    path = Path(path)
    root = compose(text, path, "map", MapError)
    journey_map = _Builder(path).journey_map(root)
    journey_map.text = text
    return journey_map


class _Builder:
    """Walks the composed node tree, so every complaint can point at the line that caused it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.constructor = SafeConstructor()
        self.segments: list[str] = []
        self.stage_lines: dict[str, int] = {}
        self.touchpoint_lines: dict[str, int] = {}
        self.errors: list[MapError] = []  # one per stage or touchpoint that could not be read

    def collect(self, read: Callable[[Node], T], node: Node) -> T | None:
        """Read one stage or touchpoint; a mistake in it is kept and the next one is read all the same."""
        try:
            return read(node)
        except MapErrors as exc:
            self.errors += exc.errors
        except MapError as exc:
            self.errors.append(exc)
        return None

    def fail(self, node: Node, message: str) -> MapError:
        return MapError(message, file=self.path, line=_line(node))

    def pairs(self, node: Node, where: str) -> list[tuple[str, Node, Node]]:
        if isinstance(node, ScalarNode) and node.tag == _NULL:
            return []  # an empty block (`expect:` with nothing under it) is harmless
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{where} must be a mapping of keys to values")
        pairs: list[tuple[str, Node, Node]] = []
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise self.fail(key, f"a key in {where} must be a plain word")
            # PyYAML silently keeps the last of two equal keys; the user surely meant something else.
            if any(key.value == seen for seen, _, _ in pairs):
                raise self.fail(key, f'duplicate key "{key.value}" in {where}')
            pairs.append((key.value, key, value))
        return pairs

    def mapping(self, node: Node, where: str, allowed: set[str]) -> dict[str, Node]:
        pairs = self.pairs(node, where)
        for name, key, _ in pairs:
            if name not in allowed:
                hint = " (YAML merge keys are not supported)" if name == "<<" else did_you_mean(name, allowed)
                raise self.fail(key, f'unknown key "{name}" in {where}{hint}')
        return {name: value for name, _, value in pairs}

    def required(self, keys: dict[str, Node], key: str, node: Node, where: str) -> Node:
        if key not in keys:
            raise self.fail(node, f'missing required key "{key}" in {where}')
        return keys[key]

    def optional(self, keys: dict[str, Node], key: str, read: Callable[[Node, str], T], default: T) -> T:
        return read(keys[key], key) if key in keys else default

    def sequence(self, node: Node, what: str) -> list[Node]:
        if isinstance(node, ScalarNode) and node.tag == _NULL:
            return []
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def text(self, node: Node, what: str) -> str:
        # The raw text, not YAML's reading of it: `version: 2026-11-01` stays a string, not a date.
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{what} must be text, not a list or mapping")
        if node.tag == _NULL or not node.value.strip():
            raise self.fail(node, f"{what} is empty")
        return str(node.value).strip()

    def slug(self, node: Node, what: str) -> str:
        value = self.text(node, what)
        if not _SLUG.fullmatch(value):
            example = f', e.g. "{slugify(value)}"' if slugify(value) else ""
            raise self.fail(
                node, f'{what} "{value}" is not a slug; use lowercase letters, digits and dashes{example}'
            )
        return value

    def value(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            return None
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError:
            return None  # an odd tag: the caller reports the value as the wrong kind

    def count(self, node: Node, what: str) -> int:
        number = self.value(node)
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise self.fail(node, f"{what} must be a whole number, 0 or more")
        return number

    def flag(self, node: Node, what: str) -> bool:
        value = self.value(node)
        if not isinstance(value, bool):
            raise self.fail(node, f"{what} must be true or false")
        return value

    def url(self, node: Node, what: str) -> str:
        url = self.text(node, what)
        if not url.startswith("/"):
            raise self.fail(node, f'{what} "{url}" must be a path starting with "/", e.g. "/pricing"')
        if "{" in PLACEHOLDER.sub("", url) or "}" in PLACEHOLDER.sub("", url):
            raise self.fail(
                node,
                f'{what} "{url}" has a stray brace: a part the site makes up is written like'
                ' "/confirm/{key}/", a name in braces',
            )
        return url

    def pattern(self, node: Node, what: str) -> str:
        pattern = self.text(node, what)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise self.fail(
                node, f'{what} "{pattern}" is not a valid regular expression ({exc.msg})'
            ) from None
        return pattern

    def journey_map(self, root: Node | None) -> JourneyMap:
        if root is None:
            raise MapError("the map is empty; it needs at least journey and stages", file=self.path, line=1)
        if not isinstance(root, MappingNode):
            raise self.fail(root, "the top level of the map must be a mapping with journey and stages")
        keys = self.mapping(root, "the map", _TOP_KEYS)
        journey = self.text(self.required(keys, "journey", root, "the map"), "journey")
        browsing: dict[str, Browsing] = {}
        for item in self.sequence(keys.get("segments", _ABSENT), "segments"):
            segment, browses = read_segment(self, item)
            if segment in self.segments:
                raise self.fail(item, f'duplicate segment "{segment}"')
            self.segments.append(segment)
            if browses is not None:
                browsing[segment] = browses
        stages_node = self.required(keys, "stages", root, "the map")
        nodes = self.sequence(stages_node, "stages")
        stages = [stage for node in nodes if (stage := self.collect(self.stage, node)) is not None]
        if self.errors:
            raise MapErrors(self.errors)
        if not nodes:
            raise self.fail(stages_node, "stages is empty; a journey map needs at least one stage")
        version = self.optional(keys, "version", self.text, "")
        first_value = keys.get("first_value_within")
        first_value_ms = (
            parse_duration(
                self.text(first_value, "first_value_within"), file=self.path, line=_line(first_value)
            )
            if first_value is not None
            else None
        )
        if first_value is not None and not any(
            tp.milestone == "first-value" for s in stages for tp in s.touchpoints
        ):
            raise self.fail(
                first_value, "first_value_within needs a touchpoint marked `milestone: first-value`"
            )
        return JourneyMap(
            journey, version, self.segments, stages, self.path, first_value_ms, browsing=browsing
        )

    def stage(self, node: Node) -> Stage:
        where = _label("stage", node)
        keys = self.mapping(node, where, _STAGE_KEYS)
        stage_id = self.unique_id(self.required(keys, "id", node, where), "stage", self.stage_lines)
        promise = self.optional(keys, "accessibility", self.accessibility, None)
        items = self.sequence(keys.get("touchpoints", _ABSENT), "touchpoints")
        touchpoints = [
            touchpoint
            for item in items
            if (touchpoint := self.collect(lambda item: self.touchpoint(item, stage_id, promise), item))
            is not None
        ]
        stage = Stage(
            id=stage_id,
            name=self.optional(keys, "name", self.text, _default_name(stage_id)),
            touchpoints=touchpoints,
            customer_goal=self.optional(keys, "customer_goal", self.text, ""),
            max_messages=self.optional(keys, "max_messages", self.count, None),
            max_senders=self.optional(keys, "max_senders", self.count, None),
            accessibility=promise,
            line=_line(node),
        )
        if not items:  # checked last, so the stage's own mistakes are named first
            raise self.fail(node, f"{where} has no touchpoints; a stage needs at least one to be checked")
        return stage

    def unique_id(self, node: Node, kind: str, first_lines: dict[str, int]) -> str:
        # Touchpoint ids are unique across the whole map: scenarios and stored history name them alone.
        value = self.slug(node, f"{kind} id")
        if value in first_lines:
            raise self.fail(node, f'duplicate {kind} id "{value}" (first used on line {first_lines[value]})')
        first_lines[value] = _line(node)
        return value

    def touchpoint(self, node: Node, stage_id: str, stage_promise: str | None = None) -> Touchpoint:
        where = _label("touchpoint", node)
        keys = self.mapping(node, where, _TOUCHPOINT_KEYS)
        tp_id = self.unique_id(self.required(keys, "id", node, where), "touchpoint", self.touchpoint_lines)
        channel_node = self.required(keys, "channel", node, where)
        channel = self.text(channel_node, "channel")
        if channel not in CHANNELS:
            hint = did_you_mean(channel, list(CHANNELS))
            raise self.fail(
                channel_node, f'unknown channel "{channel}"{hint}; use one of {", ".join(CHANNELS)}'
            )
        expect = self.expectation(keys.get("expect", _ABSENT), "expect", Expectation())
        if "accessibility" in keys:
            self.page_only(keys["accessibility"], channel)
        # A stage's promise holds for its page touchpoints unless one makes its own (an email has no page).
        inherited = stage_promise if channel in PAGE_CHANNELS else None
        promise = self.optional(keys, "accessibility", self.accessibility, inherited)
        expect = replace(expect, accessibility=promise)
        segment_expect: dict[str, Expectation] = {}
        for segment, key, value in self.pairs(keys.get("segments", _ABSENT), "segments"):
            if segment not in self.segments:
                hint = did_you_mean(segment, self.segments) if self.segments else "; the map declares none"
                raise self.fail(key, f'segment "{segment}" is not in the map\'s segments list{hint}')
            segment_expect[segment] = self.expectation(
                value, f'segment override "{segment}"', expect, _OVERRIDE_KEYS
            )
        return Touchpoint(
            id=tp_id,
            name=self.optional(keys, "name", self.text, _default_name(tp_id)),
            channel=channel,
            owner=self.optional(keys, "owner", self.text, DEFAULT_OWNER),
            stage_id=stage_id,
            expect=expect,
            segment_expect=segment_expect,
            moment_of_truth=self.optional(keys, "moment_of_truth", self.flag, False),
            url=self.optional(keys, "url", self.url, None),
            subject=self.optional(keys, "subject", self.pattern, None),
            sender=self.optional(keys, "from", self.pattern, None),
            body=self.optional(keys, "body", self.pattern, None),
            code=self.optional(keys, "code", self.pattern, None),
            milestone=self.optional(keys, "milestone", self.text, None),
            line=_line(node),
        )

    def expectation(
        self, node: Node, where: str, base: Expectation, allowed: set[str] = _EXPECT_KEYS
    ) -> Expectation:
        keys = self.mapping(node, where, allowed)
        changes: dict[str, Any] = {}
        if "accessibility" in keys:
            changes["accessibility"] = self.accessibility(keys["accessibility"], "accessibility")
        for key in ("within", "fail_after"):
            if key in keys:
                if not isinstance(keys[key], ScalarNode):
                    raise self.fail(keys[key], f"{key} must be a duration, e.g. 2s")
                changes[f"{key}_ms"] = parse_duration(keys[key].value, file=self.path, line=_line(keys[key]))
                if changes[f"{key}_ms"] <= 0:
                    raise self.fail(keys[key], f"{key} must be longer than 0, e.g. 2s")
        if "success_rate" in keys:
            rate = self.value(keys["success_rate"])
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                raise self.fail(keys["success_rate"], "success_rate must be a number from 0 to 1, e.g. 0.99")
            changes["success_rate"] = float(rate)
        if "emotion" in keys:
            emotion = self.value(keys["emotion"])
            if isinstance(emotion, bool) or not isinstance(emotion, int) or not -2 <= emotion <= 2:
                raise self.fail(keys["emotion"], "emotion must be a whole number from -2 to +2")
            changes["emotion"] = emotion
        vitals = {**dict(base.vitals), **_vitals(self, keys)}
        changes["vitals"] = tuple(sorted(vitals.items()))
        # An override merges onto the base, so the order is checked on what the segment really gets.
        merged = replace(base, **changes)
        within, fail_after = merged.within_ms, merged.fail_after_ms
        if within is not None and fail_after is not None and within > fail_after:
            times = f"({format_duration(within)}) is longer than fail_after ({format_duration(fail_after)})"
            raise self.fail(keys.get("within") or keys["fail_after"], f"within {times} in {where}")
        return merged


    def accessibility(self, node: Node, what: str) -> str:
        """`{max: serious}`: the least axe impact that fails the page (it and every worse one)."""
        keys = self.mapping(node, what, {"max"})
        impact_node = self.required(keys, "max", node, what)
        impact = self.text(impact_node, f"{what} max")
        if impact not in IMPACTS:
            hint = did_you_mean(impact, list(IMPACTS))
            choices = ", ".join(IMPACTS)
            said = f'{what} max "{impact}" is not an axe impact{hint}; use one of {choices}'
            raise self.fail(impact_node, said)
        return impact

    def page_only(self, node: Node, channel: str) -> None:
        if channel not in PAGE_CHANNELS:
            raise self.fail(
                node,
                f"accessibility is checked on a page, and the {channel} channel has none"
                f" (promise it on a {' or '.join(PAGE_CHANNELS)} touchpoint)",
            )
def _vitals(builder: _Builder, keys: dict[str, Node]) -> dict[str, float]:
    """The web vitals an expect block promises: durations, but CLS, a bare score from 0 up."""
    found: dict[str, float] = {}
    for key in sorted(_VITAL_KEYS & keys.keys()):
        node = keys[key]
        if key == "cls":
            score = builder.value(node)
            if isinstance(score, bool) or not isinstance(score, (int, float)) or score < 0:
                raise builder.fail(node, "cls must be a layout-shift score of 0 or more, e.g. 0.1")
            found[key] = float(score)
            continue
        if not isinstance(node, ScalarNode):
            raise builder.fail(node, f"{key} must be a duration, e.g. 2.5s")
        found[key] = float(parse_duration(node.value, file=builder.path, line=_line(node)))
        if found[key] <= 0:
            raise builder.fail(node, f"{key} must be longer than 0, e.g. 2.5s")
    return found



def _label(kind: str, node: Node) -> str:
    # Name a stage or touchpoint by its id even before its keys are checked, when it has one.
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == "id" and isinstance(value, ScalarNode):
                return f'{kind} "{value.value}"'
    return f"a {kind}"


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _default_name(slug: str) -> str:
    return slug.replace("-", " ").capitalize()
