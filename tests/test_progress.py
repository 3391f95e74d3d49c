"""`shopper run` shows what it is doing while it does it: plain lines in a pipe, a live display on a
terminal (a real tmux), only the verdicts with --quiet, pytest's own output too with --verbose.

The slow shelf's page is held until the test has seen its step shown as running (or a liveness
bound passes): the release says the progress came while the step ran, not after the run.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from journeys import ROOT, QuietHandler, send_html, serve, shopper_run, write_features

MAP = """\
journey: Shelves
stages:
  - id: browse
    touchpoints:
      - id: shelf-page
        channel: web
        owner: Product
        url: /shelf
        expect: {within: 20s, fail_after: 60s}
      - id: slow-page
        channel: web
        owner: Product
        url: /slow
        expect: {within: 20s, fail_after: 300s}
      - id: missing-page
        channel: web
        owner: Product
        url: /missing
        expect: {within: 20s, fail_after: 60s}
"""
FEATURE = """\
@stage:browse
Feature: Shelves

  Scenario: I look at the shelf
    Given I open "/shelf"
    Then I should see "Shelf"

  Scenario: I wait for the slow shelf
    Given I open "/slow"
    Then I should see "Slow shelf"
    Given I open "/missing"
    Then I should see "Never"
"""
SLOW_STEP = 'Given I open "/slow"'
STEPS = ['Given I open "/shelf"', 'Then I should see "Shelf"', SLOW_STEP, 'Then I should see "Slow shelf"']
HELD_S = 240  # a liveness bound for a loaded machine, not a measured time


class Shelves(QuietHandler):
    gate = threading.Event()
    released: list[bool] = []  # noqa: RUF012 - one per request for the slow page: was it the test's release?

    def do_GET(self) -> None:
        if self.path.startswith("/missing"):
            send_html(self, "<h1>Not here</h1>", status=404)
            return
        if self.path.startswith("/slow"):
            Shelves.released.append(Shelves.gate.wait(HELD_S))
            send_html(self, "<h1>Slow shelf</h1>")
            return
        send_html(self, "<h1>Shelf</h1><p>Item</p>")


@pytest.fixture
def site() -> Iterator[str]:
    Shelves.gate.clear()
    Shelves.released = []
    with serve(Shelves) as base_url:
        yield base_url


def journey(folder: Path) -> tuple[Path, Path]:
    (folder / "map.yaml").write_text(MAP)
    return folder / "map.yaml", write_features(folder / "features", FEATURE)


def run_command(base_url: str, folder: Path, *extra: str) -> list[str]:
    map_path, features = journey(folder)
    command = [sys.executable, "-m", "harness", "run", "--base-url", base_url, "--map", str(map_path)]
    return [*command, "--features", str(features), "--store", str(folder / "shopper.db"), *extra]


def test_a_piped_run_says_each_step_as_it_runs_and_the_counts_so_far(site: str, tmp_path: Path) -> None:
    process = subprocess.Popen(
        run_command(site, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.rstrip("\n") == f"  running: {SLOW_STEP}":
            Shelves.gate.set()  # seen while its page is still held: the line came as the step ran
    status = process.wait()
    output = "\n".join(lines)
    assert status == 1, output
    assert Shelves.released == [True], output
    assert "\x1b" not in output  # no terminal codes in a pipe
    assert "test session starts" not in output  # pytest's own output only with --verbose
    for step in STEPS:
        started = lines.index(f"  running: {step}")
        assert re.fullmatch(rf"  passed: {re.escape(step)} \(\d+\.\d s\)", lines[started + 1]), output
    failing = lines.index('  running: Given I open "/missing"')
    assert lines[failing + 1].startswith('  failed: Given I open "/missing" ('), output
    assert "404" in lines[failing + 1], output
    assert '  running: Then I should see "Never"' not in lines  # never tried after the failure
    assert "scenario passed: I look at the shelf; so far 1 passed, 0 failed" in lines, output
    assert "scenario failed: I wait for the slow shelf; so far 1 passed, 1 failed" in lines, output
    assert "segment default: 1 passed, 1 failed" in lines, output
    assert re.search(r"^run \S+ \(default\): failures found$", output, re.MULTILINE), output


def tmux(socket: str, *args: str) -> str:
    done = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_terminal_shows_the_step_running_now(site: str, tmp_path: Path) -> None:
    assert shutil.which("tmux"), "this test records a terminal with tmux: `make test` installs it"
    socket = f"shopper-progress-{uuid.uuid4().hex[:8]}"  # a tmux server of the test's own
    command = " ".join(f"'{arg}'" for arg in run_command(site, tmp_path))
    # The pane's own size, as in a terminal: not the COLUMNS=80 a pytest session exports to its children.
    command = f"env -u COLUMNS -u LINES {command}; echo shopper-exited-$?; sleep {HELD_S}"
    tmux(socket, "new-session", "-d", "-s", "run", "-x", "150", "-y", "40", "-c", str(ROOT), command)
    try:
        running, screen, bound = "", "", time.monotonic() + 2 * HELD_S  # liveness, not a measured time
        while time.monotonic() < bound:
            screen = tmux(socket, "capture-pane", "-p", "-t", "run")
            shown = re.search(rf"▶ {re.escape(SLOW_STEP)} · running (\d+\.\d) s", screen)
            # Held until its clock on the screen has ticked past 2 s: the display is redrawn as it runs.
            if not running and shown and float(shown.group(1)) >= 2.0:
                running = screen
                Shelves.gate.set()
            if "shopper-exited-" in screen:
                break
            time.sleep(0.2)
        print(f"the terminal while the slow step ran:\n{running}\nand at the end:\n{screen}")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
    assert running, screen
    assert Shelves.released == [True], screen
    assert re.search(r"segment default · \d passed, \d failed · ", running), running
    assert "I wait for the slow shelf (features/journey.feature) · step 1/4" in running, running
    assert "shopper-exited-1" in screen, screen
    assert "✓ I look at the shelf (features/journey.feature) · 2 steps" in screen, screen
    failed = '✗ I wait for the slow shelf (features/journey.feature) · failed at Given I open "/missing" · '
    assert failed in screen and "    Missing page answered HTTP 404" in screen, screen
    assert "segment default: 1 passed, 1 failed" in screen, screen
    assert "▶" not in screen  # the live lines leave with the run


def test_quiet_prints_only_the_verdicts(
    site: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Shelves.gate.set()
    map_path, features = journey(tmp_path)
    status = shopper_run(site, features, tmp_path / "shopper.db", "--quiet", journey_map=map_path)
    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert len(lines) == 2, lines
    assert re.fullmatch(r"run \S+ \(default\): failures found", lines[0]), lines
    assert lines[1].startswith(f"recorded in {(tmp_path / 'shopper.db').resolve()}; the report: "), lines


# A deprecation inside the tool stack (here pytest's own) that a `shopper run` user can do nothing about.
LIBRARY_DEPRECATION = """\
import warnings

import pytest


@pytest.fixture(autouse=True)
def deprecated_inside() -> None:
    warnings.warn(pytest.PytestRemovedIn10Warning("a pytest internal the harness still uses"), stacklevel=1)
"""


def test_verbose_shows_pytests_output_too_but_no_deprecations(site: str, tmp_path: Path) -> None:
    Shelves.gate.set()
    command = run_command(site, tmp_path, "--verbose")
    (tmp_path / "features" / "conftest.py").write_text(LIBRARY_DEPRECATION)
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=900, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "test session starts" in output and "::test_i_look_at_the_shelf PASSED" in output, output
    assert f"  running: {SLOW_STEP}" in output  # the progress as well
    assert "PytestRemovedIn10Warning" not in output and "warnings summary" not in output, output


def test_quiet_and_verbose_together_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["run", "--base-url", "http://127.0.0.1:9/", "--quiet", "--verbose"]) == 2
    [sentence] = capsys.readouterr().err.splitlines()
    assert sentence.startswith("shopper: argument --verbose: not allowed with argument --quiet"), sentence
