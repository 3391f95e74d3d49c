"""Pending expectations: a support reply too slow to hold a browser for, resolved by `shopper mail poll`.

Acme's real support desk answers over real SMTP into the Maildir a real Dovecot serves; the run
reads it over IMAP, leaves the reply pending, and a later process resolves it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from dovecot import PASSWORD, Dovecot
from journeys import ROOT, longest_wall_ms, shopper_run, stored_observations, write_features

from harness.cli import main
from harness.demo import load_faults_text, start_acme
from harness.observation import ExpectationResolved, PendingExpectation, utc_now
from harness.ops.mail_poll import poll
from harness.store.sqlite import open_store

MAP = """\
journey: Acme support
version: test
segments: [self-serve]
stages:
  - id: get-help
    name: Get help
    touchpoints:
      - id: contact-form
        channel: form
        owner: Support
        url: /support
        expect: {{within: 2s, fail_after: 10s}}
      - id: support-acknowledgement
        name: Support acknowledgement
        channel: email
        owner: Support
        subject: "We received your request"
        expect: {{within: 5s, fail_after: 10s}}
      - id: support-reply
        name: Support reply
        channel: email
        owner: Support
        subject: "^Re:"
        moment_of_truth: true
        expect: {{within: {within}, fail_after: {fail_after}}}
"""

FEATURE = """\
@stage:get-help
Feature: Get help
  Scenario: I write to support and a person answers
    Given I open the contact form page
    When I submit a support request about "Invoice shows the wrong plan"
    Then I should see "We received your request"
    And I receive the support acknowledgement email
    And I will receive the support reply email
    And I should see "this step never runs"
"""


@contextmanager
def support_run(
    dovecot: Dovecot, tmp_path: Path, faults: str, within: str, fail_after: str, *extra: str
) -> Iterator[Path]:
    """One run of the support scenario against Acme, mail read over IMAP; Acme stays up inside."""
    journey_map = tmp_path / "support.yaml"
    journey_map.write_text(MAP.format(within=within, fail_after=fail_after))
    features = write_features(tmp_path / "features", FEATURE)
    store = tmp_path / "obs.db"
    with start_acme(load_faults_text(faults), dovecot.maildir) as acme:
        status = shopper_run(
            acme.url,
            features,
            store,
            "--quiet",
            "--mailbox",
            dovecot.url("poll=0.2"),
            *extra,
            journey_map=journey_map,
        )
        assert status == 0  # a pending step ends its scenario: not a failure of the run
        yield store


def _report(store: Path, out: Path) -> dict[str, Any]:
    main(["report", "--store", str(store), "--out", str(out)])
    document: dict[str, Any] = json.loads((out / "gap-report.json").read_text())
    return document


def _reply_verdict(document: dict[str, Any]) -> dict[str, Any]:
    touchpoints = {tp["id"]: tp for stage in document["stages"] for tp in stage["touchpoints"]}
    verdict: dict[str, Any] = touchpoints["support-reply"]["segments"]["self-serve"]
    return verdict


def test_a_reply_is_resolved_by_a_later_poll_with_its_real_response_time(
    dovecot: Dovecot, tmp_path: Path
) -> None:
    with support_run(dovecot, tmp_path, "email_delay_s: {support-reply: 3}\n", "1h", "1d") as store:
        observations = stored_observations(store)
        steps = dict(zip(observations["step"], observations["outcome"], strict=True))
        assert steps["And I will receive the support reply email"] == "pending"
        assert steps['And I should see "this step never runs"'] == "skipped"
        assert steps["And I receive the support acknowledgement email"] == "passed"

        opened = open_store(store)
        [pending] = opened.open_pending()
        opened.close()
        assert pending.touchpoint == "support-reply"
        assert pending.wanted["reference"] == "ACME-1001"  # the ticket the page gave
        assert pending.mailbox == dovecot.url("poll=0.2")  # no password in it: that stays in the environment
        assert pending.deadline - pending.triggered_at == dt.timedelta(days=1)

        before = _report(store, tmp_path / "before")
        assert _reply_verdict(before)["status"] == "pending"
        assert _reply_verdict(before)["observed"]["pending"] == 1
        assert not any(a["touchpoint_id"] == "support-reply" for a in before["actions"])

        # Another process, as a cron job or the scheduler would run it.
        env = {**os.environ, "SHOPPER_IMAP_PASSWORD": PASSWORD}
        polled = subprocess.run(
            [sys.executable, "-m", "harness", "mail", "poll", "--store", str(store), "--wait", "20s"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env=env,
            check=False,
        )
    assert polled.returncode == 0, polled.stdout + polled.stderr
    assert "answered support-reply (self-serve" in polled.stdout
    assert (
        "1 pending expectation(s): 1 answered in time, 0 failed, 0 unread, 0 still pending" in polled.stdout
    )
    assert PASSWORD not in polled.stdout + polled.stderr

    observations = stored_observations(store)
    reply = observations[observations["step"] == "And I will receive the support reply email"]
    assert list(reply["outcome"]) == ["passed"]
    # Acme's person answers 3 s after the ticket opens, which was during the submit; the clock
    # started when the form's answer came, so the reply can seem early by at most the submit's time.
    earliest = 3000 - longest_wall_ms(observations, "When I submit a support request")
    assert float(reply["duration_ms"].iloc[0]) >= earliest
    after = _report(store, tmp_path / "after")
    verdict = _reply_verdict(after)
    assert verdict["status"] == "met"
    assert verdict["observed"]["pending"] == 0
    assert verdict["observed"]["p50_ms"] >= earliest  # its one observation

    opened = open_store(store)
    try:
        assert opened.open_pending() == []
        received = opened.messages([run.run_id for run in opened.runs()])
    finally:
        opened.close()
    # The reply joins the inbox audit, in the stage the customer asked in.
    reply_mail = [m for m in received if m.touchpoint == "support-reply"]
    assert len(reply_mail) == 1 and reply_mail[0].subject.startswith("Re: [ACME-1001]")
    assert reply_mail[0].stage == "get-help" and reply_mail[0].sender_domain == "help.acme.test"
    assert main(["mail", "poll", "--store", str(store)]) == 0  # nothing left: a second poll changes nothing


def test_a_reply_never_sent_turns_failing_after_fail_after(
    dovecot: Dovecot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = "drop_email: [support-reply]\n"
    with support_run(dovecot, tmp_path, faults, "2s", "6s", "--max-wait", "1s") as store:
        opened = open_store(store)
        try:
            [pending] = opened.open_pending()
            # Before fail_after (the poll's clock at the trigger, however long the run took to get
            # here): still pending, and the report says so rather than failing it.
            said: list[str] = []
            early = poll(opened, now=lambda: pending.triggered_at, report=lambda r: said.append(r.describe()))
        finally:
            opened.close()
        assert [result.outcome for result in early.results] == ["pending"]
        assert said[0].startswith("pending  support-reply (self-serve")
        assert _reply_verdict(_report(store, tmp_path / "early"))["status"] == "pending"

        # After it, in real time: `shopper mail poll` fails the touchpoint.
        time.sleep(max(0.0, (pending.deadline - utc_now()).total_seconds()) + 0.2)
        capsys.readouterr()
        assert main(["mail", "poll", "--store", str(store)]) == 1
    out = capsys.readouterr().out
    assert "failed   support-reply (self-serve" in out and "1 failed" in out

    observations = stored_observations(store)
    reply = observations[observations["step"] == "And I will receive the support reply email"]
    assert list(reply["outcome"]) == ["failed"]
    assert float(reply["duration_ms"].iloc[0]) == pytest.approx(6000, abs=1)
    error = str(reply["error"].iloc[0])
    assert 'no email with a subject matching "^Re:" and the reference ACME-1001 reached shopper+' in error
    assert error.endswith("within 6s")
    verdict = _reply_verdict(_report(store, tmp_path / "late"))
    assert verdict["status"] == "failing"
    assert "longer than fail_after 6s" in verdict["gap"] or "succeeded in 0%" in verdict["gap"]


def test_a_reply_after_its_deadline_is_a_failure_with_its_real_time(tmp_path: Path) -> None:
    from harness.mail.mailbox import EmailWanted
    from harness.mail.message import parse_email
    from harness.mail.pending import resolve_one, wanted_to_dict

    triggered = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    pending = PendingExpectation(
        run_id="r1",
        seq=7,
        node_id="n",
        segment="self-serve",
        stage="get-help",
        touchpoint="support-reply",
        wanted=wanted_to_dict(EmailWanted(to="shopper+r1-1@example.test", subject="^Re: ", reference="T-42")),
        triggered_at=triggered,
        deadline=triggered + dt.timedelta(hours=4),
        mailbox="maildir:/nowhere",
    )

    def reply(hours: float, subject: str = "Re: [T-42] Help") -> bytes:
        stamp = (triggered + dt.timedelta(hours=hours)).isoformat()
        return (
            f"X-Shopper-Received: {stamp}\r\nFrom: support@help.test\r\nTo: shopper+r1-1@example.test\r\n"
            f"Subject: {subject}\r\n\r\nHello\r\n"
        ).encode()

    late = parse_email("k1", reply(5))
    result, message = resolve_one(pending, [late], triggered + dt.timedelta(hours=6))
    assert (result.outcome, result.duration_ms, message) == ("failed", 5 * 3600_000.0, late)
    other_ticket = parse_email("k2", reply(1, "Re: [T-43] Help"))
    early_question = parse_email("k3", reply(-1))
    result, message = resolve_one(pending, [other_ticket, early_question], triggered + dt.timedelta(hours=1))
    assert (result.outcome, message) == ("pending", None)  # neither is the answer to this request
    in_time = parse_email("k4", reply(1.5))
    result, _ = resolve_one(pending, [other_ticket, in_time], triggered + dt.timedelta(hours=2))
    assert (result.outcome, result.duration_ms) == ("passed", 1.5 * 3600_000.0)


def test_two_pollers_resolve_an_item_once(store_url: str) -> None:
    first, second = open_store(store_url), open_store(store_url)
    try:
        now = utc_now()
        first.handle(
            PendingExpectation(
                run_id="r1",
                seq=1,
                node_id="n",
                segment="s",
                stage="get-help",
                touchpoint="support-reply",
                wanted={"to": "a@example.test"},
                triggered_at=now,
                deadline=now,
                mailbox="maildir:/nowhere",
            )
        )
        assert len(second.open_pending()) == 1
        assert first.resolve(ExpectationResolved("r1", 1, "passed", 10.0)) is True
        assert second.resolve(ExpectationResolved("r1", 1, "failed", 20.0)) is False
        assert second.open_pending() == []
    finally:
        first.close()
        second.close()


def test_mail_poll_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "obs.db"
    assert main(["mail", "poll", "--store", str(store)]) == 2  # a typo must not make an empty store
    assert "no store here" in capsys.readouterr().err and not store.exists()
    open_store(store).close()
    assert main(["mail", "poll", "--store", str(store)]) == 0
    assert "0 pending expectation(s)" in capsys.readouterr().out
    assert main(["mail", "poll", "--store", str(store), "--wait", "soon"]) == 2
    assert '--wait "soon" is not a duration' in capsys.readouterr().err


def test_a_mailbox_that_cannot_be_read_holds_up_only_its_own_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dovecot import free_port

    monkeypatch.setenv("SHOPPER_IMAP_PASSWORD", PASSWORD)
    store_path = tmp_path / "obs.db"
    gone = f"imap://shopper@127.0.0.1:{free_port()}/INBOX"  # the server of an old run, shut down
    (tmp_path / "mail" / "new").mkdir(parents=True)
    now = utc_now()

    def pending(seq: int, mailbox: str, deadline: dt.datetime) -> PendingExpectation:
        return PendingExpectation(
            run_id="r1",
            seq=seq,
            node_id="n",
            segment="self-serve",
            stage="get-help",
            touchpoint="support-reply",
            wanted={"to": f"shopper+r1-{seq}@example.test"},
            triggered_at=now - dt.timedelta(hours=2),
            deadline=deadline,
            mailbox=mailbox,
        )

    store = open_store(store_path)
    store.handle(pending(1, gone, now - dt.timedelta(minutes=1)))  # overdue, unreadable
    store.handle(pending(2, gone, now + dt.timedelta(hours=1)))  # not yet due, unreadable
    store.handle(
        pending(3, f"maildir:{tmp_path / 'mail'}", now - dt.timedelta(minutes=1))
    )  # overdue, readable
    store.close()
    assert main(["mail", "poll", "--store", str(store_path)]) == 2
    out, err = capsys.readouterr()
    assert (
        err.strip()
        == f"shopper: the IMAP server at 127.0.0.1:{gone.split(':')[2].split('/')[0]} is not answering"
    )
    assert "unread   support-reply (self-serve, run r1): the mailbox could not be read by the deadline" in out
    assert "failed   support-reply" in out and "pending  support-reply" in out
    assert "3 pending expectation(s): 0 answered in time, 1 failed, 1 unread, 1 still pending" in out
    store = open_store(store_path)
    try:
        assert [item.seq for item in store.open_pending()] == [2]
    finally:
        store.close()
