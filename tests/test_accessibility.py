"""Accessibility as a promise of the journey map, checked by axe-core in a real Chromium.

Real parts: `shopper run` drives Chromium against a form page served here on loopback; axe-core
(bundled with axe-playwright-python) runs in that page; the findings go to a real SQLite store and
the report is written from it as `shopper report` writes it (without the runner's health, so a busy
test machine cannot hold a verdict back: that rule has tests of its own).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from journeys import html_site, serve, shopper_run, stored_observations, write_features
from test_report_schema import errors_of

from harness.analysis.gaps import analyse
from harness.map.loading import load_map
from harness.report.gap_report import write_report
from harness.report.window import Window
from harness.store.sqlite import open_store

PASSWORD = "A11y-s3cret-pw"

MAP = """\
journey: Accessible signup
version: v1
segments: [self-serve]
stages:
  - id: signup
    accessibility: {max: serious}   # every page of the stage: nothing serious or worse
    touchpoints:
      - {id: signup-page, channel: form, owner: Product, url: /signup, expect: {within: 5s, fail_after: 10s}}
  - id: browse
    touchpoints:
      # The same form, promising nothing: it is not judged on accessibility.
      - {id: survey-page, channel: form, owner: Research, url: /survey, expect: {within: 5s, fail_after: 10s}}
"""

FEATURE = """\
Feature: Accessible signup

  @stage:signup
  Scenario: I open the signup form
    Given I open the signup page

  @stage:browse
  Scenario: I open the survey
    Given I open the survey page
"""


def form_page(labelled: bool) -> Any:
    # The field's selector carries the customer's password (it must reach neither the store nor the
    # report) and markup (it must stay text in the report).
    field_id = html.escape(f"code-{PASSWORD}-<xss>")
    label = f'<label for="{field_id}">Promo code</label>' if labelled else ""

    def render(path: str) -> str:
        return (
            '<!doctype html><html lang="en"><head><title>Form</title></head><body><main>'
            f'<h1>Sign up</h1><form>{label}<input id="{field_id}" name="code">'
            "<button>Go</button></form></main></body></html>"
        )

    return render


def record(
    root: Path, name: str, labelled: bool, journey_map: str = MAP, feature: str = FEATURE, render: Any = None
) -> Path:
    folder = root / name
    (folder / "map.yaml").parent.mkdir(parents=True, exist_ok=True)
    (folder / "map.yaml").write_text(journey_map)
    features = write_features(folder / "features", feature)
    patch = pytest.MonkeyPatch()
    patch.setenv("SHOPPER_PASSWORD", PASSWORD)
    try:
        with serve(html_site(render or form_page(labelled))) as url:
            shopper_run(url, features, folder / "obs.db", "--quiet", journey_map=folder / "map.yaml")
    finally:
        patch.undo()
    return folder


def report(folder: Path) -> tuple[dict[str, Any], str]:
    store = open_store(folder / "obs.db")
    try:
        run_ids = [run.run_id for run in store.runs()]
        analysis = analyse(
            load_map(folder / "map.yaml"),
            store.analysis_frame(run_ids),
            accessibility=store.accessibility_checks(run_ids),
        )
        runs = store.runs()
    finally:
        store.close()
    html_path, json_path = write_report(analysis, Window(runs=runs), folder / "report")
    return json.loads(json_path.read_text()), html_path.read_text()


def verdict(document: dict[str, Any], touchpoint: str) -> dict[str, Any]:
    for stage in document["stages"]:
        for found in stage["touchpoints"]:
            if found["id"] == touchpoint:
                return dict(found["segments"]["self-serve"])
    raise AssertionError(f"no touchpoint {touchpoint}")


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield record(tmp_path_factory.mktemp("a11y"), "unlabelled", labelled=False)


def test_a_missing_label_fails_the_touchpoint_that_promises_accessibility(unlabelled: Path) -> None:
    document, page = report(unlabelled)
    assert errors_of(document) == []
    signup = verdict(document, "signup-page")
    assert signup["status"] == "failing"
    assert signup["gap"].startswith("label (") and "Form elements must have labels" in signup["gap"]
    assert signup["expected"]["accessibility"] == "serious"
    (found,) = [entry for entry in document["accessibility"] if entry["touchpoint_id"] == "signup-page"]
    (label,) = [rule for rule in found["rules"] if rule["rule"] == "label"]
    assert label["impact"] in ("serious", "critical") and label["breaks_promise"]
    assert label["nodes"] == 1 and label["help_url"].startswith("https://dequeuniversity.com/rules/axe/")
    # Charged to the owner, in the words of the customer it shuts out.
    (action,) = [action for action in document["actions"] if action["touchpoint_id"] == "signup-page"]
    assert action["owner"] == "Product" and "screen reader" in action["what_to_fix"]
    assert "label (" in action["what_to_fix"]
    # Evidence in the card: the rule, its impact, its elements and a link to its help.
    assert f'href="{html.escape(label["help_url"])}"' in page
    assert "Form elements must have labels" in page


def test_a_touchpoint_that_promises_nothing_is_not_judged(unlabelled: Path) -> None:
    document, _ = report(unlabelled)
    # The survey has the same missing label; it promised nothing, so axe never ran there.
    assert verdict(document, "survey-page")["status"] == "met"
    assert {entry["touchpoint_id"] for entry in document["accessibility"]} == {"signup-page"}
    store = open_store(unlabelled / "obs.db")
    try:
        checks = store.accessibility_checks([run.run_id for run in store.runs()])
    finally:
        store.close()
    assert [check.touchpoint for check in checks] == ["signup-page"]


def test_nothing_from_the_page_reaches_the_report_unescaped_or_unredacted(unlabelled: Path) -> None:
    document, page = report(unlabelled)
    (found,) = document["accessibility"]
    (label,) = [rule for rule in found["rules"] if rule["rule"] == "label"]
    (target,) = label["targets"]
    assert "•••" in target and "xss" in target  # the selector was kept, its secret hidden
    assert PASSWORD not in json.dumps(document) and PASSWORD not in page
    assert "<xss" not in page and "&lt;xss" in page
    assert PASSWORD not in (unlabelled / "obs.db").read_bytes().decode("utf-8", "replace")


def test_axe_runs_after_the_steps_clock_stopped(unlabelled: Path) -> None:
    store = open_store(unlabelled / "obs.db")
    try:
        run_ids = [run.run_id for run in store.runs()]
        (check,) = store.accessibility_checks(run_ids)
    finally:
        store.close()
    observations = stored_observations(unlabelled / "obs.db")
    same = (observations["run_id"] == check.run_id) & (observations["seq"] == check.seq)
    (visit,) = observations[same].itertuples()
    assert visit.touchpoint == "signup-page" and visit.outcome == "passed"
    # The step's wall time (what the touchpoint's figures come from) ended before axe began: axe's
    # time is the harness's. A millisecond allows for the two clocks the moments are read from.
    started = dt.datetime.fromisoformat(str(visit.started_at))
    clock_stopped = started + dt.timedelta(milliseconds=float(visit.wall_ms))
    assert check.checked_at >= clock_stopped - dt.timedelta(milliseconds=1)


def test_the_same_page_with_its_label_meets_the_promise_again(tmp_path: Path) -> None:
    folder = record(tmp_path, "labelled", labelled=True)
    document, _ = report(folder)
    assert verdict(document, "signup-page")["status"] == "met"
    (found,) = document["accessibility"]
    assert found["checked"] == 1 and not found["failing"] and found["gap"] == ""
    assert all(not rule["breaks_promise"] for rule in found["rules"])


BROKEN_MAP = """\
journey: Broken axe
version: v1
segments: [self-serve]
stages:
  - id: signup
    accessibility: {max: minor}
    touchpoints:
      - {id: signup-page, channel: form, owner: Product, url: /signup, expect: {within: 5s, fail_after: 10s}}
"""

BROKEN_FEATURE = """\
Feature: Broken axe

  @stage:signup
  Scenario: I open the signup form
    Given I open the signup page
"""


def test_axe_that_cannot_run_on_the_page_is_a_harness_error_not_the_owners(tmp_path: Path) -> None:
    # The page takes the name axe-core registers under, so axe cannot run there: a script of the page
    # broke the harness's check. The unlabelled field would fail the promise had axe run.
    taken = (
        "<script>Object.defineProperty(window, 'axe', {value: {run: () =>"
        " Promise.reject(new Error('the page broke it'))}, writable: false, configurable: false});</script>"
    )

    def render(path: str) -> str:
        return f'<!doctype html><html lang="en"><title>Form</title>{taken}<main><input name="code"></main>'

    folder = record(tmp_path, "broken", False, BROKEN_MAP, BROKEN_FEATURE, render)
    document, page = report(folder)
    signup = verdict(document, "signup-page")
    assert signup["status"] == "met" and signup["gap"] == ""
    (found,) = document["accessibility"]
    assert (found["errors"], found["checked"], found["failing"]) == (1, 0, False)
    assert found["last_error"] == "axe could not run on the page: the page broke it"
    assert not [action for action in document["actions"] if action["owner"] == "Product"]
    # The card says so, for whoever runs the harness.
    assert "axe could not run on 1 visit(s): a scenario to fix, not the owner's" in page
