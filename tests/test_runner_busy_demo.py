"""Done when: two CPU burners beside the demo add no slow verdict a quiet run of the demo lacks.

The quiet run is the test run's own demo (the `demo` fixture: every segment, the shipped fault
profile, its slow verdicts never held back); the loaded one walks the demo's journey as one
self-serve customer beside the burners, in real Chromium. Every slow verdict of the loaded run is
either one the quiet run has too, or held back as runner-busy, and charged to no owner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from journeys import ROOT, shopper_run
from test_runner_health import burner_count, burners

from harness.analysis.runner_rule import OPERATOR
from harness.cli import main
from harness.demo import DEFAULT_FAULTS, load_faults, start_acme


def _demo_journey(acme_url: str, maildir: Path, out: Path) -> dict[str, Any]:
    """The demo's journey, as one self-serve customer, against the demo's Acme; its report read back."""
    store = out / "demo.db"
    args = ("--segment", "self-serve", "--retries", "1", "--quiet", "--mailbox", f"maildir:{maildir}")
    assert shopper_run(acme_url, ROOT / "scenarios", store, *args) == 1  # the help search is broken
    assert main(["report", "--store", str(store), "--out", str(out)]) == 1
    document: dict[str, Any] = json.loads((out / "gap-report.json").read_text())
    return document


def _verdicts_by_status(document: dict[str, Any], status: str) -> set[tuple[str, str]]:
    return {
        (tp["id"], segment)
        for stage in document["stages"]
        for tp in stage["touchpoints"]
        for segment, verdict in tp["segments"].items()
        if verdict["status"] == status
    }


def test_burners_beside_the_demo_add_no_slow_verdict_a_quiet_demo_lacks(
    tmp_path: Path, demo: tuple[Path, dict[str, Any]]
) -> None:
    _, quiet = demo
    with start_acme(load_faults(DEFAULT_FAULTS), tmp_path / "mail") as acme, burners(burner_count()):
        loaded = _demo_journey(acme.url, acme.maildir, tmp_path / "loaded")
    assert [health["busy"] for health in loaded["runner"]] == [True]
    assert _verdicts_by_status(loaded, "slow") <= _verdicts_by_status(quiet, "slow")
    held = _verdicts_by_status(loaded, "runner-busy")
    charged = {(a["touchpoint_id"], a["segment"]) for a in loaded["actions"] if a["owner"] != OPERATOR}
    assert not held & charged
    if held:
        assert any(a["owner"] == OPERATOR and a["status"] == "runner-busy" for a in loaded["actions"])
    # Failures are never held back: the help search the fault profile breaks fails either way.
    assert ("help-search", "self-serve") in _verdicts_by_status(loaded, "failing")
