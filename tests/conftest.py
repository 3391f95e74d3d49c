"""Fixtures the harness's own tests share, and the markers that make `pytest -m "not browser"` quick.

Markers are given by what a test does, found from the fixtures it uses (all of them, however
deep) and from the source of the test and of those fixtures, so a new test is marked without
anyone remembering to: `browser` when it drives Chromium or runs `shopper run`, `shopper demo`,
`shopper schedule` or pytest scenarios in a subprocess; `mail` when it needs Dovecot.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from dovecot import PASSWORD, Dovecot, next_user, running_dovecot

# Fixtures that are a browser or a scenario run themselves (pytest-playwright's and pytester).
BROWSER_FIXTURES = {"page", "browser", "context", "browser_context_args", "pytester"}
# Calls that start Chromium, here or in a subprocess.
BROWSER_CALLS = (
    "sync_playwright(",
    "shopper_run(",
    "runpytest",
    "Scheduled(",
    '"harness", "schedule"',
    '"harness", "demo"',
    '"run", "--base-url"',
    "run_scenarios(",
)
MAIL_FIXTURES = {"dovecot", "dovecot_server"}
MAIL_CALLS = ("running_dovecot(",)


@cache
def _source(function: Callable[..., object]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def _sources(item: pytest.Function) -> str:
    """The test's own source and that of every fixture it uses (pytest's closure, so fixtures of fixtures)."""
    functions: list[Callable[..., object]] = [item.function]
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        functions.extend(definition.func for definition in definitions)
    return "\n".join(_source(function) for function in functions)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        names, source = set(item.fixturenames), _sources(item)
        if names & BROWSER_FIXTURES or any(call in source for call in BROWSER_CALLS):
            item.add_marker(pytest.mark.browser)
        if names & MAIL_FIXTURES or any(call in source for call in MAIL_CALLS):
            item.add_marker(pytest.mark.mail)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    """One real Dovecot on loopback for the whole test run: tests take a user of it (`dovecot`)."""
    with running_dovecot() as server:
        yield server


@pytest.fixture
def dovecot(dovecot_server: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Dovecot:
    """The shared Dovecot as a user of this test's own, with an empty Maildir, its password where
    the harness looks for it."""
    monkeypatch.setenv("SHOPPER_IMAP_PASSWORD", PASSWORD)
    return dovecot_server.add_user(next_user())


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """`shopper demo` walked once for the whole test run, with the shipped fault profile: its
    output folder (the store is demo.db there) and its gap-report.json."""
    out = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "harness", "demo", "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(out / "gap-report.html") in done.stdout
    document: dict[str, Any] = json.loads((out / "gap-report.json").read_text())
    return out, document
