"""Email steps: the synthetic customer waits for a promised email and acts on it.

An email touchpoint's map entry says which message it is (`subject`, `from`, `body` patterns)
and how soon it is due (`expect`). Time to inbox runs from the reply to the step that caused the
email (a form sent; see Recorder.step_ended), not from the step that reads it: checks in between
must not shorten what the customer waited. A promise longer than `--max-wait` ("support replies
within 4h") is not waited for with the browser open: the step records a pending expectation for
`shopper mail poll`.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.mail.mailbox import EmailWanted, Mailbox, NoEmailError, wait_for
from harness.mail.message import ReceivedEmail
from harness.mail.pending import EmailPending
from harness.map.journey_map import format_duration, parse_duration
from harness.observation import utc_now
from harness.record.context import Shopper
from harness.steps.browsing import open_url
from harness.steps.registry import touchpoint_step

# A one-time code as sites usually send it; a touchpoint's `code:` pattern overrides it.
DEFAULT_CODE = r"\b\d{4,8}\b"


def _mailbox(shopper: Shopper) -> Mailbox:
    if shopper.mailbox is None:
        raise HarnessError("no mailbox to read the customer's email from: pass --mailbox")
    return shopper.mailbox


def _wanted(shopper: Shopper, *, correlated: bool = False) -> EmailWanted:
    touchpoint = shopper.touchpoint
    assert touchpoint is not None
    answers = tuple(message.message_id for message in shopper.emails.values() if message.message_id)
    known = (*sorted(shopper.seen_emails), *answers) if correlated else ()
    return EmailWanted(
        to=shopper.customer.email,
        subject=touchpoint.subject,
        sender=touchpoint.sender,
        body=touchpoint.body,
        # A reply read hours later, by another process, must belong to this customer's request.
        reference=shopper.ticket if correlated else "",
        answers=answers if correlated and shopper.ticket else (),
        after=shopper.trigger_at if correlated else None,
        known=known,
    )


def _since(shopper: Shopper) -> tuple[float, dt.datetime]:
    """When the email's clock started: the trigger's end, on both clocks."""
    if shopper.trigger_clock is not None and shopper.trigger_at is not None:
        return shopper.trigger_clock, shopper.trigger_at
    return time.monotonic(), utc_now()


@dataclass
class EmailReceived:
    """The touchpoint's email, and how long the customer waited for it (None: it was read before)."""

    message: ReceivedEmail
    waited_ms: float | None


def _receive(
    shopper: Shopper, *, limit_ms: int | None = None, hold: bool = True, fresh: bool = False
) -> EmailReceived:
    """The touchpoint's email, once: waited for up to its limit, or left pending past `--max-wait`.

    `hold=False` looks once and leaves the rest of the wait to `shopper mail poll`; `fresh` (the
    steps that say "I receive") wants an email sent since the last trigger, not one read before it.
    """
    touchpoint = shopper.touchpoint
    assert touchpoint is not None
    # The email already read ("I receive ..." then "I follow the link in ..."); but "I receive"
    # after something sent it again (a code sent again) waits for the new one.
    if touchpoint.id in shopper.emails and (
        not fresh or shopper.email_triggers.get(touchpoint.id) == shopper.trigger_clock
    ):
        return EmailReceived(shopper.emails[touchpoint.id], None)
    box = _mailbox(shopper)
    clock, started_at = _since(shopper)
    limit = limit_ms if limit_ms is not None else shopper.wait_ms()
    hold_ms = min(limit, shopper.max_wait_ms) if hold else 0
    waited_s = time.monotonic() - clock
    wanted = _wanted(shopper)
    try:
        message = wait_for(
            box, wanted, seen=shopper.seen_emails, timeout_s=max(0.0, hold_ms / 1000.0 - waited_s)
        )
    except NoEmailError:
        # The step's failure (or its pending) is the email's wait, whichever step was waiting.
        shopper.answered_in(_ms_since(clock))
        if hold_ms >= limit:
            # The limit counts from the trigger, as the customer waits: say that one, not what was left.
            raise NoEmailError(f"{wanted.describe()} within {format_duration(limit)}") from None
        deadline = started_at + dt.timedelta(milliseconds=limit)
        raise EmailPending(_wanted(shopper, correlated=True), started_at, deadline) from None
    except Exception:
        shopper.answered_in(_ms_since(clock))
        raise
    shopper.emails[touchpoint.id] = message
    shopper.email_triggers[touchpoint.id] = shopper.trigger_clock
    return EmailReceived(message, _ms_since(clock))


def _ms_since(clock: float) -> float:
    return (time.monotonic() - clock) * 1000.0


def _answered(shopper: Shopper, received: EmailReceived) -> ReceivedEmail:
    """The email step's duration is the time to inbox (when it had to wait for it)."""
    if received.waited_ms is not None:
        shopper.answered_in(received.waited_ms)
    return received.message


@touchpoint_step("step", "I receive the {name} email", kind="email", binds="name", suffix="email", timed=True)
def receive(shopper: Shopper, name: str) -> None:
    """Wait for an email of the map to reach the customer's inbox, at most its fail_after.

    A fail_after beyond --max-wait is waited for that long, then left to `shopper mail poll`.
    """
    _answered(shopper, _receive(shopper, fresh=True))


@touchpoint_step(
    "step",
    "I receive the {name} email within {duration}",
    kind="email",
    binds="name",
    suffix="email",
    timed=True,
)
def receive_within(shopper: Shopper, name: str, duration: str) -> None:
    """Wait for an email of the map at most this long (e.g. 30s, 2m): a scenario's own limit."""
    try:
        limit = parse_duration(duration)
    except HarnessError:
        raise HarnessError(f'"{duration}" is not a duration; write it like 30s, 2m or 4h') from None
    _answered(shopper, _receive(shopper, limit_ms=limit, fresh=True))


@touchpoint_step(
    "step", "I will receive the {name} email", kind="email", binds="name", suffix="email", timed=True
)
def will_receive(shopper: Shopper, name: str) -> None:
    """End the scenario here and leave this email (a support reply) to `shopper mail poll`.

    The reply must quote the reference the support form gave, or answer an email already read.
    """
    _answered(shopper, _receive(shopper, hold=False, fresh=True))


@touchpoint_step(
    "step", "I follow the link in the {name} email", kind="email", binds="name", suffix="email", timed=True
)
def follow_link(shopper: Shopper, page: Any, name: str) -> None:
    """Open the link an email sent; the customer is then on the page it leads to.

    Only the page load is timed here: say "I receive the ... email" first to time the email.
    """
    # The email's wait is not this step's: only the page load is timed (unless no email came).
    message = _receive(shopper).message
    base = shopper.base_url.rstrip("/")
    links = message.links()
    link = next((url for url in links if base and url.startswith(base)), links[0] if links else None)
    if link is None:
        raise AssertionError(f'the email "{message.subject}" has no link to follow')
    shopper.arrive(link)
    open_url(shopper, page, link)  # times the page load as the browser saw it


@touchpoint_step(
    "step", "I read the code in the {name} email", kind="email", binds="name", suffix="email", timed=True
)
def read_code(shopper: Shopper, name: str) -> None:
    """Take the one-time code from an email (the map's `code:` pattern, else 4 to 8 digits).

    Then `I fill in "Code" with the code` types it.
    """
    message = _answered(shopper, _receive(shopper))
    touchpoint = shopper.touchpoint
    assert touchpoint is not None
    found = re.search(touchpoint.code or DEFAULT_CODE, message.body)
    if found is None:
        raise AssertionError(f'the email "{message.subject}" has no code in it')
    shopper.code = found.group(1) if found.groups() else found.group(0)
