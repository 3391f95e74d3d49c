"""`shopper report`: the gap report from the store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli._args import EXIT_GAPS, EXIT_OK, STORE_HELP, check_out, positive, show_report, store_default

if TYPE_CHECKING:
    from harness.cli._args import Commands


def add_report(commands: Commands) -> None:
    report = commands.add_parser("report", help="build the gap report from the store")
    report.add_argument(
        "--map", type=Path, default=None, help="journey map (default: the one the last run used)"
    )
    report.add_argument("--store", default=None, help=STORE_HELP)
    report.add_argument("--out", type=Path, default=Path("reports"), help="report folder (default reports)")
    report.add_argument(
        "--last",
        type=positive,
        default=20,
        help="window: the last N runs (default 20); the N before them are the previous window for trends",
    )
    report.add_argument(
        "--observations-csv",
        action="store_true",
        help="also write every observation of the window to observations.csv (large windows: seconds)",
    )
    report.add_argument("--open", action="store_true", help="open the report in the default browser")


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report.gap_report import build_report

    check_out(args.out)
    built = build_report(
        store_url=args.store or store_default(),
        map_path=args.map,
        out_dir=args.out,
        last=args.last,
        observations_csv=args.observations_csv,
    )
    print(built.summary)
    show_report(built.html_path, args.open)
    return EXIT_OK if built.all_met else EXIT_GAPS
