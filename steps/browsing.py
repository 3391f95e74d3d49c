"""What every browser step shares: opening a URL, noticing where the customer landed and what it answered.

Every wait is timed as the browser saw it (Navigation Timing of the page it waited for), so what
the harness does around it (Playwright's actionability checks before a click, evidence, tracing's
own work) never counts against a touchpoint. And every wait is charged to whoever made the
customer wait: a submit's reply (its POST and redirect) to the touchpoint that received the
request, the answering page's own load to that page.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from harness.shopper import Shopper, StepFailure, TimedPart

# The browser's timing of the page it shows; null until its load event has ended.
NAVIGATION_TIMING = """() => {
  const entry = performance.getEntriesByType('navigation')[0];
  return entry && entry.loadEventEnd > 0
    ? {start: entry.startTime, fetch: entry.fetchStart, loaded: entry.loadEventEnd,
       redirects: entry.redirectCount}
    : null;
}"""


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


def _error_page_says(page: Any) -> str:
    """What the error page told the customer (its heading, else its title): the first clue for the owner."""
    if page is None:
        return ""
    try:
        said = page.evaluate("() => (document.querySelector('h1')?.innerText || document.title || '').trim()")
    except Exception:  # a page gone with the error must not hide the error itself
        return ""
    return " ".join(str(said).split())[:200]


def navigation_timing(page: Any, timeout_ms: float) -> dict[str, float] | None:
    """The browser's Navigation Timing of the page now shown, once loaded; None if it cannot say."""
    try:
        handle = page.wait_for_function(NAVIGATION_TIMING, timeout=max(timeout_ms, 1.0))
        found = handle.json_value()
    except Exception:  # no timing (a browser error page): the step's wall time stands in
        return None
    return {key: float(value) for key, value in found.items()} if isinstance(found, dict) else None


def open_url(shopper: Shopper, page: Any, url: str) -> None:
    """Open a URL for the touchpoint the customer is at: the whole navigation, redirects included, is its."""
    browse(shopper, page)
    shopper.last_status = None
    started = time.monotonic()
    response = page.goto(url, wait_until="load", timeout=shopper.wait_ms())
    if response is not None:
        shopper.last_status, shopper.last_url = response.status, response.url
    timing = navigation_timing(page, _left_ms(shopper, started))
    if timing is not None:
        shopper.timed_part(timing["loaded"] - timing["start"], time.monotonic())
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
        # The URL changed without a new document (a hash or history change): nothing was asked of a server.
        page.wait_for_load_state("load", timeout=shopper.wait_ms())
        return
    receiver = shopper.journey_map.touchpoint_for_url(urlsplit(shopper.request_url).path or "/")
    redirected = _without_query(shopper.request_url) != _without_query(shopper.last_url)
    if receiver is not None:
        shopper.at(receiver)
    elif shopper.request_method == "GET":
        shopper.arrive(shopper.request_url)  # a link to a page the map does not know: an off-map page
    # else a form sent where the map knows no touchpoint: its reply is the form's
    replied = TimedPart(shopper.touchpoint, shopper.off_map, 0.0, committed)
    if redirected:
        shopper.arrive(shopper.last_url)
    page.wait_for_load_state("load", timeout=shopper.wait_ms())
    timing = navigation_timing(page, _left_ms(shopper, committed))
    if timing is not None:
        if (replied.touchpoint, replied.off_map) != (shopper.touchpoint, shopper.off_map):
            replied.duration_ms = timing["fetch"] - timing["start"]  # the request and its redirects
            shopper.parts.append(replied)
            shopper.timed_part(timing["loaded"] - timing["fetch"], time.monotonic())
        else:
            shopper.timed_part(timing["loaded"] - timing["start"], time.monotonic())
    fail_on_http_error(shopper)
