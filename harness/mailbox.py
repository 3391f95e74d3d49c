"""Mailboxes the synthetic customer reads: the demo's mail sink (a Maildir), or a real inbox over IMAP.

One interface, so an email step does not care where the inbox lives.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import mailbox
import re
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Protocol

from harness.errors import HarnessError, TargetError

LINK = re.compile(r"https?://[^\s<>\"')]+")


@dataclass
class ReceivedEmail:
    key: str
    to: str
    sender: str
    subject: str
    body: str
    # When the customer's mailbox got it: the demo sink's delivery stamp or IMAP's INTERNALDATE.
    received_at: dt.datetime | None
    message_id: str = ""
    in_reply_to: str = ""
    # Cross-checks only, never the measurement: the sender's clock (Date) and the first relay's
    # (the topmost Received header) can both be wrong, but a large disagreement is worth showing.
    date_header: dt.datetime | None = None
    relay_received: dt.datetime | None = None
    size: int = 0
    attachments: int = 0
    # What could not be read, in plain words ("no Subject header", "unknown charset x-foo"):
    # a malformed message is kept with its reasons, never a crash.
    problems: list[str] = field(default_factory=list)

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1].strip().lower()

    @property
    def sender_domain(self) -> str:
        """The sending system, as the inbox audit counts them."""
        address = self.sender_address
        return address.rsplit("@", 1)[1] if "@" in address else ""

    def links(self) -> list[str]:
        # An HTML body writes "&" as "&amp;" inside href; the customer's click follows the unescaped link.
        return [html.unescape(link) for link in LINK.findall(self.body)]

    def addressed_to(self, address: str) -> bool:
        """Exactly this recipient: shopper+r1-1@x must never take mail meant for myshopper+r1-1@x."""
        wanted = address.strip().lower()
        return any(found.strip().lower() == wanted for _, found in getaddresses([self.to]))


class Mailbox(Protocol):
    poll_s: float

    def messages(self) -> list[ReceivedEmail]: ...

    def wait(self, seconds: float) -> None:
        """Return when new mail may have arrived, or after `seconds` (IMAP IDLE returns early)."""


class NoEmailError(AssertionError):
    """The promised email did not arrive in time: a failed touchpoint, not a harness error."""


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def parse_email(key: str, raw: bytes, delivered_at: dt.datetime | None = None) -> ReceivedEmail:
    """One message as the customer reads it, whichever mailbox it came from.

    The demo sink's delivery stamp wins; otherwise `delivered_at` (IMAP's INTERNALDATE) is used.
    """
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    stamp = parsed.get("X-Shopper-Received")
    return ReceivedEmail(
        key=key,
        to=str(parsed.get("To", "")),
        sender=str(parsed.get("From", "")),
        subject=str(parsed.get("Subject", "")),
        body=_body_text(parsed),
        received_at=dt.datetime.fromisoformat(str(stamp)) if stamp else delivered_at,
    )


class MaildirMailbox:
    """A Maildir on disk, as written by the demo company's SMTP sink."""

    def __init__(self, path: str | Path, poll_s: float = 0.1) -> None:
        self.path = Path(path)
        self.poll_s = poll_s

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def messages(self) -> list[ReceivedEmail]:
        if not (self.path / "new").exists() and not (self.path / "cur").exists():
            return []
        found = []
        box = mailbox.Maildir(self.path, factory=None, create=False)
        for key in box.iterkeys():
            try:
                with box.get_file(key) as handle:
                    raw = handle.read()
            except (KeyError, FileNotFoundError):
                continue
            found.append(parse_email(key, raw))
        return found


def open_mailbox(url: str) -> Mailbox:
    if url.startswith("maildir:"):
        return MaildirMailbox(url[len("maildir:") :])
    if url.startswith(("imap://", "imaps://")):
        from harness.imap import ImapMailbox

        return ImapMailbox.from_url(url)
    scheme = url.split(":", 1)[0]
    raise HarnessError(
        f'mailbox "{scheme}:..." is not supported; use maildir:PATH or imap://USER@HOST:PORT/INBOX'
    )


def wait_for_email(
    box: Mailbox,
    *,
    to: str,
    subject: str | None,
    seen: set[str],
    timeout_s: float,
    poll_s: float | None = None,
) -> ReceivedEmail:
    """Poll until a message to `to` (subject matching, not yet seen) arrives, or fail after timeout_s.

    Waits `poll_s` between looks, else the mailbox's own `poll_s` (an IMAP URL's ?poll=); a mailbox
    that is told of new mail (IMAP IDLE) looks again as soon as it is.
    """
    if poll_s is None:
        poll_s = box.poll_s
    deadline = time.monotonic() + timeout_s
    pattern = re.compile(subject) if subject else None
    while True:
        try:
            candidates = box.messages()
        except OSError as exc:
            raise TargetError(f"cannot read the mailbox: {exc}") from None
        for message in candidates:
            if message.key in seen or not message.addressed_to(to):
                continue
            if pattern is not None and not pattern.search(message.subject):
                continue
            seen.add(message.key)
            return message
        if time.monotonic() >= deadline:
            wanted = f' with a subject matching "{subject}"' if subject else ""
            raise NoEmailError(f"no email{wanted} reached {to} within {timeout_s:g}s")
        box.wait(max(0.0, min(poll_s, deadline - time.monotonic())))
