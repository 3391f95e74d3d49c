"""Acme's outgoing email: composed here, sent over real SMTP from a background thread.

Sending never blocks the page that triggered it, the way a real site hands mail to a queue; the
fault profile can delay or drop each kind of email to create an email touchpoint gap.
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


class Outbox:
    def __init__(self, faults: FaultProfile, smtp_host: str, smtp_port: int) -> None:
        self.faults = faults
        self.smtp_host = smtp_host
        self.smtp_port = smtp_port
        self._closing = threading.Event()

    def send(self, kind: str, message: EmailMessage) -> None:
        if kind in self.faults.drop_email:
            log.debug("dropping %s email to %s as the fault profile asks", kind, message["To"])
            return
        delay = self.faults.email_delay_s.get(kind, 0.0)
        threading.Thread(
            target=self._deliver, args=(kind, message, delay), name=f"acme-mail-{kind}", daemon=True
        ).start()

    def close(self) -> None:
        """Abandon emails still waiting out their delay, so stopping the demo never hangs."""
        self._closing.set()

    def _deliver(self, kind: str, message: EmailMessage, delay: float) -> None:
        if delay > 0 and self._closing.wait(delay):
            return
        try:
            with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=10) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            # A lost email is a finding for the gap report, not a reason to take the site down.
            log.warning("could not send the %s email to %s: %s", kind, message["To"], exc)


def _compose(sender: Address, to_name: str, to_email: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = Address(display_name=to_name, addr_spec=to_email)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="acme.test")
    message.set_content(text)
    return message


def confirmation_email(name: str, email: str, link: str) -> EmailMessage:
    sender = Address("Acme", "no-reply", "acme.test")
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
    return _compose(Address("Acme Team", "hello", "acme.test"), name, email, "Welcome to Acme", text)


def support_ack_email(email: str, ref: str, subject: str, body: str) -> EmailMessage:
    quoted = "\n".join(f"> {line}" for line in body.splitlines())
    text = (
        f'We received your request "{subject}" and gave it the reference {ref}.\n'
        "Our support team will answer you soon; reply to this email to add anything.\n\n"
        f"{quoted}\n\nAcme Support\n"
    )
    return _compose(
        Address("Acme Support", "support", "acme.test"), "", email, f"[{ref}] We received your request", text
    )


def demo_booked_email(name: str, email: str, company: str, size: str) -> EmailMessage:
    text = (
        f"Hi {name},\n\nThanks for booking a demo for {company} ({size} people). Our sales team will "
        "contact you within one business day to find a time.\n\nAcme Sales\n"
    )
    return _compose(
        Address("Acme Sales", "sales", "acme.test"), name, email, "Your Acme demo is booked", text
    )
