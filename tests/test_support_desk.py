"""Acme's support desk and its second sending system, over real HTTP and real SMTP: no mocks.

The helpdesk acknowledges a ticket and a person answers it later; the first login also brings a
tips email from a marketing platform. Both are what the inbox audit and the email touchpoints
measure, so each is read back from the customer's Maildir the way the harness reads it.
"""

from __future__ import annotations

import email
import logging
import mailbox
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from journeys import HttpClient

from harness.demo import Acme, start_acme
from harness.demo.faults import EMAIL_KINDS, FaultProfile, load_faults_text
from harness.demo.outbox import support_ack_email, support_reply_email
from harness.errors import FaultProfileError
from harness.mail.mailbox import MaildirMailbox, wait_for_email
from harness.mail.message import ReceivedEmail

StartAcme = Callable[[FaultProfile], Acme]
CUSTOMER = "bob@example.test"
ACK_1001 = r"^\[ACME-1001\] We received your request$"


@pytest.fixture
def start(tmp_path: Path) -> Iterator[StartAcme]:
    """Starts Acme with a given fault profile, and always stops what it started."""
    started: list[Acme] = []

    def _start(faults: FaultProfile) -> Acme:
        acme = start_acme(faults, tmp_path / f"mail{len(started)}")
        started.append(acme)
        return acme

    yield _start
    for acme in started:
        acme.stop()


def inbox(acme: Acme) -> MaildirMailbox:
    return MaildirMailbox(acme.maildir, poll_s=0.05)


def arrival(box: MaildirMailbox, subject: str, seen: set[str], to: str = CUSTOMER) -> ReceivedEmail:
    return wait_for_email(box, to=to, subject=subject, seen=seen, timeout_s=5)


def headers(acme: Acme, received: ReceivedEmail) -> EmailMessage:
    """The whole message behind `received`, for the headers a ReceivedEmail does not carry."""
    raw = mailbox.Maildir(acme.maildir, factory=None, create=False).get_bytes(received.key)
    parsed = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    return parsed


def after(start: datetime, received: ReceivedEmail) -> float:
    assert received.received_at is not None
    return (received.received_at - start).total_seconds()


def ask_support(acme: Acme, subject: str = "Cannot export", message: str = "Hi\nIt fails") -> str:
    status, body, _ = HttpClient(acme.url).post("/support", email=CUSTOMER, subject=subject, message=message)
    assert status == 200, body
    found = re.search(r"Your ticket reference is (ACME-\d+)\.", body)
    assert found is not None, body
    return found.group(1)


# ---------------------------------------------------------------- the support desk


def test_reply_arrives_after_its_delay_counted_from_the_ticket(start: StartAcme) -> None:
    # The acknowledgement is slower than the reply: a reply whose clock waited for it could never
    # come first.
    acme = start(FaultProfile(email_delay_s={"support-ack": 2, "support-reply": 1}))
    posted = datetime.now(UTC)
    assert ask_support(acme) == "ACME-1001"
    box, seen = inbox(acme), set[str]()
    assert box.messages() == []  # the page answered before either email went: it waits for neither
    reply = arrival(box, r"^Re: \[ACME-1001\] Cannot export$", seen)
    ack = arrival(box, ACK_1001, seen)
    assert after(posted, reply) >= 1.0, after(posted, reply)
    assert after(posted, ack) >= 2.0, after(posted, ack)
    assert reply.received_at is not None and ack.received_at is not None
    assert reply.received_at < ack.received_at

    ack_message, reply_message = headers(acme, ack), headers(acme, reply)
    assert ack.sender == "Acme Support <support@help.acme.test>"
    assert reply.sender == "Dana from Acme Support <support@help.acme.test>"
    assert ack.sender_domain == reply.sender_domain == "help.acme.test"
    ack_id = str(ack_message["Message-ID"])
    assert re.fullmatch(r"<[^<>@\s]+@help\.acme\.test>", ack_id), ack_id
    assert reply_message["In-Reply-To"] == ack_id and reply_message["References"] == ack_id
    assert str(reply_message["Message-ID"]) not in ("", ack_id)
    # Dana wrote the reply when it went out, so its Date is not the ticket's.
    written = parsedate_to_datetime(str(reply_message["Date"]))
    assert written - parsedate_to_datetime(str(ack_message["Date"])) >= timedelta(seconds=1)

    assert reply_message.get_content_type() == "text/plain" and not reply_message.is_multipart()
    assert "ACME-1001" in reply.body and "Dana" in reply.body and '"Cannot export"' in reply.body
    assert reply.body.splitlines()[-2:] == ["> Hi", "> It fails"]  # the customer's words, quoted


def test_dropped_reply_never_arrives_while_the_ack_does(
    start: StartAcme, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="harness.demo.outbox")
    acme = start(FaultProfile(drop_email=["support-reply"]))
    ask_support(acme)
    box, seen = inbox(acme), set[str]()
    arrival(box, ACK_1001, seen)
    # The reply, undelayed, was queued before this booking was even asked for.
    client = HttpClient(acme.url)
    assert client.post("/demo", name="Bob", email=CUSTOMER, company="B", size="1-10")[0] == 200
    arrival(box, "^Your Acme demo is booked$", seen)
    time.sleep(0.3)
    assert sorted(m.subject for m in box.messages()) == [
        "Your Acme demo is booked",
        "[ACME-1001] We received your request",
    ]
    assert any("dropping support-reply email" in r.getMessage() for r in caplog.records)


def test_stopping_the_site_never_waits_for_a_pending_reply(start: StartAcme) -> None:
    acme = start(FaultProfile(email_delay_s={"support-reply": 30}))
    ask_support(acme)
    arrival(inbox(acme), ACK_1001, set())
    waiting = [t for t in threading.enumerate() if t.name == "acme-mail-support-reply"]
    assert waiting  # the reply is there, waiting out its 30 s
    acme.stop()
    for thread in waiting:
        thread.join(timeout=20)
    # The reply given up with the site, not waited out: 10 s before it would have gone.
    assert not any(thread.is_alive() for thread in waiting), "the waiting reply outlived the site"
    assert [m.subject for m in inbox(acme).messages()] == ["[ACME-1001] We received your request"]


def test_reply_subject_is_one_line_whatever_the_customer_typed(start: StartAcme) -> None:
    acme = start(FaultProfile())
    ask_support(acme, subject="Cannot export\r\nBcc: eve@evil.test\n", message="m")
    reply = arrival(inbox(acme), r"^Re: \[ACME-1001\]", set())
    assert reply.subject == "Re: [ACME-1001] Cannot export Bcc: eve@evil.test"
    assert headers(acme, reply)["Bcc"] is None

    # The outbox folds on its own too, for any caller that forgets to.
    ack = support_ack_email(CUSTOMER, "ACME-7", "a\r\nBcc: eve@evil.test", "m")
    reply_message = support_reply_email(CUSTOMER, "ACME-7", "a\r\nBcc: eve@evil.test", "m", "<x@y>")
    assert reply_message["Subject"] == "Re: [ACME-7] a Bcc: eve@evil.test"
    for message in (ack, reply_message):
        assert b"\nBcc:" not in message.as_bytes()


# ---------------------------------------------------------------- a second sending system


def test_first_login_sends_welcome_and_tips_from_two_sending_systems(start: StartAcme) -> None:
    acme = start(FaultProfile(email_delay_s={"tips": 0.5}))
    client = HttpClient(acme.url)
    ada = "ada@example.test"
    assert client.post("/signup", name="Ada", email=ada, password="s3cret", company="A")[0] == 200
    box, seen = inbox(acme), set[str]()
    confirmation = arrival(box, "^Confirm your Acme account$", seen, to=ada)
    (link,) = confirmation.links()
    assert client.get(link[len(acme.url) :])[0] == 200

    logged_in = datetime.now(UTC)
    assert client.post("/login", email=ada, password="s3cret")[2] == "/onboarding"
    welcome = arrival(box, "^Welcome to Acme$", seen, to=ada)
    tips = arrival(box, "^3 tips for your first week with Acme$", seen, to=ada)
    assert (welcome.sender, welcome.sender_domain) == ("Acme Team <hello@acme.test>", "acme.test")
    assert (tips.sender, tips.sender_domain) == (
        "Acme Tips <tips@news.acme-mail.test>",
        "news.acme-mail.test",
    )
    # Each kind keeps its own delay: the tips wait, the welcome does not wait for them.
    assert welcome.received_at is not None and tips.received_at is not None
    assert welcome.received_at < tips.received_at and after(logged_in, tips) >= 0.5
    tips_message = headers(acme, tips)
    assert str(tips_message["Message-ID"]).endswith("@news.acme-mail.test>")
    assert tips_message["Date"] is not None
    plain, html = (tips_message.get_body(preferencelist=(kind,)) for kind in ("plain", "html"))
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    assert "Start from a template" in plain.get_content() and acme.url + "/help" in plain.get_content()
    assert f'<a href="{acme.url}/help">' in html.get_content() and "<ol>" in html.get_content()

    other = HttpClient(acme.url)  # another device: not a first login
    assert other.post("/login", email=ada, password="s3cret")[2] == "/onboarding"
    # Anything the second login sent, undelayed or after 0.5 s, lands before this sentinel is read.
    time.sleep(0.6)
    assert other.post("/demo", name="Ada", email=ada, company="A", size="1-10")[0] == 200
    arrival(box, "^Your Acme demo is booked$", seen, to=ada)
    subjects = sorted(m.subject for m in box.messages())
    assert subjects == [
        "3 tips for your first week with Acme",
        "Confirm your Acme account",
        "Welcome to Acme",
        "Your Acme demo is booked",
    ]


# ---------------------------------------------------------------- the fault profile


def test_unknown_kind_is_one_sentence_listing_the_valid_kinds() -> None:
    with pytest.raises(FaultProfileError) as caught:
        load_faults_text("email_delay_s:\n  support-replay: 2\n", "faults.yaml")
    assert (caught.value.line, caught.value.message) == (
        2,
        '"support-replay" is not an email kind (did you mean "support-reply"?); the kinds are '
        "confirmation, welcome, tips, support-ack, support-reply and demo-booked.",
    )
    assert "\n" not in str(caught.value)
    with pytest.raises(FaultProfileError, match=r"^.*\"newsletter\" is not an email kind; the kinds are "):
        load_faults_text("drop_email: [tips, newsletter]\n")


def test_every_kind_can_be_delayed_and_dropped() -> None:
    delays = "".join(f"  {kind}: {n}\n" for n, kind in enumerate(EMAIL_KINDS))
    profile = load_faults_text(f"email_delay_s:\n{delays}drop_email: [{', '.join(EMAIL_KINDS)}]\n")
    assert profile.email_delay_s == {kind: float(n) for n, kind in enumerate(EMAIL_KINDS)}
    assert profile.drop_email == list(EMAIL_KINDS)
    assert {"tips", "support-reply"} <= set(EMAIL_KINDS)
