"""The bundled demo end to end: Acme up, the demo journey walked in Chromium, the report read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from journeys import longest_wall_ms, stored_observations
from playwright.sync_api import sync_playwright

from harness.cli import main
from harness.demo import DEFAULT_FAULTS, load_faults
from harness.record.browser import launch_options

# The demo is walked once per test run (tests/conftest.py's `demo`, the shipped fault profile);
# every test here reads that one walk.

SHIPPED = load_faults(DEFAULT_FAULTS)


def _steps(out: Path, segment: str, words: str) -> pd.DataFrame:
    """The demo's stored observations of one segment whose step says `words`."""
    observations = stored_observations(out / "demo.db")
    mine = observations[observations["segment"] == segment]
    return mine[mine["step"].str.contains(words, regex=False)]


def test_a_fault_profile_that_cannot_be_read_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--out", str(tmp_path / "out"), "--faults", str(tmp_path / "none.yaml")]) == 2
    assert "fault profile not found" in capsys.readouterr().err


def test_the_demo_report_covers_the_journey(demo: tuple[Path, dict[str, Any]]) -> None:
    _, document = demo
    stages = document["stages"]
    touchpoints = [tp for stage in stages for tp in stage["touchpoints"]]
    assert len(stages) >= 5 and len(touchpoints) >= 12
    assert {tp["channel"] for tp in touchpoints} >= {"web", "form", "email"}
    assert document["segments"] == ["self-serve", "enterprise"]
    assert document["map"] == {
        "journey": "Acme self-serve trial",
        "version": "2026-11-23",
        "path": document["map"]["path"],
        "recorded_version": "2026-11-23",  # the map the runs recorded: nothing changed since
        "changes": [],
        "changed_expectations": [],
    }
    assert document["window"]["runs"] == 2
    assert {run["state"] for run in document["runs"]} == {"finished"}
    statuses = {v["status"] for tp in touchpoints for v in tp["segments"].values()}
    assert statuses >= {"met", "slow", "failing", "untested"}
    for tp in touchpoints:
        for verdict in tp["segments"].values():
            assert set(verdict["observed"]) >= {
                "n",
                "success_rate",
                "first_attempt_success_rate",
                "p50_ms",
                "p95_ms",
            }
            assert set(verdict["expected"]) >= {"within_ms", "fail_after_ms", "success_rate", "emotion"}
    assert all({"priority", "owner", "touchpoint_id", "what_to_fix"} <= set(a) for a in document["actions"])
    assert document["actions"][0]["status"] == "failing"


def test_segments_see_different_expectations(demo: tuple[Path, dict[str, Any]]) -> None:
    _, document = demo
    pricing = next(
        tp for stage in document["stages"] for tp in stage["touchpoints"] if tp["id"] == "pricing-page"
    )
    assert pricing["segments"]["self-serve"]["expected"]["within_ms"] == 2000
    assert pricing["segments"]["enterprise"]["expected"]["within_ms"] == 1000
    # The same page, slowed past the enterprise promise on purpose (an injected delay it cannot beat).
    assert SHIPPED.latency_ms["/pricing"] > 1000
    assert pricing["segments"]["enterprise"]["status"] == "slow"
    # Self-serve is held to its own 2 s: met on a quiet machine, and slow only if this one measured
    # past 2 s (a busy machine may), never judged by enterprise's 1 s.
    self_serve = pricing["segments"]["self-serve"]
    assert self_serve["status"] == ("met" if self_serve["observed"]["p95_ms"] <= 2000 else "slow")


def test_the_demo_report_derives_emotion_first_value_and_evidence(demo: tuple[Path, dict[str, Any]]) -> None:
    out, document = demo
    emotions = [e for e in document["emotions"] if e["segment"] == "self-serve"]
    assert [e["stage_id"] for e in emotions] == [stage["id"] for stage in document["stages"]]
    assert all(-2 <= e["experienced"] <= 2 for e in emotions if e["visits"])
    assert document["emotion_rule"].startswith("each visit")
    first = {f["segment"]: f for f in document["first_value"]}
    assert first["self-serve"]["touchpoint_id"] == "onboarding-checklist"
    assert first["self-serve"]["reached"] == first["self-serve"]["runs"] == 1
    assert first["self-serve"]["p50_ms"] > 0 and first["self-serve"]["expected_ms"] > 0
    help_search = next(
        tp for stage in document["stages"] for tp in stage["touchpoints"] if tp["id"] == "help-search"
    )["segments"]["self-serve"]
    # The error page's own words reach the owner, with a screenshot and a trace to open.
    assert "answered HTTP 500" in help_search["error"] and "Something went wrong" in help_search["error"]
    assert Path(help_search["evidence"]).is_file() and Path(help_search["trace"]).is_file()
    assert help_search["page_url"].endswith("/help/search")
    (point,) = help_search["trend"]  # one run; its visits are the attempt and the retry, both failed
    assert point["failed"] == point["visits"] == 2 and point["p95_ms"] is None
    assert document["previous_window"]["runs"] == 0 and document["movements"] == []
    for name in ("summary.md", "actions.md", "actions.csv", "junit.xml", "observations.csv"):
        assert (out / name).stat().st_size > 0, name
    assert "Help search" in (out / "actions.md").read_text()


def test_the_demo_report_shows_the_inbox(demo: tuple[Path, dict[str, Any]]) -> None:
    out, document = demo
    touchpoints = {tp["id"]: tp for stage in document["stages"] for tp in stage["touchpoints"]}
    # Time to inbox: the shipped profile holds the confirmation email back 1 s after the signup.
    confirmation = touchpoints["confirmation-email"]["segments"]["self-serve"]
    # Measured from the submit's answer; Acme's delay began when the form reached it, during the
    # submit, so the email can seem early by at most the submit's own (wall) time.
    submit_ms = longest_wall_ms(_steps(out, "self-serve", ""), "When I sign up with my details")
    delay_ms = SHIPPED.email_delay_s["confirmation"] * 1000
    assert confirmation["status"] == "met" and confirmation["observed"]["p50_ms"] >= delay_ms - submit_ms
    # Support response: the scenario left the person's reply pending; the demo polled it like
    # `shopper mail poll` does, and Acme's person answers 4 s after the ticket.
    for segment in ("self-serve", "enterprise"):
        reply = touchpoints["support-reply"]["segments"][segment]
        assert reply["status"] == "met", reply
        asked = longest_wall_ms(_steps(out, segment, ""), "When I submit a support request")
        assert reply["observed"]["pending"] == 0
        assert reply["observed"]["p50_ms"] >= SHIPPED.email_delay_s["support-reply"] * 1000 - asked
        assert touchpoints["support-acknowledgement"]["segments"][segment]["status"] == "met"
    onboard = [e for e in document["inbox"] if e["stage_id"] == "onboard"]
    assert {e["segment"] for e in onboard} == {"self-serve", "enterprise"}
    for entry in onboard:
        assert entry["senders"] == ["acme.test", "news.acme-mail.test"]
        assert entry["findings"] == [
            "Onboard: one customer heard from 2 sending systems (acme.test, news.acme-mail.test);"
            " the map allows 1"
        ]
        tips = next(kind for kind in entry["kinds"] if kind["sender_domain"] == "news.acme-mail.test")
        assert tips["touchpoint"] is None  # no step expected it: mail the map does not know
    signup = next(e for e in document["inbox"] if e["stage_id"] == "signup")
    assert signup["findings"] == [] and signup["most_messages"] == 1
    inbox_actions = [a for a in document["actions"] if a["status"] == "too much mail"]
    assert {(a["touchpoint_id"], a["owner"]) for a in inbox_actions} == {
        ("inbox:onboard", "Customer Success")
    }


def test_the_html_report_opens_in_chromium_without_console_errors(demo: tuple[Path, dict[str, Any]]) -> None:
    out, document = demo
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options({}, playwright.chromium.executable_path))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto((out / "gap-report.html").as_uri())
        assert page.get_by_role("heading", name="Gap report: Acme self-serve trial").is_visible()
        # The verdict, in one sentence, is what a reader meets right under the title.
        header = page.locator("header").inner_text().splitlines()
        assert [line for line in header if line.strip()][1] == document["summary"]["verdict"]
        # The shipped faults: the signup form's unlabelled field (Product), the help search broken
        # (Support), the pricing page slowed (Marketing); the worst is named in its own words. The
        # demo is walked without the runner check, so a busy machine may add a slow touchpoint: the
        # count is the report's own, the shipped three are always among them.
        verdict = document["summary"]["verdict"]
        breaking = [
            tp
            for stage in document["stages"]
            for tp in stage["touchpoints"]
            if any(v["status"] in ("failing", "flaky", "slow") for v in tp["segments"].values())
        ]
        assert verdict.startswith(f"{len(breaking)} touchpoints break the map's promises; ")
        assert {"Product", "Support", "Marketing"} <= {tp["owner"] for tp in breaking}
        assert "; the worst is Signup page: label (critical): Form elements must have labels" in verdict
        # The onboarding mail from two systems breaks the map's max_senders: said in the sentence too.
        mail = "; 1 stage sends the customer too much mail (Customer Success)"
        assert mail in document["summary"]["verdict"]
        assert page.locator(".card.failing").count() >= 2
        assert page.locator("#actions tr").count() >= 2
        page.screenshot(path=str(out / "report.png"))
        for section in ("#journey-strip", "#emotion-curve svg", "#action-plan", "#inbox"):
            located = page.locator(section).first
            assert located.is_visible(), section
            box = located.bounding_box()
            assert box is not None and box["width"] > 600 and box["height"] > 100, (section, box)
        inbox = page.locator("#inbox .seg-pane:visible")
        assert inbox.locator(".finding").first.is_visible()
        assert "2 sending systems" in inbox.locator(".finding").first.inner_text()
        assert inbox.get_by_role("cell", name="Support reply").is_visible()
        evidence = page.locator("#evidence img[src^='data:image/png']").first
        evidence.scroll_into_view_if_needed()
        assert evidence.evaluate("image => image.naturalWidth") > 0
        assert page.locator("#evidence a[href$='.zip']").count() >= 2
        browser.close()
    assert errors == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests


def test_pricing_latency_is_measured(demo: tuple[Path, dict[str, Any]]) -> None:
    _, document = demo
    touchpoints = {tp["id"]: tp for stage in document["stages"] for tp in stage["touchpoints"]}
    pricing, home = touchpoints["pricing-page"]["segments"], touchpoints["home-page"]["segments"]
    injected = SHIPPED.latency_ms["/pricing"]
    for segment in ("self-serve", "enterprise"):
        p50 = pricing[segment]["observed"]["p50_ms"]
        assert p50 >= injected, (segment, p50)  # no measure can beat the delay Acme adds
        # The home page, with no delay, took less in the same walk: the delay is the pricing page's.
        assert home[segment]["observed"]["p50_ms"] < p50, (segment, home[segment]["observed"], p50)


def test_time_to_inbox_runs_from_the_submit_that_sent_the_email(demo: tuple[Path, dict[str, Any]]) -> None:
    out, _ = demo
    observations = stored_observations(out / "demo.db")
    mine = observations[observations["segment"] == "self-serve"]
    signup = mine[mine["feature"].str.contains("signup")]
    email = signup[signup["touchpoint"] == "confirmation-email"]
    assert list(email["outcome"]) == ["passed"]
    # Timed from the end of the step that sent it; Acme's delay began when the form reached it,
    # during that step, so the email can seem early by at most the submit's own wall time (all its
    # parts: the form's reply and the page it led to).
    submit_ms = signup[signup["step"] == "When I sign up with my details"]["wall_ms"].sum()
    delay_ms = SHIPPED.email_delay_s["confirmation"] * 1000
    assert email["duration_ms"].iloc[0] >= delay_ms - submit_ms


def test_the_demo_signup_page_fails_its_accessibility_promise(demo: tuple[Path, dict[str, Any]]) -> None:
    out, document = demo
    # The shipped profile drops a label on /signup; the demo map promises the page nothing serious.
    assert SHIPPED.unlabelled_fields == ["/signup"]
    signup = next(
        tp for stage in document["stages"] for tp in stage["touchpoints"] if tp["id"] == "signup-page"
    )
    played = [verdict for verdict in signup["segments"].values() if verdict["observed"]["n"]]
    assert played and all(v["status"] == "failing" and v["gap"].startswith("label (") for v in played)
    assert all(v["expected"]["accessibility"] == "serious" for v in signup["segments"].values())
    found = [entry for entry in document["accessibility"] if entry["touchpoint_id"] == "signup-page"]
    assert found and all(entry["failing"] and entry["errors"] == 0 for entry in found)
    # The one deliberate violation: Acme's pages are otherwise clean (its colours pass contrast).
    assert [rule["rule"] for rule in found[0]["rules"]] == ["label"]
    (label,) = found[0]["rules"]
    assert label["nodes"] == 1 and label["targets"] == ["#company"]
    assert any(a["touchpoint_id"] == "signup-page" and a["owner"] == "Product" for a in document["actions"])
    assert label["help_url"] in (out / "gap-report.html").read_text()
    # No other page promised accessibility, so none was judged on it.
    assert {entry["touchpoint_id"] for entry in document["accessibility"]} == {"signup-page"}
