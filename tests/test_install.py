"""A clean install: `pip install <clone>` into a fresh venv outside the clone, then the harness used
from folders of a user's own, as a newcomer would (no conftest, no PYTHONPATH, no clone nearby)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from journeys import DEMO_MAP, ROOT, html_site, serve, stored_observations, write_features

# Every test here runs the installed `shopper` or pytest, which drive Chromium.
pytestmark = pytest.mark.browser

# What a clone holds that is not the project: the copy installed is what `git clone` would give.
NOT_THE_PROJECT = (
    ".venv", ".git", "build", "*.egg-info", "__pycache__", "reports", "test-results",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "*.db", "*.db-*",
)  # fmt: skip
FEATURE = (
    "@stage:discover\nFeature: First look\n  Scenario: The home page opens\n    Given I open the home page\n"
)


Home = html_site(lambda path: "<!doctype html><title>Home</title><h1>Welcome</h1>")


class Venv:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.bin = folder / "bin"

    def env(self) -> dict[str, str]:
        """This process's environment without what points at the clone or at this test run."""
        mine = ("PYTHON", "PYTEST", "VIRTUAL_ENV", "SHOPPER_")
        env = {name: value for name, value in os.environ.items() if not name.startswith(mine)}
        env["PATH"] = os.pathsep.join((str(self.bin), env.get("PATH", "")))
        return env

    def run(self, *command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with the clone installed the plain way (`pip install <clone>`, not editable)."""
    base = tmp_path_factory.mktemp("install")
    clone = base / "clone"
    shutil.copytree(ROOT, clone, symlinks=True, ignore=shutil.ignore_patterns(*NOT_THE_PROJECT))
    made = Venv(base / "venv")
    subprocess.run([sys.executable, "-m", "venv", str(made.folder)], check=True, timeout=300)
    # --no-compile: the bytecode of the modules the tests import is written as they are imported,
    # instead of every module of pandas, numpy, pyarrow and playwright compiled up front.
    installed = made.run("python", "-m", "pip", "install", "-q", "--no-compile", str(clone), cwd=base)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    shutil.rmtree(clone)  # nothing the venv runs may still lean on the source tree
    return made


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve(Home) as url:
        yield url


def _user_folder(tmp_path: Path) -> Path:
    """A folder of the user's own: a map and a features folder, no conftest."""
    folder = tmp_path / "user"
    write_features(folder / "features", FEATURE)
    shutil.copy(DEMO_MAP, folder / "map.yaml")
    return folder


def _home_page_visits(store: Path) -> list[str]:
    observations = stored_observations(store)
    return list(observations[observations["touchpoint"] == "home-page"]["outcome"])


def test_the_install_holds_the_harness_and_no_generic_top_level_module(venv: Venv, tmp_path: Path) -> None:
    code = (
        "import importlib.util, harness.steps, harness.demo\n"
        "print(harness.steps.__file__)\n"
        "print(harness.demo.JOURNEY_MAP.is_file())\n"
        "print(importlib.util.find_spec('steps'))\n"
    )
    done = venv.run("python", "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    steps_file, journey_shipped, top_level_steps = done.stdout.split()
    assert Path(steps_file).is_relative_to(venv.folder)
    assert (journey_shipped, top_level_steps) == ("True", "None")


def test_shopper_demo_writes_a_gap_report_from_an_empty_folder(venv: Venv, tmp_path: Path) -> None:
    empty, out = tmp_path / "empty", tmp_path / "report"
    empty.mkdir()
    done = venv.run("shopper", "demo", "--out", str(out), "--quiet", cwd=empty)
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(out / "gap-report.html") in done.stdout
    document = json.loads((out / "gap-report.json").read_text())
    assert document["segments"] == ["self-serve", "enterprise"]
    assert {run["state"] for run in document["runs"]} == {"finished"}
    # The shipped journey names its features as the repository's scenarios/ does.
    features = set(stored_observations(out / "demo.db")["feature"])
    assert features and all(feature.startswith("scenarios/") for feature in features)
    assert list(empty.iterdir()) == []


def test_a_users_own_steps_package_does_not_break_shopper_run(venv: Venv, site: str, tmp_path: Path) -> None:
    folder = _user_folder(tmp_path)
    (folder / "steps").mkdir()
    (folder / "steps" / "__init__.py").write_text("")
    (folder / "steps" / "web.py").write_text('raise ImportError("the user\'s steps/web.py was imported")\n')
    done = venv.run(
        "shopper", "run", "--base-url", site, "--map", "map.yaml", "--features", "features",
        "--store", "shop.db", "--segment", "self-serve", cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert _home_page_visits(folder / "shop.db") == ["passed"]


def test_plain_pytest_records_through_the_entry_point(venv: Venv, site: str, tmp_path: Path) -> None:
    folder = _user_folder(tmp_path)
    done = venv.run(
        "pytest", "features/", "--journey-map", "map.yaml", "--base-url", site, "--store", "shop.db",
        "-p", "no:cacheprovider", cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert _home_page_visits(folder / "shop.db") == ["passed"]


def test_without_a_map_the_installed_plugin_registers_nothing(venv: Venv, tmp_path: Path) -> None:
    folder = _user_folder(tmp_path)
    # Another suite in the same venv: the harness's fixtures and steps stay out of it.
    without = venv.run("pytest", "--fixtures", "-v", "-p", "no:cacheprovider", "features/", cwd=folder)
    with_map = venv.run(
        "pytest",
        "--fixtures",
        "-v",
        "-p",
        "no:cacheprovider",
        "features/",
        "--journey-map",
        "map.yaml",
        cwd=folder,
    )
    ours = ("fixtures defined from harness.record.fixtures", "pytestbdd_stepdef_*_I open the {name} page")
    assert with_map.returncode == 0, with_map.stdout + with_map.stderr
    assert all(name in with_map.stdout for name in ours)
    assert without.returncode == 0, without.stdout + without.stderr
    assert not any(name in without.stdout for name in ours)
    assert not (folder / "shopper.db").exists()
