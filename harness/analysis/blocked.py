"""Blocked, not missing: touchpoints a scenario would have reached had an earlier step not failed.

After a failed or errored step the rest of the attempt is recorded as skipped, each step still
bound to the touchpoint it would have exercised (see Recorder.scenario_ended). A touchpoint with
no visit but such skipped steps is not short of a scenario: it waits for the failure before it.
"""

from __future__ import annotations

import pandas as pd

from harness.analysis.visits import FAILED

KEYS = ["run_id", "node_id", "attempt"]


def blocked_by(observations: pd.DataFrame) -> dict[tuple[str, str], tuple[str, str]]:
    """(touchpoint, segment) -> (the touchpoint that stopped an attempt before reaching it, its outcome).

    The outcome tells the two apart: "failed" (the touchpoint broke: its owner's to fix) or
    "error" (the harness could not run the step there: a scenario to fix, nobody's gap).
    """
    if not len(observations):
        return {}
    columns = [*KEYS, "seq", "touchpoint", "segment", "outcome"]
    # Only failed and skipped rows matter: a small slice even of a window of millions.
    # isin on the categorical column itself: turning a million outcomes into strings first cost more
    # than the rest of this function.
    frame = observations.loc[observations["outcome"].isin([*FAILED, "skipped"]).to_numpy(), columns].copy()
    for column in ("run_id", "touchpoint", "segment", "outcome"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    failed = frame[frame["outcome"].isin(FAILED) & frame["touchpoint"].notna()]
    # The failure that stopped an attempt is its last one (a step split in parts fails in its last).
    stopped = failed.sort_values("seq").groupby(KEYS, sort=False).last()[["seq", "touchpoint", "outcome"]]
    stopped.columns = ["seq_blocker", "touchpoint_blocker", "outcome_blocker"]
    skipped = frame[(frame["outcome"] == "skipped") & frame["touchpoint"].notna()]
    joined = skipped.join(stopped, on=KEYS, how="inner")
    after = joined["seq"] > joined["seq_blocker"]
    joined = joined[after & (joined["touchpoint"] != joined["touchpoint_blocker"])]
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for touchpoint, segment, blocker, outcome in joined.sort_values("seq")[
        ["touchpoint", "segment", "touchpoint_blocker", "outcome_blocker"]
    ].itertuples(index=False, name=None):
        found[(str(touchpoint), str(segment))] = (str(blocker), str(outcome))
    return found
