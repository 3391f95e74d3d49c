"""`shopper schedule` and `shopper status`: the journey on a schedule, and what the scheduler did."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli._args import EXIT_OK, STORE_HELP, UsageError, store_default

if TYPE_CHECKING:
    from harness.cli._args import Commands


def add_schedule(commands: Commands) -> None:
    scheduled = commands.add_parser(
        "schedule", help="run the journey on a schedule, forever (see docs/deploy.md)"
    )
    scheduled.add_argument("schedule", type=Path, metavar="SCHEDULE.yaml", help="the schedule file")
    scheduled.add_argument(
        "--once", action="store_true", help="run one cycle now and exit (0 all passed, 1 failures)"
    )


def add_status(commands: Commands) -> None:
    status = commands.add_parser("status", help="what the scheduler did last and does next")
    status.add_argument(
        "schedule", type=Path, nargs="?", metavar="SCHEDULE.yaml", help="the schedule file (names the store)"
    )
    status.add_argument("--store", default=None, help=STORE_HELP)


def cmd_schedule(args: argparse.Namespace) -> int:
    from harness.ops.schedule import run_schedule

    return run_schedule(args.schedule, once=args.once)


def cmd_status(args: argparse.Namespace) -> int:
    from harness.ops.schedule_file import load_schedule
    from harness.ops.scheduler_status import status_lines

    if args.schedule is not None and args.store is not None:
        raise UsageError("give the schedule file or --store, not both")
    config = load_schedule(args.schedule) if args.schedule is not None else None
    store = config.store if config is not None else args.store or store_default()
    print("\n".join(status_lines(store, config)))
    return EXIT_OK
