"""Map refresh: what changed between two versions of a journey map, and the map stored runs were judged by."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from harness.cli import main
from harness.map.diff import MapChange, diff_maps, expectation_changes, recorded_map
from harness.map.journey_map import JourneyMap
from harness.map.loading import load_map_text
from harness.observation import Run, RunStarted
from harness.record.recorder import map_digest
from harness.store.sqlite import open_store

OLD = """\
journey: Acme trial
version: v1
segments: [self-serve, enterprise]
stages:
  - id: discover
    name: Discover
    touchpoints:
      - id: pricing-page
        name: Pricing page
        channel: web
        owner: Marketing
        expect: {within: 2s, fail_after: 10s, success_rate: 0.99, emotion: 1}
        segments: {enterprise: {within: 1s}}
      - id: home-page
        channel: web
        owner: Marketing
        expect: {within: 2s}
  - id: help
    name: Get help
    touchpoints:
      - id: help-search
        channel: web
        owner: Support
        expect: {within: 3s}
      - id: faq
        channel: web
        owner: Support
"""


def _map(text: str, name: str = "map.yaml") -> JourneyMap:
    return load_map_text(text, name)


def _edited(*replacements: tuple[str, str]) -> JourneyMap:
    text = OLD
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return _map(text, "new.yaml")


def _sentences(changes: list[MapChange]) -> list[str]:
    return [change.sentence for change in changes]


def test_identical_maps_have_no_differences() -> None:
    assert diff_maps(_map(OLD), _map(OLD, "elsewhere.yaml")) == []


def test_a_tightened_base_target_is_one_change_not_one_per_inheriting_segment() -> None:
    new = _edited(("expect: {within: 2s}", "expect: {within: 1s}"))
    changes = diff_maps(_map(OLD), new)
    assert changes == [
        MapChange(
            "changed",
            "expectation",
            "discover",
            "home-page",
            "",
            "within",
            "2s",
            "1s",
            name="Home page",
            stage_name="Discover",
        )
    ]
    assert _sentences(changes) == ["Home page: within 2s → 1s"]


def test_a_base_change_is_reported_for_a_segment_only_where_its_own_target_differs() -> None:
    # Enterprise keeps its own 1s override, so neither its target nor its effective expectation moved.
    new = _edited(("within: 2s, fail_after: 10s", "within: 3s, fail_after: 10s"))
    assert _sentences(diff_maps(_map(OLD), new)) == ["Pricing page (self-serve): within 2s → 3s"]
    # Dropping the override while loosening the base changes what enterprise gets: 1s → 3s, not 2s → 3s.
    new = _edited(
        ("within: 2s, fail_after: 10s", "within: 3s, fail_after: 10s"),
        ("        segments: {enterprise: {within: 1s}}\n", ""),
    )
    assert _sentences(diff_maps(_map(OLD), new)) == [
        "Pricing page (self-serve): within 2s → 3s",
        "Pricing page (enterprise): within 1s → 3s",
    ]


def test_a_changed_segment_override() -> None:
    new = _edited(("{enterprise: {within: 1s}}", "{enterprise: {within: 500ms}}"))
    [change] = diff_maps(_map(OLD), new)
    assert (change.what, change.segment, change.field, change.old, change.new) == (
        "expectation",
        "enterprise",
        "within",
        "1s",
        "500ms",
    )
    assert change.sentence == "Pricing page (enterprise): within 1s → 500ms"


def test_an_override_added_for_a_segment() -> None:
    override = "{enterprise: {within: 1s}, self-serve: {success_rate: 0.9}}"
    new = _edited(("{enterprise: {within: 1s}}", override))
    assert _sentences(diff_maps(_map(OLD), new)) == ["Pricing page (self-serve): success rate 99% → 90%"]


def test_expectation_figures_read_as_the_map_writes_them() -> None:
    new = _edited(("fail_after: 10s, success_rate: 0.99, emotion: 1", "success_rate: 0.995, emotion: -1"))
    assert _sentences(diff_maps(_map(OLD), new)) == [
        "Pricing page: fail after 10s → —",
        "Pricing page: success rate 99% → 99.5%",
        "Pricing page: emotion +1 → -1",
    ]


def test_touchpoints_added_removed_moved_and_reowned() -> None:
    home = "      - id: home-page\n        channel: web\n        owner: Marketing\n"
    home += "        expect: {within: 2s}\n"
    new = _edited(
        ("owner: Support\n        expect: {within: 3s}", "owner: Product\n        expect: {within: 3s}"),
        ("      - id: faq\n        channel: web\n        owner: Support\n", ""),
        (home, ""),
    )
    new = _map(new.text + "      - id: chat-widget\n        channel: chat\n" + home, "new.yaml")
    changes = diff_maps(_map(OLD), new)
    assert _sentences(changes) == [
        "Help search: owner Support → Product",
        'touchpoint "faq" removed from stage Get help',
        'touchpoint "chat-widget" added to stage Get help',
        "Home page: stage Discover → Get help",
    ]
    moved = changes[-1]
    assert (moved.kind, moved.what, moved.field, moved.stage_id) == ("changed", "touchpoint", "stage", "help")
    assert [change.touchpoint_id for change in changes].count("home-page") == 1
    assert expectation_changes(changes) == []


def test_stages_added_and_removed() -> None:
    new = _map(
        OLD.split("  - id: help\n")[0]
        + "  - id: renew\n    touchpoints:\n      - id: billing-page\n        channel: web\n",
        "new.yaml",
    )
    changes = diff_maps(_map(OLD), new)
    assert _sentences(changes) == [
        'stage "help" removed',
        'stage "renew" added',
        'touchpoint "help-search" removed from stage Get help',
        'touchpoint "faq" removed from stage Get help',
        'touchpoint "billing-page" added to stage Renew',
    ]


def test_a_renamed_stage_segment_added_and_version_bumped() -> None:
    new = _edited(
        ("version: v1", "version: v2"),
        ("[self-serve, enterprise]", "[self-serve, enterprise, partner]"),
        ("name: Get help", "name: Support"),
    )
    changes = diff_maps(_map(OLD), new)
    assert _sentences(changes) == [
        "map: version v1 → v2",
        'segment "partner" added',
        'stage "help": name Get help → Support',
    ]
    assert (changes[0].what, changes[0].field) == ("journey", "version")
    assert changes[1].segment == "partner"


def test_expectation_changes_keeps_only_what_the_map_promises() -> None:
    new = _edited(
        ("version: v1", "version: v2"),
        ("expect: {within: 3s}", "expect: {within: 5s}"),
        ("owner: Support\n        expect", "owner: Product\n        expect"),
    )
    changes = diff_maps(_map(OLD), new)
    assert len(changes) == 3
    assert _sentences(expectation_changes(changes)) == ["Help search: within 3s → 5s"]


def _run(run_id: str, minutes: int, digest: str = "", map_path: str = "") -> Run:
    started = dt.datetime(2026, 11, 1, 9, minutes, tzinfo=dt.UTC)
    return Run(run_id, started, state="finished", journey="Acme trial", map_digest=digest, map_path=map_path)


def test_recorded_map_is_the_one_the_newest_run_used(tmp_path: Path) -> None:
    older = OLD.replace("version: v1", "version: v0")
    store = open_store(tmp_path / "s.db")
    try:
        store.handle(RunStarted(_run("r1", 0, map_digest(older)), map_text=older))
        store.handle(RunStarted(_run("r2", 5, map_digest(OLD), "/maps/acme.yaml"), map_text=OLD))
        runs = store.runs()
        recorded = recorded_map(store, runs)
    finally:
        store.close()
    assert [run.run_id for run in runs] == ["r1", "r2"]
    assert recorded is not None
    assert (recorded.version, str(recorded.path), recorded.text) == ("v1", "/maps/acme.yaml", OLD)
    refreshed = _edited(("expect: {within: 3s}", "expect: {within: 1s}"))
    assert _sentences(expectation_changes(diff_maps(recorded, refreshed))) == ["Help search: within 3s → 1s"]


def test_no_recorded_map_without_runs_digest_or_stored_text(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s.db")
    try:
        assert recorded_map(store, []) is None
        store.handle(RunStarted(_run("old-store", 0)))  # written before maps were kept with runs
        assert recorded_map(store, store.runs()) is None
        assert recorded_map(store, [_run("lost", 1, "0123456789abcdef")]) is None
    finally:
        store.close()


def test_a_recorded_map_the_harness_no_longer_reads_is_none(tmp_path: Path) -> None:
    unreadable = OLD.replace("channel: web", "channel: telegraph", 1)
    store = open_store(tmp_path / "s.db")
    try:
        store.handle(RunStarted(_run("r1", 0, map_digest(unreadable)), map_text=unreadable))
        assert recorded_map(store, store.runs()) is None
    finally:
        store.close()


def _files(tmp_path: Path, new_text: str) -> list[str]:
    (tmp_path / "old.yaml").write_text(OLD)
    (tmp_path / "new.yaml").write_text(new_text)
    return ["map", "diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml")]


def test_cli_identical_maps_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(_files(tmp_path, OLD))
    out = capsys.readouterr().out
    assert status == 0
    assert out.splitlines() == [
        f"{tmp_path / 'old.yaml'} (version v1) → {tmp_path / 'new.yaml'} (version v1)",
        "no differences",
    ]


def test_cli_lists_changes_grouped_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new = OLD.replace("version: v1", "version: v2").replace("{enterprise: {within: 1s}}", "{enterprise: {}}")
    new = new.replace("      - id: faq\n        channel: web\n        owner: Support\n", "")
    new += "      - id: chat-widget\n        channel: chat\n"
    status = main(_files(tmp_path, new))
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err == ""
    assert captured.out.splitlines() == [
        f"{tmp_path / 'old.yaml'} (version v1) → {tmp_path / 'new.yaml'} (version v2)",
        "Added:",
        '  touchpoint "chat-widget" added to stage Get help',
        "Removed:",
        '  touchpoint "faq" removed from stage Get help',
        "Changed:",
        "  map: version v1 → v2",
        "  Pricing page (enterprise): within 1s → 2s",
    ]


def test_cli_a_broken_new_map_is_one_line_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(_files(tmp_path, OLD.replace("within: 3s", "within: soon")))
    captured = capsys.readouterr()
    assert status == 2
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"shopper: {tmp_path / 'new.yaml'}, line 24: ")
    assert "duration 'soon' does not parse" in lines[0]
    assert "Changed:" not in captured.out


def test_the_promised_time_to_first_value_is_compared() -> None:
    base = (
        "journey: J\nversion: v1\n{extra}stages:\n  - id: s\n    touchpoints:\n"
        "      - {{id: t, channel: web, milestone: first-value}}\n"
    )
    old = load_map_text(base.format(extra="first_value_within: 2m\n"))
    new = load_map_text(base.format(extra="first_value_within: 90s\n"))
    (change,) = diff_maps(old, new)
    assert (change.field, change.old, change.new) == ("first_value_within", "2m", "1.5m")
    assert diff_maps(old, load_map_text(base.format(extra="")))[0].new == "—"


def test_a_base_change_names_the_segments_it_reaches() -> None:
    text = (
        "journey: J\nversion: v1\nsegments: [self-serve, enterprise]\nstages:\n  - id: s\n"
        "    touchpoints:\n      - {{id: t, name: Pricing page, channel: web, expect: {{within: {base}}},"
        " segments: {{enterprise: {{within: 1s}}}}}}\n"
    )
    (change,) = diff_maps(load_map_text(text.format(base="2s")), load_map_text(text.format(base="1.2s")))
    assert (change.reaches, change.hidden_from) == (("self-serve",), ("enterprise",))
    assert change.sentence == "Pricing page (self-serve): within 2s → 1.2s"
