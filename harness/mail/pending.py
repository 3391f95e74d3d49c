"""Pending expectations: promised emails too slow to wait for with a browser open.

"Support replies within 4h" cannot hold a scenario for four hours. The step that waits for such
an email looks for a while (`--max-wait`), then records a pending expectation: who is waiting, for
what, since when and until when. The scenario ends there. `shopper mail poll` (and the scheduler
after each run; `harness.ops.mail_poll`) later reads the mailbox, and either finds the message and
records the real response time, from the step that asked to the message's arrival, or, once
`fail_after` has passed, records the touchpoint as failed. Until then the report shows the item as pending.

Times here are wall-clock UTC, since the poll runs in another process: the arrival is the mailbox's
own delivery stamp (the demo sink's, or IMAP's INTERNALDATE, whole seconds).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from harness.mail.mailbox import EmailWanted
from harness.mail.message import ReceivedEmail
from harness.map.journey_map import format_duration
from harness.observation import PendingExpectation


class EmailPending(Exception):
    """Raised by an email step to end its scenario with the email still awaited."""

    def __init__(self, wanted: EmailWanted, triggered_at: dt.datetime, deadline: dt.datetime) -> None:
        self.wanted, self.triggered_at, self.deadline = wanted, triggered_at, deadline
        super().__init__(
            f"still waiting for the email to {wanted.to}; `shopper mail poll` resolves it by"
            f" {deadline.isoformat(timespec='seconds')}"
        )


def wanted_to_dict(wanted: EmailWanted) -> dict[str, object]:
    values = dataclasses.asdict(wanted)
    values["answers"] = list(wanted.answers)
    values["known"] = list(wanted.known)
    values["after"] = wanted.after.isoformat() if wanted.after else None
    return values


def wanted_from_dict(values: dict[str, object]) -> EmailWanted:
    fields: dict[str, Any] = dict(values)
    fields["answers"] = tuple(fields.get("answers") or ())
    fields["known"] = tuple(fields.get("known") or ())
    fields["after"] = dt.datetime.fromisoformat(fields["after"]) if fields.get("after") else None
    return EmailWanted(**fields)


@dataclass
class PollResult:
    pending: PendingExpectation
    outcome: str  # passed, failed, error (the mailbox could not be read), or pending (still awaited)
    duration_ms: float | None = None
    error: str = ""

    def describe(self) -> str:
        item = self.pending
        where = f"{item.touchpoint} ({item.segment}, run {item.run_id})"
        if self.outcome == "pending":
            return f"pending  {where}: awaited until {item.deadline.isoformat(timespec='seconds')}"
        if self.outcome == "passed":
            return f"answered {where} after {format_duration(self.duration_ms)}"
        if self.outcome == "error":
            return f"unread   {where}: {self.error}"
        return f"failed   {where}: {self.error}"


def resolve_one(
    pending: PendingExpectation, found: list[ReceivedEmail], now: dt.datetime
) -> tuple[PollResult, ReceivedEmail | None]:
    """What one look at the mailbox says about one pending expectation."""
    # Whatever the step asked, an answer cannot come before the question.
    wanted = dataclasses.replace(wanted_from_dict(pending.wanted), after=pending.triggered_at)
    match = next((message for message in found if wanted.matches(message)), None)
    if match is not None and match.received_at is not None:
        arrived = match.received_at
        duration = max(0.0, (arrived - pending.triggered_at).total_seconds() * 1000.0)
        # A reply after the deadline arrived, but too late: the customer had given up on it.
        outcome = "passed" if arrived <= pending.deadline else "failed"
        error = "" if outcome == "passed" else f"{wanted.describe()} until {format_duration(duration)}"
        return PollResult(pending, outcome, duration, error), match
    if now > pending.deadline:
        error = f"{wanted.describe()} within {format_duration(pending.fail_after_ms)}"
        return PollResult(pending, "failed", pending.fail_after_ms, error), None
    return PollResult(pending, "pending"), None
