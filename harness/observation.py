"""What the recorder emits: runs and observations, and the events that carry them.

The recorder only emits these; the store, the gap analysis and the report consume them
(schemathesis' event/handler split), so nothing downstream can change what was observed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Protocol


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_run_id() -> str:
    """A run's id: when it started (the scheduler reads it back), and enough chance to tell two apart."""
    return utc_now().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def to_iso(moment: dt.datetime | None) -> str | None:
    """A moment as the store keeps it: ISO 8601, in UTC (docs/design.md: timestamps are stored in UTC)."""
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


def from_iso(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


@dataclass
class Run:
    run_id: str
    started_at: dt.datetime
    state: str = "running"  # running, finished or aborted
    finished_at: dt.datetime | None = None
    pid: int | None = None
    host: str = ""
    target: str = ""
    segment: str = ""
    journey: str = ""
    map_version: str = ""
    map_path: str = ""
    map_digest: str = ""  # names the map text stored with the run (see RunStarted.map_text)
    browsing: str = ""  # how the segment's customers browsed: "iPhone 13, de-DE" ('' the browser's defaults)
    location: str = ""  # where the run was walked from (`--location`, the host name by default)


@dataclass
class PageRequest:
    """One request of a page the customer waited for, from the browser's Resource/Navigation Timing.

    Moments are milliseconds from the page's navigation start; `name` has no query, fragment or
    credentials and no secret (a waterfall row in the report).
    """

    name: str
    start_ms: float
    duration_ms: float
    bytes: int | None  # transferred (0: from the cache, or a cross-origin size the browser hides)
    kind: str  # the browser's initiatorType: navigation, img, script, css, fetch, ...


@dataclass
class PageEvidence:
    """What a timed page visit leaves to show a slow gap: its requests, and a screenshot when it was slow."""

    url: str  # the page's location, as a record shows it (no query, no secret)
    requests: list[PageRequest] = field(default_factory=list)
    screenshot: str = ""  # taken when the visit took longer than its `within`, secrets masked


@dataclass
class Observation:
    """One timed step attempt, bound to the stage and touchpoint it exercised."""

    run_id: str
    feature: str
    scenario: str
    node_id: str
    segment: str
    stage: str
    touchpoint: str | None
    step: str
    started_at: dt.datetime
    duration_ms: float
    # passed; failed (the touchpoint let the customer down); error (the step could not run); skipped;
    # pending (a promised email not there yet, left to `shopper mail poll`: see PendingExpectation)
    outcome: str
    attempt: int = 1
    seq: int = 0
    error: str = ""
    evidence: str = ""  # screenshot at failure
    trace: str = ""  # Playwright trace at failure (`playwright show-trace FILE`)
    page_url: str = ""  # where the customer was when the step failed
    page_title: str = ""
    timed: bool = True  # the step waited for the touchpoint's answer (see catalogue.StepEntry.timed)
    # The harness's own wall time for this observation (its step, or its part of a step that made
    # several): actionability checks and the harness's work included. duration_ms is the
    # browser's timing of the answer where there is one; None in stores from before it was kept.
    wall_ms: float | None = None
    # What failed, where it matters to the customer's mood: "content" when a text check missed on a
    # page that loaded (see CONTENT_MISS); "" otherwise.
    failure: str = ""
    page: PageEvidence | None = None  # a timed page visit's requests (and screenshot when slow)


# The web vitals a page visit is scored on (harness.analysis.vitals), in milliseconds but CLS (unitless).
VITALS = ("lcp", "cls", "inp", "ttfb", "fcp", "tbt")


@dataclass
class PageVitals:
    """A timed page visit's web vitals and Navigation Timing, read by the harness's own script in the
    page (harness.record.vitals) once the step's clock stopped. None: the browser could not say.

    LCP and CLS are "so far": what the observers held when the page had loaded (the moment of the
    read); INP is there only when the customer interacted with the page before; TBT stands in then.
    """

    ttfb_ms: float | None = None
    fcp_ms: float | None = None
    lcp_ms: float | None = None
    cls: float | None = None
    inp_ms: float | None = None
    tbt_ms: float | None = None  # long tasks' time over 50 ms each, since navigation start
    dom_content_loaded_ms: float | None = None
    load_ms: float | None = None
    transferred_bytes: int | None = None
    requests: int = 0
    failed_requests: int = 0  # sub-resources that did not load (an error event) or answered >= 400
    console_errors: int = 0  # console.error calls, uncaught errors and unhandled rejections


@dataclass
class VitalsObserved:
    """A timed page visit's vitals, for the observation (run_id, seq) it belongs to: stored apart."""

    run_id: str
    seq: int
    vitals: PageVitals


@dataclass
class VisitVitals:
    """A passed page visit's vitals as the store gives them to the analysis, with where it was."""

    touchpoint: str
    segment: str
    run_id: str
    seq: int
    vitals: PageVitals


# A failed text check on a page that loaded (`I should see "..."`): the site answered, its words did not.
CONTENT_MISS = "content"


@dataclass
class RunStarted:
    run: Run
    map_text: str = ""  # the journey map as the run saw it: a later map refresh is diffed against it


@dataclass
class StepObserved:
    observation: Observation


@dataclass
class RunFinished:
    run_id: str
    state: str
    finished_at: dt.datetime = field(default_factory=utc_now)


@dataclass
class MessageReceived:
    """The inbox audit: one message a synthetic customer received during a run, and where they were."""

    run_id: str
    node_id: str
    segment: str
    stage: str  # the stage the customer was in when it arrived
    address: str  # the synthetic customer's
    key: str  # the mailbox's id of the message: seen twice, recorded once
    received_at: dt.datetime | None
    sender: str  # the address only, lower case
    sender_domain: str  # the sending system
    subject: str
    touchpoint: str | None = None  # the email touchpoint a step matched it to, if any
    message_id: str = ""
    date_header: dt.datetime | None = None
    relay_received: dt.datetime | None = None
    problems: str = ""  # what could not be read; "" for a well-formed message


@dataclass
class PendingExpectation:
    """A promised email too slow to wait for with a browser open ("support replies within 4h").

    The step's observation is stored as `pending`; `shopper mail poll`, in a later process, finds
    the message (`wanted`, a mailbox.EmailWanted as a dict) or passes `deadline`, and resolves it.
    """

    run_id: str
    seq: int  # the pending observation's
    node_id: str
    segment: str
    stage: str
    touchpoint: str
    wanted: dict[str, object]
    triggered_at: dt.datetime  # end of the step that asked (the form sent): the clock starts here
    deadline: dt.datetime  # triggered_at + fail_after: after it the touchpoint has failed
    mailbox: str  # the mailbox URL (never a password: those come from the environment)
    # The pending step's observation, stored with this in one transaction: a run killed in
    # between must not leave a pending observation nothing will ever resolve.
    observation: Observation | None = None

    @property
    def fail_after_ms(self) -> float:
        return (self.deadline - self.triggered_at).total_seconds() * 1000.0


@dataclass
class ExpectationResolved:
    run_id: str
    seq: int
    outcome: str  # passed, failed, or error (the mailbox could not be read by the deadline)
    duration_ms: float  # from the trigger to the message's arrival, or to the deadline
    error: str = ""
    resolved_at: dt.datetime = field(default_factory=utc_now)


# How a RunnerSampled is measured (harness.record.runner_health), spelled here so the rule that judges
# it (harness.analysis.runner_rule) can say so without importing the recording.
# The run's first sample opens the control page three times, every later one once: the rule takes the
# median over all of a run's visits, so even a one-scenario run shrugs off one unlucky visit, while
# a long run does not pay three page loads before every scenario.
CONTROL_VISITS = 3
LATER_CONTROL_VISITS = 1
LAG_SLEEPS = 5
LAG_SLEEP_S = 0.002


@dataclass
class RunnerSampled:
    """How busy the runner was as a scenario began (record.runner_health): never a customer's observation."""

    run_id: str
    node_id: str
    attempt: int
    sampled_at: dt.datetime
    control_ms: list[float]  # each visit to the harness's own control page
    run_queue: float | None  # tasks on or waiting for a CPU besides the harness, per core, just before
    load_per_core: float | None  # 1-minute load average per core
    steal: float | None  # share of CPU time the hypervisor stole since the previous sample
    sleep_lag_ms: float | None  # how late a short sleep of the harness woke
    problem: str = ""  # why the control page could not be timed, if it could not


# What a run is doing now, for whoever watches it (`shopper run`'s progress); the store keeps none of it.
@dataclass
class ScenarioStarted:
    run_id: str
    node_id: str
    feature: str
    scenario: str
    attempt: int
    steps: int


@dataclass
class StepStarted:
    run_id: str
    node_id: str
    attempt: int
    step: str  # its text, secrets hidden


@dataclass
class StepEnded:
    run_id: str
    node_id: str
    attempt: int
    step: str
    outcome: str
    wall_ms: float  # the harness's wall time of the whole step (all its parts)
    error: str = ""  # the first line of what went wrong

    @classmethod
    def of(cls, observations: list[Observation]) -> StepEnded:
        """The end of the step these observations (its parts, in order) recorded."""
        last = observations[-1]
        wall_ms = sum(observation.wall_ms or 0.0 for observation in observations)
        error = last.error.splitlines()[0] if last.error else ""
        return cls(last.run_id, last.node_id, last.attempt, last.step, last.outcome, wall_ms, error)


@dataclass
class ScenarioEnded:
    run_id: str
    node_id: str
    attempt: int
@dataclass
class AccessibilityViolation:
    """One axe-core rule a page broke: what the report shows (every text from the page redacted)."""

    rule: str  # axe's rule id, e.g. "label"
    impact: str  # minor, moderate, serious or critical
    help: str  # axe's one-line description of the rule, e.g. "Form elements must have labels"
    help_url: str  # the rule's page at Deque University
    nodes: int  # elements of the page that break it
    targets: list[str] = field(default_factory=list)  # the first few elements' CSS selectors


@dataclass
class AccessibilityChecked:
    """axe-core run on a page visit of a touchpoint that promises accessibility, after its clock stopped.

    `seq` is the observation of the visit it checked. `error` says why axe could not run (the page
    navigated away, a script error): a harness error, never the touchpoint's failure.
    """

    run_id: str
    seq: int
    node_id: str
    segment: str
    touchpoint: str
    url: str  # the page's location, as a record shows it (no query, no secret)
    violations: list[AccessibilityViolation] = field(default_factory=list)
    error: str = ""
    checked_at: dt.datetime = field(default_factory=utc_now)  # when axe began, after the step's clock stopped


Event = (
    RunStarted
    | StepObserved
    | RunFinished
    | MessageReceived
    | PendingExpectation
    | ExpectationResolved
    | RunnerSampled
    | ScenarioStarted
    | StepStarted
    | StepEnded
    | ScenarioEnded
    | VitalsObserved
    | AccessibilityChecked
)


class Handler(Protocol):
    def handle(self, event: Event) -> None: ...
