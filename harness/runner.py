"""Run scenarios: one pytest process per run, so a crash or a kill never takes the caller with it."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError
from harness.recorder import new_run_id
from steps import PLUGINS

PYTEST_OK, PYTEST_FAILED, PYTEST_NO_TESTS = 0, 1, 5


@dataclass
class RunRequest:
    features: Path
    journey_map: Path
    base_url: str
    segment: str
    store: str
    retries: int = 0
    mailbox: str | None = None
    evidence_dir: Path | None = None
    run_id: str = field(default_factory=new_run_id)
    pytest_args: list[str] = field(default_factory=list)
    quiet: bool = False


@dataclass
class RunResult:
    run_id: str
    segment: str
    exit_code: int  # pytest's
    output: str = ""  # pytest's output when it was not shown (quiet)

    @property
    def passed(self) -> bool:
        return self.exit_code in (PYTEST_OK, PYTEST_NO_TESTS)

    @property
    def ran(self) -> bool:
        """The scenarios ran (passing or not); otherwise pytest stopped on a usage or internal error."""
        return self.exit_code in (PYTEST_OK, PYTEST_FAILED, PYTEST_NO_TESTS)

    def problem(self) -> str:
        """pytest's own words for why it did not run, for a one-sentence error."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower() and not line.startswith("ERROR: usage")]
        return (errors or lines or [f"pytest exit status {self.exit_code}"])[-1].removeprefix("ERROR: ")


def pytest_command(request: RunRequest) -> list[str]:
    command = [sys.executable, "-m", "pytest", str(request.features), "-p", "harness.plugin"]
    for plugin in PLUGINS:
        command += ["-p", plugin]
    command += [
        "--journey-map",
        str(request.journey_map),
        "--base-url",
        request.base_url,
        "--segment",
        request.segment,
        "--store",
        request.store,
        "--run-id",
        request.run_id,
        "-p",
        "no:cacheprovider",
        "-o",
        "console_output_style=classic",
    ]
    if request.retries:
        command += ["--reruns", str(request.retries)]
    if request.mailbox:
        command += ["--mailbox", request.mailbox]
    if request.evidence_dir:
        command += ["--evidence-dir", str(request.evidence_dir)]
    command += ["-q"] if request.quiet else ["-v"]
    return command + request.pytest_args


def check_features_dir(features: Path) -> None:
    if not features.exists():
        raise HarnessError("features folder not found", file=features)
    if features.is_dir() and not any(features.rglob("*.feature")):
        raise HarnessError("no .feature files here", file=features)
    if features.is_dir() and not any(features.glob("test_*.py")):
        raise HarnessError(
            "no test module collects the features here: add test_journey.py containing"
            ' `from pytest_bdd import scenarios; scenarios(".")`',
            file=features,
        )


def run_scenarios(request: RunRequest) -> RunResult:
    check_features_dir(request.features)
    env = dict(os.environ)
    # The harness (and its step library) must import in the child even when run from a source tree.
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    capture = subprocess.PIPE if request.quiet else None
    completed = subprocess.run(
        pytest_command(request), env=env, stdout=capture, stderr=capture, text=True, check=False
    )
    output = (completed.stdout or "") + (completed.stderr or "")
    return RunResult(
        run_id=request.run_id, segment=request.segment, exit_code=completed.returncode, output=output
    )
