"""`shopper run` (and `--dry-run`): the scenarios against a target, segment by segment."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli._args import (
    DEFAULT_FEATURES,
    EXIT_GAPS,
    EXIT_OK,
    MAP_NAMES,
    STORE_HELP,
    UsageError,
    count,
    map_default,
    positive,
    store_default,
)
from harness.errors import HarnessError
from harness.map.features import check_features_dir
from harness.ops.runner import PYTEST_NO_TESTS, RunResult

if TYPE_CHECKING:
    from harness.cli._args import Commands
    from harness.ops.runner import RunRequest


def add_run(commands: Commands) -> None:
    run = commands.add_parser("run", help="run the scenarios against a target and record observations")
    run.add_argument("--base-url", required=True, help="the target site, e.g. https://www.example.com")
    run.add_argument(
        "--map",
        type=Path,
        default=None,
        help=f"journey map (default: {' or '.join(MAP_NAMES)} in this folder)",
    )
    run.add_argument("--features", type=Path, default=DEFAULT_FEATURES, help="features folder")
    run.add_argument(
        "--segment", action="append", help="segment to play (repeatable; default: every segment)"
    )
    run.add_argument("--store", default=None, help=STORE_HELP)
    run.add_argument("--retries", type=count, default=0, help="retries of a failed scenario")
    run.add_argument(
        "--workers",
        type=positive,
        default=1,
        help="browsers playing side by side (pytest-xdist): the segments run at once, up to N, and a"
        " segment's scenarios are shared among the workers it is given (default 1)",
    )
    run.add_argument(
        "--location",
        default="",
        help="where this run walks from, recorded with it and compared in the report, e.g. eu-west"
        " (default: the host name)",
    )
    run.add_argument(
        "--mailbox", help="the synthetic customer's inbox: maildir:PATH or imap://USER@HOST:PORT/INBOX"
    )
    run.add_argument(
        "--max-wait",
        help="longest an email step waits with the browser open (default 2m); a later promise is"
        " left pending for `shopper mail poll`",
    )
    run.add_argument(
        "--customer-address",
        help="synthetic customers' address, with {run} and {n}: plus-addressing (default"
        " shopper+{run}-{n}@example.test) or a catch-all domain ({run}-{n}@shoppers.example.com)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="open every page the scenarios visit and find every field and button they name, but press"
        " nothing, read no email and record nothing; list what a real run would trip on (exit 1 if anything)",
    )
    run.add_argument(
        "--customer-domain", help="mail domain of the synthetic customers' addresses (default example.test)"
    )
    run.add_argument(
        "--evidence-dir",
        type=Path,
        help="where screenshots and traces at failure, and slow pages' screenshots, go"
        " (default: by the store)",
    )
    run.add_argument(
        "--label-header",
        help="header naming the run on every request, for analytics to drop (default X-Shopper-Run)",
    )
    run.add_argument(
        "--no-label-header",
        action="store_true",
        help="send no label header; the user agent still ends with shopper/<version>",
    )
    shown = run.add_mutually_exclusive_group()
    shown.add_argument(
        "--quiet",
        action="store_true",
        help="print only the verdict of each segment and where it was recorded",
    )
    shown.add_argument(
        "--verbose", action="store_true", help="show pytest's own output too, beside the run's progress"
    )
    run.add_argument("pytest_args", nargs="*", help="after --: passed to pytest (e.g. --headed)")


def _segments(journey_map_segments: list[str], wanted: list[str] | None) -> list[str]:
    if not wanted:
        return journey_map_segments or ["default"]
    for segment in wanted:
        if journey_map_segments and segment not in journey_map_segments:
            raise UsageError(
                f'segment "{segment}" is not in the journey map; it has: {", ".join(journey_map_segments)}'
            )
    return wanted


def _check_target(url: str) -> None:
    """Refused before any browser starts: a run against "not a url" would only time out, site by site."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f'--base-url "{url}" is not a web address; give the site as http(s)://host[:port]/')


def _check_run(args: argparse.Namespace) -> None:
    from harness.record.context import DEFAULT_ADDRESS, DEFAULT_DOMAIN, customer_address

    _check_target(args.base_url)
    if args.customer_address or args.customer_domain:
        template = args.customer_address or DEFAULT_ADDRESS
        customer_address(template, "check", 1, args.customer_domain or DEFAULT_DOMAIN)
    if args.features.is_file():
        check_features_dir(args.features)
    _check_browsers(args.pytest_args)


def _check_browsers(pytest_args: list[str]) -> None:
    """`-- --browser firefox` checked here too, so a missing browser is this command's one sentence."""
    from itertools import pairwise

    from harness.record.browser import check_browsers_installed

    names = [after for option, after in pairwise(pytest_args) if option == "--browser"]
    names += [arg.removeprefix("--browser=") for arg in pytest_args if arg.startswith("--browser=")]
    check_browsers_installed(names)


def cmd_run(args: argparse.Namespace) -> int:
    from harness.map.check import check_map
    from harness.ops.progress_view import open_view
    from harness.ops.runner import run_scenarios

    _check_run(args)
    if args.max_wait is not None:
        from harness.map.journey_map import parse_duration

        try:
            parse_duration(args.max_wait)
        except HarnessError:
            raise UsageError(f'--max-wait "{args.max_wait}" is not a duration, e.g. 2m') from None
    map_path = args.map or map_default()
    checked = check_map(map_path, args.features, covering=False)
    if checked.errors:
        raise checked.errors[0]
    assert checked.journey_map is not None
    from harness.record.segment_context import check_devices
    from harness.store.sqlite import open_store

    check_devices(checked.journey_map, _segments(checked.journey_map.segments, args.segment))

    store_url = args.store or store_default()
    if args.dry_run:
        return _dry_run(args, map_path, checked.journey_map.segments)
    open_store(store_url).close()  # a store that cannot be written is an input error, not a failed site
    segments = _segments(checked.journey_map.segments, args.segment)
    side_by_side = min(args.workers, len(segments))
    view = open_view(args.quiet) if side_by_side == 1 else None  # one display, one run at a time

    def play(segment: str) -> RunResult:
        return run_scenarios(_request(args, map_path, store_url, segment, side_by_side), progress=view)

    failed, ran = False, False
    for result in _played(play, segments, side_by_side):
        report_run(result, store_url)
        failed = failed or not result.passed
        ran = ran or result.exit_code != PYTEST_NO_TESTS
    if not ran:
        raise HarnessError("no scenario ran: the features hold none for the segment(s) asked for")
    if "://" not in store_url:  # a run writes no report: say where it went and what builds one
        stored = Path(store_url).resolve()
        print(f"recorded in {stored}; the report: shopper report --store {stored}")
    return EXIT_GAPS if failed else EXIT_OK


def _request(
    args: argparse.Namespace, map_path: Path, store_url: str, segment: str, side_by_side: int
) -> RunRequest:
    from harness.ops.runner import RunRequest

    return RunRequest(
        features=args.features,
        journey_map=map_path,
        base_url=args.base_url,
        segment=segment,
        store=store_url,
        retries=args.retries,
        mailbox=args.mailbox,
        max_wait=args.max_wait,
        customer_address=args.customer_address,
        customer_domain=args.customer_domain,
        evidence_dir=args.evidence_dir,
        label_header="" if args.no_label_header else args.label_header,
        pytest_args=args.pytest_args,
        quiet=args.quiet or side_by_side > 1,  # runs side by side: each one's verdict as it ends
        verbose=args.verbose,
        workers=args.workers // side_by_side,  # N browsers in all, shared among the segments
        location=args.location,
    )


def _played(play: Callable[[str], RunResult], segments: list[str], side_by_side: int) -> Iterator[RunResult]:
    """Each segment's run, one after the other, or up to `side_by_side` at once (each its own process),
    their results in the segments' order."""
    if side_by_side == 1:
        yield from (play(segment) for segment in segments)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=side_by_side, thread_name_prefix="shopper-segment") as pool:
        yield from pool.map(play, segments)


def _dry_run(args: argparse.Namespace, map_path: Path, segments: list[str]) -> int:
    """`shopper run --dry-run`: the steps find what they name, nothing is sent or stored; exit 1 on a trip."""
    from harness.ops.runner import RunRequest, dry_run
    from harness.record.dry_run import Findings

    found, ran = Findings(), False
    for segment in _segments(segments, args.segment):
        result, segment_found = dry_run(
            RunRequest(
                features=args.features,
                journey_map=map_path,
                base_url=args.base_url,
                segment=segment,
                store=args.store or store_default(),  # never opened in a dry run
                customer_address=args.customer_address,
                pytest_args=args.pytest_args,
            )
        )
        if not result.ran:
            raise HarnessError(f"the scenarios did not run: {result.problem()}")
        if not args.quiet:
            print(result.output, end="")
        ran = ran or result.exit_code != PYTEST_NO_TESTS
        found.extend(segment_found)
        print(f"dry run ({segment}): {segment_found.verdict()}")
    if not ran:
        raise HarnessError("no scenario ran: the features hold none for the segment(s) asked for")
    print("\n".join(found.lines()))
    return EXIT_GAPS if found.trips else EXIT_OK


def report_run(result: RunResult, store_url: str) -> None:
    """One segment's run in a line, or the sentence of why it did not run (shared with `shopper demo`)."""
    if result.halted:
        raise HarnessError(result.halted)
    signalled = -result.exit_code if result.exit_code < 0 else result.exit_code - 128
    if result.exit_code < 0 or signalled in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL, signal.SIGHUP):
        # The run's process was killed (or ended on the signal, its browser with it): what it
        # recorded is kept, the run reads as aborted.
        ran = _scenarios_recorded(store_url, result.run_id)
        raise HarnessError(
            f"run {result.run_id} was stopped by {signal.Signals(signalled).name} after"
            f" {ran} scenario(s); what they recorded is kept and the run reads as aborted"
        )
    if not result.ran:
        raise HarnessError(f"the scenarios did not run: {result.problem()}")
    verdict = {0: "every scenario passed", 1: "failures found", 5: "no scenario for this segment"}
    print(f"run {result.run_id} ({result.segment}): {verdict[result.exit_code]}")
    # What the run itself had to say (a crashed browser) is kept even when its output is not shown.
    for line in result.output.splitlines():
        if line.startswith("shopper: "):
            print(f"  {line.removeprefix('shopper: ')}")


def _scenarios_recorded(store_url: str, run_id: str) -> int:
    from harness.store.sqlite import open_store

    store = open_store(store_url)
    try:
        return store.scenarios_recorded(run_id)
    finally:
        store.close()
