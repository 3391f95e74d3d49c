"""The runner's own health: was the machine running the harness too busy to measure a touchpoint fairly?

On a loaded runner every page load takes longer, and that delay is the runner's, not the site's:
charged to a touchpoint's owner it becomes a gap that is not there. So every scenario measures the
runner first, in the browser it is about to use: a control page, a fixed small page the harness
serves itself on loopback (no network, no site, no work behind it), opened and timed as a web step
times a touchpoint's page. Beside it go the load average per core, the CPU time the hypervisor
stole, and how late a short sleep of the harness's own process wakes.

None of this is a customer's observation: it is stored apart (table runner_health), never bound
to a touchpoint, never in the gaps. This module only measures: RUNNER_RULE
(harness.analysis.runner_rule) says when a run counts as busy; a touchpoint slow only in busy runs
is held back as `runner-busy` (harness.analysis.runner_verdicts), and the harness's operator, not
the touchpoint's owner, gets the action.

This module is imported by the recorder's chain (the page fixture): it must stay free of pandas.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness.observation import CONTROL_VISITS, LAG_SLEEP_S, LAG_SLEEPS, LATER_CONTROL_VISITS
from harness.record.context import DEFAULT_WAIT_MS

# The control page: small and fixed, so any time it takes beyond its quiet figure is the runner's.
CONTROL_PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>shopper control page</title></head>"
    b"<body><p>shopper control page: served by the harness itself, to time the runner</p></body></html>"
)
# Each control visit is bounded like a check of a page the map promises nothing for.
CONTROL_TIMEOUT_MS = DEFAULT_WAIT_MS



class _ControlHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(CONTROL_PAGE)))
        self.send_header("Cache-Control", "no-store")  # every visit must reach the server
        self.end_headers()
        self.wfile.write(CONTROL_PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a control visit is no news for the run's log


class _ControlServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the browser dropped a visit (its favicon, as the probe page closed): nothing was measured


class ControlPage:
    """The control page, served from a thread of the harness's own process on a free loopback port."""

    def __init__(self) -> None:
        self._server = _ControlServer(("127.0.0.1", 0), _ControlHandler)
        # A short poll: closing it at the run's end must not hold the run up (the default waits 0.5 s).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="control-page", daemon=True
        )
        self._thread.start()
        self._visits = 0

    @property
    def visits(self) -> int:
        """How many times the control page was asked for so far."""
        return self._visits

    def url(self) -> str:
        self._visits += 1  # a new query each time: the browser's cache must never answer for the server
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/control?{self._visits}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def cpu_times() -> tuple[float, float]:
    """(all, stolen) CPU time so far, in clock ticks, from /proc/stat; (0, 0) where there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return 0.0, 0.0
    values = [float(value) for value in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(values), values[7] if len(values) > 7 else 0.0


def cores() -> int:
    """The CPUs this process may run on (a container's cpuset, not the whole host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def run_queue_per_core() -> float | None:
    """Tasks on or waiting for a CPU right now, besides this one, per core (/proc/stat procs_running).

    The load average says the same over a minute; this says it now, as a scenario begins.
    """
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            running = next((line.split()[1] for line in stat if line.startswith("procs_running")), None)
    except OSError:
        return None
    if running is None:
        return None
    return max(0, int(running) - 1) / cores()


def load_per_core() -> float | None:
    try:
        return os.getloadavg()[0] / cores()
    except OSError:
        return None


def sleep_lag(sleeps: int = LAG_SLEEPS, interval_s: float = LAG_SLEEP_S) -> tuple[float, float | None]:
    """How late a short sleep wakes (median of a few, ms) and the run queue per core (median) meanwhile.

    Read while the browser is idle, between scenarios: what waits then is someone else's work.
    """
    late, queue = [], []
    for _ in range(sleeps):
        start = time.perf_counter()
        time.sleep(interval_s)
        late.append((time.perf_counter() - start - interval_s) * 1000.0)
        if (now := run_queue_per_core()) is not None:
            queue.append(now)
    return max(0.0, statistics.median(late)), statistics.median(queue) if queue else None


def time_control_page(page: Any, control: ControlPage, visits: int = CONTROL_VISITS) -> list[float]:
    """Open the control page `visits` times in the customer's page, before the scenario's first step.

    In the customer's page, not one of its own: a new page costs a renderer process, a second or
    more on a busy runner, at every scenario. The page then goes back to where a fresh one starts.
    """
    times = []
    try:
        for _ in range(visits):
            start = time.monotonic()
            page.goto(control.url(), wait_until="load", timeout=CONTROL_TIMEOUT_MS)
            times.append((time.monotonic() - start) * 1000.0)
    finally:
        page.goto("about:blank", timeout=CONTROL_TIMEOUT_MS)
    return times


@dataclass
class RunnerProbe:
    """Measures the runner, once per scenario; the control page starts at the first measurement."""

    control: ControlPage | None = None
    _cpu: tuple[float, float] = field(default_factory=cpu_times)

    def measure(self, page: Any) -> RunnerSample:
        if self.control is None:
            self.control = ControlPage()
        total, stolen = cpu_times()
        elapsed = total - self._cpu[0]
        steal = (stolen - self._cpu[1]) / elapsed if elapsed > 0 else None
        self._cpu = (total, stolen)
        lag, queue = sleep_lag()
        problem = ""
        try:
            first = self.control.visits == 0
            visits = time_control_page(page, self.control, CONTROL_VISITS if first else LATER_CONTROL_VISITS)
        except Exception as exc:  # a probe that cannot run must not cost the scenario: it says so
            visits, problem = [], type(exc).__name__
        return RunnerSample(visits, queue, load_per_core(), steal, lag, problem)

    def close(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None


@dataclass
class RunnerSample:
    control_ms: list[float]
    run_queue: float | None  # tasks on or waiting for a CPU besides the harness, per core
    load_per_core: float | None
    steal: float | None  # share of CPU time stolen since the previous sample (None: unknown)
    sleep_lag_ms: float
    problem: str = ""

    @property
    def control_median_ms(self) -> float | None:
        return statistics.median(self.control_ms) if self.control_ms else None
