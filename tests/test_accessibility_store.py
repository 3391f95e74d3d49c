"""The store's accessibility table: axe's findings kept per checked visit, an older store opening."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from test_store import OLD_SCHEMA, T0, make_obs, make_run

from harness.observation import (
    AccessibilityChecked,
    AccessibilityViolation,
    RunFinished,
    RunStarted,
    StepObserved,
)
from harness.store.sqlite import open_store

LABEL = AccessibilityViolation(
    rule="label",
    impact="critical",
    help="Form elements must have labels",
    help_url="https://dequeuniversity.com/rules/axe/4.10/label",
    nodes=1,
    targets=["#company"],
)


def _check(run_id: str, seq: int, *, error: str = "") -> AccessibilityChecked:
    return AccessibilityChecked(
        run_id=run_id,
        seq=seq,
        node_id="n",
        segment="self-serve",
        touchpoint="signup-page",
        url="http://acme.test/signup",
        violations=[] if error else [LABEL],
        error=error,
        checked_at=T0 + dt.timedelta(seconds=seq),
    )


def test_a_store_from_before_the_table_opens_and_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    store = open_store(path)
    try:
        assert store.accessibility_checks(["old"]) == []  # its visits were never checked
        store.handle(StepObserved(make_obs("old", 2, T0, touchpoint="signup-page")))
        store.handle(_check("old", 2))
        assert store.accessibility_checks(["old"]) == [_check("old", 2)]
    finally:
        store.close()


def test_checks_are_read_back_by_run_and_pruned_with_it(store_url: str) -> None:
    store = open_store(store_url)
    try:
        for run_id in ("r1", "r2"):
            store.handle(RunStarted(make_run(run_id)))
        store.handle(_check("r1", 1))
        store.handle(_check("r2", 2, error="axe could not run on the page: Execution context was destroyed"))
        assert store.accessibility_checks(["r2"]) == [
            _check("r2", 2, error="axe could not run on the page: Execution context was destroyed")
        ]
        assert [check.run_id for check in store.accessibility_checks(["r1", "r2"])] == ["r1", "r2"]
        for run_id in ("r1", "r2"):
            store.handle(RunFinished(run_id, "finished"))
        store.prune(dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
        assert store.accessibility_checks(["r1", "r2"]) == []
    finally:
        store.close()
