"""The command line's conventions: a map from the folder or --map, examples in every --help, the
report's absolute path and file:// address (and --open), --lf across runs, a missing browser at once.

Real parts: `shopper run` drives Chromium against a small HTTP server of this test's own; the store,
pytest's cache and the report are real files; --open starts a real process (through $BROWSER).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from journeys import QuietHandler, send_html, serve, write_features

from harness.cli import EXAMPLES, build_parser, main
from harness.record.browser import launch_options
from harness.store.sqlite import open_store

MAP = """\
journey: Conventions
segments: [visitor]
stages:
  - id: discover
    touchpoints:
      - id: home-page
        channel: web
        owner: Web
        url: /
        expect: {within: 1s, fail_after: 3s}
"""
FEATURE = """\
@stage:discover
Feature: The home page
  Scenario: The home page greets me
    Given I open the home page
    Then I should see "Hello"

  Scenario: The home page has today's offer
    Given I open the home page
    Then I should see "Offer"
"""


class Site(QuietHandler):
    offer = False  # the fix: the page gains its offer

    def do_GET(self) -> None:
        send_html(
            self, f"<!doctype html><title>Home</title><h1>Hello</h1>{'<p>Offer</p>' if Site.offer else ''}"
        )


@pytest.fixture
def site() -> Iterator[str]:
    Site.offer = False
    with serve(Site) as url:
        yield url


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOPPER_MAP", "SHOPPER_STORE", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)


def scenarios_run(store: Path) -> list[set[str]]:
    """Per run, oldest first: the scenarios it recorded."""
    opened = open_store(store)
    try:
        runs = sorted(opened.runs(), key=lambda run: run.started_at)
        frame = opened.observations([run.run_id for run in runs])
    finally:
        opened.close()
    return [set(frame[frame["run_id"] == run.run_id]["scenario"]) for run in runs]


def test_lf_runs_only_the_scenario_that_failed_last_time(
    tmp_path: Path, site: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the report's relative --out lands here
    features = write_features(tmp_path / "features", FEATURE)
    (tmp_path / "map.yaml").write_text(MAP, encoding="utf-8")
    store = tmp_path / "shopper.db"
    command = ["run", "--base-url", site, "--map", str(tmp_path / "map.yaml"), "--features", str(features)]
    command += ["--store", str(store), "--quiet"]
    assert main(command) == 1
    assert f"recorded in {store.resolve()}; the report: shopper report --store" in capsys.readouterr().out
    Site.offer = True
    assert main([*command, "--", "--lf"]) == 0
    first, second = scenarios_run(store)
    assert first == {"The home page greets me", "The home page has today's offer"}
    assert second == {"The home page has today's offer"}
    assert (tmp_path / ".shopper-cache").is_dir()  # beside the store, not in the features folder
    capsys.readouterr()
    # The report says where it is as an absolute path and a file:// address.
    assert main(["report", "--store", str(store), "--out", "out"]) in (0, 1)
    out = capsys.readouterr().out
    page = (Path.cwd() / "out" / "gap-report.html").resolve()
    assert f"report: {page}" in out and page.as_uri() in out


def test_report_open_hands_the_address_to_the_browser(tmp_path: Path, site: str) -> None:
    features = write_features(tmp_path / "features", FEATURE.split("\n\n  Scenario: The home page has")[0])
    (tmp_path / "map.yaml").write_text(MAP, encoding="utf-8")
    store = tmp_path / "shopper.db"
    assert main(["run", "--base-url", site, "--features", str(features), "--store", str(store), "--quiet",
                 "--map", str(tmp_path / "map.yaml")]) == 0  # fmt: skip
    opened = tmp_path / "opened.txt"
    env = {**os.environ, "BROWSER": f"/bin/sh -c 'echo \"$0\" > {opened}' %s"}
    done = subprocess.run(
        [sys.executable, "-m", "harness", "report", "--store", str(store), "--out", str(tmp_path / "r"),
         "--open"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 10  # the browser command is started, not waited for
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert opened.read_text().strip() == (tmp_path / "r" / "gap-report.html").resolve().as_uri()


def test_without_a_map_here_run_and_map_check_need_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (["run", "--base-url", "http://127.0.0.1:9/"], ["map", "check"]):
        assert main(argv) == 2
        [sentence] = capsys.readouterr().err.splitlines()
        assert sentence.startswith("shopper: ") and "--map" in sentence, sentence
    (tmp_path / "map.yaml").write_text(MAP, encoding="utf-8")
    assert main(["map", "check"]) == 0  # the folder's own map
    assert "Conventions" in capsys.readouterr().out


def test_every_subcommand_help_ends_with_examples() -> None:
    def walk(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield name, sub
                    yield from walk(sub)

    found = dict(walk(build_parser()))
    assert set(found) == set(EXAMPLES) and len(found) >= 10
    for name, sub in found.items():
        text = sub.format_help()
        assert "examples:\n  shopper " in text, name
        assert all(line in text for line in EXAMPLES[name]), name


def test_a_browser_playwright_lacks_is_one_sentence_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = write_features(tmp_path / "features", FEATURE)
    (tmp_path / "map.yaml").write_text(MAP, encoding="utf-8")
    command = ["run", "--base-url", "http://127.0.0.1:9/", "--map", str(tmp_path / "map.yaml")]
    command += ["--features", str(features), "--store", str(tmp_path / "s.db"), "--", "--browser", "firefox"]
    assert main(command) == 2
    [sentence] = capsys.readouterr().err.splitlines()
    assert "playwright install firefox" in sentence, sentence
    assert not (tmp_path / "s.db").exists()  # refused before any run began


def test_only_chromium_gets_the_system_chromium_and_its_flags() -> None:
    assert launch_options({"args": ["--lang=de"]}, "/nonexistent/firefox", "firefox") == {
        "args": ["--lang=de"]
    }
    assert "executable_path" in launch_options({}, "/nonexistent/chromium", "chromium")
