"""The harness's pytest plugin: each hook hands plain values to the recorder, the binder or the feature check.

Enabled by `--journey-map MAP` (or the `journey_map` ini setting). Without a map it stays out
of the way, so the harness's own tests and other suites run untouched.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

from harness.errors import HarnessError
from harness.mail.mailbox import Mailbox, lasting_url, open_mailbox
from harness.mail.pending import EmailPending
from harness.map import features
from harness.map.catalogue import bind, entry_for, static_binding
from harness.map.journey_map import load_map, parse_duration
from harness.observation import new_run_id
from harness.record.context import (
    DEFAULT_ADDRESS,
    DEFAULT_DOMAIN,
    Shopper,
    customer_address,
    make_customer,
    redact,
)
from harness.record.dry_run import DryRun, Findings
from harness.record.recorder import Recorder, ScenarioRecord, classify, error_text
from harness.record.run_process import die_with_parent
from harness.record.settle import QUIET_S, settle_inbox
from harness.record.store_guard import STORE_FAILED, GuardedStore
from harness.store.sqlite import DEFAULT_STORE, LazyStore, run_exists, store_path

RECORDER = pytest.StashKey[Recorder]()
SCENARIO = pytest.StashKey[ScenarioRecord]()
BROWSER = pytest.StashKey[Any]()  # the session's relaunching browser (record.fixtures), for its crash count
MAILBOX = pytest.StashKey[Mailbox]()  # one per run: an IMAP mailbox is one connection, shared
MAILED = pytest.StashKey[list[ScenarioRecord]]()  # scenarios whose customers the audit looks at last
FINDINGS = pytest.StashKey[Findings]()  # a dry run's: what a real run would trip on
JOURNEY_TAGS = tuple(f"{kind}:" for kind in features.TAG_KINDS)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shopper", "mystery-shopper harness")
    group.addoption("--journey-map", help="journey map YAML; turns recording on")
    group.addoption("--segment", help="customer segment this run plays (default: the map's first)")
    group.addoption("--store", help=f"store path or URL (default: $SHOPPER_STORE or {DEFAULT_STORE})")
    group.addoption("--run-id", help="run id to record under (default: a new one)")
    group.addoption("--mailbox", help="the synthetic customer's inbox, e.g. maildir:PATH")
    group.addoption(
        "--evidence-dir", help="where screenshots and traces at failure go (default: beside the store)"
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
    parser.addini("journey_map", "journey map YAML that turns recording on")


def pytest_configure(config: pytest.Config) -> None:
    # pytest-playwright's own base_url fixture trips a pytest deprecation no user of ours can act on.
    config.addinivalue_line(
        "filterwarnings", f"ignore:{_PLAYWRIGHT_DEPRECATION}:pytest.PytestRemovedIn10Warning"
    )
    try:
        recorder = _make_recorder(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    if recorder is not None:
        # Checked now, not when the run ends: a typo must not cost a whole run its audit.
        for name in ("max_wait", "inbox_settle"):
            _duration_option(config, name)
        config.stash[RECORDER] = recorder
        config.stash[MAILED] = []
        die_with_parent(recorder.run_id)
        if config.getoption("dry_run"):
            config.stash[FINDINGS] = Findings(out=config.getoption("dry_run_json") or "")
        url = config.getoption("mailbox")
        if url and FINDINGS not in config.stash:  # a dry run reads no email
            try:
                config.stash[MAILBOX] = open_mailbox(url)
            except HarnessError as exc:
                raise pytest.UsageError(str(exc)) from None
    # Registered now, after pytest-playwright, so our browser fixtures override its defaults.
    config.pluginmanager.import_plugin("harness.record.fixtures")


_PLAYWRIGHT_DEPRECATION = "Session-scoped fixtures defined as instance methods"


def _make_recorder(config: pytest.Config) -> Recorder | None:
    given = config.getoption("journey_map") or os.environ.get("SHOPPER_MAP")
    if given:
        map_file = Path(given)
    elif config.getini("journey_map"):
        map_file = config.rootpath / str(config.getini("journey_map"))  # relative to the project, not the cwd
    else:
        return None
    journey_map = load_map(map_file)
    segment = config.getoption("segment") or (journey_map.segments[0] if journey_map.segments else "default")
    if journey_map.segments and segment not in journey_map.segments:
        raise HarnessError(
            f'segment "{segment}" is not in the journey map; it has: {", ".join(journey_map.segments)}'
        )
    store_url = config.getoption("store") or os.environ.get("SHOPPER_STORE") or DEFAULT_STORE
    run_id = config.getoption("run_id") or new_run_id()
    dry = bool(config.getoption("dry_run"))
    if config.getoption("run_id") and not dry and run_exists(store_url, run_id):
        # A second process under the same id would restart its attempts and overwrite its evidence.
        raise HarnessError(f'run id "{run_id}" is already in the store; every run needs its own id')
    # Checked now, not at the first scenario: a bad template is a usage error of the whole run.
    customer_address(config.getoption("customer_address"), run_id, 1, config.getoption("customer_domain"))
    evidence = Path(config.getoption("evidence_dir") or store_path(store_url).parent / "evidence").resolve()
    return Recorder(
        run_id=run_id,
        journey_map=journey_map,
        segment=segment,
        target=config.getoption("base_url", default=None) or "",
        handlers=[] if dry else [GuardedStore(LazyStore(store_url), _stop_run)],  # a dry run records nothing
        evidence_dir=None if dry else evidence,
    )


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
    if RECORDER not in config.stash:
        return
    recorder = config.stash[RECORDER]
    try:
        keep, drop = _select_for_segment(items, recorder)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    if RECORDER in session.config.stash:
        # What is loaded by now lives as long as the run: the garbage collector need not walk it
        # again at each of its full passes (pytest makes one more at the end).
        gc.freeze()


def _scenario_info(item: pytest.Item) -> features.ScenarioInfo | None:
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))  # type: ignore[arg-type]
    if template is None:
        return None
    return features.scenario_at(Path(template.feature.filename), template.line_number)


def _select_for_segment(
    items: list[pytest.Item], recorder: Recorder
) -> tuple[list[pytest.Item], list[pytest.Item]]:
    keep, drop = [], []
    for item in items:
        info = _scenario_info(item)
        if info is not None:
            features.check_scenario(info, recorder.journey_map)
            segments = info.values("segment")
            if segments and recorder.segment not in segments:
                drop.append(item)
                continue
        keep.append(item)
    return keep, drop


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    if RECORDER not in request.config.stash:
        return
    recorder = request.config.stash[RECORDER]
    recorder.start_run()
    info = features.scenario_at(Path(feature.filename), scenario.line_number)
    stages = info.values("stage") if info else []
    config = request.config
    url = config.getoption("mailbox")
    shopper = Shopper(
        journey_map=recorder.journey_map,
        segment=recorder.segment,
        customer=make_customer(
            recorder.run_id,
            recorder.next_customer_number(),
            config.getoption("customer_domain"),
            config.getoption("customer_address"),
        ),
        base_url=config.getoption("base_url", default=None) or "",
        mailbox=config.stash.get(MAILBOX, None),
        mailbox_url=lasting_url(url) if url else "",
        max_wait_ms=_duration_option(config, "max_wait"),
        trace_wanted=recorder.evidence_dir is not None and not config.getoption("no_trace"),
        dry_run=DryRun() if FINDINGS in config.stash else None,
    )
    tagged = info.values("touchpoint") if info else []
    if tagged:
        shopper.at(recorder.journey_map.touchpoint(tagged[0]))
    request.node.stash[SCENARIO] = ScenarioRecord(
        feature=feature.rel_filename,
        scenario=scenario.name,
        node_id=request.node.nodeid,
        stage=stages[0] if stages else "",
        attempt=getattr(request.node, "execution_count", 1),
        steps=[(step.line_number, f"{step.keyword} {step.name}") for step in scenario.steps],
        shopper=shopper,
    )


def _duration_option(config: pytest.Config, name: str) -> int:
    text = str(config.getoption(name))
    try:
        return parse_duration(text)
    except HarnessError:
        raise pytest.UsageError(f'--{name.replace("_", "-")} "{text}" is not a duration, e.g. 2m') from None


def pytest_bdd_before_step_call(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: dict[str, Any],
) -> None:
    record = request.node.stash.get(SCENARIO, None)
    if record is None:
        return
    entry = entry_for(step_func)
    binding = bind(entry, step_func_args, record.shopper.journey_map) if entry else None
    if binding is not None:
        record.shopper.at(binding.touchpoint, binding.off_map)
    request.config.stash[RECORDER].step_started(record)
    if binding is not None and binding.unresolved:
        raise HarnessError(
            f'the journey map has no touchpoint called "{binding.unresolved}"; name one of:'
            f" {', '.join(tp.name for tp in record.shopper.journey_map.touchpoints())}"
        )


def pytest_bdd_after_step(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: Any,
) -> None:
    record = request.node.stash.get(SCENARIO, None)
    if record is not None:
        if FINDINGS in request.config.stash:
            request.config.stash[FINDINGS].step_ended(record.shopper.dry_run, record.feature, step)
        request.config.stash[RECORDER].step_ended(
            record,
            line=step.line_number,
            text=f"{step.keyword} {step.name}",
            outcome="passed",
            timed=_timed(step_func),
            triggers=_triggers(step_func),
        )


def _triggers(step_func: Any) -> bool:
    entry = entry_for(step_func)
    # Reading an email answers a trigger; it is never one, so a second email is timed from the form.
    return entry is None or entry.kind != "email"


def _timed(step_func: Any) -> bool:
    entry = entry_for(step_func)
    # A step from outside the library may do anything; count its time rather than hide it.
    return entry.timed if entry is not None else True


def pytest_bdd_step_error(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: Any,
    exception: Exception,
) -> None:
    record = request.node.stash.get(SCENARIO, None)
    if record is None:
        return
    if isinstance(exception, EmailPending):
        request.config.stash[RECORDER].step_pending(
            record, line=step.line_number, text=f"{step.keyword} {step.name}", pending=exception
        )
    else:
        _record_failure(request, record, step, exception, _timed(step_func))


def pytest_bdd_step_func_lookup_error(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, exception: Exception
) -> None:
    record = request.node.stash.get(SCENARIO, None)
    if record is not None:
        _record_failure(request, record, step, exception)


def _record_failure(
    request: pytest.FixtureRequest,
    record: ScenarioRecord,
    step: Any,
    exception: Exception,
    timed: bool = True,
) -> None:
    recorder = request.config.stash[RECORDER]
    # The customer's wait ended with the failure: the evidence taken now is the harness's time.
    recorder.stop_step(record)
    shopper = record.shopper
    if FINDINGS in request.config.stash:
        said = redact(error_text(exception), shopper.secrets())
        request.config.stash[FINDINGS].step_failed(record.feature, step, classify(exception), said)
    evidence = recorder.evidence_path(record, step.line_number)
    trace = evidence.with_suffix(".zip") if evidence is not None else None
    if evidence is not None and not shopper.screenshot(evidence):
        evidence = None
    if trace is not None and not shopper.save_trace(trace):
        trace = None
    recorder.step_ended(
        record,
        line=step.line_number,
        text=f"{step.keyword} {step.name}",
        outcome=classify(exception),
        error=error_text(exception),
        evidence=str(evidence) if evidence else "",
        timed=timed,
        trace=str(trace) if trace else "",
        page_url=shopper.page_url(),
        page_title=shopper.page_title(),
    )


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    record = request.node.stash.get(SCENARIO, None)
    if record is not None:
        journey_map = record.shopper.journey_map
        recorder = request.config.stash[RECORDER]
        recorder.scenario_ended(record, lambda text: static_binding(text, journey_map))
        if record.shopper.mailbox is not None:
            recorder.audit_inbox(record)
            request.config.stash[MAILED].append(record)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, EmailPending):
        # Not a failure, and nothing to retry: the scenario ends, the email is left to `mail poll`.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: pending: {call.excinfo.value}")
        return report
    record = item.stash.get(SCENARIO, None)
    if record is None:
        return report
    # A secret must not reach the terminal or a CI log either: not in the traceback, nor in the
    # output and log lines pytest shows beside it (pytest-bdd logs step texts at debug level).
    secret_values = record.shopper.secrets()
    if report.longrepr:
        text = str(report.longrepr)
        hidden = redact(text, secret_values)
        if hidden != text:
            report.longrepr = hidden
    report.sections = [(title, redact(content, secret_values)) for title, content in report.sections]
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    recorder = session.config.stash.get(RECORDER, None)
    if recorder is not None and not _halted(recorder):
        mailed = session.config.stash.get(MAILED, [])
        mailbox = session.config.stash.get(MAILBOX, None)
        if mailed and mailbox is not None and exitstatus != pytest.ExitCode.INTERRUPTED:
            _settle_inbox(session.config, recorder, mailed, mailbox)
        if mailbox is not None:
            mailbox.close()
        recorder.finish_run("aborted" if exitstatus == pytest.ExitCode.INTERRUPTED else "finished")
    if FINDINGS in session.config.stash:
        session.config.stash[FINDINGS].write()


def _halted(recorder: Recorder) -> bool:
    """The store stopped the run: nothing more can be written, the run reads as aborted."""
    return any(isinstance(handler, GuardedStore) and handler.halted for handler in recorder.handlers)


def _settle_inbox(
    config: pytest.Config, recorder: Recorder, mailed: list[ScenarioRecord], mailbox: Mailbox
) -> None:
    settled = settle_inbox(recorder, mailed, mailbox, _duration_option(config, "inbox_settle") / 1000.0)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(settled.describe())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    crashes = getattr(config.stash.get(BROWSER, None), "crashes", 0)
    if crashes:
        terminalreporter.write_line(
            f"shopper: the browser crashed {crashes} time(s); each scenario after a crash ran in a new"
            " browser, and the crashed steps are harness errors, not the touchpoints' failures"
        )
    if FINDINGS in config.stash:
        terminalreporter.section("dry run: what a real run would trip on")
        terminalreporter.write_line("\n".join(config.stash[FINDINGS].lines() or ["  nothing"]))
