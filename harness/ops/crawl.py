"""What `shopper init` finds on a site: its pages, what each shows, the links and forms a customer uses.

A bounded crawl in the harness's own Chromium (script-rendered forms are there, as a run sees them):
same origin only, at most `max_pages` pages, every load bounded by `timeout_ms`. Nothing is
submitted, and links that end a session or change something (log out, delete, unsubscribe, a
Rails/Turbo `data-method` link) are not followed. What a step will call each field, button and
link is chosen with the steps' own locator (`harness.steps.locate`): a name is kept only when it
finds that control and no other, so what init writes is what the steps find.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from harness.errors import BrowserError, InitError
from harness.map.journey_map import format_duration
from harness.record.browser import launch_options
from harness.steps import details, locate
from harness.steps.page_scan import Candidate, Scan, attribute_words, locator, readable, scan

# Links a customer follows to leave or to change something: a crawl that follows them logs out or deletes.
ENDS_SOMETHING = re.compile(
    r"(?i)log[-_ ]?out|sign[-_ ]?out|log[-_ ]?off|unsubscribe|delete|remove|destroy|cancel"
)
NOT_A_PAGE = re.compile(r"(?i)\.(pdf|zip|gz|png|jpe?g|gif|svg|webp|ico|css|js|json|xml|txt|csv|mp4|mp3)$")


@dataclass
class FieldFound:
    """A form field as a step names it, and what it asks for (its `role`)."""

    name: str  # what `I fill in "…"` calls it: the locator finds this field by it, and no other
    type: str
    role: str  # email, password, name, given, family, username, subject, message, tick, choice, text
    required: bool
    option: str = ""  # a drop-down's first real option, as it reads
    in_plan: bool = False  # "I sign up with my details" fills it by itself


@dataclass
class FormFound:
    purpose: str  # "signup", "login", "message" or "other"
    fields: list[FieldFound]
    submit: str | None  # what `I press "…"` calls its own button; None when no name finds it alone


@dataclass
class PageFound:
    path: str
    title: str
    heading: str  # a text the page shows that `I should see "…"` finds visible ("" if none)
    via: str  # the words of the link that led here (for guessing its stage)
    links: dict[str, str] = field(default_factory=dict)  # path → what `I click "…"` calls a link there
    forms: list[FormFound] = field(default_factory=list)


@dataclass
class Site:
    origin: str
    pages: list[PageFound]
    left: list[str] = field(default_factory=list)  # same-origin paths the page limit left unvisited


def origin_of(url: str) -> tuple[str, str]:
    """The site's origin and the path to start from; not a web address is one sentence."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InitError(f'"{url}" is not a web address: give one that starts with http:// or https://')
    return f"{parts.scheme}://{parts.netloc}", parts.path or "/"


def crawl(url: str, *, max_pages: int, timeout_ms: int, render_wait_ms: int) -> Site:
    """Visit the site breadth first from `url`, same origin only, at most `max_pages` pages.

    After its load event a page gets up to `render_wait_ms` (never past `timeout_ms`) of network
    quiet, so that the forms its scripts render are on it when it is scanned.
    """
    origin, start = origin_of(url)
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        options = launch_options({"headless": True}, playwright.chromium.executable_path)
        try:
            browser = playwright.chromium.launch(**options)  # type: ignore[arg-type]
        except PlaywrightError as exc:
            raise BrowserError(f"Chromium could not start ({str(exc).splitlines()[0]})") from None
        try:
            page = browser.new_page()
            page.set_default_timeout(timeout_ms)
            limits = _Limits(max_pages, timeout_ms, min(render_wait_ms, timeout_ms))
            return _walk(page, origin, start, limits)
        finally:
            browser.close()


@dataclass(frozen=True)
class _Limits:
    max_pages: int
    timeout_ms: int
    render_wait_ms: int


def _walk(page: Any, origin: str, start: str, limits: _Limits) -> Site:
    site = Site(origin=origin, pages=[])
    queue: deque[tuple[str, str]] = deque([(start, "")])
    queued = {start}
    while queue:
        path, via = queue.popleft()
        if len(site.pages) >= limits.max_pages:
            site.left.append(path)
            continue
        opened = _open(page, origin + path, limits, first=not site.pages)
        if opened is None or any(p.path == opened for p in site.pages):
            continue  # an error page, a redirect off the site or to a page already seen
        read = _read_settled(page, opened, via, limits.timeout_ms, first=not site.pages)
        if read is None:
            continue
        found, hrefs = read
        site.pages.append(found)
        for href, words in hrefs:
            if href not in queued:
                queued.add(href)
                queue.append((href, words))
    return site


def _read_settled(
    page: Any, path: str, via: str, timeout_ms: int, *, first: bool
) -> tuple[PageFound, list[tuple[str, str]]] | None:
    """`_read`, once more if the page went on to another while it was read (a script's redirect)."""
    from playwright.sync_api import Error as PlaywrightError

    for attempt in (1, 2):
        try:
            return _read(page, urlsplit(page.url).path or path, via)
        except PlaywrightError as exc:
            if attempt == 2 and first:
                reason = str(exc).splitlines()[0]
                raise InitError(f"{page.url} kept changing while it was read ({reason})") from None
            with contextlib.suppress(PlaywrightError):
                page.wait_for_load_state("load", timeout=timeout_ms)
    return None


def _open(page: Any, url: str, limits: _Limits, *, first: bool) -> str | None:
    """The path the page landed on, or None for one not worth a touchpoint; the first must answer."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        response = page.goto(url, wait_until="load", timeout=limits.timeout_ms)
    except PlaywrightTimeoutError:
        if first:
            took = format_duration(limits.timeout_ms)
            raise InitError(f"{url} did not load within {took} (--timeout)") from None
        return None
    except PlaywrightError as exc:
        if first:
            reason = str(exc).splitlines()[0].removeprefix("Page.goto: ")
            raise InitError(f"{url} cannot be reached ({reason})") from None
        return None
    with contextlib.suppress(PlaywrightTimeoutError):  # a page that keeps polling is scanned as it is then
        page.wait_for_load_state("networkidle", timeout=limits.render_wait_ms)
    status = response.status if response is not None else 200
    elsewhere = _origin(page.url) != _origin(url)
    if first and status >= 400:
        raise InitError(f"{url} answered HTTP {status}, so there is no page to start from")
    if first and elsewhere:
        raise InitError(
            f"{url} sends the customer to another site ({_origin(page.url)}), so there is nothing here"
        )
    if status >= 400 or elsewhere:
        return None
    return urlsplit(page.url).path or "/"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _read(page: Any, path: str, via: str) -> tuple[PageFound, list[tuple[str, str]]]:
    """The page as a customer sees it, and the same-origin pages it links to (with the links' words)."""
    found = scan(page)
    origin = _origin(page.url)
    title = str(page.title() or "")
    result = PageFound(path=path, title=readable(title), heading=_heading(page), via=via)
    for link in found.buttons:
        target = _same_site(link.href, origin)
        if target and link.kind == "link" and link.plain and target != path and target not in result.links:
            name = _button_name(found, link, prefer="link")
            if name:
                result.links[target] = name
    groups: dict[int, list[Candidate]] = {}
    for candidate in found.fields:
        if candidate.form >= 0:
            groups.setdefault(candidate.form, []).append(candidate)
    result.forms = [_form(page, found, index, fields) for index, fields in groups.items()]
    words = {link.href: readable(link.text) for link in found.buttons if link.kind == "link"}
    hrefs: list[tuple[str, str]] = []
    all_links = page.locator(":root").evaluate(
        "() => [...document.querySelectorAll('a[href]')].filter((a) => !a.dataset.method"
        " && !a.dataset.turboMethod).map((a) => a.href)"
    )
    for href in all_links:
        target = _same_site(str(href), origin)
        if target and target != path and not ENDS_SOMETHING.search(target + " " + words.get(href, "")):
            hrefs.append((target, words.get(href, "")))
    return result, hrefs


def _same_site(href: str, origin: str) -> str | None:
    """The path of a link within the site, or None for another site, a file, mail or a script."""
    url, _ = urldefrag(urljoin(origin + "/", href))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or _origin(url) != origin or NOT_A_PAGE.search(parts.path):
        return None
    return parts.path or "/"


def _heading(page: Any) -> str:
    """The first heading that `I should see` finds visible, in at most eight words; "" if none is."""
    texts = page.locator(":root").evaluate(
        "() => [...document.querySelectorAll('h1, h2')].map((h) => h.innerText || '')"
    )
    for text in texts:
        words = readable(str(text)).split()[:8]
        said = " ".join(words)
        if said and '"' not in said and page.get_by_text(said).first.is_visible():
            return said
    return ""


def _field_name(found: Scan, candidate: Candidate, kinds: set[str] | None) -> str:
    """The first name a person would use that the locator resolves to this field alone; "" if none does."""
    names = [*map(readable, candidate.labels), readable(candidate.aria), readable(candidate.placeholder)]
    names += [attribute_words(candidate.name), attribute_words(candidate.id)]
    for name in names:
        if name and '"' not in name:
            matches = locate.fields_called(found, name, kinds=kinds)
            if [m.key for m in matches] == [candidate.key]:
                return name
    return ""


def _button_name(found: Scan, candidate: Candidate, *, prefer: str) -> str:
    """The first thing it says that the locator resolves to it alone (a link: to its address alone)."""
    names = [readable(candidate.text), readable(candidate.aria), *map(readable, candidate.labels)]
    for name in [*names, readable(candidate.title)]:
        if not name or '"' in name:
            continue
        matches = locate.buttons_saying(found, name, prefer=prefer)
        if len(matches) != 1:
            continue
        if matches[0].key == candidate.key or (prefer == "link" and matches[0].href == candidate.href):
            return name
    return ""


def _purpose(fields: list[Candidate]) -> str:
    if any(details.email_score(c) is not None for c in fields) and details.signup_fit(fields) == 3:
        return "signup"
    if any(details.login_score(c) is not None for c in fields) and details.login_fit(fields) >= 3:
        return "login"
    if any(c.type == "textarea" for c in fields):
        return "message"
    return "other"


def _form(page: Any, found: Scan, index: int, fields: list[Candidate]) -> FormFound:
    purpose = _purpose(fields)
    submits = [b for b in found.buttons if b.submits and b.form == index]
    submit = _button_name(found, submits[0], prefer="button") if submits else ""
    kept: list[FieldFound] = []
    radios: set[str] = set()
    for candidate in fields:
        role = _role(candidate)
        if role in ("tick", "choice") and not candidate.required:
            continue  # a newsletter box or an optional choice is the customer's, not the form's demand
        if candidate.type == "radio":
            if candidate.name in radios:
                continue  # one choice per group
            radios.add(candidate.name)
        kinds = {"checkbox", "radio"} if role == "tick" else {"select"} if role == "choice" else None
        name = _field_name(found, candidate, kinds)
        if not name:
            continue
        option = _first_option(page, candidate) if role == "choice" else ""
        kept.append(FieldFound(name, candidate.type, role, candidate.required, option, _in_plan(candidate)))
    return FormFound(purpose=purpose, fields=kept, submit=submit or None)


def _role(c: Candidate) -> str:
    if c.type in ("checkbox", "radio"):
        return "tick"
    if c.type == "select":
        return "choice"
    if c.type == "password":
        return "password"
    if details.email_score(c) is not None:
        return "email"
    if c.type == "textarea":
        return "message"
    if details.is_username(c):
        return "username"
    part = details.name_part(c)
    if part is not None:
        return {"full": "name"}.get(part, part)
    if c.type in details.TEXT_TYPES and c.words() & details.SUBJECT_WORDS:
        return "subject"
    return "text"


def _in_plan(c: Candidate) -> bool:
    """What "I sign up with my details" fills by itself: name, email, username, passwords, required boxes."""
    plan_roles = ("email", "password", "name", "given", "family", "username")
    return (
        _role(c) in plan_roles
        or (c.type == "checkbox" and c.required)
        or (c.type == "select" and c.required and c.empty and bool(c.choice))
    )


def _first_option(page: Any, candidate: Candidate) -> str:
    said = locator(page, candidate).evaluate(
        "(el) => ([...el.options].find((o) => o.value && !o.disabled) || {}).label || ''"
    )
    return readable(str(said))
