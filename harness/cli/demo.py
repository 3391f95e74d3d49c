"""`shopper demo`: the bundled Acme company, the demo journey against it, the report."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli._args import EXIT_OK, check_out, count, show_report
from harness.cli.run import report_run
from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.cli._args import Commands

DEMO_MAIL_WAIT_S = 30.0  # longer than any delay the shipped fault profile gives Acme's email


def add_demo(commands: Commands) -> None:
    demo = commands.add_parser(
        "demo", help="start the bundled Acme company, run the demo journey, write the report"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("reports/demo"), help="report folder (default reports/demo)"
    )
    demo.add_argument("--faults", type=Path, help="fault profile YAML (default: the shipped one)")
    demo.add_argument("--retries", type=count, default=1, help="retries of a failed scenario (default 1)")
    demo.add_argument("--quiet", action="store_true", help="do not show pytest's output")
    demo.add_argument("--open", action="store_true", help="open the report in the default browser")
    demo.add_argument(
        "--no-runner-check",
        action="store_true",
        help="do not time the runner; no slow verdict is then held back as runner-busy",
    )


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
    check_out(out)
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
            report_run(result, str(store))
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
    show_report(built.html_path, args.open)
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
