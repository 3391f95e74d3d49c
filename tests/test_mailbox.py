"""Reading the customer's inbox: real SMTP into the demo's Maildir sink, read back by the harness."""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from harness.demo.mailsink import MailSink
from harness.errors import HarnessError
from harness.mail.mailbox import MaildirMailbox, NoEmailError, open_mailbox, wait_for_email
from harness.mail.message import ReceivedEmail

SENDER = "Acme <hello@acme.test>"
ONE = "shopper+abc-1@example.test"
TWO = "shopper+abc-2@example.test"


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail") as running:
        yield running


def send(sink: MailSink, to: str, subject: str, body: str, *, html: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        smtp.send_message(message)


def send_raw(sink: MailSink, to: str, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        smtp.sendmail("hello@acme.test", [to], raw)


def wait(
    box: MaildirMailbox, to: str, subject: str | None = None, seen: set[str] | None = None
) -> ReceivedEmail:
    return wait_for_email(box, to=to, subject=subject, seen=set() if seen is None else seen, timeout_s=5)


def test_a_sent_message_is_read_back(sink: MailSink) -> None:
    before = dt.datetime.now(dt.UTC)
    send(sink, ONE, "Confirm your Acme account", "Welcome!\nConfirm: https://acme.test/confirm?token=t1\n")
    message = wait(MaildirMailbox(sink.maildir), ONE)
    assert message.to == ONE
    assert message.sender == SENDER
    assert message.subject == "Confirm your Acme account"
    assert "Welcome!" in message.body
    assert message.links() == ["https://acme.test/confirm?token=t1"]
    # Stamped by the sink on delivery, in UTC.
    assert message.received_at is not None
    assert message.received_at.utcoffset() == dt.timedelta(0)
    assert message.received_at >= before - dt.timedelta(seconds=1)


def test_open_mailbox_reads_a_maildir(sink: MailSink) -> None:
    send(sink, ONE, "Hello", "Hi there")
    box = open_mailbox(f"maildir:{sink.maildir}")
    assert isinstance(box, MaildirMailbox)
    assert box.path == sink.maildir
    assert wait_for_email(box, to=ONE, subject=None, seen=set(), timeout_s=5).body.strip() == "Hi there"
    assert [m.subject for m in box.messages()] == ["Hello"]


def test_plus_addresses_never_take_each_others_mail(sink: MailSink) -> None:
    send(sink, TWO, "Confirm your Acme account", "for two: https://acme.test/confirm?token=two")
    send(sink, ONE, "Confirm your Acme account", "for one: https://acme.test/confirm?token=one")
    box = MaildirMailbox(sink.maildir)
    seen: set[str] = set()
    first = wait(box, ONE, seen=seen)
    second = wait(box, TWO, seen=seen)
    assert first.to == ONE and first.links() == ["https://acme.test/confirm?token=one"]
    assert second.to == TWO and second.links() == ["https://acme.test/confirm?token=two"]
    # One has had its only message: the other one's is not handed over instead.
    with pytest.raises(NoEmailError):
        wait_for_email(box, to=ONE, subject=None, seen=seen, timeout_s=0.3)


def test_recipient_match_ignores_case(sink: MailSink) -> None:
    send(sink, "Shopper+ABC-1@Example.test", "Hello", "Hi")
    assert wait(MaildirMailbox(sink.maildir), ONE).subject == "Hello"


def test_subject_is_a_regular_expression(sink: MailSink) -> None:
    send(sink, ONE, "Your Acme newsletter", "news")
    send(sink, ONE, "Confirm your Acme account (action needed)", "https://acme.test/confirm?token=x")
    box = MaildirMailbox(sink.maildir)
    confirm = wait(box, ONE, subject=r"^Confirm your Acme account")
    assert confirm.subject == "Confirm your Acme account (action needed)"
    news = wait(box, ONE, subject=r"news(letter)?$")
    assert news.subject == "Your Acme newsletter"
    with pytest.raises(NoEmailError) as caught:
        wait_for_email(box, to=ONE, subject="demo is booked", seen=set(), timeout_s=0.3)
    assert 'with a subject matching "demo is booked"' in str(caught.value)


def test_seen_excludes_messages_already_taken(sink: MailSink) -> None:
    send(sink, ONE, "Hello 1", "first")
    send(sink, ONE, "Hello 2", "second")
    box = MaildirMailbox(sink.maildir)
    seen: set[str] = set()
    first = wait(box, ONE, seen=seen)
    assert seen == {first.key}
    second = wait(box, ONE, seen=seen)
    assert second.key != first.key
    assert {first.subject, second.subject} == {"Hello 1", "Hello 2"}
    assert seen == {first.key, second.key}
    with pytest.raises(NoEmailError):
        wait_for_email(box, to=ONE, subject=None, seen=seen, timeout_s=0.3)


def test_a_message_that_never_comes_fails_the_touchpoint(sink: MailSink) -> None:
    send(sink, TWO, "Confirm your Acme account", "not for one")
    box = MaildirMailbox(sink.maildir, poll_s=0.05)
    with pytest.raises(NoEmailError) as caught:
        wait_for_email(box, to=ONE, subject="Confirm", seen=set(), timeout_s=0.3)
    # A failed touchpoint is an assertion, not a harness error.
    assert isinstance(caught.value, AssertionError)
    assert not isinstance(caught.value, HarnessError)
    assert f"reached {ONE} within 0.3s" in str(caught.value)


def test_an_empty_or_missing_maildir_has_no_messages(tmp_path: Path) -> None:
    assert MaildirMailbox(tmp_path / "nowhere").messages() == []
    with pytest.raises(NoEmailError):
        wait_for_email(MaildirMailbox(tmp_path / "nowhere"), to=ONE, subject=None, seen=set(), timeout_s=0.3)


def test_a_message_arriving_while_waiting_is_found(sink: MailSink) -> None:
    # Sent from another thread once the wait has begun: a later poll must pick it up.
    box = MaildirMailbox(sink.maildir)
    assert box.messages() == []
    sender = threading.Timer(0.2, send, args=(sink, ONE, "Late", "here now"))
    sender.start()
    try:
        assert wait(box, ONE).subject == "Late"
    finally:
        sender.join()


def test_html_only_message(sink: MailSink) -> None:
    raw = (
        f"From: {SENDER}\r\nTo: {ONE}\r\nSubject: Confirm your Acme account\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        '<html><body><p>Welcome</p><a href="https://acme.test/confirm?token=h1">Confirm</a></body></html>\r\n'
    ).encode()
    send_raw(sink, ONE, raw)
    message = wait(MaildirMailbox(sink.maildir), ONE)
    # Read as the customer sees it: text, with the link still there to follow.
    assert "Welcome" in message.body and "<p>" not in message.body
    assert message.links() == ["https://acme.test/confirm?token=h1"]


def test_plain_text_is_preferred_over_html(sink: MailSink) -> None:
    send(
        sink,
        ONE,
        "Both",
        "plain: https://acme.test/plain",
        html='<p>html: <a href="https://acme.test/html">x</a></p>',
    )
    message = wait(MaildirMailbox(sink.maildir), ONE)
    assert message.body.startswith("plain:")
    assert message.links() == ["https://acme.test/plain"]


def test_latin1_message(sink: MailSink) -> None:
    raw = (
        f"From: {SENDER}\r\nTo: {ONE}\r\nSubject: Bienvenue\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + "Café prêt: https://acme.test/confirm?token=l1\r\n".encode("latin-1")
    send_raw(sink, ONE, raw)
    message = wait(MaildirMailbox(sink.maildir), ONE)
    assert "Café prêt" in message.body
    assert message.links() == ["https://acme.test/confirm?token=l1"]


def test_latin1_bytes_labelled_as_utf8_do_not_crash(sink: MailSink) -> None:
    raw = (
        f"From: {SENDER}\r\nTo: {ONE}\r\nSubject: Mislabelled\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode("ascii") + "Caf\xe9 https://acme.test/confirm?token=m1\r\n".encode("latin-1")
    send_raw(sink, ONE, raw)
    message = wait(MaildirMailbox(sink.maildir), ONE)
    assert message.body.startswith("Caf")
    assert "\xe9" not in message.body  # not guessed, replaced
    assert message.links() == ["https://acme.test/confirm?token=m1"]


def test_unknown_charset_does_not_crash(sink: MailSink) -> None:
    raw = (
        f"From: {SENDER}\r\nTo: {ONE}\r\nSubject: Odd\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
        "see https://acme.test/odd\r\n"
    ).encode("ascii")
    send_raw(sink, ONE, raw)
    message = wait(MaildirMailbox(sink.maildir), ONE)
    assert message.links() == ["https://acme.test/odd"]


def test_open_mailbox_rejects_what_it_cannot_read() -> None:
    with pytest.raises(HarnessError) as caught:
        open_mailbox("pop3://user:pw@x")
    assert str(caught.value).startswith('mailbox "pop3:..." is not supported')
    assert "maildir:" in str(caught.value) and "imap://" in str(caught.value)
    assert "pw" not in str(caught.value)


def test_a_maildir_a_mail_server_wrote_dates_a_message_by_its_delivery(tmp_path: Path) -> None:
    # Postfix or Dovecot write no stamp of ours: the file's time is when the message was delivered.
    for sub in ("tmp", "new", "cur"):
        (tmp_path / sub).mkdir()
    delivered = dt.datetime(2026, 11, 23, 9, 30, 15, tzinfo=dt.UTC)
    path = tmp_path / "cur" / "1795450000.M1P2.mx:2,S"
    path.write_bytes(f"From: {SENDER}\r\nTo: {ONE}\r\nSubject: Re: [T-1] Help\r\n\r\nHello\r\n".encode())
    os.utime(path, (delivered.timestamp(), delivered.timestamp()))
    [message] = MaildirMailbox(tmp_path).messages()
    assert message.key == "1795450000.M1P2.mx"  # the same key whether in new/ or cur/
    assert message.received_at == delivered
