"""A step's measures reach the recorder as one value it takes when the step ends, never left behind.

The steps record what they timed through the scenario context's methods; the recorder takes
them (Shopper.take_measures) and hands the trigger back (Shopper.sent): no field of the shopper
is set from outside it.
"""

from __future__ import annotations

import time
from pathlib import Path

from test_attribution import MAP

from harness.map.loading import load_map_text
from harness.observation import Event, Observation, StepObserved
from harness.record.context import Customer, Shopper
from harness.record.recorder import Recorder, ScenarioRecord


class Kept:
    def __init__(self) -> None:
        self.observations: list[Observation] = []

    def handle(self, event: Event) -> None:
        if isinstance(event, StepObserved):
            self.observations.append(event.observation)


def _scenario(tmp_path: Path) -> tuple[Recorder, ScenarioRecord, Kept]:
    journey_map = load_map_text(MAP, tmp_path / "map.yaml")
    kept = Kept()
    recorder = Recorder(
        run_id="r1", journey_map=journey_map, segment="self-serve", target="", handlers=[kept]
    )
    shopper = Shopper(journey_map, "self-serve", Customer("A", "a@example.test", "pw"))
    record = ScenarioRecord("f.feature", "s", "f::s", "signup", 1, [(3, "When I log in")], shopper)
    return recorder, record, kept


def test_each_timed_part_is_charged_where_it_happened_and_the_next_step_starts_with_none(
    tmp_path: Path,
) -> None:
    recorder, record, kept = _scenario(tmp_path)
    shopper, journey_map = record.shopper, record.shopper.journey_map
    shopper.at(journey_map.touchpoint("login-page"))
    recorder.step_started(record)
    assert record.step_clock is not None
    started = record.step_clock
    time.sleep(0.03)  # both parts were answered before the step ends
    replied = (shopper.touchpoint, shopper.off_map)
    shopper.at(journey_map.touchpoint("welcome-page"))
    shopper.timed_part(120.0, started, started + 0.01, where=replied)
    shopper.timed_part(340.0, started + 0.02, started + 0.015)
    recorder.step_ended(record, line=3, text="When I log in", outcome="passed")
    assert [(o.touchpoint, o.duration_ms) for o in kept.observations] == [
        ("login-page", 120.0),
        ("welcome-page", 340.0),
    ]
    # The form's reply (the first part's answer) started the clock of any email it caused.
    assert shopper.trigger_clock == started + 0.01

    recorder.step_started(record)
    shopper.answered_in(55.5)
    trigger = shopper.trigger_clock
    recorder.step_ended(record, line=4, text="Then I read the email", outcome="passed", triggers=False)
    assert [(o.touchpoint, o.duration_ms) for o in kept.observations[2:]] == [("welcome-page", 55.5)]
    assert shopper.trigger_clock == trigger  # reading an email is never a trigger
    assert shopper.take_measures().parts == [] and shopper.take_measures().answered_ms is None


def test_a_step_without_measures_is_its_wall_time(tmp_path: Path) -> None:
    recorder, record, kept = _scenario(tmp_path)
    record.shopper.at(record.shopper.journey_map.touchpoint("home-page"))
    recorder.step_started(record)
    record.shopper.answered_in(1.0)
    recorder.step_ended(record, line=3, text="When I log in", outcome="passed")
    recorder.step_started(record)
    time.sleep(0.02)  # a lower bound the wall time cannot beat
    recorder.step_ended(record, line=3, text="When I log in", outcome="passed")
    assert kept.observations[0].duration_ms == 1.0
    assert kept.observations[1].duration_ms >= 20.0  # the first step's measure was not carried over
