"""`shopper init`: a first journey folder from a real site, run as it is written, and its bad input.

Real parts: a small site of this test's own on loopback (five pages of stock-ish markup: a home page,
pricing, a signup form and a contact form that really take a POST, an about page; the contact form
is rendered by a script after the page loads, and a log-out link and a link to another site sit in
the header), the harness's Chromium crawling it, then `shopper map check` and `shopper run` on the
folder init wrote, with no edit, and the store read back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from journeys import QuietHandler, send_html, serve, stored_observations

from harness.cli import main
from harness.map.loading import load_map

# Most tests here start the harness's Chromium (the crawl, and the run), some in a subprocess.
pytestmark = pytest.mark.browser

SHOPPER = Path(sys.executable).with_name("shopper")
REFUSED = "name a new folder for the journey, or pass --force to write over it"

HEADER = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} · Tallyho</title>
<link rel="stylesheet" href="/static/site.css"></head><body>
<header class="navbar"><a class="brand" href="/">Tallyho</a>
<nav><ul class="nav">
<li><a href="/pricing">Pricing</a></li><li><a href="/about">About us</a></li>
<li><a href="/contact">Contact</a></li><li><a class="btn btn-primary" href="/signup">Sign up free</a></li>
<li><a href="/logout">Log out</a></li><li><a href="https://twitter.example.com/tallyho">Twitter</a></li>
</ul></nav></header><main class="container">"""
FOOTER = """</main><footer><p>© 2026 Tallyho Ltd · <a href="/pricing">Plans</a> ·
<a href="mailto:hello@tallyho.example">hello@tallyho.example</a></p></footer></body></html>"""

PAGES = {
    "/": (
        "Home",
        "<h1>Tallyho keeps your team's hours</h1><p>Track time without the spreadsheets.</p>"
        '<p><a class="btn btn-lg" href="/signup">Start your free trial</a></p>',
    ),
    "/pricing": (
        "Pricing",
        "<h1>Simple pricing</h1><div class='card'><h2>Team</h2><p>$8 per seat</p></div>"
        "<div class='card'><h2>Business</h2><p>$15 per seat</p></div>",
    ),
    "/about": ("About", "<h1>About Tallyho</h1><p>We are twelve people in Lisbon.</p>"),
    "/signup": (
        "Sign up",
        """<h1>Create your account</h1>
<form method="post" action="/signup" class="form">
  <div class="mb-3"><label for="full_name" class="form-label">Full name</label>
    <input id="full_name" name="full_name" class="form-control" required></div>
  <div class="mb-3"><label for="email" class="form-label">Work email *</label>
    <input type="email" id="email" name="email" class="form-control" required></div>
  <div class="mb-3"><label for="company">Company</label><input id="company" name="company" required></div>
  <div class="mb-3"><label for="password">Password</label>
    <input type="password" id="password" name="password" autocomplete="new-password" required></div>
  <div class="mb-3"><label for="password2">Confirm password</label>
    <input type="password" id="password2" name="password2" required></div>
  <div class="form-check"><input type="checkbox" id="terms" name="terms" required>
    <label for="terms">I agree to the terms</label></div>
  <div class="form-check"><input type="checkbox" id="news" name="news">
    <label for="news">Send me product news</label></div>
  <button type="submit" class="btn btn-primary">Create account</button>
</form>""",
    ),
    # The contact form is drawn by the page's script once it has loaded, as a widget would.
    "/contact": (
        "Contact",
        """<h1>Contact us</h1><div id="widget"></div>
<script>window.addEventListener('load', () => setTimeout(() => {
  document.getElementById('widget').innerHTML = `<form method="post" action="/contact">
    <label>Your name <input name="name"></label>
    <label>Email address <input type="email" name="email" required></label>
    <label>Topic <select name="topic" required><option value="">Choose…</option>
      <option value="billing">Billing</option><option value="other">Something else</option></select></label>
    <label>How can we help? <textarea name="message" required></textarea></label>
    <button type="submit">Send message</button></form>`;
}, 300));</script>""",
    ),
}
ANSWERS = {
    "/signup": "<h1>Welcome aboard</h1><p>Check your inbox.</p>",
    "/contact": "<h1>Thanks, we got your message</h1><p>Your reference is TH-1001.</p>",
}


def page(title: str, body: str) -> str:
    return HEADER.format(title=title) + body + FOOTER


SLOW_S = 3.0


class Tallyho(QuietHandler):
    posts: list[tuple[str, dict[str, list[str]]]] = []  # noqa: RUF012 - what the site received, for the test
    logged_out = False

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/logout":
            Tallyho.logged_out = True
        if path == "/slow":  # answers, but later than the --timeout the test gives
            time.sleep(SLOW_S)
            send_html(self, page("Slow", "<h1>At last</h1>"))
        elif path == "/blank":  # a page that shows nothing: no heading, no link, no form
            send_html(self, "<!doctype html><title>Soon</title><p>Coming soon.</p>")
        elif path in PAGES:
            send_html(self, page(*PAGES[path]))
        elif path == "/static/site.css":
            send_html(self, "body { font-family: sans-serif }", headers={"Content-Type": "text/css"})
        else:
            send_html(self, page("Not found", "<h1>Not found</h1>"), status=404)

    def do_POST(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if path not in ANSWERS:
            send_html(self, page("Not found", "<h1>Not found</h1>"), status=404)
            return
        Tallyho.posts.append((path, form))
        needed = {
            "/signup": ("full_name", "email", "company", "password", "password2", "terms"),
            "/contact": ("email", "topic", "message"),
        }[path]
        if any(not form.get(name, [""])[0] for name in needed):
            send_html(self, page("Error", "<h1>Please fill in every field</h1>"), status=422)
            return
        send_html(self, page("Thanks", ANSWERS[path]))


@pytest.fixture
def site() -> Iterator[str]:
    Tallyho.posts, Tallyho.logged_out = [], False
    with serve(Tallyho) as base:
        yield base


def shopper(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SHOPPER), *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=600
    )


def test_init_writes_a_journey_that_checks_and_runs_with_every_touchpoint_tested(
    site: str, tmp_path: Path
) -> None:
    made = shopper("init", site + "/", "journey", cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    journey = tmp_path / "journey"
    assert sorted(p.name for p in journey.iterdir()) == [
        "README.md",
        "discover.feature",
        "get_help.feature",
        "journey-map.yaml",
        "sign_up.feature",
        "test_journey.py",
    ]
    # The crawl sent nothing, and never followed the log-out link.
    assert Tallyho.posts == [] and not Tallyho.logged_out

    journey_map = load_map(journey / "journey-map.yaml")
    stages = {stage.id: {tp.url: tp.channel for tp in stage.touchpoints} for stage in journey_map.stages}
    assert stages == {
        "discover": {"/": "web", "/pricing": "web", "/about": "web"},
        "sign-up": {"/signup": "form"},
        "get-help": {"/contact": "form"},
    }
    assert {tp.owner for tp in journey_map.touchpoints()} == {"TODO"}
    text = (journey / "journey-map.yaml").read_text()
    assert "starting guess" in text and "fill in the team" in text
    # The names on the page, as the crawl found them (the script-rendered form's too).
    signup = (journey / "sign_up.feature").read_text()
    assert 'When I click "Sign up free"' in signup  # the header's link comes first; the hero's goes there too
    assert 'I fill in "Company" with "Mystery shopper"' in signup and "I sign up with my details" in signup
    contact = (journey / "get_help.feature").read_text()
    assert 'I fill in "Email address" with my email' in contact
    assert 'I choose "Billing" in "Topic"' in contact and 'I press "Send message"' in contact

    readme = (journey / "README.md").read_text()
    assert f"shopper run --base-url {site} --map journey/journey-map.yaml --features journey" in readme

    checked = shopper("map", "check", "journey/journey-map.yaml", "--features", "journey", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "5 of 5 touchpoints covered" in checked.stdout

    store = tmp_path / "shopper.db"
    run = shopper(
        "run",
        "--base-url",
        site,
        "--map",
        "journey/journey-map.yaml",
        "--features",
        "journey",
        "--store",
        str(store),
        "--",
        "--no-runner-check",
        cwd=tmp_path,
    )
    observations = stored_observations(store)
    bad = observations[observations["outcome"] != "passed"]
    assert bad.empty, bad[["step", "outcome", "error"]].to_string() + run.stdout + run.stderr
    assert run.returncode == 0, run.stdout + run.stderr
    assert set(observations["touchpoint"]) >= {tp.id for tp in journey_map.touchpoints()}
    # The forms were really sent, filled in enough for the site to accept them, with synthetic values.
    sent = dict(Tallyho.posts)
    assert sorted(sent) == ["/contact", "/signup"]
    assert sent["/signup"]["email"][0].startswith("shopper+") and sent["/signup"]["email"][0].endswith(
        ".test"
    )
    assert sent["/signup"]["password"] == sent["/signup"]["password2"] and "news" not in sent["/signup"]
    assert sent["/contact"]["topic"] == ["billing"] and sent["/contact"]["email"][0].startswith("shopper+")

    report = shopper("report", "--store", str(store), "--out", "report", cwd=tmp_path)
    assert report.returncode == 0, report.stdout + report.stderr

    document = json.loads((tmp_path / "report" / "gap-report.json").read_text())
    statuses = {
        tp["id"]: verdict["status"]
        for stage in document["stages"]
        for tp in stage["touchpoints"]
        for verdict in tp["segments"].values()
    }
    assert set(statuses) == {tp.id for tp in journey_map.touchpoints()}
    assert "untested" not in statuses.values() and "failing" not in statuses.values(), statuses


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "journey"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me")
    assert main(["init", "http://127.0.0.1:9/", str(folder)]) == 2
    said = capsys.readouterr().err.strip()
    assert said == f"shopper: {folder}: is not empty: {REFUSED}"
    assert (folder / "mine.txt").read_text() == "keep me"


def test_init_with_force_writes_over_an_old_draft(site: str, tmp_path: Path) -> None:
    folder = tmp_path / "journey"
    folder.mkdir()
    (folder / "old_stage.feature").write_text("@stage:gone\nFeature: Old\n")
    assert main(["init", site, str(folder), "--force", "--max-pages", "2"]) == 0
    assert not (folder / "old_stage.feature").exists()
    assert len(load_map(folder / "journey-map.yaml").touchpoints()) == 2  # the page limit holds


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        (
            "ftp://example.com/",
            '"ftp://example.com/" is not a web address: give one that starts with http:// or https://',
        ),
        ("example.com", '"example.com" is not a web address: give one that starts with http:// or https://'),
    ],
)
def test_init_says_what_is_not_a_web_address(
    url: str, sentence: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", url, str(tmp_path / "journey")]) == 2
    assert capsys.readouterr().err.strip() == f"shopper: {sentence}"
    assert not (tmp_path / "journey").exists()


def test_init_says_a_site_cannot_be_reached(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with serve(Tallyho) as base:
        pass  # the port was free a moment ago and nobody listens on it now
    assert main(["init", base + "/", str(tmp_path / "journey")]) == 2
    said = capsys.readouterr().err.strip()
    assert said.startswith(f"shopper: {base}/ cannot be reached (") and "ERR_CONNECTION_REFUSED" in said
    assert "\n" not in said and not (tmp_path / "journey").exists()


def test_init_says_when_there_is_no_page_to_start_from(
    site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", site + "/nowhere", str(tmp_path / "journey")]) == 2
    said = capsys.readouterr().err.strip()
    assert said == f"shopper: {site}/nowhere answered HTTP 404, so there is no page to start from"
    assert not (tmp_path / "journey").exists()


def test_init_says_when_a_site_shows_nothing_to_test(
    site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", site + "/blank", str(tmp_path / "journey")]) == 2
    said = capsys.readouterr().err.strip()
    assert said == (
        f"shopper: {site}/blank shows nothing init can test (no heading, link or form),"
        " so there is nothing to draw"
    )
    assert not (tmp_path / "journey").exists()


def test_init_bounds_every_page_load_by_its_timeout(
    site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["init", site + "/slow", str(tmp_path / "journey"), "--timeout", "1s"]) == 2
    assert capsys.readouterr().err.strip() == f"shopper: {site}/slow did not load within 1s (--timeout)"
    assert not (tmp_path / "journey").exists()
    assert time.monotonic() - started >= 1.0  # it did wait for the page, as long as it was told


JOIN = """<!doctype html><title>Join</title><h1>Join the beta</h1>
<form method="post" action="/join"><input type="email" name="email" placeholder="you@work.com">
<input type="password" name="password" placeholder="Choose a password"><button>Join</button></form>"""


class Beta(QuietHandler):
    """A site whose whole signup is an email and a password, the shape of a login form."""

    joined: list[str] = []  # noqa: RUF012 - what the site received, for the test

    def do_GET(self) -> None:
        if urllib.parse.urlsplit(self.path).path == "/join":
            send_html(self, JOIN)
        else:
            send_html(
                self, '<!doctype html><title>Beta</title><h1>Beta</h1><a href="/join">Join the beta</a>'
            )

    def do_POST(self) -> None:
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        Beta.joined.append(form["email"][0])
        send_html(self, "<!doctype html><h1>You are in</h1>")


def test_a_signup_of_an_email_and_a_password_is_sent_as_a_signup(tmp_path: Path) -> None:
    with serve(Beta) as base:
        assert main(["init", base, str(tmp_path / "journey")]) == 0
        feature = (tmp_path / "journey" / "sign_up.feature").read_text()
        assert 'When I click "Join the beta"' in feature and "When I sign up with my details" in feature
        journey_map = tmp_path / "journey" / "journey-map.yaml"
        signup = load_map(journey_map).touchpoint("join-form")
        assert signup is not None and signup.channel == "form" and signup.url == "/join"
        args = ["--map", str(journey_map), "--features", str(tmp_path / "journey")]
        ran = main(
            ["run", "--base-url", base, *args, "--store", str(tmp_path / "s.db"), "--", "--no-runner-check"]
        )
        assert ran == 0
    assert len(Beta.joined) == 1 and Beta.joined[0].startswith("shopper+")


def test_a_made_up_part_of_an_address_is_a_template_and_legal_pages_are_left_out(tmp_path: Path) -> None:
    """The draft from what a crawl found (no browser needed): a second order page is the first's pattern."""
    from harness.map.check import check_map
    from harness.ops.crawl import PageFound, Site
    from harness.ops.journey_features import feature_files
    from harness.ops.scaffold import draft, write_journey
    from harness.steps import load_catalogue

    home = PageFound("/", "Shop", "Welcome to the shop", "", links={"/orders/123": "My order"})
    pages = [
        home,
        PageFound("/privacy", "Privacy", "Privacy policy", "Privacy"),
        PageFound("/orders/123", "Order", "Order 123", "My order"),
        PageFound("/orders/456", "Order", "Order 456", "Another order"),
        PageFound("/faq", "FAQ", "Questions", "FAQ"),
    ]
    plan = draft(Site("http://shop.example", pages))
    assert [(tp.url, tp.channel) for stage in plan.stages for tp in stage.touchpoints] == [
        ("/", "web"),
        ("/orders/{id}", "web"),
        ("/faq", "web"),
    ]
    assert plan.left_out == ["/privacy", "/orders/456"]
    features = feature_files(plan)
    assert 'When I click "My order"' in features["discover.feature"]
    write_journey(plan, tmp_path, features, date(2026, 12, 1))
    map_text = (tmp_path / "journey-map.yaml").read_text()
    assert "# Found but not drawn (legal pages, a second page of one url): /privacy, /orders/456" in map_text
    load_catalogue()
    checked = check_map(tmp_path / "journey-map.yaml", tmp_path)
    assert checked.errors == [] and checked.uncovered() == []
