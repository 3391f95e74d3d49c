"""What an alert says, and how it reaches people: the message (a chat line, a JSON body, a mail),
sent to every webhook and the mail recipients (harness.ops.alerts decides when).

A chat channel or mail server that is down must never stop the schedule, so delivery retries with
back-off, then logs and gives up. Secrets stay out of logs: the SMTP password is read from the
environment at send time, and webhook URLs (a Slack URL is itself a credential) are logged by host
only.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from harness.ops.alert_config import AlertConfig, EmailAlerts

log = logging.getLogger("shopper.alerts")

RUNNER = "(runner)"  # the streak of the runner itself: no touchpoint of a map has this id


@dataclass(frozen=True)
class AlertEvent:
    kind: str  # alert or recovery
    journey: str
    map_version: str
    touchpoint_id: str
    touchpoint_name: str
    stage_id: str
    segment: str
    owner: str
    status: str  # the status of the run that raised or cleared the alert
    gap: str
    consecutive: int  # failing runs in a row (for a recovery: the streak that just ended)
    run_id: str
    moment_of_truth: bool = False
    report_url: str | None = None
    at: str = ""  # UTC, ISO 8601

    def headline(self) -> str:
        if self.touchpoint_id == RUNNER:
            if self.kind == "alert":
                return f"The runner was too busy to measure fairly, {self.consecutive} runs in a row"
            return "The runner measures fairly again"
        who = f"{self.segment} customers"
        if self.kind == "alert":
            return (
                f"{self.touchpoint_name} ({self.stage_id}) is {self.status} for {who},"
                f" {self.consecutive} runs in a row"
            )
        return f"{self.touchpoint_name} ({self.stage_id}) recovered for {who} (now {self.status})"

    def text(self) -> str:
        """The whole message in plain sentences, for a chat line or a mail body."""
        parts = [f"{self.headline()}."]
        if self.kind == "alert" and self.gap:
            parts.append(f"{self.gap[0].upper()}{self.gap[1:]}.")
        if self.kind == "recovery":
            parts.append(f"It had failed {self.consecutive} runs in a row.")
        parts.append(
            f"Owner: {self.owner}. Journey: {self.journey} ({self.map_version}). Run: {self.run_id}."
        )
        if self.report_url:
            parts.append(f"Report: {self.report_url}")
        return " ".join(parts)

    def json_body(self) -> dict[str, Any]:
        return {"event": self.kind, **{k: v for k, v in asdict(self).items() if k != "kind"}}

    def slack_body(self) -> dict[str, Any]:
        icon = ":rotating_light:" if self.kind == "alert" else ":white_check_mark:"
        label = "Alert" if self.kind == "alert" else "Recovered"
        text = f"{icon} *{label}*: {_slack_escape(self.text())}"
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}

    def subject(self) -> str:
        label = "Alert" if self.kind == "alert" else "Recovered"
        return f"[shopper] {label}: {self.headline()} ({self.journey})"


@dataclass(frozen=True)
class Delivery:
    event: AlertEvent
    channel: str  # webhook or email
    target: str  # safe to show: a webhook's host, or the mail recipients
    ok: bool
    attempts: int
    error: str = ""


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions; names and gap sentences come from the user's map.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_target(url: str) -> str:
    """A webhook URL without its path, query or credentials: those are the secret part of most hooks."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def deliver(
    config: AlertConfig, events: list[AlertEvent], sleep: Callable[[float], None] = time.sleep
) -> list[Delivery]:
    """Send every event to every webhook and the mail recipients; never raises, failures are returned."""
    deliveries = []
    for event in events:
        for hook in config.webhooks:
            body = event.slack_body() if hook.format == "slack" else event.json_body()
            data = json.dumps(body).encode("utf-8")
            send = partial(_post, hook.url, data, config.timeout_s)
            deliveries.append(_attempt(config, sleep, event, "webhook", safe_target(hook.url), send))
        if config.email is not None:
            email = config.email
            send = partial(_mail, email, event, config.timeout_s)
            deliveries.append(_attempt(config, sleep, event, "email", ", ".join(email.to), send))
    return deliveries


def _attempt(
    config: AlertConfig,
    sleep: Callable[[float], None],
    event: AlertEvent,
    channel: str,
    target: str,
    send: Callable[[], None],
) -> Delivery:
    attempts, error = 0, ""
    for attempt in range(config.retries + 1):
        if attempt:
            sleep(config.retry_backoff_s * 2 ** (attempt - 1))
        attempts += 1
        try:
            send()
        except _Permanent as exc:
            error = str(exc)
            break
        # Anything a receiver, a socket or a mail server can throw: delivery must not stop the schedule.
        except Exception as exc:
            error = _describe(exc)
            log.info("%s %s to %s failed (attempt %d): %s", channel, event.kind, target, attempts, error)
            continue
        log.info("%s %s for %s sent to %s", channel, event.kind, event.touchpoint_id, target)
        return Delivery(event, channel, target, ok=True, attempts=attempts)
    log.warning(
        "could not deliver the %s %s for %s (%s) to %s after %d attempt(s): %s",
        channel,
        event.kind,
        event.touchpoint_id,
        event.segment,
        target,
        attempts,
        error,
    )
    return Delivery(event, channel, target, ok=False, attempts=attempts, error=error)


def _post(url: str, data: bytes, timeout_s: float) -> None:
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "shopper-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        # A 4xx other than 429 is the hook's configuration: asking again will not change the answer.
        if 400 <= exc.code < 500 and exc.code != 429:
            raise _Permanent(f"the receiver answered HTTP {exc.code} {exc.reason}") from None
        raise


def _mail(email: EmailAlerts, event: AlertEvent, timeout_s: float) -> None:
    message = EmailMessage()
    message["From"] = email.sender
    message["To"] = ", ".join(email.to)
    message["Subject"] = event.subject()
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="shopper.alerts")
    message.set_content(event.text() + "\n")
    with smtplib.SMTP(email.smtp_host, email.smtp_port, timeout=timeout_s) as smtp:
        if email.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if email.username is not None and email.password_env is not None:
            password = os.environ.get(email.password_env)
            if password is None:
                raise _Permanent(
                    f"the environment variable {email.password_env} holding the SMTP password is not set"
                )
            try:
                smtp.login(email.username, password)
            except smtplib.SMTPAuthenticationError as exc:
                # Asking again with the same password could lock the account.
                raise _Permanent(f"the mail server refused the login (SMTP {exc.smtp_code})") from None
        smtp.send_message(message)


class _Permanent(Exception):
    """A delivery failure that a retry cannot fix."""


def _describe(exc: Exception) -> str:
    # Built from the parts, never str(exc) of a whole request: that could carry the URL.
    if isinstance(exc, urllib.error.HTTPError):
        return f"the receiver answered HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        return f"cannot reach the receiver: {reason.strerror if isinstance(reason, OSError) else reason}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the mail server answered SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPException):
        return f"the mail server failed: {exc or type(exc).__name__}"
    if isinstance(exc, OSError):
        return f"cannot reach the server: {exc.strerror or type(exc).__name__}"
    return type(exc).__name__
