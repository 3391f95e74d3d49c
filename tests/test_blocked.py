"""Blocked, not missing: what an attempt never reached is blocked by what stopped it, and says how."""

from __future__ import annotations

import pandas as pd

from harness.analysis.blocked import blocked_by


def attempt(stopped_by: str) -> pd.DataFrame:
    rows = [
        ("r1", "n1", 1, 1, "login-page", "s", stopped_by),
        ("r1", "n1", 1, 2, "account-page", "s", "skipped"),
        ("r1", "n1", 1, 3, "login-page", "s", "skipped"),  # back where it stopped: not blocked by itself
    ]
    columns = ["run_id", "node_id", "attempt", "seq", "touchpoint", "segment", "outcome"]
    return pd.DataFrame(rows, columns=columns)


def test_a_failure_blocks_what_comes_after_it() -> None:
    assert blocked_by(attempt("failed")) == {("account-page", "s"): ("login-page", "failed")}


def test_a_step_the_harness_could_not_run_blocks_as_a_scenario_to_fix_not_a_failure() -> None:
    assert blocked_by(attempt("error")) == {("account-page", "s"): ("login-page", "error")}


def test_nothing_is_blocked_when_every_step_ran() -> None:
    frame = attempt("passed")
    frame.loc[frame["outcome"] == "skipped", "outcome"] = "passed"
    assert blocked_by(frame) == {}
