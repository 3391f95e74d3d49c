"""Pending expectations: promised emails too slow to wait for with a browser open.

"Support replies within 4h" cannot hold a scenario for four hours. The step that waits for such
an email looks for a while (`--max-wait`), then records a pending expectation: who is waiting, for
what, since when and until when. The scenario ends there. `shopper mail poll` (and the scheduler
after each run) later reads the mailbox, and either finds the message and records the real
response time, from the step that asked to the message's arrival, or, once `fail_after` has
passed, records the touchpoint as failed. Until then the report shows the item as pending.

Times here are wall-clock UTC, since the poll runs in another process: the arrival is the mailbox's
own delivery stamp (the demo sink's, or IMAP's INTERNALDATE, whole seconds).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.email_message import ReceivedEmail
from harness.errors import HarnessError
from harness.journey_map import format_duration
from harness.mailbox import EmailWanted, Mailbox, open_mailbox
from harness.observation import ExpectationResolved, MessageReceived, PendingExpectation, utc_now
from harness.store import Store


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
    after = values.get("after")
    answers = values.get("answers") or []
    known = values.get("known") or []
    return EmailWanted(
        to=str(values["to"]),
        subject=_text(values.get("subject")),
        sender=_text(values.get("sender")),
        body=_text(values.get("body")),
        reference=str(values.get("reference") or ""),
        answers=tuple(str(item) for item in answers) if isinstance(answers, list) else (),
        known=tuple(str(item) for item in known) if isinstance(known, list) else (),
        after=dt.datetime.fromisoformat(after) if isinstance(after, str) else None,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def audit_record(
    message: ReceivedEmail,
    *,
    run_id: str,
    node_id: str,
    segment: str,
    stage: str,
    address: str,
    touchpoint: str | None,
) -> MessageReceived:
    return MessageReceived(
        run_id=run_id,
        node_id=node_id,
        segment=segment,
        stage=stage,
        address=address,
        key=message.key,
        received_at=message.received_at,
        sender=message.sender_address,
        sender_domain=message.sender_domain,
        subject=message.subject,
        touchpoint=touchpoint,
        message_id=message.message_id,
        date_header=message.date_header,
        relay_received=message.relay_received,
        problems="; ".join(message.problems),
    )


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
        limit = (pending.deadline - pending.triggered_at).total_seconds() * 1000.0
        error = f"{wanted.describe()} within {format_duration(limit)}"
        return PollResult(pending, "failed", limit, error), None
    return PollResult(pending, "pending"), None


@dataclass
class Polled:
    results: list[PollResult]  # the last word on every item that was open when the poll began
    problems: list[str]  # mailboxes that could not be read, one sentence each


def poll(
    store: Store,
    *,
    mailbox: str | None = None,
    wait_s: float = 0.0,
    now: Callable[[], dt.datetime] = utc_now,
    report: Callable[[PollResult], None] = lambda result: None,
) -> Polled:
    """Resolve what can be resolved; with `wait_s`, keep looking until nothing is pending or time is up.

    Each pending item is read from its own run's mailbox unless `mailbox` names another URL. A
    mailbox that cannot be read (a server gone, a password not set) holds up only its own items:
    they stay pending until their deadline, then end as `error` (nothing was measured), not as a
    failure of the touchpoint's owner.
    """
    deadline = time.monotonic() + wait_s
    boxes: dict[str, Mailbox] = {}
    problems: dict[str, str] = {}
    last: dict[tuple[str, int], PollResult] = {}
    try:
        while True:
            still = 0
            found: dict[str, list[ReceivedEmail]] = {}
            for pending in store.open_pending():
                url = mailbox or pending.mailbox
                if url not in found and url not in problems:
                    try:
                        if url not in boxes:
                            boxes[url] = open_mailbox(url)
                        found[url] = boxes[url].messages()
                    except HarnessError as exc:
                        problems[url] = str(exc)
                if url in problems:
                    result, message = _unread(pending, problems[url], now())
                else:
                    result, message = resolve_one(pending, found[url], now())
                last[(pending.run_id, pending.seq)] = result
                if result.outcome == "pending":
                    still += url not in problems
                    continue
                _record(store, pending, result, message, report)
            if not still or time.monotonic() >= deadline:
                break
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
    finally:
        for box in boxes.values():
            close = getattr(box, "close", None)
            if close is not None:
                close()
    for result in last.values():
        if result.outcome == "pending":
            report(result)
    return Polled(list(last.values()), list(problems.values()))


def _unread(
    pending: PendingExpectation, problem: str, now: dt.datetime
) -> tuple[PollResult, ReceivedEmail | None]:
    if now <= pending.deadline:
        return PollResult(pending, "pending"), None
    limit = (pending.deadline - pending.triggered_at).total_seconds() * 1000.0
    return PollResult(
        pending, "error", limit, f"the mailbox could not be read by the deadline: {problem}"
    ), None


def _record(
    store: Store,
    pending: PendingExpectation,
    result: PollResult,
    message: ReceivedEmail | None,
    report: Callable[[PollResult], None],
) -> None:
    assert result.duration_ms is not None
    resolved = ExpectationResolved(
        pending.run_id, pending.seq, result.outcome, round(result.duration_ms, 3), result.error
    )
    if not store.resolve(resolved):
        return  # another poller got there first
    if message is not None:
        store.handle(
            audit_record(
                message,
                run_id=pending.run_id,
                node_id=pending.node_id,
                segment=pending.segment,
                stage=pending.stage,
                address=wanted_from_dict(pending.wanted).to,
                touchpoint=pending.touchpoint,
            )
        )
    report(result)


def mailbox_url(url: str) -> str:
    """A mailbox URL as stored with a pending item: a Maildir path made absolute, so a poll run
    from another folder finds it."""
    from pathlib import Path

    if url.startswith("maildir:"):
        return "maildir:" + str(Path(url[len("maildir:") :]).resolve())
    if not url.startswith(("imap://", "imaps://")):
        raise HarnessError(f'cannot keep "{url}" for a later poll: not a mailbox URL')
    return url
