"""Feature files: tags bind scenarios to the map, and a tag naming nothing is an error with its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import FeatureError
from harness.map.features import Tag, check_feature, check_scenario, find_features, parse_feature, scenario_at
from harness.map.journey_map import JourneyMap
from harness.map.loading import load_map_text

MAP = """\
journey: Acme self-serve trial
version: 2026-11-01
segments: [self-serve, enterprise]
stages:
  - id: discover
    touchpoints:
      - id: home-page
        channel: web
        url: /
      - id: pricing-page
        channel: web
        url: /pricing
  - id: signup
    touchpoints:
      - id: signup-page
        channel: form
        url: /signup
      - id: confirmation-email
        channel: email
"""

# Line numbers matter below: they are asserted.
FEATURE = """\
@stage:discover @smoke
Feature: Find out what Acme costs

  Background:
    Given I open the home page

  @segment:self-serve
  Scenario: Pricing from the home page
    When I click "See pricing"
    Then I should see "Team"

  @touchpoint:pricing-page
  Rule: Enterprise buyers

    Background:
      Given I am on the pricing page

    @segment:enterprise
    Scenario: Enterprise plans are listed
      Then I should see "Enterprise"

    Scenario Outline: A plan has a price
      Then I should see "<plan>"

      Examples:
        | plan |
        | Team |
"""


@pytest.fixture
def journey_map(tmp_path: Path) -> JourneyMap:
    return load_map_text(MAP, tmp_path / "acme.yaml")


def write(tmp_path: Path, text: str, name: str = "discover.feature") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_feature_name_and_tags(tmp_path: Path) -> None:
    info = parse_feature(write(tmp_path, FEATURE))
    assert info.name == "Find out what Acme costs"
    assert info.tags == [Tag("stage:discover", 1), Tag("smoke", 1)]
    assert [scenario.name for scenario in info.scenarios] == [
        "Pricing from the home page",
        "Enterprise plans are listed",
        "A plan has a price",
    ]
    assert [scenario.line for scenario in info.scenarios] == [8, 19, 22]


def test_scenario_inherits_feature_tags_with_their_lines(tmp_path: Path) -> None:
    first = parse_feature(write(tmp_path, FEATURE)).scenarios[0]
    assert first.tags == [Tag("stage:discover", 1), Tag("smoke", 1), Tag("segment:self-serve", 7)]
    assert first.values("stage") == ["discover"]
    assert first.values("segment") == ["self-serve"]
    assert first.values("touchpoint") == []


def test_scenario_inherits_rule_tags(tmp_path: Path) -> None:
    info = parse_feature(write(tmp_path, FEATURE))
    enterprise, outline = info.scenarios[1], info.scenarios[2]
    inherited = [Tag("stage:discover", 1), Tag("smoke", 1), Tag("touchpoint:pricing-page", 12)]
    assert enterprise.tags == [*inherited, Tag("segment:enterprise", 18)]
    assert outline.tags == inherited
    # The rule's tags do not leak to the scenario before it.
    assert "touchpoint" not in [tag.kind for tag in info.scenarios[0].tags]


def test_background_steps_come_first(tmp_path: Path) -> None:
    info = parse_feature(write(tmp_path, FEATURE))
    first, enterprise, outline = info.scenarios
    assert [(s.keyword, s.text, s.line) for s in first.steps] == [
        ("Given", "I open the home page", 5),
        ("When", 'I click "See pricing"', 9),
        ("Then", 'I should see "Team"', 10),
    ]
    # Inside a rule: the feature's background, then the rule's, then the scenario's own steps.
    assert [s.text for s in enterprise.steps] == [
        "I open the home page",
        "I am on the pricing page",
        'I should see "Enterprise"',
    ]
    assert [s.text for s in outline.steps] == [
        "I open the home page",
        "I am on the pricing page",
        'I should see "<plan>"',
    ]


def test_tag_kind_and_value() -> None:
    assert Tag("stage:discover", 1).kind == "stage"
    assert Tag("stage:discover", 1).value == "discover"
    assert Tag("smoke", 1).kind is None
    assert Tag("smoke", 1).value == "smoke"
    assert Tag("touchpoint:a:b", 1).value == "a:b"


def test_empty_file_has_no_feature(tmp_path: Path) -> None:
    info = parse_feature(write(tmp_path, "# nothing here yet\n"))
    assert info.name == ""
    assert info.scenarios == []


def test_broken_feature_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        Feature: F

          Scenario: one
            Given I open the home page
            | a | b |
            | c |
        """,
    )
    with pytest.raises(FeatureError) as caught:
        parse_feature(path)
    assert caught.value.line == 6
    assert caught.value.file == str(path)
    assert str(caught.value).startswith(f"{path}, line 6: the feature file does not parse")
    assert "inconsistent cell count" in str(caught.value)


def test_step_before_feature_is_line_one(tmp_path: Path) -> None:
    path = write(tmp_path, "Given I open the home page\nFeature: F\n")
    with pytest.raises(FeatureError) as caught:
        parse_feature(path)
    assert caught.value.line == 1
    assert "Given I open the home page" in caught.value.message


def test_unreadable_feature_is_a_feature_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.feature"
    path.write_bytes("Feature: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(FeatureError) as caught:
        parse_feature(path)
    assert caught.value.file == str(path)
    with pytest.raises(FeatureError):
        parse_feature(tmp_path / "missing.feature")


def test_check_feature_accepts_known_and_plain_tags(tmp_path: Path, journey_map: JourneyMap) -> None:
    assert check_feature(parse_feature(write(tmp_path, FEATURE)), journey_map) == []


def test_unknown_stage_is_reported_with_its_line(tmp_path: Path, journey_map: JourneyMap) -> None:
    path = write(
        tmp_path,
        """\
        @smoke
        Feature: F

          @stage:discovr
          Scenario: one
            Given I open the home page

          @stage:discovr
          Scenario: two
            Given I open the home page
        """,
    )
    errors = check_feature(parse_feature(path), journey_map)
    assert [error.line for error in errors] == [4, 8]
    first = errors[0]
    assert first.file == str(path)
    assert "@stage:discovr" in first.message
    assert "acme.yaml" in first.message
    assert 'did you mean "discover"' in first.message
    assert str(first).startswith(f"{path}, line 4: ")


def test_unknown_segment_and_touchpoint_are_reported(tmp_path: Path, journey_map: JourneyMap) -> None:
    path = write(
        tmp_path,
        """\
        @stage:discover
        Feature: F

          @segment:enterprize
          Scenario: one
            Given I open the home page

          @touchpoint:pricing-pgae @wip
          Scenario: two
            Given I open the home page
        """,
    )
    errors = check_feature(parse_feature(path), journey_map)
    assert [(error.line, error.message) for error in errors] == [
        (
            4,
            'tag "@segment:enterprize" names a segment that the journey map acme.yaml does not have'
            ' (did you mean "enterprise"?)',
        ),
        (
            8,
            'tag "@touchpoint:pricing-pgae" names a touchpoint that the journey map acme.yaml does not have'
            ' (did you mean "pricing-page"?)',
        ),
    ]


def test_feature_level_error_is_reported_once(tmp_path: Path, journey_map: JourneyMap) -> None:
    path = write(
        tmp_path,
        """\
        @stage:nowhere-near
        Feature: F

          Scenario: one
            Given I open the home page

          Scenario: two
            Given I open the home page
        """,
    )
    errors = check_feature(parse_feature(path), journey_map)
    assert [error.line for error in errors] == [1]
    assert "did you mean" not in errors[0].message  # nothing is close


def test_unknown_tag_kind_is_reported(tmp_path: Path, journey_map: JourneyMap) -> None:
    path = write(
        tmp_path,
        """\
        Feature: F

          @smoke @stag:discover
          Scenario: one
            Given I open the home page
        """,
    )
    [error] = check_feature(parse_feature(path), journey_map)
    assert error.line == 3
    assert '"@stag:discover"' in error.message
    assert 'did you mean "stage"' in error.message


def test_check_scenario_raises_the_first_error(tmp_path: Path, journey_map: JourneyMap) -> None:
    path = write(
        tmp_path,
        """\
        @stage:discover
        Feature: F

          @segment:self-serve
          Scenario: fine
            Given I open the home page

          @touchpoint:careers-page
          Scenario: broken
            Given I open the home page
        """,
    )
    fine = scenario_at(path, 5)
    broken = scenario_at(path, 9)
    assert fine is not None and broken is not None
    check_scenario(fine, journey_map)
    with pytest.raises(FeatureError) as caught:
        check_scenario(broken, journey_map)
    assert caught.value.line == 8
    assert caught.value.file == str(path.resolve())


def test_scenario_at_finds_a_scenario_by_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, FEATURE)
    found = scenario_at(path, 19)
    assert found is not None
    assert found.name == "Enterprise plans are listed"
    assert scenario_at(path, 8) is not None
    assert scenario_at(path, 20) is None  # a step line, not a scenario's
    # A relative spelling of the same file finds the same scenario.
    other = scenario_at(path.parent / "." / path.name, 22)
    assert other is not None and other.name == "A plan has a price"


def test_find_features(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    a = write(tmp_path, FEATURE, "b.feature")
    b = write(tmp_path, FEATURE, "sub/a.feature")
    (tmp_path / "notes.txt").write_text("not a feature")
    assert find_features(tmp_path) == sorted([a, b])
    assert find_features(a) == [a]
