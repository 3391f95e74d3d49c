"""Alerts on touchpoints: streaks judged from real gap analyses, state in a real SQLite store,
webhooks to a real loopback HTTP receiver, mail to a real SMTP server (STARTTLS and login included).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import mailbox
import socket
import sqlite3
import ssl
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from certs import self_signed
from journeys import serve

from harness.analysis.gaps import analyse
from harness.analysis.verdicts import Verdict
from harness.demo.mailsink import MailSink, _LoopbackController
from harness.errors import HarnessError
from harness.map.loading import load_map_text
from harness.ops.alert_config import AlertConfig, EmailAlerts, Webhook, alert_config
from harness.ops.alert_delivery import AlertEvent
from harness.ops.alerts import Alerter, open_alerts
from harness.store.columns import OBSERVATION_COLUMNS
from harness.store.sqlite import open_store

MAP = """\
journey: Alert check
version: v3
segments: [self-serve, enterprise]
stages:
  - id: signup
    name: Sign up
    touchpoints:
      - {id: signup-form, name: Signup form <beta>, channel: form, owner: Product, url: /signup,
         moment_of_truth: true, expect: {within: 2s, fail_after: 10s}}
      - {id: confirmation-email, name: Confirmation email, channel: email, owner: Lifecycle,
         expect: {within: 2m, fail_after: 15m}}
"""
JOURNEY = load_map_text(MAP)
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
PASSWORD = "s3cret-Pa55word-never-logged"
FAIL, PASS = "failed", "passed"


def verdicts(run_id: str, outcomes: dict[str, str], segment: str = "self-serve") -> list[Verdict]:
    """The verdicts of one run in which each named touchpoint was visited once, with that outcome."""
    rows = []
    for seq, (touchpoint, outcome) in enumerate(outcomes.items(), start=1):
        duration = 5000.0 if outcome == "slow" else 300.0
        rows.append(
            {
                "run_id": run_id,
                "seq": seq,
                "feature": "signup.feature",
                "scenario": f"Visit {touchpoint}",
                "node_id": f"signup.feature::{touchpoint}",
                "segment": segment,
                "stage": "signup",
                "touchpoint": touchpoint,
                "step": f"Given I visit {touchpoint}",
                "started_at": (T0 + dt.timedelta(seconds=seq)).isoformat(),
                "duration_ms": duration,
                "outcome": PASS if outcome == "slow" else outcome,
                "error": "the form answered 500" if outcome == FAIL else "",
                "attempt": 1,
                "evidence": "",
                "timed": 1,
                "trace": "",
                "page_url": "",
                "page_title": "",
            }
        )
    return analyse(JOURNEY, pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)).verdicts


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A real store file: the alert state must live beside the runs without disturbing them."""
    path = tmp_path / "shopper.db"
    open_store(path).close()
    return path


def alerter(store: Path, config: AlertConfig | None = None, **options: Any) -> Alerter:
    return Alerter(config or AlertConfig(**options), store, journey_name="Alert check", map_version="v3")


def kinds(events: list[AlertEvent]) -> list[tuple[str, str, str, int]]:
    return [(e.kind, e.touchpoint_id, e.segment, e.consecutive) for e in events]


# ---------------------------------------------------------------------------------------------------
# Streaks


def test_a_touchpoint_alerts_once_when_the_streak_reaches_after(store: Path) -> None:
    with alerter(store, after=3) as watch:
        outcomes = {"signup-form": FAIL, "confirmation-email": PASS}
        assert watch.observe("r1", verdicts("r1", outcomes)) == []
        assert watch.observe("r2", verdicts("r2", outcomes)) == []
        third = watch.observe("r3", verdicts("r3", outcomes))
        assert kinds(third) == [("alert", "signup-form", "self-serve", 3)]
        assert third[0].status == "failing"
        assert third[0].owner == "Product"
        assert third[0].moment_of_truth
        assert watch.observe("r4", verdicts("r4", outcomes)) == []
        assert [(a.touchpoint_id, a.segment, a.streak) for a in watch.open_alerts()] == [
            ("signup-form", "self-serve", 4)
        ]


def test_a_recovery_is_sent_once_and_a_new_streak_starts_from_zero(store: Path) -> None:
    with alerter(store, after=2) as watch:
        for run_id in ("r1", "r2"):
            watch.observe(run_id, verdicts(run_id, {"signup-form": FAIL}))
        recovered = watch.observe("r3", verdicts("r3", {"signup-form": PASS}))
        assert kinds(recovered) == [("recovery", "signup-form", "self-serve", 2)]
        assert recovered[0].status == "met"
        assert watch.open_alerts() == []
        assert watch.observe("r4", verdicts("r4", {"signup-form": PASS})) == []
        assert watch.observe("r5", verdicts("r5", {"signup-form": FAIL})) == []
        assert kinds(watch.observe("r6", verdicts("r6", {"signup-form": FAIL}))) == [
            ("alert", "signup-form", "self-serve", 2)
        ]


def test_a_restarted_alerter_neither_repeats_nor_forgets_an_open_alert(store: Path) -> None:
    with alerter(store, after=2) as first:
        first.observe("r1", verdicts("r1", {"signup-form": FAIL}))
        assert len(first.observe("r2", verdicts("r2", {"signup-form": FAIL}))) == 1
    with alerter(store, after=2) as second:
        # The run the first scheduler saw last, seen again after the restart, changes nothing.
        assert second.observe("r2", verdicts("r2", {"signup-form": FAIL})) == []
        assert second.observe("r3", verdicts("r3", {"signup-form": FAIL})) == []
        assert [a.streak for a in second.open_alerts()] == [3]
        assert [a.touchpoint_id for a in open_alerts(store)] == ["signup-form"]
        assert kinds(second.observe("r4", verdicts("r4", {"signup-form": PASS}))) == [
            ("recovery", "signup-form", "self-serve", 3)
        ]
    # The store's own tables are untouched by the alert state beside them.
    reopened = open_store(store)
    assert reopened.runs() == []
    reopened.close()


def test_a_touchpoint_can_have_its_own_after(store: Path) -> None:
    with alerter(store, after=3, touchpoints={"confirmation-email": 1}) as watch:
        both = {"signup-form": FAIL, "confirmation-email": FAIL}
        assert kinds(watch.observe("r1", verdicts("r1", both))) == [
            ("alert", "confirmation-email", "self-serve", 1)
        ]
        assert watch.observe("r2", verdicts("r2", both)) == []
        assert kinds(watch.observe("r3", verdicts("r3", both))) == [("alert", "signup-form", "self-serve", 3)]


def test_an_untested_touchpoint_keeps_its_streak(store: Path) -> None:
    with alerter(store, after=2) as watch:
        watch.observe("r1", verdicts("r1", {"signup-form": FAIL}))
        # Run 2 exercised only the email (the form is untested) and only self-serve (enterprise is too).
        assert watch.observe("r2", verdicts("r2", {"confirmation-email": PASS})) == []
        assert kinds(watch.observe("r3", verdicts("r3", {"signup-form": FAIL}))) == [
            ("alert", "signup-form", "self-serve", 2)
        ]
        assert watch.observe("r4", verdicts("r4", {"confirmation-email": PASS})) == []
        assert [a.touchpoint_id for a in watch.open_alerts()] == ["signup-form"]


def test_segments_keep_their_own_streaks(store: Path) -> None:
    with alerter(store, after=2) as watch:
        watch.observe("r1", verdicts("r1", {"signup-form": FAIL}, segment="enterprise"))
        watch.observe("r2", verdicts("r2", {"signup-form": FAIL}, segment="self-serve"))
        assert kinds(watch.observe("r3", verdicts("r3", {"signup-form": FAIL}, segment="enterprise"))) == [
            ("alert", "signup-form", "enterprise", 2)
        ]


def test_slow_alerts_only_when_named_in_on(store: Path) -> None:
    with alerter(store, after=2) as plain:
        for run_id in ("r1", "r2"):
            assert plain.observe(run_id, verdicts(run_id, {"signup-form": "slow"})) == []
    with alerter(store, after=2, on=("failing", "slow")) as strict:
        strict.observe("r3", verdicts("r3", {"signup-form": "slow"}))
        events = strict.observe("r4", verdicts("r4", {"signup-form": FAIL}))
        assert kinds(events) == [("alert", "signup-form", "self-serve", 2)]
        assert events[0].status == "failing"


# ---------------------------------------------------------------------------------------------------
# Webhooks


class Receiver(BaseHTTPRequestHandler):
    """Records every POST; /broken answers 500, /gone 404, anything else 200."""

    received: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Receiver.lock:
            Receiver.received.append((self.path, body))
        status = 500 if self.path.startswith("/broken") else 404 if self.path.startswith("/gone") else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received = []
    with serve(Receiver) as url:
        yield url


def posted(path: str) -> list[dict[str, Any]]:
    with Receiver.lock:
        return [body for where, body in Receiver.received if where == path]


def alert_after_two(watch: Alerter, report: str | None = None) -> list[AlertEvent]:
    watch.observe("r1", verdicts("r1", {"signup-form": FAIL}))
    return watch.observe("r2", verdicts("r2", {"signup-form": FAIL}), report=report)


def test_the_json_body_carries_the_whole_event(store: Path, receiver: str) -> None:
    config = AlertConfig(after=2, webhooks=[Webhook(f"{receiver}/json", "json")])
    with alerter(store, config) as watch:
        deliveries = watch.deliver(alert_after_two(watch, report="reports/gap-report.html"))
        assert [(d.channel, d.ok, d.attempts) for d in deliveries] == [("webhook", True, 1)]
        [body] = posted("/json")
        assert body["event"] == "alert"
        assert body["journey"] == "Alert check"
        assert body["map_version"] == "v3"
        assert body["touchpoint_id"] == "signup-form"
        assert body["touchpoint_name"] == "Signup form <beta>"
        assert body["stage_id"] == "signup"
        assert body["segment"] == "self-serve"
        assert body["owner"] == "Product"
        assert body["status"] == "failing"
        assert body["gap"] == "succeeded in 0% of scenario runs; the map promises 95%"
        assert body["consecutive"] == 2
        assert body["run_id"] == "r2"
        assert body["report_url"] == "reports/gap-report.html"
        assert body["moment_of_truth"] is True
        watch.deliver(watch.observe("r3", verdicts("r3", {"signup-form": PASS})))
        assert [b["event"] for b in posted("/json")] == ["alert", "recovery"]
        assert posted("/json")[1]["status"] == "met"


def test_the_slack_body_is_one_readable_message(store: Path, receiver: str) -> None:
    config = AlertConfig(
        after=2, webhooks=[Webhook(f"{receiver}/slack", "slack")], report_url="https://reports.test/latest"
    )
    with alerter(store, config) as watch:
        watch.deliver(alert_after_two(watch))
        [body] = posted("/slack")
        text = body["text"]
        assert text.startswith(":rotating_light: *Alert*: Signup form &lt;beta&gt; (signup) is failing")
        assert "for self-serve customers, 2 runs in a row" in text
        assert "Succeeded in 0% of scenario runs; the map promises 95%." in text
        assert "Owner: Product." in text
        assert "Report: https://reports.test/latest" in text
        assert body["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        watch.deliver(watch.observe("r3", verdicts("r3", {"signup-form": PASS})))
        recovery = posted("/slack")[1]["text"]
        assert recovery.startswith(":white_check_mark: *Recovered*: Signup form &lt;beta&gt; (signup)")
        assert "It had failed 2 runs in a row." in recovery


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_receiver_that_is_down_is_retried_logged_and_reported(
    store: Path, receiver: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    refused = f"http://127.0.0.1:{free_port()}/hooks/T000/refused-TOKEN"
    config = AlertConfig(
        after=2,
        retries=2,
        retry_backoff_s=0.5,
        timeout_s=5,
        webhooks=[
            Webhook(refused),
            Webhook(f"{receiver}/broken/T000/SECRET-TOKEN"),
            Webhook(f"{receiver}/gone"),
            Webhook(f"{receiver}/fine"),
        ],
    )
    pauses: list[float] = []
    watch = Alerter(config, store, journey_name="Alert check", map_version="v3", sleep=pauses.append)
    deliveries = watch.deliver(alert_after_two(watch))
    watch.close()
    assert [(d.ok, d.attempts) for d in deliveries] == [(False, 3), (False, 3), (False, 1), (True, 1)]
    assert len(posted("/broken/T000/SECRET-TOKEN")) == 3  # the first try and two retries
    assert len(posted("/gone")) == 1  # a 404 will not change its mind
    assert len(posted("/fine")) == 1  # the broken hooks did not keep the good one from its message
    assert pauses == [0.5, 1.0, 0.5, 1.0]  # back-off doubles
    assert "Connection refused" in deliveries[0].error
    assert deliveries[1].error == "the receiver answered HTTP 500 Internal Server Error"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert all(r.name == "shopper.alerts" for r in caplog.records if r.levelno == logging.WARNING)
    assert "could not deliver the webhook alert for signup-form (self-serve)" in warnings[1]
    assert "after 3 attempt(s): the receiver answered HTTP 500" in warnings[1]
    # A webhook's path is its secret (Slack's are): logs and results name the host alone.
    assert "TOKEN" not in caplog.text
    assert not any("TOKEN" in d.target for d in deliveries)


# ---------------------------------------------------------------------------------------------------
# Email


def test_an_alert_arrives_by_email(store: Path, tmp_path: Path) -> None:
    with MailSink(tmp_path / "mail") as sink:
        email = EmailAlerts("127.0.0.1", "shopper@acme.test", ["cx@acme.test", "qa@acme.test"], sink.port)
        with alerter(store, AlertConfig(after=2, email=email)) as watch:
            deliveries = watch.deliver(alert_after_two(watch))
        messages = [
            message_from_bytes(m.as_bytes(), policy=policy.default) for m in mailbox.Maildir(sink.maildir)
        ]
    assert [(d.channel, d.target, d.ok) for d in deliveries] == [
        ("email", "cx@acme.test, qa@acme.test", True)
    ]
    [message] = messages
    assert message["Subject"] == (
        "[shopper] Alert: Signup form <beta> (signup) is failing for self-serve customers, 2 runs in a row"
        " (Alert check)"
    )
    assert message["To"] == "cx@acme.test, qa@acme.test"
    assert message["From"] == "shopper@acme.test"
    assert isinstance(message, EmailMessage)
    assert "Succeeded in 0% of scenario runs; the map promises 95%." in message.get_content()


class Collector:
    """An SMTP handler that keeps what arrived and who logged in."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[tuple[str, bool]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope.original_content or b"")
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth: Any
    ) -> AuthResult:
        assert isinstance(auth, LoginPassword)
        good = auth.password.decode() == PASSWORD
        self.logins.append((auth.login.decode(), good))
        return AuthResult(success=good, handled=False)  # not handled: the server answers 535 itself


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Collector, int]]:
    """A real SMTP server that demands STARTTLS before AUTH, with a certificate the client trusts."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    self_signed(cert, key)
    # ssl.create_default_context() reads the trust store named here, as it would a company CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    collector = Collector()
    controller = _LoopbackController(
        collector,
        hostname="127.0.0.1",
        port=0,
        ready_timeout=5.0,
        tls_context=context,
        require_starttls=True,
        authenticator=collector.authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        yield collector, int(controller.port)
    finally:
        controller.stop()


def test_email_uses_starttls_and_the_password_from_the_environment(
    store: Path,
    tls_server: tuple[Collector, int],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    collector, port = tls_server
    monkeypatch.setenv("SHOPPER_SMTP_PASSWORD", PASSWORD)
    email = EmailAlerts(
        "127.0.0.1", "shopper@acme.test", ["cx@acme.test"], port, True, "alerts", "SHOPPER_SMTP_PASSWORD"
    )
    with alerter(store, AlertConfig(after=2, email=email)) as watch:
        events = alert_after_two(watch)
        assert [d.ok for d in watch.deliver(events)] == [True]
        monkeypatch.setenv("SHOPPER_SMTP_PASSWORD", "a-wrong-one")
        [refused] = watch.deliver(events)
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN) within one login().
    assert collector.logins == [("alerts", True), ("alerts", False), ("alerts", False)]
    assert b"Subject: [shopper] Alert: Signup form <beta> (signup) is failing" in collector.messages[0]
    assert len(collector.messages) == 1
    # A refused login is not retried: the same password again could lock the account.
    assert (refused.ok, refused.attempts) == (False, 1)
    assert refused.error == "the mail server refused the login (SMTP 535)"
    assert PASSWORD not in caplog.text
    assert "a-wrong-one" not in caplog.text
    with sqlite3.connect(store) as db:
        dump = "\n".join(db.iterdump())
    assert "alert_state" in dump
    assert PASSWORD not in dump


def test_a_missing_password_variable_is_named_not_guessed(
    store: Path, tls_server: tuple[Collector, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = tls_server
    monkeypatch.delenv("SHOPPER_SMTP_PASSWORD", raising=False)
    email = EmailAlerts(
        "127.0.0.1", "shopper@acme.test", ["cx@acme.test"], port, True, "alerts", "SHOPPER_SMTP_PASSWORD"
    )
    with alerter(store, AlertConfig(after=2, email=email)) as watch:
        [delivery] = watch.deliver(alert_after_two(watch))
    assert not delivery.ok
    assert (
        delivery.error
        == "the environment variable SHOPPER_SMTP_PASSWORD holding the SMTP password is not set"
    )


# ---------------------------------------------------------------------------------------------------
# The `alerts:` block


def test_a_full_alerts_block_is_read() -> None:
    config = alert_config(
        {
            "after": 3,
            "touchpoints": {"confirmation-email": 1},
            "on": ["failing", "flaky"],
            "webhooks": [
                {"url": "https://hooks.slack.test/T/B/X", "format": "slack"},
                {"url": "http://h.test/"},
            ],
            "email": {
                "smtp_host": "smtp.acme.test",
                "smtp_port": 587,
                "sender": "shopper@acme.test",
                "to": "cx@acme.test",
                "starttls": True,
                "username": "alerts",
                "password_env": "SHOPPER_SMTP_PASSWORD",
            },
            "retries": 0,
            "retry_backoff_s": 2,
            "timeout_s": 5,
            "report_url": "https://reports.acme.test/",
        },
        "schedule.yaml",
        4,
        touchpoint_ids={tp.id for tp in JOURNEY.touchpoints()},
    )
    assert config == AlertConfig(
        after=3,
        touchpoints={"confirmation-email": 1},
        on=("failing", "flaky"),
        webhooks=[Webhook("https://hooks.slack.test/T/B/X", "slack"), Webhook("http://h.test/", "json")],
        email=EmailAlerts(
            "smtp.acme.test",
            "shopper@acme.test",
            ["cx@acme.test"],
            587,
            True,
            "alerts",
            "SHOPPER_SMTP_PASSWORD",
        ),
        retries=0,
        retry_backoff_s=2.0,
        timeout_s=5.0,
        report_url="https://reports.acme.test/",
    )
    assert alert_config(None) == AlertConfig()


@pytest.mark.parametrize(
    ("block", "sentence"),
    [
        ({"aftr": 2}, "unknown key 'aftr' in alerts (did you mean \"after\"?); allowed: after, email, on,"),
        ({"after": 0}, "alerts.after must be a whole number of at least 1, not 0"),
        ({"after": True}, "alerts.after must be a whole number of at least 1, not True"),
        (
            {"on": ["failng"]},
            "alerts.on names status 'failng' (did you mean \"failing\"?); a run can alert on",
        ),
        ({"touchpoints": {"signup-from": 1}}, "'signup-from', which the journey map lacks (did you mean"),
        (
            {"webhooks": [{"url": "ftp://x.test/"}]},
            "the url of webhook 1 of alerts.webhooks must be an http://",
        ),
        (
            {"webhooks": [{"url": "http://x.test/", "format": "slak"}]},
            "format 'slak' (did you mean \"slack\"?)",
        ),
        ({"webhooks": {"url": "http://x.test/"}}, "alerts.webhooks must be a list of {url, format} mappings"),
        ({"email": {"smtp_host": "h", "to": ["a@b.test"]}}, "alerts.email needs sender"),
        (
            {"email": {"smtp_host": "h", "sender": "s@b.test", "to": [], "password": "x"}},
            "must not hold a password",
        ),
        (
            {"email": {"smtp_host": "h", "sender": "s", "to": "t", "username": "u"}},
            "both username and password_env",
        ),
        ({"retries": -1}, "alerts.retries must be a whole number of at least 0, not -1"),
        ({"timeout_s": 0}, "alerts.timeout_s must be more than 0 seconds"),
        ([1, 2], "alerts must be a mapping of keys to values, not a list"),
    ],
)
def test_a_bad_alerts_block_is_one_clear_sentence(block: Any, sentence: str) -> None:
    with pytest.raises(HarnessError) as caught:
        alert_config(block, "schedule.yaml", 7, touchpoint_ids={tp.id for tp in JOURNEY.touchpoints()})
    assert caught.value.file == "schedule.yaml"
    assert caught.value.line == 7
    assert str(caught.value).startswith("schedule.yaml, line 7: ")
    assert sentence in caught.value.message
