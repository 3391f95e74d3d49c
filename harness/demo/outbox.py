"""Acme's outgoing email: composed here, sent over real SMTP from a background thread.

Sending never blocks the page that triggered it, the way a real site hands mail to a queue; the
fault profile can delay or drop each kind of email to create an email touchpoint gap.

Acme sends from three systems, as a real company does: its own app (acme.test), a helpdesk
(help.acme.test) and a marketing platform (news.acme-mail.test). The customer's inbox shows the
difference, so the demo must too.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape

from harness.demo.faults import FaultProfile

log = logging.getLogger(__name__)

APP = "acme.test"
HELPDESK = "help.acme.test"
MARKETING = "news.acme-mail.test"
SUPPORT_AGENT = "Dana"


class Outbox:
    def __init__(self, faults: FaultProfile, smtp_host: str, smtp_port: int) -> None:
        self.faults = faults
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port
        self._closing = threading.Event()

    def send(self, kind: str, message: EmailMessage, *, dated_when_sent: bool = False) -> None:
        """Queue `message`; its delay from the fault profile counts from this call.

        `dated_when_sent` is for mail a person writes after the delay (a support reply): its Date
        must be when it was written, or the inbox would show hours of human thinking time as
        hours of mail delay between the sender's Date and the delivery.
        """
        if kind in self.faults.drop_email:
            log.debug("dropping %s email to %s as the fault profile asks", kind, message["To"])
            return
        delay = self.faults.email_delay_s.get(kind, 0.0)
        threading.Thread(
            target=self._deliver,
            args=(kind, message, delay, dated_when_sent),
            name=f"acme-mail-{kind}",
            daemon=True,
        ).start()

    def close(self) -> None:
        """Abandon emails still waiting out their delay, so stopping the demo never hangs."""
        self._closing.set()

    def _deliver(self, kind: str, message: EmailMessage, delay: float, dated_when_sent: bool) -> None:
        if delay > 0 and self._closing.wait(delay):
            return
        if dated_when_sent:
            message.replace_header("Date", formatdate(usegmt=True))
        try:
            with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=10) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            # A lost email is a finding for the gap report, not a reason to take the site down.
            log.warning("could not send the %s email to %s: %s", kind, message["To"], exc)


def one_line(value: str) -> str:
    # Names and subjects end up in email headers, where a newline would be an injection.
    return " ".join(value.split())


def _compose(sender: Address, to_name: str, to_email: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=one_line(to_name), addr_spec=to_email)
    # Folded here as well as in the routes: every subject passes this one place on its way out.
    message["Subject"] = one_line(subject)
    message["Date"] = formatdate(usegmt=True)
    # Each sending system names its own messages, as real ones do.
    message["Message-ID"] = make_msgid(domain=sender.domain)
    message.set_content(text)
    return message


def confirmation_email(name: str, email: str, link: str) -> EmailMessage:
    sender = Address("Acme", "no-reply", APP)
    text = (
        f"Hi {name},\n\nPlease confirm your Acme account by opening this link:\n\n{link}\n\nThe Acme team\n"
    )
    message = _compose(sender, name, email, "Confirm your Acme account", text)
    html = (
        f"<p>Hi {escape(name)},</p><p>Please confirm your Acme account:</p>"
        f'<p><a href="{escape(link)}">{escape(link)}</a></p><p>The Acme team</p>'
    )
    message.add_alternative(html, subtype="html")
    return message


def welcome_email(name: str, email: str) -> EmailMessage:
    text = (
        f"Hi {name},\n\nWelcome to Acme! Your first three steps: create your first project, invite a "
        "teammate and connect your calendar.\n\nThe Acme team\n"
    )
    return _compose(Address("Acme Team", "hello", APP), name, email, "Welcome to Acme", text)


TIPS = (
    ("Start from a template", "Pick a project template so your board has columns on day one."),
    ("Invite one teammate", "A project with two people gets used; one with one person gets forgotten."),
    ("Connect your calendar", "Deadlines then show up where you already look every morning."),
)


def tips_email(name: str, email: str, help_link: str) -> EmailMessage:
    listed = "\n".join(f"{n}. {title}: {detail}" for n, (title, detail) in enumerate(TIPS, 1))
    text = (
        f"Hi {name},\n\nThree tips for your first week with Acme:\n\n{listed}\n\n"
        f"More in the help centre: {help_link}\n\nAcme Tips\n"
    )
    message = _compose(
        Address("Acme Tips", "tips", MARKETING), name, email, "3 tips for your first week with Acme", text
    )
    items = "".join(f"<li><strong>{escape(t)}</strong>: {escape(d)}</li>" for t, d in TIPS)
    html = (
        f"<p>Hi {escape(name)},</p><p>Three tips for your first week with Acme:</p><ol>{items}</ol>"
        f'<p>More in the <a href="{escape(help_link)}">help centre</a>.</p><p>Acme Tips</p>'
    )
    message.add_alternative(html, subtype="html")
    return message


def _quoted(body: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in body.splitlines())


def support_ack_email(email: str, ref: str, subject: str, body: str) -> EmailMessage:
    text = (
        f'We received your request "{one_line(subject)}" and gave it the reference {ref}.\n'
        "Our support team will answer you soon; reply to this email to add anything.\n\n"
        f"{_quoted(body)}\n\nAcme Support\n"
    )
    return _compose(
        Address("Acme Support", "support", HELPDESK), "", email, f"[{ref}] We received your request", text
    )


def support_reply_email(email: str, ref: str, subject: str, body: str, ack_id: str) -> EmailMessage:
    """The first answer from a person, threaded under the acknowledgement `ack_id`."""
    text = (
        "Hi there,\n\n"
        f"I'm {SUPPORT_AGENT} from Acme Support, and I've picked up your ticket {ref} about "
        f'"{one_line(subject)}".\n\n'
        "Sorry for the trouble. I've read your message and I'm looking into it with the team now. "
        "So I can reproduce it, could you tell me which browser you use and roughly when it "
        "started? A screenshot helps too, if you have one.\n\n"
        f"Just reply to this email and keep [{ref}] in the subject, so your answer comes "
        "straight back to me.\n\n"
        f"Best,\n{SUPPORT_AGENT}\nAcme Support\n\n"
        f"{_quoted(body)}\n"
    )
    message = _compose(
        Address(f"{SUPPORT_AGENT} from Acme Support", "support", HELPDESK),
        "",
        email,
        f"Re: [{ref}] {subject}",
        text,
    )
    message["In-Reply-To"] = ack_id
    message["References"] = ack_id
    return message


def demo_booked_email(name: str, email: str, company: str, size: str) -> EmailMessage:
    text = (
        f"Hi {name},\n\nThanks for booking a demo for {company} ({size} people). Our sales team will "
        "contact you within one business day to find a time.\n\nAcme Sales\n"
    )
    return _compose(Address("Acme Sales", "sales", APP), name, email, "Your Acme demo is booked", text)
