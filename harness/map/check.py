"""`shopper map check`: is the map sound, do the features bind to it, which touchpoints go uncovered?"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import FeatureError, HarnessError, MapErrors
from harness.map.catalogue import bind, find_entry, static_binding
from harness.map.features import (
    FeatureInfo,
    ScenarioInfo,
    check_feature,
    check_features_dir,
    defines_steps,
    find_features,
    parse_feature,
)
from harness.map.journey_map import JourneyMap
from harness.map.loading import load_map


@dataclass
class MapCheck:
    journey_map: JourneyMap | None
    features: list[Path] = field(default_factory=list)
    features_dir: Path | None = None
    scenarios: int = 0
    covered: dict[str, set[str]] = field(default_factory=dict)  # touchpoint id -> segments covering it
    errors: list[HarnessError] = field(default_factory=list)

    def uncovered(self) -> list[str]:
        assert self.journey_map is not None
        return [tp.id for tp in self.journey_map.touchpoints() if tp.id not in self.covered]

    def summary(self) -> str:
        if self.journey_map is None:
            return "the journey map has errors"
        journey_map = self.journey_map
        touchpoints = journey_map.touchpoints()
        lines = [
            f"{journey_map.path}: {journey_map.journey} (version {journey_map.version}):"
            f" {len(journey_map.stages)} stages, {len(touchpoints)} touchpoints,"
            f" segments: {', '.join(journey_map.segments) or '(none)'}"
        ]
        if self.features_dir is None:
            return lines[0]
        lines.append(f"{len(self.features)} feature file(s), {self.scenarios} scenario(s)")
        uncovered = self.uncovered()
        lines.append(
            f"{len(touchpoints) - len(uncovered)} of {len(touchpoints)} touchpoints covered by a scenario"
        )
        for touchpoint_id in uncovered:
            touchpoint = journey_map.touchpoint(touchpoint_id)
            assert touchpoint is not None
            lines.append(f"  not covered: {touchpoint.id} ({touchpoint.stage_id}, {touchpoint.channel})")
        return "\n".join(lines)


def _cover(scenario: ScenarioInfo, journey_map: JourneyMap, covered: dict[str, set[str]]) -> None:
    """Which touchpoints a scenario will visit, from its tags and the step catalogue, without running it."""
    segments = set(scenario.values("segment")) or set(journey_map.segments) or {"default"}
    touchpoints = set(scenario.values("touchpoint"))
    for step in scenario.steps:
        binding = static_binding(step.text, journey_map)
        if binding is not None and binding.touchpoint is not None:
            touchpoints.add(binding.touchpoint.id)
    for touchpoint_id in touchpoints:
        covered.setdefault(touchpoint_id, set()).update(segments)


def check_map(map_path: Path, features_dir: Path | None, *, covering: bool = True) -> MapCheck:
    """The map's and the features' errors; with `covering`, also which touchpoints they cover.

    Coverage needs the step catalogue filled: the caller loads the step library first
    (`harness.steps.load_catalogue`); `shopper run` leaves that to its pytest process.
    """
    try:
        journey_map = load_map(map_path)
    except MapErrors as exc:
        return MapCheck(journey_map=None, errors=list(exc.errors))
    except HarnessError as exc:
        return MapCheck(journey_map=None, errors=[exc])
    result = MapCheck(journey_map=journey_map, features_dir=features_dir)
    if features_dir is None:
        return result
    if not features_dir.exists():
        result.errors.append(HarnessError("features folder not found", file=features_dir))
        return result
    result.features = find_features(features_dir)
    if features_dir.is_dir():
        try:
            check_features_dir(features_dir)
        except HarnessError as exc:
            result.errors.append(exc)
    own_steps = features_dir.is_dir() and defines_steps(features_dir)
    for path in result.features:
        try:
            feature = parse_feature(path)
        except HarnessError as exc:
            result.errors.append(exc)
            continue
        result.errors.extend(check_feature(feature, journey_map))
        if not feature.scenarios:
            result.errors.append(
                FeatureError(
                    "this feature has no scenarios, so a run has nothing to do here",
                    file=path,
                    line=feature.line,
                )
            )
        result.scenarios += len(feature.scenarios)
        if covering:
            result.errors.extend(_check_steps(feature, journey_map, own_steps))
        for scenario in feature.scenarios if covering else ():
            _cover(scenario, journey_map, result.covered)
    return result


_PLACEHOLDER = re.compile(r"<[^<>]+>")


def _check_steps(feature: FeatureInfo, journey_map: JourneyMap, own_steps: bool) -> list[FeatureError]:
    """Each step against the catalogue: a phrase no step reads, or a touchpoint name the map lacks."""
    errors: list[FeatureError] = []
    seen: set[int] = set()
    for scenario in feature.scenarios:
        for step in scenario.steps:
            if step.line in seen:  # a background's steps come with every scenario
                continue
            seen.add(step.line)
            found = find_entry(step.text)
            if found is None:
                if not own_steps:  # the folder's own step definitions may read it
                    said = f'no built-in step reads "{step.keyword} {step.text}"; `shopper steps` lists them'
                    errors.append(FeatureError(said, file=feature.path, line=step.line))
                continue
            binding = bind(found[0], found[1], journey_map)
            # "<page>" in a Scenario Outline is filled in from its Examples when the scenario runs.
            if binding is not None and binding.unresolved and not _PLACEHOLDER.search(binding.unresolved):
                errors.append(
                    FeatureError(
                        f'the journey map has no touchpoint called "{binding.unresolved}"; name one of:'
                        f" {', '.join(tp.name for tp in journey_map.touchpoints())}",
                        file=feature.path,
                        line=step.line,
                    )
                )
    return errors
