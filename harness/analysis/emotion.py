"""The emotion curve: the map's expected emotion per stage against the one its visits gave."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.analysis.visits import FloatArray, IntArray, Visits
from harness.map.journey_map import JourneyMap, Stage

EMOTION_RULE = (
    "each visit the customer made scores +2 when answered within half the `within` target, +1 within it,"
    " 0 up to twice the target, -1 beyond that, -2 when its page broke (it failed to load, answered an"
    " HTTP error, or took longer than fail_after); a page that loaded but lacked a text the customer"
    " looked for (a content check that failed) scores -1, milder than a broken page;"
    " a visit to a touchpoint without a `within` target scores +1 when it succeeded;"
    " a stage's experienced emotion is the mean over its visits, marked partly measured when only"
    " some of its touchpoints were visited"
)
CONTENT_MISS_SCORE = -1.0  # the site answered; its words let the customer down, not the page


@dataclass
class StageEmotion:
    """The map's expected emotion for a stage against the one its visits gave (EMOTION_RULE)."""

    stage_id: str
    stage_name: str
    segment: str
    expected: float | None  # mean of the stage's touchpoint emotions in the map; None if the map has none
    experienced: float | None  # None when no visit in the window
    visits: int
    measured: int = 0  # the stage's touchpoints with a visit in the window
    touchpoints: int = 0  # the stage's touchpoints in the map

    @property
    def partly_measured(self) -> bool:
        """Scored from some of the stage's touchpoints only: the others were not visited."""
        return self.experienced is not None and self.measured < self.touchpoints


def visit_emotions(visits: Visits, group: IntArray, within: FloatArray, fail_after: FloatArray) -> FloatArray:
    """Each visit's score by EMOTION_RULE."""
    target, limit, duration = within[group], fail_after[group], visits.duration_ms
    content = visits.content_miss
    with np.errstate(invalid="ignore"):
        broken = (visits.failed & ~content) | (duration > limit)
        timed = np.select(
            [duration <= target / 2, duration <= target, duration <= target * 2], [2.0, 1.0, 0.0], -1.0
        )
    scored = np.where(content, CONTENT_MISS_SCORE, np.where(np.isnan(target), 1.0, timed))
    return np.where(broken, -2.0, scored)


def _stage_of_visits(journey_map: JourneyMap, visits: Visits) -> IntArray:
    """The map stage index of each visit: a map touchpoint's own stage, else the scenario's (-1: none)."""
    index = {stage.id: number for number, stage in enumerate(journey_map.stages)}
    by_stage = np.array([index.get(stage_id, -1) for stage_id in visits.stages] + [-1], dtype=np.int64)
    by_touchpoint = np.array(
        [
            index[touchpoint.stage_id] if (touchpoint := journey_map.touchpoint(tp)) else -1
            for tp in visits.touchpoints
        ]
        + [-1],
        dtype=np.int64,
    )
    own = by_touchpoint[visits.touchpoint]
    return np.where(own >= 0, own, by_stage[visits.stage])


def _expected_emotion(stage: Stage, segment: str) -> float | None:
    emotions = [e for tp in stage.touchpoints if (e := tp.expectation(segment).emotion) is not None]
    return sum(emotions) / len(emotions) if emotions else None


def _emotions(
    journey_map: JourneyMap, segments: list[str], visits: Visits, stage_of: IntArray, scores: FloatArray
) -> list[StageEmotion]:
    width = max(len(visits.segments), 1)
    cells = max(len(journey_map.stages), 1) * width
    known = stage_of >= 0
    key = stage_of[known] * width + visits.segment[known]
    count = np.bincount(key, minlength=cells)
    total = np.bincount(key, weights=scores[known], minlength=cells)
    code = {segment: number for number, segment in enumerate(visits.segments)}
    measured = _measured(journey_map, visits)
    emotions = []
    for segment in segments:
        for number, stage in enumerate(journey_map.stages):
            cell = number * width + code[segment] if segment in code else -1
            visits_here = int(count[cell]) if cell >= 0 else 0
            emotions.append(
                StageEmotion(
                    stage_id=stage.id,
                    stage_name=stage.name,
                    segment=segment,
                    expected=_expected_emotion(stage, segment),
                    experienced=round(float(total[cell]) / visits_here, 2) if visits_here else None,
                    visits=visits_here,
                    measured=len(measured.get((stage.id, segment), ())),
                    touchpoints=len(stage.touchpoints),
                )
            )
    return emotions


def _measured(journey_map: JourneyMap, visits: Visits) -> dict[tuple[str, str], set[str]]:
    """Per (stage, segment), the stage's own touchpoints that were visited (off-map pages are not one)."""
    found: dict[tuple[str, str], set[str]] = {}
    # One integer key per (touchpoint, segment): a 1-D unique, where one over pairs (axis=1) sorts rows
    # as records and costs most of a second at a million visits.
    # (A visit with no segment has code -1, hence the offset.)
    width = len(visits.segments) + 1
    keys = np.unique(visits.touchpoint.astype(np.int64) * width + visits.segment + 1)
    pairs = zip((keys // width).tolist(), (keys % width - 1).tolist(), strict=True)
    for touchpoint_code, segment_code in pairs:
        if segment_code < 0:
            continue
        touchpoint = journey_map.touchpoint(visits.touchpoints[int(touchpoint_code)])
        if touchpoint is not None:
            found.setdefault((touchpoint.stage_id, visits.segments[int(segment_code)]), set()).add(
                touchpoint.id
            )
    return found


def emotions_of(
    journey_map: JourneyMap,
    segments: list[str],
    visits: Visits,
    group: IntArray,
    within: FloatArray,
    fail_after: FloatArray,
) -> list[StageEmotion]:
    """Expected against experienced emotion for every stage and segment of the map."""
    scores = visit_emotions(visits, group, within, fail_after)
    return _emotions(journey_map, segments, visits, _stage_of_visits(journey_map, visits), scores)
