"""One email as the synthetic customer reads it, whichever mailbox it came from.

Parsing never raises: a malformed message (no subject, HTML only, an unknown charset, a huge body,
many attachments) is kept with the reasons it could not be fully read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.errors
import email.policy
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader
from email.message import EmailMessage, MIMEPart
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any, TypeVar, cast

from harness.observation import MessageReceived

LINK = re.compile(r"https?://[^\s<>\"')]+")
# A confirmation link sits near the top; the rest of a 20 MB body would only slow every poll.
MAX_BODY_CHARS = 1_000_000
# The demo sink's delivery stamp (harness.demo.mailsink), spelled here so reading mail needs no demo.
STAMP = "X-Shopper-Received"
# Every reader of a header field (report, JSON, log line) expects one line; a line break that
# survives unfolding came from an encoded word or a NUL/CR trick, i.e. damage or an injection attempt.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]+")
TAG = re.compile(r"<[^>]*>")
HREF = re.compile(r"""href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
T = TypeVar("T")


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
        if not wanted:
            return False  # a message that could not be read has no recipient: it is nobody's
        return any(found.strip().lower() == wanted for _, found in getaddresses([self.to]))


class _TolerantPolicy(email.policy.EmailPolicy):
    """policy.default, except that a header its parser raises on (Python 3.11 does on some malformed
    From, To, Message-ID and Content-Type values, even mid-parse) comes back as the raw string."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        try:
            return super().header_fetch_parse(name, value)
        except Exception:
            return "".join(value.splitlines())


_TOLERANT = _TolerantPolicy()


def parse_email(key: str, raw: bytes, delivered_at: dt.datetime | None = None) -> ReceivedEmail:
    """One message as the customer reads it, whichever mailbox it came from.

    The demo sink's delivery stamp wins; otherwise `delivered_at` (IMAP's INTERNALDATE, a Maildir
    file's time) is used.
    A message that cannot be parsed at all comes back empty with the reason: it matches no
    recipient, so the email steps skip it, and the mailbox keeps being read.
    """
    try:
        return _parse(key, raw, delivered_at)
    except Exception as exc:
        reason = "MIME parts nested too deeply" if isinstance(exc, RecursionError) else _short(str(exc))
        problem = f"could not be parsed: {reason or type(exc).__name__}"
        return ReceivedEmail(key, "", "", "", "", delivered_at, size=len(raw), problems=[problem])


def _parse(key: str, raw: bytes, delivered_at: dt.datetime | None) -> ReceivedEmail:
    problems: list[str] = []
    message = cast(EmailMessage, email.message_from_bytes(raw, policy=_TOLERANT))  # its message_factory

    def attempt(problem: str, read: Callable[[], T], default: T) -> T:
        # One unreadable field loses that field, not the message.
        try:
            return read()
        except Exception:
            problems.append(problem)
            return default

    def header(name: str) -> str:
        return attempt(f"{name} header cannot be read", lambda: _header(message, name, problems), "")

    def when(name: str, problem: str) -> dt.datetime | None:
        return attempt(problem, lambda: _when(message, name), None)

    if "Subject" not in message:
        problems.append("no Subject header")
    # The sink prepends its stamp: only a stamp that is the message's first header is the sink's.
    # One further down came with the message, from whoever sent it, and must not set the clock.
    first = attempt("headers cannot be listed", lambda: next(iter(message.keys()), ""), "")
    stamp = when(STAMP, f"{STAMP} stamp cannot be read; used the mailbox's time") if first == STAMP else None
    return ReceivedEmail(
        key=key,
        to=header("To"),
        sender=header("From"),
        subject=header("Subject"),
        body=attempt("body cannot be read", lambda: _body(message, problems), ""),
        received_at=stamp or delivered_at,
        message_id=_raw(message, "Message-ID", problems),
        in_reply_to=_raw(message, "In-Reply-To", problems),
        date_header=when("Date", "Date header cannot be read"),
        relay_received=when("Received", "topmost Received header has no readable date"),
        size=len(raw),
        attachments=attempt("attachments cannot be counted", lambda: _attachments(message), 0),
        problems=problems,
    )


def _header(message: EmailMessage, name: str, problems: list[str]) -> str:
    value = message.get(name)
    if value is not None and not isinstance(value, BaseHeader):
        problems.append(f"{name} header is malformed; read as written")
        # If its encoded words are broken too, it stays exactly as written.
        with contextlib.suppress(email.errors.HeaderParseError, LookupError, ValueError):
            value = str(make_header(decode_header(value)))
    return "" if value is None else _one_line(str(value), name, problems)


def _raw(message: EmailMessage, name: str, problems: list[str]) -> str:
    """The first such header as written (unfolded), for values read here rather than by the policy."""
    for found, value in message.raw_items():
        if found.lower() == name.lower():
            return _one_line("".join(str(value).splitlines()), name, problems)
    return ""


def _one_line(value: str, name: str, problems: list[str]) -> str:
    value = _unsurrogate(value).replace("\t", " ")  # a tab is what folding leaves behind
    if CONTROL.search(value):
        problems.append(f"{name} header had line breaks or control characters; read as one line")
        value = CONTROL.sub(" ", value)
    return value.strip()


def _unsurrogate(text: str) -> str:
    """Bytes the parser could not decode arrive as lone surrogates, which no file or database takes."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte (UTF-7 can make one)
        return text.encode("utf-8", "replace").decode("utf-8")


def _short(text: str) -> str:
    return CONTROL.sub(" ", _unsurrogate(text)).strip()[:80]


def _when(message: EmailMessage, name: str) -> dt.datetime | None:
    """The sink's stamp, the Date, or the topmost Received's date (after its last ';'); None if absent."""
    if name not in message:
        return None
    text = _raw(message, name, [])
    if name == STAMP:  # the first is the sink's own (it prepends it); a later one came from the sender
        found = dt.datetime.fromisoformat(text)
    else:  # a Received header without a ';' has no date: IndexError, i.e. unreadable
        found = parsedate_to_datetime(text.rsplit(";", 1)[1] if name == "Received" else text)
    # Naive is UTC: a Date in "-0000" (the sender's zone unknown), or a stamp the sink wrote in UTC.
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def _attachments(message: EmailMessage) -> int:  # from the headers only: none is decoded
    return sum(1 for p in message.walk() if p.get_content_disposition() == "attachment" or p.get_filename())


def _body(message: EmailMessage, problems: list[str]) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    text = "" if part is None else _decoded(part, problems)
    # Lines end in CRLF over IMAP and as written in a Maildir: one form, so a body pattern matches both.
    text = text.replace("\r\n", "\n")
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS]
        problems.append(f"body cut at {MAX_BODY_CHARS:,} characters")
    if part is not None and part.get_content_subtype() == "html":
        text = _html_text(text, problems)
    if not text.strip():
        problems.append("no readable body")
    return text


def _decoded(part: MIMEPart, problems: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = part.get_content_charset()
    # Mail that declares no charset, or ASCII, is often UTF-8 in practice, and UTF-8 reads ASCII as is.
    charset = "utf-8" if declared in (None, "", "us-ascii", "ascii") else str(declared)
    try:
        return payload.decode(charset)
    except UnicodeDecodeError:
        problems.append(f"body is not valid {_short(charset)}; read with replacements")
        return payload.decode(charset, "replace")
    except (LookupError, ValueError):  # also a non-text codec ("base64") or a NUL in the name
        problems.append(f"unknown charset {_short(charset)}; read as UTF-8 with replacements")
        return payload.decode("utf-8", "replace")


class _HtmlText(HTMLParser):
    """Readable text from an HTML body, each link's target kept after its text for `links()`."""

    BREAKS = frozenset({"br", "p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "hr", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden: str | None = None  # inside <script> or <style>, whose text is no reading
        self.link: tuple[str, int] | None = None  # an open <a>'s href, and where its text starts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden = tag if tag in ("script", "style") else self.hidden
        self.parts.append("\n" if tag in self.BREAKS else "")
        if tag == "a":
            self.handle_endtag("a")  # an unclosed <a> ends where the next begins
            href = (dict(attrs).get("href") or "").strip()
            self.link = (href, len(self.parts)) if href else None

    def handle_endtag(self, tag: str) -> None:
        self.hidden = None if tag == self.hidden else self.hidden
        self.parts.append("\n" if tag in self.BREAKS else "")
        if tag == "a" and self.link is not None:
            href, start = self.link
            if href not in "".join(self.parts[start:]):  # a link written out as its own text stays once
                self.parts.append(f" ({href})")
            self.link = None

    def handle_data(self, data: str) -> None:
        if self.hidden is None:
            self.parts.append(re.sub(r"\s+", " ", data))  # source line breaks are spaces in HTML

    def text(self) -> str:
        self.handle_endtag("a")
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def _html_text(source: str, problems: list[str]) -> str:
    parser = _HtmlText()
    try:
        parser.feed(source)
        parser.close()
    except Exception:  # _markupbase raises AssertionError on e.g. "<![foo[": strip tags, keep hrefs
        problems.append("HTML body is malformed; read without its markup")
        text = " ".join(html.unescape(TAG.sub(" ", source)).split())
        return "\n".join([text, *HREF.findall(source)])
    return parser.text()


def audit_record(
    message: ReceivedEmail,
    *,
    run_id: str,
    node_id: str,
    segment: str,
    stage: str,
    address: str,
    touchpoint: str | None,
) -> MessageReceived:
    """The event for one message the customer got, as the inbox audit reads it later."""
    return MessageReceived(
        run_id=run_id,
        node_id=node_id,
        segment=segment,
        stage=stage,
        address=address,
        key=message.key,
        received_at=message.received_at,
        sender=message.sender_address,
        sender_domain=message.sender_domain,
        subject=message.subject,
        touchpoint=touchpoint,
        message_id=message.message_id,
        date_header=message.date_header,
        relay_received=message.relay_received,
        problems="; ".join(message.problems),
    )
