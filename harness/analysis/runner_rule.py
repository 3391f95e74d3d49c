"""When a run counts as busy: RUNNER_RULE, and each run's runner judged by it.

The runner's samples are measured by `harness.record.runner_health` (a control page, the run queue,
the CPU stolen) and stored apart; this reads them back and says which runs were too busy to
measure a touchpoint fairly. Their slow verdicts are held back in `harness.analysis.runner_verdicts`;
the alerts and `shopper status` say the same. Free of pandas and numpy: the scheduler's status reads it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from harness.observation import CONTROL_VISITS, LAG_SLEEP_S, LATER_CONTROL_VISITS, RunnerSampled

# When a run counts as busy (RUNNER_RULE). Absolute bounds, not one relative to the window's quietest
# run: a window of busy runs (a runner loaded all day) has no quiet baseline to compare with.
# A page this small on loopback opens in some tens of milliseconds on an idle runner; 150 ms is several
# times that. (A two-core runner shared with other test jobs, 3 to 10 runnable tasks per core, read
# 50-700 ms; with two CPU burners beside it the demo's runs read 250-380 ms.)
CONTROL_BOUND_MS = 150.0
# Every core already taken by another task as a scenario begins: each of its page loads shares a CPU.
RUN_QUEUE_BOUND = 1.0
STEAL_BOUND = 0.10  # share of the CPU time the hypervisor gave to other machines
LOAD_BOUND = 1.0  # 1-minute load average per core: shown as a warning only, it lags by a minute

RUNNER_RULE = (
    "before each scenario the harness opens a control page it serves itself on loopback, in the same"
    f" browser ({CONTROL_VISITS} times before the run's first scenario, {LATER_CONTROL_VISITS} before each"
    " later one), timed like a touchpoint's page, and counts the tasks on or waiting"
    " for a CPU besides its own; a run counts as busy when the median of its control visits is above"
    f" {CONTROL_BOUND_MS:.0f} ms, or when at least {RUN_QUEUE_BOUND:g} other task per core was runnable"
    f" (median over its scenarios), or when the hypervisor stole more than {STEAL_BOUND:.0%} of the CPU"
    " time; the visits of busy runs do not count towards slow: a touchpoint whose p95 is over its"
    " `within` is judged again on the visits of the runs measured fairly, and if it meets its target"
    " there (or no run measured it fairly) it is held back as runner busy, an action for the harness's"
    " operator, never charged to its owner; failures (errors, visits beyond fail_after) are never held"
    f" back. The 1-minute load average per core (a warning above {LOAD_BOUND:g}) and how late a"
    f" {LAG_SLEEP_S * 1000:g} ms sleep of the harness wakes are shown beside them"
)

OPERATOR = "Harness operator"
OPERATOR_ACTION = "Give the runner more CPU, or run fewer jobs at once beside the harness"


@dataclass
class RunnerHealth:
    """One run's runner, summed up from its samples, and whether RUNNER_RULE finds it busy."""

    run_id: str
    samples: int
    control_ms: float | None  # median over the run's control visits
    run_queue: float | None  # median over its samples
    load_per_core: float | None  # highest sampled
    steal: float | None  # highest sampled
    sleep_lag_ms: float | None  # median
    busy: bool = False
    reason: str = ""
    bound_ms: float = CONTROL_BOUND_MS

    @property
    def load_warning(self) -> bool:
        return self.load_per_core is not None and self.load_per_core > LOAD_BOUND


def _median(values: list[float | None], digits: int) -> float | None:
    known = [value for value in values if value is not None]
    return round(statistics.median(known), digits) if known else None


def _highest(values: list[float | None], digits: int) -> float | None:
    known = [value for value in values if value is not None]
    return round(max(known), digits) if known else None


def judge_runner(run_id: str, samples: list[RunnerSampled]) -> RunnerHealth:
    """A run's runner by RUNNER_RULE, from the samples its scenarios took."""
    health = RunnerHealth(
        run_id=run_id,
        samples=len(samples),
        control_ms=_median([ms for sample in samples for ms in sample.control_ms], 1),
        run_queue=_median([sample.run_queue for sample in samples], 2),
        load_per_core=_highest([sample.load_per_core for sample in samples], 2),
        steal=_highest([sample.steal for sample in samples], 3),
        sleep_lag_ms=_median([sample.sleep_lag_ms for sample in samples], 2),
    )
    reasons = []
    if health.control_ms is not None and health.control_ms > CONTROL_BOUND_MS:
        reasons.append(f"control page median {health.control_ms:.0f} ms, above {CONTROL_BOUND_MS:.0f} ms")
    if health.run_queue is not None and health.run_queue >= RUN_QUEUE_BOUND:
        reasons.append(f"{health.run_queue:g} other runnable task(s) per core")
    if health.steal is not None and health.steal > STEAL_BOUND:
        reasons.append(f"{health.steal:.0%} of the CPU time stolen by the hypervisor")
    health.busy, health.reason = bool(reasons), "; ".join(reasons)
    return health


def runner_health(samples: list[RunnerSampled], run_ids: list[str]) -> list[RunnerHealth]:
    """Per run of the window (in its order), its runner's figures and RUNNER_RULE's verdict.

    A run with no sample (recorded by an older harness, or with no browser step) is left out and
    never busy: nothing says its runner was.
    """
    by_run: dict[str, list[RunnerSampled]] = {}
    for sample in samples:
        by_run.setdefault(sample.run_id, []).append(sample)
    return [judge_runner(run_id, by_run[run_id]) for run_id in run_ids if run_id in by_run]


def busy_runs(health: list[RunnerHealth]) -> frozenset[str]:
    return frozenset(h.run_id for h in health if h.busy)
