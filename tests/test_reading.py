"""The report's read of its two windows (harness/report/reading.py): this window at once, the previous
one on a second connection while this one is analysed, on either backend."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from test_store import T0, make_obs, make_run

from harness.errors import StoreError
from harness.observation import RunFinished, RunStarted, StepObserved
from harness.report.reading import read_window
from harness.store.frame import LEAN_COLUMNS, _read_arrow
from harness.store.sqlite import open_store


def _fill(store_url: str, runs: int) -> None:
    store = open_store(store_url)
    try:
        for number in range(runs):
            run_id, start = f"run-{number}", T0 + dt.timedelta(minutes=number)
            store.handle(RunStarted(make_run(run_id, start)))
            for seq in range(3):
                # Each run's own duration, so a row read into the wrong window shows.
                store.handle(StepObserved(make_obs(run_id, seq, start, duration_ms=100.0 * number + seq)))
            store.handle(RunFinished(run_id, "finished", finished_at=start + dt.timedelta(seconds=5)))
    finally:
        store.close()


def test_each_window_is_read_whole_and_alone(store_url: str) -> None:
    _fill(store_url, 4)
    store = open_store(store_url)
    try:
        runs = store.runs()
        observations, previous = read_window(store, store_url, runs[2:], runs[:2])
        expected_now = store.analysis_frame([run.run_id for run in runs[2:]])
        expected_before = store.analysis_frame([run.run_id for run in runs[:2]])
    finally:
        store.close()
    before = previous()  # read on its own connection: the first store is closed by now
    assert set(observations["run_id"].astype(str)) == {"run-2", "run-3"}
    assert before is not None and set(before["run_id"].astype(str)) == {"run-0", "run-1"}
    columns = ["run_id", "seq", "duration_ms", "outcome", "touchpoint"]

    def rows(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[columns].astype(str).reset_index(drop=True)

    for got, expected in ((observations, expected_now), (before, expected_before)):
        pd.testing.assert_frame_equal(rows(got), rows(expected))


def test_no_previous_window_is_none(store_url: str) -> None:
    _fill(store_url, 2)
    store = open_store(store_url)
    try:
        observations, previous = read_window(store, store_url, store.runs(), [])
    finally:
        store.close()
    assert len(observations) == 6 and previous() is None


def test_the_previous_windows_read_error_is_raised_when_it_is_needed(tmp_path: Path) -> None:
    local = str(tmp_path / "shopper.db")
    _fill(local, 2)
    store = open_store(local)
    try:
        runs = store.runs()
        # The previous window's store cannot be opened (a URL with a password is refused): this
        # window is still read, and the error comes out where the analysis asks for the other.
        observations, previous = read_window(store, "postgresql://u:secret@localhost/db", runs[1:], runs[:1])
    finally:
        store.close()
    assert len(observations) == 3
    with pytest.raises(StoreError) as raised:
        previous()
    assert "secret" not in str(raised.value)


# Another process holding a writer's exclusive lock on a file in rollback-journal mode, which no
# reader can pass, until a line comes on its stdin. Another process, as a runner is: locks of one
# process do not stop that process's own readers.
_HOLD = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=DELETE")
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""


def test_the_arrow_read_waits_for_a_lock_on_the_sqlite_store(tmp_path: Path) -> None:
    # The report's two windows open the file at once (one making sure of the schema) and a run may
    # be writing: a read that finds the file locked waits for the lock, as the store's own
    # connection does, instead of failing "database is locked".
    path = tmp_path / "shopper.db"
    _fill(str(path), 2)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdin is not None and holder.stdout is not None
    released = threading.Event()

    def release() -> None:
        released.set()
        holder.stdin.write("go\n")
        holder.stdin.flush()

    timer = threading.Timer(0.5, release)
    try:
        assert holder.stdout.readline() == "locked\n"
        timer.start()
        frame = _read_arrow(path, f"SELECT id, {', '.join(LEAN_COLUMNS)} FROM observations", [])
        assert released.is_set() and frame is not None and len(frame) == 6
    finally:
        timer.cancel()
        holder.kill()
        holder.wait()
