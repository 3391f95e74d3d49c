"""How a person finds things on a page: a field by what it is called, a button by what it says.

Hand-written because it is the product's own idea, not a browser library's: Playwright's
`get_by_label`/`get_by_role` compare accessible names, which carry what a person reads past
(`Email:`, `Summary *`, an icon font's private-use glyph in "Submit Ticket"), and a harness that
misses a field that way blames the touchpoint's owner for a gap that is really a scenario to fix.

One `page.evaluate` lists the enabled, visible controls with every name a person could know them
by (their labels — `for=`, wrapping, `aria-labelledby`, a Bootstrap floating label after the
input —, placeholder, `aria-label`, the `name`/`id` attribute, type and `autocomplete`), marks
each with a `data-shopper-locate` key, and Python picks one by rank and returns a Locator for
it. The best rank must be unique: two equally good candidates are `Ambiguous`; none on a page
that answered is `NotOnPage`, naming what was there. Both are harness errors (outcome `error`),
never the owner's failure; an error page (HTTP >= 400) fails the step as it always did, first.
"""

from __future__ import annotations

import itertools
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any, TypeVar
from urllib.parse import urlsplit

from harness.errors import Ambiguous, NotOnPage
from harness.shopper import Shopper
from steps.browsing import browse, fail_on_http_error

T = TypeVar("T")

# How often a page still rendering is looked at again; the wait itself is the touchpoint's fail_after.
POLL_S = 0.1
KEY = "data-shopper-locate"
BUTTONS = (
    "button, input[type=submit], input[type=button], input[type=reset], input[type=image], a[href],"
    " [role=button], [role=link], [role=menuitem], [role=tab]"
)
_SCAN = """([token, buttonSelector]) => {
  const shown = (el) => {
    const seen = el.checkVisibility ? el.checkVisibility({visibilityProperty: true})
                                    : el.getClientRects().length > 0;
    // A honeypot hides from people and screen readers alike: aria-hidden, or pushed off the page.
    if (!seen || el.closest('[aria-hidden="true"]')) return false;
    const box = el.getBoundingClientRect();
    return box.right + window.scrollX > 0 && box.bottom + window.scrollY > 0;
  };
  const all = (selector) => {  // open shadow roots too, as a person sees no boundary
    const found = [];
    const visit = (root) => {
      found.push(...root.querySelectorAll(selector));
      root.querySelectorAll('*').forEach((el) => el.shadowRoot && visit(el.shadowRoot));
    };
    visit(document);
    return found;
  };
  const words = (el) => (el ? (el.innerText || el.textContent || '') : '');
  const ownText = (label) => {  // a wrapping label's words, not those of the controls it holds
    const copy = label.cloneNode(true);
    copy.querySelectorAll('input, select, textarea, button').forEach((c) => c.remove());
    return copy.textContent || '';
  };
  const byIds = (el) => (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
    .map((id) => words((el.getRootNode().getElementById ? el.getRootNode() : document).getElementById(id)));
  const forms = Array.from(document.forms);
  const formOf = (el) => forms.indexOf(el.form || el.closest('form'));
  let n = 0;
  const mark = (el) => {
    const key = `${token}-${n++}`;
    el.setAttribute('data-shopper-locate', key);
    return key;
  };
  const fields = [];
  for (const el of all('input, select, textarea')) {
    const type = el.tagName === 'INPUT' ? (el.type || 'text').toLowerCase() : el.tagName.toLowerCase();
    if (['hidden', 'submit', 'button', 'reset', 'image', 'file'].includes(type)) continue;
    if (el.matches(':disabled') || el.readOnly) continue;
    // A styled checkbox hides its input (display:none, opacity:0, 1px sr-only): a person clicks its label.
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    const veiled = !shown(el) || box.width <= 1 || box.height <= 1 || style.opacity === '0'
      || style.pointerEvents === 'none' || style.clip.startsWith('rect') || style.clipPath !== 'none';
    const label = ['checkbox', 'radio'].includes(type) && veiled
      ? Array.from(el.labels || []).find(shown) : null;
    if (!shown(el) && !label) continue;
    const labels = [...Array.from(el.labels || []).map(ownText), ...byIds(el)];
    const parent = el.parentElement;
    if (parent && parent.classList.contains('form-floating')) {
      parent.querySelectorAll(':scope > label').forEach((l) => labels.push(ownText(l)));
    }
    const key = mark(el);
    if (label) label.setAttribute('data-shopper-locate', `${key}-label`);
    fields.push({key, tag: el.tagName.toLowerCase(), type, labels, by_label: !!label,
      placeholder: el.getAttribute('placeholder') || '', aria: el.getAttribute('aria-label') || '',
      name: el.getAttribute('name') || '', id: el.id || '',
      autocomplete: (el.getAttribute('autocomplete') || '').toLowerCase(),
      required: el.required || el.getAttribute('aria-required') === 'true',
      empty: el.tagName === 'SELECT' ? !el.value : false, form: formOf(el)});
  }
  const buttons = [];
  for (const el of all(buttonSelector)) {
    if (el.parentElement && el.parentElement.closest(buttonSelector)) continue;  // the outer one is clicked
    if (el.matches(':disabled') || el.getAttribute('aria-disabled') === 'true' || !shown(el)) continue;
    const input = el.tagName === 'INPUT';
    const kind = el.tagName === 'A' || el.getAttribute('role') === 'link' ? 'link' : 'button';
    const type = (input || el.tagName === 'BUTTON') ? (el.type || 'submit').toLowerCase() : '';
    buttons.push({key: mark(el), tag: el.tagName.toLowerCase(), kind,
      text: input ? (el.value || el.alt || '') : words(el), aria: el.getAttribute('aria-label') || '',
      labels: byIds(el), title: el.getAttribute('title') || '',
      href: el.tagName === 'A' ? el.href : '', plain: !(el.dataset.method || el.dataset.turboMethod),
      submits: (type === 'submit' || type === 'image') && !!el.form, form: formOf(el)});
  }
  return {fields, buttons, forms: forms.map((f) => f.getAttribute('action') || '')};
}"""

_tokens = itertools.count(1)
# Arrows, technical and geometric symbols, dingbats, private use (icon fonts), variation selectors.
_ICON = re.compile(
    r"[\u2190-\u21ff\u2300-\u23ff\u25a0-\u27bf\ue000-\uf8ff\ufe00-\ufe0f\U000f0000-\U0010ffff]"
)
_GLYPHS = ("So", "Cf", "Co", "Cs")  # other symbols (emoji), format characters, private use, surrogates
_TRAILING = re.compile(r"[\s:*]+$")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def readable(text: str) -> str:
    """What a person reads: no icon glyphs (private use, emoji, symbols), no trailing `:` or ` *`."""
    kept = "".join(ch for ch in _ICON.sub(" ", text) if unicodedata.category(ch) not in _GLYPHS)
    return _TRAILING.sub("", " ".join(kept.split()))


def normalize(text: str) -> str:
    """`readable`, in any case: what two names are compared as."""
    return readable(text).casefold()


def attribute_words(value: str) -> str:
    """`user[password_confirmation]`, `emailAddress`, `id_email` as a person would say them."""
    last = re.findall(r"\[([^\]]+)\]", value)
    value = last[-1] if last else value
    return normalize(" ".join(_CAMEL.sub(" ", value).replace("_", " ").replace("-", " ").split()))


@dataclass
class Candidate:
    """A control as the scan saw it, with every name a person could know it by."""

    key: str
    tag: str
    kind: str  # "field", "button" or "link"
    type: str = ""
    labels: list[str] = default(default_factory=list)
    placeholder: str = ""
    aria: str = ""
    name: str = ""
    id: str = ""
    autocomplete: str = ""
    required: bool = False
    empty: bool = False
    text: str = ""
    title: str = ""
    href: str = ""
    plain: bool = True  # a link a browser follows with GET (no Rails/Turbo data-method)
    submits: bool = False
    form: int = -1
    by_label: bool = False  # a styled checkbox or radio whose input is hidden: clicked by its label

    def ranked_names(self) -> list[list[str]]:
        if self.kind == "field":
            return [
                [normalize(label) for label in self.labels],
                [normalize(self.aria), normalize(self.placeholder)],
                [attribute_words(self.name), attribute_words(self.id)],
            ]
        shown = [self.text, self.aria, *self.labels, self.title]
        return [[normalize(name) for name in shown]]

    def shown_name(self) -> str:
        """The name an error shows: the first a person would use, as the page writes it."""
        if self.kind == "field":
            shown = [*self.labels, self.aria, self.placeholder, self.name, self.id]
        else:
            shown = [self.text, self.aria, *self.labels, self.title]
        return next((name for name in map(readable, shown) if name), self.type)

    def describe(self, forms: list[str]) -> str:
        what = {"field": self.type if self.tag == "input" else self.tag}.get(self.kind, self.kind)
        where = f" to {urlsplit(self.href).path or '/'}" if self.href else ""
        if self.form >= 0:
            where += f" in form {self.form + 1}" + (f" ({forms[self.form]})" if forms[self.form] else "")
        return f'{what} "{self.shown_name()}"{where}'

    def words(self) -> set[str]:
        """Every word of every name, for the customer's own details ("Your E-Mail Address" has "email")."""
        text = " ".join(n for names in self.ranked_names() for n in names).replace("e-mail", "email")
        return set(re.findall(r"[^\W_]+", text.replace("e mail", "email")))

    def purpose(self) -> set[str]:
        return set(self.autocomplete.split())


@dataclass
class Scan:
    fields: list[Candidate]
    buttons: list[Candidate]
    forms: list[str]

    def names(self, candidates: Iterable[Candidate]) -> str:
        shown = [f'"{c.shown_name()}"' for c in candidates if c.shown_name()]
        return ", ".join(dict.fromkeys(shown)) or "none"


def scan(page: Any) -> Scan:
    token = f"s{next(_tokens)}"
    found = page.evaluate(_SCAN, [token, BUTTONS])
    return Scan(
        fields=[Candidate(kind="field", **item) for item in found["fields"]],
        buttons=[Candidate(**item) for item in found["buttons"]],
        forms=list(found["forms"]),
    )


def locator(page: Any, candidate: Candidate) -> Any:
    return page.locator(f'[{KEY}="{candidate.key}"]')


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


def _label_score(want: str) -> Callable[[Candidate], int | None]:
    """Exact by label 0, placeholder or aria-label 1, name/id 2; a label going on ("Email (private)") 3."""
    wanted = normalize(want)
    goes_on = re.compile(re.escape(wanted) + r"\s*[(\[,–—-]")

    def score(candidate: Candidate) -> int | None:
        ranked = candidate.ranked_names()
        for rank, names in enumerate(ranked):
            if wanted in names:
                return rank
        return 3 if any(goes_on.match(name) for name in ranked[0] + ranked[1]) else None

    return score


NOT_TYPED = frozenset({"select", "checkbox", "radio", "range", "color"})  # chosen or ticked, not typed into


def answered(shopper: Shopper) -> str:
    return f"HTTP {shopper.last_status}" if shopper.last_status is not None else "no page opened yet"


def find_field(shopper: Shopper, page: Any, label: str, *, kinds: Iterable[str] | None = None) -> Candidate:
    """The field a person would call `label` (label, then placeholder or aria-label, then name/id).

    `kinds` limits it to some types ("checkbox", "radio", "select"); by default a field typed into.
    """
    allowed = set(kinds) if kinds is not None else None

    def fits(candidate: Candidate) -> bool:
        return candidate.type in allowed if allowed is not None else candidate.type not in NOT_TYPED

    def choose(found: Scan) -> Candidate:
        fitting = [c for c in found.fields if fits(c)]
        matches = best(fitting, _label_score(label))
        if not matches:
            raise NotOnPage(
                f'no field called "{label}" on {where(page)} ({answered(shopper)});'
                f" the fields there: {found.names(fitting)}"
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


def target(shopper: Shopper, page: Any, text: str, *, prefer: str = "button") -> Candidate:
    """The button or link whose visible text (or value, or aria-label) is `text`: exact, then starting so."""

    def choose(found: Scan) -> Candidate:
        matches = same_place(best(found.buttons, _button_score(text, prefer)))
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
        shopper.measured_ms = (time.monotonic() - started) * 1000.0


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
