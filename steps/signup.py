"""Signup and login steps: the synthetic customer creates an account and comes back to it."""

from __future__ import annotations

from typing import Any

from harness.catalogue import touchpoint_step
from harness.shopper import Shopper
from steps.browsing import after_action, browse

NAME_LABELS = ("Full name", "Name", "Your name")
EMAIL_LABELS = ("Email", "Work email", "Email address")
PASSWORD_LABELS = ("Password",)


def fill_first(page: Any, labels: tuple[str, ...], value: str) -> bool:
    for label in labels:
        field = page.get_by_label(label, exact=True)
        if field.count():
            field.first.fill(value)  # bounded by the touchpoint's fail_after (see browse)
            return True
    return False


def _submit(shopper: Shopper, page: Any) -> None:
    before = shopper.navigations
    page.locator("form:has(input[type=email]) [type=submit]").first.click(timeout=shopper.wait_ms())
    after_action(shopper, page, before)


@touchpoint_step("step", "I sign up with my details", kind="signup", timed=True)
def sign_up(shopper: Shopper, page: Any) -> None:
    """Fill the signup form on this page with the synthetic customer's name, email and password; send it."""
    browse(shopper, page)
    fill_first(page, NAME_LABELS, shopper.customer.name)
    if not fill_first(page, EMAIL_LABELS, shopper.customer.email):
        raise AssertionError(f"no email field on {page.url}")
    fill_first(page, PASSWORD_LABELS, shopper.customer.password)
    _submit(shopper, page)


@touchpoint_step("step", "I log in with my account", kind="signup", timed=True)
def log_in(shopper: Shopper, page: Any) -> None:
    """Fill the login form on this page with the synthetic customer's email and password; send it."""
    browse(shopper, page)
    if not fill_first(page, EMAIL_LABELS, shopper.customer.email):
        raise AssertionError(f"no email field on {page.url}")
    fill_first(page, PASSWORD_LABELS, shopper.customer.password)
    _submit(shopper, page)
