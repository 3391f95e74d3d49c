"""One email as the synthetic customer reads it, whichever mailbox it came from.

Parsing never raises: a malformed message (no subject, HTML only, an unknown charset, a huge body,
many attachments) is kept with the reasons it could not be fully read.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

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
