"""A run's processes: found again at every look, and tied to the process that started the run.

A process group is not enough to find a run's processes. Playwright starts Chromium in a session
of its own and Chromium's crash handler daemonizes, so a kill looks three ways: the descendants of
the run's process, every process whose command line or environment carries the run's marker (the
run id: it is in the environment the browser inherits and in the profile folder on Chromium's
command line), and every member of the process groups those belong to (a renderer whose browser
died first keeps its group). Linux shows all of that in /proc; elsewhere only the run's own
process group is signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

MARKER_VARIABLE = "SHOPPER_RUN_MARKER"
_PROC = Path("/proc")


def _table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) of every live process; zombies are already dead."""
    table: dict[int, tuple[int, int]] = {}
    for entry in _PROC.iterdir() if _PROC.is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone since the listing
        if fields and fields[0] not in ("Z", "X"):
            table[int(entry.name)] = (int(fields[1]), int(fields[2]))
    return table


def _marked(pid: int, marker: bytes) -> bool:
    for name in ("cmdline", "environ"):
        try:
            if marker in (_PROC / str(pid) / name).read_bytes():
                return True
        except OSError:
            continue  # another user's process, or gone
    return False


class RunTree:
    """The processes of one run, found again at every look, since a kill makes orphans."""

    def __init__(self, root: int, marker: str) -> None:
        self.root = root
        self.marker = marker.encode()
        self.groups = {root}  # the run's process leads its own session and group
        self._own = {os.getpid(), os.getpgrp()}

    def members(self) -> set[int]:
        table = _table()
        found = {self.root} & table.keys()
        found |= {pid for pid in table if pid not in self._own and _marked(pid, self.marker)}
        self.groups |= {table[pid][1] for pid in found} - self._own
        found |= {pid for pid, (_, group) in table.items() if group in self.groups}
        grown = True
        while grown:  # descendants, to a fixed point
            children = {pid for pid, (parent, _) in table.items() if parent in found} - found
            found |= children
            grown = bool(children)
        return found - self._own

    def signal(self, signum: int) -> set[int]:
        members = self.members()
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.root, signum)  # where /proc is missing, the group is all there is to find
        return members


# The pid of `shopper run` (or of the scheduler) that started a run: its pytest process must not outlive it.
PARENT_VARIABLE = "SHOPPER_PARENT_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent(marker: str, parent_pid: int = 0) -> None:
    """Tie the run's pytest process to its parent: when the parent dies (even by kill -9), the run ends
    at once, its browser with it, and the store keeps what it recorded (the run reads as aborted).

    Linux tells a child of its parent's death (prctl's parent-death signal); elsewhere a killed parent
    still leaves its run to finish alone. A worker of a parallel run is tied to its controller,
    `parent_pid`, which is tied to the parent in turn.
    """
    import ctypes
    import sys

    parent = os.environ.get(PARENT_VARIABLE, "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    parent = str(parent_pid or parent)

    def end(signum: int, frame: object) -> None:
        RunTree(os.getpid(), marker).signal(signal.SIGKILL)  # Chromium runs in a session of its own
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, end)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != int(parent):  # the parent died before the tie was made
        end(signal.SIGTERM, None)
