"""Benchmark: how late does the harness see an email, and what does reading a full mailbox cost?

    .venv/bin/python bench/bench_mail.py --emails 20

1. Time to inbox error. A real Dovecot (tests/dovecot.py) is fed over SMTP; each email is sent
   after a random 0.3-1.5 s while the harness waits for it, and the error is the harness's measure
   minus the true delay (the end of the SMTP send). Modes: IMAP IDLE, polling every 1 s, polling
   every 0.2 s. Dovecot itself holds IDLE news back 0.5 s after it notices a delivery.
2. Mailbox reads. A Maildir with `--messages` messages: the first read parses every message, a
   later poll only the new ones.
"""

from __future__ import annotations

import argparse
import os
import random
import smtplib
import statistics
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dovecot import PASSWORD, running_dovecot  # noqa: E402

from harness.demo.mailsink import MailSink  # noqa: E402
from harness.mail.mailbox import MaildirMailbox, open_mailbox, wait_for_email  # noqa: E402


def _send(port: int, to: str, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "Acme <hello@acme.test>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Hello https://acme.test/confirm?token=1\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)


def error_ms(url: str, port: int, emails: int, seed: int, mode: int) -> list[float]:
    chance = random.Random(seed)
    box = open_mailbox(url)
    box.messages()  # logged in before the clock starts, as a run is by its first email step
    errors = []
    for number in range(emails):
        to = f"shopper+bench{mode}-{number}@example.test"  # each mode its own customers
        delay = chance.uniform(0.3, 1.5)
        sent: list[float] = []

        def later(to: str = to, number: int = number, sent: list[float] = sent) -> None:
            _send(port, to, f"Confirm {number}")
            sent.append(time.monotonic())

        started = time.monotonic()
        timer = threading.Timer(delay, later)
        timer.start()
        wait_for_email(box, to=to, subject=f"Confirm {number}$", seen=set(), timeout_s=30)
        seen = time.monotonic()
        timer.join()
        errors.append((seen - started - (sent[0] - started)) * 1000.0)
    box.close()
    return errors


def maildir_reads(count: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder, MailSink(Path(folder)) as sink:
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
            for number in range(count):
                message = EmailMessage()
                message["From"] = "Acme <hello@acme.test>"
                message["To"] = f"shopper+bench-{number}@example.test"
                message["Subject"] = f"Message {number}"
                message.set_content("Hello\n" * 200)
                smtp.send_message(message)
        box = MaildirMailbox(Path(folder))
        started = time.perf_counter()
        assert len(box.messages()) == count
        first = time.perf_counter() - started
        started = time.perf_counter()
        assert len(box.messages()) == count
        again = time.perf_counter() - started
    return first, again


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--emails", type=int, default=20)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ["SHOPPER_IMAP_PASSWORD"] = PASSWORD
    with running_dovecot() as dovecot, MailSink(dovecot.maildir) as sink:
        modes = (
            ("IDLE, cap 5 s", "poll=5"),
            ("IDLE, cap .2s", "poll=0.2"),
            ("poll 1 s", "idle=0&poll=1"),
            ("poll 0.2 s", "idle=0&poll=0.2"),
        )
        for mode, (label, query) in enumerate(modes):
            errors = error_ms(dovecot.url(query), sink.port, args.emails, args.seed, mode)
            p95 = statistics.quantiles(errors, n=20)[18]
            p50 = statistics.median(errors)
            print(
                f"{label:13} time-to-inbox error over {len(errors)} emails:"
                f" p50 {p50:6.0f} ms  p95 {p95:6.0f} ms  max {max(errors):6.0f} ms"
            )
    first, again = maildir_reads(args.messages)
    print(
        f"Maildir of {args.messages} messages: first read {first * 1000:.0f} ms,"
        f" next poll {again * 1000:.1f} ms ({first / max(again, 1e-9):.0f}x less)"
    )


if __name__ == "__main__":
    main()
