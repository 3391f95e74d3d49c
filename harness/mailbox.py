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
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
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
    received_at: dt.datetime | None

    def links(self) -> list[str]:
        # An HTML body writes "&" as "&amp;" inside href; the customer's click follows the unescaped link.
        return [html.unescape(link) for link in LINK.findall(self.body)]

    def addressed_to(self, address: str) -> bool:
        """Exactly this recipient: shopper+r1-1@x must never take mail meant for myshopper+r1-1@x."""
        wanted = address.strip().lower()
        return any(found.strip().lower() == wanted for _, found in getaddresses([self.to]))


class Mailbox(Protocol):
    def messages(self) -> list[ReceivedEmail]: ...


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

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

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

    Polls every `poll_s`, else the mailbox's own `poll_s` (an IMAP URL's ?poll=), else every 0.1 s.
    """
    if poll_s is None:
        poll_s = float(getattr(box, "poll_s", 0.1))
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
        time.sleep(poll_s)
