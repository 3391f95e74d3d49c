"""The action plan: gaps ranked by a stated rule into things to fix, each with an owner team."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.analysis.runner_rule import OPERATOR, OPERATOR_ACTION
from harness.analysis.verdicts import Verdict
from harness.map.journey_map import format_duration

SEVERITY = {"failing": 3.0, "flaky": 2.0, "slow": 1.0, "untested": 0.5}

PRIORITY_RULE = (
    "score = severity (failing 3, flaky 2, slow 1, untested 0.5) × 2 if a moment of truth"
    " × (1 + relative size of the gap) × number of runs affected; a stage sending too much mail"
    " scores 1 × (1 + overshoot of its limit) × customers affected; a runner too busy to measure"
    " fairly scores 1 × the verdicts it held back, for the harness's operator; highest score first"
)


@dataclass
class Action:
    priority: int
    score: float
    owner: str
    touchpoint_id: str
    touchpoint_name: str
    stage_id: str
    segment: str
    status: str
    moment_of_truth: bool
    what_to_fix: str
    evidence: str = ""


COVERAGE_TEAM = "Coverage: scenarios to write or fix"


def by_team(actions: list[Action]) -> list[tuple[str, list[Action]]]:
    """Actions by owner team, a team placed by its most urgent action.

    An untested touchpoint is not its owner's failure: a scenario has to be written (or fixed) first,
    so those go to one coverage group of their own, whoever owns the touchpoint.
    """
    groups: dict[str, list[Action]] = {}
    for action in sorted(actions, key=lambda a: a.priority):
        groups.setdefault(COVERAGE_TEAM if action.status == "untested" else action.owner, []).append(action)
    return list(groups.items())


def _what_to_fix(verdict: Verdict) -> str:
    who = f"{verdict.segment} customers"
    if verdict.status == "failing":
        cause = f": {verdict.error.splitlines()[0]}" if verdict.error else ""
        return f"Make {verdict.name} work for {who}{cause}"
    if verdict.status == "flaky":
        return f"Find the intermittent fault in {verdict.name}: it fails on the first try, then passes"
    if verdict.status == "slow":
        within, p95 = verdict.expected.within_ms, verdict.observed.p95_ms
        if within is None or p95 is None or p95 <= within:  # slow on its page's web vitals alone
            return f"Speed up the page of {verdict.name} for {who}: {verdict.gap}"
        target = format_duration(within)
        return (
            f"Bring {verdict.name} p95 from {format_duration(verdict.observed.p95_ms)} to {target} for {who}"
        )
    if verdict.harness_error:
        return f"Fix the scenario for {verdict.name} ({who}): {verdict.harness_error.splitlines()[0]}"
    if verdict.blocked_by and verdict.blocked_by_harness:
        return (
            f"Fix the scenario at {verdict.blocked_by} so it reaches {verdict.name} ({who}): the harness"
            " could not run a step there"
        )
    if verdict.blocked_by:
        return (
            f"Unblock {verdict.name} ({who}): its scenarios stop at {verdict.blocked_by} failing first;"
            " fixing that lets them reach it"
        )
    if not verdict.segment_played:
        return f"Run the scenarios as {verdict.segment} customers: no run in the window played that segment"
    if verdict.channel == "phone":
        return f"Measure {verdict.name} by hand (a mystery call) or drop the promise from the map"
    return f"Write a scenario that exercises {verdict.name} ({verdict.channel}) for {who}"


def rank(verdicts: list[Verdict], extra: Sequence[tuple[float, Action]] = ()) -> list[Action]:
    """Actions for the gaps of `verdicts` and the already scored `extra` ones, numbered by score."""
    scored: list[tuple[float, Verdict]] = []
    for verdict in verdicts:
        if verdict.status not in SEVERITY:
            continue
        score = SEVERITY[verdict.status] * (2.0 if verdict.moment_of_truth else 1.0)
        score *= 1.0 + max(0.0, min(verdict.gap_size, 10.0))
        score *= max(1, verdict.observed.runs_affected)
        scored.append((score, verdict))
    actions = [
        (
            score,
            Action(
                priority=0,
                score=round(score, 2),
                owner=v.owner,
                touchpoint_id=v.touchpoint_id,
                touchpoint_name=v.name,
                stage_id=v.stage_id,
                segment=v.segment,
                status=v.status,
                moment_of_truth=v.moment_of_truth,
                what_to_fix=_what_to_fix(v),
                evidence=v.evidence,
            ),
        )
        for score, v in scored
    ]
    actions += list(extra)
    actions.sort(key=lambda pair: (-pair[0], pair[1].stage_id, pair[1].touchpoint_id, pair[1].segment))
    for number, (_, action) in enumerate(actions, start=1):
        action.priority = number
    return [action for _, action in actions]


def operator_actions(verdicts: list[Verdict]) -> list[tuple[float, Action]]:
    """Verdicts held back as runner-busy: one action for whoever runs the harness, none for an owner."""
    held = [verdict for verdict in verdicts if verdict.status == "runner-busy"]
    if not held:
        return []
    names = ", ".join(f"{verdict.name} ({verdict.segment})" for verdict in held)
    action = Action(
        priority=0,
        score=float(len(held)),
        owner=OPERATOR,
        touchpoint_id="",
        touchpoint_name="the runner",
        stage_id="",
        segment="",
        status="runner-busy",
        moment_of_truth=False,
        what_to_fix=f"{OPERATOR_ACTION}; held back, as it was too busy to measure them fairly: {names}",
    )
    return [(action.score, action)]
