"""`shopper schedule` and `shopper status`: real schedulers in subprocesses, real Chromium, real SQLite.

The long-running tests read the scheduler's log as it is written and act on what it says, so
they wait for events rather than for fixed times.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
from journeys import DEMO_MAP, ROOT, LoggedProcess, serve, write_features

from harness.cli import main
from harness.errors import HarnessError
from harness.observation import Observation, Run, RunFinished, RunStarted, StepObserved, utc_now
from harness.ops.schedule import ScheduleLoop
from harness.ops.schedule_file import DailyAt, Every, HourlyAt, load_schedule, next_due
from harness.store.sqlite import open_store

UTC = dt.UTC
HOME_FEATURE = "@stage:discover\nFeature: F\n  Scenario: S\n    Given I open the home page\n"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def schedule_file(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "schedule.yaml"
    path.write_text(text)
    return path


# The schedule file


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("target: http://x\nmap: m.yaml\nfeatures: f\nevry: 5m\n", 4, 'did you mean "every"'),
        ("target: http://x\nmap: m.yaml\nfeatures: f\n", 1, "say when to run"),
        ("target: http://x\nmap: m.yaml\nfeatures: f\nevery: 5m\ndaily_at: '09:00'\n", 5, "one of every"),
        ("target: http://x\nmap: m.yaml\nfeatures: f\ndaily_at: '25:00'\n", 4, "not a time of day"),
        ("target: http://x\nmap: m.yaml\nfeatures: f\nhourly_at: '15'\n", 4, 'like ":15"'),
        ("target: http://x\nmap: m.yaml\nfeatures: f\nevery: 5 minutes\n", 4, "not a duration"),
        ("target: http://x\nmap: m.yaml\nfeatures: f\nevery: 500ms\n", 4, "shortest interval is 1s"),
        (
            "target: http://x\nmap: m.yaml\nfeatures: f\ndaily_at: '09:00'\ntimezone: Europe/Amsterdm\n",
            5,
            'did you mean "Europe/Amsterdam"',
        ),
        ("target: www.example.com\nmap: m.yaml\nfeatures: f\nevery: 5m\n", 1, "http:// or https://"),
        ("map: m.yaml\nfeatures: f\nevery: 5m\n", 1, '"target" is missing'),
        ("target: http://x\nmap: m.yaml\nfeatures: f\nevery: 5m\nretries: -1\n", 5, "whole number"),
        ("target: http://x\nmap: m.yaml\nfeatures: f\nevery: 5m\nmetrics_port: 70000\n", 5, "65535"),
        ("target: http://x\nmap: [m.yaml\nfeatures: f\n", 3, "not valid YAML"),
        ("target: http://x\nmap: m.yaml\nfeatures: f\nevery: 5m\nalerts:\n  after: 0\n", 6, "alerts.after"),
    ],
)
def test_a_broken_schedule_file_is_one_sentence_with_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = schedule_file(tmp_path, text)
    with pytest.raises(HarnessError) as caught:  # ScheduleError, or the alerts block's AlertConfigError
        load_schedule(path)
    assert str(caught.value).startswith(f"{path}, line {line}: ")
    assert words in str(caught.value)


def test_the_file_reads_as_written_with_paths_relative_to_it(tmp_path: Path) -> None:
    path = schedule_file(
        tmp_path / "ops",
        "target: https://user:secret@shop.example.com\nmap: ../maps/acme.yaml\nfeatures: features\n"
        "daily_at: 09:00\ntimezone: Europe/Amsterdam\nretention: 30d\nretry_backoff: 30s\n",
    )
    config = load_schedule(path)
    assert config.rule == DailyAt(9, 0, "Europe/Amsterdam")  # unquoted 09:00 is not YAML's number 540
    assert config.map == tmp_path / "ops" / "../maps/acme.yaml"
    assert config.store == str(tmp_path / "ops" / "shopper.db")
    assert (config.timeout_s, config.retries, config.retry_backoff_s, config.last) == (600, 1, 30, 20)
    assert config.retention_s == 30 * 86400 and config.segments == [] and config.alerts is None


def test_a_segment_the_map_lacks_is_an_input_error_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = write_features(tmp_path / "features", HOME_FEATURE)
    path = schedule_file(
        tmp_path,
        f"target: http://127.0.0.1:9\nmap: {DEMO_MAP}\nfeatures: {features}\nevery: 5m\n"
        "segments:\n  - self-serve\n  - vip\n",
    )
    assert main(["schedule", str(path), "--once"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"shopper: {path}, line 7: ") and 'segment "vip"' in err


# Due times across the daylight-saving changes of Europe/Amsterdam in 2026:
# March 29 02:00 CET → 03:00 CEST, October 25 03:00 CEST → 02:00 CET.


def test_daily_at_a_time_the_spring_change_skips_runs_once_an_hour_later() -> None:
    rule = DailyAt(2, 30, "Europe/Amsterdam")
    assert next_due(rule, utc(2026, 3, 27, 12), utc(2026, 1, 1)) == utc(2026, 3, 28, 1, 30)  # 02:30 CET
    assert next_due(rule, utc(2026, 3, 28, 1, 30), utc(2026, 1, 1)) == utc(2026, 3, 29, 1, 30)  # 03:30 CEST
    assert next_due(rule, utc(2026, 3, 29, 1, 30), utc(2026, 1, 1)) == utc(2026, 3, 30, 0, 30)  # 02:30 CEST


def test_daily_at_a_time_the_autumn_change_repeats_runs_once() -> None:
    rule = DailyAt(2, 30, "Europe/Amsterdam")
    assert next_due(rule, utc(2026, 10, 24, 12), utc(2026, 1, 1)) == utc(2026, 10, 25, 0, 30)  # CEST
    # Not again at 01:30 UTC, when the clock shows 02:30 a second time.
    assert next_due(rule, utc(2026, 10, 25, 0, 30), utc(2026, 1, 1)) == utc(2026, 10, 26, 1, 30)  # CET


def test_daily_at_nine_keeps_nine_on_the_wall_clock_across_both_changes() -> None:
    rule = DailyAt(9, 0, "Europe/Amsterdam")
    assert next_due(rule, utc(2026, 3, 28, 9), utc(2026, 1, 1)) == utc(2026, 3, 29, 7)
    assert next_due(rule, utc(2026, 10, 24, 9), utc(2026, 1, 1)) == utc(2026, 10, 25, 8)


def test_hourly_at_runs_every_real_hour_through_both_changes() -> None:
    rule = HourlyAt(15, "Europe/Amsterdam")
    anchor = utc(2026, 1, 1)

    def dues(after: dt.datetime, count: int) -> list[dt.datetime]:
        found = []
        for _ in range(count):
            after = next_due(rule, after, anchor)
            found.append(after)
        return found

    spring = dues(utc(2026, 3, 28, 23, 30), 4)  # 01:15 CET, 03:15 CEST (02:15 never comes), 04:15, 05:15
    assert spring == [
        utc(2026, 3, 29, 0, 15),
        utc(2026, 3, 29, 1, 15),
        utc(2026, 3, 29, 2, 15),
        utc(2026, 3, 29, 3, 15),
    ]
    autumn = dues(utc(2026, 10, 24, 23, 30), 3)  # 02:15 CEST, 02:15 CET, 03:15 CET
    assert autumn == [utc(2026, 10, 25, 0, 15), utc(2026, 10, 25, 1, 15), utc(2026, 10, 25, 2, 15)]
    kolkata = HourlyAt(15, "Asia/Kolkata")  # UTC+05:30: a quarter past there is a quarter to here
    assert next_due(kolkata, utc(2026, 3, 29, 10, 0), anchor) == utc(2026, 3, 29, 10, 45)


def test_every_keeps_its_cadence_from_the_start_and_skips_what_it_missed() -> None:
    start = utc(2026, 3, 29, 0, 58)
    rule = Every(300)
    assert next_due(rule, start, start) == utc(2026, 3, 29, 1, 3)
    assert next_due(rule, utc(2026, 3, 29, 1, 14, 59), start) == utc(2026, 3, 29, 1, 18)


# Retention


def seed_run(store_file: Path, run_id: str, started_at: dt.datetime, state: str = "finished") -> None:
    store = open_store(store_file)
    try:
        run = Run(run_id=run_id, started_at=started_at, pid=1, host="elsewhere", segment="self-serve")
        store.handle(RunStarted(run, map_text="journey: J\n"))
        observation = Observation(
            run_id=run_id,
            feature="F",
            scenario="S",
            node_id="n",
            segment="self-serve",
            stage="discover",
            touchpoint="home-page",
            step="Given I open the home page",
            started_at=started_at,
            duration_ms=12.0,
            outcome="passed",
            error="x" * 20_000,  # something for VACUUM to give back
        )
        store.handle(StepObserved(observation))
        if state != "running":
            store.handle(RunFinished(run_id, state, finished_at=started_at + dt.timedelta(seconds=5)))
    finally:
        store.close()


def test_prune_deletes_old_runs_with_their_observations_and_compacts_the_file(tmp_path: Path) -> None:
    store_file = tmp_path / "shopper.db"
    now = utc_now()
    for number in range(40):
        seed_run(store_file, f"old-{number}", now - dt.timedelta(days=40, minutes=number))
    seed_run(store_file, "still-going", now - dt.timedelta(days=40), state="running")
    seed_run(store_file, "recent", now - dt.timedelta(days=1))
    before = store_file.stat().st_size
    store = open_store(store_file)
    try:
        pruned = store.prune(now - dt.timedelta(days=30))
    finally:
        store.close()
    assert sorted(pruned) == sorted(f"old-{number}" for number in range(40))
    with sqlite3.connect(store_file) as db:
        assert sorted(row[0] for row in db.execute("SELECT run_id FROM runs")) == ["recent", "still-going"]
        assert {row[0] for row in db.execute("SELECT run_id FROM observations")} == {"recent", "still-going"}
        assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert store_file.stat().st_size < before / 4


# Schedulers at work


class Scheduled(LoggedProcess):
    """`shopper schedule FILE` in a subprocess, its log collected line by line as it is written."""

    def __init__(self, path: Path, *args: str) -> None:
        # In the schedule's folder: what a store in a server leaves beside it (its status) stays the test's.
        super().__init__(["schedule", str(path), *args], cwd=path.parent)

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 45) -> list[re.Match[str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for line in list(self.lines) if (m := re.search(pattern, line))]
            if len(found) >= count:
                return found
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no {count} x {pattern!r} in the log:\n" + "\n".join(self.lines))

    def stop(self, signum: int) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        return code


@pytest.fixture
def scheduled() -> Iterator[list[Scheduled]]:
    started: list[Scheduled] = []
    yield started
    for each in started:
        each.end()


def processes_of(run_id: str) -> list[str]:
    """Live processes whose command line or environment names the run: its pytest, driver and browser."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline, environ = (entry / "cmdline").read_bytes(), (entry / "environ").read_bytes()
        except (OSError, IndexError):
            continue
        if run_id.encode() in cmdline or run_id.encode() in environ:
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace")[:160])
    return found


def run_states(store_file: Path) -> dict[str, str]:
    with sqlite3.connect(store_file) as db:
        return dict(db.execute("SELECT run_id, state FROM runs").fetchall())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SteppedClock:
    """The schedule's "now", moved only by the test: due times come when the test says, not the machine."""

    def __init__(self, start: dt.datetime) -> None:
        self.moment = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self.moment

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.moment += dt.timedelta(seconds=seconds)


class Events(logging.Handler):
    """The scheduler's log lines, to wait for: the loop's own events are the test's sentinels."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.lines.append(record.getMessage())
            self.changed.notify_all()

    def wait_for(self, words: str, count: int, timeout: float = 60) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: sum(words in line for line in self.lines) >= count, timeout):
                raise AssertionError(f"no {count} x {words!r} in the log:\n" + "\n".join(self.lines))


# A run's pytest that cannot start until the test lets it (the file appears), and then crashes.
HELD_CRASH = """\
import pathlib, time
while not pathlib.Path({release!r}).exists():
    time.sleep(0.02)
raise RuntimeError("a step module that does not import")
"""


def test_runs_come_on_time_skip_what_they_miss_and_a_crash_does_not_stop_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    release = tmp_path / "release"
    features = write_features(tmp_path / "features", HOME_FEATURE)
    (features / "test_journey.py").write_text(HELD_CRASH.format(release=str(release)))
    path = schedule_file(
        tmp_path,
        f"target: http://shopper:s3cret@127.0.0.1:9\nmap: {DEMO_MAP}\nfeatures: {features}\n"
        "segments: [self-serve]\nevery: 2s\ntimeout: 10m\n",
    )
    start = utc(2026, 3, 29, 0, 58)
    clock = SteppedClock(start)
    loop = ScheduleLoop(load_schedule(path), clock=clock)
    events = Events()
    shopper_log = logging.getLogger("shopper")
    handlers = list(shopper_log.handlers)
    shopper_log.addHandler(events)
    starts: list[str] = []
    problems: list[BaseException] = []

    def moved_on() -> None:
        """The job has set its next due time: from then on, moving the clock is what makes a run due."""
        while loop.job is None or loop.job.due <= clock():
            time.sleep(0.02)

    def cycle_done(count: int) -> None:
        events.wait_for("run crashed", count)
        moved_on()
        status = json.loads((tmp_path / "shopper.db.status.json").read_text())
        while status["cycles"] < count:  # written at the very end of the cycle
            time.sleep(0.02)
            status = json.loads((tmp_path / "shopper.db.status.json").read_text())
        starts.extend(run["started_at"] for run in status["last_cycle"]["runs"])

    def drive() -> None:
        try:
            events.wait_for("run started", 1)  # the first cycle is going, and held
            moved_on()
            clock.advance(2)  # its next due time passes while it goes: skipped, not overlapped
            events.wait_for("run skipped: due at 00:58:02 UTC", 1)
            release.touch()
            cycle_done(1)
            clock.advance(2)  # 00:58:04: on time, though the cycle before ran past a due time
            cycle_done(2)
            clock.advance(1.5)  # not due yet: nothing starts
            assert main(["status", str(path)]) == 0
            clock.advance(0.5)
            cycle_done(3)
            os.kill(os.getpid(), signal.SIGINT)  # the loop's own handler takes it, as in a terminal
        except BaseException as problem:
            problems.append(problem)
            loop.stopping.set()

    driver = threading.Thread(target=drive)
    driver.start()
    try:
        code = loop.run()
    finally:
        release.touch()
        driver.join()
        # The loop's own stderr handler too: it holds this test's captured stream.
        for handler in set(shopper_log.handlers) - set(handlers):
            shopper_log.removeHandler(handler)
    if problems:
        raise problems[0]
    assert code == 130  # the CLI's convention for Ctrl-C
    assert starts == [(start + dt.timedelta(seconds=s)).isoformat() for s in (0, 4, 6)]
    assert sum("run started" in line for line in events.lines) == 3
    assert sum("run skipped" in line for line in events.lines) == 1

    out = capsys.readouterr().out
    assert f"scheduler: running, every 2s, pid {os.getpid()}" in out
    assert "next run: 2026-03-29 00:58:06 UTC" in out
    assert "pending expectations: none" in out
    log_text = "\n".join(events.lines)
    assert "schedule stopping on SIGINT" in log_text
    assert "against http://127.0.0.1:9" in log_text and "s3cret" not in log_text
    assert json.loads((tmp_path / "shopper.db.status.json").read_text())["state"] == "stopped"


class Slow(BaseHTTPRequestHandler):
    """A home page that answers after a minute, unless the test ends first; it tells when it is asked."""

    requested = threading.Event()  # the sentinel: a browser of the run is at the page
    released = threading.Event()

    def do_GET(self) -> None:
        Slow.requested.set()
        Slow.released.wait(60)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<title>Home</title>late")

    def log_message(self, format: str, *args: object) -> None:
        pass


SLOW_MAP = (  # fail_after 2m: the browser would wait for the slow page far beyond any timeout here
    "journey: Slow\nsegments: [self-serve]\nstages:\n  - id: discover\n    touchpoints:\n"
    "      - id: home-page\n        channel: web\n        url: /\n        expect: {fail_after: 2m}\n"
)


def test_an_overlong_run_is_killed_with_its_browser_and_the_schedule_goes_on(
    tmp_path: Path, scheduled: list[Scheduled]
) -> None:
    features = write_features(tmp_path / "features", HOME_FEATURE)
    journey = tmp_path / "map.yaml"
    journey.write_text(SLOW_MAP)
    port = free_port()
    Slow.requested.clear()
    Slow.released.clear()
    with serve(Slow) as url:
        # Due every 5s, killed after 20s: dues come while the first run goes, and the timeout is far
        # beyond the time its browser needs to reach the page.
        path = schedule_file(
            tmp_path,
            f"target: {url}\nmap: {journey}\nfeatures: {features}\nevery: 5s\ntimeout: 20s\nretries: 0\n"
            f"metrics_port: {port}\n",
        )
        shopper = Scheduled(path)
        scheduled.append(shopper)
        first = shopper.wait_for(r"run started (\S+)")[0].group(1)
        assert Slow.requested.wait(20), shopper.log()  # the run is recorded and its browser is waiting
        assert any("chrom" in command for command in processes_of(first))
        shopper.wait_for(rf"run killed {first} .*over the timeout of 20s")
        assert processes_of(first) == []
        assert run_states(tmp_path / "shopper.db")[first] == "aborted"
        assert "run skipped: due at" in shopper.log()  # due while the first run was going

        shopper.wait_for(r"run started (\S+)", count=2)  # the schedule goes on
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert 'shopper_runs_total{state="aborted"} 1.0' in response.read().decode()
        # How the second run ends (its timeout, or this stop) is not this test's: see the next one.
        assert shopper.stop(signal.SIGTERM) == 0
        Slow.released.set()
    assert shopper.lines[-1].endswith("skipped") and "schedule stopped after" in shopper.lines[-1]


def test_sigterm_stops_the_run_in_progress_with_its_browser(
    tmp_path: Path, scheduled: list[Scheduled]
) -> None:
    features = write_features(tmp_path / "features", HOME_FEATURE)
    journey = tmp_path / "map.yaml"
    journey.write_text(SLOW_MAP)
    Slow.requested.clear()
    Slow.released.clear()
    with serve(Slow) as url:
        # The run's own timeout is far beyond the test: only the signal can end it.
        path = schedule_file(
            tmp_path, f"target: {url}\nmap: {journey}\nfeatures: {features}\nevery: 1h\ntimeout: 10m\n"
        )
        shopper = Scheduled(path)
        scheduled.append(shopper)
        run = shopper.wait_for(r"run started (\S+)")[0].group(1)
        assert Slow.requested.wait(60), shopper.log()  # the sentinel: the run's browser is at the page
        assert any("chrom" in command for command in processes_of(run))
        assert shopper.stop(signal.SIGTERM) == 0
        Slow.released.set()
    assert "schedule stopping on SIGTERM: the run in progress is stopped" in shopper.log()
    assert re.search(rf"run killed {run} .*the schedule was stopped", shopper.log())
    assert processes_of(run) == []
    assert run_states(tmp_path / "shopper.db")[run] == "aborted"
    last = shopper.lines[-1]
    assert last.endswith("0 skipped") and "schedule stopped after 1 cycle(s)" in last


class Site(BaseHTTPRequestHandler):
    """A home page that is broken (HTTP 500), and a webhook receiver that keeps what it is sent."""

    received: ClassVar[list[dict[str, object]]] = []

    def do_GET(self) -> None:
        self.send_response(500)
        self.end_headers()
        self.wfile.write(b"<title>Oops</title>down")

    def do_POST(self) -> None:
        Site.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_once_runs_a_cycle_then_reports_alerts_prunes_and_tells_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_features(tmp_path / "features", HOME_FEATURE)
    store_file = tmp_path / "shopper.db"
    seed_run(store_file, "20250101T000000Z-old000", utc_now() - dt.timedelta(days=40))
    stale = tmp_path / "reports" / "archive" / "20250101T000000Z-old000"
    stale.mkdir(parents=True)
    Site.received.clear()
    with serve(Site) as url:
        path = schedule_file(
            tmp_path,
            f"target: {url}\nmap: {DEMO_MAP}\nfeatures: features\nsegments: [self-serve]\n"
            "daily_at: '09:00'\ntimezone: Europe/Amsterdam\nretries: 0\nreport: reports\nretention: 30d\n"
            f"alerts:\n  after: 1\n  webhooks:\n    - url: {url}/hook\n",
        )
        done = subprocess.run(
            [sys.executable, "-m", "harness", "schedule", str(path), "--once"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert done.returncode == 1, done.stderr  # the home page is down: failures found
    run_id = re.search(r"run finished (\S+) \(self-serve\) in [\d.]+s: failures found", done.stderr)
    assert run_id is not None, done.stderr
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z run started ", done.stderr, re.MULTILINE)

    reports = tmp_path / "reports"
    assert (reports / "gap-report.html").exists() and (
        reports / "archive" / run_id[1] / "gap-report.html"
    ).exists()
    document = json.loads((reports / "gap-report.json").read_text())
    assert document["window"]["run_ids"] == [run_id[1]]  # the 40-day-old run was pruned first
    assert not stale.exists() and "retention: pruned 1 run(s)" in done.stderr

    assert [body["touchpoint_id"] for body in Site.received] == ["home-page"]
    assert Site.received[0]["event"] == "alert" and Site.received[0]["status"] == "failing"

    assert main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert "scheduler: not running" in out
    assert f"last run: {run_id[1]} (self-serve)" in out and "finished: failures found" in out
    assert "next run: none: the scheduler is not running" in out
    assert "open alerts: 1" in out and "Home page (self-serve): failing 1 runs in a row" in out
    assert "pending expectations: none" in out


def test_status_of_a_store_no_scheduler_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--store", str(tmp_path / "none.db")]) == 0
    out = capsys.readouterr().out
    assert "scheduler: never ran with this store" in out and "last run: none yet" in out
    assert "open alerts: none" in out


class FirstTimeDown(BaseHTTPRequestHandler):
    """The home page fails its first visit, then works: what retries are for."""

    hits: ClassVar[int] = 0

    def do_GET(self) -> None:
        FirstTimeDown.hits += 1
        status = 503 if FirstTimeDown.hits == 1 else 200
        body = b"<!doctype html><title>Acme</title><link rel=icon href='data:,'><h1>Acme</h1>"
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_scheduled_run_retries_after_its_back_off_and_keeps_every_attempt(tmp_path: Path) -> None:
    write_features(tmp_path / "features", HOME_FEATURE)
    FirstTimeDown.hits = 0
    with serve(FirstTimeDown) as url:
        path = schedule_file(
            tmp_path,
            f"target: {url}\nmap: {DEMO_MAP}\nfeatures: features\nsegments: [self-serve]\n"
            "every: 1h\nretries: 1\nretry_backoff: 2s\nreport: reports\n",
        )
        done = subprocess.run(
            [sys.executable, "-m", "harness", "schedule", str(path), "--once"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert done.returncode == 0, done.stderr  # passed on the retry
    store = open_store(tmp_path / "shopper.db")
    try:
        steps = store.observations([run.run_id for run in store.runs()])
    finally:
        store.close()
    assert list(zip(steps["attempt"], steps["outcome"], strict=True)) == [(1, "failed"), (2, "passed")]
    started = [dt.datetime.fromisoformat(text) for text in steps["started_at"]]
    assert (started[1] - started[0]).total_seconds() >= 2  # the back-off
    document = json.loads((tmp_path / "reports" / "gap-report.json").read_text())
    home = document["stages"][0]["touchpoints"][0]["segments"]["self-serve"]
    assert home["status"] == "flaky" and home["observed"]["first_attempt_success_rate"] == 0.0
