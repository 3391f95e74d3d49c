"""The inbox settle: a run waits for mail no step waited for only while such mail may still come.

Real parts: a signup site on loopback that mails over SMTP to the demo's sink, a Maildir the
harness reads, `shopper run`'s own pytest process, the SQLite store read back.
"""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from journeys import send_html, serve, write_features

from harness.demo.mailsink import MailSink
from harness.mail.mailbox import MaildirMailbox
from harness.ops.runner import RunRequest, RunResult, run_scenarios
from harness.record.settle import settle
from harness.store.sqlite import open_store

SIGNUP_FORM = (
    "<!doctype html><title>Sign up</title><h1>Sign up</h1>"
    '<form method="post" action="/signup"><label for="email">Email</label>'
    '<input id="email" name="email" type="email"><button type="submit">Sign up</button></form>'
)
SENT = "<!doctype html><title>Sent</title><h1>Check your inbox</h1>"

JOURNEY_MAP = """\
journey: Sign up
version: test
segments: [self-serve]
stages:
  - id: signup
    name: Sign up
    touchpoints:
      - id: signup-page
        name: Signup page
        channel: form
        owner: Product
        url: /signup
        expect: {within: 2s, fail_after: 10s}
      - id: confirmation-email
        name: Confirmation email
        channel: email
        owner: Product
        subject: "Confirm your account"
        expect: {within: 30s, fail_after: 30s}
"""

FEATURE = """\
@stage:signup
Feature: Sign up

  Scenario: I sign up and get the confirmation
    Given I open the signup page
    When I sign up with my details
    Then I receive the confirmation email
"""


def send(port: int, to: str, subject: str, delay_s: float) -> None:
    def deliver() -> None:
        time.sleep(delay_s)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "Acme <hello@acme.test>", to, subject
        message.set_content(f"{subject}.")
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException):
            return  # the test is over and its sink gone

    threading.Thread(target=deliver, daemon=True).start()


@dataclass
class Mails:
    """What the site sends on a signup: (subject, seconds after the form) each."""

    port: int
    sends: list[tuple[str, float]]


def handler_for(mails: Mails) -> type[BaseHTTPRequestHandler]:
    class Signup(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._answer(SIGNUP_FORM)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            to = parse_qs(self.rfile.read(length).decode()).get("email", [""])[0]
            for subject, delay_s in mails.sends:
                send(mails.port, to, subject, delay_s)
            self._answer(SENT)

        def _answer(self, html: str) -> None:
            send_html(self, html)

    return Signup


@dataclass
class Signup:
    url: str
    mails: Mails
    sink: MailSink
    root: Path

    def run(self, *pytest_args: str) -> RunResult:
        features = write_features(self.root / "features", FEATURE)
        journey_map = self.root / "map.yaml"
        journey_map.write_text(JOURNEY_MAP)
        return run_scenarios(
            RunRequest(
                features=features,
                journey_map=journey_map,
                base_url=self.url,
                segment="self-serve",
                store=str(self.root / "obs.db"),
                mailbox=f"maildir:{self.sink.maildir}",
                pytest_args=["--no-trace", *pytest_args],
                quiet=True,
            )
        )

    def audited(self) -> list[tuple[str, str | None]]:
        store = open_store(self.root / "obs.db")
        try:
            return [(m.subject, m.touchpoint) for m in store.messages([run.run_id for run in store.runs()])]
        finally:
            store.close()


@pytest.fixture
def signup(tmp_path: Path) -> Iterator[Signup]:
    with MailSink(tmp_path / "mail") as sink:
        mails = Mails(sink.port, [])
        with serve(handler_for(mails)) as url:
            yield Signup(url, mails, sink, tmp_path)


def test_a_run_whose_mail_came_after_the_settle_does_not_wait(signup: Signup) -> None:
    # The confirmation leaves 0.6 s after the form; the settle is 0.3 s: by the time the customer has
    # read it, the settle after the form (the last trigger) is over, so nothing else can be awaited.
    signup.mails.sends = [("Confirm your account", 0.6)]
    result = signup.run("--inbox-settle", "300ms")
    assert result.exit_code == 0, result.output
    assert "inbox settle: skipped (every trigger is older than the settle)" in result.output
    assert signup.audited() == [("Confirm your account", "confirmation-email")]


def test_a_late_email_no_step_waited_for_is_still_audited(signup: Signup) -> None:
    # A newsletter leaves 0.3 s after the confirmation: no step reads it, the run's end finds it.
    signup.mails.sends = [("Confirm your account", 0.0), ("Our newsletter", 0.3)]
    result = signup.run("--inbox-settle", "5s")
    assert result.exit_code == 0, result.output
    assert "inbox settle: waited" in result.output  # the form was sent well within 5 s of the end
    assert sorted(signup.audited(), key=str) == [
        ("Confirm your account", "confirmation-email"),
        ("Our newsletter", None),
    ]


def test_the_settle_waits_for_mail_while_it_comes_and_stops_when_quiet(tmp_path: Path) -> None:
    with MailSink(tmp_path / "mail") as sink:
        box = MaildirMailbox(sink.maildir)
        seen: set[str] = set()

        def audit() -> int:
            new = {message.key for message in box.messages()} - seen
            seen.update(new)
            return len(new)

        started = time.monotonic()
        send(sink.port, "shopper@example.test", "First", 0.2)
        send(sink.port, "shopper@example.test", "Second", 0.6)  # within quiet_s of the first
        settled = settle(box, started + 30.0, audit, quiet_s=1.5)
        assert not settled.skipped and settled.late == 2
        assert settled.why == "the mailbox is quiet"  # not the 30 s deadline
        # It went on looking for quiet_s after the last message: a lower bound it cannot beat.
        assert settled.waited_s >= 0.6 + 1.5 - 0.1

        box_calls = len(seen)
        skipped = settle(box, None, audit)
        assert skipped.skipped and skipped.waited_s == 0.0 and len(seen) == box_calls
        assert skipped.why == "no step may have caused mail"
