"""Form steps: fill in fields as the customer would, by their visible labels, and submit."""

from __future__ import annotations

from typing import Any

from harness.catalogue import touchpoint_step
from harness.errors import HarnessError
from harness.shopper import Shopper
from steps.browsing import after_action, browse

DETAILS = ("name", "email", "password")


@touchpoint_step("step", 'I fill in "{field}" with "{value}"', kind="form")
def fill_in(shopper: Shopper, page: Any, field: str, value: str) -> None:
    """Type a value into the field with that label."""
    browse(shopper, page).get_by_label(field, exact=True).fill(value, timeout=shopper.wait_ms())


@touchpoint_step("step", 'I fill in "{field}" with my {detail}', kind="form")
def fill_in_mine(shopper: Shopper, page: Any, field: str, detail: str) -> None:
    """Type the synthetic customer's own name, email or password (the password never reaches a record)."""
    if detail not in DETAILS:
        raise HarnessError(
            f'"my {detail}" is not a detail of the synthetic customer; use one of: {", ".join(DETAILS)}'
        )
    value = getattr(shopper.customer, detail)
    browse(shopper, page).get_by_label(field, exact=True).fill(value, timeout=shopper.wait_ms())


@touchpoint_step("step", 'I fill in "{field}" with the code', kind="form")
def fill_in_code(shopper: Shopper, page: Any, field: str) -> None:
    """Type the code read from an email with "I read the code in the ... email"."""
    if not shopper.code:
        raise HarnessError('no code read yet: say "I read the code in the ... email" first')
    browse(shopper, page).get_by_label(field, exact=True).fill(shopper.code, timeout=shopper.wait_ms())


@touchpoint_step("step", 'I choose "{option}" in "{field}"', kind="form")
def choose(shopper: Shopper, page: Any, option: str, field: str) -> None:
    """Pick an option of a drop-down by its label."""
    found = browse(shopper, page).get_by_label(field, exact=True)
    found.select_option(label=option, timeout=shopper.wait_ms())


@touchpoint_step("step", 'I press "{button}"', kind="form", timed=True)
def press(shopper: Shopper, page: Any, button: str) -> None:
    """Press a button; the wait for the page that answers counts for that page."""
    browse(shopper, page)
    before = shopper.navigations
    page.get_by_role("button", name=button, exact=True).first.click(timeout=shopper.wait_ms())
    after_action(shopper, page, before)
