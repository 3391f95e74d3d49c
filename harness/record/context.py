"""The mystery shopper inside one scenario: who the synthetic customer is and where they are.

Step definitions read and move this context; the recorder reads which touchpoint each step
exercised from it. Secrets (the customer's password) live here only, never in an observation.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.mail.mailbox import Mailbox
from harness.mail.message import ReceivedEmail
from harness.map.journey_map import Expectation, JourneyMap, Touchpoint, is_template
from harness.observation import utc_now
from harness.record.dry_run import DryRun
from harness.record.labels import LabelGuard
from harness.record.secrets import (
    _MARK_SECRETS,
    MASK_COLOR,
    SECRET_MARK,
    _looks_secret,
    _secret_value,
    redact_zip,
    secret_forms,
)
from harness.record.step_parts import StepMeasures, TimedPart

PASSWORD_ENV = "SHOPPER_PASSWORD"
DEFAULT_DOMAIN = "example.test"
# {run} and {n} make every run and scenario a customer of its own: plus-addressing by default, or
# a catch-all domain ("{run}-{n}@shoppers.example.com").
DEFAULT_ADDRESS = "shopper+{run}-{n}@{domain}"
_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")

# How long any wait of a step (a page, a form's reply, a field, a text to see) may take when the
# touchpoint the customer is at sets no fail_after, or the customer is at no touchpoint yet.
DEFAULT_WAIT_MS = 10_000
# How long an email step holds the browser open before leaving the email to `shopper mail poll`.
DEFAULT_MAX_WAIT_MS = 120_000


class StepFailure(AssertionError):
    """The touchpoint did not give the customer what it should: a failed observation."""


class ContentMissing(StepFailure):
    """The page loaded but did not say what the customer looked for (observation.CONTENT_MISS)."""


@dataclass
class Customer:
    name: str
    email: str
    password: str = field(repr=False)


def customer_address(template: str, run_id: str, number: int, domain: str = DEFAULT_DOMAIN) -> str:
    """The address a template gives; HarnessError when it would not tell runs and scenarios apart."""
    if "{run}" not in template or "{n}" not in template:
        raise HarnessError(
            f'customer address "{template}" needs {{run}} and {{n}}, so every run and scenario gets'
            " its own address (e.g. shopper+{run}-{n}@example.com)"
        )
    tag = run_id.replace("-", "").lower()[-10:]
    try:
        address = template.format(run=tag, n=number, domain=domain)
    except (KeyError, IndexError, ValueError):
        raise HarnessError(
            f'customer address "{template}" may use only {{run}}, {{n}} and {{domain}}'
        ) from None
    if not _ADDRESS.fullmatch(address):
        raise HarnessError(f'customer address "{template}" does not make an email address ({address})')
    return address


def make_customer(
    run_id: str, number: int, domain: str = DEFAULT_DOMAIN, template: str = DEFAULT_ADDRESS
) -> Customer:
    """A fresh address per run and scenario, so every message can be traced to what caused it."""
    password = os.environ.get(PASSWORD_ENV) or secrets.token_urlsafe(12)
    return Customer(
        name="Mystery Shopper", email=customer_address(template, run_id, number, domain), password=password
    )


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
    # What the customer asked for last (the first request of the last page's redirect chain): a
    # form's POST, whose reply belongs to the touchpoint that received it, not to the page it led to.
    request_url: str = ""
    request_method: str = ""
    seen_emails: set[str] = field(default_factory=set)
    emails: dict[str, ReceivedEmail] = field(default_factory=dict)
    email_triggers: dict[str, float | None] = field(default_factory=dict)  # trigger_clock each was read at
    # End of the last timed step that passed (a form sent, not an email read): what triggered an
    # email, for time to inbox. Monotonic for this process; UTC for a pending poll in another.
    trigger_clock: float | None = None
    trigger_at: dt.datetime | None = None
    mailbox_url: str = ""  # kept with a pending expectation, for the later poll
    max_wait_ms: int = DEFAULT_MAX_WAIT_MS  # longer promises become pending expectations
    ticket: str = ""  # the reference a support form gave: a later reply must carry it
    code: str = ""  # the last code read from an email
    # What the running step measured; handed to the recorder as a value by take_measures().
    _measures: StepMeasures = field(default_factory=StepMeasures, init=False, repr=False)
    trace_wanted: bool = False  # record a Playwright trace of the page's context, kept only at failure
    traced: Any = None  # the browser context this shopper started tracing
    dry_run: DryRun | None = None  # set in a dry run: steps find everything and send nothing
    api_answer: Any = None  # the last API call's answer (steps.api.ApiAnswer), for the checks after it
    label_guard: LabelGuard | None = None  # with a label header: what it made other origins refuse

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

    def timed_part(
        self,
        duration_ms: float,
        clock: float,
        answered: float,
        where: tuple[Touchpoint | None, str | None] | None = None,
    ) -> None:
        """A touchpoint answered in `duration_ms`, by the browser's clock: the one the customer is at,
        or `where` (touchpoint, off-map path), the one that received what the customer sent."""
        touchpoint, off_map = where if where is not None else (self.touchpoint, self.off_map)
        self._measures.parts.append(TimedPart(touchpoint, off_map, duration_ms, clock, answered))

    def answered_in(self, duration_ms: float) -> None:
        """The step's own measure of the touchpoint's answer, taken instead of the step's duration."""
        self._measures.answered_ms = duration_ms

    def last_part(self) -> TimedPart | None:
        """The last answer the running step waited for (the page it led to, for a page visit)."""
        return self._measures.parts[-1] if self._measures.parts else None

    def page_loaded(self) -> None:
        """The running step waited for a page's load (its Navigation Timing was read): a timed visit."""
        self._measures.page_loaded = True

    def visited_page(self) -> bool:
        return self._measures.page_loaded

    def take_measures(self) -> StepMeasures:
        """What the step that just ended measured; the next step starts with none."""
        measures, self._measures = self._measures, StepMeasures()
        return measures

    def sent(self, clock: float) -> None:
        """What the step sent was received at `clock` (monotonic): an email it caused is timed from there."""
        self.trigger_clock = clock
        self.trigger_at = utc_now() - dt.timedelta(seconds=max(0.0, time.monotonic() - clock))

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
        if is_template(touchpoint.url):
            raise HarnessError(
                f'touchpoint "{touchpoint.id}" has a url the site makes up ({touchpoint.url}), so it cannot'
                " be opened: follow a link or an email to it"
            )
        if not self.base_url:
            raise HarnessError("no target: pass --base-url URL")
        return self.base_url.rstrip("/") + touchpoint.url

    def screenshot(self, path: Path) -> bool:
        """Evidence at failure, with every secret on screen masked; False if the page is gone.

        A page that echoes the password (a greeting, a confirmation, a debug box) would otherwise put
        it into the report as pixels, where no text redaction reaches.
        """
        if self.page is None:
            return False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._mark_secrets()
            self.page.screenshot(
                path=str(path),
                timeout=self.wait_ms(),  # a page busy past its fail_after gives no evidence either
                mask=[self.page.locator(f"[{SECRET_MARK}], input[type=password]")],
                mask_color=MASK_COLOR,
            )
        except Exception:
            path.unlink(missing_ok=True)  # never a screenshot that might not be masked
            return False
        return True

    def _mark_secrets(self) -> None:
        """Mark what shows a secret, in every frame; a frame that shows one is masked whole.

        (A mask locator sees the page and its open shadow roots, not the documents inside frames.)
        """
        forms = [form for value in self.secrets() for form in secret_forms(value)]
        for frame in self.page.frames:
            # Bounded like the screenshot: a page hung in a script must not hang the run's evidence.
            if frame.locator(":root").evaluate(_MARK_SECRETS, forms, timeout=self.wait_ms()):
                while frame.parent_frame is not None and frame.parent_frame.parent_frame is not None:
                    frame = frame.parent_frame
                if frame.parent_frame is not None:
                    frame.frame_element().evaluate(f"(element) => element.setAttribute('{SECRET_MARK}', '')")

    def start_tracing(self, context: Any) -> None:
        """Trace a browser context from now on; only a failure keeps the trace (see save_trace)."""
        if not self.trace_wanted or self.traced is not None:
            return
        try:
            # The DOM at every action, and the network: what a trace is read for. No screencast: its
            # film strip costs Chromium a frame at every paint of every page, and the failure's own
            # screenshot is kept beside the trace.
            context.tracing.start(screenshots=False, snapshots=True)
        except Exception:
            return  # already tracing (pytest-playwright's --tracing keeps its own), or the browser is gone
        self.traced = context

    def save_trace(self, path: Path) -> bool:
        """Stop tracing and write the trace to `path` with every secret removed; False if there is none.

        The raw trace (what the customer typed, URLs with it) only ever lives in a temporary folder.
        """
        context, self.traced = self.traced, None
        if context is None:
            return False
        try:
            with tempfile.TemporaryDirectory(prefix="shopper-trace-") as folder:
                raw = Path(folder) / "trace.zip"
                context.tracing.stop(path=str(raw))
                path.parent.mkdir(parents=True, exist_ok=True)
                redact_zip(raw, path, self.secrets())
        except Exception:
            path.unlink(missing_ok=True)
            return False
        return True

    def page_url(self) -> str:
        """Where the customer is (unredacted: the recorder hides secrets and the query string)."""
        try:
            return str(self.page.url) if self.page is not None else ""
        except Exception:
            return ""

    def page_title(self) -> str:
        """The page's <title>; a hung or dead page gives "" within two seconds."""
        if self.page is None:
            return ""
        try:
            return str(self.page.locator(":root").evaluate("() => document.title", timeout=2000))
        except Exception:
            return ""

    def secrets(self) -> list[str]:
        found = [self.customer.password]
        found += [value for name, value in os.environ.items() if _looks_secret(name) and _secret_value(value)]
        return found
