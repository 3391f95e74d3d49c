"""Benchmark: what collecting web vitals costs a `shopper run` (on, the default, against `--no-vitals`).

    .venv/bin/python bench/bench_vitals.py --rounds 5

The same demo journeys as bench_overhead.py (the discover and signup features: three page visits
and a signup with its confirmation email, against the Acme demo site with no faults, one segment),
walked by `shopper run` with vitals on and with `-- --no-vitals`, interleaved on off on off ...
after one uncounted round that warms the disk cache. Each run is a subprocess; its CPU is the whole
process tree's (Python, Playwright's driver, Chromium). Printed: wall and CPU per variant (medians),
the per-round ratio on/off (median), and the summed step durations the store kept, which must not
move: vitals are read after each step's clock stopped (harness/record/vitals.py).

The target is a ratio within 1.05. Machine noise is large on a shared box: read the medians, and
run it on a quiet machine for figures to quote.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_overhead import FEATURES, ROOT, child_env, run_shopper

VARIANTS: dict[str, list[str]] = {"on": [], "off": ["--no-vitals"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    env = child_env(ROOT, True)
    walls: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    cpus: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    measured: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-vitals-") as folder:
        work = Path(folder)
        features = work / "features"
        features.mkdir()
        for name in (*FEATURES, "test_journey.py"):
            shutil.copy(ROOT / "scenarios" / name, features / name)
        for round_no in range(-1, args.rounds):
            for variant, extra in VARIANTS.items():
                name = f"{variant}{round_no}"
                wall, cpu, steps = run_shopper(work, features, name, ROOT, env, extra)
                if round_no < 0:
                    continue  # warm-up
                walls[variant].append(wall)
                cpus[variant].append(cpu)
                measured[variant].append(sum(ms for key, ms in steps.items() if not key.startswith("(end")))
                print(f"round {round_no + 1} {variant}: wall {wall:.2f}s cpu {cpu:.2f}s", file=sys.stderr)
    med = statistics.median
    print(f"\n{'median':34}{'on':>10}{'off':>10}{'on/off':>8}")
    rows = (("wall (s)", walls), ("CPU, process tree (s)", cpus), ("steps measured (ms)", measured))
    for label, values in rows:
        ratio = med(on / off for on, off in zip(values["on"], values["off"], strict=True))
        print(f"{label:34}{med(values['on']):10.2f}{med(values['off']):10.2f}{ratio:8.3f}")
    print("(ratios: median of the per-round ratios; target for wall and CPU: at most 1.05)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
