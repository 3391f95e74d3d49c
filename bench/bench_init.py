"""Benchmark: how long `shopper init`, then `shopper map check` and `shopper run` of what it wrote, take.

Run by hand, not in tests: `.venv/bin/python bench/bench_init.py [--repeat 3]`. The site is the one
tests/test_init.py serves (five pages, a signup and a script-rendered contact form), on loopback;
each step is a real `shopper` process, as a user types it. Prints each step's wall time per round
and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from journeys import serve  # noqa: E402
from test_init import Tallyho  # noqa: E402

SHOPPER = Path(sys.executable).with_name("shopper")


def timed(args: list[str], cwd: Path) -> float:
    started = time.monotonic()
    done = subprocess.run([str(SHOPPER), *args], cwd=cwd, capture_output=True, text=True, check=False)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"shopper {' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return took


def one_round(base: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        here = Path(folder)
        journey = ["--map", "journey/journey-map.yaml", "--features", "journey"]
        return {
            "init": timed(["init", base + "/", "journey"], here),
            "check": timed(["map", "check", "journey/journey-map.yaml", "--features", "journey"], here),
            "run": timed(["run", "--base-url", base, *journey, "--store", "shopper.db"], here),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    with serve(Tallyho) as base:
        for n in range(args.repeat):
            times = one_round(base)
            rounds.append(times)
            print(f"round {n + 1}: " + ", ".join(f"{k} {v:.1f}s" for k, v in times.items()))
    for step in ("init", "check", "run"):
        print(f"median {step}: {statistics.median(r[step] for r in rounds):.1f}s")
    print(f"median init → check → run: {statistics.median(sum(r.values()) for r in rounds):.1f}s")


if __name__ == "__main__":
    main()
