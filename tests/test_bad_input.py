"""The bad-input catalogue: every mistake a user can make with a file or an option is one sentence.

Each case writes what a user might (a map, a feature, a schedule, a store, a command line), runs the
`shopper` command on it in-process, and checks the contract: exit status 2, one line on stderr that
starts with "shopper: ", names the file (and the line, where there is one), and no traceback.
Nothing here starts a browser: every case must be refused before a run would begin.
"""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import main

MAP = """\
journey: Bad inputs
version: "1"
segments: [self-serve]
stages:
  - id: discover
    touchpoints:
      - id: pricing-page
        channel: web
        owner: Marketing
        url: /pricing
        expect: {within: 2s, fail_after: 10s}
"""
FEATURE = """\
@stage:discover
Feature: Prices
  Scenario: I see the price
    Given I open the pricing page
    Then I should see "Team"
"""
TEST_JOURNEY = 'from pytest_bdd import scenarios\n\nscenarios(".")\n'
SCHEDULE = "target: http://127.0.0.1:9/\nmap: map.yaml\nfeatures: features\nevery: 5m\n"


@dataclass
class Case:
    name: str
    # Writes the user's files into the folder and gives the command line.
    setup: Callable[[Path], list[str]]
    says: str  # a fragment of the sentence
    file: str | None = None  # the file the sentence must name (relative to the folder)
    line: int | None = None


def map_case(name: str, text: str, says: str, line: int | None = None) -> Case:
    def setup(folder: Path) -> list[str]:
        (folder / "map.yaml").write_text(text)
        return ["map", "check", str(folder / "map.yaml")]

    return Case(name, setup, says, "map.yaml", line)


def edit_map(old: str, new: str) -> str:
    assert old in MAP, old
    return MAP.replace(old, new)


def features_case(
    name: str, files: dict[str, str], says: str, file: str | None = None, line: int | None = None
) -> Case:
    def setup(folder: Path) -> list[str]:
        (folder / "map.yaml").write_text(MAP)
        features = folder / "features"
        features.mkdir()
        for relative, text in files.items():
            (features / relative).write_text(text)
        return ["map", "check", str(folder / "map.yaml"), "--features", str(features)]

    return Case(name, setup, says, file, line)


def command_case(name: str, argv: list[str], says: str, file: str | None = None) -> Case:
    def setup(folder: Path) -> list[str]:
        (folder / "map.yaml").write_text(MAP)
        features = folder / "features"
        features.mkdir()
        (features / "prices.feature").write_text(FEATURE)
        (features / "test_journey.py").write_text(TEST_JOURNEY)
        return [part.format(folder=folder) for part in argv]

    return Case(name, setup, says, file)


def schedule_case(name: str, text: str, says: str, line: int | None = None) -> Case:
    def setup(folder: Path) -> list[str]:
        (folder / "map.yaml").write_text(MAP)
        (folder / "features").mkdir()
        (folder / "schedule.yaml").write_text(text)
        return ["status", str(folder / "schedule.yaml")]

    return Case(name, setup, says, "schedule.yaml", line)


def store_case(name: str, make: Callable[[Path], None], says: str) -> Case:
    def setup(folder: Path) -> list[str]:
        make(folder / "shopper.db")
        return ["report", "--store", str(folder / "shopper.db"), "--out", str(folder / "out")]

    return Case(name, setup, says, "shopper.db")


def _foreign_store(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO runs (name) VALUES ('not ours')")


def _garbage_store(path: Path) -> None:
    path.write_bytes(b"this is not a database at all\n" * 200)


def _cut_store(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x TEXT)")
        db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\0" * 64 + data[164 : len(data) // 2])


def _write(relative: str, text: str | bytes) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text) if isinstance(text, bytes) else target.write_text(text)

    return write


def with_files(base: Case, *writes: Callable[[Path], None]) -> Case:
    def setup(folder: Path) -> list[str]:
        argv = base.setup(folder)
        for write in writes:
            write(folder)
        return argv

    return Case(base.name, setup, base.says, base.file, base.line)


TP = "      - id: pricing-page\n"
CASES = [
    # The journey map.
    Case(
        "map missing", lambda f: ["map", "check", str(f / "nope.yaml")], "journey map not found", "nope.yaml"
    ),
    map_case("map not UTF-8", "journey: caf\xe9\n", "", None),  # replaced below with bytes
    map_case("map empty", "", "the map is empty", 1),
    map_case("map bad YAML", "journey: [x\nstages: []\n", "not valid YAML", 2),
    map_case("map control character", "journey: x\x07\n", "not valid YAML", 1),
    map_case("map is a list", "- journey: x\n", "top level of the map must be a mapping", 1),
    map_case("map without journey", "stages: []\n", 'missing required key "journey"', 1),
    map_case("map without stages", "journey: x\n", 'missing required key "stages"', 1),
    map_case("stages not a list", "journey: x\nstages: discover\n", "stages must be a list", 2),
    map_case("stages empty", "journey: x\nstages: []\n", "stages is empty", 2),
    map_case("unknown top key", edit_map("version:", "verison:"), 'unknown key "verison"', 2),
    map_case("duplicate key", MAP + "journey: again\n", 'duplicate key "journey"', 12),
    map_case("segments not a list", edit_map("[self-serve]", "self-serve"), "segments must be a list", 3),
    map_case(
        "duplicate segment", edit_map("[self-serve]", "[self-serve, self-serve]"), "duplicate segment", 3
    ),
    map_case("segment not a slug", edit_map("[self-serve]", "[Self Serve]"), "is not a slug", 3),
    map_case("stage not a mapping", "journey: x\nstages:\n  - discover\n", "a stage must be a mapping", 3),
    map_case("stage without id", "journey: x\nstages:\n  - name: D\n", 'missing required key "id"', 3),
    map_case("stage id not a slug", edit_map("id: discover", "id: Dis Cover"), "is not a slug", 5),
    map_case("stage without touchpoints", "journey: x\nstages:\n  - id: s\n", "has no touchpoints", 3),
    map_case(
        "duplicate stage id",
        MAP + "  - id: discover\n    touchpoints: [{id: b, channel: web}]\n",
        'duplicate stage id "discover"',
        12,
    ),
    map_case("touchpoint without id", edit_map(TP, "      - name: P\n"), 'missing required key "id"', 7),
    map_case(
        "touchpoint without channel",
        edit_map("        channel: web\n", ""),
        'missing required key "channel"',
        7,
    ),
    map_case("unknown channel", edit_map("channel: web", "channel: webb"), 'unknown channel "webb"', 8),
    map_case(
        "duplicate touchpoint id",
        MAP + "      - id: pricing-page\n        channel: web\n",
        'duplicate touchpoint id "pricing-page"',
        12,
    ),
    map_case("within not a duration", edit_map("within: 2s", "within: soon"), "does not parse", 11),
    map_case("within zero", edit_map("within: 2s", "within: 0"), "within must be longer than 0", 11),
    map_case(
        "within beyond fail_after", edit_map("within: 2s", "within: 20s"), "is longer than fail_after", 11
    ),
    map_case(
        "success rate above 1",
        edit_map("fail_after: 10s", "fail_after: 10s, success_rate: 2"),
        "success_rate must be a number from 0 to 1",
        11,
    ),
    map_case(
        "emotion out of range",
        edit_map("fail_after: 10s", "fail_after: 10s, emotion: 5"),
        "emotion must be a whole number from -2 to +2",
        11,
    ),
    map_case(
        "override for an unknown segment",
        MAP + "        segments: {enterprise: {within: 1s}}\n",
        'segment "enterprise" is not in the map',
        12,
    ),
    map_case(
        "url without a slash",
        edit_map("url: /pricing", "url: pricing"),
        'must be a path starting with "/"',
        10,
    ),
    map_case(
        "subject not a regex",
        MAP.replace("url: /pricing", "url: /pricing\n        subject: '('"),
        "is not a valid regular expression",
        11,
    ),
    map_case(
        "moment of truth not a flag",
        MAP.replace("url: /pricing", "url: /pricing\n        moment_of_truth: maybe"),
        "moment_of_truth must be true or false",
        11,
    ),
    map_case(
        "max_messages negative",
        edit_map("    touchpoints:\n", "    max_messages: -1\n    touchpoints:\n"),
        "max_messages must be a whole number",
        6,
    ),
    map_case(
        "first value without a milestone",
        edit_map('version: "1"', 'version: "1"\nfirst_value_within: 5m'),
        "needs a touchpoint marked `milestone: first-value`",
        3,
    ),
    map_case("map nested 5,000 deep", "[" * 5000 + "]" * 5000, "nests deeper than 50 levels"),
    map_case("map over 2 MB", MAP + "# padding line\n" * 150_000, "a map may be at most 2 MB"),
    map_case(
        "merge key",
        edit_map("        owner: Marketing\n", "        <<: {owner: M}\n"),
        "merge keys are not supported",
        9,
    ),
    Case("map is a folder", lambda f: ["map", "check", str(f)], "cannot be read", "."),
    # Features checked against the map and the step catalogue.
    Case(
        "features folder missing",
        lambda f: (
            _write("map.yaml", MAP)(f),
            ["map", "check", str(f / "map.yaml"), "--features", str(f / "nowhere")],
        )[1],
        "features folder not found",
        "nowhere",
    ),
    features_case("no feature files", {"README.md": "notes"}, "no .feature files here", "features"),
    features_case(
        "unknown stage tag",
        {"a.feature": FEATURE.replace("@stage:discover", "@stage:discovr"), "test_journey.py": TEST_JOURNEY},
        "discovr",
        "features/a.feature",
        1,
    ),
    features_case(
        "unknown segment tag",
        {"a.feature": "@segment:vip\n" + FEATURE, "test_journey.py": TEST_JOURNEY},
        "vip",
        "features/a.feature",
        1,
    ),
    features_case(
        "unknown touchpoint tag",
        {
            "a.feature": FEATURE.replace("@stage:discover", "@stage:discover @touchpoint:nope"),
            "test_journey.py": TEST_JOURNEY,
        },
        "nope",
        "features/a.feature",
        1,
    ),
    features_case(
        "Gherkin syntax error",
        {"a.feature": "Feature: x\n  Scenari: y\n    Given z\n", "test_journey.py": TEST_JOURNEY},
        "",
        "features/a.feature",
    ),
    features_case(
        "feature without scenarios",
        {"a.feature": "@stage:discover\nFeature: Empty\n", "test_journey.py": TEST_JOURNEY},
        "has no scenarios",
        "features/a.feature",
        2,
    ),
    features_case(
        "unknown step phrase",
        {"a.feature": FEATURE.replace("I should see", "I ought to see"), "test_journey.py": TEST_JOURNEY},
        "no built-in step reads",
        "features/a.feature",
        5,
    ),
    features_case(
        "unknown touchpoint name",
        {
            "a.feature": FEATURE.replace("the pricing page", "the prices page"),
            "test_journey.py": TEST_JOURNEY,
        },
        'no touchpoint called "prices page"',
        "features/a.feature",
        4,
    ),
    features_case("no test module", {"a.feature": FEATURE}, "add test_journey.py", "features"),
    # The command line.
    command_case("unknown command", ["rn"], "invalid choice"),
    command_case("run without a target", ["run", "--map", "{folder}/map.yaml"], "--base-url"),
    command_case(
        "run on a target that is not a URL",
        ["run", "--base-url", "not a url", "--map", "{folder}/map.yaml", "--features", "{folder}/features"],
        "is not a web address",
    ),
    command_case(
        "run on a javascript: URL",
        [
            "run",
            "--base-url",
            "javascript:alert(1)",
            "--map",
            "{folder}/map.yaml",
            "--features",
            "{folder}/features",
        ],
        "is not a web address",
    ),
    command_case(
        "run with negative retries",
        [
            "run",
            "--base-url",
            "http://127.0.0.1:9/",
            "--retries",
            "-1",
            "--map",
            "{folder}/map.yaml",
            "--features",
            "{folder}/features",
        ],
        "--retries",
    ),
    command_case(
        "run with a max wait that is no duration",
        [
            "run",
            "--base-url",
            "http://127.0.0.1:9/",
            "--max-wait",
            "soon",
            "--map",
            "{folder}/map.yaml",
            "--features",
            "{folder}/features",
        ],
        "--max-wait",
    ),
    command_case(
        "run for an unknown segment",
        [
            "run",
            "--base-url",
            "http://127.0.0.1:9/",
            "--segment",
            "vip",
            "--map",
            "{folder}/map.yaml",
            "--features",
            "{folder}/features",
        ],
        'segment "vip"',
    ),
    command_case(
        "run with an address template that tells no one apart",
        [
            "run",
            "--base-url",
            "http://127.0.0.1:9/",
            "--customer-address",
            "me@example.com",
            "--map",
            "{folder}/map.yaml",
            "--features",
            "{folder}/features",
        ],
        "needs {run} and {n}",
    ),
    command_case(
        "run on one feature file",
        [
            "run",
            "--base-url",
            "http://127.0.0.1:9/",
            "--map",
            "{folder}/map.yaml",
            "--features",
            "{folder}/features/prices.feature",
        ],
        "the folder",
        "features/prices.feature",
    ),
    command_case(
        "run with a missing map",
        [
            "run",
            "--base-url",
            "http://127.0.0.1:9/",
            "--map",
            "{folder}/nomap.yaml",
            "--features",
            "{folder}/features",
        ],
        "journey map not found",
        "nomap.yaml",
    ),
    command_case(
        "report with no store",
        ["report", "--store", "{folder}/none.db", "--out", "{folder}/out"],
        "store",
        "none.db",
    ),
    command_case(
        "report into a file",
        ["report", "--store", "{folder}/none.db", "--out", "{folder}/map.yaml"],
        "not a folder",
        "map.yaml",
    ),
    command_case(
        "report with a window of 0 runs", ["report", "--store", "{folder}/none.db", "--last", "0"], "--last"
    ),
    command_case(
        "map diff with a missing map",
        ["map", "diff", "{folder}/map.yaml", "{folder}/gone.yaml"],
        "journey map not found",
        "gone.yaml",
    ),
    command_case(
        "mail poll waiting no duration",
        ["mail", "poll", "--store", "{folder}/none.db", "--wait", "soon"],
        "--wait",
    ),
    command_case(
        "demo with a missing fault profile",
        ["demo", "--faults", "{folder}/faults.yaml"],
        "fault profile not found",
        "faults.yaml",
    ),
    with_files(
        command_case(
            "demo with a broken fault profile",
            ["demo", "--faults", "{folder}/faults.yaml"],
            "the fault profile is not valid YAML",
            "faults.yaml",
        ),
        _write("faults.yaml", "latency_ms: {\n"),
    ),
    # Stores that are not this harness's, or not whole.
    store_case("another application's SQLite file", _foreign_store, "is not a shopper store"),
    store_case("a file that is not a database", _garbage_store, "is not a shopper store"),
    store_case("a damaged database", _cut_store, "shopper.db"),
    # Schedule files.
    Case(
        "schedule missing", lambda f: ["status", str(f / "nope.yaml")], "schedule file not found", "nope.yaml"
    ),
    schedule_case("schedule unknown key", SCHEDULE + "evry: 5m\n", 'unknown key "evry"', 5),
    schedule_case(
        "schedule without target",
        SCHEDULE.replace("target: http://127.0.0.1:9/\n", ""),
        '"target" is missing',
        1,
    ),
    schedule_case(
        "schedule every no duration", SCHEDULE.replace("every: 5m", "every: 5 mins"), "is not a duration", 4
    ),
    schedule_case("schedule two cadences", SCHEDULE + 'daily_at: "09:00"\n', "say when to run with one of"),
    schedule_case("schedule unknown time zone", SCHEDULE + "timezone: Mars/Olympus\n", "Mars/Olympus", 5),
    schedule_case("schedule bad YAML", SCHEDULE + "retention: [30d\n", "not valid YAML"),
    schedule_case(
        "schedule nested too deep", SCHEDULE + "alerts: " + "[" * 3000 + "]" * 3000 + "\n", "nests deeper"
    ),
]


def _not_utf8(case: Case) -> Case:
    def setup(folder: Path) -> list[str]:
        (folder / "map.yaml").write_bytes(b"journey: caf\xe9\nstages: []\n")
        return ["map", "check", str(folder / "map.yaml")]

    return Case(case.name, setup, "it is not UTF-8 text", "map.yaml")


CASES[1] = _not_utf8(CASES[1])


def test_the_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_bad_input_is_one_sentence_and_exit_2(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHOPPER_STORE", raising=False)
    monkeypatch.delenv("SHOPPER_MAP", raising=False)
    argv = case.setup(tmp_path)
    status = main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert status == 2, (status, captured.out, captured.err)
    assert len(lines) == 1, captured.err
    sentence = lines[0]
    assert sentence.startswith("shopper: "), sentence
    assert "Traceback" not in captured.err + captured.out
    assert case.says in sentence, sentence
    if case.file is not None:
        assert str(tmp_path / case.file).rstrip("/.") in sentence or case.file.rstrip("/.") in sentence, (
            sentence
        )
    if case.line is not None:
        assert f"line {case.line}:" in sentence, sentence
    # Nothing of the harness's own internals leaks into the sentence.
    assert "sqlite3." not in sentence and "no such column" not in sentence, sentence


def test_map_check_lists_every_mistake_of_a_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = textwrap.dedent(
        """\
        journey: x
        stages:
          - id: a
            touchpoints: [{id: t1, channel: webb}]
          - id: b
            touchpoints: [{id: t2, channel: web, expect: {within: 0}}]
        """
    )
    (tmp_path / "map.yaml").write_text(text)
    assert main(["map", "check", str(tmp_path / "map.yaml")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("shopper: ")]
    assert len(lines) == 2, lines
    assert "line 4:" in lines[0] and "line 6:" in lines[1]
