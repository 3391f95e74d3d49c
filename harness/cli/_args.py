"""What every command shares: exit statuses, the one-sentence parser, defaults and input checks."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import HarnessError
from harness.store.sqlite import DEFAULT_STORE

EXIT_OK, EXIT_GAPS, EXIT_USAGE = 0, 1, 2
DEFAULT_FEATURES = Path("scenarios")
# A folder's own map, found by name; without one `--map` is required (never the demo's map in disguise).
MAP_NAMES = ("journey-map.yaml", "map.yaml")
STORE_HELP = "store path, or postgresql://user@host/db (default $SHOPPER_STORE or shopper.db)"


class UsageError(HarnessError):
    """Wrong arguments on the command line."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse would print the whole usage; one sentence and exit 2 is the harness's contract.
        raise UsageError(f"{message} (see `{self.prog} --help`)")


if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[Parser]  # what each command module adds its parser to


def store_default() -> str:
    return os.environ.get("SHOPPER_STORE", DEFAULT_STORE)


def map_default() -> Path:
    if os.environ.get("SHOPPER_MAP"):
        return Path(os.environ["SHOPPER_MAP"])
    here = [Path(name) for name in MAP_NAMES if Path(name).is_file()]
    if not here:
        raise UsageError(
            f"no journey map given: name it with --map (this folder has no {' or '.join(MAP_NAMES)})"
        )
    return here[0]


def count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f'"{text}" is not a whole number, 0 or more')
    return int(text)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f'"{text}" is not a whole number, 1 or more')
    return int(text)


def port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f'"{text}" is not a port, 0 to 65535')
    return int(text)


def check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError("--out is a file, not a folder: a report is several files in a folder", file=out)


def show_report(html_path: str | Path, open_it: bool) -> None:
    """The report's absolute path and its file:// address, which a terminal makes clickable."""
    page = Path(html_path).resolve()
    print(f"report: {page}")
    print(f"        {page.as_uri()}")
    if open_it:
        import webbrowser

        webbrowser.open(page.as_uri())
