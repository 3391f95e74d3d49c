"""A recorded run, scenario by scenario and step by step: what the plugin's hooks hand off to.

Like the recorder it does not import pytest (pytest-bdd's plugin.py → reporting.py shape): the
hooks read pytest's config once into `RunOptions`, keep per-test state in pytest's stash and call
these functions with plain values. Here the scenario context is built, the failing step's evidence
is taken, secrets are hidden from what pytest shows, and the inbox audit runs at each scenario's end
and once more, settled, at the run's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from harness.errors import HarnessError
from harness.mail.mailbox import Mailbox, lasting_url, open_mailbox
from harness.mail.pending import EmailPending
from harness.map import features
from harness.map.catalogue import bind, entry_for, static_binding
from harness.map.journey_map import parse_duration
from harness.map.loading import load_map
from harness.observation import (
    CONTENT_MISS,
    Handler,
    ScenarioEnded,
    ScenarioStarted,
    StepStarted,
    VitalsObserved,
    new_run_id,
)
from harness.record.accessibility import AccessibilityFound, check_page, promised
from harness.record.context import ContentMissing, Shopper, customer_address, make_customer
from harness.record.dry_run import DryRun, Findings
from harness.record.labels import DEFAULT_HEADER
from harness.record.page_evidence import page_evidence
from harness.record.recorder import Recorder, ScenarioRecord, classify, error_text
from harness.record.secrets import redact
from harness.record.settle import settle_inbox
from harness.record.store_guard import GuardedStore
from harness.record.vitals import page_vitals
from harness.record.workers import worker_index

Item = TypeVar("Item")


class Step(Protocol):
    """A step as pytest-bdd hands it to its hooks."""

    line_number: int
    keyword: str
    name: str


@dataclass(frozen=True)
class RunOptions:
    """The run's command-line options and ini settings, read from pytest's config once."""

    map_file: Path | None  # None: no journey map, nothing is recorded
    segment: str
    store_url: str
    run_id: str  # "": a new one
    mailbox: str
    evidence_dir: str
    trace: bool
    customer_domain: str
    customer_address: str
    max_wait: str
    inbox_settle: str
    dry_run: bool
    dry_run_json: str
    base_url: str
    label_header: str = DEFAULT_HEADER  # "": no header (the user agent is labelled still)
    vitals: bool = True  # read each page visit's web vitals (harness.record.vitals)
    location: str = ""  # where the run walks from ("": the host name)
    # A parallel run (pytest-xdist, see harness/record/workers.py): workers record, the controller ends.
    worker: str = ""  # this worker's id ("gw1"); "": not a worker
    run_pid: int = 0  # the process the run belongs to (the controller's, for a worker); 0: this one
    distributed: bool = False  # this process is the controller of a parallel run


@dataclass
class Recording:
    """One run being recorded: the recorder and what the run's hooks share."""

    recorder: Recorder
    options: RunOptions
    max_wait_ms: int
    inbox_settle_ms: int
    findings: Findings | None = None  # a dry run's: what a real run would trip on
    mailbox: Mailbox | None = None  # one per run: an IMAP mailbox is one connection, shared
    mailed: list[ScenarioRecord] = field(default_factory=list)  # customers the audit looks at last
    taken: Callable[[str], bool] = lambda run_id: False  # the run id is in the store already


def duration_ms(options: RunOptions, name: str) -> int:
    text = str(getattr(options, name))
    try:
        return parse_duration(text)
    except HarnessError:
        raise HarnessError(f'--{name.replace("_", "-")} "{text}" is not a duration, e.g. 2m') from None


def start_recording(
    options: RunOptions,
    handlers: Sequence[Handler],
    default_evidence: Path,
    taken: Callable[[str], bool],
) -> Recording | None:
    """The run's recorder, once every option is checked; None without a journey map.

    `taken` says whether a run id is already in the store.
    """
    if options.map_file is None:
        return None
    journey_map = load_map(options.map_file)
    segment = options.segment or (journey_map.segments[0] if journey_map.segments else "default")
    if journey_map.segments and segment not in journey_map.segments:
        raise HarnessError(
            f'segment "{segment}" is not in the journey map; it has: {", ".join(journey_map.segments)}'
        )
    run_id = options.run_id or new_run_id()
    if options.run_id and not options.dry_run and not options.worker and taken(run_id):
        # A second process under the same id would restart its attempts and overwrite its evidence.
        raise HarnessError(f'run id "{run_id}" is already in the store; every run needs its own id')
    # Checked now, not at the first scenario: a bad template is a usage error of the whole run.
    customer_address(options.customer_address, run_id, 1, options.customer_domain)
    recorder = Recorder(
        run_id=run_id,
        journey_map=journey_map,
        segment=segment,
        target=options.base_url,
        handlers=list(handlers),
        evidence_dir=None if options.dry_run else Path(options.evidence_dir or default_evidence).resolve(),
        worker=worker_index(options.worker),
        location=options.location,
        run_pid=options.run_pid or None,
    )
    # Checked now, not when the run ends: a typo must not cost a whole run its audit.
    max_wait, settle = duration_ms(options, "max_wait"), duration_ms(options, "inbox_settle")
    recording = Recording(recorder, options, max_wait, settle, taken=taken)
    if options.dry_run:
        recording.findings = Findings(out=options.dry_run_json)
    elif options.mailbox and not options.distributed:  # a dry run, or a controller, reads no email
        recording.mailbox = open_mailbox(options.mailbox)
    return recording


def select_for_segment(
    items: Sequence[tuple[Item, features.ScenarioInfo | None]], recorder: Recorder
) -> tuple[list[Item], list[Item]]:
    """The scenarios this run's segment plays, and those it does not; each checked against the map."""
    keep, drop = [], []
    for item, info in items:
        if info is not None:
            features.check_scenario(info, recorder.journey_map)
            segments = info.values("segment")
            if segments and recorder.segment not in segments:
                drop.append(item)
                continue
        keep.append(item)
    return keep, drop


def scenario_started(
    recording: Recording | None, feature: Any, scenario: Any, node_id: str, attempt: int
) -> ScenarioRecord | None:
    """The scenario's record, with a fresh customer in its context; None when nothing is recorded."""
    if recording is None:
        return None
    recorder, options = recording.recorder, recording.options
    recorder.start_run()
    info = features.scenario_at(Path(feature.filename), scenario.line_number)
    stages = info.values("stage") if info else []
    shopper = Shopper(
        journey_map=recorder.journey_map,
        segment=recorder.segment,
        customer=make_customer(
            recorder.run_id,
            recorder.next_customer_number(),
            options.customer_domain,
            options.customer_address,
        ),
        base_url=options.base_url,
        mailbox=recording.mailbox,
        mailbox_url=lasting_url(options.mailbox) if options.mailbox else "",
        max_wait_ms=recording.max_wait_ms,
        trace_wanted=recorder.evidence_dir is not None and options.trace,
        dry_run=DryRun() if recording.findings is not None else None,
    )
    tagged = info.values("touchpoint") if info else []
    if tagged:
        shopper.at(recorder.journey_map.touchpoint(tagged[0]))
    record = ScenarioRecord(
        feature=feature.rel_filename,
        scenario=scenario.name,
        node_id=node_id,
        stage=stages[0] if stages else "",
        attempt=attempt,
        steps=[(step.line_number, f"{step.keyword} {step.name}") for step in scenario.steps],
        shopper=shopper,
    )
    hidden = shopper.secrets()
    recorder.emit(
        ScenarioStarted(
            recorder.run_id,
            node_id,
            record.feature,
            redact(record.scenario, hidden),
            attempt,
            len(record.steps),
        )
    )
    return record


def step_announced(recording: Recording | None, record: ScenarioRecord | None, step: Step) -> None:
    """The step is about to run (before its clock starts): for whoever watches the run."""
    if recording is None or record is None:
        return
    text = redact(f"{step.keyword} {step.name}", record.shopper.secrets())
    recording.recorder.emit(StepStarted(recording.recorder.run_id, record.node_id, record.attempt, text))


def step_starting(
    recording: Recording | None, record: ScenarioRecord | None, step_func: Any, args: dict[str, Any]
) -> None:
    """Bind the step to its touchpoint and start its clock; a touchpoint the map lacks is a harness error."""
    if recording is None or record is None:
        return
    journey_map = record.shopper.journey_map
    entry = entry_for(step_func)
    binding = bind(entry, args, journey_map) if entry else None
    if binding is not None:
        record.shopper.at(binding.touchpoint, binding.off_map)
    recording.recorder.step_started(record)
    if binding is not None and binding.unresolved:
        raise HarnessError(
            f'the journey map has no touchpoint called "{binding.unresolved}"; name one of:'
            f" {', '.join(tp.name for tp in journey_map.touchpoints())}"
        )


def step_passed(
    recording: Recording | None, record: ScenarioRecord | None, step: Step, step_func: Any
) -> None:
    if recording is None or record is None:
        return
    if recording.findings is not None:
        recording.findings.step_ended(record.shopper.dry_run, record.feature, step)
    recorder = recording.recorder
    page, vitals, checked = None, None, None
    if record.shopper.last_part() is not None and recording.findings is None:
        # The customer's wait is over: reading the page's requests (and a slow page's screenshot),
        # its vitals and running axe on it is the harness's time, not the touchpoint's.
        recorder.stop_step(record)
        shot = recorder.evidence_path(record, step.line_number)
        page = page_evidence(record.shopper, shot.with_name(f"{shot.stem}-slow.png") if shot else None)
        vitals = page_vitals(record.shopper) if recording.options.vitals else None
        checked = _accessibility(record)
    observation = recorder.step_ended(
        record,
        line=step.line_number,
        text=f"{step.keyword} {step.name}",
        outcome="passed",
        timed=_timed(step_func),
        triggers=_triggers(step_func),
        page=page,
    )
    if vitals is not None:  # the page's: the last part the step waited for, its last observation
        recorder.emit(VitalsObserved(recorder.run_id, observation.seq, vitals))
    if checked is not None and observation.touchpoint == checked.touchpoint.id:
        recorder.emit(checked.event(observation, record.node_id))


def _accessibility(record: ScenarioRecord) -> AccessibilityFound | None:
    """axe on the page the step waited for, once per touchpoint per attempt, if it promises accessibility."""
    touchpoint = promised(record.shopper)
    if touchpoint is None or touchpoint.id in record.accessibility_checked:
        return None
    record.accessibility_checked.add(touchpoint.id)
    return check_page(record.shopper, touchpoint)


def _triggers(step_func: Any) -> bool:
    entry = entry_for(step_func)
    # Reading an email answers a trigger; it is never one, so a second email is timed from the form.
    return entry is None or entry.kind != "email"


def _timed(step_func: Any) -> bool:
    entry = entry_for(step_func)
    # A step from outside the library may do anything; count its time rather than hide it.
    return entry.timed if entry is not None else True


def step_broke(
    recording: Recording | None,
    record: ScenarioRecord | None,
    step: Step,
    exception: Exception,
    step_func: Any = None,
) -> None:
    """The step raised: an email left pending, else a failure (or a harness error) with its evidence.

    Without `step_func` the step had no definition: its time is counted.
    """
    if recording is None or record is None:
        return
    text = f"{step.keyword} {step.name}"
    if isinstance(exception, EmailPending):
        recording.recorder.step_pending(record, line=step.line_number, text=text, pending=exception)
        return
    recorder, shopper = recording.recorder, record.shopper
    # The customer's wait ended with the failure: the evidence taken now is the harness's time.
    recorder.stop_step(record)
    if recording.findings is not None:
        said = redact(error_text(exception), shopper.secrets())
        recording.findings.step_failed(record.feature, step, classify(exception), said)
    evidence = recorder.evidence_path(record, step.line_number)
    trace = evidence.with_suffix(".zip") if evidence is not None else None
    if evidence is not None and not shopper.screenshot(evidence):
        evidence = None
    if trace is not None and not shopper.save_trace(trace):
        trace = None
    outcome, error = classify(exception), error_text(exception)
    if shopper.label_guard is not None:
        outcome, error = shopper.label_guard.blame(outcome, error)
    recorder.step_ended(
        record,
        line=step.line_number,
        text=text,
        outcome=outcome,
        error=error,
        evidence=str(evidence) if evidence else "",
        timed=_timed(step_func) if step_func is not None else True,
        trace=str(trace) if trace else "",
        page_url=shopper.page_url(),
        page_title=shopper.page_title(),
        failure=CONTENT_MISS if isinstance(exception, ContentMissing) else "",
    )


def scenario_ended(recording: Recording | None, record: ScenarioRecord | None) -> None:
    """The steps left untried are recorded as skipped; the customer's inbox so far is audited."""
    if recording is None or record is None:
        return
    journey_map = record.shopper.journey_map
    recorder = recording.recorder
    recorder.scenario_ended(record, lambda text: static_binding(text, journey_map))
    if record.shopper.mailbox is not None:
        recorder.audit_inbox(record)
        recording.mailed.append(record)
    recorder.emit(ScenarioEnded(recorder.run_id, record.node_id, record.attempt))


def hide_secrets(record: ScenarioRecord | None, text: str) -> str:
    """What pytest shows of a scenario (its traceback, output, log lines) without the customer's secrets."""
    return text if record is None else redact(text, record.shopper.secrets())


def run_finished(recording: Recording | None, interrupted: bool, say: Callable[[str], None]) -> None:
    """The run's last inbox audit (waiting for late mail), then its end; a dry run writes its findings."""
    if recording is None:
        return
    recorder = recording.recorder
    if not _halted(recorder):
        mailbox = recording.mailbox
        if recording.mailed and mailbox is not None and not interrupted:
            settle_s = recording.inbox_settle_ms / 1000.0
            say(settle_inbox(recorder, recording.mailed, mailbox, settle_s).describe())
        if mailbox is not None:
            mailbox.close()
        if recording.options.distributed:  # the run was opened by a worker, if any scenario ran
            recorder.started = recording.taken(recorder.run_id)
        if not recording.options.worker:  # the controller ends a parallel run, once every worker has
            recorder.finish_run("aborted" if interrupted else "finished")
    if recording.findings is not None:
        recording.findings.write()


def _halted(recorder: Recorder) -> bool:
    """The store stopped the run: nothing more can be written, the run reads as aborted."""
    return any(isinstance(handler, GuardedStore) and handler.halted for handler in recorder.handlers)


def summary(crashes: int, recording: Recording | None) -> list[tuple[str, list[str]]]:
    """What the run's end says in the terminal: (section title or "", lines)."""
    said = []
    if crashes:
        crashed = (
            f"shopper: the browser crashed {crashes} time(s); each scenario after a crash ran in a new"
            " browser, and the crashed steps are harness errors, not the touchpoints' failures"
        )
        said.append(("", [crashed]))
    if recording is not None and recording.findings is not None:
        said.append(("dry run: what a real run would trip on", recording.findings.lines() or ["  nothing"]))
    return said
