"""`shopper init`: a first journey folder drawn from what a crawl found on a site (`harness.ops.crawl`).

The stages are guessed from the pages' addresses and words (home, pricing, plans and features are
where a customer discovers; signup, register, join, confirm where they sign up; login, sign in and a
forgotten password where they log in; contact, help and support where they get help); legal pages
are left out and any other page is something to discover. A page of a signing-up, logging-in or
help stage with a form of that kind is a form touchpoint, every other page a web touchpoint.
Promises and owners are left for the user: the promises are a starting guess and say so, the
owners read TODO. The features use only the built-in steps, with the names the crawl checked the
steps find (`harness.ops.journey_features`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.errors import InitError
from harness.map.journey_map import slugify
from harness.ops.crawl import FormFound, PageFound, Site

# The starting guess of every promise (a web page loads, a form answers), until the user sets theirs.
WEB_PROMISE = ("3s", "30s")
FORM_PROMISE = ("5s", "30s")
COLLECTOR = '"""Collects every .feature file in this folder as pytest scenarios (pytest-bdd)."""\n\n'
COLLECTOR += 'from pytest_bdd import scenarios\n\nscenarios(".")\n'
MAP_FILE = "journey-map.yaml"
OWNER_TODO = "fill in the team that owns this touchpoint: the report hands it the gaps"


@dataclass(frozen=True)
class StageGuess:
    id: str
    name: str
    goal: str
    words: tuple[str, ...]
    form: str = ""  # the form purpose (crawl.FormFound.purpose) that makes its page a form touchpoint


STAGES = (
    StageGuess(
        "discover",
        "Discover",
        "Find out what is on offer and what it costs",
        ("pricing", "price", "prices", "plans", "plan", "features", "feature"),
    ),
    StageGuess(
        "sign-up",
        "Sign up",
        "Open an account",
        ("signup", "sign up", "register", "registration", "join", "create account", "confirm", "verify"),
        "signup",
    ),
    StageGuess(
        "log-in",
        "Log in",
        "Come back to my account",
        ("login", "log in", "signin", "sign in", "forgot", "reset", "password"),
        "login",
    ),
    StageGuess(
        "get-help",
        "Get help",
        "Reach someone when I am stuck",
        ("contact", "help", "support", "faq", "faqs"),
        "message",
    ),
)
LEFT_OUT = ("privacy", "terms", "cookie", "cookies", "legal", "imprint", "impressum", "gdpr")
# A path segment the site makes up (an id, a key): the touchpoint's url says `{id}` there.
MADE_UP = re.compile(r"\d+|[0-9a-f]{8,}|[0-9a-f-]{32,36}", re.IGNORECASE)


@dataclass
class DraftTouchpoint:
    id: str
    name: str
    channel: str  # "web" or "form"
    url: str  # the map's url: the path, with `{id}` for a part the site makes up
    page: PageFound
    form: FormFound | None = None


@dataclass
class DraftStage:
    guess: StageGuess
    touchpoints: list[DraftTouchpoint] = field(default_factory=list)


@dataclass
class Draft:
    site: Site
    stages: list[DraftStage]
    left_out: list[str]  # paths found but not drawn (legal pages, a second page of one url pattern)
    home: DraftTouchpoint


def _words(text: str) -> str:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return " " + " ".join(re.findall(r"[a-z0-9]+", spaced.lower())) + " "


def _by_path_or_form(page: PageFound) -> StageGuess | None:
    """The stage its address says, else the one its form is for; None if neither says."""
    in_path = _words(page.path)
    for stage in STAGES:
        if any(f" {word} " in in_path for word in stage.words):
            return stage
    purposes = {form.purpose for form in page.forms}
    return next((stage for stage in STAGES if stage.form and stage.form in purposes), None)


def _guess(page: PageFound) -> StageGuess | None:
    """The stage of a page: by its address, then its form, then the words that led there; None: left out."""
    found = _by_path_or_form(page)
    if found is not None:
        return found
    if any(f" {word} " in _words(page.path) for word in LEFT_OUT):
        return None
    said = _words(f"{page.via} {page.heading} {page.title}")
    for stage in STAGES:
        if any(f" {word} " in said for word in stage.words):
            return stage
    return STAGES[0]  # about, team, blog: something a customer discovers


def _form_for(stage: StageGuess, page: PageFound) -> FormFound | None:
    """The form that makes the page a form touchpoint of its stage: of the stage's kind, else one to send."""
    if not stage.form:
        return None
    kind = [form for form in page.forms if form.purpose == stage.form and form.fields]
    if stage.form == "signup":
        # An email and a password alone look like a login; on a signup page they are the signup.
        kind += [replace(f, purpose="signup") for f in page.forms if f.purpose == "login" and f.fields]
    sendable = [form for form in page.forms if form.purpose == "other" and form.fields and form.submit]
    found = kind or (sendable if stage.form != "login" else [])
    return found[0] if found else None


def map_url(path: str) -> str:
    parts = ["{id}" if MADE_UP.fullmatch(part) else part for part in path.split("/")]
    return "/".join(parts) or "/"


def _base_name(page: PageFound, home: bool) -> str:
    if home:
        return "Home"
    parts = [part for part in page.path.split("/") if part and not MADE_UP.fullmatch(part)]
    words = _words(parts[-1] if parts else page.title or "page").split()
    return " ".join(words).capitalize() or "Page"


def draft(site: Site) -> Draft:
    """The stages and touchpoints of a first map, from the pages the crawl found."""
    if not site.pages:
        raise InitError(f"{site.origin} has no page init could read, so there is nothing to draw")
    first = site.pages[0]
    if len(site.pages) == 1 and not (first.heading or first.links or first.forms):
        raise InitError(
            f"{site.origin}{first.path} shows nothing init can test (no heading, link or form),"
            " so there is nothing to draw"
        )
    stages = {guess.id: DraftStage(guess) for guess in STAGES}
    taken_urls: set[str] = set()
    names: set[str] = set()
    left_out: list[str] = []
    home: DraftTouchpoint | None = None
    for index, page in enumerate(site.pages):
        # The page init started from is the home page, unless its address or form says otherwise.
        start = _by_path_or_form(page) if index == 0 and page.path != "/" else None
        guess = (start or STAGES[0]) if index == 0 else _guess(page)
        url = map_url(page.path)
        key = "/".join(part for part in url.split("/") if part)
        if guess is None or key in taken_urls:
            left_out.append(page.path)
            continue
        taken_urls.add(key)
        form = _form_for(guess, page)
        channel = "form" if form is not None else "web"
        base = _base_name(page, index == 0 and start is None)
        name = _unique(f"{base} {channel if channel == 'form' else 'page'}", names)
        touchpoint = DraftTouchpoint(slugify(name), name, channel, url, page, form)
        stages[guess.id].touchpoints.append(touchpoint)
        home = home or touchpoint
    assert home is not None
    return Draft(site, [stage for stage in stages.values() if stage.touchpoints], left_out, home)


def _unique(name: str, taken: set[str]) -> str:
    found, n = name, 2
    while slugify(found) in taken:
        found, n = f"{name} {n}", n + 1
    taken.add(slugify(found))
    return found


def _q(text: str) -> str:
    """A YAML string, double-quoted (JSON's escapes are YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def map_text(plan: Draft, today: dt.date) -> str:
    origin = plan.site.origin
    lines = [
        f"# A first draft of the journey map, written by `shopper init` from what it found on {origin}.",
        "# Check it with `shopper map check`; then make it yours: the stages, the names, who owns what",
        "# and what each touchpoint promises.",
        f"journey: {_q(f'Journey on {urlsplit_host(origin)}')}",
        f"version: {today.isoformat()}   # bump when the map is refreshed; recorded with every run",
        "stages:",
    ]
    for stage in plan.stages:
        lines += [
            f"  - id: {stage.guess.id}",
            f"    name: {stage.guess.name}",
            f"    customer_goal: {_q(stage.guess.goal)}",
            "    touchpoints:",
        ]
        for tp in stage.touchpoints:
            within, fail_after = FORM_PROMISE if tp.channel == "form" else WEB_PROMISE
            lines += [
                f"      - id: {tp.id}",
                f"        name: {_q(tp.name)}",
                f"        channel: {tp.channel}",
                f"        owner: TODO   # {OWNER_TODO}",
                f"        url: {_q(tp.url)}",
                "        # A starting guess, not a promise anyone made: set what this touchpoint promises.",
                f"        expect: {{within: {within}, fail_after: {fail_after}}}",
            ]
    if plan.left_out:
        lines.append(
            "# Found but not drawn (legal pages, a second page of one url): " + ", ".join(plan.left_out)
        )
    if plan.site.left:
        shown = ", ".join(plan.site.left[:10]) + (" …" if len(plan.site.left) > 10 else "")
        lines.append(f"# Not visited (past --max-pages): {shown}")
    return "\n".join(lines) + "\n"


def urlsplit_host(origin: str) -> str:
    return origin.split("://", 1)[-1]


def readme_text(plan: Draft, folder: Path) -> str:
    origin, where = plan.site.origin, folder.as_posix()
    return (
        f"# A journey of {urlsplit_host(origin)}, drafted by `shopper init`\n\n"
        f"`shopper init` visited {len(plan.site.pages)} page(s) of {origin} and drew `{MAP_FILE}` (a stage"
        " per kind of page it found) and a feature per stage, with the fields and buttons it found there."
        " The owners read TODO and the promises are a starting guess: fill them in. Check the map and the"
        " features against each other, then walk the site:\n\n"
        "```sh\n"
        f"shopper map check {where}/{MAP_FILE} --features {where}\n"
        f"shopper run --base-url {origin} --map {where}/{MAP_FILE} --features {where}\n"
        "shopper report --out reports\n"
        "```\n\n"
        f"Plain pytest runs it too, with no conftest: `pytest {where} --journey-map {where}/{MAP_FILE}"
        f" --base-url {origin}`.\n"
    )


def check_folder(folder: Path, force: bool) -> None:
    """Refuse to write into a folder that holds anything, unless told to (before any crawl)."""
    if folder.exists() and not folder.is_dir():
        raise InitError("is a file, not a folder: name a folder for the journey", file=folder)
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise InitError(
            "is not empty: name a new folder for the journey, or pass --force to write over it", file=folder
        )


def write_journey(plan: Draft, folder: Path, features: dict[str, str], today: dt.date) -> list[Path]:
    """The folder's files; with --force over an old draft, its old features go (their stages may not)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.feature"):
        old.unlink()
    texts = {
        MAP_FILE: map_text(plan, today),
        "test_journey.py": COLLECTOR,
        "README.md": readme_text(plan, folder),
    }
    written = []
    for name, text in {**texts, **features}.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
