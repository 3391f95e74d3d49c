"""A store write that fails stops the run at once: never a silently dropped observation.

A full disk, an I/O error or a lock held past its timeout used to cost a row here and there while
the run went on and ended "finished", with passed steps shown failed. The guard sits between the
recorder and the store: the first write that fails stops the run (the plugin hands it pytest's
exit), says in one sentence how many observations are safely stored and at which step the run
stopped, and leaves that sentence for the `shopper run` that started the run. The run is then
recorded aborted by whoever can still write: the parent, or the store's own reconciliation at the
next read (its process is gone while it still says "running").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from harness.errors import StoreError
from harness.observation import Event, Handler, PendingExpectation, StepObserved

# The pytest child's exit status for a run its store stopped (pytest's own are 0 to 5).
STORE_FAILED = 12
# Where the child leaves its sentence for the parent (`shopper run`), which shows it as its own.
HALT_FILE = "SHOPPER_HALT_FILE"


class GuardedStore:
    def __init__(self, store: Handler, stop: Callable[[str], NoReturn]) -> None:
        self.store = store
        self.stop = stop
        self.recorded = 0  # observations the store has confirmed
        self.last_step = ""  # the last one's step, to say where a run stopped between steps
        self.halted = ""

    def handle(self, event: Event) -> None:
        if self.halted:
            return  # the run is stopping: nothing more can be kept
        try:
            self.store.handle(event)
        except StoreError as exc:
            self.halted = _sentence(exc, self.recorded, event, self.last_step)
            where = os.environ.get(HALT_FILE)
            if where:
                Path(where).write_text(self.halted, encoding="utf-8")
            self.stop(self.halted)
        if isinstance(event, StepObserved) or (isinstance(event, PendingExpectation) and event.observation):
            self.recorded += 1
            observation = event.observation
            self.last_step = f'"{observation.step}" ({observation.feature})' if observation else ""


def _sentence(exc: StoreError, recorded: int, event: Event, last_step: str) -> str:
    store = f"the store {exc.file}" if exc.file else "the store"
    reason = exc.message.removeprefix("cannot write to the store: ")
    state = "is full" if "full" in reason else f"could not be written ({reason})"
    step = f", the run stopped after step {last_step}" if last_step else ""
    if isinstance(event, StepObserved):
        step = f', the run stopped at step "{event.observation.step}" ({event.observation.feature})'
    kept = "1 observation was" if recorded == 1 else f"{recorded} observations were"
    return f"{store} {state}: {kept} recorded{step}"
