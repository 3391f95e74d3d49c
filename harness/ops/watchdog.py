"""Runs that must end: a run's process, and everything it started, killed when its time is up.

The run's processes are found as `harness.record.run_process` finds them (the run's pytest process
uses the same look to take its browser down with it when its parent dies).
"""

from __future__ import annotations

import signal
import subprocess
import time

from harness.record.run_process import RunTree

GRACE_S = 5.0  # between SIGTERM and SIGKILL: long enough for Chromium to close its profile


def kill_run(process: subprocess.Popen[str], marker: str, grace_s: float = GRACE_S) -> None:
    """SIGTERM to the whole run, SIGKILL to whatever is left after `grace_s`; reaps the child."""
    tree = RunTree(process.pid, marker)
    tree.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        # Polling also reaps the run's own process, which would otherwise linger in the table as a zombie.
        if process.poll() is not None and not tree.members():
            break
        time.sleep(0.1)
    for _ in range(20):  # a process forking while it is killed needs another look
        if not tree.signal(signal.SIGKILL) and process.poll() is not None:
            break
        time.sleep(0.05)
    process.wait()
