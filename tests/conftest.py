"""Fixtures the harness's own tests share, and the markers that make `pytest -m "not browser"` quick.

Markers are given by what a test does, found from the fixtures it uses (all of them, however
deep) and from the source of the test and of those fixtures, so a new test is marked without
anyone remembering to: `browser` when it drives Chromium or runs `shopper run`, `shopper demo`,
`shopper schedule` or pytest scenarios in a subprocess; `mail` when it needs Dovecot.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from dovecot import PASSWORD, Dovecot, next_user, running_dovecot
from postgres import PASSWORD as PG_PASSWORD
from postgres import Postgres, running_postgres

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
    "ScheduleLoop(",
)
MAIL_FIXTURES = {"dovecot", "dovecot_server"}
MAIL_CALLS = ("running_dovecot(",)
POSTGRES_FIXTURES = {"postgres_server", "postgres_url"}


TESTS = Path(__file__).resolve().parent
CALLED = re.compile(r"\b([A-Za-z_]\w*)\(")


@cache
def _source(function: Callable[..., object]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


@cache
def _helpers(function: Callable[..., object]) -> tuple[Callable[..., object], ...]:
    """The functions and classes of tests/ that `function` calls (a helper that runs `shopper run`)."""
    namespace: dict[str, Any] = getattr(function, "__globals__", None) or vars(
        sys.modules.get(function.__module__, sys)
    )
    found = []
    for name in set(CALLED.findall(_source(function))):
        helper = namespace.get(name)
        if (inspect.isfunction(helper) or inspect.isclass(helper)) and _in_tests(helper.__module__):
            found.append(helper)
    return tuple(found)


@cache
def _in_tests(module_name: str) -> bool:
    module_file = getattr(sys.modules.get(module_name), "__file__", None)
    return module_file is not None and Path(module_file).resolve().parent == TESTS


@cache
def _calls(function: Callable[..., object], depth: int = 3) -> str:
    """The source of `function` and of the helpers of tests/ it calls, `depth` calls deep."""
    texts = [_source(function)]
    if depth > 1:
        texts.extend(_calls(helper, depth - 1) for helper in _helpers(function))
    return "\n".join(texts)


def _sources(item: pytest.Function) -> str:
    """What a test runs: its source, that of every fixture it uses (pytest's closure, so fixtures
    of fixtures), and that of the helpers of tests/ those call."""
    functions: list[Callable[..., object]] = [item.function]
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        # Plugins' fixtures are known by name (BROWSER_FIXTURES); only ours are read.
        functions.extend(d.func for d in definitions if _in_tests(getattr(d.func, "__module__", "")))
    return "\n".join(_calls(function) for function in functions)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        names, source = set(item.fixturenames), _sources(item)
        if names & BROWSER_FIXTURES or any(call in source for call in BROWSER_CALLS):
            item.add_marker(pytest.mark.browser)
        if names & MAIL_FIXTURES or any(call in source for call in MAIL_CALLS):
            item.add_marker(pytest.mark.mail)
        if names & POSTGRES_FIXTURES and not item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.postgres)
        # With workers (`make test` runs two, --dist loadgroup; a plain run ignores the mark) a
        # module's tests stay together, so its module fixtures (a real app, a walked journey) start
        # once, and the demo's readers go to one worker, so the demo is walked once per test run.
        item.add_marker(pytest.mark.xdist_group("demo" if "demo" in names else item.module.__name__))


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
def postgres_server() -> Iterator[Postgres]:
    """One real PostgreSQL per test process (each xdist worker starts its own): tests take a database."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: Postgres, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new empty database of the shared server, as a store URL; its password where libpq looks."""
    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's own tests run against both backends: a SQLite file, and a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "shopper.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """`shopper demo` walked once for the whole test run, with the shipped fault profile: its
    output folder (the store is demo.db there) and its gap-report.json."""
    out = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        # The statuses the fault profile makes: on a busy runner the slow ones would be held back
        # as runner-busy (tests/test_runner_busy_demo.py walks the demo that way).
        [sys.executable, "-m", "harness", "demo", "--out", str(out), "--quiet", "--no-runner-check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert str(out / "gap-report.html") in done.stdout
    document: dict[str, Any] = json.loads((out / "gap-report.json").read_text())
    return out, document
