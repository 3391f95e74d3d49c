"""A run pays only for what it uses: the recorder, the plugin, the steps and the CLI load no pandas.

pandas, numpy and pyarrow are for the analysis and the report. Importing them costs a `shopper
run` more than walking a short journey, twice (the `shopper` process and its pytest child), so
what a run loads must not pull them in. Each check runs in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.steps import PLUGINS

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "numpy", "pyarrow")
LEAN_MODULES = [
    "harness.record.plugin",
    "harness.record.fixtures",
    "harness.record.recorder",
    "harness.store.sqlite",
    "harness.mail.pending",
    "harness.ops.runner",
    "harness.cli",
    "harness.steps",
    *PLUGINS,
]


def loaded_after(code: str) -> list[str]:
    """Which heavy packages a fresh interpreter holds after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(name for name in {HEAVY!r} if name in sys.modules))"
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return completed.stdout.split()


@pytest.mark.parametrize("module", LEAN_MODULES)
def test_importing_it_loads_no_analysis_package(module: str) -> None:
    assert loaded_after(f"import {module}") == []


@pytest.mark.parametrize("command", [["--help"], ["run", "--help"]])
def test_shopper_help_loads_no_analysis_package(command: list[str]) -> None:
    # `python -m harness` is the `shopper` script's entry point; -X importtime lists every import.
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "harness", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "usage: shopper" in completed.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in completed.stderr.splitlines()}
    assert "harness.cli" in imported
    assert sorted(imported & set(HEAVY)) == []


def test_the_probe_sees_an_import() -> None:
    # The check above could pass by never seeing anything: the analysis read does load pandas.
    assert "pandas" in loaded_after("import harness.store.frame")
