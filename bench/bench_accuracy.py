"""Benchmark: how close is a recorded visit to the delay a site really put on it?

    .venv/bin/python bench/bench_accuracy.py --repeats 2

A local HTTP server of the bench's own sleeps an injected 0, 200, 1000 or 3000 ms before it
answers: a page opened (`I open`), a page reached by a click (`I click`), a form's POST
(`I press`, answered with a 303 to a page of its own) and an API call (`I call GET`). The real
harness runs the scenarios in Chromium (pytest in a subprocess, as `shopper run` does) and the
bench reads the store back: measured − injected per case, p50 and max, on a quiet machine and
again with two CPU-burning loops (`python3 -c 'while 1: pass'`) beside it. The target: within
+5 % +50 ms of the delay. `--no-trace` runs without the Playwright trace kept for evidence at failure.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

DELAYS_MS = (0, 200, 1000, 3000)
KINDS = ("open", "click", "post", "api")
# Who is charged the delay.
MEASURED = {"open": "open-page", "click": "target-page", "post": "form-page", "api": "quote-api"}

MAP = """\
journey: Accuracy bench
version: bench
segments: [bench]
stages:
  - id: bench
    touchpoints:
      - {id: open-page, channel: web, url: /open, expect: {within: 5s, fail_after: 20s}}
      - {id: start-page, channel: web, url: /start, expect: {within: 5s, fail_after: 20s}}
      - {id: target-page, channel: web, url: /target, expect: {within: 5s, fail_after: 20s}}
      - {id: form-page, channel: form, url: /form, expect: {within: 5s, fail_after: 20s}}
      - {id: done-page, channel: web, url: /done, expect: {within: 5s, fail_after: 20s}}
      - {id: quote-api, channel: api, url: /api/quote, expect: {within: 5s, fail_after: 20s}}
"""
STEPS = ["harness.record.plugin", "harness.steps.web", "harness.steps.forms", "harness.steps.api"]
CONFTEST = f"pytest_plugins = {STEPS!r}\n"
COLLECTOR = 'from pytest_bdd import scenarios\n\nscenarios(".")\n'


def _page(body: str) -> bytes:
    return f"<!doctype html><html><head><title>Bench</title></head><body>{body}</body></html>".encode()


START = _page("".join(f'<p><a href="/target?ms={ms}">Go {ms}</a></p>' for ms in DELAYS_MS))
FORM = _page(
    "".join(
        f'<form method="post" action="/form?ms={ms}"><button type="submit">Send {ms}</button></form>'
        for ms in DELAYS_MS
    )
)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/api/quote":
            self._sleep(parts.query)
            self._send(200, b'{"total": 120}', {"Content-Type": "application/json"})
        elif parts.path in ("/open", "/target"):
            self._sleep(parts.query)
            self._send(200, _page("<h1>Here</h1>"))
        elif parts.path == "/start":
            self._send(200, START)
        elif parts.path == "/form":
            self._send(200, FORM)
        else:
            self._send(200, _page("<h1>Done</h1>"))

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._sleep(urlsplit(self.path).query)
        self._send(303, b"", {"Location": "/done"})

    def _sleep(self, query: str) -> None:
        time.sleep(int(parse_qs(query).get("ms", ["0"])[0]) / 1000.0)

    def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if "Content-Type" not in (headers or {}):
            self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def cpu_burners(count: int) -> Iterator[None]:
    """`count` busy loops beside the run, stopped (by their own pids) when it ends."""
    burners = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for burner in burners:
            burner.terminate()
        for burner in burners:
            burner.wait(timeout=10)


def feature(repeats: int) -> str:
    lines = ["@stage:bench", "Feature: Accuracy", ""]
    for number in range(1, repeats + 1):
        lines.append(f"  Scenario: open {number}")
        lines += [f'    Given I open "/open?ms={ms}"' for ms in DELAYS_MS]
        lines.append(f"  Scenario: click {number}")
        for ms in DELAYS_MS:
            lines += ['    Given I open "/start"', f'    When I click "Go {ms}"']
        lines.append(f"  Scenario: post {number}")
        for ms in DELAYS_MS:
            lines += ['    Given I open "/form"', f'    When I press "Send {ms}"']
        lines.append(f"  Scenario: api {number}")
        lines += [f'    When I call GET "/api/quote?ms={ms}"' for ms in DELAYS_MS]
    return "\n".join(lines) + "\n"


def run(base_url: str, folder: Path, repeats: int, trace: bool) -> Path:
    folder.mkdir(parents=True)
    (folder / "map.yaml").write_text(MAP)
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_journey.py").write_text(COLLECTOR)
    (folder / "bench.feature").write_text(feature(repeats))
    store = folder / "obs.db"
    args = [sys.executable, "-m", "pytest", str(folder), "-q", "-p", "no:cacheprovider"]
    args += ["--journey-map", str(folder / "map.yaml"), "--base-url", base_url, "--store", str(store)]
    if not trace:
        args.append("--no-trace")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(args, cwd=folder, env=_env(root), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the bench's scenarios failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return store


def _env(root: Path) -> dict[str, str]:
    import os

    env = {key: value for key, value in os.environ.items() if not key.startswith("SHOPPER_")}
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def errors(store: Path) -> dict[tuple[str, int], list[tuple[float, float]]]:
    """(kind, injected ms) -> (measured − injected, wall − injected) per visit."""
    db = sqlite3.connect(store)
    found: dict[tuple[str, int], list[tuple[float, float]]] = {}
    try:
        rows = db.execute("SELECT scenario, step, touchpoint, duration_ms, wall_ms FROM observations")
        for scenario, step, touchpoint, duration, wall in rows:
            kind = scenario.split()[0]
            injected = re.search(r"(?:ms=|Go |Send )(\d+)", step)
            if injected is None or touchpoint != MEASURED[kind]:
                continue
            ms = int(injected.group(1))
            found.setdefault((kind, ms), []).append((duration - ms, (wall or 0.0) - ms))
    finally:
        db.close()
    return found


def table(found: dict[str, dict[tuple[str, int], list[tuple[float, float]]]]) -> str:
    head = "| load | case | injected | n | measured − injected p50 | max | wall − injected p50 | target |"
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---|"]
    for load, cases in found.items():
        for kind in KINDS:
            for ms in DELAYS_MS:
                pairs = cases.get((kind, ms), [])
                if not pairs:
                    continue
                measured = [pair[0] for pair in pairs]
                wall = [pair[1] for pair in pairs]
                ok = all(-1.0 <= error <= 0.05 * ms + 50.0 for error in measured)
                lines.append(
                    f"| {load} | {kind} | {ms} | {len(pairs)} | {statistics.median(measured):.0f} ms"
                    f" | {max(measured):.0f} ms | {statistics.median(wall):.0f} ms"
                    f" | {'within' if ok else 'over'} |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="visits per case and load (default 2)")
    parser.add_argument("--no-trace", action="store_true", help="run without the Playwright trace")
    parser.add_argument("--quiet-only", action="store_true", help="skip the run beside two busy loops")
    options = parser.parse_args()
    started = time.monotonic()
    found = {}
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as folder, serve() as base_url:
        found["quiet"] = errors(run(base_url, Path(folder) / "quiet", options.repeats, not options.no_trace))
        if not options.quiet_only:
            with cpu_burners(2):
                store = run(base_url, Path(folder) / "busy", options.repeats, not options.no_trace)
            found["2 busy loops"] = errors(store)
    print(table(found))
    print("\ntarget: every visit within +5 % +50 ms of the injected delay (and not below it)")
    print(f"\n{time.monotonic() - started:.0f} s; trace {'off' if options.no_trace else 'on'}")


if __name__ == "__main__":
    main()
