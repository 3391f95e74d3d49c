"""Signup and login steps: the synthetic customer creates an account and comes back to it.

The form is the one asking for an email (and a password, where a form on the page has one); what
goes where is `harness.steps.details`: name, email, every password box, the terms the form requires.
"""

from __future__ import annotations

from typing import Any

from harness.record.context import Shopper
from harness.record.dry_run import held_back
from harness.steps.browsing import after_action
from harness.steps.details import FormPlan, account_form, fill_plan, send
from harness.steps.locate import answering
from harness.steps.registry import touchpoint_step


def _send(shopper: Shopper, page: Any, plan: FormPlan) -> None:
    if held_back(shopper.dry_run):
        return
    before = shopper.navigations
    with answering(shopper):  # typing and finding the form was the customer's time, not the site's
        send(plan, shopper.wait_ms())
        after_action(shopper, page, before)


@touchpoint_step("step", "I sign up with my details", kind="signup", timed=True)
def sign_up(shopper: Shopper, page: Any) -> None:
    """Fill the signup form on this page (name, email, every password, required boxes ticked); send it."""
    plan = account_form(shopper, page, signing_up=True)
    fill_plan(shopper, plan)
    _send(shopper, page, plan)


@touchpoint_step("step", "I log in with my account", kind="signup", timed=True)
def log_in(shopper: Shopper, page: Any) -> None:
    """Fill the login form on this page with the synthetic customer's email and password; send it."""
    plan = account_form(shopper, page, signing_up=False)
    plan.ticks = []  # "remember me" is the customer's choice, not the form's demand
    fill_plan(shopper, plan)
    _send(shopper, page, plan)
