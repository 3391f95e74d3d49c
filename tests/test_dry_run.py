"""`shopper run --dry-run` on the field zoo: every page opened, every field and button found, nothing sent.

The zoo's server records every page asked for and every form it received, so the test sees that the
dry run looked everywhere a run would and sent nothing; a deliberately broken feature trips.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from journeys import COLLECTOR, write_features
from zoo_site import ZOO, zoo_site

from harness.cli import main

EMAIL_SCENARIO = """@stage:signup
Feature: A signup that sends an email

  Scenario: The confirmation is waited for
    Given I open "/steps/email"
    When I fill in "Work email" with my email
    And I receive the welcome email
    And I press "Continue"
    Then I should see "Step 2 of 2"
"""

COMING_BACK = """@stage:signup
Feature: After a form a dry run does not send

  Scenario: The next page is opened by its url
    Given I open the django signup page
    When I sign up with my details
    Then I am on the django welcome page
    And I should see "Welcome aboard"
    When I fill in "Nickname" with "Zed"

  Scenario: A page that cannot be opened by its url stays unchecked
    Given I open "/steps/email"
    When I fill in "Work email" with my email
    And I press "Continue"
    Then I am on the two step signup page
    And I fill in "Nickname" with "Zed"
"""


def features(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(ZOO / "features" / f"{name}.feature", folder)
    (folder / "test_journey.py").write_text(COLLECTOR)
    return folder


def dry_run(url: str, folder: Path, store: Path) -> int:
    args = ["run", "--dry-run", "--quiet", "--base-url", url, "--map", str(ZOO / "zoo.yaml")]
    return main([*args, "--features", str(folder), "--store", str(store)])


def test_a_dry_run_lists_what_would_trip_and_sends_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = features(tmp_path / "features", "signup", "browse", "help", "broken")
    (folder / "coming_back.feature").write_text(COMING_BACK)
    store = tmp_path / "shopper.db"
    with zoo_site() as (url, received):
        status = dry_run(url, folder, store)
    out = capsys.readouterr().out
    assert status == 1, out
    assert "dry run (visitor): 4 step(s) would trip" in out
    lines = [line.strip() for line in out.splitlines()]
    assert (
        'features/broken.feature:6: When I fill in "Phone number" with "555 0100" — no field called'
        ' "Phone number" on /feedback (HTTP 200); the fields there: "Feedback", "Newsletter email"'
        " [scenario to fix]"
    ) in lines
    assert any(
        line.startswith('features/broken.feature:11: And I press "Send" — 2 buttons or links on /feedback')
        for line in lines
    ), out
    # Past a form not sent, the next page opened by its url is checked on (its fields, not its text).
    assert (
        'features/coming_back.feature:9: When I fill in "Nickname" with "Zed" — no field called "Nickname"'
        " on /django/welcome (HTTP 200); the fields there: none [scenario to fix]"
    ) in lines
    assert 'coming_back.feature:8: And I should see "Welcome aboard" — not checked: the page was' in out
    # /steps answers 404 by its url: the customer could not be there without pressing "Continue".
    assert "features/coming_back.feature:15: Then I am on the two step signup page — not checked" in out
    assert 'features/coming_back.feature:16: And I fill in "Nickname" with "Zed" — not checked' in out
    # /moved sends the customer on to a 404 page by script, 200 ms after it loads: the open step
    # sees it when it is still measuring the page then (a busy runner), else the next step does,
    # before it looks for any field. Either way the touchpoint fails, never the scenario.
    assert any(
        line.startswith(
            (
                'features/broken.feature:15: And I open "/moved" — ',
                'features/broken.feature:16: When I fill in "Email" with my email — ',
            )
        )
        and "HTTP 404" in line
        and line.endswith("[the touchpoint would fail]")
        for line in lines
    ), out
    trips = [line for line in lines if line.endswith("]")]
    assert len(trips) == 4 and not any("signup.feature" in trip or "help.feature" in trip for trip in trips)
    # Every page the scenarios open, and the one a plain link leads to; no form was sent.
    assert {"/django/signup", "/rails/users/new", "/steps/email", "/late", "/flask/login"} <= set(
        received.opened
    )
    assert {"/", "/pricing", "/search", "/support", "/feedback"} <= set(received.opened)
    assert received.forms == []
    assert "/steps/password" not in received.opened  # reached only by pressing "Continue"
    assert "/django/welcome" in received.opened
    assert not store.exists()  # nothing recorded


def test_a_dry_run_with_nothing_to_trip_exits_0_and_skips_email(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_features(tmp_path / "features", EMAIL_SCENARIO)
    zoo_map = tmp_path / "zoo.yaml"
    zoo_map.write_text(
        (ZOO / "zoo.yaml").read_text()
        + "      - {id: welcome-email, name: Welcome email, channel: email, owner: Product,"
        ' subject: "Welcome", expect: {within: 1m, fail_after: 5m}}\n'
    )
    with zoo_site() as (url, received):
        args = ["run", "--dry-run", "--quiet", "--base-url", url, "--map", str(zoo_map)]
        status = main([*args, "--features", str(folder), "--store", str(tmp_path / "s.db")])
    out = capsys.readouterr().out
    # No --mailbox: a real run would need one; a dry run reads no email, so it does not.
    assert status == 0, out
    assert "dry run (visitor): nothing would trip" in out
    lines = [line.strip() for line in out.splitlines()]
    assert "2 step(s) not checked:" in lines
    email = "features/journey.feature:7: And I receive the welcome email — not checked:"
    assert f"{email} a dry run reads no email" in lines
    # What "Continue" leads to is not known without pressing it.
    after = 'features/journey.feature:9: Then I should see "Step 2 of 2" — not checked'
    assert any(line.startswith(after) for line in lines), out
    assert received.forms == [] and [page for page in received.opened if page != "/favicon.ico"] == [
        "/steps/email"
    ]


def test_a_dry_run_of_a_missing_features_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = dry_run("http://127.0.0.1:9", tmp_path / "nowhere", tmp_path / "s.db")
    assert status == 2
    assert "features folder not found" in capsys.readouterr().err
