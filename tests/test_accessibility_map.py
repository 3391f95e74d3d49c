"""The journey map's accessibility promise: where it may be written, how it is inherited, its errors."""

from __future__ import annotations

import pytest

from harness.errors import MapError, MapErrors
from harness.map.diff import diff_maps
from harness.map.loading import load_map_text

MAP = """\
journey: x
segments: [self-serve, enterprise]
stages:
  - id: signup
    accessibility: {max: serious}
    touchpoints:
      - {id: signup-page, channel: form, url: /signup}
      - id: plans-page
        channel: web
        url: /plans
        accessibility: {max: critical}
        segments:
          enterprise: {accessibility: {max: moderate}, within: 1s}
      - {id: welcome-email, channel: email}
  - id: browse
    touchpoints:
      - id: blog-page
        channel: web
        url: /blog
        segments:
          enterprise: {within: 2s}
"""


def test_a_stage_promise_holds_unless_a_touchpoint_or_segment_says_otherwise() -> None:
    journey_map = load_map_text(MAP)
    promise = {
        (tp.id, segment): tp.expectation(segment).accessibility
        for tp in journey_map.touchpoints()
        for segment in journey_map.segments
    }
    assert promise == {
        ("signup-page", "self-serve"): "serious",  # the stage's
        ("signup-page", "enterprise"): "serious",
        ("plans-page", "self-serve"): "critical",  # its own
        ("plans-page", "enterprise"): "moderate",  # the segment override's
        ("welcome-email", "self-serve"): None,  # an email has no page to check
        ("welcome-email", "enterprise"): None,
        ("blog-page", "self-serve"): None,  # promised nothing
        ("blog-page", "enterprise"): None,
    }
    (plans,) = [tp for tp in journey_map.touchpoints() if tp.id == "plans-page"]
    assert plans.expectation("enterprise").within_ms == 1000  # the override still merges the rest
    assert journey_map.stages[0].accessibility == "serious" and journey_map.stages[1].accessibility is None


HEAD = "journey: x\nsegments: [self-serve]\nstages:\n  - id: signup\n"
TOUCHPOINT = HEAD + "    touchpoints:\n      - id: signup-page\n        channel: form\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            TOUCHPOINT + "        accessibility: {max: serius}\n",
            8,
            'accessibility max "serius" is not an axe impact (did you mean "serious"?); use one of'
            " minor, moderate, serious, critical",
        ),
        (
            TOUCHPOINT + "        accessibility: serious\n",
            8,
            "accessibility must be a mapping of keys to values",
        ),
        (TOUCHPOINT + "        accessibility: {}\n", 8, 'missing required key "max" in accessibility'),
        (
            TOUCHPOINT + "        accessibility: {max: serious, min: minor}\n",
            8,
            'unknown key "min" in accessibility',
        ),
        (
            TOUCHPOINT + "        accessibility:\n          max: [serious]\n",
            9,
            "accessibility max must be text",
        ),
        (
            HEAD + "    touchpoints:\n      - id: welcome\n        channel: email\n"
            "        accessibility: {max: serious}\n",
            8,
            "accessibility is checked on a page, and the email channel has none (promise it on a web or"
            " form touchpoint)",
        ),
        (
            HEAD + "    accessibility: {max: high}\n    touchpoints: [{id: a, channel: web}]\n",
            5,
            'accessibility max "high" is not an axe impact',
        ),
        (
            TOUCHPOINT + "        segments:\n          self-serve: {accessibility: {max: worst}}\n",
            9,
            'accessibility max "worst" is not an axe impact',
        ),
        (
            TOUCHPOINT + "        expect: {accessibility: {max: serious}}\n",
            8,
            'unknown key "accessibility" in expect',
        ),
    ],
)
def test_a_bad_promise_names_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(MapError) as info:
        load_map_text(text, "map.yaml")
    error = info.value.errors[0] if isinstance(info.value, MapErrors) else info.value
    assert (error.line, message in error.message) == (line, True), error


def test_a_changed_promise_is_a_changed_expectation_of_the_map() -> None:
    before = load_map_text(MAP)
    after = load_map_text(
        MAP.replace("    accessibility: {max: serious}\n", "    accessibility: {max: critical}\n")
    )
    sentences = [change.sentence for change in diff_maps(before, after) if change.what == "expectation"]
    assert sentences == ["Signup page: accessibility serious → critical"]
