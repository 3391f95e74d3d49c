"""The mystery shopper inside one scenario: who the synthetic customer is and where they are.

Step definitions read and move this context; the recorder reads which touchpoint each step
exercised from it. Secrets (the customer's password) live here only, never in an observation.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.journey_map import Expectation, JourneyMap, Touchpoint
from harness.mailbox import Mailbox, ReceivedEmail

PASSWORD_ENV = "SHOPPER_PASSWORD"
DEFAULT_DOMAIN = "example.test"

# How long a check waits for what the customer should see when the map sets no fail_after.
DEFAULT_WAIT_MS = 10_000


class StepFailure(AssertionError):
    """The touchpoint did not give the customer what it should: a failed observation."""


@dataclass
class Customer:
    name: str
    email: str
    password: str = field(repr=False)


def make_customer(run_id: str, number: int, domain: str = DEFAULT_DOMAIN) -> Customer:
    """A fresh address per run and scenario, so every message can be traced to what caused it."""
    tag = run_id.replace("-", "").lower()[-10:]
    password = os.environ.get(PASSWORD_ENV) or secrets.token_urlsafe(12)
    return Customer(name="Mystery Shopper", email=f"shopper+{tag}-{number}@{domain}", password=password)


@dataclass
class Shopper:
    journey_map: JourneyMap
    segment: str
    customer: Customer
    base_url: str = ""
    mailbox: Mailbox | None = None
    page: Any = None  # the Playwright page, once a browser step asked for it
    touchpoint: Touchpoint | None = None
    off_map: str | None = None
    last_status: int | None = None
    last_url: str = ""
    navigations: int = 0  # main-frame pages the customer got: tells a click that led somewhere
    seen_emails: set[str] = field(default_factory=set)
    emails: dict[str, ReceivedEmail] = field(default_factory=dict)
    # Monotonic end of the last timed step that passed: what triggered an email, for time to inbox.
    trigger_clock: float | None = None
    # A step's own measure of the touchpoint's answer, taken instead of the step's duration.
    measured_ms: float | None = None

    def __repr__(self) -> str:
        # pytest prints step arguments in tracebacks; URLs and pages may carry what a form sent.
        return (
            f"Shopper(segment={self.segment!r}, customer={self.customer.email!r}, at={self.touchpoint_id!r})"
        )

    @property
    def touchpoint_id(self) -> str | None:
        return self.touchpoint.id if self.touchpoint else self.off_map

    def at(self, touchpoint: Touchpoint | None, off_map: str | None = None) -> None:
        self.touchpoint, self.off_map = touchpoint, (None if touchpoint else off_map)

    def arrive(self, url: str) -> None:
        """The customer reached a URL: bind to the map touchpoint living there, else to an off-map one."""
        from urllib.parse import urlsplit

        path = urlsplit(url).path or "/"
        self.at(self.journey_map.touchpoint_for_url(path), off_map=path)

    def expectation(self) -> Expectation:
        return self.touchpoint.expectation(self.segment) if self.touchpoint else Expectation()

    def wait_ms(self, default: int = DEFAULT_WAIT_MS) -> int:
        """A touchpoint that has not answered by its fail_after has failed: wait no longer than that."""
        limit = self.expectation().fail_after_ms
        return int(limit) if limit else default

    def url_for(self, touchpoint: Touchpoint) -> str:
        if not touchpoint.url:
            raise HarnessError(
                f'touchpoint "{touchpoint.id}" has no url in the journey map, so it cannot be opened'
            )
        if not self.base_url:
            raise HarnessError("no target: pass --base-url URL")
        return self.base_url.rstrip("/") + touchpoint.url

    def screenshot(self, path: Path) -> bool:
        """Evidence at failure; a page that is gone (a crashed browser) must not cost the observation."""
        if self.page is None:
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(path), timeout=5000)
        except Exception:
            return False
        return True

    def secrets(self) -> list[str]:
        found = [self.customer.password]
        found += [value for name, value in os.environ.items() if _looks_secret(name) and len(value) >= 4]
        return found


def _looks_secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in ("PASSWORD", "TOKEN", "SECRET", "API_KEY", "APIKEY"))


def redact(text: str, secret_values: list[str]) -> str:
    from urllib.parse import quote, quote_plus

    for value in secret_values:
        if value:
            # A secret typed into a GET form reaches URLs (and so error texts) percent-encoded.
            for form in {value, quote(value, safe=""), quote_plus(value)}:
                text = text.replace(form, "•••")
    return text
