"""Benchmark: does a scheduler that runs for months keep its memory? (run by hand, not in tests)

    .venv/bin/python bench/bench_schedule.py --cycles 200

Starts a one-page site on loopback and `shopper schedule` on it, `every: 1s`, in a subprocess:
the real loop, with every after-run step switched on (report and archive, alerts, metrics,
retention). Each cycle is one real run, one scenario in Chromium. The scheduler's own resident
memory (its children, pytest and the browser, come and go with each run) is read from /proc after
the report of cycle 20, once imports and caches have settled, and after the last cycle; the growth
between the two is the leak, if any. Target: under 5%.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FEATURE = "@stage:discover\nFeature: F\n  Scenario: S\n    Given I open the home page\n"
COLLECTOR = 'from pytest_bdd import scenarios\n\nscenarios(".")\n'
SETTLED = 20


class Home(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>Home</title><h1>Home</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The browser may close the page before it is written: its run has ended, nothing to say.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cycles", type=int, default=200, help=f"cycles to run (default 200, at least {SETTLED})"
    )
    args = parser.parse_args()
    cycles = max(args.cycles, SETTLED)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Home)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="shopper-bench-schedule-") as folder:
        work = Path(folder)
        features = work / "features"
        features.mkdir()
        (features / "home.feature").write_text(FEATURE)
        (features / "test_journey.py").write_text(COLLECTOR)
        schedule = work / "schedule.yaml"
        schedule.write_text(
            f"target: http://127.0.0.1:{server.server_address[1]}\n"
            f"map: {ROOT / 'scenarios' / 'acme.yaml'}\nfeatures: features\nsegments: [self-serve]\n"
            f"every: 1s\ntimeout: 2m\nretries: 0\nreport: reports\nretention: 30d\n"
            f"metrics_port: {free_port()}\nalerts:\n  after: 3\n"
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "harness", "schedule", str(schedule)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        started = time.monotonic()
        done, skipped, problems = 0, 0, []
        settled_rss = 0
        for line in process.stderr:
            if " failed: " in line or " crashed " in line or " killed " in line:
                problems.append(line.strip())
            skipped += " run skipped: " in line
            if " report written " not in line:
                continue
            done += 1
            if done == SETTLED:
                settled_rss = rss_kib(process.pid)
                print(f"cycle {done}: scheduler RSS {settled_rss / 1024:.1f} MiB", flush=True)
            elif done % 20 == 0:
                print(f"cycle {done}: {time.monotonic() - started:.0f}s", flush=True)
            if done == cycles:
                break
        final_rss = rss_kib(process.pid)
        elapsed = time.monotonic() - started
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=60)
    server.shutdown()
    growth = (final_rss - settled_rss) / settled_rss * 100
    print(f"cycle {done}: scheduler RSS {final_rss / 1024:.1f} MiB")
    print(f"growth from cycle {SETTLED} to cycle {done}: {growth:+.1f}% (target < 5%)")
    print(f"{done} cycles in {elapsed:.0f}s ({elapsed / done:.2f}s a cycle), {skipped} due times skipped")
    print(f"problems logged: {len(problems)}; scheduler exit status on SIGTERM: {status}")
    for problem in problems[:5]:
        print(f"  {problem}")


if __name__ == "__main__":
    main()
