"""Benchmark: what an `accessibility` promise costs a run (axe-core on one page, outside the clock).

    .venv/bin/python bench/bench_accessibility.py --repeats 10

Starts the demo company, Acme, with the shipped fault profile (its signup page lacks a label),
opens each page in Chromium and times what the harness does after the step's clock stopped for a
touchpoint that promises accessibility: axe-core injected (bundled with axe-playwright-python)
and run, its violations read back. The customer's measured time never includes it; the run's
wall time does, once per touchpoint per scenario attempt.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import sync_playwright

from harness.demo import DEFAULT_FAULTS, load_faults, start_acme
from harness.record.accessibility import MAX_TARGETS, START_AXE
from harness.record.browser import launch_options

PAGES = ("/", "/pricing", "/demo", "/signup", "/help")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    faults = load_faults(DEFAULT_FAULTS)
    with (
        tempfile.TemporaryDirectory() as folder,
        start_acme(faults, Path(folder)) as acme,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(**launch_options({}, playwright.chromium.executable_path))
        page = browser.new_page()
        print(f"{'page':10} {'p50 ms':>8} {'max ms':>8}  violations")
        for path in PAGES:
            took, found = [], []
            for _ in range(args.repeats):
                page.goto(acme.url + path)
                began = time.perf_counter()
                page.evaluate(AXE_SCRIPT)
                page.evaluate(START_AXE, MAX_TARGETS)
                answer = page.wait_for_function("() => window.__shopperAxe", timeout=10_000).json_value()
                took.append((time.perf_counter() - began) * 1000)
                found = [f"{rule['rule']} ({rule['impact']})" for rule in answer.get("violations", [])]
            print(f"{path:10} {statistics.median(took):8.0f} {max(took):8.0f}  {', '.join(found) or '-'}")
        browser.close()

if __name__ == "__main__":
    main()
