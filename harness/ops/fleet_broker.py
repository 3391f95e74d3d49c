"""The fleet's broker (Redis, through Celery): the app both sides share, the enqueueing of due runs,
and what `shopper status` reads of the queues and the workers.

Late acknowledgement is the fleet's guarantee: a worker acknowledges a job only once its run is
over, and takes one job at a time (prefetch 1), so the job of a worker that dies mid-run is still
the broker's. Redis hands such a job out again once it has been unacknowledged for the
*visibility timeout* (`redelivery_after`), to whichever worker of the location sweeps first.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.ops.fleet_job import FleetError, Job, job_id, location_of_queue, queue_name
from harness.ops.schedule_file import Every, HourlyAt, Rule
from harness.record.secrets import without_credentials

if TYPE_CHECKING:
    from celery import Celery
    from redis import Redis

    from harness.ops.schedule_file import ScheduleConfig

log = logging.getLogger("shopper.schedule")
TASK = "shopper.run_journey"
DEFAULT_REDELIVERY_S = 3600.0  # Celery's own visibility timeout on Redis
PING_S = 2.0  # how long a command waits for the broker, or `shopper status` for the workers' answers
LEDGER = "shopper:enqueued:"  # + job id: a due run already enqueued, so a restarted scheduler skips it
# Redis keeps a queue's messages of priority p > 0 under "<queue>\x06\x16<p>" (kombu's priority steps).
PRIORITY_KEYS = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def redis_client(url: str) -> Redis:
    from redis import Redis

    return Redis.from_url(url, socket_timeout=PING_S, socket_connect_timeout=PING_S)


def check_reachable(url: str) -> None:
    """One sentence, now, rather than Celery's retrying forever at a broker that is not there."""
    from redis.exceptions import RedisError

    client = redis_client(url)
    try:
        client.ping()
    except RedisError as exc:
        raise FleetError(f"cannot reach the broker at {without_credentials(url)}: {exc}") from None
    finally:
        client.close()


def fleet_app(url: str, redelivery_after_s: float = DEFAULT_REDELIVERY_S) -> Celery:
    from celery import Celery

    app = Celery("shopper", broker=url, set_as_current=False)
    sweep = max(1, min(10, int(redelivery_after_s / 10)))  # look for lost jobs often enough to matter
    app.conf.update(
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,  # the store is the result
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": redelivery_after_s,
            "unacked_restore_interval": sweep,
            "unacked_restore_throttle": 1,
            # The sweep holds a lock in Redis while it runs (milliseconds): a worker killed inside
            # it would otherwise hold up every sweep for kombu's 5 minutes. Two sweeps at once
            # only restore a job twice, and a copy of a walked job is acknowledged unwalked.
            "unacked_mutex_expire": 2 * sweep,
            "socket_timeout": 30,  # a broker that vanishes without closing the connection is noticed
        },
        worker_hijack_root_logger=False,  # the harness's own log lines (UTC, no secrets) stay as they are
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        task_default_queue=queue_name("default"),
    )
    return app


@dataclass
class Dispatcher:
    """The scheduler's side: each due time enqueued once per location and segment."""

    config: ScheduleConfig
    segments: list[str]
    app: Celery = field(init=False)
    redis: Redis = field(init=False)

    def __post_init__(self) -> None:
        assert self.config.broker is not None
        check_reachable(self.config.broker)
        self.app = fleet_app(self.config.broker)
        self.redis = redis_client(self.config.broker)

    def jobs(self, due: dt.datetime) -> list[Job]:
        config = self.config
        schedule = str(config.path.resolve())
        return [
            Job(
                job_id=job_id(schedule, due, location, segment),
                schedule=schedule,
                due=due.astimezone(dt.UTC).isoformat(),
                location=location,
                segment=segment,
                target=config.target,
                map=str(config.map.resolve()),
                features=str(config.features.resolve()),
                store=config.store,
                timeout_s=config.timeout_s,
                retries=config.retries,
                retry_backoff_s=config.retry_backoff_s,
                mailbox=config.mailbox,
                max_wait=config.max_wait,
                customer_address=config.customer_address,
            )
            for location in config.locations
            for segment in self.segments
        ]

    def enqueue(self, due: dt.datetime, keep_s: float) -> tuple[list[str], list[str]]:
        """The due time's jobs sent to their locations' queues; (sent, already enqueued before).

        The ledger key is set before the job is sent (SET NX: one scheduler wins it): a scheduler
        that dies between the two loses that one run, and never enqueues one twice.
        """
        sent, before = [], []
        for job in self.jobs(due):
            key = LEDGER + job.job_id
            if not self.redis.set(key, job.due, nx=True, ex=max(1, int(keep_s))):
                before.append(job.job_id)
                continue
            try:
                self.app.send_task(
                    TASK, kwargs={"job": job.to_dict()}, queue=queue_name(job.location), task_id=job.job_id
                )
            except Exception:
                self.redis.delete(key)  # not sent: a later try at this due time may send it
                raise
            sent.append(job.job_id)
        return sent, before

    def close(self) -> None:
        self.redis.close()
        self.app.close()


@dataclass
class LocationState:
    location: str
    workers: list[str] = field(default_factory=list)
    queued: int = 0


def queue_depth(client: Redis, location: str) -> int:
    pipe = client.pipeline()
    for suffix in PRIORITY_KEYS:
        pipe.llen(queue_name(location) + suffix)
    return sum(int(size) for size in pipe.execute())


def fleet_state(url: str, locations: Iterable[str]) -> list[LocationState]:
    """Workers that answered within PING_S, by the location queue each consumes, and queue depths."""
    app = fleet_app(url)
    client = redis_client(url)
    try:
        answered: dict[str, Any] = app.control.inspect(timeout=PING_S).active_queues() or {}
        states = {location: LocationState(location) for location in locations}
        for worker, queues in sorted(answered.items()):
            for queue in queues or []:
                location = location_of_queue(str(queue.get("name", "")))
                if location is not None:
                    states.setdefault(location, LocationState(location)).workers.append(worker)
        for state in states.values():
            state.queued = queue_depth(client, state.location)
        return list(states.values())
    finally:
        client.close()
        app.close()


def fleet_lines(url: str, locations: Iterable[str]) -> list[str]:
    """What `shopper status` says of the fleet: a line per location, or why it cannot say."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    shown = without_credentials(url)
    try:
        check_reachable(url)  # at once, rather than after Celery's retries
        states = fleet_state(url, locations)
    except FleetError as exc:
        return [f"fleet: {exc}"]
    except (RedisError, OperationalError, OSError) as exc:
        return [f"fleet: the broker at {shown} cannot be reached: {exc}"]
    lines = [f"fleet: broker {shown}"]
    for state in states:
        seen = (
            f"{len(state.workers)} worker(s) ({', '.join(state.workers)})" if state.workers else "no worker"
        )
        lines.append(f"  {state.location}: {seen}, {state.queued} run(s) queued")
    return lines


def fleet_anchor(rule: Rule, now: dt.datetime) -> dt.datetime:
    """Where a fleet's `every` counts from: whole intervals since the Unix epoch, not the start.

    So a scheduler restarted mid-interval finds the due time it already enqueued (in the ledger)
    rather than a new one of its own; hourly_at and daily_at name absolute times already.
    """
    if not isinstance(rule, Every):
        return now
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    elapsed = (now - epoch).total_seconds()
    return epoch + dt.timedelta(seconds=math.floor(elapsed / rule.seconds) * rule.seconds)


def ledger_keep_s(rule: Rule) -> float:
    """How long the ledger remembers a due time: past the time a restart could compute it again."""
    if isinstance(rule, Every):
        return max(2 * rule.seconds, 3600.0)
    return 2 * 3600.0 if isinstance(rule, HourlyAt) else 2 * 86400.0
