"""`shopper map check`, `shopper map diff` and `shopper steps`: the map, its changes, its phrases."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from harness.cli._args import EXIT_GAPS, EXIT_OK, EXIT_USAGE, MAP_NAMES, Parser, map_default

if TYPE_CHECKING:
    from harness.cli._args import Commands


def add_map(commands: Commands) -> None:
    map_cmd = commands.add_parser("map", help="work with journey maps")
    map_commands = map_cmd.add_subparsers(dest="map_command", metavar="SUBCOMMAND", parser_class=Parser)
    map_commands.required = True
    check = map_commands.add_parser("check", help="validate a map and the features' tags against it")
    check.add_argument(
        "map", type=Path, nargs="?", help=f"the map (default: {' or '.join(MAP_NAMES)} in this folder)"
    )
    check.add_argument("--features", type=Path, default=None, help="features folder to check against the map")
    diff = map_commands.add_parser("diff", help="what changed between two versions of a map (exit 1 if any)")
    diff.add_argument("old", type=Path, metavar="OLD")
    diff.add_argument("new", type=Path, metavar="NEW")


def add_steps(commands: Commands) -> None:
    commands.add_parser("steps", help="print the step catalogue: phrases, parameters, touchpoint kinds")


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
    result = check_map(args.map or map_default(), args.features)
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
