"""The step catalogue: the shipped steps, the phrases they parse and the touchpoints they bind to."""

from __future__ import annotations

import pytest

import harness.steps.email
import harness.steps.forms
import harness.steps.signup
import harness.steps.web
from harness.map.catalogue import (
    BY_NAME,
    BY_URL,
    CATALOGUE,
    Binding,
    StepEntry,
    bind,
    entries,
    entry_for,
    find_entry,
    static_binding,
)
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
      - id: enterprise-plans
        name: Enterprise plans
        channel: web
        url: /pricing/enterprise
  - id: signup
    touchpoints:
      - id: signup-page
        channel: form
        url: /signup
      - id: confirmation-email
        channel: email
        subject: "Confirm your Acme account"
"""


@pytest.fixture
def journey_map() -> JourneyMap:
    return load_map_text(MAP, "acme.yaml")


def entry(phrase: str) -> StepEntry:
    found = [e for e in CATALOGUE if e.phrase == phrase]
    assert len(found) == 1, f"{phrase!r} registered {len(found)} times"
    return found[0]


def found(text: str) -> tuple[StepEntry, dict[str, str]]:
    result = find_entry(text)
    assert result is not None, f"no step matches {text!r}"
    return result


def test_importing_the_step_library_fills_the_catalogue() -> None:
    phrases = {e.phrase for e in entries()}
    assert {
        "I open the {name} page",
        'I open "{path}"',
        'I click "{text}"',
        "I am on the {name} page",
        'I should see "{text}"',
        'I should not see "{text}"',
        'I fill in "{field}" with "{value}"',
        'I fill in "{field}" with my {detail}',
        'I choose "{option}" in "{field}"',
        'I press "{button}"',
        "I sign up with my details",
        "I log in with my account",
        "I receive the {name} email",
        "I follow the link in the {name} email",
    } <= phrases
    kinds = {e.kind for e in entries()}
    assert {"web page", "form", "signup", "email"} <= kinds
    assert all(callable(e.func) for e in CATALOGUE)


def test_each_function_knows_its_entry() -> None:
    assert entry_for(harness.steps.web.open_page) is entry("I open the {name} page")
    assert entry_for(harness.steps.forms.press) is entry('I press "{button}"')
    assert entry_for(harness.steps.signup.sign_up) is entry("I sign up with my details")
    assert entry_for(harness.steps.email.receive) is entry("I receive the {name} email")
    assert entry_for(test_each_function_knows_its_entry) is None


def test_entry_has_doc_and_parameters() -> None:
    fill = entry('I fill in "{field}" with "{value}"')
    assert fill.parameters == ["field", "value"]
    assert fill.doc == "Type a value into the field called that (its label, placeholder, aria-label or name)."
    assert entry("I sign up with my details").parameters == []


def test_match_parses_a_phrase() -> None:
    assert entry("I open the {name} page").match("I open the pricing page") == {"name": "pricing"}
    assert entry("I open the {name} page").match("  I open the signup page  ") == {"name": "signup"}
    assert entry('I fill in "{field}" with "{value}"').match('I fill in "Email" with "a@b.test"') == {
        "field": "Email",
        "value": "a@b.test",
    }
    assert entry("I open the {name} page").match("I open the pricing") is None
    assert entry('I click "{text}"').match('I click "Buy" now') is None
    assert entry("I sign up with my details").match("I sign up with my details") == {}


def test_match_escapes_literal_text() -> None:
    # "." and "(" in a phrase are literal, not regex syntax.
    odd = StepEntry(keyword="step", phrase="I pay $5.00 (for {what})", kind="web page", func=print)
    assert odd.match("I pay $5.00 (for tea)") == {"what": "tea"}
    assert odd.match("I pay $5x00 (for tea)") is None


def test_find_entry_picks_the_right_step() -> None:
    step, args = found('I open "/careers"')
    assert step.phrase == 'I open "{path}"'
    assert args == {"path": "/careers"}
    step, args = found("I open the home page")
    assert step.phrase == "I open the {name} page"
    assert args == {"name": "home"}
    step, args = found('I should not see "Error"')
    assert step.phrase == 'I should not see "{text}"'
    step, args = found('I fill in "Email" with my email')
    assert step.phrase == 'I fill in "{field}" with my {detail}'
    assert args == {"field": "Email", "detail": "email"}
    step, args = found("I follow the link in the confirmation email")
    assert step.func is harness.steps.email.follow_link
    assert find_entry("I dance on the table") is None


def test_bind_name_with_suffix(journey_map: JourneyMap) -> None:
    binding = bind(entry("I open the {name} page"), {"name": "pricing"}, journey_map)
    assert binding is not None and binding.touchpoint is not None
    assert binding.touchpoint.id == "pricing-page"
    assert binding.touchpoint_id == "pricing-page"
    assert binding.off_map is None and binding.unresolved is None


def test_bind_name_without_suffix(journey_map: JourneyMap) -> None:
    # "enterprise plans page" is no touchpoint, "Enterprise plans" is one.
    binding = bind(entry("I open the {name} page"), {"name": "Enterprise plans"}, journey_map)
    assert binding is not None and binding.touchpoint is not None
    assert binding.touchpoint.id == "enterprise-plans"


def test_bind_email_by_name(journey_map: JourneyMap) -> None:
    binding = bind(entry("I receive the {name} email"), {"name": "confirmation"}, journey_map)
    assert binding is not None and binding.touchpoint_id == "confirmation-email"


def test_bind_unknown_name_is_unresolved(journey_map: JourneyMap) -> None:
    binding = bind(entry("I open the {name} page"), {"name": "careers"}, journey_map)
    assert binding == Binding(unresolved="careers page")
    assert binding.touchpoint_id is None


def test_bind_by_url_under_a_touchpoint(journey_map: JourneyMap) -> None:
    open_path = entry('I open "{path}"')
    assert open_path.binds_by == BY_URL
    cases = {
        "/pricing": "pricing-page",
        "/pricing/team?plan=annual": "pricing-page",
        "/pricing/enterprise/contact": "enterprise-plans",
        "/": "home-page",
        "https://acme.test/signup?ref=ad": "signup-page",
    }
    for path, touchpoint_id in cases.items():
        binding = bind(open_path, {"path": path}, journey_map)
        assert binding is not None and binding.touchpoint is not None, path
        assert binding.touchpoint.id == touchpoint_id, path


def test_bind_by_url_off_map(journey_map: JourneyMap) -> None:
    open_path = entry('I open "{path}"')
    binding = bind(open_path, {"path": "/careers"}, journey_map)
    assert binding is not None
    assert binding.touchpoint is None
    assert binding.off_map == "/careers"
    assert binding.touchpoint_id == "/careers"
    # Query strings are not part of the off-map touchpoint, and "/pricing-old" is not under "/pricing".
    assert bind(open_path, {"path": "/careers?team=cs"}, journey_map) == Binding(off_map="/careers")
    assert bind(open_path, {"path": "/pricing-old"}, journey_map) == Binding(off_map="/pricing-old")
    assert bind(open_path, {"path": "https://acme.test/careers"}, journey_map) == Binding(off_map="/careers")


def test_bind_without_a_binding_parameter(journey_map: JourneyMap) -> None:
    assert bind(entry('I click "{text}"'), {"text": "Pricing"}, journey_map) is None
    assert bind(entry("I sign up with my details"), {}, journey_map) is None
    # A binding parameter the args lack: nothing to bind.
    assert bind(entry("I open the {name} page"), {}, journey_map) is None


def test_static_binding(journey_map: JourneyMap) -> None:
    pricing = static_binding("I open the pricing page", journey_map)
    assert pricing is not None and pricing.touchpoint_id == "pricing-page"
    at_signup = static_binding("I am on the signup page", journey_map)
    assert at_signup is not None and at_signup.touchpoint_id == "signup-page"
    assert static_binding('I open "/careers"', journey_map) == Binding(off_map="/careers")
    unknown = static_binding("I receive the welcome email", journey_map)
    assert unknown == Binding(unresolved="welcome email")
    assert static_binding('I should see "Team"', journey_map) is None
    assert static_binding("no step says this", journey_map) is None


def test_timed_flags_of_the_shipped_steps() -> None:
    timed = {
        "I open the {name} page",
        'I open "{path}"',
        'I click "{text}"',
        'I press "{button}"',
        "I sign up with my details",
        "I log in with my account",
        "I receive the {name} email",
        "I follow the link in the {name} email",
    }
    untimed = {
        'I should see "{text}"',
        'I should not see "{text}"',
        'I fill in "{field}" with "{value}"',
        'I fill in "{field}" with my {detail}',
        'I choose "{option}" in "{field}"',
        "I am on the {name} page",
    }
    for phrase in timed:
        assert entry(phrase).timed is True, phrase
    for phrase in untimed:
        assert entry(phrase).timed is False, phrase


def test_binding_declarations_of_the_shipped_steps() -> None:
    assert (entry("I open the {name} page").binds, entry("I open the {name} page").suffix) == ("name", "page")
    assert entry("I open the {name} page").binds_by == BY_NAME
    assert (entry("I receive the {name} email").binds, entry("I receive the {name} email").suffix) == (
        "name",
        "email",
    )
    assert entry('I open "{path}"').binds == "path"
    assert entry('I click "{text}"').binds is None
    assert entry('I press "{button}"').binds is None


def test_touchpoint_step_rejects_an_unknown_keyword() -> None:
    from harness.steps.registry import touchpoint_step

    before = len(CATALOGUE)
    with pytest.raises(ValueError, match="keyword must be one of"):
        touchpoint_step("whenever", "I do a thing", kind="web page")
    assert len(CATALOGUE) == before
