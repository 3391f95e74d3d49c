"""Malformed mail is read as far as it can be, with its reasons, and never crashes the mailbox.

Unit tests on raw bytes, then every malformed message sent over real SMTP and read back both from
the sink's Maildir and from a real Dovecot over IMAP.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import quopri
import random
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from dovecot import PASSWORD, Dovecot, next_user

from harness.demo.mailsink import MailSink
from harness.mail.imap import ImapMailbox
from harness.mail.mailbox import MaildirMailbox, open_mailbox, wait_for_email
from harness.mail.message import MAX_BODY_CHARS, ReceivedEmail, parse_email

ACME = "Acme <hello@acme.test>"
UTC = dt.UTC


def mail(
    *headers: bytes | str, body: bytes = b"hello\r\n", to: str = "s@example.test", sender: str = ACME
) -> bytes:
    """Raw bytes exactly as written: nothing here repairs a header on the way in."""
    lines = [b"From: " + sender.encode(), b"To: " + to.encode()]
    lines += [h if isinstance(h, bytes) else h.encode() for h in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def one_line(message: ReceivedEmail) -> None:
    fields = [message.to, message.sender, message.subject, message.message_id, message.in_reply_to]
    for value in fields:
        assert not any(c in value for c in "\r\n\x00\x0b\x0c\u2028\u2029"), repr(value)
    for value in [*fields, message.body, *message.problems]:
        value.encode("utf-8")  # no lone surrogate left for a file, database or JSON to choke on


# --- unit tests: raw bytes in, one ReceivedEmail out -------------------------------------------


def test_a_well_formed_message_fills_every_field() -> None:
    raw = mail(
        "Subject: Confirm your Acme account",
        "Message-ID:   <abc@acme.test>  ",
        "In-Reply-To: <q1@example.test>\r\n <q0@example.test>",
        "Date: Tue, 05 Nov 2024 10:00:00 +0100",
        "Received: from relay2.acme.test by mx.example.test; Tue, 5 Nov 2024 09:00:07 +0000 (UTC)",
        "Received: from app.acme.test by relay2.acme.test; Tue, 5 Nov 2024 09:00:02 +0000",
        body=b"Confirm: https://acme.test/c?t=1&amp;u=2\r\n",
    )
    raw = b"X-Shopper-Received: 2024-11-05T09:00:09.000001+00:00\r\n" + raw  # as the sink prepends it
    message = parse_email("k1", raw, delivered_at=dt.datetime(2030, 1, 1, tzinfo=UTC))
    assert message.problems == []
    assert (message.subject, message.sender, message.to) == (
        "Confirm your Acme account",
        ACME,
        "s@example.test",
    )
    assert message.message_id == "<abc@acme.test>"
    assert message.in_reply_to == "<q1@example.test> <q0@example.test>"
    assert message.date_header == dt.datetime(2024, 11, 5, 9, 0, tzinfo=UTC)
    assert message.date_header.utcoffset() == dt.timedelta(hours=1)
    assert message.relay_received == dt.datetime(2024, 11, 5, 9, 0, 7, tzinfo=UTC)  # the topmost
    # The sink's stamp wins over the mailbox's time.
    assert message.received_at == dt.datetime(2024, 11, 5, 9, 0, 9, 1, tzinfo=UTC)
    assert message.size == len(raw)
    assert message.attachments == 0
    assert message.links() == ["https://acme.test/c?t=1&u=2"]


def test_missing_dates_are_not_problems_and_minus_zero_is_utc() -> None:
    message = parse_email("k", mail("Subject: s"))
    assert (message.date_header, message.relay_received, message.received_at) == (None, None, None)
    assert message.problems == []
    assert parse_email("k", mail("Subject: s", "Date: 5 Nov 2024 09:00 -0000")).date_header == dt.datetime(
        2024, 11, 5, 9, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "date", ["yesterday", "Tue, 5 Nov 99999 09:00:00 +0000", "Tue, 5 Nov 2024 25:61 +0000", ""]
)
def test_an_unreadable_date_is_none_with_a_problem(date: str) -> None:
    message = parse_email("k", mail("Subject: s", f"Date: {date}"))
    assert message.date_header is None
    assert message.problems == ["Date header cannot be read"]


def test_a_received_header_without_a_date_is_a_problem() -> None:
    message = parse_email("k", mail("Subject: s", "Received: from somewhere by mx.example.test"))
    assert message.relay_received is None
    assert message.problems == ["topmost Received header has no readable date"]


def test_a_malformed_stamp_falls_back_to_the_mailbox_time() -> None:
    imap_time = dt.datetime(2024, 11, 5, 9, 1, tzinfo=UTC)
    message = parse_email("k", b"X-Shopper-Received: soon\r\n" + mail("Subject: s"), delivered_at=imap_time)
    assert message.received_at == imap_time
    assert message.problems == ["X-Shopper-Received stamp cannot be read; used the mailbox's time"]


def test_only_the_sinks_own_stamp_counts_not_one_the_sender_wrote() -> None:
    forged = mail("Subject: s", "X-Shopper-Received: 2000-01-01T00:00:00+00:00")
    raw = b"X-Shopper-Received: 2024-11-05T09:00:00+00:00\r\n" + forged
    assert parse_email("k", raw).received_at == dt.datetime(2024, 11, 5, 9, 0, tzinfo=UTC)
    # On a real inbox there is no sink: a stamp the sender wrote never sets the clock.
    imap_time = dt.datetime(2024, 11, 5, 9, 1, tzinfo=UTC)
    assert parse_email("k", forged, delivered_at=imap_time).received_at == imap_time


def test_no_subject_is_an_empty_subject_with_a_problem() -> None:
    message = parse_email("k", mail())
    assert message.subject == ""
    assert message.problems == ["no Subject header"]
    assert message.body == "hello\n"


def test_an_html_only_body_is_readable_text_with_its_links() -> None:
    source = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<p>Welcome&nbsp;to <b>Acme</b>!</p><script>track()</script>"
        "<p><a href='https://acme.test/confirm?t=1&amp;u=2'>Confirm\n your account</a></p>"
        '<div><a href="https://acme.test/help">https://acme.test/help</a></div></body></html>'
    )
    original = EmailMessage()
    original["Subject"] = "Welcome"
    original.set_content(source, subtype="html")
    message = parse_email("k", original.as_bytes())
    assert message.body == (
        "Welcome to Acme!\nConfirm your account (https://acme.test/confirm?t=1&u=2)\nhttps://acme.test/help"
    )
    assert message.links() == ["https://acme.test/confirm?t=1&u=2", "https://acme.test/help"]
    assert message.problems == []


def test_html_the_parser_gives_up_on_is_stripped_and_keeps_its_links() -> None:
    # html.parser raises AssertionError on an unknown marked section.
    source = "<p>Hi</p><![foo[bar]]><a href='https://acme.test/c?t=9'>Confirm</a>"
    raw = mail("Subject: s", "Content-Type: text/html", body=source.encode())
    message = parse_email("k", raw)
    assert "Hi" in message.body and "<p>" not in message.body
    assert message.links() == ["https://acme.test/c?t=9"]
    assert message.problems == ["HTML body is malformed; read without its markup"]


@pytest.mark.parametrize(
    "raw",
    [
        mail("Subject: s", body=b""),
        mail("Subject: s", body=b"\r\n \r\n"),
        mail("Subject: s", "Content-Type: text/html", body=b"<p> </p><script>x()</script>"),
        mail(
            "Subject: s", "Content-Type: image/png", "Content-Transfer-Encoding: base64", body=b"iVBORw0K\r\n"
        ),
        mail("Subject: s", "Content-Type: multipart/mixed", body=b"no boundary, no parts\r\n"),
    ],
    ids=["empty", "blank", "empty-html", "image-only", "multipart-without-boundary"],
)
def test_no_body_at_all_is_noted(raw: bytes) -> None:
    message = parse_email("k", raw)
    assert message.body.strip() == ""
    assert message.problems == ["no readable body"]


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-8859-1", "Café crème, déjà vu"),
        ("windows-1252", "Price: 12 € “today” – ok"),
        ("shift_jis", "ご注文ありがとうございます"),
        ("utf-8", "Grüße 👋"),
    ],
)
@pytest.mark.parametrize("encoding", ["8bit", "quoted-printable", "base64"])
def test_declared_charsets_decode(charset: str, text: str, encoding: str) -> None:
    encoded = text.encode(charset)
    if encoding == "base64":
        encoded = base64.encodebytes(encoded)
    elif encoding == "quoted-printable":
        encoded = quopri.encodestring(encoded)
    raw = mail(
        "Subject: s",
        f"Content-Type: text/plain; charset={charset}",
        f"Content-Transfer-Encoding: {encoding}",
        body=encoded,
    )
    message = parse_email("k", raw)
    assert message.body.strip() == text
    assert message.problems == []


def test_an_unknown_charset_reads_as_utf8_with_replacements() -> None:
    raw = mail(
        "Subject: s", "Content-Type: text/plain; charset=x-unknown-42", body="café \xff".encode("latin-1")
    )
    message = parse_email("k", raw)
    assert message.body == "caf\ufffd \ufffd"
    assert message.problems == ["unknown charset x-unknown-42; read as UTF-8 with replacements"]


def test_bytes_invalid_for_their_charset_are_replaced() -> None:
    raw = mail("Subject: s", "Content-Type: text/plain; charset=utf-8", body=b"ok \xc3\x28 https://a.test/x")
    message = parse_email("k", raw)
    assert message.body == "ok \ufffd( https://a.test/x"
    assert message.links() == ["https://a.test/x"]
    assert message.problems == ["body is not valid utf-8; read with replacements"]


@pytest.mark.parametrize(("charset", "named"), [(b"base64", "base64"), (b"utf\x00-8", "utf -8")])
def test_a_charset_that_is_no_text_codec_is_unknown(charset: bytes, named: str) -> None:
    raw = mail("Subject: s", b"Content-Type: text/plain; charset=" + charset, body=b"aGVsbG8=")
    message = parse_email("k", raw)
    assert message.body == "aGVsbG8="
    assert message.problems == [f"unknown charset {named}; read as UTF-8 with replacements"]


def test_encoded_subjects_and_senders_decode() -> None:
    raw = mail(
        "Subject: =?utf-8?q?Caf=C3=A9_confirm=C3=A9?= =?iso-8859-1?b?IC0gZOlq4CB2dQ==?=",
        to="=?iso-8859-1?q?J=F6rg_M=FCller?= <shopper@example.test>",
        sender="=?utf-8?b?SsO2cmcgYXQgQWNtZQ==?= <Joerg@Acme.test>",
    )
    message = parse_email("k", raw)
    assert message.subject == "Café confirmé - déjà vu"
    assert message.sender == "Jörg at Acme <Joerg@Acme.test>"
    assert message.sender_address == "joerg@acme.test"
    assert message.to == "Jörg Müller <shopper@example.test>"
    assert message.addressed_to("shopper@example.test")
    assert message.problems == []


def test_raw_utf8_in_a_header_is_read_as_utf8() -> None:
    message = parse_email("k", mail("Subject: Grüße aus Köln".encode()))
    assert message.subject == "Grüße aus Köln"


@pytest.mark.parametrize(
    "subject",
    [
        b"=?utf-8?q?broken",
        b"=?utf-8?b?!!!?=",
        b"=?x-unknown-42?q?abc?=",
        b"=?utf-7?q?+2AA-?=",  # decodes to a lone surrogate
        b"=??=",
        b"\xff\xfe not utf-8",
    ],
)
def test_malformed_encoded_words_do_not_crash(subject: bytes) -> None:
    message = parse_email("k", mail(b"Subject: " + subject, body=b"still here"))
    one_line(message)
    assert message.body == "still here"


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        # Python 3.11's own header parsers raise on these.
        ("From", "=?utf-8?b?*?=]:", "]:"),  # what encoded words it has are still decoded
        ("From", ".=?utf-8?q?:=<*", ".=?utf-8?q?:=<*"),
        ("To", "==@[", "==@["),
        ("To", "?=, .[>", "?=, .[>"),
        ("Message-ID", "<", "<"),
    ],
)
def test_headers_the_standard_parser_chokes_on_are_read_as_written(
    header: str, value: str, expected: str
) -> None:
    raw = {
        "From": mail("Subject: s", sender=value, body=b"body"),
        "To": mail("Subject: s", to=value, body=b"body"),
        "Message-ID": mail("Subject: s", f"Message-ID: {value}", body=b"body"),
    }[header]
    message = parse_email("k", raw)
    read = {"From": message.sender, "To": message.to, "Message-ID": message.message_id}[header]
    assert read == expected
    assert message.body == "body"
    assert all("cannot be read" not in problem for problem in message.problems)


def test_a_content_type_that_crashes_the_standard_parser_still_parses() -> None:
    raw = mail("Subject: s", "Content-Type: text/plain; charset*=\"'", body=b"hello")
    message = parse_email("k", raw)
    assert (message.subject, message.body) == ("s", "hello")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"Subject: =?utf-8?q?Hello=0D=0ABcc:_evil@x.test?=", "Hello Bcc: evil@x.test"),
        (b"Subject: Hello\x00Bcc: evil@x.test", "Hello Bcc: evil@x.test"),
        (b"Subject: =?utf-8?b?SGVsbG/igKhCY2M6IGV2aWw=?=", "Hello Bcc: evil"),  # U+2028
        (b"Subject: =?utf-8?q?Hello=0B=0C=1B[31m?=", "Hello [31m"),
    ],
)
def test_header_injection_comes_out_as_one_line(header: bytes, expected: str) -> None:
    message = parse_email("k", mail(header))
    assert message.subject == expected
    assert message.problems == ["Subject header had line breaks or control characters; read as one line"]
    one_line(message)


def test_an_injected_recipient_does_not_address_the_message_to_it() -> None:
    message = parse_email("k", mail("Subject: s", to="=?utf-8?q?a=0D=0ABcc:?= <s@example.test>"))
    one_line(message)
    assert message.addressed_to("s@example.test")
    assert not message.addressed_to("bcc:")


def test_a_bare_cr_in_a_header_starts_a_new_header_not_a_new_line() -> None:
    message = parse_email("k", mail(b"Subject: Hello\rBcc: evil@x.test"))
    assert message.subject == "Hello"
    one_line(message)


def test_a_huge_body_is_cut_when_parsed() -> None:
    line = b"Confirm: https://acme.test/c?t=1 " + b"x" * 60 + b"\r\n"
    raw = mail(
        "Subject: big", "Content-Type: text/plain; charset=utf-8", body=line * (20_000_000 // len(line))
    )
    assert len(raw) > 19_900_000
    message = parse_email("k", raw)
    assert len(message.body) == MAX_BODY_CHARS
    assert message.problems == ["body cut at 1,000,000 characters"]
    assert message.links()[0] == "https://acme.test/c?t=1"
    assert message.size == len(raw)


def test_a_huge_html_body_is_cut_before_it_is_converted() -> None:
    chunk = "<p><a href='https://acme.test/c?t=1'>Confirm</a> and some more words</p>\n"
    raw = mail("Subject: big", "Content-Type: text/html", body=(chunk * 300_000).encode())
    message = parse_email("k", raw)
    assert 0 < len(message.body) <= MAX_BODY_CHARS
    assert message.problems == ["body cut at 1,000,000 characters"]
    assert message.links()[0] == "https://acme.test/c?t=1"


def many_attachments(count: int = 200, to: str = "s@example.test") -> bytes:
    original = EmailMessage()
    original["From"], original["To"], original["Subject"] = ACME, to, "Your invoices"
    original.set_content("Invoices attached: https://acme.test/invoices\n")
    for number in range(count):
        original.add_attachment(
            b"\x00PK" * 3000, maintype="application", subtype="pdf", filename=f"{number}.pdf"
        )
    original.add_attachment("inline, no filename", disposition="attachment")
    return original.as_bytes(policy=email.policy.SMTP)  # CRLF, as it travels


def test_many_attachments_are_counted_not_read_into_the_body() -> None:
    message = parse_email("k", many_attachments())
    assert message.attachments == 201
    assert message.body == "Invoices attached: https://acme.test/invoices\n"
    assert message.problems == []


def test_attachments_only_is_counted_with_no_readable_body() -> None:
    original = EmailMessage()
    original["Subject"] = "s"
    original.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="a.pdf")
    message = parse_email("k", original.as_bytes())
    assert message.attachments == 1
    assert message.problems == ["no readable body"]


def nested(depth: int) -> bytes:
    opening = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(1, depth)
    )
    body = b"--b0\r\n" + opening + b"Content-Type: text/plain\r\n\r\nhi\r\n"
    return mail(
        "Subject: deep", "Content-Type: multipart/mixed; boundary=b0", to="deep@example.test", body=body
    )


def test_a_message_that_cannot_be_parsed_at_all_is_empty_with_its_reason() -> None:
    delivered, raw = dt.datetime(2024, 11, 5, tzinfo=UTC), nested(3000)
    message = parse_email("k", raw, delivered_at=delivered)
    assert message.problems == ["could not be parsed: MIME parts nested too deeply"]
    assert (message.to, message.sender, message.subject, message.body) == ("", "", "", "")
    assert message.received_at == delivered and message.size == len(raw)
    assert not message.addressed_to("deep@example.test")  # skipped by the email steps


def test_any_failure_inside_the_parser_becomes_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("the parser broke\r\nBcc: x")

    monkeypatch.setattr(email, "message_from_bytes", broken)
    message = parse_email("k", mail("Subject: s"))
    assert message.problems == ["could not be parsed: the parser broke Bcc: x"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"\x00" * 100,
        bytes(range(256)) * 4,
        b"Subject",
        b":\r\n:\r\n",
        b"From: <\r\n\r\n\xff",
    ],
    ids=["empty", "blank", "nul", "all-bytes", "half-header", "colons", "bad-from"],
)
def test_garbage_never_raises(raw: bytes) -> None:
    message = parse_email("k", raw)
    assert message.key == "k" and message.size == len(raw)
    one_line(message)


def test_mutated_messages_never_raise() -> None:
    """Random splices of the nastiest pieces above into every header and part boundary."""
    pieces = b'" < > @ , ; ( \\ [ =?utf-8?q? ?= =?utf-8?b? \xff \xc3 \r \n \x00'.split()
    pieces += b"*=\"' boundary= -- filename*= charset= Content-Type: multipart/ text/html <a href='".split()
    original = EmailMessage()
    original["From"], original["To"], original["Subject"] = ACME, "s@example.test", "Grüße"
    original["Date"], original["Received"] = (
        "Tue, 5 Nov 2024 09:00:00 +0000",
        "from a; 5 Nov 2024 09:00 +0000",
    )
    original.set_content("Confirm: https://acme.test/c?t=1\n")
    original.add_alternative("<p><a href='https://acme.test/c?t=1'>Confirm</a></p>", subtype="html")
    original.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="a.pdf")
    base = original.as_bytes()
    assert parse_email("k", base).problems == []
    generator = random.Random(7)
    for _ in range(800):
        raw = bytearray(base)
        for _ in range(generator.randint(1, 6)):
            at = generator.randrange(len(raw))
            raw[at:at] = generator.choice(pieces) * generator.randint(1, 3)
        one_line(parse_email("k", bytes(raw)))


# --- end to end: over real SMTP, read back from the sink's Maildir and from Dovecot over IMAP ---------


@dataclass
class Case:
    name: str
    raw: bytes
    subject: str
    body: str  # the body contains this
    problems: list[str] = field(default_factory=list)
    attachments: int = 0

    @property
    def to(self) -> str:
        return to(self.name)


def to(name: str) -> str:
    return f"shopper+{name}@example.test"


def cases() -> list[Case]:
    huge_line = b"Confirm: https://acme.test/c?t=big " + b"y" * 60 + b"\r\n"
    return [
        Case("no-subject", mail(to=to("no-subject")), "", "hello", ["no Subject header"]),
        Case(
            "html-only",
            mail(
                "Subject: Welcome",
                "Content-Type: text/html; charset=utf-8",
                to=to("html-only"),
                body=b'<p>Hi <a href="https://acme.test/c?t=1&amp;u=2">confirm</a></p>',
            ),
            "Welcome",
            "Hi confirm (https://acme.test/c?t=1&u=2)",
        ),
        Case(
            "latin1",
            mail(
                "Subject: =?iso-8859-1?q?R=E9sum=E9?=",
                "Content-Type: text/plain; charset=iso-8859-1",
                "Content-Transfer-Encoding: 8bit",
                to=to("latin1"),
                body="Déjà vu\r\n".encode("latin-1"),
            ),
            "Résumé",
            "Déjà vu",
        ),
        Case(
            "sjis",
            mail(
                "Subject: =?shift_jis?b?grKSjZW2?=",
                "Content-Type: text/plain; charset=shift_jis",
                "Content-Transfer-Encoding: 8bit",
                to=to("sjis"),
                body="ご注文\r\n".encode("shift_jis"),
            ),
            "ご注文",
            "ご注文",
        ),
        Case(
            "unknown-charset",
            mail(
                "Subject: s",
                "Content-Type: text/plain; charset=x-unknown-42",
                to=to("unknown-charset"),
                body=b"caf\xe9\r\n",
            ),
            "s",
            "caf\ufffd",
            ["unknown charset x-unknown-42; read as UTF-8 with replacements"],
        ),
        Case(
            "bad-encoded-word",
            mail(b"Subject: =?utf-8?b?!!!?= =?utf-8?q?broken", to=to("bad-encoded-word")),
            "=?utf-8?q?broken",
            "hello",
        ),
        Case(
            "injection",
            mail("Subject: =?utf-8?q?Hello=0D=0ABcc:_evil@x.test?=", to=to("injection")),
            "Hello Bcc: evil@x.test",
            "hello",
            ["Subject header had line breaks or control characters; read as one line"],
        ),
        Case(
            "crashing-from",
            mail("Subject: s", to=to("crashing-from"), sender="==@["),
            "s",
            "hello",
            ["From header is malformed; read as written"],
        ),
        Case(
            "huge",
            mail("Subject: big", to=to("huge"), body=huge_line * (20_000_000 // len(huge_line))),
            "big",
            "Confirm: https://acme.test/c?t=big",
            ["body cut at 1,000,000 characters"],
        ),
        Case(
            "attachments",
            many_attachments(200, to("attachments")),
            "Your invoices",
            "Invoices attached: https://acme.test/invoices",
            attachments=201,
        ),
        Case("deep", nested(3000), "", "", ["could not be parsed: MIME parts nested too deeply"]),
    ]


@pytest.fixture(scope="module")
def delivered(dovecot_server: Dovecot) -> Iterator[dict[str, tuple[Case, ReceivedEmail, ReceivedEmail]]]:
    """Every case sent once over SMTP: case name -> (case, read from the Maildir, read over IMAP)."""
    dovecot = dovecot_server.add_user(next_user())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOPPER_IMAP_PASSWORD", PASSWORD)
        with MailSink(dovecot.maildir) as sink, smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as smtp:
            for case in cases():
                assert smtp.sendmail("hello@acme.test", [case.to], case.raw) == {}
        from_maildir = MaildirMailbox(dovecot.maildir).messages()
        box = open_mailbox(dovecot.url())
        assert isinstance(box, ImapMailbox)
        from_imap = box.messages()
        # The broken ones must not stop a step from finding its email among them.
        first = cases()[0]
        assert wait_for_email(box, to=first.to, subject=None, seen=set(), timeout_s=5).subject == ""
        box.close()
        yield {case.name: (case, pick(from_maildir, case), pick(from_imap, case)) for case in cases()}


def pick(messages: list[ReceivedEmail], case: Case) -> ReceivedEmail:
    """The one message of this case: by recipient, or, for one that could not be parsed, by its reason."""
    found = [
        m
        for m in messages
        if (m.problems == case.problems if case.name == "deep" else m.addressed_to(case.to))
    ]
    assert len(found) == 1, (case.name, len(found))
    return found[0]


@pytest.mark.parametrize("name", [case.name for case in cases()])
def test_malformed_mail_sent_over_smtp_reads_back_from_maildir_and_imap(
    name: str, delivered: dict[str, tuple[Case, ReceivedEmail, ReceivedEmail]]
) -> None:
    case, from_maildir, from_imap = delivered[name]
    for message in (from_maildir, from_imap):
        assert message.subject == case.subject
        assert case.body in message.body
        assert message.problems == case.problems
        assert message.attachments == case.attachments
        one_line(message)
    assert from_maildir.key != from_imap.key and from_imap.key.startswith("imap:")
    if name == "deep":
        # The sink's stamp is lost with the rest of it; the mailbox still knows when it arrived.
        assert from_maildir.received_at is not None and from_imap.received_at is not None
    else:  # the sink's stamp, read from the same file both ways
        assert from_maildir.received_at is not None and from_maildir.received_at == from_imap.received_at
    assert from_maildir.body == from_imap.body
