"""Benchmark: what `shopper run` costs over a bare Playwright script walking the same journeys.

    .venv/bin/python bench/bench_overhead.py --rounds 5

The demo's discover and signup features (4 scenarios: three page visits and a signup with its
confirmation email) against the Acme demo site with no faults, walked

  A. by a bare Playwright script (sync API, the harness's Chromium and flags from
     `harness.record.browser.launch_options`, one browser, a fresh context per scenario as
     pytest-playwright gives, the confirmation email read from the same Maildir), and
  B. by `shopper run` (tracing on, the default; one segment, so one pytest process), and
  C. with `--baseline CHECKOUT`, by `shopper run` from another source tree (before and after),

interleaved A B A B ... for `--rounds` rounds, after one uncounted round that warms the disk
cache and compiles every module (PYTHONDONTWRITEBYTECODE is dropped for the variants, as an
installed package has its bytecode; `--no-bytecode` keeps it). Each runs as a subprocess; its
CPU is the whole process tree's (`getrusage(RUSAGE_CHILDREN)` before and after: Python, Playwright's
driver, Chromium). The demo site runs in this process, the same for both. Printed: wall and
CPU per variant (medians), the ratios B/A, and per step A's own timing against the duration B
stored (an email step: from the form sent to the email found, in both).

Machine noise is large on a shared box: read the medians, and run it on a quiet machine for
figures to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ("discover.feature", "signup.feature")
SEGMENT = "self-serve"
EMAIL_POLL_S = 0.1  # the harness's Maildir poll interval


# --- A: the bare script (runs in its own process; imports only Playwright and the launch flags) ---


def bare(base_url: str, maildir: Path, customer: str) -> dict[str, float]:
    """Walk the four scenarios; the duration of each step, keyed like the store's steps."""
    from playwright.sync_api import expect, sync_playwright

    from harness.record.browser import launch_options

    steps: dict[str, float] = {}

    def timed(key: str, action: Any) -> None:
        started = time.monotonic()
        action()
        steps[key] = (time.monotonic() - started) * 1000.0

    with sync_playwright() as playwright:
        chromium = playwright.chromium
        browser = chromium.launch(**launch_options({"headless": True}, chromium.executable_path))  # type: ignore[arg-type]

        def scenario(name: str, walk: Any) -> None:
            context = browser.new_context()
            page = context.new_page()
            walk(name, page)
            context.close()

        def see(page: Any, text: str) -> None:
            expect(page.get_by_text(text).first).to_be_visible(timeout=5000)

        def home(name: str, page: Any) -> None:
            timed(f"{name}|Given I open the home page", lambda: page.goto(base_url + "/", wait_until="load"))
            timed(
                f'{name}|Then I should see "projects without the chaos"',
                lambda: see(page, "projects without the chaos"),
            )

        def pricing(name: str, page: Any) -> None:
            timed(
                f"{name}|Given I open the pricing page",
                lambda: page.goto(base_url + "/pricing", wait_until="load"),
            )
            timed(f'{name}|Then I should see "Enterprise"', lambda: see(page, "Enterprise"))

        def from_home(name: str, page: Any) -> None:
            timed(f"{name}|Given I open the home page", lambda: page.goto(base_url + "/", wait_until="load"))

            def click() -> None:
                page.get_by_role("link", name="See pricing", exact=True).first.click(timeout=5000)
                page.wait_for_load_state("load")

            timed(f'{name}|When I click "See pricing"', click)
            pattern = re.compile(r"^[a-z]+://[^/]+/pricing([?#].*)?$")
            timed(f"{name}|Then I am on the pricing page", lambda: expect(page).to_have_url(pattern))
            timed(f'{name}|And I should see "Team"', lambda: see(page, "Team"))

        def signup(name: str, page: Any) -> None:
            timed(
                f"{name}|Given I open the signup page",
                lambda: page.goto(base_url + "/signup", wait_until="load"),
            )

            def sign_up() -> None:
                page.get_by_label("Full name", exact=True).fill("Mystery Shopper")
                page.get_by_label("Email", exact=True).fill(customer)
                page.get_by_label("Password", exact=True).fill("bare-password-1")
                page.locator("form:has(input[type=email]) [type=submit]").first.click()
                page.wait_for_load_state("load")

            timed(f"{name}|When I sign up with my details", sign_up)
            sent = time.monotonic()
            timed(f'{name}|Then I should see "Check your inbox"', lambda: see(page, "Check your inbox"))
            link = _confirmation_link(maildir, customer, timeout_s=30.0)
            steps[f"{name}|And I receive the confirmation email"] = (time.monotonic() - sent) * 1000.0
            timed(
                f"{name}|When I follow the link in the confirmation email",
                lambda: page.goto(link, wait_until="load"),
            )
            pattern = re.compile(r"^[a-z]+://[^/]+/confirm([?#].*)?$")
            timed(
                f"{name}|Then I am on the email confirmation page", lambda: expect(page).to_have_url(pattern)
            )
            timed(
                f'{name}|And I should see "Your account is confirmed"',
                lambda: see(page, "Your account is confirmed"),
            )

        scenario("The home page tells me what Acme is", home)
        scenario("I land on the pricing page from a search result", pricing)
        scenario("I find the price of a plan from the home page", from_home)
        scenario("I sign up and confirm my email address", signup)
        browser.close()
    return steps


def _confirmation_link(maildir: Path, customer: str, timeout_s: float) -> str:
    import email
    import email.policy

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for sub in ("new", "cur"):
            folder = maildir / sub
            for path in folder.iterdir() if folder.exists() else ():
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                if customer in str(message["To"]) and "Confirm your Acme account" in str(message["Subject"]):
                    body = message.get_body(preferencelist=("plain",))
                    found = re.search(r"https?://\S+", body.get_content() if body else "")
                    if found:
                        return found.group(0)
        time.sleep(EMAIL_POLL_S)
    raise SystemExit(f"no confirmation email for {customer} within {timeout_s}s")


# --- the bench ---


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float, str]:
    """Wall and CPU seconds of one subprocess and everything it started, and what it printed."""
    cpu, started = children_cpu_s(), time.monotonic()
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if completed.returncode != 0:
        raise SystemExit(
            f"{command[2:4]} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    return wall, children_cpu_s() - cpu, completed.stdout


def run_bare(work: Path, run_name: str, env: dict[str, str]) -> tuple[float, float, dict[str, float]]:
    from harness.demo import load_faults_text, start_acme

    out = work / f"bare-{run_name}.json"
    with start_acme(load_faults_text(""), work / f"mail-{run_name}") as acme:
        customer = f"bare+{run_name.lower()}@example.test"
        command = [sys.executable, __file__, "--bare", acme.url, str(acme.maildir), customer, str(out)]
        wall, cpu, _ = measured(command, env)
    return wall, cpu, json.loads(out.read_text())


def run_shopper(
    work: Path, features: Path, run_name: str, tree: Path, env: dict[str, str], extra: list[str]
) -> tuple[float, float, dict[str, float]]:
    """`shopper run` from the source tree `tree` (`python -m` finds the package in its folder)."""
    from harness.demo import load_faults_text, start_acme

    store = work / f"shopper-{run_name}.db"
    with start_acme(load_faults_text(""), work / f"mail-{run_name}") as acme:
        command = [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--base-url",
            acme.url,
            "--map",
            str(ROOT / "scenarios" / "acme.yaml"),
            "--features",
            str(features),
            "--store",
            str(store),
            "--segment",
            SEGMENT,
            "--mailbox",
            f"maildir:{acme.maildir}",
        ]
        wall, cpu, output = measured(command + (["--", *extra] if extra else []), env, cwd=tree)
    steps = stored_steps(store)
    # The end-of-run wait for late mail, as the run reports it (a baseline without the report: none).
    settled = re.search(r"inbox settle: waited ([0-9.]+)s", output)
    steps["(end of run)|inbox settle"] = float(settled.group(1)) * 1000.0 if settled else float("nan")
    return wall, cpu, steps


def stored_steps(store: Path) -> dict[str, float]:
    from harness.store.sqlite import open_store

    opened = open_store(store)
    try:
        frame = opened.observations([run.run_id for run in opened.runs()])
    finally:
        opened.close()
    return {f"{row.scenario}|{row.step}": float(row.duration_ms) for row in frame.itertuples()}


def child_env(tree: Path, bytecode: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(tree), os.environ.get("PYTHONPATH", "")) if p),
    }
    if bytecode:
        # As an installed package runs: its modules compiled once, not at every start.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--pytest-arg", action="append", default=[], help="passed to B's pytest, e.g. --no-trace"
    )
    parser.add_argument(
        "--baseline", type=Path, help="also run `shopper run` from this checkout (C), e.g. the main branch"
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE from the environment: every module compiled at every start",
    )
    parser.add_argument(
        "--bare", nargs=4, metavar=("URL", "MAILDIR", "CUSTOMER", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.bare:
        url, maildir, customer, out = args.bare
        Path(out).write_text(json.dumps(bare(url, Path(maildir), customer)))
        return 0
    sys.path.insert(0, str(ROOT))
    trees = {"A": ROOT, "B": ROOT}
    if args.baseline:
        trees["C"] = args.baseline.resolve()
    envs = {variant: child_env(tree, not args.no_bytecode) for variant, tree in trees.items()}
    walls: dict[str, list[float]] = {variant: [] for variant in envs}
    cpus: dict[str, list[float]] = {variant: [] for variant in envs}
    steps: dict[str, dict[str, list[float]]] = {variant: {} for variant in envs}
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as folder:
        work = Path(folder)
        features = work / "features"
        features.mkdir()
        for name in (*FEATURES, "test_journey.py"):
            shutil.copy(ROOT / "scenarios" / name, features / name)
        # One uncounted round first: compiled modules and the disk cache are warm for every variant.
        for round_no in range(-1, args.rounds):
            for variant, env in envs.items():
                name = f"{variant}{round_no}"
                if variant == "A":
                    wall, cpu, timed = run_bare(work, name, env)
                else:
                    wall, cpu, timed = run_shopper(work, features, name, trees[variant], env, args.pytest_arg)
                if round_no < 0:
                    continue
                walls[variant].append(wall)
                cpus[variant].append(cpu)
                for key, ms in timed.items():
                    steps[variant].setdefault(key, []).append(ms)
                print(f"round {round_no + 1} {variant}: wall {wall:.2f}s cpu {cpu:.2f}s", file=sys.stderr)
    report(walls, cpus, steps)
    return 0


def report(
    walls: dict[str, list[float]], cpus: dict[str, list[float]], steps: dict[str, dict[str, list[float]]]
) -> None:
    med = statistics.median
    names = {"A": "A bare", "B": "B shopper", "C": "C baseline"}
    others = [variant for variant in walls if variant != "A"]

    def ratio(values: dict[str, list[float]], variant: str) -> float:
        # Per round (the variants ran next to each other, under the same load), then the median.
        return med(b / a for a, b in zip(values["A"], values[variant], strict=True))

    header = "".join(f"{names[v]:>12}" for v in walls) + "".join(f"{v + '/A':>7}" for v in others)
    print(f"\n{'median':24}{header}")
    for label, values in (("wall (s)", walls), ("CPU, process tree (s)", cpus)):
        cells = "".join(f"{med(values[v]):12.2f}" for v in walls)
        print(f"{label:24}{cells}" + "".join(f"{ratio(values, v):7.2f}" for v in others))
    print("(ratios: median of the per-round ratios)\n")
    print(
        f"{'step (median ms)':72}"
        + "".join(f"{v:>7}" for v in walls)
        + "".join(f"{v + '-A':>7}" for v in others)
    )
    totals = dict.fromkeys(walls, 0.0)
    keys = list(steps["A"]) + [key for key in steps.get("B", {}) if key not in steps["A"]]
    for key in keys:
        scenario, step = key.split("|", 1)
        # The bare script never waits at its end; a baseline that does not say how long it did: nan.
        cells = {v: med(steps[v].get(key) or [0.0 if v == "A" else float("nan")]) for v in walls}
        if key in steps["A"]:
            for v in walls:
                totals[v] += cells[v]
        row = "".join(f"{cells[v]:7.0f}" for v in walls) + "".join(
            f"{cells[v] - cells['A']:7.0f}" for v in others
        )
        print(f"{(scenario[:30] + ': ' + step)[:72]:72}{row}")
    row = "".join(f"{totals[v]:7.0f}" for v in walls) + "".join(
        f"{totals[v] - totals['A']:7.0f}" for v in others
    )
    print(f"{'sum of steps':72}{row}")
    outside = {v: med(walls[v]) * 1000 - totals[v] for v in walls}
    row = "".join(f"{outside[v]:7.0f}" for v in walls) + "".join(
        f"{outside[v] - outside['A']:7.0f}" for v in others
    )
    print(f"{'outside the steps (median wall - sum of steps)':72}{row}")


if __name__ == "__main__":
    sys.exit(main())
