"""The report's plain words: the one-sentence verdict and the card figures a CS manager reads first.

The statistics (p95, success rate of scenario runs, fail_after) stay in the page, but as the
tooltip or the glossary behind these sentences: a reader who never heard of a percentile should
still learn from the first line which touchpoint breaks which promise, and who owns it.
"""

from __future__ import annotations

from collections import Counter

from harness.analysis.gaps import GapAnalysis
from harness.analysis.verdicts import Verdict
from harness.map.journey_map import format_duration

# The statuses that are a promise broken by the touchpoint's owner (not the harness, not the runner).
GAP_STATUSES = ("failing", "flaky", "slow")


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def promised(verdict: Verdict) -> str:
    """What the map promises at a touchpoint nobody measured yet, in one line."""
    expected = verdict.expected
    promises = [f"{expected.success_rate:.0%} get through"]
    if expected.within_ms is not None:
        promises.insert(0, f"an answer within {format_duration(expected.within_ms)}")
    return "Not measured yet; the map promises " + " and ".join(promises)


def waited(verdict: Verdict) -> str:
    """How long customers waited, in words: "95 of 100 customers waited at most 2.6s; ..."."""
    observed, within = verdict.observed, verdict.expected.within_ms
    if not observed.n:
        return "Not measured yet" + (f"; the map promises {format_duration(within)}" if within else "")
    if observed.success_rate == 0:
        took = format_duration(observed.p95_ms)
        return f"No customer got through; the failed visits took up to {took}"
    promise = f"; the map promises {format_duration(within)}" if within is not None else ""
    return f"95 of 100 customers waited at most {format_duration(observed.p95_ms)}{promise}"


def got_through(verdict: Verdict) -> str:
    """How many customer journeys got through the touchpoint, against the promised share."""
    observed = verdict.observed
    promise = f"{verdict.expected.success_rate:.0%}"
    if observed.success_rate is None or not observed.journeys:
        return f"Not measured yet; the map promises {promise} get through"
    passed = round(observed.success_rate * observed.journeys)
    sentence = f"{passed} of {plural(observed.journeys, 'customer')} got through; the map promises {promise}"
    if observed.flaky:
        sentence += f" ({observed.flaky} only on a retry)"
    return sentence


def slowest(verdict: Verdict) -> str:
    observed, limit = verdict.observed, verdict.expected.fail_after_ms
    gives_up = f"; over {format_duration(limit)} counts as a failure" if limit is not None else ""
    if not observed.n:
        return f"No visit yet{gives_up}"
    return f"The slowest visit took {format_duration(observed.max_ms)}{gives_up}"


def _worst_words(verdict: Verdict) -> str:
    """What the worst gap did to the customer, in the words of its status."""
    observed, expected = verdict.observed, verdict.expected
    if _broke_success(verdict):
        return got_through(verdict)
    if verdict.status == "failing" and observed.beyond_fail_after:
        limit = format_duration(expected.fail_after_ms)
        return (
            f"{observed.beyond_fail_after} of {plural(observed.n, 'visit')} took longer than {limit}"
            f" (the longest {format_duration(observed.max_ms)})"
        )
    if verdict.status == "flaky":
        return f"{plural(observed.flaky, 'customer')} failed on the first try and got through only on a retry"
    slow_in_time = observed.p95_ms is not None and (expected.within_ms or 0) < observed.p95_ms
    if verdict.status == "slow" and slow_in_time:
        return waited(verdict)
    # Broken for a reason the figures above do not show (an accessibility rule, a web vital):
    # the analysis's own sentence says which.
    return verdict.gap or waited(verdict)


def _gap_part(analysis: GapAnalysis, gaps: list[Verdict]) -> str:
    order = {(a.touchpoint_id, a.segment): a.priority for a in analysis.actions}
    gaps = sorted(gaps, key=lambda v: order.get((v.touchpoint_id, v.segment), len(order) + 1))
    owner_of = {v.touchpoint_id: v.owner for v in gaps}
    owners = Counter(owner_of.values())
    count = len(owner_of)
    head = f"{plural(count, 'touchpoint')} {'breaks' if count == 1 else 'break'} the map's promises"
    top, owned = owners.most_common(1)[0]
    tied = [owner for owner, number in owners.items() if number == owned]  # in order of urgency
    if len(owners) == 1:
        owning = f"{top} owns {'it' if count == 1 else 'all ' + str(count)}"
    elif len(tied) > 1:
        owning = f"{', '.join(tied[:-1])} and {tied[-1]} own {owned} each"
    else:
        owning = f"{top} owns {owned}"
    worst = gaps[0]
    alike = [v for v in gaps if v.touchpoint_id == worst.touchpoint_id and v.status == worst.status]
    if all(_broke_success(v) for v in alike):
        # The same story in several segments: one count of all their customers.
        journeys = sum(v.observed.journeys for v in alike)
        passed = sum(round((v.observed.success_rate or 0.0) * v.observed.journeys) for v in alike)
        promise = f"{worst.expected.success_rate:.0%}"
        words = f"{passed} of {plural(journeys, 'customer')} got through; the map promises {promise}"
    else:
        words = _worst_words(worst)
    every = len(analysis.segments) == 1 or len(alike) == len(analysis.segments)
    who = "" if every else f" ({' and '.join(v.segment for v in alike)} customers)"
    return f"{head}; {owning}; the worst is {worst.name}{who}: {words}"


def _broke_success(verdict: Verdict) -> bool:
    rate = verdict.observed.success_rate
    return verdict.status == "failing" and rate is not None and rate < verdict.expected.success_rate


def _mail_part(analysis: GapAnalysis) -> list[str]:
    """Stages whose mail goes past the map's limits: a broken promise too, though of no one touchpoint."""
    owners = {a.stage_id: a.owner for a in analysis.actions if a.status == "too much mail"}
    if not owners:
        return []
    count, teams = len(owners), sorted(set(owners.values()))
    sends = "sends" if count == 1 else "send"
    return [f"{plural(count, 'stage')} {sends} the customer too much mail ({' and '.join(teams)})"]


def verdict_sentence(analysis: GapAnalysis) -> str:
    """The report in one sentence: how many touchpoints break promises, who owns them, the worst one."""
    verdicts = analysis.verdicts
    gaps = [v for v in verdicts if v.status in GAP_STATUSES]
    held = [v for v in verdicts if v.status == "runner-busy"]
    to_fix = [v for v in verdicts if v.harness_error and v.status == "untested"]
    tested = [v for v in verdicts if v.observed.n]
    parts: list[str] = []
    if gaps:
        parts.append(_gap_part(analysis, gaps))
    elif tested or held:
        # Distinct touchpoints, not touchpoint × segment pairs: the header counts those per segment.
        untested = len({v.touchpoint_id for v in verdicts if v.status == "untested"})
        kept = "every touchpoint measured fairly keeps" if held else "every touchpoint tested keeps"
        still = f" ({plural(untested, 'touchpoint')} still to test)" if untested else ""
        parts.append(f"{kept} the map's promises{still}")
    else:
        parts.append("no customer journey in the window reached a touchpoint of the map: nothing to judge")
    parts += _mail_part(analysis)
    if held:
        parts.append(f"{plural(len(held), 'result')} held back: the runner was too busy to measure fairly")
    if to_fix:
        parts.append(
            f"{plural(len(to_fix), 'touchpoint')} not measured, the harness could not run a step there"
            " (a scenario to fix)"
        )
    if analysis.off_map:
        parts.append(f"{plural(len(analysis.off_map), 'touchpoint')} met that the map does not know")
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."
