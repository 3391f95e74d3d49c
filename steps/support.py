"""Support steps: the synthetic customer asks for help through a web form and keeps the ticket reference.

The reference correlates the replies: an acknowledgement or a person's answer read later, maybe by
`shopper mail poll` in another process, must quote it (or answer an email the customer already got).
"""

from __future__ import annotations

import re
from typing import Any

from harness.catalogue import touchpoint_step
from harness.shopper import Shopper
from steps.browsing import after_action, browse
from steps.signup import EMAIL_LABELS, fill_first

SUBJECT_LABELS = ("Subject", "Topic", "Summary")
MESSAGE_LABELS = ("Message", "Your message", "Description", "How can we help?")
# How help desks print a ticket reference: ACME-1001, SUP-42, or #12345.
TICKET = re.compile(r"\b([A-Z][A-Z0-9]{1,9}-\d{2,})\b|#(\d{3,})\b")
# Said next to it, so that a footer's "ISO-27001" is not taken for the customer's ticket.
NAMED = re.compile(r"(?i)\b(?:ticket|reference|ref|case|request)\b[^\n]{0,40}?")


@touchpoint_step("step", 'I submit a support request about "{subject}"', kind="form", timed=True)
def submit_request(shopper: Shopper, page: Any, subject: str) -> None:
    """Fill this contact form with my email, the subject and a short message; send it.

    The reply page's ticket reference (ACME-1001, #12345) is kept to match the replies by.
    """
    browse(shopper, page)
    if not fill_first(page, EMAIL_LABELS, shopper.customer.email):
        raise AssertionError(f"no email field on {page.url}")
    fill_first(page, SUBJECT_LABELS, subject)
    if not fill_first(page, MESSAGE_LABELS, f"{subject}. Could you help me with this, please?"):
        raise AssertionError(f"no message field on {page.url}")
    before = shopper.navigations
    page.locator("form:has(textarea) [type=submit]").first.click(timeout=shopper.wait_ms())
    after_action(shopper, page, before)
    shopper.ticket = ticket_in(page.locator("body").inner_text(timeout=shopper.wait_ms()))


def ticket_in(text: str) -> str:
    """The ticket reference a page shows: the one named as such, else the only one; "" if unsure."""
    named = re.search(NAMED.pattern + f"(?:{TICKET.pattern})", text)
    if named:
        return named.group(1) or f"#{named.group(2)}"
    found = {match.group(1) or f"#{match.group(2)}" for match in TICKET.finditer(text)}
    return found.pop() if len(found) == 1 else ""
