"""The email steps end to end: `shopper run` drives Chromium through a small sign-in site that mails a code.

Everything is real: the site is an HTTP server on loopback, its mail goes over SMTP to the demo's
sink, which files it in a Maildir the harness reads (`--mailbox maildir:PATH`); what the steps did is
read back from the SQLite store. Each test writes its own journey map, so the promises the steps are
held against (`within`, `fail_after`, `subject`, `from`, `body`, `code`) are in plain sight.
"""

from __future__ import annotations

import smtplib
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from html import escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs

import pandas as pd
import pytest
from journeys import ROOT, longest_wall_ms, send_html, serve, shopper_run, stored_observations, write_features

from harness.demo.mailsink import MailSink
from harness.store.sqlite import open_store

CODE = "482913"
SUBJECT = "Your sign-in code"
ACME = "Acme <hello@acme.test>"


@dataclass(frozen=True)
class Mail:
    """One email the site sends to whoever asked for a code, `delay_s` after the request."""

    subject: str = SUBJECT
    body: str = f"Your code is {CODE}"
    sender: str = ACME
    delay_s: float = 0.0


@dataclass
class Site:
    """The sign-in site's behaviour: what it mails on POST /login and which code /verify accepts."""

    smtp_port: int
    mails: list[Mail]
    code: str = CODE
    delivered: list[tuple[str, float]] = field(default_factory=list)  # (subject, monotonic) once sent
    tried: list[str] = field(default_factory=list)  # codes POSTed to /verify

    def send_later(self, to: str, mail: Mail) -> None:
        def deliver() -> None:
            time.sleep(mail.delay_s)
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = mail.sender, to, mail.subject
            message.set_content(mail.body)
            try:
                with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
                    smtp.send_message(message)
            except (OSError, smtplib.SMTPException):
                return  # the test is over and its sink gone: a late email has nowhere to go
            self.delivered.append((mail.subject, time.monotonic()))

        threading.Thread(target=deliver, daemon=True).start()


def _page(title: str, body: str, status: int = 200) -> tuple[int, str]:
    return status, f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"


LOGIN_FORM = (
    '<h1>Sign in</h1><form method="post" action="/login">'
    '<label for="email">Email</label><input id="email" name="email" type="email">'
    '<button type="submit">Send code</button></form>'
)
CODE_FORM = (
    "<h1>Check your inbox</h1><p>We sent a code to {email}.</p>"
    '<form method="post" action="/verify"><label for="code">Code</label><input id="code" name="code">'
    '<button type="submit">Verify</button></form>'
)


def handler_for(site: Site) -> type[BaseHTTPRequestHandler]:
    class SignIn(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/login":
                self._answer(*_page("Sign in", LOGIN_FORM))
            else:
                self._answer(*_page("Not found", "<h1>Not found</h1>", 404))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path == "/login":
                to = form.get("email", "")
                for mail in site.mails:
                    site.send_later(to, mail)
                self._answer(*_page("Enter your code", CODE_FORM.format(email=escape(to))))
            elif self.path == "/verify":
                site.tried.append(form.get("code", ""))
                if form.get("code") == site.code:
                    self._answer(*_page("Signed in", "<h1>Verified</h1><p>Welcome back.</p>"))
                else:
                    self._answer(*_page("Wrong code", "<h1>Wrong code</h1>", 403))
            else:
                self._answer(*_page("Not found", "<h1>Not found</h1>", 404))

        def _answer(self, status: int, html: str) -> None:
            send_html(self, html, status)

    return SignIn


@dataclass
class World:
    """A running sign-in site and mail sink, and where this test's map, features and store go."""

    url: str
    site: Site
    sink: MailSink
    root: Path

    @property
    def store(self) -> Path:
        return self.root / "obs.db"

    @property
    def mailbox(self) -> str:
        return f"maildir:{self.sink.maildir}"

    def write_map(self, email_touchpoints: str) -> Path:
        """A journey map with the site's two pages and the given email touchpoints (YAML list items)."""
        text = textwrap.dedent(
            """\
            journey: Sign in with a code
            version: test
            segments: [self-serve]
            stages:
              - id: sign-in
                name: Sign in
                touchpoints:
                  - id: login-page
                    name: Login page
                    channel: form
                    owner: Identity
                    url: /login
                    expect: {within: 2s, fail_after: 10s}
                  - id: verify-page
                    name: Verify page
                    channel: form
                    owner: Identity
                    url: /verify
                    expect: {within: 2s, fail_after: 10s}
            """
        ) + textwrap.indent(textwrap.dedent(email_touchpoints), " " * 6)
        path = self.root / "map.yaml"
        path.write_text(text)
        return path

    def run(self, journey_map: Path, scenarios: str, *extra: str) -> tuple[int, float]:
        """`shopper run` of a feature holding these scenarios: its exit status and how long it took."""
        feature = "@stage:sign-in\nFeature: Sign in with a code from my inbox\n\n"
        feature += textwrap.dedent(scenarios)
        features = write_features(self.root / "features", feature)
        started = time.monotonic()
        status = shopper_run(
            self.url, features, self.store, "--mailbox", self.mailbox, *extra, journey_map=journey_map
        )
        return status, time.monotonic() - started

    def observations(self) -> pd.DataFrame:
        return stored_observations(self.store)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with MailSink(tmp_path / "mail") as sink:
        site = Site(smtp_port=sink.port, mails=[Mail()])
        with serve(handler_for(site)) as url:
            yield World(url=url, site=site, sink=sink, root=tmp_path)


CODE_EMAIL = """\
- id: sign-in-code-email
  name: Sign-in code email
  channel: email
  owner: Identity
  subject: "sign-in code"
  expect: {within: 5s, fail_after: 10s}
"""

SIGN_IN = """\
  Scenario: I sign in with the code I was mailed
    Given I open the login page
    When I fill in "Email" with my email
    And I press "Send code"
    And I read the code in the sign-in code email
    When I fill in "Code" with the code
    And I press "Verify"
    Then I should see "Verified"
"""


def by_step(observations: pd.DataFrame) -> dict[str, pd.Series]:
    """The final attempt's observation of every step, by its text (keyword and all)."""
    return {str(row["step"]): row for _, row in observations.iterrows()}


def test_a_code_read_from_the_email_signs_the_customer_in(world: World) -> None:
    world.site.mails = [Mail(delay_s=0.5)]
    status, _ = world.run(world.write_map(CODE_EMAIL), SIGN_IN, "--quiet")

    assert status == 0
    observations = world.observations()
    assert list(observations["outcome"]) == ["passed"] * 7, observations[["step", "outcome", "error"]]
    assert world.site.tried == [CODE]  # the very code the email carried was typed
    steps = by_step(observations)
    read = steps["And I read the code in the sign-in code email"]
    assert read["touchpoint"] == "sign-in-code-email"
    # Time to inbox, from the end of "Send code": the site's 0.5 s delay began when the press reached
    # it, so the email can seem early by at most the press's own time.
    pressed = longest_wall_ms(observations, 'And I press "Send code"')
    assert read["duration_ms"] >= 500 - pressed, (read["duration_ms"], pressed)
    assert steps['And I press "Verify"']["touchpoint"] == "verify-page"


def test_a_code_pattern_picks_its_group_and_an_email_without_a_code_fails(world: World) -> None:
    world.site.code = "XKB-417"
    world.site.mails = [
        Mail("Your letter code", "Ref 20261123. Your code: XKB-417 (valid 10 minutes)"),
        Mail("Your magic link", "Click https://example.test/magic to sign in. No number here."),
    ]
    journey_map = world.write_map(
        r"""
        - id: letter-code-email
          name: Letter code email
          channel: email
          subject: "letter code"
          code: "code: ([A-Z]{3}-\\d{3})"
          expect: {within: 5s, fail_after: 10s}
        - id: magic-link-email
          name: Magic link email
          channel: email
          subject: "magic link"
          expect: {within: 5s, fail_after: 10s}
        """
    )
    status, _ = world.run(
        journey_map,
        """\
          Scenario: My code is letters and digits
            Given I open the login page
            When I fill in "Email" with my email
            And I press "Send code"
            And I read the code in the letter code email
            When I fill in "Code" with the code
            And I press "Verify"
            Then I should see "Verified"

          Scenario: The email has a link but no code
            Given I open the login page
            When I fill in "Email" with my email
            And I press "Send code"
            And I read the code in the magic link email
            When I fill in "Code" with the code
        """,
        "--quiet",
        "--",
        "--no-trace",
    )

    assert status == 1
    observations = world.observations()
    letters = observations[observations["scenario"] == "My code is letters and digits"]
    assert list(letters["outcome"]) == ["passed"] * 7, letters[["step", "outcome", "error"]]
    # The group, not the whole match ("code: XKB-417") nor the first digits ("20261123").
    assert "XKB-417" in world.site.tried and "20261123" not in world.site.tried

    no_code = by_step(observations[observations["scenario"] == "The email has a link but no code"])
    read = no_code["And I read the code in the magic link email"]
    assert (read["outcome"], read["touchpoint"]) == ("failed", "magic-link-email")
    assert read["error"] == 'the email "Your magic link" has no code in it'
    assert no_code['When I fill in "Code" with the code']["outcome"] == "skipped"


def test_a_scenario_limit_shorter_than_the_map_fails_at_that_limit(world: World) -> None:
    world.site.mails = [Mail(delay_s=3.0)]
    slow_promise = CODE_EMAIL.replace("{within: 5s, fail_after: 10s}", "{within: 30s, fail_after: 1m}")
    status, _ = world.run(
        world.write_map(slow_promise),
        """\
          Scenario: I give up on the code after a second
            Given I open the login page
            When I fill in "Email" with my email
            And I press "Send code"
            Then I receive the sign-in code email within 1s
            And I read the code in the sign-in code email
        """,
        "--quiet",
        "--",
        "--no-trace",
    )

    assert status == 1
    steps = by_step(world.observations())
    waited = steps["Then I receive the sign-in code email within 1s"]
    assert (waited["outcome"], waited["touchpoint"]) == ("failed", "sign-in-code-email")
    assert waited["duration_ms"] >= 1000, waited["duration_ms"]
    assert 'subject matching "sign-in code"' in waited["error"]
    # The email went out after 3 s: a step that had waited for the map's minute would have passed.
    assert "within 1s" in waited["error"], waited["error"]
    assert steps["And I read the code in the sign-in code email"]["outcome"] == "skipped"


def test_a_dropped_email_fails_at_the_maps_fail_after(world: World) -> None:
    world.site.mails = []  # the site never sends it
    quick_limit = CODE_EMAIL.replace("{within: 5s, fail_after: 10s}", "{within: 1s, fail_after: 2s}")
    status, _ = world.run(
        world.write_map(quick_limit),
        """\
          Scenario: My code never comes
            Given I open the login page
            When I fill in "Email" with my email
            And I press "Send code"
            And I receive the sign-in code email
            And I read the code in the sign-in code email
            When I fill in "Code" with the code
            And I press "Verify"
            Then I should see "Verified"
        """,
        "--quiet",
        "--",
        "--no-trace",
    )

    assert status == 1
    observations = world.observations()
    assert list(observations["outcome"]) == ["passed"] * 3 + ["failed"] + ["skipped"] * 4
    waited = by_step(observations)["And I receive the sign-in code email"]
    assert waited["duration_ms"] >= 2000, waited["duration_ms"]  # its fail_after, named in the error
    assert waited["error"].startswith('no email with a subject matching "sign-in code" reached shopper+')
    assert waited["error"].endswith("within 2s"), waited["error"]


def test_the_email_step_binds_to_the_message_whose_sender_and_body_match(world: World) -> None:
    world.site.mails = [
        # Same subject, the right words, the wrong sender: a look-alike.
        Mail(body="Acme security: your code is 111111", sender="Acme <security@acme-login.example>"),
        # Same subject, the right sender, not the words the map promises.
        Mail(body="Your code is 222222", sender="Acme <hello@acme.test>", delay_s=0.2),
        Mail(body=f"Acme security: your code is {CODE}", sender="Acme <security@acme.test>", delay_s=0.6),
    ]
    journey_map = world.write_map(
        r"""
        - id: sign-in-code-email
          name: Sign-in code email
          channel: email
          subject: "sign-in code"
          from: "@acme\\.test>"
          body: "^Acme security"
          expect: {within: 5s, fail_after: 10s}
        """
    )
    status, _ = world.run(journey_map, SIGN_IN, "--quiet")

    observations = world.observations()
    assert status == 0, observations[["step", "outcome", "error"]]
    assert list(observations["outcome"]) == ["passed"] * 7
    assert world.site.tried == [CODE]
    opened = open_store(world.store)
    try:
        audit = opened.messages(list(observations["run_id"].unique()))
    finally:
        opened.close()
    assert len(audit) == 3  # every one of them reached the customer...
    bound = [message for message in audit if message.touchpoint == "sign-in-code-email"]
    assert [message.sender for message in bound] == ["security@acme.test"]  # ...and the step took this one


def test_a_promise_beyond_max_wait_is_left_pending_and_resolved_by_mail_poll(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    world.site.mails = [Mail(delay_s=3.0)]
    long_promise = CODE_EMAIL.replace("{within: 5s, fail_after: 10s}", "{within: 1h, fail_after: 1d}")
    status, _ = world.run(
        world.write_map(long_promise),
        """\
          Scenario: My code takes its time
            Given I open the login page
            When I fill in "Email" with my email
            And I press "Send code"
            And I receive the sign-in code email
            And I read the code in the sign-in code email
            When I fill in "Code" with the code
        """,
        "--max-wait",
        "1s",
        "--verbose",  # pytest's own output too, besides the progress lines
        "--",
        "--no-trace",
        "-rs",  # pytest's word for the scenario: skipped, and why
    )
    shown = capfd.readouterr().out

    assert status == 0, shown
    assert "1 skipped" in shown and "pending" in shown, shown
    observations = world.observations()
    assert list(observations["outcome"]) == ["passed"] * 3 + ["pending"] + ["skipped"] * 2
    held = by_step(observations)["And I receive the sign-in code email"]
    # The browser waited --max-wait, no more: the email went out after 3 s, and waiting for it
    # would have passed the step instead of leaving it pending.
    assert held["duration_ms"] >= 1000, held["duration_ms"]

    # Another process, as a cron job would be, finds the email and records the real time to inbox.
    poll = [sys.executable, "-m", "harness", "mail", "poll", "--store", str(world.store), "--wait", "10s"]
    done = subprocess.run(poll, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "answered sign-in-code-email (self-serve, run " in done.stdout, done.stdout
    assert "1 pending expectation(s): 1 answered in time, 0 failed, 0 unread, 0 still pending" in done.stdout
    waited = by_step(world.observations())["And I receive the sign-in code email"]
    assert waited["outcome"] == "passed"
    pressed = longest_wall_ms(world.observations(), 'And I press "Send code"')
    assert waited["duration_ms"] >= 3000 - pressed, (waited["duration_ms"], pressed)  # the real time to inbox

    again = subprocess.run(poll[:-2], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert again.returncode == 0
    assert (
        again.stdout.strip()
        == "0 pending expectation(s): 0 answered in time, 0 failed, 0 unread, 0 still pending"
    )


@pytest.mark.parametrize(
    ("page", "ticket"),
    [
        ("We received your request\nYour ticket reference is ACME-1001.\nISO-27001 certified", "ACME-1001"),
        ("Thanks! Case #48213 is open.", "#48213"),
        ("Thanks, we will answer soon. SUP-42", "SUP-42"),  # the only one on the page
        ("Thanks, we will answer soon. SUP-42 · ISO-27001", ""),  # two, neither named: not a guess
    ],
)
def test_the_ticket_reference_is_the_one_the_page_names(page: str, ticket: str) -> None:
    from harness.steps.support import ticket_in

    assert ticket_in(page) == ticket
