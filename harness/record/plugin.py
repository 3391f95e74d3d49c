"""The harness's pytest plugin: each hook hands plain values to `scenario_run`, which does not import pytest.

Installed, it loads through a `pytest11` entry point, and loads the step library itself. Enabled by
`--journey-map MAP` (or the `journey_map` ini setting); without a map it registers no fixture, no
step and no recorder, so the harness's own tests and other suites in the same venv run untouched.
What stays here is pytest's own: the options, the stash keys, usage errors, the report wrapper.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

from harness.errors import HarnessError
from harness.mail.pending import EmailPending
from harness.map import features
from harness.observation import Handler
from harness.record import scenario_run
from harness.record.browser import check_browsers_installed
from harness.record.context import DEFAULT_ADDRESS, DEFAULT_DOMAIN
from harness.record.cucumber import report_retries
from harness.record.labels import DEFAULT_HEADER
from harness.record.progress_feed import ProgressFeed
from harness.record.recorder import Recorder, ScenarioRecord
from harness.record.run_process import die_with_parent
from harness.record.scenario_run import Recording, RunOptions
from harness.record.settle import QUIET_S
from harness.record.store_guard import STORE_FAILED, GuardedStore
from harness.record.workers import WorkerPart, worker_input
from harness.steps import PLUGINS as STEP_PLUGINS
from harness.store.sqlite import DEFAULT_STORE, LazyStore, run_exists, store_path

RECORDING = pytest.StashKey[Recording]()
RECORDER = pytest.StashKey[Recorder]()  # the recording's, for the browser fixtures
SCENARIO = pytest.StashKey[ScenarioRecord]()
BROWSER = pytest.StashKey[Any]()  # the session's relaunching browser (record.fixtures), for its crash count
JOURNEY_TAGS = tuple(f"{kind}:" for kind in features.TAG_KINDS)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shopper", "mystery-shopper harness")
    group.addoption("--journey-map", help="journey map YAML; turns recording on")
    group.addoption("--segment", help="customer segment this run plays (default: the map's first)")
    group.addoption("--store", help=f"store path or URL (default: $SHOPPER_STORE or {DEFAULT_STORE})")
    group.addoption("--run-id", help="run id to record under (default: a new one)")
    group.addoption("--location", default="", help="where the run walks from (default: the host name)")
    group.addoption("--mailbox", help="the synthetic customer's inbox, e.g. maildir:PATH")
    group.addoption(
        "--evidence-dir",
        help="where screenshots and traces at failure, and slow pages' screenshots, go"
        " (default: beside the store)",
    )
    group.addoption(
        "--no-trace",
        action="store_true",
        help="record no Playwright trace for evidence at failure (tracing slows browser steps a little)",
    )
    group.addoption(
        "--no-runner-check",
        action="store_true",
        help="do not time the runner before each scenario; no slow verdict of the run is then held back"
        " as runner-busy (see harness/analysis/runner_rule.py)",
    )
    group.addoption(
        "--no-vitals",
        action="store_true",
        help="read no web vitals (LCP, CLS, INP, TTFB, ...) of the pages visited"
        " (see harness/record/vitals.py)",
    )
    group.addoption(
        "--label-header",
        default=DEFAULT_HEADER,
        help=f"header naming the run on every request, for the site's analytics to drop"
        f" (default: {DEFAULT_HEADER})",
    )
    group.addoption(
        "--no-label-header",
        action="store_true",
        help="send no label header; the user agent still ends with shopper/<version>",
    )
    group.addoption("--customer-domain", default=DEFAULT_DOMAIN, help="mail domain of synthetic customers")
    group.addoption(
        "--customer-address",
        default=DEFAULT_ADDRESS,
        help="synthetic customers' address, with {run} and {n} (and {domain}); default: plus-addressing,"
        " shopper+{run}-{n}@{domain}",
    )
    group.addoption(
        "--max-wait",
        default="2m",
        help="longest an email step keeps the browser open; a later promise becomes a pending"
        " expectation for `shopper mail poll` (default: 2m)",
    )
    group.addoption(
        "--inbox-settle",
        default="1s",
        help="how long after the step that may have caused it the run looks for mail no step waited for,"
        f" for the inbox audit; it stops once the mailbox has been quiet for {QUIET_S:g}s (default: 1s)",
    )
    group.addoption(
        "--dry-run",
        action="store_true",
        help="find every field and button the steps name, but send nothing, read no email, record nothing;"
        " list what a real run would trip on",
    )
    group.addoption("--dry-run-json", help="with --dry-run: write what it found to this JSON file")
    group.addoption(
        "--progress-file",
        help="write what the run is doing (scenario and step started and ended) to this file as JSON"
        " lines, for a watcher to tail (`shopper run` does)",
    )
    parser.addini("journey_map", "journey map YAML that turns recording on")


def pytest_configure(config: pytest.Config) -> None:
    try:
        check_browsers_installed(config.getoption("browser", None) or [])
        recording = _start_recording(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    if recording is None:
        return  # installed, this plugin loads in every pytest session of the venv: it stays out of the way
    config.stash[RECORDING], config.stash[RECORDER] = recording, recording.recorder
    # pytest-playwright's own base_url fixture trips a pytest deprecation no user of ours can act on.
    config.addinivalue_line(
        "filterwarnings", f"ignore:{_PLAYWRIGHT_DEPRECATION}:pytest.PytestRemovedIn10Warning"
    )
    # Registered now, after pytest-playwright, so our browser fixtures override its defaults; the step
    # library under its package's name (a conftest or `-p` naming a module too finds it registered).
    for plugin in ("harness.record.fixtures", *STEP_PLUGINS):
        config.pluginmanager.import_plugin(plugin)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    report_retries(session.config)  # --cucumberjson with --reruns: see harness.record.cucumber


_PLAYWRIGHT_DEPRECATION = "Session-scoped fixtures defined as instance methods"


def _options(config: pytest.Config) -> RunOptions:
    given = config.getoption("journey_map") or os.environ.get("SHOPPER_MAP")
    ini = config.getini("journey_map")
    # An ini setting is relative to the project, not the cwd.
    map_file = Path(given) if given else (config.rootpath / str(ini) if ini else None)
    option = config.getoption
    # A worker of a parallel run (pytest-xdist) records under its controller's run id and pid.
    part = WorkerPart.of(getattr(config, "workerinput", {}))
    distributed = not part.worker and option("dist", "no") != "no" and bool(option("tx", None))
    distributed = distributed and not option("collectonly")  # as xdist's own test of its mode
    return RunOptions(
        map_file=map_file,
        segment=option("segment") or "",
        store_url=option("store") or os.environ.get("SHOPPER_STORE") or DEFAULT_STORE,
        run_id=part.run_id or option("run_id") or "",
        mailbox=option("mailbox") or "",
        evidence_dir=option("evidence_dir") or "",
        trace=not option("no_trace"),
        customer_domain=option("customer_domain"),
        customer_address=option("customer_address"),
        max_wait=str(option("max_wait")),
        inbox_settle=str(option("inbox_settle")),
        dry_run=bool(option("dry_run")),
        dry_run_json=option("dry_run_json") or "",
        base_url=option("base_url", default=None) or "",
        label_header="" if option("no_label_header") else str(option("label_header") or ""),
        vitals=not option("no_vitals"),
        location=str(option("location") or ""),
        worker=part.worker,
        run_pid=part.run_pid,
        distributed=distributed,
    )


def _start_recording(config: pytest.Config) -> Recording | None:
    # The one place a run's store is made: a dry run records nothing.
    options = _options(config)
    if options.map_file is None:
        return None  # no journey map: nothing recorded, no store looked at
    store_url = options.store_url
    handlers: list[Handler] = [] if options.dry_run else [GuardedStore(LazyStore(store_url), _stop_run)]
    if config.getoption("progress_file"):
        handlers.append(ProgressFeed(Path(config.getoption("progress_file"))))
    evidence = store_path(store_url).parent / "evidence"
    recording = scenario_run.start_recording(
        options, handlers, evidence, lambda run_id: run_exists(store_url, run_id)
    )
    if recording is not None:
        die_with_parent(recording.recorder.run_id, recording.options.run_pid)
    return recording


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's, on the controller of a parallel run
def pytest_configure_node(node: Any) -> None:
    if RECORDING in node.config.stash:
        node.workerinput.update(worker_input(node.config.stash[RECORDER].run_id))


def _stop_run(sentence: str) -> NoReturn:
    # pytest's own exit: no further step, no "failed" for the step whose observation could not be kept.
    pytest.exit(sentence, returncode=STORE_FAILED)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function: Callable[..., object]) -> bool | None:
    # Journey tags bind to the map; they are not pytest marks.
    return True if tag.startswith(JOURNEY_TAGS) else None


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if RECORDING not in config.stash:
        return
    try:
        keep, drop = scenario_run.select_for_segment(
            [(item, _scenario_info(item)) for item in items], config.stash[RECORDER]
        )
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    if RECORDING in session.config.stash:
        # What is loaded by now lives as long as the run: the garbage collector need not walk it
        # again at each of its full passes (pytest makes one more at the end).
        gc.freeze()


def _scenario_info(item: pytest.Item) -> features.ScenarioInfo | None:
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))  # type: ignore[arg-type]
    if template is None:
        return None
    return features.scenario_at(Path(template.feature.filename), template.line_number)


def _recording(request: pytest.FixtureRequest) -> Recording | None:
    return request.config.stash.get(RECORDING, None)


def _record(request: pytest.FixtureRequest) -> ScenarioRecord | None:
    stash: pytest.Stash = request.node.stash
    return stash.get(SCENARIO, None)


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    attempt = getattr(request.node, "execution_count", 1)
    record = scenario_run.scenario_started(
        _recording(request), feature, scenario, request.node.nodeid, attempt
    )
    if record is not None:
        request.node.stash[SCENARIO] = record


def pytest_bdd_before_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any
) -> None:
    scenario_run.step_announced(_recording(request), _record(request), step)


def pytest_bdd_before_step_call(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: dict[str, Any],
) -> None:
    scenario_run.step_starting(_recording(request), _record(request), step_func, step_func_args)


def pytest_bdd_after_step(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: Any,
) -> None:
    scenario_run.step_passed(_recording(request), _record(request), step, step_func)


def pytest_bdd_step_error(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: Any,
    exception: Exception,
) -> None:
    scenario_run.step_broke(_recording(request), _record(request), step, exception, step_func)


def pytest_bdd_step_func_lookup_error(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, exception: Exception
) -> None:
    scenario_run.step_broke(_recording(request), _record(request), step, exception)


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    scenario_run.scenario_ended(_recording(request), _record(request))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, EmailPending):
        # Not a failure, and nothing to retry: the scenario ends, the email is left to `mail poll`.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: pending: {call.excinfo.value}")
        return report
    record = item.stash.get(SCENARIO, None)
    # A secret must not reach the terminal or a CI log either: not in the traceback, nor in the
    # output and log lines pytest shows beside it (pytest-bdd logs step texts at debug level).
    if record is not None and report.longrepr:
        text = str(report.longrepr)
        hidden = scenario_run.hide_secrets(record, text)
        if hidden != text:
            report.longrepr = hidden
    report.sections = [
        (title, scenario_run.hide_secrets(record, content)) for title, content in report.sections
    ]
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    scenario_run.run_finished(session.config.stash.get(RECORDING, None), interrupted, _say(session.config))


def _say(config: pytest.Config) -> Callable[[str], None]:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    return reporter.write_line if reporter is not None else lambda line: None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    crashes = getattr(config.stash.get(BROWSER, None), "crashes", 0)
    for title, lines in scenario_run.summary(crashes, config.stash.get(RECORDING, None)):
        if title:
            terminalreporter.section(title)
        terminalreporter.write_line("\n".join(lines))
