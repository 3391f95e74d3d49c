"""What every browser step shares: opening a URL, noticing where the customer landed and what it answered.

Every wait is timed as the browser saw it (Navigation Timing of the page it waited for), so what
the harness does around it (Playwright's actionability checks before a click, evidence, tracing's
own work) never counts against a touchpoint. And every wait is charged to whoever made the
customer wait: a submit's reply (its POST and redirect) to the touchpoint that received the
request, the answering page's own load to that page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from harness.record.context import Shopper, StepFailure

# The browser's timing of the page it shows, and its clock now; null until its load event has ended.
NAVIGATION_TIMING = """() => {
  const entry = performance.getEntriesByType('navigation')[0];
  return entry && entry.loadEventEnd > 0
    ? {start: entry.startTime, fetch: entry.fetchStart, response: entry.responseEnd,
       loaded: entry.loadEventEnd, now: performance.now()}
    : null;
}"""


# The same entry as soon as the new document has committed: its start and final fetch are known then.
REPLY_TIMING = """() => {
  const entry = performance.getEntriesByType('navigation')[0];
  return entry ? {start: entry.startTime, fetch: entry.fetchStart, now: performance.now()} : null;
}"""


@dataclass
class PageTiming:
    """A page's Navigation Timing, its moments moved onto the harness's clock (time.monotonic())."""

    start: float  # navigation start: after the click or goto, before any request
    fetch: float  # the final request's fetch: the redirects, if any, are over
    response: float  # the final response has arrived
    loaded: float  # the load event has ended

    def ms(self, since: float, until: float) -> float:
        return (until - since) * 1000.0


def browse(shopper: Shopper, page: Any) -> Any:
    """Attach the page to the shopper once, listening for the HTTP status of every page the customer gets."""
    # Every wait of this step (a field, a button, a text) is bounded by the touchpoint's fail_after.
    page.set_default_timeout(shopper.wait_ms())
    if shopper.page is not page:
        shopper.page = page

        def on_response(response: Any) -> None:
            if response.request.is_navigation_request() and response.frame == page.main_frame:
                shopper.last_status = response.status
                shopper.last_url = response.url
                shopper.navigations += 1
                asked = response.request
                while asked.redirected_from is not None:
                    asked = asked.redirected_from
                shopper.request_url, shopper.request_method = asked.url, asked.method

        page.on("response", on_response)
    return page


def fail_on_http_error(shopper: Shopper) -> None:
    if shopper.last_status is not None and shopper.last_status >= 400:
        # The query string is left out: a form sent with GET puts what the customer typed there.
        url = _without_query(shopper.last_url)
        where = shopper.touchpoint.name if shopper.touchpoint else url
        said = _error_page_says(shopper.page)
        raise StepFailure(f"{where} answered HTTP {shopper.last_status} ({url}){f': {said}' if said else ''}")


def _without_query(url: str) -> str:
    return urlsplit(url)._replace(query="", fragment="").geturl()


# How long the harness looks for the error page's words: the failure itself is already known.
ERROR_PAGE_WAIT_MS = 2_000


def _error_page_says(page: Any) -> str:
    """What the error page told the customer (its heading, else its title): the first clue for the owner."""
    if page is None:
        return ""
    try:
        said = page.locator(":root").evaluate(
            "() => (document.querySelector('h1')?.innerText || document.title || '').trim()",
            timeout=ERROR_PAGE_WAIT_MS,
        )
    except Exception:  # a page gone with the error must not hide the error itself
        return ""
    return " ".join(str(said).split())[:200]


def navigation_timing(page: Any, timeout_ms: float) -> PageTiming | None:
    """The browser's Navigation Timing of the page now shown, once loaded; None if it cannot say."""
    try:
        found = _evaluate(page, NAVIGATION_TIMING, timeout_ms)
        if found is None:  # its load event is still running: wait for its end
            found = page.wait_for_function(NAVIGATION_TIMING, timeout=max(timeout_ms, 1.0)).json_value()
    except Exception:  # no timing (a browser error page): the step's wall time stands in
        return None
    at = _on_our_clock(found)
    if at is None:
        return None
    return PageTiming(start=at["start"], fetch=at["fetch"], response=at["response"], loaded=at["loaded"])


def _evaluate(page: Any, script: str, timeout_ms: float) -> Any:
    # Bounded (page.evaluate is not): a page stuck in a script fails at its fail_after, not never.
    return page.locator(":root").evaluate(script, timeout=max(timeout_ms, 1.0))


def _on_our_clock(found: Any) -> dict[str, float] | None:
    read = time.monotonic()
    if not isinstance(found, dict):
        return None
    # Same machine, both clocks real time: a browser moment is `now - moment` before this read.
    return {key: read - (float(found["now"]) - float(value)) / 1000.0 for key, value in found.items()}


def _reply_part(shopper: Shopper, page: Any, replied: tuple[Any, Any], left_ms: float) -> bool:
    """Charge the reply (the request and its redirects) at once: the page it led to may never load."""
    try:
        at = _on_our_clock(_evaluate(page, REPLY_TIMING, left_ms))
    except Exception:  # no timing: the step's wall time stands in
        return False
    if at is None:
        return False
    shopper.timed_part((at["fetch"] - at["start"]) * 1000.0, at["fetch"], at["fetch"], where=replied)
    return True


def open_url(shopper: Shopper, page: Any, url: str) -> None:
    """Open a URL for the touchpoint the customer is at; where it redirects, the landing page's load is
    that page's (a tracked email link, a page that sends the customer to log in first)."""
    browse(shopper, page)
    shopper.last_status = None
    started = time.monotonic()
    response = page.goto(url, wait_until="load", timeout=shopper.wait_ms())
    if response is not None:
        shopper.last_status, shopper.last_url = response.status, response.url
    opened = (shopper.touchpoint, shopper.off_map)
    redirected = response is not None and _without_query(response.url) != _without_query(url)
    if redirected:
        shopper.arrive(response.url)
    timing = navigation_timing(page, _left_ms(shopper, started))
    if timing is not None:
        shopper.page_loaded()
        if redirected and opened != (shopper.touchpoint, shopper.off_map):
            reply_ms = timing.ms(timing.start, timing.fetch)
            shopper.timed_part(reply_ms, timing.fetch, timing.fetch, where=opened)
            shopper.timed_part(timing.ms(timing.fetch, timing.loaded), timing.loaded, timing.response)
        else:
            shopper.timed_part(timing.ms(timing.start, timing.loaded), timing.loaded, timing.response)
    fail_on_http_error(shopper)


def _left_ms(shopper: Shopper, started: float) -> float:
    return shopper.wait_ms() - (time.monotonic() - started) * 1000.0


def after_action(shopper: Shopper, page: Any, before: int) -> None:
    """A click or a submit may take the customer to a new page: wait for it and charge each wait.

    The reply to the request (up to the last redirect) belongs to the touchpoint whose url the
    request went to, else to the one the customer was at (the form); the answering page's load
    belongs to that page. Without a redirect the page is the reply: one wait, the page's.
    """
    if shopper.navigations == before and page.url == shopper.last_url:
        return
    committed = time.monotonic()
    if shopper.navigations == before:
        # The URL changed without a new document (a single-page app's route, a hash): the customer is
        # on that page now; the step's own measure (from the click) is its wait.
        page.wait_for_load_state("load", timeout=shopper.wait_ms())
        shopper.arrive(page.url)
        return
    receiver = shopper.journey_map.touchpoint_for_url(urlsplit(shopper.request_url).path or "/")
    redirected = _without_query(shopper.request_url) != _without_query(shopper.last_url)
    if receiver is not None:
        shopper.at(receiver)
    elif shopper.request_method == "GET":
        shopper.arrive(shopper.request_url)  # a link to a page the map does not know: an off-map page
    # else a form sent where the map knows no touchpoint: its reply is the form's
    replied = (shopper.touchpoint, shopper.off_map)
    if redirected:
        shopper.arrive(shopper.last_url)
    split = replied != (shopper.touchpoint, shopper.off_map)
    # The request and its redirects, up to the final page's fetch, were the reply: charged before
    # the wait for the page, so a page that never loads cannot take the reply's time with it.
    charged = split and _reply_part(shopper, page, replied, _left_ms(shopper, committed))
    page.wait_for_load_state("load", timeout=shopper.wait_ms())
    timing = navigation_timing(page, _left_ms(shopper, committed))
    if timing is not None:
        shopper.page_loaded()
        if split:
            if not charged:
                reply_ms = timing.ms(timing.start, timing.fetch)
                shopper.timed_part(reply_ms, timing.fetch, timing.fetch, where=replied)
            page_ms = timing.ms(timing.fetch, timing.loaded)
            shopper.timed_part(page_ms, timing.loaded, timing.response)
        else:
            shopper.timed_part(timing.ms(timing.start, timing.loaded), timing.loaded, timing.response)
    fail_on_http_error(shopper)
