"""The `alerts:` block of a schedule file: who is told, after how many failing runs, and how.

Read from the already-parsed YAML mapping; every mistake is one sentence (AlertConfigError) with
the schedule file and the block's line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import HarnessError, did_you_mean

ALERTABLE = ("failing", "slow", "flaky")
JUDGED = ("met", *ALERTABLE)  # statuses a run can give an exercised map touchpoint
FORMATS = ("json", "slack")

_TOP_KEYS = {
    "after",
    "touchpoints",
    "on",
    "webhooks",
    "email",
    "retries",
    "retry_backoff_s",
    "timeout_s",
    "report_url",
}
_WEBHOOK_KEYS = {"url", "format"}
_EMAIL_KEYS = {"smtp_host", "smtp_port", "sender", "to", "starttls", "username", "password_env"}


class AlertConfigError(HarnessError):
    """The `alerts:` block of a schedule file is malformed."""


@dataclass
class Webhook:
    url: str
    format: str = "json"  # json: a generic body for any receiver; slack: {"text", "blocks"}


@dataclass
class EmailAlerts:
    smtp_host: str
    sender: str
    to: list[str]
    smtp_port: int = 25
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None  # the name of the variable, never the password itself


@dataclass
class AlertConfig:
    after: int = 2
    touchpoints: dict[str, int] = field(default_factory=dict)  # touchpoint id -> its own `after`
    on: tuple[str, ...] = ("failing",)
    webhooks: list[Webhook] = field(default_factory=list)
    email: EmailAlerts | None = None
    retries: int = 3  # attempts after the first one
    retry_backoff_s: float = 1.0  # doubles at each retry
    timeout_s: float = 10.0
    report_url: str | None = None

    def threshold(self, touchpoint_id: str) -> int:
        return self.touchpoints.get(touchpoint_id, self.after)


# ---------------------------------------------------------------------------------------------------
# Reading the `alerts:` block


class _Reader:
    def __init__(self, file: str | Path | None, line: int | None) -> None:
        self.file, self.line = file, line

    def fail(self, message: str) -> AlertConfigError:
        return AlertConfigError(message, file=self.file, line=self.line)

    def mapping(self, value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be a mapping of keys to values, not {_kind(value)}")
        for key in value:
            if key not in allowed:
                hint = did_you_mean(str(key), allowed)
                raise self.fail(
                    f"unknown key '{key}' in {where}{hint}; allowed: {', '.join(sorted(allowed))}"
                )
        return value

    def count(self, value: Any, what: str, least: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise self.fail(f"{what} must be a whole number of at least {least}, not {value!r}")
        return value

    def seconds(self, value: Any, what: str, *, positive: bool) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.fail(f"{what} must be a number of seconds, not {value!r}")
        if positive and value == 0:
            raise self.fail(f"{what} must be more than 0 seconds")
        return float(value)

    def text(self, value: Any, what: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{what} must be a non-empty string, not {value!r}")
        return value.strip()

    def texts(self, value: Any, what: str) -> list[str]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise self.fail(f"{what} must be a list of strings, not {value!r}")
        return [self.text(item, f"each entry of {what}") for item in items]

    def url(self, value: Any, what: str) -> str:
        url = self.text(value, what)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Not echoed back: a webhook URL is usually a secret.
            raise self.fail(f"{what} must be an http:// or https:// URL with a host")
        return url


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"a {type(value).__name__}"


def alert_config(
    data: Any,
    file: str | Path | None = None,
    line: int | None = None,
    *,
    touchpoint_ids: set[str] | None = None,
) -> AlertConfig:
    """The AlertConfig of an already parsed `alerts:` mapping, found at `file`, `line`.

    `touchpoint_ids` (the journey map's) lets a misspelled per-touchpoint override fail here instead
    of never matching.
    """
    read = _Reader(file, line)
    keys = read.mapping({} if data is None else data, "alerts", _TOP_KEYS)
    config = AlertConfig()
    if "after" in keys:
        config.after = read.count(keys["after"], "alerts.after", 1)
    if keys.get("touchpoints") is not None:
        config.touchpoints = _overrides(read, keys["touchpoints"], touchpoint_ids)
    if "on" in keys:
        statuses = read.texts(keys["on"], "alerts.on")
        for status in statuses:
            if status not in ALERTABLE:
                hint = did_you_mean(status, set(ALERTABLE))
                raise read.fail(
                    f"alerts.on names status '{status}'{hint}; a run can alert on {', '.join(ALERTABLE)}"
                )
        config.on = tuple(dict.fromkeys(statuses))
    if "webhooks" in keys:
        hooks = keys["webhooks"]
        if not isinstance(hooks, list):
            raise read.fail(f"alerts.webhooks must be a list of {{url, format}} mappings, not {_kind(hooks)}")
        config.webhooks = [_webhook(read, hook, number) for number, hook in enumerate(hooks, start=1)]
    if keys.get("email") is not None:
        config.email = _email(read, keys["email"])
    if "retries" in keys:
        config.retries = read.count(keys["retries"], "alerts.retries", 0)
    if "retry_backoff_s" in keys:
        config.retry_backoff_s = read.seconds(
            keys["retry_backoff_s"], "alerts.retry_backoff_s", positive=False
        )
    if "timeout_s" in keys:
        config.timeout_s = read.seconds(keys["timeout_s"], "alerts.timeout_s", positive=True)
    if keys.get("report_url") is not None:
        config.report_url = read.text(keys["report_url"], "alerts.report_url")
    return config


def _overrides(read: _Reader, value: Any, touchpoint_ids: set[str] | None) -> dict[str, int]:
    if not isinstance(value, dict):
        raise read.fail(f"alerts.touchpoints must map touchpoint ids to a number of runs, not {_kind(value)}")
    overrides = {}
    for touchpoint, after in value.items():
        if touchpoint_ids is not None and touchpoint not in touchpoint_ids:
            hint = did_you_mean(str(touchpoint), touchpoint_ids)
            raise read.fail(f"alerts.touchpoints names '{touchpoint}', which the journey map lacks{hint}")
        overrides[str(touchpoint)] = read.count(after, f"alerts.touchpoints.{touchpoint}", 1)
    return overrides


def _webhook(read: _Reader, value: Any, number: int) -> Webhook:
    where = f"webhook {number} of alerts.webhooks"
    keys = read.mapping(value, where, _WEBHOOK_KEYS)
    if "url" not in keys:
        raise read.fail(f"{where} needs a url")
    hook = Webhook(url=read.url(keys["url"], f"the url of {where}"))
    if "format" in keys:
        kind = keys["format"]
        if kind not in FORMATS:
            hint = did_you_mean(str(kind), set(FORMATS))
            raise read.fail(f"{where} has format '{kind}'{hint}; use one of {', '.join(FORMATS)}")
        hook.format = kind
    return hook


def _email(read: _Reader, value: Any) -> EmailAlerts:
    if isinstance(value, dict) and "password" in value:
        raise read.fail(
            "alerts.email must not hold a password; put it in an environment variable and name that"
            " variable in password_env"
        )
    keys = read.mapping(value, "alerts.email", _EMAIL_KEYS)
    for required in ("smtp_host", "sender", "to"):
        if required not in keys:
            raise read.fail(f"alerts.email needs {required}")
    email = EmailAlerts(
        smtp_host=read.text(keys["smtp_host"], "alerts.email.smtp_host"),
        sender=read.text(keys["sender"], "alerts.email.sender"),
        to=read.texts(keys["to"], "alerts.email.to"),
    )
    if "smtp_port" in keys:
        port = read.count(keys["smtp_port"], "alerts.email.smtp_port", 1)
        if port > 65535:
            raise read.fail(f"alerts.email.smtp_port must be a port number up to 65535, not {port}")
        email.smtp_port = port
    if "starttls" in keys:
        if not isinstance(keys["starttls"], bool):
            raise read.fail(f"alerts.email.starttls must be true or false, not {keys['starttls']!r}")
        email.starttls = keys["starttls"]
    if keys.get("username") is not None:
        email.username = read.text(keys["username"], "alerts.email.username")
    if keys.get("password_env") is not None:
        email.password_env = read.text(keys["password_env"], "alerts.email.password_env")
    if (email.username is None) != (email.password_env is None):
        raise read.fail("alerts.email needs both username and password_env to log in, or neither")
    return email
