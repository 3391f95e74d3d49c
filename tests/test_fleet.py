"""The fleet: a scheduler enqueueing due runs per location, `shopper worker`s walking them, on a real
Redis (Debian's redis-server, started here), real Chromium and one shared store. The store every
process shares comes from one fixture (`fleet_store`): another backend is a change to it alone.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
from journeys import LoggedProcess, send_html, serve, write_features
from redis_server import running_redis
from test_schedule import HOME_FEATURE, Scheduled, free_port, schedule_file
from test_schedule import scheduled as scheduled  # the fixture: schedulers killed at the end

from harness.cli import main
from harness.errors import HarnessError
from harness.observation import Run
from harness.ops.fleet_broker import LEDGER, Dispatcher, queue_depth, redis_client
from harness.ops.fleet_job import Job, job_id
from harness.ops.schedule_file import load_schedule
from harness.record.context import DEFAULT_ADDRESS, customer_address
from harness.store.sqlite import open_store

pytestmark = pytest.mark.fleet  # `pytest -m fleet`: these tests alone
A, B = "eu-west", "us-east"
MAP = (  # fail_after 2m: a browser held at the page waits far beyond anything here
    "journey: Fleet\nsegments: [self-serve]\nstages:\n  - id: discover\n    touchpoints:\n"
    "      - id: home-page\n        channel: web\n        url: /\n        expect: {fail_after: 2m}\n"
)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """One real Redis on loopback for the test run, nothing kept on disk: its URL."""
    with running_redis() as url:
        yield url


@pytest.fixture
def broker(redis_server: str) -> str:
    client = redis_client(redis_server)
    client.flushall()  # each test its own queues and ledger
    client.close()
    return redis_server


@pytest.fixture
def fleet_store(postgres_url: str) -> str:
    """The store the scheduler and every worker share: a database of a real PostgreSQL, as a fleet's
    hosts would (its password in PGPASSWORD, which the workers inherit)."""
    return postgres_url


def fleet_schedule(folder: Path, target: str, broker: str, store: str, when: str = "every: 1h") -> Path:
    features = write_features(folder / "features", HOME_FEATURE)
    journey = folder / "map.yaml"
    journey.write_text(MAP)
    return schedule_file(
        folder,
        f"target: {target}\nmap: {journey}\nfeatures: {features}\n{when}\ntimeout: 5m\nretries: 0\n"
        f"store: {store}\nbroker: {broker}\nlocations: [{A}, {B}]\n",
    )


@pytest.mark.parametrize(
    ("extra", "line", "words"),
    [
        ("broker: redis://127.0.0.1:6379/0\n", 5, '"broker" needs "locations" too'),
        ("locations: [eu-west]\n", 5, '"locations" needs "broker" too'),
        ("broker: amqp://127.0.0.1/\nlocations: [eu-west]\n", 5, "not a Redis address"),
        ("broker: redis://127.0.0.1:6379/0\nlocations: [EU West]\n", 6, "not a location name"),
        ("broker: redis://127.0.0.1:6379/0\nlocations: []\n", 6, "must be a list of names"),
    ],
)
def test_a_fleet_schedule_names_a_redis_broker_and_its_locations(
    tmp_path: Path, extra: str, line: int, words: str
) -> None:
    path = schedule_file(tmp_path, "target: http://x\nmap: m.yaml\nfeatures: f\nevery: 5m\n" + extra)
    with pytest.raises(HarnessError) as raised:
        load_schedule(path)
    assert f"schedule.yaml, line {line}: " in str(raised.value) and words in str(raised.value)


def test_a_worker_refuses_a_bad_location_or_broker_in_one_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    cases = [
        (["--location", "EU", "--broker", closed], "is not a location name"),
        (["--location", A, "--broker", "http://127.0.0.1/"], "is not a Redis address"),
        (["--location", A, "--broker", closed], f"cannot reach the broker at {closed}"),
        (["--location", A, "--broker", closed, "--redelivery-after", "soon"], "is not a duration"),
    ]
    for args, words in cases:
        assert main(["worker", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("shopper: ") and words in err and err.count("\n") == 1, err


def test_each_due_time_is_enqueued_once_per_location_even_by_a_restarted_scheduler(
    tmp_path: Path, broker: str, fleet_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fleet_schedule(tmp_path, "http://shopper:s3cret@127.0.0.1:9/", broker, fleet_store)
    config = load_schedule(path)
    client = redis_client(broker)
    try:
        # The scheduler's own process, twice: a restart finds the current due time in the ledger.
        first = Scheduled(path)
        first.wait_for(r"run enqueued \S+", count=2)
        assert first.stop(signal.SIGTERM) == 0
        again = Scheduled(path)
        again.wait_for(r"run already enqueued \S+: not sent again", count=2)
        assert again.stop(signal.SIGTERM) == 0
        enqueued = re.findall(r"run enqueued (\S+)", first.log())
        assert sorted(enqueued) == sorted(re.findall(r"run already enqueued ([^\s:]+)", again.log()))
        assert {A, B} == {job.split("-", 1)[1].rsplit("-", 1)[0] for job in enqueued}
        assert "run enqueued" not in again.log() and "s3cret" not in first.log() + again.log()
        assert queue_depth(client, A) == 1 and queue_depth(client, B) == 1
        ledger = [key.decode().removeprefix(LEDGER) for key in client.keys(LEDGER + "*")]
        assert sorted(ledger) == sorted(enqueued)

        # Another due time is another job; the same one, sent by a second dispatcher, is not.
        due = load_schedule(path)
        dispatcher = Dispatcher(due, ["self-serve"])
        moment = dt.datetime(2026, 1, 1, 9, tzinfo=dt.UTC)
        assert [len(ids) for ids in dispatcher.enqueue(moment, 60)] == [2, 0]
        assert [len(ids) for ids in Dispatcher(config, ["self-serve"]).enqueue(moment, 60)] == [0, 2]
        dispatcher.close()
        assert queue_depth(client, A) == 2 and queue_depth(client, B) == 2
    finally:
        client.close()

    assert main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"  {A}: no worker, 2 run(s) queued" in out and f"  {B}: no worker, 2 run(s) queued" in out


def test_status_says_in_one_line_when_the_fleet_broker_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    path = fleet_schedule(tmp_path, "http://127.0.0.1:9/", closed, str(tmp_path / "s.db"))
    assert main(["status", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"fleet: cannot reach the broker at {closed}: " in out and out.rstrip().endswith("refused.")


def test_a_job_id_names_due_time_and_location_and_each_attempt_a_customer_of_its_own() -> None:
    due = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    first = Job.from_dict(
        {
            "job_id": job_id("/s.yaml", due, A, "self-serve"),
            "location": A,
            "segment": "s",
            "schedule": "/s.yaml",
            "due": due.isoformat(),
            "target": "http://x",
            "map": "m",
            "features": "f",
            "store": "s.db",
            "timeout_s": 60,
        }
    )
    assert first.job_id.startswith(f"20261123T090000Z-{A}-")
    assert first.job_id == job_id("/s.yaml", due, A, "self-serve")  # whoever computes it
    others = {
        job_id("/s.yaml", due, B, "self-serve"),
        job_id("/s.yaml", due + dt.timedelta(hours=1), A, "self-serve"),
        job_id("/s.yaml", due, A, "enterprise"),
        job_id("/t.yaml", due, A, "self-serve"),
    }
    assert first.job_id not in others and len(others) == 4
    assert [first.attempt_of(first.attempt_id(n)) for n in (1, 2)] == [1, 2]
    assert first.attempt_of(f"{first.job_id}x-1") is None and first.attempt_of("20261123T090000Z-ab") is None
    addresses = {
        customer_address(DEFAULT_ADDRESS, run, 1)
        for run in [first.attempt_id(1), first.attempt_id(2), *(f"{other}-1" for other in others)]
    }
    assert len(addresses) == 6  # the address is told apart by the run id's end
    with pytest.raises(HarnessError, match="not a shopper job"):
        Job.from_dict({"task": "something else"})


# The done-when: a window of due runs, two workers of one location and one of another, one killed


class Held(BaseHTTPRequestHandler):
    """A home page that holds the first eu-west run at it until the test lets go (the sentinel)."""

    held: ClassVar[list[str]] = []  # the run id held, from the label header every request carries
    arrived = threading.Event()
    released = threading.Event()
    lock = threading.Lock()

    def do_GET(self) -> None:
        run_id = self.headers.get("X-Shopper-Run", "")
        with Held.lock:
            hold = f"-{A}-" in run_id and not Held.held
            if hold:
                Held.held.append(run_id)
        if hold:
            Held.arrived.set()
            Held.released.wait(120)
        send_html(self, "<title>Home</title><h1>Home</h1>")

    def log_message(self, format: str, *args: object) -> None:
        pass


class Worker(LoggedProcess):
    """`shopper worker` in a subprocess, its log collected as it is written."""

    def __init__(self, location: str, broker: str, store: str, folder: Path) -> None:
        self.location = location
        command = ["worker", "--location", location, "--broker", broker, "--store", store]
        # In the test's folder: a PostgreSQL store's evidence goes to the working directory.
        super().__init__([*command, "--redelivery-after", "20s"], cwd=folder, stdout=subprocess.DEVNULL)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for each in started:
        each.end()


def stored_runs(store: str) -> dict[str, Run]:
    opened = open_store(store)
    try:
        return {run.run_id: run for run in opened.runs()}
    finally:
        opened.close()


def runs_of(store: str) -> dict[str, tuple[str, int | None]]:
    return {run_id: (run.state, run.pid) for run_id, run in stored_runs(store).items()}


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def wait_until(what: str, done: Callable[[], bool], logs: Callable[[], str], timeout: float = 300) -> None:
    """Polls `done` (a bound on the wait, not on a measured time); fails with the processes' logs."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s\n{logs()}")
        time.sleep(0.2)


def kill_the_held_worker(
    workers: list[Worker], store: str, logs: Callable[[], str]
) -> tuple[str, int, Worker]:
    """The sentinel: an eu-west run's browser is at the page. Its worker (the parent of the run's
    pytest) is SIGKILLed, and the run's own process goes with it; then the page is let go."""
    assert Held.arrived.wait(180), logs()
    held = Held.held[0]
    wait_until("the held run recorded", lambda: held in runs_of(store), logs)
    state, pid = runs_of(store)[held]
    assert state == "running" and pid is not None
    victim = next(w for w in workers if w.process.pid == parent_of(pid))
    assert victim.location == A
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=30)
    wait_until("the killed worker's run gone", lambda: not Path(f"/proc/{pid}").exists(), logs, 60)
    Held.released.set()
    return held, pid, victim


def test_a_fleet_walks_each_due_run_once_per_location_and_survives_a_killed_worker(
    tmp_path: Path,
    broker: str,
    fleet_store: str,
    workers: list[Worker],
    scheduled: list[Scheduled],
    capsys: pytest.CaptureFixture[str],
) -> None:
    Held.held.clear()
    Held.arrived.clear()
    Held.released.clear()
    with serve(Held) as url:
        path = fleet_schedule(tmp_path, url, broker, fleet_store, when="every: 2s")
        workers += [
            Worker(A, broker, fleet_store, tmp_path),
            Worker(A, broker, fleet_store, tmp_path),
            Worker(B, broker, fleet_store, tmp_path),
        ]

        def logs() -> str:
            parts = [f"-- scheduler\n{each.log()}" for each in scheduled]
            return "\n".join(parts + [f"-- worker {w.location} {w.process.pid}\n{w.log()}" for w in workers])

        # The window: three due times, each enqueued for both locations, then the scheduler stops.
        shopper = Scheduled(path)
        scheduled.append(shopper)
        shopper.wait_for(r"run enqueued \S+", count=6, timeout=120)
        assert shopper.stop(signal.SIGTERM) == 0
        jobs = re.findall(r"run enqueued (\S+)", shopper.log())
        assert len(jobs) >= 6

        held, pid, victim = kill_the_held_worker(workers, fleet_store, logs)

        def finished(job: str) -> list[str]:
            return [
                run
                for run, (state, _) in runs_of(fleet_store).items()
                if run.startswith(f"{job}-") and state == "finished"
            ]

        wait_until("every due run finished", lambda: all(finished(job) for job in jobs), logs)
        assert main(["status", str(path)]) == 0
        status = capsys.readouterr().out
        for each in workers:
            if each is not victim:
                each.process.send_signal(signal.SIGTERM)
                assert each.process.wait(timeout=120) == 0, logs()

    runs = runs_of(fleet_store)
    for job in jobs:  # exactly once finished per due time and location, whichever worker walked it
        assert len(finished(job)) == 1, logs()
    held_job = held.rsplit("-", 1)[0]
    assert runs[held] == ("aborted", pid), logs()  # the killed worker's run, as the store reads it
    assert [run for run in runs if run.startswith(f"{held_job}-")] == [held, finished(held_job)[0]]
    survivor = next(w for w in workers if w.location == A and w is not victim)
    assert f"run started {finished(held_job)[0]} " in survivor.log()  # redelivered to the other eu-west
    located = {run_id: run.location for run_id, run in stored_runs(fleet_store).items()}
    for location in (A, B):  # every run recorded where it was walked from
        mine = [job for job in jobs if f"-{location}-" in job]
        assert len(mine) == len(jobs) // 2
        assert {located[run] for job in mine for run in finished(job)} == {location}
    # The killed worker answers no more; copies of finished jobs may still wait in a queue.
    assert re.search(rf"  {A}: 1 worker\(s\) \({A}-{survivor.process.pid}@\S+\), \d+ run\(s\) queued", status)
    assert re.search(rf"  {B}: 1 worker\(s\) \({B}-\d+@\S+\), \d+ run\(s\) queued", status), status
    out = tmp_path / "report"
    assert main(
        ["report", "--store", fleet_store, "--map", str(tmp_path / "map.yaml"), "--out", str(out)]
    ) in (0, 1)
    document = json.loads((out / "gap-report.json").read_text())
    assert set(document["locations"]["names"]) == {A, B}  # the report holds each location apart
    assert {at["location"] for tp in document["locations"]["touchpoints"] for at in tp["at"]} == {A, B}
