"""The JSON report keeps its published contract: docs/report.schema.json.

The demo's report (the session's one walk of `shopper demo`) and a report from a store written
through the store's API, made to hold every gap status, are validated against the schema; a
report with a status the schema does not know is refused, so the schema is not vacuous; and the
schema's enumerations are the code's own, so the two cannot drift apart.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.analysis.movements import STATUS_RANK
from harness.analysis.verdicts import STATUSES
from harness.cli import main
from harness.map.journey_map import CHANNELS
from harness.observation import (
    Event,
    MessageReceived,
    Observation,
    Run,
    RunFinished,
    RunnerSampled,
    RunStarted,
    StepObserved,
)
from harness.record.recorder import map_digest
from harness.report.gap_report import SCHEMA_VERSION
from harness.store.sqlite import open_store

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def errors_of(document: dict[str, Any]) -> list[str]:
    return [f"{list(error.absolute_path)}: {error.message}" for error in VALIDATOR.iter_errors(document)]


def verdicts_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    on_map = [
        verdict
        for stage in document["stages"]
        for touchpoint in stage["touchpoints"]
        for verdict in touchpoint["segments"].values()
    ]
    return [*on_map, *document["off_map"]]


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_enumerates_what_the_code_defines() -> None:
    defs = SCHEMA["$defs"]
    assert defs["gap_status"]["enum"] == list(STATUSES)
    counts = SCHEMA["properties"]["summary"]["properties"]["status_counts"]
    assert counts["required"] == list(STATUSES)
    assert list(counts["properties"]) == list(STATUSES)
    assert defs["channel"]["enum"] == list(CHANNELS)
    assert set(defs["moved_status"]["enum"]) == set(STATUS_RANK)
    assert set(defs["first_value"]["properties"]["status"]["enum"]) <= set(STATUSES)
    assert SCHEMA["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_the_demo_report_follows_the_schema(demo: tuple[Path, dict[str, Any]]) -> None:
    _, document = demo
    assert document["schema_version"] == SCHEMA_VERSION
    assert errors_of(document) == []
    # `format: date-time` is an annotation only (no format checker installed): the times parse here.
    moments = [document["generated_at"], *(run["started_at"] for run in document["runs"])]
    assert all(dt.datetime.fromisoformat(moment).tzinfo is not None for moment in moments)


def test_a_status_the_schema_does_not_know_is_refused(demo: tuple[Path, dict[str, Any]]) -> None:
    _, document = demo
    broken = copy.deepcopy(document)
    verdicts_of(broken)[0]["status"] = "exploded"
    assert any("'exploded' is not one of" in error for error in errors_of(broken))


def test_a_field_the_schema_does_not_describe_is_refused(demo: tuple[Path, dict[str, Any]]) -> None:
    _, document = demo
    grown = copy.deepcopy(document)
    grown["stages"][0]["touchpoints"][0]["segments"] = {
        segment: {**verdict, "mood": "sunny"}
        for segment, verdict in grown["stages"][0]["touchpoints"][0]["segments"].items()
    }
    assert any("'mood' was unexpected" in error for error in errors_of(grown))
    assert errors_of({**document, "extra": 1}) != []


# Every gap status, each from a touchpoint of its own. Times are chosen, not measured: the
# store is written through its API (as tests/test_trend.py and bench/bench_report.py do).
MAP = """\
journey: Schema check
version: {version}
segments: [self-serve]
first_value_within: 5s
stages:
  - id: find
    name: Find
    customer_goal: See what it costs
    max_messages: 1
    touchpoints:
      - {{id: met-page, name: Met page, channel: web, owner: Web, url: /met, moment_of_truth: true,
         milestone: first-value, expect: {{within: 1s, fail_after: 10s, emotion: 1}}}}
      - {{id: slow-page, name: Slow page, channel: web, owner: Web, url: /slow,
         expect: {{within: {slow_within}, fail_after: 10s}}}}
      - {{id: busy-page, name: Busy page, channel: web, owner: Web, url: /busy, expect: {{within: 1s}}}}
      - {{id: failing-page, name: Failing page, channel: form, owner: Sales, url: /fail}}
      - {{id: blocked-page, name: Blocked page, channel: web, owner: Sales, url: /after}}
      - {{id: flaky-page, name: Flaky page, channel: web, owner: Web, url: /flaky}}
      - {{id: welcome-email, name: Welcome email, channel: email, owner: Product, subject: Welcome,
         expect: {{within: 1h, fail_after: 4h}}}}
      - {{id: error-page, name: Error page, channel: web, owner: Web, url: /error}}
      - {{id: phone-line, name: Phone line, channel: phone, owner: Support}}
"""
START = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)


def _steps(run: int, busy: bool) -> list[tuple[str, str, str, float, str, int]]:
    """(scenario, touchpoint, outcome, duration, error, attempt) for run `run` (0, 1: the previous window)."""
    window = run >= 2
    steps = [
        ("met", "met-page", "passed", 100.0, "", 1),
        ("slow", "slow-page", "passed", 2500.0 if window else 100.0, "", 1),
        ("busy", "busy-page", "passed", 3000.0 if busy else 100.0, "", 1),
        ("fail", "failing-page", "failed", 200.0, "500 Internal Server Error", 1),
        ("fail", "blocked-page", "skipped", 0.0, "", 1),
        ("flaky", "flaky-page", "failed", 150.0, "timed out", 1),
        ("flaky", "flaky-page", "passed", 150.0, "", 2),
        ("error", "error-page", "error", 50.0, "no field labelled Email on the page", 1),
        ("ghost", "ghost-page", "passed", 80.0, "", 1),
    ]
    if window:
        steps.append(("mail", "welcome-email", "pending", 0.0, "", 1))
    return steps


def _run_events(number: int, map_text: str, map_path: Path) -> list[Event]:
    started = START + dt.timedelta(minutes=10 * number)
    busy = number == 3
    run = Run(
        run_id=f"run-{number}",
        started_at=started,
        segment="self-serve",
        target="http://127.0.0.1:9",
        journey="Schema check",
        map_version="v1",
        map_path=str(map_path),
        map_digest=map_digest(map_text),
    )
    events: list[Event] = [RunStarted(run, map_text=map_text)]
    for seq, (scenario, touchpoint, outcome, duration, error, attempt) in enumerate(_steps(number, busy)):
        node = f"find.feature::{scenario}"
        moment = started + dt.timedelta(seconds=seq)
        if attempt == 1 and touchpoint != "blocked-page":
            control = [400.0, 420.0, 410.0] if busy else [20.0, 22.0, 21.0]
            events.append(RunnerSampled(run.run_id, node, 1, moment, control, 0.0, 0.1, 0.0, 1.0))
        observation = Observation(
            run_id=run.run_id,
            feature="find.feature",
            scenario=scenario,
            node_id=node,
            segment="self-serve",
            stage="find",
            touchpoint=touchpoint,
            step=f"Given I visit the {touchpoint}",
            started_at=moment,
            duration_ms=duration,
            outcome=outcome,
            attempt=attempt,
            seq=seq,
            error=error,
            timed=True,
            wall_ms=duration,
        )
        events.append(StepObserved(observation))
    for sender in ("hello@acme.test", "news@mailer.test"):  # two mails where the map allows one
        events.append(
            MessageReceived(
                run.run_id,
                "find.feature::met",
                "self-serve",
                "find",
                f"c{number}@shop.test",
                f"{sender}-{number}",
                started,
                sender,
                sender.split("@")[1],
                "Welcome to Acme",
            )
        )
    events.append(RunFinished(run.run_id, "finished", finished_at=started + dt.timedelta(seconds=30)))
    return events


@pytest.fixture(scope="module")
def every_status(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("schema")
    recorded = MAP.format(version="v1", slow_within="1s")
    judged = root / "map-v2.yaml"
    judged.write_text(MAP.format(version="v2", slow_within="2s"), encoding="utf-8")
    store = open_store(root / "obs.db")
    try:
        for number in range(4):
            for event in _run_events(number, recorded, root / "map-v1.yaml"):
                store.handle(event)
    finally:
        store.close()
    out = root / "out"
    status = main(
        ["report", "--store", str(root / "obs.db"), "--map", str(judged), "--out", str(out), "--last", "2"]
    )
    assert status == 1  # gaps found
    document: dict[str, Any] = json.loads((out / "gap-report.json").read_text(encoding="utf-8"))
    return document


def test_a_report_with_every_status_follows_the_schema(every_status: dict[str, Any]) -> None:
    document = every_status
    assert {verdict["status"] for verdict in verdicts_of(document)} == set(STATUSES)
    # Each part the schema describes is there to be checked, not an empty list that passes anything.
    assert {action["status"] for action in document["actions"]} >= {
        "failing",
        "flaky",
        "slow",
        "untested",
        "runner-busy",
        "too much mail",
    }
    assert [run["busy"] for run in document["runner"]] == [False, True]
    assert [(m["touchpoint_id"], m["direction"]) for m in document["movements"]] == [("slow-page", "worse")]
    assert document["map"]["changed_expectations"] and document["map"]["recorded_version"] == "v1"
    assert document["first_value"] and document["inbox"][0]["findings"] and document["emotions"]
    blocked = next(v for v in verdicts_of(document) if v["blocked_by"])
    assert blocked["blocked_by"] == "Failing page"
    assert any(verdict["harness_error"] for verdict in verdicts_of(document))
    assert errors_of(document) == []


def test_the_schema_covers_every_field_of_the_verdicts() -> None:
    """The dataclasses whose fields the report writes as they are: a new field needs the schema."""
    from harness.analysis.actions import Action
    from harness.analysis.emotion import StageEmotion
    from harness.analysis.first_value import FirstValue
    from harness.analysis.inbox_audit import MessageKind, StageInbox
    from harness.analysis.movements import Movement
    from harness.analysis.runner_rule import RunnerHealth
    from harness.analysis.verdicts import TrendPoint
    from harness.map.diff import MapChange

    defs = SCHEMA["$defs"]
    written = {
        "action": Action,
        "first_value": FirstValue,
        "trend_point": TrendPoint,
        "message_kind": MessageKind,
        "stage_inbox": StageInbox,
        "movement": Movement,
        "runner_health": RunnerHealth,
    }
    for name, model in written.items():
        assert list(defs[name]["properties"]) == [field.name for field in dataclasses.fields(model)], name
    emotion_fields = [field.name for field in dataclasses.fields(StageEmotion)]
    assert list(defs["stage_emotion"]["properties"]) == [*emotion_fields, "partly_measured"]
    change_fields = [field.name for field in dataclasses.fields(MapChange)]
    assert list(defs["map_change"]["properties"]) == [*change_fields, "sentence"]
