"""`shopper worker`: a Celery worker that walks the journey runs of one location's queue.

Each job (harness.ops.fleet_job) is walked through the same path as `shopper run` and the scheduler
(harness.ops.runner.run_scenarios: a pytest process of its own, under a watchdog), into the shared
store. What makes the fleet safe to lose a host from:

- the job is acknowledged only when its run is over (late acknowledgement, one job at a time), so
  the job of a worker killed mid-run goes back to its location's queue (harness.ops.fleet_broker);
- the killed worker's pytest process dies with it (it is tied to its parent,
  harness.record.run_process), so its run is left *running* with a process that is gone, which the
  store reads as *aborted*; a worker on another host marks it aborted itself when the job comes back;
- while a worker walks a job it holds the job's claim in Redis, renewed every few seconds, so a
  job handed out again while its worker is alive (a run longer than the redelivery) is left alone,
  and one whose claim lapsed is known lost;
- each attempt is a run of its own (`<job id>-<attempt>`), and a job with a finished attempt is
  acknowledged without being walked again: a due run is recorded once as finished, per location.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.map.journey_map import format_duration
from harness.observation import Run, RunFinished
from harness.ops.fleet_broker import DEFAULT_REDELIVERY_S, TASK, check_reachable, fleet_app, redis_client
from harness.ops.fleet_job import Job, check_location, queue_name
from harness.ops.runner import RunRequest, run_scenarios
from harness.ops.schedule import verdict
from harness.ops.schedule_log import Unsecret, configure_logging
from harness.record.secrets import without_credentials
from harness.store.sqlite import open_store

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger("shopper.fleet")
CLAIM = "shopper:walking:"  # + job id: held by the worker walking the job, while it is alive


@dataclass(frozen=True)
class WorkerConfig:
    location: str
    broker: str
    store: str | None = None  # None: the store each job names (the schedule's)
    concurrency: int = 1
    redelivery_after_s: float = DEFAULT_REDELIVERY_S

    @property
    def claim_s(self) -> float:
        """How long a claim outlives its last renewal: well inside the redelivery, so the claim of a
        lost worker has lapsed by the time its job is handed out again."""
        return max(1.0, min(60.0, self.redelivery_after_s / 2))


@contextlib.contextmanager
def claimed(client: Redis, job: Job, claim_s: float) -> Iterator[bool]:
    """The job's claim, renewed by a thread of its own while the body runs.

    A job handed out again while another worker still walks it (a run longer than the redelivery)
    waits for that walk to end, its message unacknowledged: should that worker die now, this copy
    is what keeps the job. False when the claim stays taken past the job's own timeout.
    """
    lock = client.lock(CLAIM + job.job_id, timeout=claim_s, sleep=min(1.0, claim_s / 3), thread_local=False)
    if not lock.acquire(blocking=False):
        log.info("job %s is being walked by another worker: waiting for that walk to end", job.job_id)
        if not lock.acquire(blocking=True, blocking_timeout=job.timeout_s + 2 * claim_s):
            yield False
            return
    done = threading.Event()

    def renew() -> None:
        while not done.wait(claim_s / 3):
            with contextlib.suppress(Exception):  # a broker gone for a moment: the next renewal tries again
                lock.reacquire()

    renewer = threading.Thread(target=renew, name=f"claim-{job.job_id}", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        done.set()
        renewer.join()
        with contextlib.suppress(Exception):  # lapsed meanwhile: nothing to give back
            lock.release()


def previous_attempts(store_url: str, job: Job) -> list[Run]:
    """The job's runs recorded so far; runs left running by a process that is gone read aborted."""
    store = open_store(store_url)
    try:
        # runs() reconciles this host's runs whose process is gone (a worker killed here) first.
        return [run for run in store.runs() if job.attempt_of(run.run_id) is not None]
    finally:
        store.close()


def next_attempt(store_url: str, job: Job) -> int | None:
    """The attempt to walk now (the job's claim held), or None when a run of it already finished.

    An attempt still running is one whose worker was lost (its claim lapsed) without this host
    seeing its process end (it ran on another host): it is marked aborted, once and for all.
    """
    attempts = previous_attempts(store_url, job)
    if any(run.state == "finished" for run in attempts):
        log.info("job %s skipped: a run of it already finished", job.job_id)
        return None
    for run in attempts:
        if run.state != "running":
            continue
        store = open_store(store_url)
        try:
            store.handle(RunFinished(run_id=run.run_id, state="aborted"))
        finally:
            store.close()
        log.info("run aborted %s: its worker on %s was lost", run.run_id, run.host or "another host")
    numbers = [job.attempt_of(run.run_id) or 0 for run in attempts]
    return max(numbers, default=0) + 1


def walk(job: Job, store_url: str, client: Redis, claim_s: float) -> dict[str, Any]:
    """One job: its claim and the idempotency checks, then its run; what happened, for the log."""
    with claimed(client, job, claim_s) as mine:
        if not mine:
            log.info("job %s skipped: another worker kept walking it past its timeout", job.job_id)
            return {"job": job.job_id, "walked": False}
        attempt = next_attempt(store_url, job)
        if attempt is None:
            return {"job": job.job_id, "walked": False}
        return _walk(job, store_url, attempt)


def _walk(job: Job, store_url: str, attempt: int) -> dict[str, Any]:
    backoff = ["--reruns-delay", f"{job.retry_backoff_s:g}"] if job.retries else []
    request = RunRequest(
        features=Path(job.features),
        journey_map=Path(job.map),
        base_url=job.target,
        segment=job.segment,
        store=store_url,
        retries=job.retries,
        mailbox=job.mailbox,
        max_wait=job.max_wait,
        customer_address=job.customer_address,
        run_id=job.attempt_id(attempt),
        pytest_args=backoff,
        quiet=True,
        location=job.location,
    )
    log.info(
        "run started %s (%s, %s, due %s) against %s",
        request.run_id,
        job.segment,
        job.location,
        job.due,
        without_credentials(job.target),
    )
    result = run_scenarios(request, timeout_s=job.timeout_s)
    event = "killed" if result.killed else "finished" if result.ran else "crashed"
    log.info(
        "run %s %s (%s, %s): %s",
        event,
        request.run_id,
        job.segment,
        job.location,
        verdict(result, job.timeout_s),
    )
    return {"job": job.job_id, "walked": True, "run_id": request.run_id, "exit_code": result.exit_code}


_WARNED: set[float] = set()  # the timeouts already said to be too long for the redelivery, once each


def run_job(config: WorkerConfig, client: Redis, payload: Any) -> dict[str, Any]:
    """The task's body: whatever goes wrong is logged, and the job is acknowledged (not walked forever)."""
    try:
        job = Job.from_dict(payload)
    except (HarnessError, TypeError) as exc:
        log.info("job refused: %s", exc)
        return {"walked": False}
    unsecret = Unsecret(job.target)
    log.addFilter(unsecret)
    try:
        if job.timeout_s >= config.redelivery_after_s and job.timeout_s not in _WARNED:
            _WARNED.add(job.timeout_s)
            log.info(
                "job %s: its timeout (%s) is not shorter than the redelivery (%s): a run that long is"
                " handed out again, and its copy waits for it, holding a worker",
                job.job_id,
                format_duration(job.timeout_s * 1000),
                format_duration(config.redelivery_after_s * 1000),
            )
        return walk(job, config.store or job.store, client, config.claim_s)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
        log.info("job %s failed: %s", job.job_id, reason)
        return {"job": job.job_id, "walked": False}
    finally:
        log.removeFilter(unsecret)


def run_worker(config: WorkerConfig) -> int:
    """The worker, until it is stopped (SIGTERM: the job in hand is finished first). Its exit status."""
    check_location(config.location)
    check_reachable(config.broker)
    if config.store is not None:
        open_store(config.store).close()  # a store that cannot be written is an input error, now
    configure_logging()
    logging.getLogger("shopper").propagate = False  # Celery's handler on the root would repeat each line
    app = fleet_app(config.broker, config.redelivery_after_s)
    client = redis_client(config.broker)

    @app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def run_journey(job: Any) -> dict[str, Any]:
        return run_job(config, client, job)

    node = f"{config.location}-{os.getpid()}@{socket.gethostname()}"
    log.info(
        "worker %s started: queue %s on %s, %d at a time, store %s, redelivery after %s",
        node,
        queue_name(config.location),
        without_credentials(config.broker),
        config.concurrency,
        config.store or "as each job names it",
        format_duration(config.redelivery_after_s * 1000),
    )
    worker = app.Worker(
        hostname=node,
        queues=[queue_name(config.location)],
        concurrency=config.concurrency,
        # Threads: the run is a process of its own anyway, and a worker is one process, so a lost
        # host takes its runs with it (each run's pytest dies with its parent).
        pool="threads",
        loglevel="WARNING",
        quiet=True,
        without_mingle=True,
        without_gossip=True,
    )
    worker.start()
    log.info("worker %s stopped", node)
    return int(worker.exitcode or 0)
