"""`shopper init URL [FOLDER]`: a first journey folder drawn from a short visit to the site."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli._args import EXIT_OK, positive
from harness.errors import HarnessError
from harness.map.journey_map import format_duration, parse_duration

if TYPE_CHECKING:
    from harness.cli._args import Commands

DEFAULT_MAX_PAGES = 20
DEFAULT_TIMEOUT = "30s"
# After its load, a page gets up to this long of network quiet, so the forms its scripts draw are found.
RENDER_WAIT = "3s"


def duration(text: str) -> int:
    try:
        return parse_duration(text)
    except HarnessError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a duration like 30s, 2m or 800ms') from None


def add_init(commands: Commands) -> None:
    init = commands.add_parser(
        "init",
        help="visit a site and write a first journey folder: a map, a feature per stage, what runs them",
        description=(
            "Visit the site (same origin only, nothing submitted, no log-out links) and write a journey\n"
            "folder that `shopper map check` and `shopper run` take as it is: a map with a stage per kind\n"
            "of page found, owners TODO and promises that are a starting guess, and a feature per stage\n"
            "with the fields and buttons found there."
        ),
    )
    init.add_argument("url", metavar="URL", help="the page to start from (http:// or https://)")
    init.add_argument(
        "folder",
        metavar="FOLDER",
        type=Path,
        nargs="?",
        default=Path("journey"),
        help="the journey folder to write (default: journey); it must be new or empty",
    )
    init.add_argument(
        "--max-pages",
        type=positive,
        default=DEFAULT_MAX_PAGES,
        help=f"visit at most this many pages (default: {DEFAULT_MAX_PAGES})",
    )
    init.add_argument(
        "--timeout",
        type=duration,
        default=parse_duration(DEFAULT_TIMEOUT),
        help=f"how long one page may take to load (default: {DEFAULT_TIMEOUT}); then up to"
        f" {RENDER_WAIT} more of network quiet, for what its scripts render",
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="write over a folder that is not empty (its map, README, test_journey.py and features)",
    )


def cmd_init(args: argparse.Namespace) -> int:
    from harness.ops.crawl import crawl, origin_of
    from harness.ops.journey_features import feature_files
    from harness.ops.scaffold import MAP_FILE, check_folder, draft, write_journey

    origin_of(args.url)  # a wrong address is said before anything else
    check_folder(args.folder, args.force)
    started = time.monotonic()
    wait = parse_duration(RENDER_WAIT)
    site = crawl(args.url, max_pages=args.max_pages, timeout_ms=args.timeout, render_wait_ms=wait)
    plan = draft(site)
    write_journey(plan, args.folder, feature_files(plan), dt.datetime.now(dt.UTC).date())
    touchpoints = sum(len(stage.touchpoints) for stage in plan.stages)
    took = format_duration((time.monotonic() - started) * 1000.0)
    print(
        f"visited {len(site.pages)} page(s) of {site.origin} in {took}: {len(plan.stages)} stage(s),"
        f" {touchpoints} touchpoint(s) written to {args.folder}/"
    )
    if site.left:
        print(f"{len(site.left)} more page(s) not visited (--max-pages {args.max_pages})")
    where = args.folder.as_posix()
    print("next: fill in the owners (TODO) and the promises in the map, then")
    print(f"  shopper map check {where}/{MAP_FILE} --features {where}")
    print(f"  shopper run --base-url {site.origin} --map {where}/{MAP_FILE} --features {where}")
    return EXIT_OK
