"""Benchmark: does showing a run's progress slow the run, or the times it records?

    .venv/bin/python bench/bench_progress.py --rounds 5

The same journey (N scenarios of three steps against a local page of the bench's own) is run by
`shopper run --quiet` (no progress: pytest's output captured) and by `shopper run` with its
progress shown as plain lines into a pipe the bench reads, interleaved (quiet then progress, then
progress then quiet, ...) for `--rounds` rounds after one uncounted warm-up round. Printed: the
median wall time of each variant, and the median of the step times each stored (duration_ms and
wall_ms), with the progress variant's difference. The run's process only writes a line per event
to a file (tens of microseconds, outside every step's clock); the drawing is `shopper run`'s.
Machine noise is large on a shared box: run it on a quiet machine for figures to quote.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAP = """\
journey: Shelves
stages:
  - id: browse
    touchpoints:
      - id: shelf-page
        channel: web
        owner: Product
        url: /shelf
        expect: {within: 20s, fail_after: 60s}
"""
SCENARIO = """
  Scenario: I look at shelf {n}
    Given I open "/shelf/{n}"
    Then I should see "Shelf {n}"
    And I should see "Item"
"""


class Shelves(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        number = self.path.rstrip("/").rsplit("/", 1)[-1]
        body = f"<html><body><h1>Shelf {number}</h1><p>Item</p></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def run(work: Path, base_url: str, name: str, quiet: bool) -> tuple[float, list[float], list[float]]:
    store = work / f"{name}.db"
    command = [sys.executable, "-m", "harness", "run", "--base-url", base_url]
    command += ["--map", str(work / "map.yaml"), "--features", str(work / "features"), "--store", str(store)]
    started = time.monotonic()
    done = subprocess.run(
        [*command, *(["--quiet"] if quiet else [])], capture_output=True, text=True, cwd=ROOT, check=False
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    db = sqlite3.connect(store)
    rows = db.execute("SELECT duration_ms, wall_ms FROM observations WHERE outcome = 'passed'").fetchall()
    db.close()
    return wall, [row[0] for row in rows], [row[1] for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scenarios", type=int, default=5)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Shelves)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    walls: dict[str, list[float]] = {"quiet": [], "progress": []}
    steps: dict[str, list[float]] = {"quiet": [], "progress": []}
    step_walls: dict[str, list[float]] = {"quiet": [], "progress": []}
    with tempfile.TemporaryDirectory(prefix="bench-progress-") as folder:
        work = Path(folder)
        (work / "map.yaml").write_text(MAP)
        (work / "features").mkdir()
        text = "@stage:browse\nFeature: Shelves\n" + "".join(
            SCENARIO.format(n=n) for n in range(1, args.scenarios + 1)
        )
        (work / "features" / "shelves.feature").write_text(text)
        collector = 'from pytest_bdd import scenarios\n\nscenarios(".")\n'
        (work / "features" / "test_shelves.py").write_text(collector)
        for round_no in range(-1, args.rounds):  # one uncounted round: modules compiled, caches warm
            # ABBA: neither variant always runs first, after the other has warmed what it touched.
            for variant in ("quiet", "progress") if round_no % 2 else ("progress", "quiet"):
                wall, durations, step_wall = run(work, base_url, f"{variant}{round_no}", variant == "quiet")
                if round_no < 0:
                    continue
                walls[variant].append(wall)
                steps[variant] += durations
                step_walls[variant] += step_wall
                print(f"round {round_no + 1} {variant}: wall {wall:.2f}s", file=sys.stderr)
    server.shutdown()
    med = statistics.median
    print(f"\n{'median':28}{'quiet':>10}{'progress':>10}{'diff':>10}")
    for label, values in (
        ("run wall (s)", walls),
        ("step duration_ms", steps),
        ("step wall_ms", step_walls),
    ):
        quiet, shown = med(values["quiet"]), med(values["progress"])
        print(f"{label:28}{quiet:10.2f}{shown:10.2f}{shown - quiet:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
