"""Form steps: fill in fields as the customer would, by what they are called, and submit.

Fields and buttons are found as a person finds them (`harness.steps.locate`): `Email:`, `Summary *` and
a button whose icon font puts a glyph in its name are what they say.
"""

from __future__ import annotations

from typing import Any

from harness.errors import HarnessError
from harness.record.context import Shopper
from harness.record.dry_run import held_back
from harness.steps import locate
from harness.steps.browsing import after_action
from harness.steps.registry import touchpoint_step

DETAILS = ("name", "email", "password")


@touchpoint_step("step", 'I fill in "{field}" with "{value}"', kind="form")
def fill_in(shopper: Shopper, page: Any, field: str, value: str) -> None:
    """Type a value into the field called that (its label, placeholder, aria-label or name)."""
    locate.field(shopper, page, field).fill(value, timeout=shopper.wait_ms())


@touchpoint_step("step", 'I fill in "{field}" with my {detail}', kind="form")
def fill_in_mine(shopper: Shopper, page: Any, field: str, detail: str) -> None:
    """Type the synthetic customer's own name, email or password (the password never reaches a record)."""
    if detail not in DETAILS:
        raise HarnessError(
            f'"my {detail}" is not a detail of the synthetic customer; use one of: {", ".join(DETAILS)}'
        )
    value = getattr(shopper.customer, detail)
    locate.field(shopper, page, field).fill(value, timeout=shopper.wait_ms())


@touchpoint_step("step", 'I fill in "{field}" with the code', kind="form")
def fill_in_code(shopper: Shopper, page: Any, field: str) -> None:
    """Type the code read from an email with "I read the code in the ... email"."""
    if not shopper.code and shopper.dry_run is None:
        raise HarnessError('no code read yet: say "I read the code in the ... email" first')
    target = locate.field(shopper, page, field)
    if shopper.dry_run is None:  # a dry run reads no email, so it has no code: the field is only found
        target.fill(shopper.code, timeout=shopper.wait_ms())


@touchpoint_step("step", 'I choose "{option}" in "{field}"', kind="form")
def choose(shopper: Shopper, page: Any, option: str, field: str) -> None:
    """Pick an option of a drop-down by what it says; the drop-down by what it is called."""
    drop_down = locate.field(shopper, page, field, kinds={"select"})
    drop_down.select_option(label=option, timeout=shopper.wait_ms())


@touchpoint_step("step", 'I check "{label}"', kind="form")
def check(shopper: Shopper, page: Any, label: str) -> None:
    """Tick a checkbox, or pick a radio button, by its label ("I agree to the terms", "Monthly")."""
    box = locate.find_field(shopper, page, label, kinds={"checkbox", "radio"})
    locate.tick(page, box, shopper.wait_ms())


@touchpoint_step("step", 'I press "{button}"', kind="form", timed=True)
def press(shopper: Shopper, page: Any, button: str) -> None:
    """Press a button by what it says (text, value, aria-label); the wait for the answer counts for it."""
    target = locate.button(shopper, page, button)
    if held_back(shopper.dry_run):
        return
    before = shopper.navigations
    with locate.answering(shopper):
        target.click(timeout=shopper.wait_ms())
        after_action(shopper, page, before)
