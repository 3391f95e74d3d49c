"""How a person finds things on a page: a field by what it is called, a button by what it says.

Hand-written because it is the product's own idea, not a browser library's: Playwright's
`get_by_label`/`get_by_role` compare accessible names, which carry what a person reads past
(`Email:`, `Summary *`, an icon font's private-use glyph in "Submit Ticket"), and a harness that
misses a field that way blames the touchpoint's owner for a gap that is really a scenario to fix.

`harness.steps.page_scan` lists what is on the page with every name a person could know it by; this
module picks the one a step means by rank and returns a Locator for it. The best rank must be
unique: two equally good candidates are `Ambiguous`; none on a page that answered is
`NotOnPage`, naming what was there. Both are harness errors (outcome `error`),
never the owner's failure; an error page (HTTP >= 400) fails the step as it always did, first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from harness.errors import Ambiguous, NotOnPage
from harness.record.context import Shopper
from harness.steps.browsing import browse, fail_on_http_error
from harness.steps.page_scan import KEY, Candidate, Scan, locator, normalize, scan

T = TypeVar("T")

# How often a page still rendering is looked at again; the wait itself is the touchpoint's fail_after.
POLL_S = 0.1


def where(page: Any) -> str:
    """The page as an error names it: its path, never its query (a GET form puts typed values there)."""
    return urlsplit(str(page.url)).path or str(page.url)


def resolve(shopper: Shopper, page: Any, choose: Callable[[Scan], T]) -> T:
    """`choose` on the page as it is, again until the touchpoint's fail_after while it says NotOnPage.

    Fields rendered by client-side code appear late; an error page (HTTP >= 400) fails at once.
    """
    browse(shopper, page)
    fail_on_http_error(shopper)
    deadline = time.monotonic() + shopper.wait_ms() / 1000.0
    while True:
        try:
            return choose(scan(page))
        except NotOnPage:
            fail_on_http_error(shopper)
            if time.monotonic() >= deadline:
                raise
        except Exception as exc:  # the page navigated away mid-scan: look at the new one
            if "context was destroyed" not in str(exc) and "navigat" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise
        page.wait_for_timeout(POLL_S * 1000)  # not time.sleep: the page's events keep arriving meanwhile


def best(candidates: list[Candidate], score: Callable[[Candidate], int | None]) -> list[Candidate]:
    """The candidates of the best (lowest) score; those that score None do not match."""
    scored = [(s, c) for c in candidates if (s := score(c)) is not None]
    if not scored:
        return []
    top = min(s for s, _ in scored)
    return [c for s, c in scored if s == top]


def only(page: Any, scan_: Scan, matches: list[Candidate], what: str) -> Candidate:
    """The one best match; two or more are Ambiguous, each named (`what`: "fields", "buttons or links")."""
    if len(matches) > 1:
        names = " and ".join(c.describe(scan_.forms) for c in matches[:3])
        raise Ambiguous(f"{len(matches)} {what} on {where(page)} match equally well: {names}")
    return matches[0]


# What a field's type or `autocomplete` says it is for, in the words a step calls it by.
PURPOSES = {"email": {"email"}, "password": {"password"}, "tel": {"phone", "telephone", "mobile", "tel"}}
AUTOCOMPLETE_WORDS = frozenset({"email", "password", "name", "username", "tel"})


def purpose_words(candidate: Candidate) -> set[str]:
    words = set(PURPOSES.get(candidate.type, ()))
    for token in candidate.purpose():  # "new-password", "given-name", "tel-national"
        words |= AUTOCOMPLETE_WORDS & set(token.split("-"))
    return words | (PURPOSES["tel"] if "tel" in words else set())


def _label_score(want: str) -> Callable[[Candidate], int | None]:
    """Exact by label 0, placeholder or aria-label 1, name/id 2; a label going on ("Email (private)") 3;
    else what its type or autocomplete says it is for ("Password": a password box) 4."""
    wanted = normalize(want)
    goes_on = re.compile(re.escape(wanted) + r"\s*[(\[,–—-]")
    want_words = set(re.findall(r"[^\W_]+", wanted.replace("e-mail", "email")))

    def score(candidate: Candidate) -> int | None:
        ranked = candidate.ranked_names()
        for rank, names in enumerate(ranked):
            if wanted in names:
                return rank
        if any(goes_on.match(name) for name in ranked[0] + ranked[1]):
            return 3
        return 4 if want_words & purpose_words(candidate) else None

    return score


NOT_TYPED = frozenset({"select", "checkbox", "radio", "range", "color"})  # chosen or ticked, not typed into


def answered(shopper: Shopper) -> str:
    return f"HTTP {shopper.last_status}" if shopper.last_status is not None else "no page opened yet"


def fitting(found: Scan, kinds: Iterable[str] | None = None) -> list[Candidate]:
    """The fields of `kinds` ("checkbox", "radio", "select"); by default those typed into."""
    allowed = set(kinds) if kinds is not None else None
    return [
        c for c in found.fields if (c.type in allowed if allowed is not None else c.type not in NOT_TYPED)
    ]


def fields_called(found: Scan, label: str, *, kinds: Iterable[str] | None = None) -> list[Candidate]:
    """The fields a step naming `label` takes, all of the best rank (one is found, more are Ambiguous).

    `shopper init` asks it too, so the names it writes are the ones the steps find.
    """
    return best(fitting(found, kinds), _label_score(label))


def find_field(shopper: Shopper, page: Any, label: str, *, kinds: Iterable[str] | None = None) -> Candidate:
    """The field a person would call `label` (label, then placeholder or aria-label, then name/id).

    `kinds` limits it to some types ("checkbox", "radio", "select"); by default a field typed into.
    """

    def choose(found: Scan) -> Candidate:
        matches = fields_called(found, label, kinds=kinds)
        if not matches:
            raise NotOnPage(
                f'no field called "{label}" on {where(page)} ({answered(shopper)});'
                f" the fields there: {found.names(fitting(found, kinds))}"
            )
        return only(page, found, matches, "fields")

    return resolve(shopper, page, choose)


def field(shopper: Shopper, page: Any, label: str, *, kinds: Iterable[str] | None = None) -> Any:
    """A Locator for `find_field`: `locate.field(shopper, page, "Email").fill(...)`."""
    return locator(page, find_field(shopper, page, label, kinds=kinds))


def _button_score(want: str, prefer: str) -> Callable[[Candidate], int | None]:
    wanted = normalize(want)
    starts = re.compile(re.escape(wanted) + r"(?![^\W_])")

    def score(candidate: Candidate) -> int | None:
        names = [n for n in candidate.ranked_names()[0] if n]
        second = 0 if candidate.kind == prefer else 1  # a link styled as a button still counts
        if wanted in names:
            return second
        if any(starts.match(n) for n in names):
            return 2 + second
        return None

    return score


def same_place(matches: list[Candidate]) -> list[Candidate]:
    """Links that go to the same address are one way there (a header and a footer link), not two."""
    links = all(c.kind == "link" and c.href and c.plain for c in matches)
    if matches and links and len({c.href for c in matches}) == 1:
        return matches[:1]
    return matches


def buttons_saying(found: Scan, text: str, *, prefer: str = "button") -> list[Candidate]:
    """The buttons or links a step saying `text` takes, all of the best rank (a link twice is one)."""
    return same_place(best(found.buttons, _button_score(text, prefer)))


def target(shopper: Shopper, page: Any, text: str, *, prefer: str = "button") -> Candidate:
    """The button or link whose visible text (or value, or aria-label) is `text`: exact, then starting so."""

    def choose(found: Scan) -> Candidate:
        matches = buttons_saying(found, text, prefer=prefer)
        if not matches:
            raise NotOnPage(
                f'no button or link saying "{text}" on {where(page)} ({answered(shopper)});'
                f" the buttons and links there: {found.names(found.buttons)}"
            )
        return only(page, found, matches, "buttons or links")

    return resolve(shopper, page, choose)


def button(shopper: Shopper, page: Any, text: str, *, prefer: str = "button") -> Any:
    """A Locator for `target`: `locate.button(shopper, page, "Send").click(timeout=shopper.wait_ms())`."""
    return locator(page, target(shopper, page, text, prefer=prefer))


@contextmanager
def answering(shopper: Shopper) -> Iterator[None]:
    """Time the touchpoint's answer from the customer's action: finding the button was the harness's time."""
    started = time.monotonic()
    try:
        yield
    finally:
        shopper.answered_in((time.monotonic() - started) * 1000.0)


def tick(page: Any, candidate: Candidate, wait: int) -> None:
    """Check a checkbox or radio as a person does: on the box, or on its label when the box is styled away."""
    control = locator(page, candidate)
    if not candidate.by_label:
        control.check(timeout=wait)
        return
    if not control.is_checked():
        page.locator(f'[{KEY}="{candidate.key}-label"]').click(timeout=wait)
    if not control.is_checked():
        raise NotOnPage(f'clicking "{candidate.shown_name()}" did not tick its box on {where(page)}')
