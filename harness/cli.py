"""The `shopper` command. The only place where errors become messages and exit codes.

Exit status: 0 every expectation met (or the command did what it was asked), 1 gaps or
failures found, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from harness.errors import HarnessError
from harness.map.features import check_features_dir
from harness.ops.runner import PYTEST_NO_TESTS, RunResult

EXIT_OK, EXIT_GAPS, EXIT_USAGE = 0, 1, 2
DEFAULT_FEATURES = Path("scenarios")
# A folder's own map, found by name; without one `--map` is required (never the demo's map in disguise).
MAP_NAMES = ("journey-map.yaml", "map.yaml")
DEMO_MAIL_WAIT_S = 30.0  # longer than any delay the shipped fault profile gives Acme's email


class UsageError(HarnessError):
    """Wrong arguments on the command line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse would print the whole usage; one sentence and exit 2 is the harness's contract.
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _store_default() -> str:
    return os.environ.get("SHOPPER_STORE", "shopper.db")


def _map_default() -> Path:
    if os.environ.get("SHOPPER_MAP"):
        return Path(os.environ["SHOPPER_MAP"])
    here = [Path(name) for name in MAP_NAMES if Path(name).is_file()]
    if not here:
        raise UsageError(
            f"no journey map given: name it with --map (this folder has no {' or '.join(MAP_NAMES)})"
        )
    return here[0]


def _show_report(html_path: str | Path, open_it: bool) -> None:
    """The report's absolute path and its file:// address, which a terminal makes clickable."""
    page = Path(html_path).resolve()
    print(f"report: {page}")
    print(f"        {page.as_uri()}")
    if open_it:
        import webbrowser

        webbrowser.open(page.as_uri())


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shopper-harness")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f'"{text}" is not a whole number, 0 or more')
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f'"{text}" is not a whole number, 1 or more')
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f'"{text}" is not a port, 0 to 65535')
    return int(text)


EXAMPLES = {
    "demo": ["shopper demo", "shopper demo --faults my-faults.yaml --out reports/demo --open"],
    "run": [
        "shopper run --base-url https://staging.example.com --map journey-map.yaml --features journey",
        "shopper run --base-url http://127.0.0.1:8000 --map map.yaml --retries 1 -- --headed",
        "shopper run --base-url http://127.0.0.1:8000 --map map.yaml -- --lf   # only last run's failures",
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
}


def _with_examples(parser: argparse.ArgumentParser) -> None:
    """Every subcommand's --help ends with examples to copy, kept as written (one a line)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                sub.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
                sub.formatter_class = argparse.RawDescriptionHelpFormatter
                _with_examples(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="shopper", description="Mystery-shopper harness: hold a journey map against reality."
    )
    parser.add_argument("--version", action="version", version=f"shopper {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    demo = commands.add_parser(
        "demo", help="start the bundled Acme company, run the demo journey, write the report"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("reports/demo"), help="report folder (default reports/demo)"
    )
    demo.add_argument("--faults", type=Path, help="fault profile YAML (default: the shipped one)")
    demo.add_argument("--retries", type=_count, default=1, help="retries of a failed scenario (default 1)")
    demo.add_argument("--quiet", action="store_true", help="do not show pytest's output")
    demo.add_argument("--open", action="store_true", help="open the report in the default browser")
    demo.add_argument(
        "--no-runner-check",
        action="store_true",
        help="do not time the runner; no slow verdict is then held back as runner-busy",
    )

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
    run.add_argument("--store", default=None, help="store path (default $SHOPPER_STORE or shopper.db)")
    run.add_argument("--retries", type=_count, default=0, help="retries of a failed scenario")
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
        "--evidence-dir", type=Path, help="where screenshots and traces at failure go (default: by the store)"
    )
    run.add_argument("--quiet", action="store_true")
    run.add_argument("pytest_args", nargs="*", help="after --: passed to pytest (e.g. --headed)")

    report = commands.add_parser("report", help="build the gap report from the store")
    report.add_argument(
        "--map", type=Path, default=None, help="journey map (default: the one the last run used)"
    )
    report.add_argument("--store", default=None, help="store path (default $SHOPPER_STORE or shopper.db)")
    report.add_argument("--out", type=Path, default=Path("reports"), help="report folder (default reports)")
    report.add_argument(
        "--last",
        type=_positive,
        default=20,
        help="window: the last N runs (default 20); the N before them are the previous window for trends",
    )
    report.add_argument(
        "--observations-csv",
        action="store_true",
        help="also write every observation of the window to observations.csv (large windows: seconds)",
    )
    report.add_argument("--open", action="store_true", help="open the report in the default browser")

    map_cmd = commands.add_parser("map", help="work with journey maps")
    map_commands = map_cmd.add_subparsers(dest="map_command", metavar="SUBCOMMAND", parser_class=_Parser)
    map_commands.required = True
    check = map_commands.add_parser("check", help="validate a map and the features' tags against it")
    check.add_argument(
        "map", type=Path, nargs="?", help=f"the map (default: {' or '.join(MAP_NAMES)} in this folder)"
    )
    check.add_argument("--features", type=Path, default=None, help="features folder to check against the map")
    diff = map_commands.add_parser("diff", help="what changed between two versions of a map (exit 1 if any)")
    diff.add_argument("old", type=Path, metavar="OLD")
    diff.add_argument("new", type=Path, metavar="NEW")

    commands.add_parser("steps", help="print the step catalogue: phrases, parameters, touchpoint kinds")

    scheduled = commands.add_parser(
        "schedule", help="run the journey on a schedule, forever (see docs/deploy.md)"
    )
    scheduled.add_argument("schedule", type=Path, metavar="SCHEDULE.yaml", help="the schedule file")
    scheduled.add_argument(
        "--once", action="store_true", help="run one cycle now and exit (0 all passed, 1 failures)"
    )

    mail = commands.add_parser("mail", help="the synthetic customers' mail")
    mail_commands = mail.add_subparsers(dest="mail_command", metavar="SUBCOMMAND", parser_class=_Parser)
    mail_commands.required = True
    poll = mail_commands.add_parser(
        "poll", help="resolve pending expectations: record the replies that came, fail the overdue (exit 1)"
    )
    poll.add_argument("--store", default=None, help="store path (default $SHOPPER_STORE or shopper.db)")
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
    sink.add_argument("--port", type=_port, default=2525, help="SMTP port (default 2525; 0: any free one)")
    sink.add_argument(
        "--maildir",
        type=Path,
        default=Path("shopper-mail"),
        help="Maildir to file into (default shopper-mail)",
    )

    status = commands.add_parser("status", help="what the scheduler did last and does next")
    status.add_argument(
        "schedule", type=Path, nargs="?", metavar="SCHEDULE.yaml", help="the schedule file (names the store)"
    )
    status.add_argument("--store", default=None, help="store path (default $SHOPPER_STORE or shopper.db)")
    _with_examples(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler = {
            "demo": cmd_demo,
            "run": cmd_run,
            "report": cmd_report,
            "map": cmd_map,
            "steps": cmd_steps,
            "schedule": cmd_schedule,
            "status": cmd_status,
            "mail": cmd_mail,
        }
        return handler[args.command](args)
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


def cmd_steps(args: argparse.Namespace) -> int:
    from harness.map.catalogue import entries
    from harness.steps import load_catalogue

    load_catalogue()
    for entry in entries():
        keyword = "Given/When/Then" if entry.keyword == "step" else entry.keyword.capitalize()
        binds = f" — names the {entry.suffix or 'touchpoint'} ({{{entry.binds}}})" if entry.binds else ""
        print(f"{keyword} {entry.phrase}")
        print(f"    kind: {entry.kind}{binds}")
        if entry.parameters:
            print(f"    parameters: {', '.join(entry.parameters)}")
        if entry.doc:
            print(f"    {entry.doc.splitlines()[0]}")
    return EXIT_OK


def cmd_map(args: argparse.Namespace) -> int:
    if args.map_command == "diff":
        return _map_diff(args.old, args.new)
    from harness.map.check import check_map
    from harness.steps import load_catalogue

    load_catalogue()  # the coverage reads the step catalogue
    result = check_map(args.map or _map_default(), args.features)
    print(result.summary())
    if result.errors:
        for error in result.errors:
            print(f"shopper: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _map_diff(old_path: Path, new_path: Path) -> int:
    from harness.map.diff import diff_maps
    from harness.map.loading import load_map

    old, new = load_map(old_path), load_map(new_path)
    print(f"{old_path} (version {old.version or '—'}) → {new_path} (version {new.version or '—'})")
    changes = diff_maps(old, new)
    if not changes:
        print("no differences")
        return EXIT_OK
    for kind in ("added", "removed", "changed"):
        sentences = [change.sentence for change in changes if change.kind == kind]
        if sentences:
            print(f"{kind.capitalize()}:")
            print("\n".join(f"  {sentence}" for sentence in sentences))
    return EXIT_GAPS  # like diff(1): 1 means the maps differ, not that anything failed


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
    from harness.ops.runner import RunRequest, run_scenarios

    _check_run(args)
    if args.max_wait is not None:
        from harness.map.journey_map import parse_duration

        try:
            parse_duration(args.max_wait)
        except HarnessError:
            raise UsageError(f'--max-wait "{args.max_wait}" is not a duration, e.g. 2m') from None
    map_path = args.map or _map_default()
    checked = check_map(map_path, args.features, covering=False)
    if checked.errors:
        raise checked.errors[0]
    assert checked.journey_map is not None
    from harness.store.sqlite import open_store

    store_url = args.store or _store_default()
    if args.dry_run:
        return _dry_run(args, map_path, checked.journey_map.segments)
    open_store(store_url).close()  # a store that cannot be written is an input error, not a failed site
    failed, ran = False, False
    for segment in _segments(checked.journey_map.segments, args.segment):
        result = run_scenarios(
            RunRequest(
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
                pytest_args=args.pytest_args,
                quiet=args.quiet,
            )
        )
        _report_run(result, store_url)
        failed = failed or not result.passed
        ran = ran or result.exit_code != PYTEST_NO_TESTS
    if not ran:
        raise HarnessError("no scenario ran: the features hold none for the segment(s) asked for")
    if "://" not in store_url:  # a run writes no report: say where it went and what builds one
        stored = Path(store_url).resolve()
        print(f"recorded in {stored}; the report: shopper report --store {stored}")
    return EXIT_GAPS if failed else EXIT_OK


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
                store=args.store or _store_default(),  # never opened in a dry run
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


def _report_run(result: RunResult, store_url: str) -> None:
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


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError("--out is a file, not a folder: a report is several files in a folder", file=out)


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report.gap_report import build_report

    _check_out(args.out)
    built = build_report(
        store_url=args.store or _store_default(),
        map_path=args.map,
        out_dir=args.out,
        last=args.last,
        observations_csv=args.observations_csv,
    )
    print(built.summary)
    _show_report(built.html_path, args.open)
    return EXIT_OK if built.all_met else EXIT_GAPS


def cmd_demo(args: argparse.Namespace) -> int:
    from harness.demo import DEFAULT_FAULTS, JOURNEY, JOURNEY_MAP, load_faults, start_acme
    from harness.map.loading import load_map
    from harness.ops.runner import RunRequest, run_scenarios
    from harness.report.gap_report import build_report

    features, map_path = JOURNEY, JOURNEY_MAP
    if not map_path.exists():
        raise HarnessError(
            "the demo journey is missing from the installed package; reinstall shopper-harness", file=map_path
        )
    faults = load_faults(args.faults or DEFAULT_FAULTS)
    out: Path = args.out
    _check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    store = out / "demo.db"
    for stale in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
        stale.unlink(missing_ok=True)  # each demo tells the story of one fault profile, not of all of them
    started = time.monotonic()
    journey_map = load_map(map_path)
    with (
        tempfile.TemporaryDirectory(prefix="shopper-demo-mail-") as mail,
        start_acme(faults, Path(mail)) as acme,
    ):
        print(f"Acme is up at {acme.url} (mail sink on port {acme.smtp_port})")
        for segment in journey_map.segments:
            result = run_scenarios(
                RunRequest(
                    features=features,
                    journey_map=map_path,
                    base_url=acme.url,
                    segment=segment,
                    store=str(store),
                    retries=args.retries,
                    mailbox=f"maildir:{acme.maildir}",
                    evidence_dir=out / "evidence",
                    quiet=args.quiet,
                    pytest_args=["--no-runner-check"] if args.no_runner_check else [],
                )
            )
            _report_run(result, str(store))
        _poll_demo_mail(str(store))
    built = build_report(
        store_url=str(store),
        map_path=map_path,
        out_dir=out,
        last=len(journey_map.segments),
        observations_csv=True,
    )
    print(built.summary)
    if args.faults is None:
        print("(the shipped fault profile slows the pricing page and breaks the help search on purpose)")
    print(f"demo finished in {time.monotonic() - started:.1f}s")
    _show_report(built.html_path, args.open)
    return EXIT_OK


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
    store_url = args.store or _store_default()
    if not Path(store_url).exists() and "://" not in store_url:
        raise HarnessError("no store here: run `shopper run` first, or name it with --store", file=store_url)
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


def _poll_demo_mail(store_url: str) -> None:
    """The support reply the runs left pending: Acme's "person" answers within seconds, so wait."""
    from harness.ops.mail_poll import poll
    from harness.store.sqlite import open_store

    store = open_store(store_url)
    try:
        polled = poll(store, wait_s=DEMO_MAIL_WAIT_S, report=lambda result: print(result.describe()))
    finally:
        store.close()
    if polled.results:
        print(f"{len(polled.results)} pending expectation(s) polled, as `shopper mail poll` does")


def cmd_schedule(args: argparse.Namespace) -> int:
    from harness.ops.schedule import run_schedule

    return run_schedule(args.schedule, once=args.once)


def cmd_status(args: argparse.Namespace) -> int:
    from harness.ops.schedule_file import load_schedule
    from harness.ops.scheduler_status import status_lines

    if args.schedule is not None and args.store is not None:
        raise UsageError("give the schedule file or --store, not both")
    config = load_schedule(args.schedule) if args.schedule is not None else None
    store = config.store if config is not None else args.store or _store_default()
    print("\n".join(status_lines(store, config)))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
