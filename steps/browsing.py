"""What every browser step shares: opening a URL, noticing where the customer landed and what it answered."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from harness.shopper import Shopper, StepFailure


def browse(shopper: Shopper, page: Any) -> Any:
    """Attach the page to the shopper once, listening for the HTTP status of every page the customer gets."""
    if shopper.page is not page:
        shopper.page = page

        def on_response(response: Any) -> None:
            if response.request.is_navigation_request() and response.frame == page.main_frame:
                shopper.last_status = response.status
                shopper.last_url = response.url
                shopper.navigations += 1

        page.on("response", on_response)
    return page


def fail_on_http_error(shopper: Shopper) -> None:
    if shopper.last_status is not None and shopper.last_status >= 400:
        # The query string is left out: a form sent with GET puts what the customer typed there.
        url = urlsplit(shopper.last_url)._replace(query="", fragment="").geturl()
        where = shopper.touchpoint.name if shopper.touchpoint else url
        said = _error_page_says(shopper.page)
        raise StepFailure(f"{where} answered HTTP {shopper.last_status} ({url}){f': {said}' if said else ''}")


def _error_page_says(page: Any) -> str:
    """What the error page told the customer (its heading, else its title): the first clue for the owner."""
    if page is None:
        return ""
    try:
        said = page.evaluate("() => (document.querySelector('h1')?.innerText || document.title || '').trim()")
    except Exception:  # a page gone with the error must not hide the error itself
        return ""
    return " ".join(str(said).split())[:200]


def open_url(shopper: Shopper, page: Any, url: str) -> None:
    browse(shopper, page)
    shopper.last_status = None
    response = page.goto(url, wait_until="load", timeout=shopper.wait_ms())
    if response is not None:
        shopper.last_status, shopper.last_url = response.status, response.url
    fail_on_http_error(shopper)


def after_action(shopper: Shopper, page: Any, before: int) -> None:
    """A click or a submit may take the customer to a new page: wait for it and bind to where they are."""
    if shopper.navigations == before and page.url == shopper.last_url:
        return
    page.wait_for_load_state("load", timeout=shopper.wait_ms())
    if shopper.navigations != before:
        shopper.arrive(page.url)
        fail_on_http_error(shopper)
