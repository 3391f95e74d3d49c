"""Every option the README shows exists where it says: on `shopper` or, for plain pytest, on pytest."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from journeys import ROOT

from harness.cli import build_parser

# Named in the README as what they are, not as options of ours: Chromium's own flag, and the
# options of the worked example's own application (tests/sites/flask_security_app.py).
NOT_OURS = {"--no-sandbox", "--data", "--smtp-port", "--port"}


def shopper_options(parser: argparse.ArgumentParser) -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        found |= {option for option in action.option_strings if option.startswith("--")}
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= shopper_options(sub)
    return found


def test_every_option_the_readme_names_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", readme)) - NOT_OURS
    assert len(named) > 20  # the README does name options: the search finds them
    pytest_help = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    ours = shopper_options(build_parser()) | set(re.findall(r"--[a-z][a-z-]+", pytest_help))
    assert named - ours == set()
