"""Mailboxes the synthetic customer reads: the demo's mail sink (a Maildir), or a real inbox over IMAP.

One interface, so an email step does not care where the inbox lives.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.errors import HarnessError, TargetError
from harness.mail.message import ReceivedEmail, parse_email


class Mailbox(Protocol):
    poll_s: float

    def messages(self) -> list[ReceivedEmail]: ...

    def wait(self, seconds: float) -> None:
        """Return when new mail may have arrived, or after `seconds` (IMAP IDLE returns early)."""

    def close(self) -> None: ...


class NoEmailError(AssertionError):
    """The promised email did not arrive in time: a failed touchpoint, not a harness error."""


class MaildirMailbox:
    """A Maildir on disk, as the demo company's SMTP sink or a real mail server writes it."""

    def __init__(self, path: str | Path, poll_s: float = 0.1) -> None:
        self.path = Path(path)
        self.poll_s = poll_s
        self._parsed: dict[str, ReceivedEmail] = {}

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        """Nothing held open between looks."""

    def messages(self) -> list[ReceivedEmail]:
        # Read by hand rather than with mailbox.Maildir: the file's time is when it was delivered,
        # which a Maildir that a real mail server writes has no other record of.
        files: dict[str, Path] = {}
        for sub in ("new", "cur"):
            with contextlib.suppress(FileNotFoundError):
                for entry in os.scandir(self.path / sub):
                    if entry.is_file() and not entry.name.startswith("."):
                        files[entry.name.split(":", 1)[0]] = Path(entry.path)
        # A message's file never changes under its key: parse each once, not at every poll.
        self._parsed = {key: self._parsed[key] for key in files if key in self._parsed}
        for key, path in files.items():
            if key in self._parsed:
                continue
            try:
                raw = path.read_bytes()
                delivered = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            except FileNotFoundError:
                continue  # moved from new/ to cur/ by another reader: found at the next look
            self._parsed[key] = parse_email(key, raw, delivered)
        return list(self._parsed.values())


def lasting_url(url: str) -> str:
    """A mailbox URL that a later process, run from another folder, still finds (`mail poll`)."""
    if url.startswith("maildir:"):
        return "maildir:" + str(Path(url[len("maildir:") :]).resolve())
    return url


def open_mailbox(url: str) -> Mailbox:
    if url.startswith("maildir:"):
        return MaildirMailbox(url[len("maildir:") :])
    if url.startswith(("imap://", "imaps://")):
        from harness.mail.imap import ImapMailbox

        return ImapMailbox.from_url(url)
    scheme = url.split(":", 1)[0]
    raise HarnessError(
        f'mailbox "{scheme}:..." is not supported; use maildir:PATH or imap://USER@HOST:PORT/INBOX'
    )


@dataclass(frozen=True)
class EmailWanted:
    """Which message a step waits for: the customer's address, the map's patterns, and correlation.

    A pending expectation stores this and a later process (`shopper mail poll`) matches with it,
    so it holds plain values only.
    """

    to: str
    subject: str | None = None  # regular expressions, searched
    sender: str | None = None
    body: str | None = None
    # Correlation for replies: the message must carry the ticket reference (in its subject or body)
    # or answer one of these Message-IDs.
    reference: str = ""
    answers: tuple[str, ...] = ()
    # Mailbox keys and Message-IDs of what the customer already read (the acknowledgement that
    # quotes the same reference): never the answer awaited.
    known: tuple[str, ...] = ()
    # Only mail delivered at or after this moment (UTC): a reply cannot come before its question.
    after: dt.datetime | None = None

    def matches(self, message: ReceivedEmail) -> bool:
        if not message.addressed_to(self.to) or message.key in self.known:
            return False
        if message.message_id and message.message_id in self.known:
            return False
        for pattern, text in ((self.subject, message.subject), (self.sender, message.sender)):
            if pattern and not re.search(pattern, text):
                return False
        if self.body and not re.search(self.body, message.body):
            return False
        if self.reference or self.answers:
            quoted = self.reference and (self.reference in message.subject or self.reference in message.body)
            if not quoted and message.in_reply_to not in self.answers:
                return False
        if self.after is None or message.received_at is None:
            return True
        # IMAP's INTERNALDATE has whole seconds: allow the second the trigger ended in.
        return message.received_at >= self.after - dt.timedelta(seconds=1)

    def describe(self) -> str:
        parts = [f'a subject matching "{self.subject}"'] if self.subject else []
        parts += [f'a sender matching "{self.sender}"'] if self.sender else []
        parts += [f'a body matching "{self.body}"'] if self.body else []
        parts += [f"the reference {self.reference}"] if self.reference else []
        return "no email" + (" with " + " and ".join(parts) if parts else "") + f" reached {self.to}"


def wait_for(box: Mailbox, wanted: EmailWanted, *, seen: set[str], timeout_s: float) -> ReceivedEmail:
    """Look until a message `wanted` (and not yet `seen`) arrives; NoEmailError after timeout_s.

    Waits the mailbox's `poll_s` between looks (an IMAP URL's ?poll=); a mailbox that is told of
    new mail (IMAP IDLE) looks again as soon as it is.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            candidates = box.messages()
        except OSError as exc:
            raise TargetError(f"cannot read the mailbox: {exc}") from None
        for message in candidates:
            if message.key not in seen and wanted.matches(message):
                seen.add(message.key)
                return message
        if time.monotonic() >= deadline:
            raise NoEmailError(f"{wanted.describe()} within {timeout_s:g}s")
        box.wait(max(0.0, min(box.poll_s, deadline - time.monotonic())))


def wait_for_email(
    box: Mailbox, *, to: str, subject: str | None, seen: set[str], timeout_s: float
) -> ReceivedEmail:
    """A message to `to` whose subject matches `subject`: the short form of wait_for."""
    return wait_for(box, EmailWanted(to=to, subject=subject), seen=seen, timeout_s=timeout_s)
