"""The `shopper` command. The only place where errors become messages and exit codes.

Exit status: 0 every expectation met (or the command did what it was asked), 1 gaps or
failures found, 2 usage or input error.

Each command group's options and handler live in a module of their own (run, report,
journey_map, mail, schedule, worker, demo, init); _args holds what they share. This module wires them
into one parser and turns whatever they raise into a sentence and an exit status.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from harness.cli._args import EXIT_USAGE, Parser
from harness.cli.demo import add_demo, cmd_demo
from harness.cli.init import add_init, cmd_init
from harness.cli.journey_map import add_map, add_steps, cmd_map, cmd_steps
from harness.cli.mail import add_mail, cmd_mail
from harness.cli.report import add_report, cmd_report
from harness.cli.run import add_run, cmd_run
from harness.cli.schedule import add_schedule, add_status, cmd_schedule, cmd_status
from harness.cli.worker import add_worker, cmd_worker
from harness.errors import HarnessError

__all__ = ["EXAMPLES", "build_parser", "main"]

EXAMPLES = {
    "demo": ["shopper demo", "shopper demo --faults my-faults.yaml --out reports/demo --open"],
    "init": [
        "shopper init https://staging.example.com/   # writes journey/",
        "shopper init http://127.0.0.1:8000/ my-journey --max-pages 40 --timeout 1m",
    ],
    "run": [
        "shopper run --base-url https://staging.example.com --map journey-map.yaml --features journey",
        "shopper run --base-url http://127.0.0.1:8000 --map map.yaml --retries 1 -- --headed",
        "shopper run --base-url http://127.0.0.1:8000 --map map.yaml -- --lf   # only last run's failures",
        "shopper run --base-url http://127.0.0.1:8000 --map map.yaml --verbose  # pytest's output too",
        "shopper run --base-url https://staging.example.com --map map.yaml --workers 2 --location eu-west",
    ],
    "report": ["shopper report --out reports --open", "shopper report --map new-map.yaml --last 10"],
    "map": ["shopper map check journey-map.yaml --features journey", "shopper map diff old.yaml new.yaml"],
    "check": ["shopper map check journey-map.yaml --features journey", "shopper map check   # ./map.yaml"],
    "diff": ["shopper map diff old-map.yaml journey-map.yaml"],
    "steps": ["shopper steps | less"],
    "schedule": ["shopper schedule schedule.yaml", "shopper schedule schedule.yaml --once"],
    "mail": ["shopper mail sink --port 2525 --maildir shopper-mail", "shopper mail poll --wait 5m"],
    "poll": ["shopper mail poll", "shopper mail poll --store shopper.db --wait 30s"],
    "sink": ["shopper mail sink", "shopper mail sink --host 0.0.0.0 --port 2525 --maildir /srv/shopper-mail"],
    "status": ["shopper status schedule.yaml", "shopper status --store shopper.db"],
    "worker": [
        "shopper worker --location eu-west --broker redis://broker:6379/0",
        "shopper worker --location us-east --broker redis://broker:6379/0 --store shopper.db --concurrency 2",
    ],
}

HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": cmd_demo,
    "init": cmd_init,
    "run": cmd_run,
    "report": cmd_report,
    "map": cmd_map,
    "steps": cmd_steps,
    "schedule": cmd_schedule,
    "status": cmd_status,
    "mail": cmd_mail,
    "worker": cmd_worker,
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shopper-harness")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _with_examples(parser: argparse.ArgumentParser) -> None:
    """Every subcommand's --help ends with examples to copy, kept as written (one a line)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                sub.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
                sub.formatter_class = argparse.RawDescriptionHelpFormatter
                _with_examples(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="shopper", description="Mystery-shopper harness: hold a journey map against reality."
    )
    parser.add_argument("--version", action="version", version=f"shopper {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    # In the order `shopper --help` lists them.
    adders = [add_demo, add_init, add_run, add_report, add_map, add_steps, add_schedule, add_worker]
    adders += [add_mail, add_status]
    for add in adders:
        add(commands)
    _with_examples(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return HANDLERS[args.command](args)
    except HarnessError as exc:
        print(f"shopper: {exc}", file=sys.stderr)
        return exc.exit_status
    except OSError as exc:
        # A folder that cannot be created, a file that cannot be written: the user's to fix.
        where = f": {exc.filename}" if exc.filename else ""
        print(f"shopper: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("shopper: interrupted", file=sys.stderr)
        return 130
