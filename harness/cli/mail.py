"""`shopper mail poll` and `shopper mail sink`: the synthetic customers' mail."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli._args import (
    EXIT_GAPS,
    EXIT_OK,
    EXIT_USAGE,
    STORE_HELP,
    Parser,
    UsageError,
    port,
    store_default,
)
from harness.errors import HarnessError, NoStoreError

if TYPE_CHECKING:
    from harness.cli._args import Commands


def add_mail(commands: Commands) -> None:
    mail = commands.add_parser("mail", help="the synthetic customers' mail")
    mail_commands = mail.add_subparsers(dest="mail_command", metavar="SUBCOMMAND", parser_class=Parser)
    mail_commands.required = True
    poll = mail_commands.add_parser(
        "poll", help="resolve pending expectations: record the replies that came, fail the overdue (exit 1)"
    )
    poll.add_argument("--store", default=None, help=STORE_HELP)
    poll.add_argument(
        "--mailbox", help="read this mailbox instead of the one each run used (maildir:PATH or imap://...)"
    )
    poll.add_argument(
        "--wait",
        default="0s",
        help="keep looking this long while something is pending (e.g. 30s; default: once)",
    )

    sink = mail_commands.add_parser(
        "sink",
        help="an SMTP server that files every message into a Maildir, until Ctrl-C: point a staging"
        " site's SMTP at it and pass the printed --mailbox to `shopper run`",
    )
    sink.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sink.add_argument("--port", type=port, default=2525, help="SMTP port (default 2525; 0: any free one)")
    sink.add_argument(
        "--maildir",
        type=Path,
        default=Path("shopper-mail"),
        help="Maildir to file into (default shopper-mail)",
    )


def cmd_mail(args: argparse.Namespace) -> int:
    if args.mail_command == "sink":
        return _mail_sink(args)
    from harness.mail.pending import PollResult
    from harness.map.journey_map import parse_duration
    from harness.ops.mail_poll import poll
    from harness.store.sqlite import open_store

    try:
        wait_ms = parse_duration(args.wait)
    except HarnessError:
        raise UsageError(f'--wait "{args.wait}" is not a duration, e.g. 30s') from None
    store_url = args.store or store_default()
    if not Path(store_url).exists() and "://" not in store_url:
        raise NoStoreError(store_url)
    store = open_store(store_url)

    def said(result: PollResult) -> None:
        print(result.describe())

    try:
        polled = poll(store, mailbox=args.mailbox, wait_s=wait_ms / 1000.0, report=said)
    finally:
        store.close()
    results = polled.results
    counts = {o: sum(r.outcome == o for r in results) for o in ("passed", "failed", "error", "pending")}
    print(
        f"{len(results)} pending expectation(s): {counts['passed']} answered in time,"
        f" {counts['failed']} failed, {counts['error']} unread, {counts['pending']} still pending"
    )
    for problem in polled.problems:
        print(f"shopper: {problem}", file=sys.stderr)
    if polled.problems:
        return EXIT_USAGE
    return EXIT_GAPS if counts["failed"] else EXIT_OK


def _mail_sink(args: argparse.Namespace) -> int:
    from harness.demo.mailsink import MailSink, serve_until_stopped

    def ready(sink: MailSink) -> None:
        maildir = sink.maildir.resolve()
        print(
            f"mail sink listening on {sink.host}:{sink.port} (SMTP, no TLS, no login), filing into {maildir}"
        )
        print(f"pass to shopper run: --mailbox maildir:{maildir}")
        print("Ctrl-C stops it", flush=True)  # flushed: a supervisor or a test reads the mailbox line now

    serve_until_stopped(MailSink(args.maildir, host=args.host, port=args.port), ready)
    print("mail sink stopped")
    return EXIT_OK
