"""Email steps: the synthetic customer waits for a promised email and acts on it."""

from __future__ import annotations

from typing import Any

from harness.catalogue import touchpoint_step
from harness.errors import HarnessError
from harness.mailbox import ReceivedEmail, wait_for_email
from harness.shopper import Shopper
from steps.browsing import open_url


def _receive(shopper: Shopper) -> ReceivedEmail:
    touchpoint = shopper.touchpoint
    assert touchpoint is not None
    if touchpoint.id in shopper.emails:
        return shopper.emails[touchpoint.id]
    if shopper.mailbox is None:
        raise HarnessError("no mailbox to read the customer's email from: pass --mailbox")
    message = wait_for_email(
        shopper.mailbox,
        to=shopper.customer.email,
        subject=touchpoint.subject,
        seen=shopper.seen_emails,
        timeout_s=shopper.wait_ms() / 1000.0,
    )
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
    """Open the link an email sent; the customer is then on the page it leads to."""
    message = _receive(shopper)
    base = shopper.base_url.rstrip("/")
    links = message.links()
    link = next((url for url in links if base and url.startswith(base)), links[0] if links else None)
    if link is None:
        raise AssertionError(f'the email "{message.subject}" has no link to follow')
    shopper.arrive(link)
    open_url(shopper, page, link)
