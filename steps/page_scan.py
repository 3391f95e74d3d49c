"""What is on the page for a person to use: every enabled, visible field, button and link, and its names.

One `page.evaluate` lists them with every name a person could know them by — their labels
(`for=`, wrapping, `aria-labelledby`, a Bootstrap floating label after the input), placeholder,
`aria-label`, the `name`/`id` attribute, type and `autocomplete`; a button's visible text, value
or `aria-label` — across open shadow roots, and marks each with a `data-shopper-locate` key so a
Locator can find the one chosen (`harness.steps.locate` chooses). Names are compared as a person reads
them: without icon glyphs, a trailing `:` or ` *`, or case.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any
from urllib.parse import urlsplit

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
  const firstChoice = (select) => ([...select.options].find((o) => o.value && !o.disabled) || {}).value || '';
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
      empty: el.tagName === 'SELECT' ? !el.value : false, form: formOf(el),
      choice: el.tagName === 'SELECT' ? firstChoice(el) : ''});
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
    empty: bool = False  # a drop-down nothing is chosen in
    choice: str = ""  # a drop-down's first real option (its value)
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
    # Through a locator, so the page's default timeout (the touchpoint's fail_after, see browse)
    # bounds it: page.evaluate would wait for a page stuck in a script for ever.
    found = page.locator(":root").evaluate(f"(root, arg) => ({_SCAN})(arg)", [token, BUTTONS])
    return Scan(
        fields=[Candidate(kind="field", **item) for item in found["fields"]],
        buttons=[Candidate(**item) for item in found["buttons"]],
        forms=list(found["forms"]),
    )


def locator(page: Any, candidate: Candidate) -> Any:
    return page.locator(f'[{KEY}="{candidate.key}"]')
