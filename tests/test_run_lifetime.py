"""A run that cannot go on ends honestly: nothing it reported recorded is lost, nothing of it lives on.

- The store's disk fills up mid-run (a real 1 MB tmpfs, mounted by the test as root): the run stops
  at that step, `shopper run` says so in one sentence and exits 2, every observation it counted is
  in the store, and the run reads as aborted.
- `shopper run` is killed with SIGKILL mid-run: its pytest process and its Chromium end with it, the
  scenarios recorded before stay, and the run reads as aborted.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pandas as pd
import pytest
from journeys import ROOT, serve, write_features

from harness.observation import Run
from harness.store.sqlite import open_store

MAP = """\
journey: Lifetime
stages:
  - id: browse
    touchpoints:
      - id: shelf-page
        channel: web
        owner: Product
        url: /shelf
        expect: {within: 20s, fail_after: 30s}
"""
SCENARIO = """
  Scenario: I look at shelf {n}
    Given I open "/shelf/{n}"
    Then I should see "Shelf {n}"
    And I should see "Item"
"""
reached = threading.Event()  # the second scenario's page was asked for: the run is well under way


class Shelves(BaseHTTPRequestHandler):
    slow_s = 0.0

    def do_GET(self) -> None:
        number = self.path.rstrip("/").rsplit("/", 1)[-1]
        if number == "2":
            reached.set()
        time.sleep(self.slow_s)
        body = f"<html><body><h1>Shelf {number}</h1><p>Item</p>{'<p>filler</p>' * 50}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def journey(folder: Path, scenarios: int) -> tuple[Path, Path]:
    text = "@stage:browse\nFeature: Shelves\n" + "".join(
        SCENARIO.format(n=n) for n in range(1, scenarios + 1)
    )
    (folder / "map.yaml").write_text(MAP)
    return folder / "map.yaml", write_features(folder / "features", text)


def shopper_run(base_url: str, map_path: Path, features: Path, store: Path, evidence: Path) -> list[str]:
    command = [sys.executable, "-m", "harness", "run", "--base-url", base_url, "--map", str(map_path)]
    return [
        *command,
        "--features",
        str(features),
        "--store",
        str(store),
        "--quiet",
        "--",
        "--evidence-dir",
        str(evidence),
    ]


def run_to_end(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
    )
    assert mounted.returncode == 0, f"this test mounts a 1 MB tmpfs and needs root: {mounted.stderr!r}"
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill the file system but for `leave` bytes."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with filler.open("wb") as out:
        out.write(b"\0" * max(free - leave, 0))
    return filler


def test_a_full_disk_stops_the_run_and_loses_nothing_it_counted(tmp_path: Path, small_disk: Path) -> None:
    map_path, features = journey(tmp_path, 12)
    store = small_disk / "shopper.db"
    open_store(store).close()  # the store exists; what is left of the disk is what the run may use
    filler = fill(small_disk, 160 * 1024)  # room for some 20 of the 36 steps
    with serve(Shelves) as base_url:
        run = run_to_end(shopper_run(base_url, map_path, features, store, tmp_path / "evidence"))
    sentences = [line for line in run.stderr.splitlines() if line.startswith("shopper: ")]
    assert run.returncode == 2, run.stdout + run.stderr
    assert len(sentences) == 1, run.stderr
    said = re.fullmatch(
        rf"shopper: the store {re.escape(str(store))} is full: (\d+) observations? (?:was|were) recorded,"
        r' the run stopped (?:at|after) step "(.+)" \((.+)\)',
        sentences[0],
    )
    assert said is not None, sentences[0]
    filler.unlink()  # room again: the store can be read and reconciled
    stored_run, kept = the_run(store)
    counted = int(said.group(1))
    assert 0 < counted < 12 * 3, counted  # it stopped mid-run, not before it began or after it ended
    assert len(kept) == counted, (len(kept), counted)
    assert set(kept["outcome"]) == {"passed"}  # no passed step shown failed
    assert stored_run.state == "aborted"


def the_run(store: Path) -> tuple[Run, pd.DataFrame]:
    """The store's one run (reconciled: a run whose process is gone reads as aborted) and what it kept."""
    opened = open_store(store)
    try:
        (stored_run,) = opened.runs()
        return stored_run, opened.observations([stored_run.run_id])
    finally:
        opened.close()


def _processes_with(variable: bytes) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if variable in (entry / "environ").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def test_a_killed_shopper_run_takes_its_pytest_and_browser_with_it(tmp_path: Path) -> None:
    map_path, features = journey(tmp_path, 6)
    store = tmp_path / "shopper.db"
    reached.clear()
    Shelves.slow_s = 0.5
    try:
        with serve(Shelves) as base_url:
            parent = subprocess.Popen(
                shopper_run(base_url, map_path, features, store, tmp_path / "evidence"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
                start_new_session=True,
            )
            assert reached.wait(timeout=300), "the run never reached its second scenario"
            marker = f"SHOPPER_PARENT_PID={parent.pid}\0".encode()
            before = _processes_with(marker)
            assert len(before) >= 2, before  # pytest, Playwright's driver, Chromium
            parent.send_signal(signal.SIGKILL)
            parent.wait()
            deadline = time.monotonic() + 30  # a liveness bound for a loaded machine, not a measured time
            while _processes_with(marker) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _processes_with(marker) == set()
    finally:
        Shelves.slow_s = 0.0
    stored_run, kept = the_run(store)
    assert stored_run.state == "aborted"
    assert len(kept) >= 2 and set(kept["outcome"]) <= {"passed"}, kept[["step", "outcome"]]


class CrashingShelves(Shelves):
    """Shelf 2's request kills the run's Chromium (every process of it), as an out-of-memory killer would."""

    parent = 0

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/2") and CrashingShelves.parent:
            marker = f"SHOPPER_PARENT_PID={CrashingShelves.parent}\0".encode()
            for pid in _processes_with(marker):
                try:
                    command = (Path("/proc") / str(pid) / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"chrom" in command.split(b"\0")[0].lower():
                    os.kill(pid, signal.SIGKILL)
            CrashingShelves.parent = 0  # once
            time.sleep(1)  # the browser is gone before this page could answer
        super().do_GET()


def test_a_crashed_browser_is_relaunched_and_the_crash_is_not_the_touchpoints(tmp_path: Path) -> None:
    map_path, features = journey(tmp_path, 4)
    store = tmp_path / "shopper.db"
    with serve(CrashingShelves) as base_url:
        process = subprocess.Popen(
            shopper_run(base_url, map_path, features, store, tmp_path / "evidence"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        CrashingShelves.parent = process.pid
        output, _ = process.communicate(timeout=600)
    assert "the browser crashed 1 time(s)" in output, output
    _, kept = the_run(store)
    by_scenario = {name: list(group["outcome"]) for name, group in kept.groupby("scenario", sort=False)}
    assert by_scenario["I look at shelf 1"] == ["passed"] * 3
    crashed = kept[kept["scenario"] == "I look at shelf 2"]
    assert crashed["outcome"].iloc[0] == "error", crashed[["step", "outcome", "error"]]
    assert "the browser crashed" in crashed["error"].iloc[0]
    assert "failed" not in set(kept["outcome"])  # nothing charged to the touchpoint's owner
    for later in ("I look at shelf 3", "I look at shelf 4"):  # in a new browser
        assert by_scenario[later] == ["passed"] * 3, by_scenario


def test_a_store_on_a_read_only_mount_can_be_reported_from(tmp_path: Path, small_disk: Path) -> None:
    map_path, features = journey(tmp_path, 2)
    store = small_disk / "shopper.db"
    with serve(Shelves) as base_url:
        run = run_to_end(shopper_run(base_url, map_path, features, store, tmp_path / "evidence"))
    assert run.returncode == 0, run.stdout + run.stderr
    db = sqlite3.connect(store)  # a second run, killed: still "running", its process long gone
    with db:
        db.execute(
            "INSERT INTO runs (run_id, started_at, state, pid, host, target, segment, journey, map_version,"
            " map_path, map_digest) SELECT 'killed', started_at, 'running', 999999999, host, target, segment,"
            " journey, map_version, map_path, map_digest FROM runs"
        )
    db.close()
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True)
    assert remounted.returncode == 0, remounted.stderr
    report = subprocess.run(
        [sys.executable, "-m", "harness", "report", "--store", str(store), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert report.returncode == 0, report.stdout + report.stderr  # every expectation met, read as it is
    assert (tmp_path / "out" / "gap-report.html").exists()
    assert not (small_disk / "shopper.db-journal").exists()  # nothing was written to the read-only mount
