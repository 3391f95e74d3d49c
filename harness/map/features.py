"""Read .feature files for what binds them to the journey map: their tags and step texts.

Shared by `shopper map check` (no pytest involved) and the plugin's collection check, so both
report an unknown `@stage:` tag with the same file, line and sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import FeatureError, HarnessError, did_you_mean
from harness.map.journey_map import JourneyMap

TAG_KINDS = ("stage", "segment", "touchpoint")


@dataclass(frozen=True)
class Tag:
    name: str  # without the "@"
    line: int

    @property
    def kind(self) -> str | None:
        return self.name.split(":", 1)[0] if ":" in self.name else None

    @property
    def value(self) -> str:
        return self.name.split(":", 1)[1] if ":" in self.name else self.name


@dataclass
class StepText:
    keyword: str
    text: str
    line: int


@dataclass
class ScenarioInfo:
    path: Path
    name: str
    line: int
    tags: list[Tag]  # its own tags plus those of its feature and rule
    steps: list[StepText]  # background steps first, as they run

    def values(self, kind: str) -> list[str]:
        return [tag.value for tag in self.tags if tag.kind == kind]


@dataclass
class FeatureInfo:
    path: Path
    name: str
    tags: list[Tag]
    scenarios: list[ScenarioInfo] = field(default_factory=list)
    line: int = 1  # of the Feature keyword


def _tags(node: dict[str, Any]) -> list[Tag]:
    return [Tag(name=tag["name"].lstrip("@"), line=tag["location"]["line"]) for tag in node.get("tags", [])]


def _steps(node: dict[str, Any]) -> list[StepText]:
    return [
        StepText(keyword=step["keyword"].strip(), text=step["text"], line=step["location"]["line"])
        for step in node.get("steps", [])
    ]


def parse_feature(path: str | Path) -> FeatureInfo:
    from gherkin.errors import CompositeParserException, ParserError
    from gherkin.parser import Parser
    from gherkin.token_scanner import TokenScanner

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FeatureError(f"cannot read the feature file: {exc}", file=path) from None
    try:
        document = Parser().parse(TokenScanner(text))
    except CompositeParserException as exc:
        first = exc.errors[0]
        raise FeatureError(_gherkin_message(first), file=path, line=_gherkin_line(first)) from None
    except ParserError as exc:
        raise FeatureError(_gherkin_message(exc), file=path, line=_gherkin_line(exc)) from None
    # gherkin's TypedDicts are stricter than the plain dicts it returns; read them as such.
    feature: dict[str, Any] | None = document.get("feature")  # type: ignore[assignment]
    if not feature:
        return FeatureInfo(path=path, name="", tags=[])
    info = FeatureInfo(path=path, name=feature["name"], tags=_tags(feature), line=feature["location"]["line"])
    _collect(feature["children"], info.tags, [], info)
    return info


def _collect(
    children: list[dict[str, Any]], tags: list[Tag], background: list[StepText], info: FeatureInfo
) -> None:
    background = list(background)
    for child in children:
        if "background" in child:
            background += _steps(child["background"])
        elif "rule" in child:
            rule = child["rule"]
            _collect(rule["children"], tags + _tags(rule), background, info)
        elif "scenario" in child:
            scenario = child["scenario"]
            info.scenarios.append(
                ScenarioInfo(
                    path=info.path,
                    name=scenario["name"],
                    line=scenario["location"]["line"],
                    tags=tags + _tags(scenario),
                    steps=background + _steps(scenario),
                )
            )


def _gherkin_line(exc: Exception) -> int | None:
    location = getattr(exc, "location", None)
    return location.get("line") if isinstance(location, dict) else None


def _gherkin_message(exc: Exception) -> str:
    text = str(exc)
    # gherkin prefixes "(line:col): "; we say the line ourselves.
    if text.startswith("(") and "): " in text:
        text = text.split("): ", 1)[1]
    return f"the feature file does not parse: {text}"


def check_features_dir(features: Path) -> None:
    """A folder `shopper run` can hand to pytest: .feature files and the test module that collects them."""
    if not features.exists():
        raise HarnessError("features folder not found", file=features)
    if features.is_file():
        raise HarnessError(
            "--features takes the folder that holds this file and its test_journey.py, not the file itself",
            file=features,
        )
    if not any(features.rglob("*.feature")):
        raise HarnessError("no .feature files here", file=features)
    if not any(features.glob("test_*.py")):
        raise HarnessError(
            "no test module collects the features here: add test_journey.py containing"
            ' `from pytest_bdd import scenarios; scenarios(".")`',
            file=features,
        )


# A features folder with step definitions of its own: phrases the catalogue lacks may be those.
_OWN_STEPS = re.compile(r"@(?:given|when|then|step)\(|pytest_bdd\.(?:given|when|then|step)\(")


def defines_steps(folder: Path) -> bool:
    return any(_OWN_STEPS.search(path.read_text(errors="replace")) for path in folder.rglob("*.py"))


def find_features(root: str | Path) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(root.rglob("*.feature"))


def check_tag(tag: Tag, journey_map: JourneyMap, path: Path) -> FeatureError | None:
    """An error for a journey tag naming something the map does not have; None for other tags."""
    kind = tag.kind
    if kind is None:
        return None
    if kind not in TAG_KINDS:
        return FeatureError(
            f'unknown tag "@{tag.name}": journey tags are @stage:, @segment: and @touchpoint:'
            + did_you_mean(kind, set(TAG_KINDS)),
            file=path,
            line=tag.line,
        )
    if kind == "stage":
        known = [stage.id for stage in journey_map.stages]
    elif kind == "segment":
        known = list(journey_map.segments)
    else:
        known = [touchpoint.id for touchpoint in journey_map.touchpoints()]
    if tag.value in known:
        return None
    return FeatureError(
        f'tag "@{tag.name}" names a {kind} that the journey map {journey_map.path.name} does not have'
        + did_you_mean(tag.value, set(known)),
        file=path,
        line=tag.line,
    )


def check_feature(feature: FeatureInfo, journey_map: JourneyMap) -> list[FeatureError]:
    seen: set[Tag] = set()
    errors = []
    for tag in feature.tags + [tag for scenario in feature.scenarios for tag in scenario.tags]:
        if tag in seen:
            continue
        seen.add(tag)
        error = check_tag(tag, journey_map, feature.path)
        if error is not None:
            errors.append(error)
    return sorted(errors, key=lambda error: error.line or 0)


_PARSED: dict[Path, FeatureInfo] = {}


def scenario_at(path: Path, line: int) -> ScenarioInfo | None:
    """The scenario starting at `line` of a feature file (parsed once per process)."""
    path = path.resolve()
    if path not in _PARSED:
        _PARSED[path] = parse_feature(path)
    return next((s for s in _PARSED[path].scenarios if s.line == line), None)


def check_scenario(info: ScenarioInfo, journey_map: JourneyMap) -> None:
    """Raise the first journey-tag error of one scenario: an unknown tag must never be dropped silently."""
    for tag in info.tags:
        error = check_tag(tag, journey_map, info.path)
        if error is not None:
            raise error
