"""The inbox audit: what each synthetic customer received, per stage, against the map's limits."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from dovecot import Dovecot
from journeys import DEMO_MAP, ROOT, shopper_run

from harness.analysis.inbox_audit import inbox_audit
from harness.cli import main
from harness.demo import load_faults_text, start_acme
from harness.map.loading import load_map
from harness.observation import MessageReceived
from harness.store.sqlite import open_store

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def message(customer: str, stage: str, sender: str, subject: str, minute: int = 0) -> MessageReceived:
    return MessageReceived(
        run_id="r1",
        node_id=f"scenario-{customer}",
        segment="self-serve",
        stage=stage,
        address=f"shopper+r1-{customer}@example.test",
        key=f"{customer}-{subject}",
        received_at=T0 + dt.timedelta(minutes=minute),
        sender=sender,
        sender_domain=sender.split("@")[1],
        subject=subject,
        date_header=T0 + dt.timedelta(minutes=minute, seconds=-2),
    )


def test_limits_are_per_customer_and_stage() -> None:
    journey_map = load_map(DEMO_MAP)  # onboard: max_messages 2, max_senders 1; signup: max_messages 1
    audit = inbox_audit(
        journey_map,
        [
            # Two customers got one confirmation each: one message per customer, within the limit.
            message("1", "signup", "no-reply@acme.test", "Confirm"),
            message("2", "signup", "no-reply@acme.test", "Confirm"),
            # One customer got three onboarding messages from two systems.
            message("1", "onboard", "hello@acme.test", "Welcome", 1),
            message("1", "onboard", "tips@news.acme-mail.test", "Tips", 2),
            message("1", "onboard", "billing@acme.test", "Your invoice", 3),
        ],
    )
    signup, onboard = audit
    assert (signup.stage_id, signup.messages, signup.customers, signup.most_messages) == ("signup", 2, 2, 1)
    assert signup.findings == []
    assert signup.kinds[0].received == 2 and signup.kinds[0].date_to_delivery_ms == 2000
    assert onboard.most_messages == 3 and onboard.most_senders == 2
    assert onboard.findings == [
        "Onboard: one customer got 3 messages; the map allows 2",
        "Onboard: one customer heard from 2 sending systems (acme.test, news.acme-mail.test);"
        " the map allows 1",
    ]
    assert onboard.owner == "Customer Success"  # owns the stage's email touchpoints


def test_every_message_is_recorded_with_the_stage_it_arrived_in(dovecot: Dovecot, tmp_path: Path) -> None:
    store = tmp_path / "obs.db"
    # The onboarding journey over IMAP: confirmation at signup, welcome and tips after the first login.
    with start_acme(load_faults_text("email_delay_s: {tips: 0.5}\n"), dovecot.maildir) as acme:
        status = shopper_run(
            acme.url,
            ROOT / "scenarios",
            store,
            "--segment",
            "self-serve",
            "--quiet",
            "--mailbox",
            dovecot.url(),
            "--",
            "-k",
            "first_time",
        )
    assert status == 0
    opened = open_store(store)
    try:
        received = opened.messages([run.run_id for run in opened.runs()])
    finally:
        opened.close()
    seen = [(m.stage, m.sender, m.subject, m.touchpoint) for m in received]
    assert seen == [
        ("signup", "no-reply@acme.test", "Confirm your Acme account", "confirmation-email"),
        ("onboard", "hello@acme.test", "Welcome to Acme", "welcome-email"),
        # No step waited for it; the audit at the run's end still found it, half a second later.
        ("onboard", "tips@news.acme-mail.test", "3 tips for your first week with Acme", None),
    ]
    assert len({m.address for m in received}) == 1 and received[0].address.startswith("shopper+")
    assert all(m.received_at is not None and m.date_header is not None for m in received)
    assert all(m.problems == "" for m in received)

    out = tmp_path / "report"
    assert main(["report", "--store", str(store), "--out", str(out)]) == 1
    document = json.loads((out / "gap-report.json").read_text())
    [onboard] = [e for e in document["inbox"] if e["stage_id"] == "onboard"]
    assert onboard["senders"] == ["acme.test", "news.acme-mail.test"]
    assert onboard["findings"][0].startswith("Onboard: one customer heard from 2 sending systems")
    html = (out / "gap-report.html").read_text()
    assert "What the customer received" in html and "news.acme-mail.test" in html


def test_what_an_email_says_reaches_the_report_as_text(tmp_path: Path) -> None:
    import pandas as pd

    from harness.analysis.gaps import analyse
    from harness.report.gap_report import write_report
    from harness.report.window import Window
    from harness.store.columns import OBSERVATION_COLUMNS

    hostile = message(
        "1", "onboard", "evil@acme.test", '<script>window.__xss=1</script><img src=x onerror="alert(1)">'
    )
    hostile.problems = "</td><b>bold</b>"
    analysis = analyse(load_map(DEMO_MAP), pd.DataFrame(columns=OBSERVATION_COLUMNS), messages=[hostile])
    html_path, json_path = write_report(analysis, Window(runs=[]), tmp_path)
    page = html_path.read_text()
    assert "<script>window.__xss" not in page and "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in page
    assert json.loads(json_path.read_text())["inbox"][0]["kinds"][0]["subject"] == hostile.subject
