"""`shopper run --workers 2` (pytest-xdist `-n 2`) on the demo: one run, recorded by two workers
without a collision (harness/record/workers.py).

Before, two workers numbered their observations, customers and evidence from 1 each: a run stored
15 observations under 11 seqs, two scenarios shared one customer's address, and the run's end was
whichever worker wrote last. Here every number is checked unique across the whole run, and that
both workers did record (so the uniqueness is not one worker's alone).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from journeys import DEMO_MAP, shopper_run

from harness.cli._args import EXIT_GAPS
from harness.demo import DEFAULT_FAULTS, JOURNEY, load_faults, start_acme
from harness.map.loading import load_map
from harness.observation import from_iso
from harness.ops.runner import RunRequest, run_scenarios
from harness.record.workers import WORKER_BLOCK
from harness.store.sqlite import open_store


@pytest.fixture(scope="module")
def parallel_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The demo's self-serve segment played by two workers, from "eu-west"; its store's path."""
    out = tmp_path_factory.mktemp("workers")
    store = out / "shopper.db"
    evidence = str(out / "evidence")
    _two_workers(store, "--segment", "self-serve", "--location", "eu-west", "--evidence-dir", evidence)
    yield store


def _two_workers(store: Path, *options: str) -> None:
    """`shopper run --workers 2` of the demo journey against Acme with its shipped faults."""
    with tempfile.TemporaryDirectory() as mail, start_acme(load_faults(DEFAULT_FAULTS), Path(mail)) as acme:
        code = shopper_run(
            acme.url,
            JOURNEY,
            store,
            *("--workers", "2", "--quiet", "--mailbox", f"maildir:{acme.maildir}", *options),
            *("--", "--no-runner-check"),
            journey_map=DEMO_MAP,
        )
    assert code == EXIT_GAPS  # the shipped fault profile breaks the help search on purpose


def _observations(store: Path) -> pd.DataFrame:
    opened = open_store(store)
    try:
        (run,) = opened.runs()
        return opened.observations([run.run_id])
    finally:
        opened.close()


def test_both_workers_recorded_and_every_observation_has_its_own_seq(parallel_run: Path) -> None:
    observations = _observations(parallel_run)
    assert observations["seq"].is_unique
    worker = observations["seq"] // WORKER_BLOCK
    assert set(worker) == {0, 1}  # gw0 and gw1 both recorded scenarios of the one run
    # A scenario (with its retries) is played by one worker: its steps' order is that worker's.
    assert (worker.groupby(observations["node_id"]).nunique() == 1).all()


def test_one_run_row_from_the_first_start_to_the_last_end(parallel_run: Path) -> None:
    observations = _observations(parallel_run)
    opened = open_store(parallel_run)
    try:
        (run,) = opened.runs()
    finally:
        opened.close()
    assert (run.state, run.location, run.segment) == ("finished", "eu-west", "self-serve")
    starts = observations["started_at"].map(from_iso)
    ends = starts + pd.to_timedelta(observations["duration_ms"], unit="ms")
    # An email step's duration is the time to inbox, counted from the submit that sent it, not from
    # the step's own start: its start plus duration may lie past the run's end. Every step began
    # before the end, and every other step ended before it.
    emails = {tp.id for tp in load_map(DEMO_MAP).touchpoints() if tp.channel == "email"}
    own_time = ~observations["touchpoint"].isin(emails)
    assert run.started_at <= starts.min()
    assert run.finished_at is not None and run.finished_at >= starts.max()
    assert run.finished_at >= ends[own_time].max()  # the last worker's end
    with sqlite3.connect(parallel_run) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_every_scenario_had_a_customer_address_of_its_own(parallel_run: Path) -> None:
    opened = open_store(parallel_run)
    try:
        (run,) = opened.runs()
        messages = opened.messages([run.run_id])
    finally:
        opened.close()
    addresses: dict[str, set[str]] = {}
    for message in messages:
        addresses.setdefault(message.node_id, set()).add(message.address)
    assert len(addresses) >= 2  # sign-up and support both mailed their customer
    assert all(len(used) == 1 for used in addresses.values())
    every = [address for used in addresses.values() for address in used]
    assert len(every) == len(set(every))


def test_evidence_names_and_pending_keys_do_not_collide(parallel_run: Path) -> None:
    observations = _observations(parallel_run)
    evidence = [path for path in observations["evidence"] if path]
    assert evidence and len(evidence) == len(set(evidence))
    assert all(Path(path).is_file() for path in evidence)
    with sqlite3.connect(parallel_run) as db:
        shots = [row[0] for row in db.execute("SELECT screenshot FROM page_evidence WHERE screenshot != ''")]
        pending = db.execute("SELECT seq, node_id FROM pending").fetchall()
    assert len(shots) == len(set(shots))
    assert pending  # the support reply, promised within hours, is left to `shopper mail poll`
    # Each pending item names the observation it was left from, not another worker's.
    by_seq = observations.set_index("seq")
    for seq, node_id in pending:
        assert by_seq.loc[seq, "node_id"] == node_id


def test_a_parallel_run_killed_mid_way_reads_as_aborted(tmp_path: Path) -> None:
    """The run's pid is its controller's: once the run is killed, with every worker, it reads as aborted."""
    store = tmp_path / "shopper.db"

    def recorded() -> bool:
        if not store.exists():
            return False
        with sqlite3.connect(store) as db:
            try:
                return bool(db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])
            except sqlite3.OperationalError:  # the schema is being made
                return False

    with tempfile.TemporaryDirectory() as mail, start_acme(load_faults(DEFAULT_FAULTS), Path(mail)) as acme:
        request = RunRequest(
            features=JOURNEY,
            journey_map=DEMO_MAP,
            base_url=acme.url,
            segment="self-serve",
            store=str(store),
            mailbox=f"maildir:{acme.maildir}",
            workers=2,
            quiet=True,
            pytest_args=["--no-runner-check"],
        )
        result = run_scenarios(request, stop=recorded)
    assert result.killed == "stopped"
    opened = open_store(store)
    try:
        (run,) = opened.runs()
    finally:
        opened.close()
    assert run.run_id == request.run_id and run.state == "aborted"


def test_segments_play_side_by_side(tmp_path: Path) -> None:
    """Two segments, two workers: each segment's run in its own process at once, not one after the other."""
    store = tmp_path / "shopper.db"
    _two_workers(store)
    opened = open_store(store)
    try:
        runs = opened.runs()
        observations = opened.observations([run.run_id for run in runs])
    finally:
        opened.close()
    assert sorted(run.segment for run in runs) == ["enterprise", "self-serve"]
    assert all(run.state == "finished" for run in runs)
    # Side by side: each segment's first step came before the other's last one.
    starts = observations["started_at"].map(from_iso)
    first, last = starts.groupby(observations["run_id"]).min(), starts.groupby(observations["run_id"]).max()
    one, other = (run.run_id for run in runs)
    assert first[one] < last[other] and first[other] < last[one]
    # One worker each (two browsers in all): no worker's block but the first.
    assert (observations["seq"] < WORKER_BLOCK).all()


def test_the_progress_of_two_workers_names_each_scenario_as_it_ends() -> None:
    """Two workers write one feed, their scenarios' events interleaved: each end line names its own."""
    import io

    from harness.ops.progress import PlainProgress

    shown = io.StringIO()
    view = PlainProgress(shown)
    events: list[dict[str, object]] = [
        {"event": "run", "run_id": "r", "segment": "self-serve"},
        {"event": "scenario", "node_id": "a", "feature": "f", "scenario": "Alpha", "attempt": 1, "steps": 1},
        {"event": "run", "run_id": "r", "segment": "self-serve"},  # the second worker's first scenario
        {"event": "scenario", "node_id": "b", "feature": "f", "scenario": "Beta", "attempt": 1, "steps": 1},
        {"event": "step_end", "node_id": "a", "step": "A", "outcome": "failed", "wall_ms": 1, "error": "x"},
        {"event": "step_end", "node_id": "b", "step": "B", "outcome": "passed", "wall_ms": 1, "error": ""},
        {"event": "scenario_end", "node_id": "a", "outcome": "failed"},
        {"event": "scenario_end", "node_id": "b", "outcome": "passed"},
    ]
    for event in events:
        view.event(event)
    lines = shown.getvalue().splitlines()
    assert "scenario failed: Alpha; so far 0 passed, 1 failed" in lines
    assert "scenario passed: Beta; so far 1 passed, 1 failed" in lines  # the first worker's count kept
    assert view.tally.broke == "" and view.tally.playing == {}
