"""`shopper worker`: one of a location's interchangeable workers, walking the runs its scheduler enqueues."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from harness.cli._args import UsageError, positive

if TYPE_CHECKING:
    from harness.cli._args import Commands


def add_worker(commands: Commands) -> None:
    worker = commands.add_parser(
        "worker", help="walk the journey runs a fleet's scheduler enqueues for one location (docs/deploy.md)"
    )
    worker.add_argument("--location", required=True, help="the location this worker walks from, e.g. eu-west")
    worker.add_argument("--broker", required=True, help="the fleet's Redis, e.g. redis://HOST:6379/0")
    worker.add_argument(
        "--store",
        default=None,
        help="the shared store to record into (default: the one each run's schedule names)",
    )
    worker.add_argument("--concurrency", type=positive, default=1, help="runs walked at once (default 1)")
    worker.add_argument(
        "--redelivery-after",
        default="1h",
        help="how long a run may go unacknowledged before the broker gives it to another worker, when"
        " its worker was lost (default 1h; longer than the schedule's timeout)",
    )


def cmd_worker(args: argparse.Namespace) -> int:
    from harness.errors import MapError
    from harness.map.journey_map import parse_duration
    from harness.ops.fleet import WorkerConfig, run_worker
    from harness.ops.fleet_job import check_broker_url, check_location

    try:
        redelivery_s = parse_duration(args.redelivery_after) / 1000.0
    except MapError:
        raise UsageError(f'--redelivery-after "{args.redelivery_after}" is not a duration, e.g. 1h') from None
    if redelivery_s < 1:
        raise UsageError("--redelivery-after must be 1s or longer")
    config = WorkerConfig(
        location=check_location(args.location),
        broker=check_broker_url(args.broker),
        store=args.store,
        concurrency=args.concurrency,
        redelivery_after_s=redelivery_s,
    )
    return run_worker(config)
