"""Web page steps: open a page of the map, follow links, see what the customer sees."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from harness.errors import HarnessError
from harness.map.catalogue import BY_URL
from harness.record.context import ContentMissing, Shopper, StepFailure
from harness.record.dry_run import AWAY, OPENED_BY_URL, DryRun, held_back
from harness.steps import locate, page_scan
from harness.steps.browsing import after_action, browse, fail_on_http_error, open_url
from harness.steps.registry import touchpoint_step


@touchpoint_step(
    "step", "I open the {name} page", kind="web page", binds="name", suffix="page", timed=True, opens=True
)
def open_page(shopper: Shopper, page: Any, name: str) -> None:
    """Open a page of the journey map by its name; its url comes from the map."""
    assert shopper.touchpoint is not None
    open_url(shopper, page, shopper.url_for(shopper.touchpoint))


@touchpoint_step(
    "step", 'I open "{path}"', kind="web page", binds="path", binds_by=BY_URL, timed=True, opens=True
)
def open_path(shopper: Shopper, page: Any, path: str) -> None:
    """Open a path of the target site; a path the map does not know is recorded as an off-map touchpoint."""
    open_url(shopper, page, shopper.base_url.rstrip("/") + "/" + path.lstrip("/"))


@touchpoint_step("step", 'I click "{text}"', kind="web page", timed=True)
def click(shopper: Shopper, page: Any, text: str) -> None:
    """Click a link or button by its visible text; the wait for the next page counts for that page."""
    found = locate.target(shopper, page, text, prefer="link")
    if shopper.dry_run is not None and found.kind == "link" and found.href.startswith("http") and found.plain:
        shopper.arrive(found.href)  # a plain link is a GET: a dry run follows it
        open_url(shopper, page, found.href)
        return
    if held_back(shopper.dry_run):
        return
    before = shopper.navigations
    with locate.answering(shopper):
        page_scan.locator(page, found).click(timeout=shopper.wait_ms())
        after_action(shopper, page, before)


@touchpoint_step("step", "I am on the {name} page", kind="web page", binds="name", suffix="page", opens=True)
def on_page(shopper: Shopper, page: Any, name: str) -> None:
    """The customer has arrived at a page of the map: the page's URL binds to it, as any page does.

    A url with a part the site makes up (`/confirm/{key}/`) matches any value of that part.
    """
    touchpoint = shopper.touchpoint
    assert touchpoint is not None and touchpoint.url is not None
    if shopper.dry_run is not None and shopper.dry_run.returning and not _come_back(shopper, page):
        return
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


def _come_back(shopper: Shopper, page: Any) -> bool:
    """A dry run held back what led here: open the page by its url; check on from it only if it is there.

    A page that needs what was held back (a session, a form's answer) sends the customer elsewhere.
    """
    wanted = shopper.touchpoint
    assert wanted is not None and shopper.dry_run is not None
    try:
        open_url(shopper, page, shopper.url_for(wanted))
        landed = shopper.journey_map.touchpoint_for_url(page.url)
    except (AssertionError, HarnessError, PlaywrightError):
        landed = None
    if landed is not None and landed.id == wanted.id:
        shopper.dry_run.by_url = True
        return True
    shopper.dry_run.away, shopper.dry_run.skipped = True, AWAY
    return False


def _approximate(dry_run: DryRun | None) -> bool:
    """A page a dry run opened by its url has the real fields, not necessarily what a run would see."""
    if dry_run is not None and dry_run.by_url:
        dry_run.skipped = OPENED_BY_URL
        return True
    return False


@touchpoint_step("then", 'I should see "{text}"', kind="web page")
def should_see(shopper: Shopper, page: Any, text: str) -> None:
    """Some text is visible on the current page."""
    if _approximate(shopper.dry_run):
        return
    browse(shopper, page)
    fail_on_http_error(shopper)  # a broken page is the page's failure, not a missing text
    try:
        expect(page.get_by_text(text).first).to_be_visible(timeout=shopper.wait_ms())
    except AssertionError as exc:
        raise ContentMissing(str(exc)) from None


@touchpoint_step("then", 'I should not see "{text}"', kind="web page")
def should_not_see(shopper: Shopper, page: Any, text: str) -> None:
    """Some text is not visible on the current page."""
    if _approximate(shopper.dry_run):
        return
    browse(shopper, page)
    try:
        expect(page.get_by_text(text)).to_have_count(0, timeout=shopper.wait_ms())
    except AssertionError as exc:
        raise ContentMissing(str(exc)) from None
