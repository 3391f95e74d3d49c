"""The features `shopper init` drafts: a feature per stage, a scenario per touchpoint, built-in steps only.

A scenario reaches its page the way a customer does where the crawl saw a way (from the page
init started from, the home page, by a link the locator finds alone), else opens it by its name in
the map. A form is filled
with synthetic values by the names the crawl checked the steps find: the customer's own email,
name and password where the form asks for them (the password never reaches a record), plain
made-up words elsewhere. A signup form is sent with "I sign up with my details" (it fills a
username, every password box, the terms); a login form is filled but not sent, because the new
customer has no account yet; any other form is sent with its own button (a contact form whose
button has no name, with "I submit a support request about", which presses the form's own).
"""

from __future__ import annotations

from harness.ops.crawl import FieldFound, FormFound
from harness.ops.scaffold import Draft, DraftStage, DraftTouchpoint

# Made-up values a person would type, by what the field asks for (or its type).
VALUES = {
    "given": "Mystery",
    "family": "Shopper",
    "username": "mysteryshopper",
    "subject": "A question from a mystery shopper",
    "message": "Hello, this is a test message from a mystery shopper: please ignore it.",
    "tel": "+1 555 0100",
    "number": "1",
    "url": "https://example.com",
    "date": "2030-01-15",
    "time": "12:00",
    "datetime-local": "2030-01-15T12:00",
    "month": "2030-01",
    "week": "2030-W03",
    "search": "help",
}
MINE = {"email": "email", "password": "password", "name": "name"}  # `with my …`: the synthetic customer's
# What "I submit a support request about" fills itself: the email, a subject, the message, what is required.
SUPPORT_FILLS = frozenset({"email", "subject", "message", "tick", "choice"})
UNTYPED = frozenset({"range", "color"})  # a slider or a colour picker is not typed into
SEND_LATER = "the synthetic customer has no account here yet: give it one first (the sign-up feature's steps)"
NO_BUTTON = 'And I press "…"   # no name init tried finds this form\'s button alone: say what it reads'
SAYS = '# Then I should see "…"   # what the page says when it worked: init sent nothing, so cannot know'


def feature_files(plan: Draft) -> dict[str, str]:
    """File name → text, one per stage of the draft."""
    return {f"{stage.guess.id.replace('-', '_')}.feature": _feature(plan, stage) for stage in plan.stages}


def _feature(plan: Draft, stage: DraftStage) -> str:
    lines = [
        f"# Drafted by `shopper init` from what it found on {plan.site.origin}: make it say what your",
        "# customer wants, in their words. `shopper steps` lists every step phrase.",
        f"@stage:{stage.guess.id}",
        f"Feature: {stage.guess.goal}",
    ]
    for touchpoint in stage.touchpoints:
        lines += ["", *_scenario(plan, touchpoint)]
    return "\n".join(lines) + "\n"


def _opening(plan: Draft, tp: DraftTouchpoint) -> list[str]:
    """How the customer gets to the page: by the first page's link to it, else straight to it."""
    home = plan.home
    link = home.page.links.get(tp.page.path) if tp is not home else None
    if link and "{" not in home.url:
        return [
            f"Scenario: I find the {_lower(tp.name)} from the {_page(home)} page",
            f"  Given I open the {_page(home)} page",
            f'  When I click "{link}"',
            f"  Then I am on the {_page(tp)} page",
        ]
    start = f'I open "{tp.page.path}"' if "{" in tp.url else f"I open the {_page(tp)} page"
    return [f"Scenario: I open the {_lower(tp.name)}", f"  Given {start}"]


def _lower(name: str) -> str:
    return name[:1].lower() + name[1:]


def _page(tp: DraftTouchpoint) -> str:
    """What "the … page" calls it: "the pricing page" for "Pricing page", "the contact form page"."""
    return _lower(tp.name).removesuffix(" page")


def _scenario(plan: Draft, tp: DraftTouchpoint) -> list[str]:
    lines = _opening(plan, tp)
    then = "And" if len(lines) > 2 else "Then"
    if tp.page.heading:
        lines.append(f'  {then} I should see "{tp.page.heading}"')
    if tp.form is not None:
        lines += _filling(tp.form)
    return ["  " + line for line in lines]


def _filling(form: FormFound) -> list[str]:
    if form.purpose == "signup":
        steps = [_fill(f) for f in form.fields if not f.in_plan]
        steps.append("I sign up with my details")
        return [*_when(steps), f"  {SAYS}"]
    steps = [step for f in form.fields if (step := _fill(f))]
    if form.purpose == "login":
        press = f'And I press "{form.submit}"' if form.submit else "And I log in with my account"
        return [*_when(steps), f"  # {press}   # {SEND_LATER}"]
    if form.submit is None and form.purpose == "message":
        # Its button has no name a step could press it by; this step presses the form's own button.
        asked = [_fill(f) for f in form.fields if f.role not in SUPPORT_FILLS]
        return [*_when([*asked, f'I submit a support request about "{VALUES["subject"]}"']), f"  {SAYS}"]
    if form.submit is None:
        return [*_when(steps), f"  # {NO_BUTTON}"]
    return [*_when([*steps, f'I press "{form.submit}"']), f"  {SAYS}"]


def _when(steps: list[str]) -> list[str]:
    return [f"  {'When' if n == 0 else 'And'} {step}" for n, step in enumerate(s for s in steps if s)]


def _fill(f: FieldFound) -> str:
    if f.role == "tick":
        return f'I check "{f.name}"'
    if f.role == "choice":
        return f'I choose "{f.option}" in "{f.name}"' if f.option and '"' not in f.option else ""
    if f.type in UNTYPED:
        return ""
    if f.role in MINE:
        return f'I fill in "{f.name}" with my {MINE[f.role]}'
    value = VALUES.get(f.role) or VALUES.get(f.type) or "Mystery shopper"
    return f'I fill in "{f.name}" with "{value}"'
