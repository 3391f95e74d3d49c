"""The IMAP mailbox over TLS against a real Dovecot: imaps://, ?starttls=1, and a private CA (?cafile=)."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from dovecot import PASSWORD, Dovecot, running_dovecot, send, time_a_delayed_email

from harness.demo.mailsink import MailSink
from harness.errors import TargetError
from harness.mail.imap import ImapMailbox
from harness.mail.mailbox import open_mailbox, wait_for_email

TO = "shopper+r1-1@example.test"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPPER_IMAP_PASSWORD", PASSWORD)
    # Only ?cafile= may make the test certificate trusted, never a trust store left in the environment.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """One TLS Dovecot for the module: each test sends to its own address or reads no mail."""
    with running_dovecot(tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def sink(dovecot: Dovecot) -> Iterator[MailSink]:
    with MailSink(dovecot.maildir) as running:
        yield running


def opened(url: str) -> ImapMailbox:
    box = open_mailbox(url)
    assert isinstance(box, ImapMailbox)
    return box


def refusal(url: str) -> str:
    """The TargetError reading the mailbox gives: one sentence, nothing chained, no password."""
    with pytest.raises(TargetError) as caught:
        opened(url).messages()
    text = str(caught.value)
    assert PASSWORD not in text + repr(caught.value)
    error = caught.value  # no chained traceback for a reader to wade through
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    assert "\n" not in text and not re.search(r"[.!?](\s|$)", text), text
    return text


@pytest.mark.parametrize("imaps", [True, False], ids=["imaps", "starttls"])
def test_a_message_is_read_over_tls_from_a_server_with_a_private_ca(
    dovecot: Dovecot, sink: MailSink, imaps: bool
) -> None:
    to = f"shopper+{'imaps' if imaps else 'starttls'}-1@example.test"
    send(sink, to, "Confirm your Acme account", "Confirm: https://acme.test/c?t=1\n")
    box = opened(dovecot.url(f"cafile={dovecot.cafile}" + ("" if imaps else "&starttls=1"), imaps=imaps))
    assert box.port == (dovecot.tls_port if imaps else dovecot.port)
    message = wait_for_email(box, to=to, subject="Confirm", seen=set(), timeout_s=5)
    assert message.links() == ["https://acme.test/c?t=1"]
    assert box._connection is not None
    tls = box._connection.socket()
    assert isinstance(tls, ssl.SSLSocket)
    assert tls.version() in ("TLSv1.2", "TLSv1.3")
    box.close()


def test_idle_works_over_tls(dovecot: Dovecot, sink: MailSink) -> None:
    """IDLE reads through TLS's own buffer too: the delayed email comes seconds before the next poll."""
    idle = opened(dovecot.url(f"cafile={dovecot.cafile}&poll=4", imaps=True))
    polling = opened(dovecot.url(f"cafile={dovecot.cafile}&poll=4&idle=0", imaps=True))
    idled, polled = time_a_delayed_email([idle, polling], sink, 1.0, to="shopper+idle-1@example.test")
    assert 1.0 <= idled < polled, (idled, polled)  # the polling box looks again at 4 s, no sooner


@pytest.mark.parametrize("imaps", [True, False], ids=["imaps", "starttls"])
def test_an_untrusted_certificate_is_one_sentence_about_the_handshake(dovecot: Dovecot, imaps: bool) -> None:
    text = refusal(dovecot.url("" if imaps else "starttls=1", imaps=imaps))
    port = dovecot.tls_port if imaps else dovecot.port
    assert re.fullmatch(
        rf"the IMAP server at 127\.0\.0\.1:{port} failed the TLS handshake \(certificate not trusted: "
        r"self.signed certificate; a private CA can be named with \?cafile=PATH\)",
        text,
    ), text


def test_the_host_name_is_checked_even_with_a_trusted_ca() -> None:
    with running_dovecot(tls=True, names=("localhost",)) as server:
        text = refusal(server.url(f"cafile={server.cafile}", imaps=True))
    assert text.startswith(f"the IMAP server at 127.0.0.1:{server.tls_port} failed the TLS handshake (")
    assert text.endswith("mismatch, certificate is not valid for '127.0.0.1')"), text


def test_starttls_against_a_server_without_tls_is_one_sentence(dovecot_server: Dovecot) -> None:
    plain = dovecot_server  # the run's shared server speaks no TLS
    text = refusal(plain.url("starttls=1"))
    assert text == (
        f"the IMAP server at 127.0.0.1:{plain.port} does not offer STARTTLS, "
        "so the mailbox is not read in the clear"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "No such file or directory"), ("not a certificate\n", "no PEM certificate")],
    ids=["missing", "not-pem"],
)
def test_a_cafile_that_cannot_be_used_is_one_sentence(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    cafile = tmp_path / "company-ca.pem"
    if content is not None:
        cafile.write_text(content)
    # Said when the mailbox is opened: no server is needed to find out.
    with pytest.raises(TargetError) as caught:
        open_mailbox(f"imaps://shopper@127.0.0.1:1/INBOX?cafile={cafile}")
    assert str(caught.value) == f"the IMAP mailbox's ?cafile= {cafile} cannot be used ({reason})"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(TargetError) as plain:
        open_mailbox(f"imap://shopper@127.0.0.1:1/INBOX?cafile={cafile}")
    assert str(plain.value) == "?cafile= only applies over TLS: use imaps:// or add ?starttls=1"
