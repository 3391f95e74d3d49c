"""Slow verdicts of a busy runner, held back (RUNNER_RULE in harness.analysis.runner_rule).

A busy runner adds its own time to every page a touchpoint serves, and from one visit nobody can
tell how much. So the visits of busy runs do not count towards *slow*: a slow touchpoint is judged
again on the visits of the runs measured fairly. Slow there too, the gap is the touchpoint's; met
there (or no fair visit at all), the verdict is held back as runner-busy: an action for the
harness's operator, no owner's gap. Only *slow* is held back: a failure (an error, a visit beyond
fail_after) stays a failure, whatever the runner.
"""

from __future__ import annotations

import numpy as np

from harness.analysis.visits import Figures, FloatArray, IntArray, Visits, figures


def fair_figures(
    visits: Visits,
    group: IntArray,
    groups: int,
    within: FloatArray,
    fail_after: FloatArray,
    busy: frozenset[str],
) -> Figures | None:
    """The figures of the visits from runs measured fairly; None when no visit came from a busy run."""
    if not busy:
        return None
    from_busy = np.array([run_id in busy for run_id in visits.run_ids] + [False], dtype=bool)[visits.run]
    if not from_busy.any():
        return None
    return figures(visits.select(~from_busy), group[~from_busy], groups, within, fail_after)


def hold_back(slow: tuple[str, str, float], fair_status: str, fair_runs: int) -> tuple[str, str, float]:
    """The verdict of a slow touchpoint with busy visits: (status, gap, size) once judged fairly."""
    status, gap, size = slow
    if fair_status == "slow":
        return status, f"{gap}; slow in the runs measured fairly too", size
    fair = f"the {fair_runs} run(s) measured fairly met it" if fair_runs else "no run measured it fairly"
    return "runner-busy", f"{gap} on a runner too busy to measure fairly; {fair}: held back", 0.0
