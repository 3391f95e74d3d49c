"""`shopper mail sink`: a real SMTP server, as its own process, filing into the Maildir a run reads.

Real parts: the command runs as a subprocess on a port the kernel picks (--port 0), a message goes
to it over smtplib, and it is read back through the harness's own Maildir mailbox, from the
`--mailbox` the command printed; SIGTERM ends it with exit 0.
"""

from __future__ import annotations

import re
import signal
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from harness.cli import main
from harness.mail.mailbox import open_mailbox


def test_a_message_sent_to_the_sink_is_read_from_the_mailbox_it_prints(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "harness",
        "mail",
        "sink",
        "--port",
        "0",
        "--maildir",
        str(tmp_path / "m"),
    ]
    sink = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        said = [sink.stdout.readline() for _ in range(2)]
        port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", said[0]).group(1))  # type: ignore[union-attr]
        mailbox = said[1].strip().removeprefix("pass to shopper run: --mailbox ")
        assert mailbox == f"maildir:{(tmp_path / 'm').resolve()}"
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "app@staging.test",
            "shopper+r1-1@example.test",
            "Welcome",
        )
        message.set_content("Confirm your address")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(message)
        box = open_mailbox(mailbox)
        try:
            [received] = box.messages()
        finally:
            box.close()
        assert (received.to, received.subject) == ("shopper+r1-1@example.test", "Welcome")
        assert "Confirm your address" in received.body
        assert received.received_at is not None  # the sink's own delivery stamp
    finally:
        sink.send_signal(signal.SIGTERM)
        out, err = sink.communicate(timeout=10)
    assert sink.returncode == 0, err
    assert "mail sink stopped" in out


def test_a_port_that_is_no_port_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mail", "sink", "--port", "70000"]) == 2
    assert '"70000" is not a port' in capsys.readouterr().err


def test_a_port_in_use_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["mail", "sink", "--port", str(port), "--maildir", str(tmp_path / "m")]) == 2
    [sentence] = capsys.readouterr().err.splitlines()
    assert sentence.startswith("shopper: The mail sink cannot listen on 127.0.0.1"), sentence
