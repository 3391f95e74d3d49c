"""The store: events in, runs and observations out, and a killed run keeps what it saw.

The tests taking `store` run against both backends (a SQLite file and a real PostgreSQL database,
tests/conftest.py's `store_url`); the SQLite file's own properties (WAL, URLs, older files) below.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.errors import StoreError
from harness.observation import (
    Observation,
    PageEvidence,
    PageRequest,
    Run,
    RunFinished,
    RunStarted,
    StepObserved,
)
from harness.store.base import SQLStore
from harness.store.columns import OBSERVATION_COLUMNS
from harness.store.sqlite import SQLiteStore, open_store

T0 = dt.datetime(2026, 11, 1, 9, 0, 0, tzinfo=dt.UTC)
OTHER_HOST = "some-other-runner.invalid"


def make_run(
    run_id: str, started_at: dt.datetime = T0, *, pid: int | None = None, host: str = OTHER_HOST
) -> Run:
    # Another host by default: reconcile_aborted() (called by runs()) leaves those alone.
    return Run(
        run_id=run_id,
        started_at=started_at,
        pid=pid,
        host=host,
        target="http://acme.test",
        segment="self-serve",
        journey="Acme self-serve trial",
        map_version="2026-11-01",
        map_path="scenarios/acme.yaml",
    )


def make_obs(run_id: str, seq: int, started_at: dt.datetime, **changes: Any) -> Observation:
    base = Observation(
        run_id=run_id,
        feature="discover.feature",
        scenario="The home page tells me what Acme is",
        node_id="scenarios/test_journey.py::test_home",
        segment="self-serve",
        stage="discover",
        touchpoint="home-page",
        step="I open the home page",
        started_at=started_at,
        duration_ms=123.5,
        outcome="passed",
        seq=seq,
    )
    return replace(base, **changes)


@pytest.fixture
def store(store_url: str) -> Iterator[SQLStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_run_round_trips(store: SQLStore) -> None:
    store.handle(RunStarted(make_run("run-1", pid=4242)))
    [run] = store.runs()
    assert run.run_id == "run-1"
    assert run.state == "running"
    assert run.finished_at is None
    assert run.pid == 4242
    assert run.host == OTHER_HOST
    assert run.target == "http://acme.test"
    assert run.segment == "self-serve"
    assert run.journey == "Acme self-serve trial"
    assert run.map_version == "2026-11-01"
    assert run.map_path == "scenarios/acme.yaml"


def test_started_at_round_trips_as_utc(store: SQLStore) -> None:
    # Given in another zone, it comes back as the same instant, in UTC.
    plus_two = dt.timezone(dt.timedelta(hours=2))
    local = dt.datetime(2026, 11, 1, 11, 30, 15, 250_000, tzinfo=plus_two)
    store.handle(RunStarted(make_run("run-1", local)))
    [run] = store.runs()
    assert run.started_at == dt.datetime(2026, 11, 1, 9, 30, 15, 250_000, tzinfo=dt.UTC)
    assert run.started_at.utcoffset() == dt.timedelta(0)


def test_run_finished_sets_state_and_time(store: SQLStore) -> None:
    store.handle(RunStarted(make_run("run-1")))
    store.handle(RunFinished("run-1", "finished", finished_at=T0 + dt.timedelta(minutes=3)))
    [run] = store.runs()
    assert run.state == "finished"
    assert run.finished_at == T0 + dt.timedelta(minutes=3)
    assert run.finished_at is not None and run.finished_at.utcoffset() == dt.timedelta(0)


def test_runs_are_oldest_first_and_last_takes_the_newest(store: SQLStore) -> None:
    # Written out of order on purpose: order comes from started_at, not insertion.
    for run_id, minutes in (("b", 20), ("d", 40), ("a", 10), ("c", 30)):
        store.handle(RunStarted(make_run(run_id, T0 + dt.timedelta(minutes=minutes))))
    assert [run.run_id for run in store.runs()] == ["a", "b", "c", "d"]
    assert [run.run_id for run in store.runs(last=2)] == ["c", "d"]
    assert [run.run_id for run in store.runs(last=1)] == ["d"]
    assert [run.run_id for run in store.runs(last=10)] == ["a", "b", "c", "d"]


def test_observations_dataframe_columns_and_values(store: SQLStore) -> None:
    store.handle(RunStarted(make_run("run-1")))
    store.handle(StepObserved(make_obs("run-1", 0, T0 + dt.timedelta(seconds=1))))
    store.handle(
        StepObserved(
            make_obs(
                "run-1",
                1,
                T0 + dt.timedelta(seconds=2),
                step='I should see "Team"',
                touchpoint=None,
                duration_ms=7.0,
                outcome="failed",
                error="not visible",
                attempt=2,
                evidence="shot.png",
                timed=False,
            )
        )
    )
    frame = store.observations(["run-1"])
    assert list(frame.columns) == OBSERVATION_COLUMNS
    assert len(frame) == 2
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["step"] == "I open the home page"
    assert first["touchpoint"] == "home-page"
    assert first["duration_ms"] == pytest.approx(123.5)
    assert first["outcome"] == "passed"
    assert first["attempt"] == 1
    assert bool(first["timed"]) is True
    assert dt.datetime.fromisoformat(first["started_at"]) == T0 + dt.timedelta(seconds=1)
    assert second["step"] == 'I should see "Team"'
    assert pd.isna(second["touchpoint"])  # a step on no touchpoint
    assert second["outcome"] == "failed"
    assert second["error"] == "not visible"
    assert second["attempt"] == 2
    assert second["evidence"] == "shot.png"
    assert bool(second["timed"]) is False
    assert list(frame["timed"]) == [1, 0]


def test_observations_only_for_the_runs_asked(store: SQLStore) -> None:
    for run_id in ("run-1", "run-2"):
        store.handle(RunStarted(make_run(run_id)))
        store.handle(StepObserved(make_obs(run_id, 0, T0)))
    assert list(store.observations(["run-2"])["run_id"]) == ["run-2"]
    assert sorted(store.observations(["run-1", "run-2"])["run_id"]) == ["run-1", "run-2"]
    empty = store.observations([])
    assert empty.empty
    assert list(empty.columns) == OBSERVATION_COLUMNS


def test_wal_mode_is_on(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "shopper.db")
    try:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()
    # It is a property of the file, so a fresh connection sees it as well.
    other = sqlite3.connect(tmp_path / "shopper.db")
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_observation_is_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "shopper.db")
    reader = sqlite3.connect(tmp_path / "shopper.db")
    try:
        store.handle(RunStarted(make_run("run-1")))
        store.handle(StepObserved(make_obs("run-1", 0, T0)))
        # No commit, no close: a run killed right now must still have this row.
        rows = reader.execute("SELECT run_id, step, outcome FROM observations").fetchall()
        assert rows == [("run-1", "I open the home page", "passed")]
        assert reader.execute("SELECT state FROM runs WHERE run_id = 'run-1'").fetchone() == ("running",)
    finally:
        reader.close()
        store.close()


def test_run_of_an_exited_process_becomes_aborted(store: SQLStore) -> None:
    pid = exited_pid()
    store.handle(RunStarted(make_run("dead", pid=pid, host=socket.gethostname())))
    store.handle(StepObserved(make_obs("dead", 0, T0 + dt.timedelta(seconds=5))))
    store.handle(StepObserved(make_obs("dead", 1, T0 + dt.timedelta(seconds=9))))
    store.handle(StepObserved(make_obs("dead", 2, T0 + dt.timedelta(seconds=7))))
    assert store.reconcile_aborted() == ["dead"]
    [run] = store.runs()
    assert run.state == "aborted"
    assert run.finished_at == T0 + dt.timedelta(seconds=9)
    # Reconciling again finds nothing new: an aborted run is no longer running.
    assert store.reconcile_aborted() == []


def test_runs_reconciles_on_read(store: SQLStore) -> None:
    store.handle(RunStarted(make_run("dead", pid=exited_pid(), host=socket.gethostname())))
    [run] = store.runs()
    assert run.state == "aborted"
    assert run.finished_at is None  # it never observed anything


def test_run_of_a_live_process_stays_running(store: SQLStore) -> None:
    store.handle(RunStarted(make_run("alive", pid=os.getpid(), host=socket.gethostname())))
    store.handle(StepObserved(make_obs("alive", 0, T0)))
    assert store.reconcile_aborted() == []
    [run] = store.runs()
    assert run.state == "running"
    assert run.finished_at is None


def test_run_on_another_host_is_left_alone(store: SQLStore) -> None:
    store.handle(RunStarted(make_run("elsewhere", pid=exited_pid(), host=OTHER_HOST)))
    assert store.reconcile_aborted() == []
    [run] = store.runs()
    assert run.state == "running"


def test_finished_run_is_never_reconciled(store: SQLStore) -> None:
    store.handle(RunStarted(make_run("done", pid=exited_pid(), host=socket.gethostname())))
    store.handle(RunFinished("done", "finished", finished_at=T0 + dt.timedelta(minutes=1)))
    assert store.reconcile_aborted() == []
    [run] = store.runs()
    assert run.state == "finished"
    assert run.finished_at == T0 + dt.timedelta(minutes=1)


def test_retry_pass_keeps_the_original_start(store: SQLStore) -> None:
    store.handle(RunStarted(make_run("run-1", T0, pid=111)))
    store.handle(RunFinished("run-1", "finished", finished_at=T0 + dt.timedelta(minutes=1)))
    retry = make_run("run-1", T0 + dt.timedelta(minutes=5), pid=os.getpid(), host=socket.gethostname())
    store.handle(RunStarted(retry))
    [run] = store.runs()
    assert run.started_at == T0
    assert run.state == "running"
    assert run.finished_at is None
    assert run.pid == os.getpid()
    assert run.host == socket.gethostname()


def test_open_store_inside_a_file_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("I am a file\n")
    target = blocker / "shopper.db"
    with pytest.raises(StoreError) as caught:
        open_store(target)
    assert str(target) in str(caught.value)
    assert caught.value.file == str(target)


def test_open_store_with_sqlite_url(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "history.db"
    store = open_store(f"sqlite:///{path}")
    try:
        assert store.path == path
        store.handle(RunStarted(make_run("run-1")))
    finally:
        store.close()
    assert path.is_file()
    reopened = open_store(path)
    try:
        assert [run.run_id for run in reopened.runs()] == ["run-1"]
    finally:
        reopened.close()


def test_open_store_with_relative_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///relative.db")
    try:
        store.handle(RunStarted(make_run("run-1")))
    finally:
        store.close()
    assert (tmp_path / "relative.db").is_file()


# The schema before evidence traces and stored maps: a store written by an older harness.
OLD_SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
    state TEXT NOT NULL, pid INTEGER, host TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',
    segment TEXT NOT NULL DEFAULT '', journey TEXT NOT NULL DEFAULT '', map_version TEXT NOT NULL DEFAULT '',
    map_path TEXT NOT NULL DEFAULT '');
CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, seq INTEGER NOT NULL,
    feature TEXT NOT NULL, scenario TEXT NOT NULL, node_id TEXT NOT NULL, segment TEXT NOT NULL,
    stage TEXT NOT NULL, touchpoint TEXT, step TEXT NOT NULL, started_at TEXT NOT NULL,
    duration_ms REAL NOT NULL, outcome TEXT NOT NULL, error TEXT NOT NULL DEFAULT '',
    attempt INTEGER NOT NULL DEFAULT 1, evidence TEXT NOT NULL DEFAULT '', timed INTEGER NOT NULL DEFAULT 1);
INSERT INTO runs (run_id, started_at, state, host)
    VALUES ('old', '2026-10-01T09:00:00+00:00', 'finished', 'x');
INSERT INTO observations (run_id, seq, feature, scenario, node_id, segment, stage, touchpoint, step,
    started_at, duration_ms, outcome, error)
    VALUES ('old', 1, 'f', 's', 'n', 'self-serve', 'discover', 'home-page', 'Given I open the home page',
    '2026-10-01T09:00:01+00:00', 250.0, 'failed', 'HTTP 500');
"""


def test_a_store_from_an_older_harness_gains_the_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    store = open_store(path)
    try:
        (run,) = store.runs()
        assert (run.run_id, run.map_digest) == ("old", "")
        frame = store.analysis_frame(["old"])
        assert frame[["touchpoint", "outcome", "error", "trace", "page_title"]].astype(
            str
        ).values.tolist() == [["home-page", "failed", "HTTP 500", "", ""]]
        store.handle(StepObserved(make_obs("old", 2, T0, trace="t.zip", page_url="http://acme.test/x")))
        assert store.observations(["old"])["trace"].tolist() == ["", "t.zip"]
        # No content miss was told apart then, and no page kept its requests.
        assert store.observations(["old"])["failure"].tolist() == ["", ""]
        assert store.slowest_visits(["old"]) == []
    finally:
        store.close()


def _page(duration: float, screenshot: str = "") -> PageEvidence:
    return PageEvidence(
        url="http://acme.test/pricing",
        requests=[
            PageRequest("http://acme.test/pricing", 0.0, 40.0, 900, "navigation"),
            PageRequest("http://acme.test/hero.png", 45.0, duration, None, "img"),
        ],
        screenshot=screenshot,
    )


def test_each_touchpoint_keeps_its_slowest_page_visit_until_its_run_is_pruned(store: SQLStore) -> None:
    for run_id in ("r1", "r2"):
        store.handle(RunStarted(make_run(run_id)))
    store.handle(StepObserved(make_obs("r1", 1, T0, duration_ms=300.0, page=_page(250.0))))
    store.handle(StepObserved(make_obs("r2", 2, T0, duration_ms=900.0, page=_page(850.0, "slow.png"))))
    store.handle(StepObserved(make_obs("r2", 3, T0, duration_ms=5000.0, outcome="failed", page=_page(1.0))))
    store.handle(StepObserved(make_obs("r2", 4, T0, duration_ms=9000.0)))  # no page evidence kept
    store.handle(StepObserved(make_obs("r2", 5, T0, failure="content", outcome="failed")))
    (slowest,) = store.slowest_visits(["r1", "r2"])
    assert (slowest.touchpoint, slowest.segment, slowest.run_id, slowest.seq) == (
        "home-page",
        "self-serve",
        "r2",
        2,
    )
    assert slowest.duration_ms == 900.0 and slowest.page == _page(850.0, "slow.png")
    assert store.observations(["r2"])["failure"].tolist() == ["", "", "", "content"]
    assert store.slowest_visits(["r1"])[0].seq == 1  # only the window's runs
    for run_id in ("r1", "r2"):
        store.handle(RunFinished(run_id, "finished"))
    store.prune(dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
    assert store._db.execute("SELECT COUNT(*) FROM page_evidence").fetchone()[0] == 0


def test_the_map_text_is_stored_once_and_read_back(store: SQLStore) -> None:
    text = "journey: Acme\nstages: []\n"
    for run_id in ("r1", "r2"):
        store.handle(RunStarted(replace(make_run(run_id), map_digest="abc123"), map_text=text))
    assert store.map_text("abc123") == text and store.map_text("nope") is None
    assert [run.map_digest for run in store.runs()] == ["abc123", "abc123"]


def test_the_analysis_frame_holds_what_the_observations_hold(store: SQLStore) -> None:
    _analysis_frame_holds_the_observations(store)


def test_without_adbc_the_analysis_frame_holds_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where SQLite's ADBC driver is not installed the store falls back to sqlite3.
    monkeypatch.setattr("harness.store.frame._read_arrow", lambda *args: None)
    store = SQLiteStore(tmp_path / "shopper.db")
    try:
        _analysis_frame_holds_the_observations(store)
    finally:
        store.close()


def _analysis_frame_holds_the_observations(store: SQLStore) -> None:
    for run_id in ("r1", "r2", "r3"):
        store.handle(RunStarted(make_run(run_id)))
    store.handle(StepObserved(make_obs("r1", 1, T0)))
    store.handle(StepObserved(make_obs("r2", 2, T0, outcome="failed", error="boom", evidence="e.png")))
    store.handle(StepObserved(make_obs("r3", 3, T0, touchpoint=None, node_id="other")))
    store.handle(StepObserved(make_obs("r2", 4, T0, outcome="skipped")))
    frame = store.analysis_frame(["r2", "r3"])
    plain = store.observations(["r2", "r3"])
    assert sorted(frame["seq"]) == sorted(plain["seq"]) == [2, 3, 4]
    by_seq = frame.set_index("seq")
    assert by_seq.loc[2, "error"] == "boom" and by_seq.loc[2, "evidence"] == "e.png"
    assert pd.isna(by_seq.loc[4, "error"])  # texts of steps that did not fail are not read
    assert pd.isna(by_seq.loc[3, "touchpoint"]) and by_seq.loc[3, "node_id"] != by_seq.loc[2, "node_id"]
    assert store.analysis_frame([]).empty
