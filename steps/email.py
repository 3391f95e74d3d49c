"""Email steps: the synthetic customer waits for a promised email and acts on it."""

from __future__ import annotations

import time
from typing import Any

from harness.catalogue import touchpoint_step
from harness.email_message import ReceivedEmail
from harness.errors import HarnessError
from harness.mailbox import wait_for_email
from harness.shopper import Shopper
from steps.browsing import open_url


def _receive(shopper: Shopper) -> ReceivedEmail:
    touchpoint = shopper.touchpoint
    assert touchpoint is not None
    if touchpoint.id in shopper.emails:
        return shopper.emails[touchpoint.id]
    if shopper.mailbox is None:
        raise HarnessError("no mailbox to read the customer's email from: pass --mailbox")
    # Time to inbox runs from the end of the step that sent it (a form submitted), not from this
    # step: checks in between must not shorten what the customer waited.
    since = shopper.trigger_clock if shopper.trigger_clock is not None else time.monotonic()
    waited_s = time.monotonic() - since
    try:
        message = wait_for_email(
            shopper.mailbox,
            to=shopper.customer.email,
            subject=touchpoint.subject,
            seen=shopper.seen_emails,
            timeout_s=max(0.0, shopper.wait_ms() / 1000.0 - waited_s),
        )
    finally:
        shopper.measured_ms = (time.monotonic() - since) * 1000.0
    shopper.emails[touchpoint.id] = message
    return message


@touchpoint_step("step", "I receive the {name} email", kind="email", binds="name", suffix="email", timed=True)
def receive(shopper: Shopper, name: str) -> None:
    """Wait for an email of the map to reach the customer's inbox, at most its fail_after."""
    _receive(shopper)


@touchpoint_step(
    "step", "I follow the link in the {name} email", kind="email", binds="name", suffix="email", timed=True
)
def follow_link(shopper: Shopper, page: Any, name: str) -> None:
    """Open the link an email sent; the customer is then on the page it leads to.

    Only the page load is timed here: say "I receive the ... email" first to time the email.
    """
    message = _receive(shopper)
    shopper.measured_ms = None
    base = shopper.base_url.rstrip("/")
    links = message.links()
    link = next((url for url in links if base and url.startswith(base)), links[0] if links else None)
    if link is None:
        raise AssertionError(f'the email "{message.subject}" has no link to follow')
    shopper.arrive(link)
    started = time.monotonic()
    try:
        open_url(shopper, page, link)
    finally:
        shopper.measured_ms = (time.monotonic() - started) * 1000.0
