"""Acme's HTML: small, self-contained pages with nothing fetched from anywhere else.

Pages never load fonts or scripts, and their only images are Acme's own (the home page's hero, the
largest contentful paint; the pricing page's badge, a small layout shift), so that a run measures
Acme alone and never leaves loopback. Every value that came from a request passes through `esc`
before it reaches a page.
"""

from __future__ import annotations

import random
import re
import struct
import zlib
from dataclasses import dataclass
from functools import cache
from html import escape

PLANS = (
    ("Starter", "$8", "For small teams getting organised."),
    ("Team", "$16", "Shared boards, guests and integrations."),
    ("Enterprise", "$32", "SSO, audit log and a named account manager."),
)
COMPANY_SIZES = ("1-10", "11-50", "51-500", "500+")


def plans_json() -> str:
    """Acme's public API: the plans and their prices, as the pricing page shows them."""
    import json

    return json.dumps({"plans": [{"name": name, "price": price} for name, price, _ in PLANS]})

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
nav{display:flex;gap:1.2rem;align-items:center;padding:.8rem 2rem;background:#1d2330}
nav a{color:#fff;text-decoration:none}nav a.cta{margin-left:auto;background:#2563eb;padding:.4rem .8rem;
border-radius:4px}main{max-width:44rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin-top:.8rem;font-weight:600}input,select,textarea{width:100%;padding:.4rem;
box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1rem;background:#2563eb;color:#fff;border:0;
border-radius:4px}.error{color:#a4161a;font-weight:600}.plans{display:flex;gap:1rem}
.plan{flex:1;border:1px solid #d0d5dd;border-radius:6px;padding:1rem;background:#fff}
footer{text-align:center;color:#667;font-size:.8rem;margin:3rem 0}input[type=checkbox]{width:auto}
"""


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def layout(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} — Acme</title>"
        # An empty data: icon stops the browser asking for /favicon.ico, which would be noise.
        f'<link rel="icon" href="data:,"><style>{_STYLE}</style></head><body>'
        '<header><nav><a href="/">Home</a><a href="/pricing">Pricing</a><a href="/help">Help centre</a>'
        '<a href="/login">Log in</a><a class=cta href="/signup">Start free trial</a></nav></header>'
        f"<main>{body}</main><footer>Acme Inc. — a demo company for the mystery shopper</footer>"
        "</body></html>\n"
    )


@dataclass(frozen=True)
class Field:
    """One labelled form control; `value` is what the visitor typed, echoed back after an error."""

    id: str
    label: str
    kind: str = "text"
    value: str = ""
    required: bool = True

    def html(self) -> str:
        label = f'<label for="{self.id}">{esc(self.label)}</label>'
        required = " required" if self.required else ""
        if self.kind == "textarea":
            text = esc(self.value)
            return f'{label}<textarea id="{self.id}" name="{self.id}" rows=6{required}>{text}</textarea>'
        if self.kind == "size":
            options = "".join(
                f"<option{' selected' if size == self.value else ''}>{esc(size)}</option>"
                for size in COMPANY_SIZES
            )
            return f'{label}<select id="{self.id}" name="{self.id}">{options}</select>'
        # A password is never echoed back, even after an error.
        value = "" if self.kind == "password" else self.value
        return (
            f'{label}<input id="{self.id}" name="{self.id}" type={self.kind} value="{esc(value)}"{required}>'
        )


_LABELS = re.compile(r'<label for="[^"]*">[^<]*</label>')


def unlabel(page: str) -> str:
    """The page with the label of its last form field dropped (the fault profile's `unlabelled_fields`).

    The field keeps its name and id, so a script still finds it; a screen reader announces it as
    "edit text" and nothing more: axe-core's `label` rule.
    """
    found = list(_LABELS.finditer(page))
    if not found:
        return page
    last = found[-1]
    return page[: last.start()] + page[last.end() :]


def form(action: str, fields: list[Field], button: str, *, error: str = "", method: str = "post") -> str:
    alert = f"<p class=error role=alert>{esc(error)}</p>" if error else ""
    controls = "".join(f.html() for f in fields)
    submit = f"<button type=submit>{esc(button)}</button>"
    return f'{alert}<form method={method} action="{action}">{controls}{submit}</form>'


def message(title: str, text: str, *, extra: str = "") -> str:
    return layout(title, f"<h1>{esc(title)}</h1><p>{esc(text)}</p>{extra}")


HERO_SIZE = (480, 240)
HERO_PATH, BADGE_PATH = "/hero.png", "/badge.svg"
# No width or height: the plan's words move down when it arrives (a small, harmless layout shift).
BADGE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="20"><rect width="96" height="20" rx="10"'
    ' fill="#3b7cff"/><text x="48" y="14" fill="#fff" font-size="11" text-anchor="middle">Popular</text>'
    "</svg>"
)


@cache
def hero_png(width: int = HERO_SIZE[0], height: int = HERO_SIZE[1]) -> bytes:
    """A grey PNG of noise, made here: Chrome does not count a low-entropy (flat) image as the LCP."""
    noise = random.Random(15)
    rows = b"".join(b"\x00" + noise.randbytes(width) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def home() -> str:
    width, height = HERO_SIZE
    return layout(
        "Home",
        "<h1>Acme — projects without the chaos</h1>"
        f'<img src="{HERO_PATH}" width={width} height={height} alt="A team board in Acme">'
        "<p>Plan, track and ship your team's work in one calm place.</p>"
        '<p><a href="/pricing">See pricing</a> · <a href="/signup">Start free trial</a></p>',
    )


def pricing() -> str:
    plans = "".join(
        f"<section class=plan><h2>{name}</h2>"
        + (f'<img src="{BADGE_PATH}" alt="Popular">' if name == "Team" else "")
        + f"<p class=price><strong>{price}</strong> per user / month</p>"
        f"<p>{blurb}</p></section>"
        for name, price, blurb in PLANS
    )
    return layout(
        "Pricing",
        f"<h1>Pricing</h1><div class=plans>{plans}</div>"
        '<p>Not sure which plan fits? <a href="/demo">Book a demo</a></p>',
    )


def demo_form(values: dict[str, str], error: str = "") -> str:
    fields = [
        Field("name", "Name", value=values.get("name", "")),
        Field("email", "Work email", "email", values.get("email", "")),
        Field("company", "Company", value=values.get("company", "")),
        Field("size", "Company size", "size", values.get("size", "")),
    ]
    return layout("Book a demo", "<h1>Book a demo</h1>" + form("/demo", fields, "Book a demo", error=error))


def signup_form(values: dict[str, str], error: str = "", *, offer_login: bool = False) -> str:
    fields = [
        Field("name", "Full name", value=values.get("name", "")),
        Field("email", "Email", "email", values.get("email", "")),
        Field("password", "Password", "password"),
        Field("company", "Company (optional)", value=values.get("company", ""), required=False),
    ]
    # Only after a duplicate signup: the nav already has "Log in" and a second one is ambiguous.
    login = '<p>Already have an account? <a href="/login">Log in instead</a></p>' if offer_login else ""
    body = "<h1>Start your free trial</h1>" + form("/signup", fields, "Start free trial", error=error)
    return layout("Start free trial", body + login)


def login_form(values: dict[str, str], error: str = "") -> str:
    fields = [
        Field("email", "Email", "email", values.get("email", "")),
        Field("password", "Password", "password"),
    ]
    return layout("Log in", "<h1>Log in</h1>" + form("/login", fields, "Log in", error=error))


def onboarding(name: str) -> str:
    steps = ("Create your first project", "Invite a teammate", "Connect your calendar")
    items = "".join(f"<li><label><input type=checkbox> {step}</label></li>" for step in steps)
    return layout(
        "Welcome",
        f"<h1>Welcome to Acme, {esc(name)}</h1><p>Three steps to get your team going:</p>"
        f'<ul class=checklist aria-label="Onboarding checklist">{items}</ul>',
    )


def help_centre() -> str:
    search = form("/help/search", [Field("q", "Search the help centre", "search")], "Search", method="get")
    return layout(
        "Help centre",
        f'<h1>Help centre</h1>{search}<p>Can\'t find an answer? <a href="/support">Contact support</a></p>',
    )


def search_results(query: str, titles: list[str]) -> str:
    if titles:
        noun = "result" if len(titles) == 1 else "results"
        items = "".join(f"<li>{esc(title)}</li>" for title in titles)
        found = f"<p>{len(titles)} {noun} for “{esc(query)}”</p><ul class=results>{items}</ul>"
    else:
        found = f"<p>No articles match “{esc(query)}”.</p>"
    return layout(
        "Search results",
        f"<h1>Search results</h1>{found}" + '<p><a href="/help">Back to the help centre</a></p>',
    )


def support_form(values: dict[str, str], error: str = "") -> str:
    fields = [
        Field("email", "Email", "email", values.get("email", "")),
        Field("subject", "Subject", value=values.get("subject", "")),
        Field("message", "Message", "textarea", values.get("message", "")),
    ]
    return layout(
        "Contact support", "<h1>Contact support</h1>" + form("/support", fields, "Send", error=error)
    )


def fault(code: int) -> str:
    return message("Something went wrong", f"Something went wrong (HTTP {code})")
