"""Run scenarios: one pytest process per run, so a crash or a kill never takes the caller with it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from harness.map.features import check_features_dir
from harness.observation import new_run_id
from harness.ops.progress import FeedTail, ProgressView
from harness.ops.watchdog import kill_run
from harness.record.dry_run import Findings
from harness.record.run_process import MARKER_VARIABLE, PARENT_VARIABLE
from harness.record.store_guard import HALT_FILE
from harness.steps import PLUGINS
from harness.store.sqlite import open_store, store_exists, store_path

PYTEST_OK, PYTEST_FAILED, PYTEST_NO_TESTS = 0, 1, 5
CACHE_FOLDER = ".shopper-cache"  # beside the store

# A run loads the pytest plugins it needs and no other installed one (PYTEST_DISABLE_PLUGIN_AUTOLOAD):
# a stray plugin reorders scenarios (pytest-randomly), splits a run across workers (xdist, loaded
# only for `--workers`) or just costs start-up time at every scheduled run. A user adds one with
# `shopper run ... -- -p NAME`.
RUN_PLUGINS = ("pytest_playwright.pytest_playwright", "pytest_bdd.plugin", "pytest_rerunfailures")
# `--workers N`: pytest-xdist's workers share the scenarios; loadgroup deals them one by one (a
# scenario's retries run where it ran, in pytest-rerunfailures' loop) unless marked xdist_group.
PARALLEL = ("-p", "xdist.plugin", "--dist", "loadgroup")
# Deprecations inside the libraries under the harness (pytest, pytest-bdd, Playwright) say nothing a
# user of `shopper run` can act on; plain pytest still shows them.
QUIET_WARNINGS = ("-W", "ignore::DeprecationWarning", "-W", "ignore::PendingDeprecationWarning")


@dataclass
class RunRequest:
    features: Path
    journey_map: Path
    base_url: str
    segment: str
    store: str
    retries: int = 0
    mailbox: str | None = None
    max_wait: str | None = None  # longer email promises become pending expectations
    customer_address: str | None = None  # a template with {run} and {n}
    evidence_dir: Path | None = None
    customer_domain: str | None = None
    label_header: str | None = None  # None: the plugin's default; "": no label header
    run_id: str = field(default_factory=new_run_id)
    pytest_args: list[str] = field(default_factory=list)
    quiet: bool = False
    verbose: bool = False  # with a progress view: pytest's own output shown too
    dry_run_out: Path | None = None  # a dry run, its findings written here (nothing is recorded)
    progress_file: Path | None = None  # where the run writes its progress (harness/record/progress_feed.py)
    workers: int = 1  # browsers playing the segment's scenarios side by side (pytest-xdist's -n)
    location: str = ""  # where the run walks from, recorded with it ("": the host name)


@dataclass
class RunResult:
    run_id: str
    segment: str
    exit_code: int  # pytest's
    output: str = ""  # pytest's output when it was not shown (quiet)
    killed: str = ""  # why the run was killed: "timeout" or "stopped"; "" when it ended by itself
    halted: str = ""  # the sentence of a run its store stopped (see harness.record.store_guard)

    @property
    def passed(self) -> bool:
        return self.exit_code in (PYTEST_OK, PYTEST_NO_TESTS)

    @property
    def ran(self) -> bool:
        """The scenarios ran (passing or not); otherwise pytest stopped on a usage or internal error."""
        return self.exit_code in (PYTEST_OK, PYTEST_FAILED, PYTEST_NO_TESTS)

    def problem(self) -> str:
        """pytest's own words for why it did not run, for a one-sentence error."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower() and not line.startswith("ERROR: usage")]
        return (errors or lines or [f"pytest exit status {self.exit_code}"])[-1].removeprefix("ERROR: ")


def pytest_command(request: RunRequest) -> list[str]:
    command = [sys.executable, "-m", "pytest", str(request.features)]
    for plugin in (*RUN_PLUGINS, "harness.record.plugin", *PLUGINS):
        command += ["-p", plugin]
    command += [
        "--journey-map",
        str(request.journey_map),
        "--base-url",
        request.base_url,
        "--segment",
        request.segment,
        "--store",
        request.store,
        "--run-id",
        request.run_id,
        # pytest's cache (for `-- --lf`/`--ff`) kept by the store, where the next run looks, not in
        # the features folder, which may be read-only or shared.
        "-o",
        f"cache_dir={store_path(request.store).resolve().parent / CACHE_FOLDER}",
        "-o",
        "console_output_style=classic",
    ]
    if request.retries:
        command += ["--reruns", str(request.retries)]
    if request.workers > 1 and not request.dry_run_out:  # a dry run's findings are one process's
        command += [*PARALLEL, "-n", str(request.workers)]
    if request.location:
        command += ["--location", request.location]
    if request.mailbox:
        command += ["--mailbox", request.mailbox]
    if request.max_wait:
        command += ["--max-wait", request.max_wait]
    if request.customer_address:
        command += ["--customer-address", request.customer_address]
    if request.evidence_dir:
        command += ["--evidence-dir", str(request.evidence_dir)]
    if request.customer_domain:
        command += ["--customer-domain", request.customer_domain]
    if request.label_header == "":
        command += ["--no-label-header"]
    elif request.label_header:
        command += ["--label-header", request.label_header]
    if request.dry_run_out:
        command += ["--dry-run", "--dry-run-json", str(request.dry_run_out)]
    if request.progress_file:
        command += ["--progress-file", str(request.progress_file)]
    command += ["-q"] if request.quiet else ["-v"]
    command += QUIET_WARNINGS
    return command + request.pytest_args


def run_scenarios(
    request: RunRequest,
    *,
    timeout_s: float | None = None,
    stop: Callable[[], bool] | None = None,
    progress: ProgressView | None = None,
) -> RunResult:
    """One run in its own pytest process.

    With `timeout_s` or `stop` the run is watched: past the timeout, or as soon as `stop()` says so,
    it is killed with every process it started (Chromium included) and recorded as aborted.
    With `progress` (a view of harness/ops/progress.py) what the run is doing is shown as it runs,
    and pytest's own output only with `request.verbose`.
    """
    check_features_dir(request.features)
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    # The run dies with this process, and its browser inherits the marker that finds it.
    env |= {PARENT_VARIABLE: str(os.getpid()), MARKER_VARIABLE: request.run_id}
    with tempfile.TemporaryDirectory(prefix="shopper-halt-") as folder:
        halt = Path(folder) / "halt.txt"
        env[HALT_FILE] = str(halt)
        if timeout_s is not None or stop is not None:
            result = _run_watched(request, env, timeout_s, stop or (lambda: False))
        elif progress is not None:
            result = _run_shown(
                replace(request, progress_file=Path(folder) / "progress.jsonl"), env, progress
            )
        else:
            capture = subprocess.PIPE if request.quiet else None
            completed = subprocess.run(
                pytest_command(request), env=env, stdout=capture, stderr=capture, text=True, check=False
            )
            output = (completed.stdout or "") + (completed.stderr or "")
            result = RunResult(
                run_id=request.run_id, segment=request.segment, exit_code=completed.returncode, output=output
            )
        if halt.exists():
            result.halted = halt.read_text(encoding="utf-8")
    return result


def _run_shown(request: RunRequest, env: dict[str, str], progress: ProgressView) -> RunResult:
    """The run with its progress shown; pytest's output kept (for the sentence of a run that did not
    run) and, with --verbose, relayed line by line through the view, which owns the terminal."""
    assert request.progress_file is not None
    tail = FeedTail(request.progress_file, progress.event)
    with (
        progress.showing(),
        subprocess.Popen(
            pytest_command(request),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if request.verbose else subprocess.PIPE,
            text=True,
        ) as process,
    ):
        tail.start()
        try:
            if request.verbose:
                assert process.stdout is not None
                lines = []
                for line in process.stdout:
                    lines.append(line)
                    progress.output(line)
                process.wait()
                output = "".join(lines)
            else:
                out, err = process.communicate()
                output = (out or "") + (err or "")
        except BaseException:  # Ctrl-C: as subprocess.run does, the run is not left behind
            process.kill()
            raise
        finally:
            tail.finish()  # the run's last lines (its end) are shown before its verdict
    return RunResult(
        run_id=request.run_id, segment=request.segment, exit_code=process.returncode, output=output
    )


def dry_run(request: RunRequest) -> tuple[RunResult, Findings]:
    """One segment's dry run in its own pytest process, and what its steps would trip on."""
    with tempfile.TemporaryDirectory(prefix="shopper-dry-run-") as folder:
        out = Path(folder) / "findings.json"
        result = run_scenarios(replace(request, dry_run_out=out, quiet=True, retries=0))
        return result, Findings.read(out)


_POLL_S = 0.2


def _run_watched(
    request: RunRequest, env: dict[str, str], timeout_s: float | None, stop: Callable[[], bool]
) -> RunResult:
    capture = subprocess.PIPE if request.quiet else None
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    # A temporary folder of the run's own: a killed Chromium leaves its profile there, removed below,
    # and the folder's name (with the run id) is on the command line of every browser process.
    with tempfile.TemporaryDirectory(
        prefix=f"shopper-run-{request.run_id}-", ignore_cleanup_errors=True
    ) as private:
        env = {**env, MARKER_VARIABLE: request.run_id, "TMPDIR": private}
        process = subprocess.Popen(
            pytest_command(request),
            env=env,
            stdout=capture,
            stderr=capture,
            text=True,
            start_new_session=True,
        )
        killed, out, err = "", "", ""
        while True:
            try:
                out, err = process.communicate(timeout=_POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            if deadline is not None and time.monotonic() >= deadline:
                killed = "timeout"
            elif stop():
                killed = "stopped"
            if killed:
                kill_run(process, request.run_id)
                out, err = _rest_of_output(process)
                _record_aborted(request.store)
                break
    return RunResult(
        run_id=request.run_id,
        segment=request.segment,
        exit_code=process.returncode,
        output=(out or "") + (err or ""),
        killed=killed,
    )


def _rest_of_output(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        out, err = process.communicate(timeout=_POLL_S * 5)
    except (subprocess.TimeoutExpired, ValueError):  # a straggler holds the pipe, or it is read already
        return "", ""
    return out or "", err or ""


def _record_aborted(store: str) -> None:
    """A killed run never says it ended: the store's reconciliation marks it, now that its process is gone."""
    if not store_exists(store):
        return  # the run was killed before it recorded anything
    opened = open_store(store)
    try:
        opened.reconcile_aborted()
    finally:
        opened.close()
