"""The customer's own details in a form: which form on the page, which of its fields take what.

A person signing up looks for the form that asks for their email (and a password), fills in what
they are asked (name, email, every password box including the confirmation, the terms they must
accept) and sends it with the form's own button. No label lists tuned to one page: a field is the
customer's email by its type or `autocomplete`, else by the word "email" in any name it has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.errors import Ambiguous, NotOnPage
from harness.record.context import Shopper
from harness.steps.locate import best, resolve, tick, where
from harness.steps.page_scan import Candidate, Scan, locator

# Words that make a "name" field something other than the person's name.
NOT_PERSON = frozenset(
    {"user", "username", "company", "business", "organisation", "organization", "account", "domain",
     "file", "nick", "nickname", "team", "workspace", "site", "project", "middle"}
)
SUBJECT_WORDS = frozenset({"subject", "summary", "topic", "title"})
MESSAGE_WORDS = frozenset({"message", "description", "details", "question", "problem", "comment", "body"})
TEXT_TYPES = frozenset({"text", "search", ""})


def email_score(c: Candidate) -> int | None:
    if c.type == "email" or c.purpose() & {"email"}:
        return 0
    return 1 if c.type in TEXT_TYPES and "email" in c.words() else None


def login_score(c: Candidate) -> int | None:
    """A login's identity field: the email, else a username (the customer signs in with the email)."""
    score = email_score(c)
    if score is not None:
        return score
    if c.type in TEXT_TYPES and (c.purpose() & {"username"} or c.words() & {"username", "login"}):
        return 2
    return None


def is_username(c: Candidate) -> bool:
    words = c.words()
    wanted = bool(c.purpose() & {"username"} or "username" in words or {"user", "name"} <= words)
    return c.type in TEXT_TYPES and wanted and email_score(c) is None


def handle(email: str) -> str:
    """A username from the customer's address that any site accepts: letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", email.split("@", 1)[0].lower())[:30]


def name_part(c: Candidate) -> str | None:
    """"full", "given" or "family" for a field that asks for the person's name; None otherwise."""
    purpose, words = c.purpose(), c.words()
    if c.type not in TEXT_TYPES or words & NOT_PERSON or email_score(c) is not None:
        return None
    named = "name" in words or "surname" in words
    if purpose & {"given-name"} or ({"first", "given"} & words and named):
        return "given"
    if purpose & {"family-name"} or ({"last", "family", "surname"} & words and named):
        return "family"
    return "full" if purpose & {"name"} or "name" in words else None


@dataclass
class FormPlan:
    """What to fill in one form, and with what; `submit` is None for a form sent by pressing Enter."""

    page: Any
    emails: list[Candidate]
    passwords: list[Candidate] = field(default_factory=list)
    names: list[tuple[Candidate, str]] = field(default_factory=list)
    usernames: list[Candidate] = field(default_factory=list)  # a signup's: a handle from the email
    ticks: list[Candidate] = field(default_factory=list)
    picks: list[Candidate] = field(default_factory=list)  # required drop-downs nothing is chosen in
    subject: Candidate | None = None
    message: Candidate | None = None
    submit: Candidate | None = None

    def at(self, candidate: Candidate) -> Any:
        return locator(self.page, candidate)


def _groups(found: Scan) -> dict[int, list[Candidate]]:
    groups: dict[int, list[Candidate]] = {}
    for candidate in found.fields:
        groups.setdefault(candidate.form, []).append(candidate)
    return groups


def _form_name(found: Scan, form: int) -> str:
    if form < 0:
        return "the fields outside any form"
    return f"form {form + 1}" + (f" ({found.forms[form]})" if found.forms[form] else "")


def choose_form(
    page: Any,
    found: Scan,
    needs: Callable[[Candidate], int | None],
    fit: Callable[[list[Candidate]], int],
    what: str = "email field",
) -> tuple[int, list[Candidate]]:
    """The one form with a field `needs` takes that `fit` scores best (a newsletter box loses to a signup)."""
    groups = _groups(found).items()
    holding = {form: fields for form, fields in groups if any(needs(c) is not None for c in fields)}
    if not holding:
        raise NotOnPage(f"no {what} on {where(page)}; the fields there: {found.names(found.fields)}")
    top = max(fit(fields) for fields in holding.values())
    preferred = {form: fields for form, fields in holding.items() if fit(fields) == top}
    if len(preferred) > 1:
        forms = " and ".join(_form_name(found, form) for form in list(preferred)[:3])
        raise Ambiguous(f"{len(preferred)} forms on {where(page)} have a {what} equally: {forms}")
    return next(iter(preferred.items()))


def _plan(
    page: Any, found: Scan, form: int, fields: list[Candidate], identity: Callable[[Candidate], int | None]
) -> FormPlan:
    submits = [b for b in found.buttons if b.submits and b.form == form and form >= 0]
    return FormPlan(
        page=page,
        emails=best(fields, identity),
        passwords=[c for c in fields if c.type == "password"],
        ticks=[c for c in fields if c.type == "checkbox" and c.required],
        picks=[c for c in fields if c.type == "select" and c.required and c.empty and c.choice],
        submit=submits[0] if submits else None,  # the form's default button, as Enter would press
    )


def _asks_more(fields: list[Candidate]) -> bool:
    """What a signup asks and a login does not: a confirmation, a new password, a name, terms to accept."""
    passwords = [c for c in fields if c.type == "password"]
    new = len(passwords) > 1 or any("new-password" in c.purpose() for c in passwords)
    return new or any(name_part(c) or (c.type == "checkbox" and c.required) for c in fields)


def signup_fit(fields: list[Candidate]) -> int:
    """A signup form asks for a password, and for more than a login does."""
    return 2 * any(c.type == "password" for c in fields) + _asks_more(fields)


def login_fit(fields: list[Candidate]) -> int:
    """A login form asks for one password (the current one) and nothing a signup adds."""
    passwords = [c for c in fields if c.type == "password"]
    current = any("current-password" in c.purpose() for c in passwords)
    return 2 * (len(passwords) == 1) + (not _asks_more(fields)) + current


def account_form(shopper: Shopper, page: Any, *, signing_up: bool) -> FormPlan:
    """The signup (or login) form: the one with an email that looks most like one (a password, ...)."""
    identity = email_score if signing_up else login_score

    def choose(found: Scan) -> FormPlan:
        form, fields = choose_form(page, found, identity, signup_fit if signing_up else login_fit)
        plan = _plan(page, found, form, fields, identity)
        if signing_up:
            plan.names = [(c, part) for c in fields if (part := name_part(c)) is not None]
            plan.usernames = [c for c in fields if is_username(c)]
        return plan

    return resolve(shopper, page, choose)


def support_form(shopper: Shopper, page: Any) -> FormPlan:
    """The contact form: the one with a message box (and an email field, where one has); its subject if any.

    A signed-in customer's form may not ask for the email at all: then none is typed.
    """

    def message_box(c: Candidate) -> int | None:
        return 0 if c.type == "textarea" else None

    def choose(found: Scan) -> FormPlan:
        form, fields = choose_form(
            page, found, message_box, lambda fs: any(email_score(c) is not None for c in fs), "message box"
        )  # a form with an email field as well fits better
        plan = _plan(page, found, form, fields, email_score)
        boxes = [c for c in fields if c.type == "textarea"]
        plan.message = next((c for c in boxes if c.words() & MESSAGE_WORDS), boxes[0])
        subjects = [c for c in fields if c.type in TEXT_TYPES and c.words() & SUBJECT_WORDS]
        plan.subject = subjects[0] if subjects else None
        return plan

    return resolve(shopper, page, choose)


def fill_plan(shopper: Shopper, plan: FormPlan, *, password: bool = True) -> None:
    """Type the customer's details into every field the plan found (the password never reaches a record)."""
    wait = shopper.wait_ms()
    given, _, family = shopper.customer.name.rpartition(" ")
    parts = {"full": shopper.customer.name, "given": given or family, "family": family}
    for candidate, part in plan.names:
        plan.at(candidate).fill(parts[part], timeout=wait)
    for candidate in plan.emails:
        plan.at(candidate).fill(shopper.customer.email, timeout=wait)
    for candidate in plan.usernames:
        plan.at(candidate).fill(handle(shopper.customer.email), timeout=wait)
    for candidate in plan.passwords if password else []:
        plan.at(candidate).fill(shopper.customer.password, timeout=wait)
    for candidate in plan.ticks:
        tick(plan.page, candidate, wait)
    for candidate in plan.picks:
        # A required choice the customer has no view on: the first real option, as a hurried person would.
        plan.at(candidate).select_option(value=candidate.choice, timeout=wait)


def send(plan: FormPlan, wait: int) -> None:
    """Press the form's own button, or Enter in a field of it when it has none."""
    if plan.submit is not None:
        plan.at(plan.submit).click(timeout=wait)
        return
    fields = [*plan.emails, *plan.passwords]
    if not fields:
        raise NotOnPage("the form has no button to send it and no field to press Enter in")
    plan.at(fields[-1]).press("Enter", timeout=wait)
