"""Support steps: the synthetic customer asks for help through a web form and keeps the ticket reference.

The reference correlates the replies: an acknowledgement or a person's answer read later, maybe by
`shopper mail poll` in another process, must quote it (or answer an email the customer already got).
"""

from __future__ import annotations

import re
from typing import Any

from harness.record.context import Shopper
from harness.record.dry_run import held_back
from harness.steps.browsing import after_action
from harness.steps.details import fill_plan, send, support_form
from harness.steps.locate import answering
from harness.steps.registry import touchpoint_step

# How help desks print a ticket reference: ACME-1001, SUP-42, or #12345.
TICKET = re.compile(r"\b([A-Z][A-Z0-9]{1,9}-\d{2,})\b|#(\d{3,})\b")
# Said next to it, so that a footer's "ISO-27001" is not taken for the customer's ticket.
NAMED = re.compile(r"(?i)\b(?:ticket|reference|ref|case|request)\b[^\n]{0,40}?")


@touchpoint_step("step", 'I submit a support request about "{subject}"', kind="form", timed=True)
def submit_request(shopper: Shopper, page: Any, subject: str) -> None:
    """Fill this contact form with my email, the subject (where it asks) and a short message; send it.

    The reply page's ticket reference (ACME-1001, #12345) is kept to match the replies by.
    """
    plan = support_form(shopper, page)
    fill_plan(shopper, plan, password=False)
    wait = shopper.wait_ms()
    if plan.subject is not None:
        plan.at(plan.subject).fill(subject, timeout=wait)
    assert plan.message is not None
    plan.at(plan.message).fill(f"{subject}. Could you help me with this, please?", timeout=wait)
    if held_back(shopper.dry_run):
        return
    before = shopper.navigations
    with answering(shopper):
        send(plan, wait)
        after_action(shopper, page, before)
    shopper.ticket = ticket_in(page.locator("body").inner_text(timeout=wait))


def ticket_in(text: str) -> str:
    """The ticket reference a page shows: the one named as such, else the only one; "" if unsure."""
    named = re.search(NAMED.pattern + f"(?:{TICKET.pattern})", text)
    if named:
        return named.group(1) or f"#{named.group(2)}"
    found = {match.group(1) or f"#{match.group(2)}" for match in TICKET.finditer(text)}
    return found.pop() if len(found) == 1 else ""
