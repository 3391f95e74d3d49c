"""Benchmark: the demo journey's wall time with `shopper run --workers 1` and `--workers 2` (run by hand).

    .venv/bin/python bench/bench_workers.py                 # both segments, then self-serve alone
    .venv/bin/python bench/bench_workers.py --repeat 3

Starts the demo's Acme site (the shipped fault profile) and runs `shopper run` against it in a
child process, each time into a fresh store, alternating 1 and 2 workers so that a machine busy
with something else slows both alike. Prints each run's wall time (start-up included: a worker is
a Python process and a Chromium of its own) and the median ratio. Each worker is a browser: on
a 2-core machine two workers can at best halve the scenarios' time, never the start-up.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.demo import DEFAULT_FAULTS, JOURNEY, JOURNEY_MAP, load_faults, start_acme


def walk(url: str, maildir: Path, workers: int, segments: list[str]) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as out:
        command = [sys.executable, "-m", "harness", "run", "--base-url", url, "--map", str(JOURNEY_MAP)]
        command += ["--features", str(JOURNEY), "--store", f"{out}/shopper.db", "--quiet"]
        command += ["--mailbox", f"maildir:{maildir}", "--workers", str(workers)]
        for segment in segments:
            command += ["--segment", segment]
        started = time.monotonic()
        done = subprocess.run([*command, "--", "--no-runner-check"], capture_output=True, text=True)
        took = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"shopper run failed ({done.returncode}): {done.stdout}{done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as mail, start_acme(load_faults(DEFAULT_FAULTS), Path(mail)) as acme:
        for label, segments in (("both segments", []), ("self-serve", ["self-serve"])):
            times: dict[int, list[float]] = {1: [], 2: []}
            for _ in range(args.repeat):
                for workers in (1, 2):
                    times[workers].append(walk(acme.url, acme.maildir, workers, segments))
                    print(f"{label}, --workers {workers}: {times[workers][-1]:.1f} s", flush=True)
            one, two = statistics.median(times[1]), statistics.median(times[2])
            print(f"{label}: median {one:.1f} s with 1 worker, {two:.1f} s with 2 ({two / one:.2f}x)")


if __name__ == "__main__":
    main()
