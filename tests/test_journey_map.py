"""The journey map loader: a valid map becomes dataclasses, every mistake names its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import MapError, MapErrors
from harness.map.journey_map import Expectation, JourneyMap, format_duration, parse_duration
from harness.map.loading import load_map, load_map_text

# The docs/design.md example, grown a little so lookups by name and url have something to find.
EXAMPLE = """\
journey: Acme self-serve trial
version: 2026-11-01          # a date to YAML, a string to us
segments: [self-serve, enterprise]
stages:
  - id: discover
    name: Discover
    customer_goal: Understand what Acme does
    touchpoints:
      - id: home-page
        name: Home page
        channel: web
        owner: Marketing
        url: /
        expect: {within: 2s, fail_after: 10s, success_rate: 0.99, emotion: +1}
      - id: pricing-page
        channel: web
        url: /pricing
      - id: enterprise-pricing
        name: Enterprise plans
        channel: web
        url: /pricing/enterprise/
  - id: signup
    name: Sign up
    max_messages: 3
    max_senders: 1
    touchpoints:
      - id: signup-form
        channel: form
        url: /signup
        milestone: first-value
      - id: confirmation-email
        channel: email
        owner: Product
        moment_of_truth: true
        subject: "^Confirm your Acme account"
        url: /confirm
        expect: {within: 2m, fail_after: 15m, emotion: +1}
        segments: {enterprise: {within: 1m}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "journey.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> JourneyMap:
    return load_map(write(tmp_path, text))


def fails(tmp_path: Path, text: str) -> MapError:
    path = write(tmp_path, text)
    with pytest.raises(MapError) as info:
        load_map(path)
    assert info.value.file == str(path)
    return info.value


@pytest.fixture
def example(tmp_path: Path) -> JourneyMap:
    return load(tmp_path, EXAMPLE)


# -- a valid map


def test_example_map_loads_journey_version_and_segments(example: JourneyMap, tmp_path: Path) -> None:
    assert example.journey == "Acme self-serve trial"
    assert example.version == "2026-11-01"
    assert example.segments == ["self-serve", "enterprise"]
    assert example.path == tmp_path / "journey.yaml"


def test_example_map_loads_stages_in_order(example: JourneyMap) -> None:
    assert [stage.id for stage in example.stages] == ["discover", "signup"]
    discover, signup = example.stages
    assert (discover.name, discover.customer_goal, discover.line) == (
        "Discover",
        "Understand what Acme does",
        5,
    )
    assert (signup.name, signup.customer_goal, signup.max_messages, signup.max_senders) == (
        "Sign up",
        "",
        3,
        1,
    )
    assert discover.max_messages is None
    assert example.stage("signup") is signup
    assert example.stage("renew") is None


def test_example_map_loads_touchpoints_with_defaults(example: JourneyMap) -> None:
    assert [tp.id for tp in example.touchpoints()] == [
        "home-page",
        "pricing-page",
        "enterprise-pricing",
        "signup-form",
        "confirmation-email",
    ]
    home = example.touchpoint("home-page")
    assert home is not None
    assert (home.name, home.channel, home.owner, home.stage_id, home.url, home.line) == (
        "Home page",
        "web",
        "Marketing",
        "discover",
        "/",
        9,
    )
    assert home.expect == Expectation(within_ms=2000, fail_after_ms=10_000, success_rate=0.99, emotion=1)
    assert home.segment_expect == {}
    pricing = example.touchpoint("pricing-page")
    assert pricing is not None
    assert (pricing.name, pricing.owner, pricing.moment_of_truth) == ("Pricing page", "Unassigned", False)
    assert pricing.expect == Expectation(success_rate=0.95)
    form = example.touchpoint("signup-form")
    assert form is not None and form.milestone == "first-value"
    assert example.touchpoint("nope") is None


def test_segment_override_is_merged_onto_the_base_expectation(example: JourneyMap) -> None:
    email = example.touchpoint("confirmation-email")
    assert email is not None
    assert email.moment_of_truth is True
    assert email.subject == "^Confirm your Acme account"
    base = Expectation(within_ms=120_000, fail_after_ms=900_000, success_rate=0.95, emotion=1)
    assert email.expect == base
    # The enterprise override names only `within`: fail_after 15m and the rest are kept.
    assert email.segment_expect == {"enterprise": Expectation(60_000, 900_000, 0.95, 1)}
    assert email.expectation("enterprise").within_ms == 60_000
    assert email.expectation("enterprise").fail_after_ms == 900_000
    assert email.expectation("self-serve") == base
    assert email.expectation(None) == base


def test_minimal_map_has_empty_segments_and_version(tmp_path: Path) -> None:
    journey_map = load(
        tmp_path,
        """\
        journey: Bare
        stages:
          - id: get-help
            touchpoints:
              - id: support-reply
                channel: chat
                expect:
        """,
    )
    assert journey_map.segments == []
    assert journey_map.version == ""
    assert journey_map.stages[0].name == "Get help"
    reply = journey_map.touchpoints()[0]
    assert reply.expect == Expectation()
    assert reply.expectation("enterprise") == Expectation()


def test_load_map_text_works_without_a_file() -> None:
    journey_map = load_map_text(textwrap.dedent(EXAMPLE))
    assert journey_map.path == Path("<map>")
    assert len(journey_map.touchpoints()) == 5


def test_anchors_and_aliases_are_resolved(tmp_path: Path) -> None:
    journey_map = load(
        tmp_path,
        """\
        journey: Aliased
        stages:
          - id: discover
            touchpoints:
              - {id: a, channel: web, expect: &fast {within: 1s, fail_after: 5s}}
              - {id: b, channel: web, expect: *fast}
        """,
    )
    a, b = journey_map.touchpoints()
    assert a.expect == b.expect == Expectation(within_ms=1000, fail_after_ms=5000)


# -- durations


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("800ms", 800),
        ("2s", 2000),
        ("1.5s", 1500),
        ("2m", 120_000),
        ("4h", 14_400_000),
        ("1d", 86_400_000),
        ("0.5s", 500),
        (".5s", 500),
        ("3", 3000),
        (" 2 s ", 2000),
        (3, 3000),
        (1.5, 1500),
        ("0ms", 0),
    ],
)
def test_parse_duration(text: str | int | float, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["abc", "2 weeks", "-1s", "", "2S", "1.5.2s", "s", -1, True, float("inf")])
def test_parse_duration_rejects(text: str | int | float) -> None:
    with pytest.raises(MapError) as info:
        parse_duration(text, file="map.yaml", line=4)
    assert info.value.message == (
        f"duration '{text}' does not parse; use a number with ms, s, m, h or d, e.g. 2s"
    )
    assert (info.value.file, info.value.line) == ("map.yaml", 4)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (800, "800ms"),
        (2000, "2s"),
        (1500, "1.5s"),
        (120_000, "2m"),
        (14_400_000, "4h"),
        (86_400_000, "1d"),
        (90_000, "1.5m"),
        (100_000, "100s"),
        (0, "0ms"),
        (None, "—"),
        (1234.5, "1.23s"),  # a measured p95 is rounded for display
        (412.7, "413ms"),
    ],
)
def test_format_duration(ms: int | float | None, text: str) -> None:
    assert format_duration(ms) == text


@pytest.mark.parametrize("text", ["800ms", "2s", "1.5s", "2m", "4h", "1d", "90s", "36h", "1ms"])
def test_format_duration_round_trips(text: str) -> None:
    ms = parse_duration(text)
    assert parse_duration(format_duration(ms)) == ms


def test_format_duration_round_trips_every_second_of_a_day_in_steps() -> None:
    for ms in [*range(0, 5000, 50), *range(0, 86_400_000 * 2, 1_800_000)]:
        assert parse_duration(format_duration(ms)) == ms


# -- lookups


@pytest.mark.parametrize(
    "ref", ["pricing-page", "Pricing page", "pricing page", "PRICING PAGE", " Pricing  Page "]
)
def test_find_touchpoint_by_id_name_or_slug(example: JourneyMap, ref: str) -> None:
    found = example.find_touchpoint(ref)
    assert found is not None and found.id == "pricing-page"


def test_find_touchpoint_by_a_name_unlike_the_id(example: JourneyMap) -> None:
    found = example.find_touchpoint("enterprise plans")
    assert found is not None and found.id == "enterprise-pricing"


def test_find_touchpoint_returns_none_when_nothing_matches(example: JourneyMap) -> None:
    assert example.find_touchpoint("checkout page") is None
    assert example.find_touchpoint("") is None


@pytest.mark.parametrize(
    ("path", "touchpoint_id"),
    [
        ("/", "home-page"),
        ("/pricing", "pricing-page"),
        ("/pricing/", "pricing-page"),
        ("/pricing?plan=pro", "pricing-page"),
        ("/pricing/teams", "pricing-page"),
        ("/pricing/enterprise", "enterprise-pricing"),  # the longest prefix wins
        ("/pricing/enterprise/contact#form", "enterprise-pricing"),
        ("https://acme.test/pricing?x=1", "pricing-page"),
        ("/signup/step-2", "signup-form"),
        ("", "home-page"),
    ],
)
def test_touchpoint_for_url(example: JourneyMap, path: str, touchpoint_id: str) -> None:
    found = example.touchpoint_for_url(path)
    assert found is not None and found.id == touchpoint_id


@pytest.mark.parametrize("path", ["/about", "/pricing-old", "/confirm"])
def test_touchpoint_for_url_returns_none_off_map(example: JourneyMap, path: str) -> None:
    # "/" matches only itself, and an email touchpoint's url is not a page the customer visits.
    assert example.touchpoint_for_url(path) is None


# -- errors: reading the file


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MapError) as info:
        load_map(tmp_path / "nowhere.yaml")
    assert info.value.message == "journey map not found"
    assert info.value.file == str(tmp_path / "nowhere.yaml")
    assert info.value.line is None


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(MapError) as info:
        load_map(tmp_path)
    assert "journey map cannot be read" in info.value.message


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "journey.yaml"
    path.write_bytes(b"journey: caf\xe9\n")
    with pytest.raises(MapError) as info:
        load_map(path)
    assert info.value.message == "journey map cannot be read (it is not UTF-8 text)"


def test_bad_yaml_reports_the_line_of_the_mark(tmp_path: Path) -> None:
    err = fails(tmp_path, "journey: x\nstages:\n  - id: a\n    name: [unclosed\n  - id: b\n")
    assert err.line == 5
    assert err.message.startswith("the map is not valid YAML: ")


def test_bad_yaml_indentation(tmp_path: Path) -> None:
    err = fails(tmp_path, "journey: x\nstages:\n  - id: a\n    name: b: c\n")
    assert err.line == 4
    assert "mapping values are not allowed here" in err.message


def test_control_character_reports_its_line(tmp_path: Path) -> None:
    err = fails(tmp_path, "journey: x\nstages:\n  - id: a\x01\n")
    assert err.line == 3
    assert "not valid YAML" in err.message


def test_str_names_file_and_line(tmp_path: Path) -> None:
    err = fails(tmp_path, "journey: x\nstage: []\n")
    assert (
        str(err)
        == f'{tmp_path / "journey.yaml"}, line 2: unknown key "stage" in the map (did you mean "stages"?)'
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "the map is empty; it needs at least journey and stages"),
        ("# only a comment\n", 1, "the map is empty"),
        ("- journey: x\n", 1, "the top level of the map must be a mapping with journey and stages"),
        ("just text\n", 1, "the top level of the map must be a mapping"),
    ],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, line: int, message: str) -> None:
    err = fails(tmp_path, text)
    assert err.line == line
    assert message in err.message


# -- errors: the top level and stages

STAGE = "journey: x\nstages:\n  - id: discover\n"  # the stage is line 3
STAGES_ERRORS = [
    # (map text, line, message fragment)
    ("stages: []\n", 1, 'missing required key "journey" in the map'),
    ("journey: x\n", 1, 'missing required key "stages" in the map'),
    ("journey: x\nstages: discover\n", 2, "stages must be a list"),
    ("journey: x\nstages: []\n", 2, "stages is empty; a journey map needs at least one stage"),
    ("journey: [x]\nstages: []\n", 1, "journey must be text, not a list or mapping"),
    ("journey: x\nversoin: 1\nstages: []\n", 2, 'unknown key "versoin" in the map (did you mean "version"?)'),
    ("journey: x\njourney: y\nstages: []\n", 2, 'duplicate key "journey" in the map'),
    ("journey: x\nsegments: enterprise\nstages: []\n", 2, "segments must be a list"),
    (
        "journey: x\nsegments:\n  - enterprise\n  - self-serve\n  - enterprise\n",
        5,
        'duplicate segment "enterprise"',
    ),
    (
        "journey: x\nsegments: [Self Serve]\nstages: []\n",
        2,
        'segment "Self Serve" is not a slug; use lowercase letters, digits and dashes, e.g. "self-serve"',
    ),
    ("journey: x\nstages:\n  - discover\n", 3, "a stage must be a mapping of keys to values"),
    ("journey: x\nstages:\n  - name: Discover\n", 3, 'missing required key "id" in a stage'),
    (
        STAGE + "    touchpionts: []\n",
        4,
        'unknown key "touchpionts" in stage "discover" (did you mean "touchpoints"?)',
    ),
    (
        "journey: x\nstages:\n  - id: Sign Up\n",
        3,
        'stage id "Sign Up" is not a slug; use lowercase letters, digits and dashes, e.g. "sign-up"',
    ),
    ("journey: x\nstages:\n  - id: -bad-\n", 3, 'stage id "-bad-" is not a slug'),
    (STAGE + "    touchpoints: [{id: a, channel: web}]\n  - id: discover\n", 5, "duplicate stage id"),
    (STAGE + "    touchpoints: {}\n", 4, "touchpoints must be a list"),
    (STAGE + "    max_messages: -1\n", 4, "max_messages must be a whole number, 0 or more"),
    (STAGE + "    max_senders: two\n", 4, "max_senders must be a whole number, 0 or more"),
    (STAGE + "    name:\n", 4, "name is empty"),
    (STAGE + "    <<: {name: D}\n", 4, "YAML merge keys are not supported"),
]


@pytest.mark.parametrize(("text", "line", "message"), STAGES_ERRORS)
def test_top_level_and_stage_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    err = fails(tmp_path, text)
    assert err.line == line, err
    assert message in err.message


def test_duplicate_stage_id_names_the_first_line(tmp_path: Path) -> None:
    err = fails(tmp_path, STAGE + "    touchpoints: [{id: a, channel: web}]\n  - id: discover\n")
    assert err.message == 'duplicate stage id "discover" (first used on line 3)'


# -- errors: touchpoints, expectations and segment overrides

TOUCHPOINT_HEAD = """\
journey: x
segments: [self-serve, enterprise]
stages:
  - id: discover
    touchpoints:
      - id: home-page
        channel: web
"""
# Lines after the head start at line 8 and belong to the home-page touchpoint.
TOUCHPOINT_ERRORS = [
    ("expect: {witin: 2s}", 8, 'unknown key "witin" in expect (did you mean "within"?)'),
    ("expect:\n  within: 2s\n  witin: 3s", 10, 'unknown key "witin" in expect (did you mean "within"?)'),
    ("chanel: web", 8, 'unknown key "chanel" in touchpoint "home-page" (did you mean "channel"?)'),
    ("owner: A\nowner: B", 9, 'duplicate key "owner" in touchpoint "home-page"'),
    ("expect: {within: 2s, within: 3s}", 8, 'duplicate key "within" in expect'),
    ("expect: fast", 8, "expect must be a mapping of keys to values"),
    (
        "expect: {within: 2 weeks}",
        8,
        "duration '2 weeks' does not parse; use a number with ms, s, m, h or d, e.g. 2s",
    ),
    ("expect:\n  within: 2s\n  fail_after: soon", 10, "duration 'soon' does not parse"),
    ("expect:\n  within: [2s]", 9, "within must be a duration, e.g. 2s"),
    (
        "expect:\n  within: 20s\n  fail_after: 10s",
        9,
        "within (20s) is longer than fail_after (10s) in expect",
    ),
    ("expect: {success_rate: 1.5}", 8, "success_rate must be a number from 0 to 1, e.g. 0.99"),
    ("expect: {success_rate: -0.1}", 8, "success_rate must be a number from 0 to 1"),
    ("expect: {success_rate: high}", 8, "success_rate must be a number from 0 to 1"),
    ("expect: {emotion: 3}", 8, "emotion must be a whole number from -2 to +2"),
    ("expect: {emotion: -3}", 8, "emotion must be a whole number from -2 to +2"),
    ("expect: {emotion: 1.5}", 8, "emotion must be a whole number from -2 to +2"),
    ("expect: {emotion: true}", 8, "emotion must be a whole number from -2 to +2"),
    (
        "segments: {enterprize: {within: 1m}}",
        8,
        'segment "enterprize" is not in the map\'s segments list (did you mean "enterprise"?)',
    ),
    (
        "segments:\n  enterprise: {witin: 1m}",
        9,
        'unknown key "witin" in segment override "enterprise" (did you mean "within"?)',
    ),
    ("segments:\n  enterprise: fast", 9, 'segment override "enterprise" must be a mapping'),
    ("segments:\n  enterprise: {emotion: 5}", 9, "emotion must be a whole number from -2 to +2"),
    (
        "expect: {within: 2m, fail_after: 15m}\nsegments:\n  enterprise:\n    within: 20m",
        11,
        'within (20m) is longer than fail_after (15m) in segment override "enterprise"',
    ),
    (
        "expect: {within: 2m, fail_after: 15m}\nsegments:\n  self-serve:\n    fail_after: 1m",
        11,
        'within (2m) is longer than fail_after (1m) in segment override "self-serve"',
    ),
    ("url: pricing", 8, 'url "pricing" must be a path starting with "/", e.g. "/pricing"'),
    (
        "subject: 'Welcome ('",
        8,
        'subject "Welcome (" is not a valid regular expression (missing ), unterminated subpattern)',
    ),
    ("moment_of_truth: sometimes", 8, "moment_of_truth must be true or false"),
    ("name: ''", 8, "name is empty"),
    ("owner: {team: x}", 8, "owner must be text, not a list or mapping"),
]


@pytest.mark.parametrize(("extra", "line", "message"), TOUCHPOINT_ERRORS)
def test_touchpoint_errors(tmp_path: Path, extra: str, line: int, message: str) -> None:
    err = fails(tmp_path, TOUCHPOINT_HEAD + textwrap.indent(extra, " " * 8) + "\n")
    assert err.line == line, err
    assert message in err.message


def test_override_naming_a_segment_when_the_map_declares_none(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """\
        journey: x
        stages:
          - id: discover
            touchpoints:
              - id: home-page
                channel: web
                segments:
                  enterprise: {within: 1m}
        """,
    )
    assert err.line == 8
    assert err.message == 'segment "enterprise" is not in the map\'s segments list; the map declares none'


CHANNEL_ERRORS = [
    (
        "      - id: home-page\n        name: Home\n",
        6,
        'missing required key "channel" in touchpoint "home-page"',
    ),
    ("      - name: Home\n        channel: web\n", 6, 'missing required key "id" in a touchpoint'),
    ("      - home-page\n", 6, "a touchpoint must be a mapping of keys to values"),
    (
        "      - id: home-page\n        channel: emial\n",
        7,
        'unknown channel "emial" (did you mean "email"?); use one of web, email, chat, form, api, phone',
    ),
    (
        "      - id: home-page\n        channel: fax\n",
        7,
        'unknown channel "fax"; use one of web, email, chat',
    ),
    ("      - id: Home_Page\n        channel: web\n", 6, 'touchpoint id "Home_Page" is not a slug'),
    (
        "      - id: home-page\n        channel: web\n      - id: home-page\n        channel: web\n",
        8,
        'duplicate touchpoint id "home-page" (first used on line 6)',
    ),
]


@pytest.mark.parametrize(("touchpoints", "line", "message"), CHANNEL_ERRORS)
def test_touchpoint_id_and_channel_errors(tmp_path: Path, touchpoints: str, line: int, message: str) -> None:
    head = STAGE + "    touchpoints:\n      - {id: other, channel: web}\n"
    err = fails(tmp_path, head + touchpoints)
    assert err.line == line, err
    assert message in err.message


def test_duplicate_touchpoint_id_across_stages(tmp_path: Path) -> None:
    err = fails(
        tmp_path,
        """\
        journey: x
        stages:
          - id: discover
            touchpoints:
              - {id: pricing-page, channel: web}
          - id: evaluate
            touchpoints:
              - id: pricing-page
                channel: web
        """,
    )
    assert err.line == 8
    assert err.message == 'duplicate touchpoint id "pricing-page" (first used on line 5)'


FIRST_VALUE = """\
journey: J
first_value_within: {within}
stages:
  - id: s
    touchpoints:
      - {{id: t, channel: web{milestone}}}
"""


def test_first_value_within_is_a_duration_promised_for_the_milestone(tmp_path: Path) -> None:
    journey_map = load(tmp_path, FIRST_VALUE.format(within="90s", milestone=", milestone: first-value"))
    assert journey_map.first_value_within_ms == 90_000
    bare = "journey: J\nstages:\n  - id: s\n    touchpoints: [{id: t, channel: web}]\n"
    assert load_map_text(bare).first_value_within_ms is None


def test_first_value_within_needs_a_milestone(tmp_path: Path) -> None:
    error = fails(tmp_path, FIRST_VALUE.format(within="90s", milestone=""))
    assert error.line == 2 and "milestone: first-value" in error.message


def test_first_value_within_must_parse(tmp_path: Path) -> None:
    error = fails(tmp_path, FIRST_VALUE.format(within="soon", milestone=", milestone: first-value"))
    assert error.line == 2 and "duration 'soon' does not parse" in error.message


def test_every_mistake_of_a_map_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "journey.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            journey: Many mistakes
            stages:
              - id: discover
                touchpoints:
              - id: signup
                touchpoints:
                  - id: signup-form
                    channel: webb
                  - id: welcome-page
                    channel: web
                    expect: {within: 0s}
              - id: help
                touchpoints:
                  - id: faq
                    channel: web
                    expect: {within: 2s, fail_after: 0}
            """
        )
    )
    with pytest.raises(MapErrors) as caught:
        load_map(path)
    found = [(error.line, error.message) for error in caught.value.errors]
    assert [line for line, _ in found] == [3, 8, 11, 16], found
    assert "has no touchpoints" in found[0][1]
    assert 'unknown channel "webb"' in found[1][1]
    assert "within must be longer than 0" in found[2][1]
    assert "fail_after must be longer than 0" in found[3][1]
    # Where one sentence is shown (a run, a report), it says there are more.
    assert str(caught.value).endswith("(and 3 more; `shopper map check` lists them all)")
    assert str(caught.value).startswith(f"{path}, line 3: ")
