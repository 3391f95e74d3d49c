"""What changed between two versions of a journey map: `shopper map diff` and the report's map refresh note.

Touchpoints are matched by id across the whole map, because ids are what scenarios and stored
history name: a touchpoint that moved to another stage is one change, not a removal and an addition.
Expectations are compared as each segment gets them (overrides merged onto the base), but a segment
that merely inherits a base change is not listed again: one tightened target is one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from harness.errors import MapError
from harness.map.journey_map import JourneyMap, Stage, Touchpoint, format_duration
from harness.map.loading import load_map_text
from harness.observation import Run

ABSENT = "—"

# Compared attributes, in the order their changes are listed; a change names them as the map's YAML does.
_STAGE_FIELDS = ("name", "customer_goal", "max_messages", "max_senders")
_TOUCHPOINT_FIELDS = (
    "name",
    "channel",
    "owner",
    "moment_of_truth",
    "url",
    "subject",
    "sender",
    "body",
    "code",
    "milestone",
)
_EXPECT_FIELDS = ("within_ms", "fail_after_ms", "success_rate", "emotion", "vitals", "accessibility")
_YAML_KEYS = {"within_ms": "within", "fail_after_ms": "fail_after"}


@dataclass
class MapChange:
    kind: str  # added, removed or changed
    what: str  # journey, segment, stage, touchpoint or expectation
    stage_id: str
    touchpoint_id: str = ""  # "" when the change is not about a touchpoint
    segment: str = ""  # "" for the base expectation, else the segment whose expectation changed
    field: str = ""  # "" for added or removed things
    old: str = ""  # display strings, ABSENT for a value the map leaves out
    new: str = ""
    name: str = ""  # the touchpoint's name (new map's when it has one), for sentences people read
    stage_name: str = ""
    # For a base expectation change in a map with segments: those it reaches (an override hides
    # it from the others). Empty for every other change.
    reaches: tuple[str, ...] = ()
    hidden_from: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        if self.what == "segment":
            return f'segment "{self.segment}" {self.kind}'
        if self.what == "stage" and self.kind != "changed":
            return f'stage "{self.stage_id}" {self.kind}'
        if self.what == "touchpoint" and self.kind != "changed":
            where = "to" if self.kind == "added" else "from"
            return f'touchpoint "{self.touchpoint_id}" {self.kind} {where} stage {self.stage_name}'
        if self.what == "journey":
            subject = "map"
        elif self.what == "stage":
            subject = f'stage "{self.stage_id}"'
        elif self.segment:
            subject = f"{self.name} ({self.segment})"
        elif self.hidden_from:
            subject = f"{self.name} ({', '.join(self.reaches) or 'no segment: each has its own'})"
        else:
            subject = self.name
        return f"{subject}: {self.field.replace('_', ' ')} {self.old} → {self.new}"


class _MapTexts(Protocol):
    # All recorded_map needs of a store, so any backend (or a test double) will do.
    def map_text(self, digest: str) -> str | None: ...


def diff_maps(old: JourneyMap, new: JourneyMap) -> list[MapChange]:
    """Every difference from old to new: the map itself, segments, stages, then touchpoints by stage."""
    changes: list[MapChange] = []
    for attribute in ("journey", "version"):
        before, after = getattr(old, attribute), getattr(new, attribute)
        if before != after:
            changes.append(
                MapChange("changed", "journey", "", field=attribute, old=_show(before), new=_show(after))
            )
    if old.first_value_within_ms != new.first_value_within_ms:
        before_ms, after_ms = old.first_value_within_ms, new.first_value_within_ms
        changes.append(
            MapChange(
                "changed",
                "journey",
                "",
                field="first_value_within",
                old=format_duration(before_ms) if before_ms is not None else ABSENT,
                new=format_duration(after_ms) if after_ms is not None else ABSENT,
            )
        )
    changes += [MapChange("removed", "segment", "", segment=s) for s in old.segments if s not in new.segments]
    changes += [MapChange("added", "segment", "", segment=s) for s in new.segments if s not in old.segments]

    old_stages = {stage.id: stage for stage in old.stages}
    new_stages = {stage.id: stage for stage in new.stages}
    stage_order = _merged([s.id for s in old.stages], [s.id for s in new.stages])
    for stage_id in stage_order:
        changes += _stage_changes(old_stages.get(stage_id), new_stages.get(stage_id))

    segments = old.segments + [s for s in new.segments if s not in old.segments]
    for stage_id in stage_order:
        before = old_stages.get(stage_id)
        after = new_stages.get(stage_id)
        before_ids = [tp.id for tp in before.touchpoints] if before else []
        after_ids = [tp.id for tp in after.touchpoints] if after else []
        for touchpoint_id in _merged(before_ids, after_ids):
            old_tp, new_tp = old.touchpoint(touchpoint_id), new.touchpoint(touchpoint_id)
            if new_tp is not None and new_tp.stage_id != stage_id:
                continue  # moved away: listed once, under the stage it now belongs to
            changes += _touchpoint_changes(old_tp, new_tp, old, new, segments)
    return changes


def expectation_changes(changes: list[MapChange]) -> list[MapChange]:
    """The changes to what the map promises, which change how stored runs are judged."""
    return [change for change in changes if change.what == "expectation"]


def recorded_map(store: _MapTexts, runs: list[Run]) -> JourneyMap | None:
    """The map the newest of runs (oldest first) was recorded with, or None when it is not known."""
    if not runs or not runs[-1].map_digest:
        return None  # stores written before maps were kept with runs
    run = runs[-1]
    text = store.map_text(run.map_digest)
    if text is None:
        return None
    try:
        return load_map_text(text, path=run.map_path or "<recorded map>")
    except MapError:
        return None  # it parsed when recorded, so the harness's map rules changed since; nothing to diff


def _stage_changes(old: Stage | None, new: Stage | None) -> list[MapChange]:
    if old is None or new is None:
        stage = new or old
        assert stage is not None
        kind = "added" if new else "removed"
        return [MapChange(kind, "stage", stage.id, name=stage.name, stage_name=stage.name)]
    return [
        MapChange("changed", "stage", new.id, field=label, old=before, new=after, stage_name=new.name)
        for label, before, after in _differences(old, new, _STAGE_FIELDS)
    ]


def _touchpoint_changes(
    old_tp: Touchpoint | None,
    new_tp: Touchpoint | None,
    old: JourneyMap,
    new: JourneyMap,
    segments: list[str],
) -> list[MapChange]:
    if new_tp is None or old_tp is None:
        kind, touchpoint, journey_map = ("added", new_tp, new) if new_tp else ("removed", old_tp, old)
        assert touchpoint is not None
        stage_name = _stage_name(journey_map, touchpoint.stage_id)
        return [
            MapChange(
                kind,
                "touchpoint",
                touchpoint.stage_id,
                touchpoint.id,
                name=touchpoint.name,
                stage_name=stage_name,
            )
        ]

    differences: list[tuple[str, str, str, str, str]] = []  # (what, field, old, new, segment)
    if old_tp.stage_id != new_tp.stage_id:
        moved = (_stage_name(old, old_tp.stage_id), _stage_name(new, new_tp.stage_id))
        differences.append(("touchpoint", "stage", *moved, ""))
    differences += [("touchpoint", *found, "") for found in _differences(old_tp, new_tp, _TOUCHPOINT_FIELDS)]
    base = _differences(old_tp.expect, new_tp.expect, _EXPECT_FIELDS)
    differences += [("expectation", *found, "") for found in base]
    for segment in segments:
        for found in _differences(old_tp.expectation(segment), new_tp.expectation(segment), _EXPECT_FIELDS):
            if found not in base:  # a segment that only inherits the base change would repeat it
                differences.append(("expectation", *found, segment))
    stage_name = _stage_name(new, new_tp.stage_id)
    changes = []
    for what, field, before, after, segment in differences:
        reaches: tuple[str, ...] = ()
        if what == "expectation" and not segment and segments:
            found = (field, before, after)
            reaches = tuple(
                s
                for s in segments
                if found in _differences(old_tp.expectation(s), new_tp.expectation(s), _EXPECT_FIELDS)
            )
        change = MapChange(
            "changed",
            what,
            new_tp.stage_id,
            new_tp.id,
            segment,
            field,
            before,
            after,
            new_tp.name,
            stage_name,
        )
        if reaches != tuple(segments) and what == "expectation" and not segment and segments:
            change.reaches, change.hidden_from = reaches, tuple(s for s in segments if s not in reaches)
        changes.append(change)
    return changes


def _stage_name(journey_map: JourneyMap, stage_id: str) -> str:
    stage = journey_map.stage(stage_id)
    return stage.name if stage else stage_id


def _differences(old: object, new: object, compared: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(field, old, new) as display strings, for each compared attribute that differs."""
    found: list[tuple[str, str, str]] = []
    for attribute in compared:
        before, after = getattr(old, attribute), getattr(new, attribute)
        if before != after:
            label = _YAML_KEYS.get(attribute, attribute)
            found.append((label, _show(before, attribute), _show(after, attribute)))
    return found


def _show(value: object, attribute: str = "") -> str:
    if value is None or value == "" or value == ():
        return ABSENT
    if attribute == "vitals" and isinstance(value, tuple):  # the web vitals promised: (name, limit) pairs
        return ", ".join(f"{name} {limit:g}" if name == "cls" else f"{name} {format_duration(limit)}"
                         for name, limit in value)
    if attribute.endswith("_ms") and isinstance(value, (int, float)):
        return format_duration(value)
    if attribute == "success_rate" and isinstance(value, float):
        return f"{round(value * 100, 2):g}%"
    if attribute == "emotion" and isinstance(value, int):
        return f"{value:+d}" if value else "0"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _merged(old: list[str], new: list[str]) -> list[str]:
    """New's order, with each id only old has placed right after the id it followed in old."""
    order = list(new)
    for index, item in enumerate(old):
        if item not in order:
            after = next((old[i] for i in range(index - 1, -1, -1) if old[i] in order), None)
            order.insert(order.index(after) + 1 if after is not None else 0, item)
    return order
