"""The inbox settle: how long a run keeps looking, at its end, for mail no step waited for.

A form sent may cause more mail than the email a step reads (a welcome, and tips from a second
sending system half a second later); the inbox audit wants those too. Such mail is looked for
until `--inbox-settle` after the step that may have caused it (the scenario's last trigger, on the
harness's clock), and no longer once the mailbox has yielded nothing new for QUIET_S. A run whose
triggers are all older than the settle by its end, or that triggered nothing, does not wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.mail.mailbox import Mailbox
from harness.record.recorder import Recorder, ScenarioRecord

# Mail sent together arrives together: this long without anything new, the mailbox has settled.
QUIET_S = 0.5


@dataclass
class Settled:
    skipped: bool  # the run did not wait at all: the audit looked once
    waited_s: float  # how long the run waited for late mail
    late: int  # messages the audit found while waiting
    why: str  # what decided the wait, for the run's output

    def describe(self) -> str:
        if self.skipped:
            return f"inbox settle: skipped ({self.why})"
        found = f"{self.late} late message(s)" if self.late else "nothing late"
        return f"inbox settle: waited {self.waited_s:.2f}s, {found} ({self.why})"


def settle_deadline(triggers: Sequence[float | None], settle_s: float) -> float | None:
    """Until when (monotonic) mail from these triggers may still be on its way; None: no trigger."""
    last = max((clock for clock in triggers if clock is not None), default=None)
    return None if last is None else last + settle_s


def settle(
    mailbox: Mailbox,
    deadline: float | None,
    audit: Callable[[], int],
    *,
    quiet_s: float = QUIET_S,
    clock: Callable[[], float] = time.monotonic,
) -> Settled:
    """Audit the mailbox now, and again as mail comes, until the deadline or QUIET_S of quiet.

    `audit` records what is new for every customer and says how many messages that was.
    """
    started = clock()
    if deadline is None or started >= deadline:
        audit()
        why = "no step may have caused mail" if deadline is None else "every trigger is older than the settle"
        return Settled(True, 0.0, 0, why)
    late = 0
    quiet_until = started + quiet_s
    while True:
        found = audit()
        now = clock()
        if found:
            late += found
            quiet_until = now + quiet_s
        stop = min(deadline, quiet_until)
        if now >= stop:
            why = "the settle after the last trigger is over" if stop == deadline else "the mailbox is quiet"
            return Settled(False, now - started, late, why)
        mailbox.wait(min(mailbox.poll_s, stop - now))


def settle_inbox(
    recorder: Recorder, records: list[ScenarioRecord], mailbox: Mailbox, settle_s: float
) -> Settled:
    """The run's last inbox audit of these scenarios' customers, waiting for late mail while it may come."""
    deadline = settle_deadline([record.shopper.trigger_clock for record in records], settle_s)

    def audit() -> int:
        before = sum(len(record.audited) for record in records)
        for record in records:
            recorder.audit_inbox(record)
        return sum(len(record.audited) for record in records) - before

    return settle(mailbox, deadline, audit)
