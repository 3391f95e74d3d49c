"""The schedule's log: one line on stderr per event, stamped in UTC, with the target's credentials
taken out of every line, whatever message (pytest's words) carries them.
"""

from __future__ import annotations

import logging
import sys
import time
from urllib.parse import urlsplit

from harness.record.secrets import without_credentials

# The parent: alert delivery (harness.ops.alert_delivery) logs there too.
_LOGS = logging.getLogger("shopper")


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def configure_logging() -> None:
    if not any(getattr(handler, "shopper", False) for handler in _LOGS.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_UTCFormatter("%(asctime)s %(message)s"))
        handler.shopper = True  # type: ignore[attr-defined]
        _LOGS.addHandler(handler)
    _LOGS.setLevel(logging.INFO)


class Unsecret(logging.Filter):
    """The target's credentials never reach a log line, whatever message (pytest's words) carries them."""

    def __init__(self, target: str) -> None:
        super().__init__()
        userinfo = urlsplit(target).netloc.rpartition("@")[0]
        self.secrets = [(target, without_credentials(target)), (f"{userinfo}@", "")] if userinfo else []

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret, shown in self.secrets:
                message = message.replace(secret, shown)
            record.msg, record.args = message, None
        return True
