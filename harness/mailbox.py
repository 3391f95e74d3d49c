"""Mailboxes the synthetic customer reads: the demo's mail sink (a Maildir), or a real inbox over IMAP.

One interface, so an email step does not care where the inbox lives.
"""

from __future__ import annotations

import mailbox
import re
import time
from pathlib import Path
from typing import Protocol

from harness.email_message import ReceivedEmail, parse_email
from harness.errors import HarnessError, TargetError


class Mailbox(Protocol):
    poll_s: float

    def messages(self) -> list[ReceivedEmail]: ...

    def wait(self, seconds: float) -> None:
        """Return when new mail may have arrived, or after `seconds` (IMAP IDLE returns early)."""


class NoEmailError(AssertionError):
    """The promised email did not arrive in time: a failed touchpoint, not a harness error."""


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
