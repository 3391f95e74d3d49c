"""The `shopper` command: exit statuses and one plain sentence for every input error."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from journeys import DEMO_MAP, ROOT, shopper_run, stored_observations, write_features

from harness.cli import main


def _one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("shopper: ")
    return lines[0]


def test_map_check_accepts_the_demo_journey_and_lists_uncovered_touchpoints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["map", "check", str(DEMO_MAP), "--features", str(ROOT / "scenarios")])
    out = capsys.readouterr().out
    assert status == 0
    assert "6 stages, 19 touchpoints" in out
    assert "not covered: phone-support" in out and "not covered: billing-page" in out
    assert "not covered: pricing-page" not in out


def test_a_broken_map_is_one_sentence_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "map.yaml"
    broken.write_text(
        "journey: J\nstages:\n  - id: s\n    touchpoints:\n      - id: t\n        channel: web\n"
        "        expect: {witin: 2s}\n"
    )
    status = main(["map", "check", str(broken)])
    line = _one_sentence(capsys.readouterr().err)
    assert status == 2
    assert f"{broken}, line 7" in line and 'did you mean "within"' in line


def test_an_unknown_stage_tag_is_one_sentence_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = write_features(
        tmp_path / "features",
        "Feature: F\n\n  @stage:discovr\n  Scenario: S\n    Given I open the home page\n",
    )
    status = main(["map", "check", str(DEMO_MAP), "--features", str(features)])
    line = _one_sentence(capsys.readouterr().err)
    assert status == 2
    assert f"{features / 'journey.feature'}, line 3" in line
    assert "@stage:discovr" in line and 'did you mean "discover"' in line


def test_run_refuses_an_unknown_tag_before_starting_a_browser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = write_features(
        tmp_path / "features", "@stage:renewal\nFeature: F\n  Scenario: S\n    Given I open the home page\n"
    )
    store = tmp_path / "obs.db"
    status = shopper_run("http://127.0.0.1:9", features, store)
    line = _one_sentence(capsys.readouterr().err)
    assert status == 2 and "line 1" in line and "@stage:renewal" in line
    assert not store.exists()


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    assert "--base-url" in _one_sentence(capsys.readouterr().err)
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in _one_sentence(capsys.readouterr().err)
    assert main(["run", "--base-url", "http://x", "--map", str(DEMO_MAP), "--segment", "vip"]) == 2
    assert 'segment "vip"' in _one_sentence(capsys.readouterr().err)


def test_report_without_a_store_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["report", "--store", str(tmp_path / "none.db"), "--out", str(tmp_path / "out")])
    assert status == 2
    assert "run `shopper run`" in _one_sentence(capsys.readouterr().err)


def test_steps_prints_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steps"]) == 0
    out = capsys.readouterr().out
    assert "I open the {name} page" in out and "kind: web page" in out
    assert "I receive the {name} email" in out and "kind: email" in out
    assert 'I fill in "{field}" with "{value}"' in out and "parameters: field, value" in out


def test_a_target_that_is_down_is_a_failed_observation_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    features = write_features(
        tmp_path / "features", "@stage:discover\nFeature: F\n  Scenario: S\n    Given I open the home page\n"
    )
    store = tmp_path / "obs.db"
    status = shopper_run(f"http://127.0.0.1:{port}", features, store, "--segment", "self-serve", "--quiet")
    assert status == 1
    observations = stored_observations(store)
    assert list(observations["outcome"]) == ["failed"]
    assert "ERR_CONNECTION_REFUSED" in observations["error"].iloc[0]
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "out")]) == 1
    document = json.loads((tmp_path / "out" / "gap-report.json").read_text())
    home = document["stages"][0]["touchpoints"][0]
    assert home["id"] == "home-page" and home["segments"]["self-serve"]["status"] == "failing"


def test_python_dash_m_harness_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    for command in ("demo", "run", "report", "map", "steps"):
        assert command in done.stdout


def test_a_step_the_harness_cannot_run_is_a_scenario_to_fix_not_a_failing_touchpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = write_features(
        tmp_path / "features",
        "@stage:signup\nFeature: F\n  Scenario: S\n    Then I receive the confirmation email\n",
    )
    store = tmp_path / "obs.db"
    # No --mailbox: the email step cannot look anywhere.
    status = shopper_run("http://127.0.0.1:9", features, store, "--segment", "self-serve", "--quiet")
    assert status == 1
    assert main(["report", "--store", str(store), "--out", str(tmp_path / "out")]) == 1
    document = json.loads((tmp_path / "out" / "gap-report.json").read_text())
    email = next(
        tp for s in document["stages"] for tp in s["touchpoints"] if tp["id"] == "confirmation-email"
    )
    verdict = email["segments"]["self-serve"]
    assert verdict["status"] == "untested" and "measured nothing" in verdict["gap"]
    action = next(
        a
        for a in document["actions"]
        if a["touchpoint_id"] == "confirmation-email" and a["segment"] == "self-serve"
    )
    assert action["what_to_fix"].startswith("Fix the scenario") and "--mailbox" in action["what_to_fix"]


def test_places_that_cannot_be_written_are_input_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    features = write_features(
        tmp_path / "features", "@stage:discover\nFeature: F\n  Scenario: S\n    Given I open the home page\n"
    )
    status = shopper_run("http://127.0.0.1:9", features, blocker / "obs.db")
    assert status == 2 and "cannot open the store" in _one_sentence(capsys.readouterr().err)
    assert main(["demo", "--out", str(blocker / "out")]) == 2
    assert str(blocker) in _one_sentence(capsys.readouterr().err)


def test_a_features_folder_without_features_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["map", "check", str(DEMO_MAP), "--features", str(empty)]) == 2
    assert "no .feature files" in capsys.readouterr().err


STRAY_PLUGIN = """
import os
from pathlib import Path


def pytest_configure(config):
    Path(os.environ["STRAY_MARK"]).write_text("loaded")
"""


def test_a_run_loads_only_its_own_pytest_plugins_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    # An installed plugin registered the usual way (a pytest11 entry point), as pytest-randomly is.
    site = tmp_path / "site"
    (site / "stray-1.0.dist-info").mkdir(parents=True)
    (site / "stray-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: stray\nVersion: 1.0\n"
    )
    (site / "stray-1.0.dist-info" / "entry_points.txt").write_text("[pytest11]\nstray = stray_plugin\n")
    (site / "stray_plugin.py").write_text(STRAY_PLUGIN)
    mark = tmp_path / "loaded.txt"
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("STRAY_MARK", str(mark))
    features = write_features(
        tmp_path / "features", "@stage:discover\nFeature: F\n  Scenario: S\n    Given I open the home page\n"
    )
    down = "http://127.0.0.1:9"
    assert shopper_run(down, features, tmp_path / "a.db", "--segment", "self-serve") == 1
    out = capfd.readouterr().out
    assert not mark.exists() and "1 failed" in out
    # pytest-playwright's deprecation is pytest's business, not the user's: it is not shown.
    assert "PytestRemovedIn10Warning" not in out
    assert (
        shopper_run(down, features, tmp_path / "b.db", "--segment", "self-serve", "--", "-p", "stray_plugin")
        == 1
    )
    assert mark.read_text() == "loaded"
