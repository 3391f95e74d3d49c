"""A journey run as the fleet passes it around: one due time, one location, one segment.

The scheduler (harness.ops.fleet_broker) turns each due time into one job per location and segment;
a worker of that location (harness.ops.fleet) takes it and walks it. A job's id is derived from
what it is (schedule, due time, location, segment), so a scheduler that enqueues it twice names it
twice the same, and each attempt at it is recorded as its own run, `<job id>-<attempt>`: a worker
lost mid-run leaves its attempt *aborted* beside the attempt that finished.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import HarnessError
from harness.record.secrets import without_credentials

QUEUE_PREFIX = "shopper."  # a location's queue: shopper.eu-west
LOCATION = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
BROKER_SCHEMES = ("redis", "rediss")


class FleetError(HarnessError):
    """The broker cannot be used, or a location or job is malformed."""


def check_location(name: str, *, file: str | Path | None = None, line: int | None = None) -> str:
    if not LOCATION.fullmatch(name):
        raise FleetError(
            f'location "{name}" is not a location name; write it in lower case letters, digits and'
            " dashes, like eu-west",
            file=file,
            line=line,
        )
    return name


def check_broker_url(url: str, *, file: str | None = None, line: int | None = None) -> str:
    try:
        parts = urlsplit(url)
        usable = parts.scheme in BROKER_SCHEMES and bool(parts.hostname)
        parts.port  # noqa: B018  (a port that is not a number raises here)
        shown = without_credentials(url)
    except ValueError:  # a bracket left open, a port that is not a number
        usable, shown = False, url.rpartition("@")[2]
    if not usable:
        raise FleetError(
            f'broker "{shown}" is not a Redis address; write it like redis://HOST:6379/0'
            " (RabbitMQ is not supported yet)",
            file=file,
            line=line,
        )
    return url


def queue_name(location: str) -> str:
    return QUEUE_PREFIX + location


def location_of_queue(queue: str) -> str | None:
    return queue.removeprefix(QUEUE_PREFIX) if queue.startswith(QUEUE_PREFIX) else None


@dataclass(frozen=True)
class Job:
    """Everything a worker needs to walk one run; plain values, so it travels as JSON."""

    job_id: str
    schedule: str  # the schedule file, for the log
    due: str  # ISO 8601, UTC
    location: str
    segment: str
    target: str
    map: str
    features: str
    store: str
    timeout_s: float
    retries: int = 0
    retry_backoff_s: float = 0.0
    mailbox: str | None = None
    max_wait: str | None = None
    customer_address: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Job:
        names = {field.name for field in fields(cls)}
        if not isinstance(data, dict) or not {"job_id", "location", "segment"} <= data.keys():
            raise FleetError("a job on the queue is not a shopper job (no job_id, location or segment)")
        return cls(**{key: value for key, value in data.items() if key in names})

    def attempt_id(self, attempt: int) -> str:
        return f"{self.job_id}-{attempt}"

    def attempt_of(self, run_id: str) -> int | None:
        """The attempt number of a run of this job; None for any other run."""
        prefix = f"{self.job_id}-"
        rest = run_id.removeprefix(prefix)
        return int(rest) if run_id.startswith(prefix) and rest.isdigit() else None


def job_id(schedule: str, due: dt.datetime, location: str, segment: str) -> str:
    """The due time first (the store reads a run's start back from its id), then the location, so a
    run row names where it was walked; the digest ends the id, since a customer's address is told
    apart by the id's last characters (harness.record.context.customer_address)."""
    stamp = due.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(f"{schedule}\n{due.isoformat()}\n{location}\n{segment}".encode()).hexdigest()
    return f"{stamp}-{location}-{digest[:8]}"
