"""A parallel run (pytest-xdist `-n N`): one run, recorded by several worker processes without collision.

The controller (pytest's main process, which runs no scenario) decides the run's id and hands it to
every worker with its own pid, the process the run belongs to: the run reads as aborted once that
process is gone, and the controller records the run's end when every worker has ended. Each worker
numbers what it records (observation seqs, so evidence names and pending keys; synthetic
customers, so addresses) from a block of its own. No pytest here: the plugin hands these values in.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# The numbers (observation seqs, customers) one worker may use: worker k numbers from k * WORKER_BLOCK
# + 1, so workers never share one, and a worker xdist starts in place of a crashed one (under a new
# id) does not reuse the dead one's. More steps than any run takes.
WORKER_BLOCK = 1_000_000
RUN_ID_KEY, RUN_PID_KEY = "shopper_run_id", "shopper_run_pid"


def worker_index(worker: str) -> int:
    """xdist's worker id ("gw3") as a number; 0 for a run in one process ("")."""
    digits = worker.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


def worker_input(run_id: str) -> dict[str, str | int]:
    """What the controller hands each worker (xdist's `workerinput`): the run's id and its own pid."""
    return {RUN_ID_KEY: run_id, RUN_PID_KEY: os.getpid()}


@dataclass(frozen=True)
class WorkerPart:
    """This process's part in a parallel run, read from xdist's `workerinput` (empty: not a worker)."""

    worker: str = ""
    run_id: str = ""
    run_pid: int = 0

    @classmethod
    def of(cls, given: Mapping[str, object]) -> WorkerPart:
        return cls(
            worker=str(given.get("workerid", "")),
            run_id=str(given.get(RUN_ID_KEY, "")),
            run_pid=int(str(given.get(RUN_PID_KEY, 0))),
        )
