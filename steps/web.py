"""Web page steps: open a page of the map, follow links, see what the customer sees."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from harness.catalogue import BY_URL, touchpoint_step
from harness.shopper import Shopper, StepFailure
from steps.browsing import after_action, browse, fail_on_http_error, open_url


@touchpoint_step("step", "I open the {name} page", kind="web page", binds="name", suffix="page", timed=True)
def open_page(shopper: Shopper, page: Any, name: str) -> None:
    """Open a page of the journey map by its name; its url comes from the map."""
    assert shopper.touchpoint is not None
    open_url(shopper, page, shopper.url_for(shopper.touchpoint))


@touchpoint_step("step", 'I open "{path}"', kind="web page", binds="path", binds_by=BY_URL, timed=True)
def open_path(shopper: Shopper, page: Any, path: str) -> None:
    """Open a path of the target site; a path the map does not know is recorded as an off-map touchpoint."""
    open_url(shopper, page, shopper.base_url.rstrip("/") + "/" + path.lstrip("/"))


@touchpoint_step("step", 'I click "{text}"', kind="web page", timed=True)
def click(shopper: Shopper, page: Any, text: str) -> None:
    """Click a link or button by its visible text; the wait for the next page counts for that page."""
    browse(shopper, page)
    before = shopper.navigations
    target = page.get_by_role("link", name=text, exact=True).or_(
        page.get_by_role("button", name=text, exact=True)
    )
    target.first.click(timeout=shopper.wait_ms())
    after_action(shopper, page, before)


@touchpoint_step("step", "I am on the {name} page", kind="web page", binds="name", suffix="page")
def on_page(shopper: Shopper, page: Any, name: str) -> None:
    """The customer has arrived at a page of the map: the page's URL binds to it, as any page does.

    A url with a part the site makes up (`/confirm/{key}/`) matches any value of that part.
    """
    touchpoint = shopper.touchpoint
    assert touchpoint is not None and touchpoint.url is not None
    browse(shopper, page)
    journey_map = shopper.journey_map

    def arrived(url: str) -> bool:
        return journey_map.touchpoint_for_url(urlsplit(url).path or "/") is touchpoint

    try:
        page.wait_for_url(arrived, wait_until="commit", timeout=shopper.wait_ms())
    except PlaywrightTimeoutError:
        where = urlsplit(page.url).path or "/"
        raise StepFailure(
            f"the customer is on {where}, not on the {touchpoint.name} ({touchpoint.url})"
        ) from None
    fail_on_http_error(shopper)


@touchpoint_step("then", 'I should see "{text}"', kind="web page")
def should_see(shopper: Shopper, page: Any, text: str) -> None:
    """Some text is visible on the current page."""
    browse(shopper, page)
    fail_on_http_error(shopper)
    expect(page.get_by_text(text).first).to_be_visible(timeout=shopper.wait_ms())


@touchpoint_step("then", 'I should not see "{text}"', kind="web page")
def should_not_see(shopper: Shopper, page: Any, text: str) -> None:
    """Some text is not visible on the current page."""
    browse(shopper, page)
    expect(page.get_by_text(text)).to_have_count(0, timeout=shopper.wait_ms())
