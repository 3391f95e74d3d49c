"""`shopper mail poll`: the mailboxes read again for the emails left pending, the answers stored.

The poll reads the mail layer (what is awaited, what arrived) and writes to the store, so it sits
above both, with the other operations that drive runs after the fact (the scheduler polls after
each run).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import HarnessError
from harness.mail.mailbox import Mailbox, open_mailbox
from harness.mail.message import ReceivedEmail, audit_record
from harness.mail.pending import PollResult, resolve_one, wanted_from_dict
from harness.observation import ExpectationResolved, PendingExpectation, utc_now
from harness.store.sqlite import Store


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
            box.close()
    for result in last.values():
        if result.outcome == "pending":
            report(result)
    return Polled(list(last.values()), list(problems.values()))


def _unread(
    pending: PendingExpectation, problem: str, now: dt.datetime
) -> tuple[PollResult, ReceivedEmail | None]:
    if now <= pending.deadline:
        return PollResult(pending, "pending"), None
    error = f"the mailbox could not be read by the deadline: {problem}"
    return PollResult(pending, "error", pending.fail_after_ms, error), None


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
