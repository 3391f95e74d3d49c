"""A real SMTP server on loopback that files every message into a Maildir.

The demo's emails travel over real SMTP so the email touchpoints are measured the way a customer
meets them: a message that arrives (or does not) in a mailbox, at a time we can read back.
"""

from __future__ import annotations

import asyncio
import mailbox
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from harness.errors import TargetError

RECEIVED_HEADER = "X-Shopper-Received"


class _MaildirHandler:
    def __init__(self, maildir: mailbox.Maildir) -> None:
        self.maildir = maildir

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        # Stamped at delivery, not taken from the Date header: the sender's clock and its own
        # delay are exactly what an email touchpoint measurement must not trust.
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")
        # Maildir.add writes to tmp/ and renames into new/, so a poller never sees half a message.
        self.maildir.add(f"{RECEIVED_HEADER}: {stamp}\r\n".encode("ascii") + content)
        return "250 Message accepted for delivery"


class _LoopbackController(Controller):
    """A Controller that may bind port 0 and learns the port the kernel chose."""

    def _trigger_server(self) -> None:
        # The parent connects to self.port to wake the server up, which must be the real port.
        if isinstance(self.server, asyncio.Server) and self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class MailSink:
    def __init__(self, maildir: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.maildir = Path(maildir)
        self.host = host
        self._requested_port = port
        self._controller: _LoopbackController | None = None

    @property
    def port(self) -> int:
        if self._controller is None:
            raise TargetError("The mail sink is not running.")
        return int(self._controller.port)

    def start(self) -> None:
        if self._controller is not None:
            return
        # Maildir(create=True) leaves an existing, empty folder without its tmp/new/cur.
        for sub in ("tmp", "new", "cur"):
            (self.maildir / sub).mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(self.maildir, create=True)
        controller = _LoopbackController(
            _MaildirHandler(box), hostname=self.host, port=self._requested_port, ready_timeout=5.0
        )
        try:
            controller.start()
        except OSError as exc:
            raise TargetError(
                f"The mail sink cannot listen on {self.host}:{self._requested_port}: {exc.strerror}."
            ) from exc
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_until_stopped(sink: MailSink, ready: Callable[[MailSink], None]) -> None:
    """`shopper mail sink`: run until Ctrl-C or SIGTERM, both a normal end (a service manager's stop)."""
    stopped = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopped.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with sink:
            ready(sink)
            while not stopped.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
