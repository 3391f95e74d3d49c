"""The customer's secrets, kept out of every record: found in text and bytes in any encoding, marked on
a page so a screenshot can mask them, and cut out of a trace.

A secret reaches a page, a URL or a trace as typed, percent-encoded, base64 or hex: each form is
looked for (`secret_forms`), shorter forms than 8 characters are not (they would hide ordinary words).
"""

from __future__ import annotations

import base64
import functools
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

SECRET_MARK = "data-shopper-secret"
MASK_COLOR = "#FF00FF"
# Marks every element whose own text, or whose field's value, holds a secret in any of its forms.
_MARK_SECRETS = f"""(root, forms) => {{
  const holds = (text) => !!text && forms.some((form) => text.includes(form));
  let marked = false;
  const mark = (element) => {{ element.setAttribute("{SECRET_MARK}", ""); marked = true; }};
  const visit = (scope) => {{
    const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {{
      if (holds(node.nodeValue) && node.parentElement) mark(node.parentElement);
    }}
    for (const field of scope.querySelectorAll("input, textarea, select")) {{
      if (holds(field.value)) mark(field);
    }}
    for (const element of scope.querySelectorAll("*")) {{
      if (element.shadowRoot) visit(element.shadowRoot);  // web components: their text is on screen too
    }}
  }};
  visit(document.documentElement);
  return marked;
}}"""


def _secret_value(value: str) -> bool:
    """A value worth hiding: not a switch or a small number (TOKENIZERS_PARALLELISM=false hides nothing)."""
    plain = value.strip().lower()
    switch = plain in ("true", "false", "none", "null", "yes", "no")
    return len(plain) >= 4 and not switch and not (plain.isdigit() and len(plain) < 8)


def _looks_secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in ("PASSWORD", "TOKEN", "SECRET", "API_KEY", "APIKEY"))


# What browsers and servers leave unencoded in a URL's path, query and fragment (WHATWG URL standard).
_URL_SAFE = ("!$%&'()*+,-./:;=@[\\]^_|~", "!$%&()*+,-./:;=?@[\\]^_`{|}~", "!#$%&'()*+,-./:;=?@[\\]^_{|}~")


def secret_forms(value: str) -> list[str]:
    """The ways a secret can show up in URLs, form bodies, JSON, HTML, base64 and hex; longest first."""
    return list(_secret_forms(value))


@functools.lru_cache(maxsize=64)
def _secret_forms(value: str) -> tuple[str, ...]:
    import html
    import json
    from urllib.parse import quote, quote_plus

    if not value:
        return ()
    forms = {
        value,
        quote(value, safe=""),  # RFC 3986
        quote(value, safe="!'()*~"),  # JavaScript's encodeURIComponent
        quote_plus(value, safe=""),
        quote_plus(value, safe="*").replace("~", "%7E"),  # a form sent by a browser (GET or POST)
        *(quote(value, safe=safe) for safe in _URL_SAFE),  # a raw secret put into a URL
    }
    for form in list(forms):
        forms |= {json.dumps(form)[1:-1], json.dumps(form, ensure_ascii=False)[1:-1]}
        forms |= {html.escape(form), html.escape(form, quote=False)}
    binary = _binary_forms(value.encode("utf-8"))
    # Base64 and hex travel in URLs too ("?t=c2VjcmV0%3D"): their percent-encoded spelling as well.
    forms |= binary | {quote(form, safe="") for form in binary}
    return tuple(sorted(forms, key=lambda form: (-len(form), form)))


# Shorter runs of base64 than this are too common to be a secret's trace (and to redact).
_MIN_CORE = 8


def _binary_forms(raw: bytes) -> set[str]:
    """A secret as base64 (standard and URL-safe, padded or not) and as hex (either case).

    Inside a longer base64 blob (a Basic auth header, a cookie, a data: URL) the secret's bytes can
    start at any of three alignments; the characters at the edges then depend on its neighbours, so
    each alignment's core (the characters that only the secret decides) is a form of its own.
    """
    forms = {raw.hex(), raw.hex().upper()}
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        core = encoded[4 if offset else 0 : -4]
        for text in ({encoded, encoded.rstrip("=")} if offset == 0 else set()) | {core}:
            forms |= {text, text.translate(_URLSAFE)}
    return {form for form in forms if len(form) >= _MIN_CORE}


_URLSAFE = str.maketrans("+/", "-_")


def redact(text: str, secret_values: list[str]) -> str:
    for value in secret_values:
        # A secret typed into a GET form reaches URLs (and so error texts) percent-encoded.
        for form in secret_forms(value):
            text = text.replace(form, "•••")
    return text


def redact_bytes(data: bytes, secret_values: list[str]) -> bytes:
    for value in secret_values:
        for form in secret_forms(value):
            data = data.replace(form.encode("utf-8"), "•••".encode())
    return data


def redact_zip(source: Path, target: Path, secret_values: list[str]) -> None:
    """Copy a zip (a Playwright trace) entry by entry, every secret removed from every entry's bytes."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            copy.writestr(info, redact_bytes(original.read(info), secret_values))


def without_credentials(url: str) -> str:
    """https://user:pass@host/ -> https://host/: the run's target is shown in reports."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def page_location(url: str) -> str:
    """The page's URL as a record shows it: no credentials, no query (a GET form puts typed values there)."""
    return urlsplit(without_credentials(url))._replace(query="", fragment="").geturl()
