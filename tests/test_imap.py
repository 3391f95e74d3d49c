"""The IMAP mailbox against a real Dovecot: mail goes in over SMTP, comes back out over IMAP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dovecot import PASSWORD, Dovecot, free_port, send, time_a_delayed_email
from journeys import longest_wall_ms, shopper_run, stored_observations, write_features

from harness.demo.mailsink import MailSink
from harness.errors import TargetError
from harness.mail.imap import ImapMailbox
from harness.mail.mailbox import open_mailbox, wait_for_email


@pytest.fixture
def sink(dovecot: Dovecot) -> Iterator[MailSink]:
    """SMTP delivery into the Maildir Dovecot serves for its user."""
    with MailSink(dovecot.maildir) as running:
        yield running


def imap(dovecot: Dovecot, query: str = "") -> ImapMailbox:
    box = open_mailbox(dovecot.url(query))
    assert isinstance(box, ImapMailbox)
    return box


def timed_wait(box: ImapMailbox, seconds: float) -> float:
    started = time.monotonic()
    box.wait(seconds)
    return time.monotonic() - started


def test_a_message_sent_over_smtp_is_read_over_imap(dovecot: Dovecot, sink: MailSink) -> None:
    send(sink, "shopper+r1-1@example.test", "Confirm your Acme account", "Confirm: https://acme.test/c?t=1\n")
    box = imap(dovecot)
    message = wait_for_email(box, to="shopper+r1-1@example.test", subject="Confirm", seen=set(), timeout_s=5)
    assert message.subject == "Confirm your Acme account"
    assert message.to == "shopper+r1-1@example.test"
    assert message.links() == ["https://acme.test/c?t=1"]
    assert message.key.startswith("imap:")
    assert message.received_at is not None
    # Fetched once: the next poll asks only for UIDs after it.
    assert [m.key for m in box.messages()] == [message.key]
    box.close()


def test_a_delayed_email_is_timed_to_its_arrival_by_polling(dovecot: Dovecot, sink: MailSink) -> None:
    box = imap(dovecot, "idle=0&poll=0.2")
    assert (box.poll_s, box.idle) == (0.2, False)
    (waited,) = time_a_delayed_email([box], sink, 1.0)
    assert waited >= 1.0, waited  # found, and not before it was sent


def test_idle_sees_a_delayed_email_before_the_next_poll(dovecot: Dovecot, sink: MailSink) -> None:
    # Both look at 0 s, then the polling one not before 4 s; the email goes out at 1 s.
    idle, polling = imap(dovecot, "poll=4"), imap(dovecot, "poll=4&idle=0")
    idled, polled = time_a_delayed_email([idle, polling], sink, 1.0)
    # Dovecot learns of the Maildir delivery through inotify, then holds the news for a fixed
    # 0.5 s (NOTIFY_DELAY_MSECS in its mailbox-watch.c) to batch changes before telling IDLE.
    assert 1.0 <= idled < polled, (idled, polled)
    assert polled >= 4.0, polled  # what IDLE saves: the wait for the next look


def test_mail_reported_after_a_look_is_not_waited_for(dovecot: Dovecot, sink: MailSink) -> None:
    """Mail the server reports after a look's SEARCH is fetched at once: IDLE would not report it again."""
    box = imap(dovecot, "poll=5")
    assert box.messages() == []
    send(sink, "shopper+r1-1@example.test", "Your receipt", "Thanks")
    assert box._connection is not None
    box._connection.noop()  # as if the mail had come during the look's FETCH, and been reported there
    quick = timed_wait(box, 5)
    assert [m.subject for m in box.messages()] == ["Your receipt"]
    idled = timed_wait(box, 1)  # the same wait with nothing reported: IDLE until its time is up
    assert quick < idled, (quick, idled)
    box.close()


def test_a_connection_dropped_while_idle_is_reconnected(dovecot: Dovecot, sink: MailSink) -> None:
    box = imap(dovecot, "poll=5")
    box.messages()
    assert box._connection is not None
    # What a server restart or a NAT timeout does to a client that sits in IDLE.
    undisturbed = imap(dovecot, "poll=5")
    undisturbed.messages()
    idled: list[float] = []
    alongside = threading.Thread(target=lambda: idled.append(timed_wait(undisturbed, 5)))
    alongside.start()
    threading.Timer(0.5, box._connection.socket().shutdown, (socket.SHUT_RDWR,)).start()
    dropped = timed_wait(box, 5)
    alongside.join()
    undisturbed.close()
    assert 0.5 <= dropped < idled[0], (dropped, idled)  # woken by the drop, not by the end of the wait
    assert box._connection is None  # given up, for the next look to open afresh
    send(sink, "shopper+r1-1@example.test", "Your receipt", "Thanks")
    message = wait_for_email(box, to="shopper+r1-1@example.test", subject=None, seen=set(), timeout_s=5)
    assert message.subject == "Your receipt"
    box.close()


def test_two_runs_never_take_each_others_mail(dovecot: Dovecot, sink: MailSink) -> None:
    send(sink, "shopper+r2-1@example.test", "Confirm your Acme account", "two: https://acme.test/c?t=two")
    send(sink, "shopper+r1-1@example.test", "Confirm your Acme account", "one: https://acme.test/c?t=one")
    first, second = imap(dovecot), imap(dovecot)
    one = wait_for_email(first, to="shopper+r1-1@example.test", subject=None, seen=set(), timeout_s=5)
    two = wait_for_email(second, to="shopper+r2-1@example.test", subject=None, seen=set(), timeout_s=5)
    assert one.links() == ["https://acme.test/c?t=one"]
    assert two.links() == ["https://acme.test/c?t=two"]
    first.close()
    second.close()


def test_a_wrong_password_is_one_sentence_without_it(
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPPER_IMAP_PASSWORD", "wrong-Secret-42")
    with pytest.raises(TargetError) as caught:
        imap(dovecot).messages()
    text = str(caught.value)
    assert text == f"the IMAP server at 127.0.0.1:{dovecot.port} refused the login for {dovecot.user}"
    assert "wrong-Secret-42" not in text + repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_server_that_is_down_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPPER_IMAP_PASSWORD", PASSWORD)
    port = free_port()
    with pytest.raises(TargetError) as caught:
        open_mailbox(f"imap://shopper@127.0.0.1:{port}/INBOX").messages()
    assert str(caught.value) == f"the IMAP server at 127.0.0.1:{port} is not answering"
    assert PASSWORD not in repr(caught.value)


def test_the_password_comes_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOPPER_IMAP_PASSWORD", raising=False)
    with pytest.raises(TargetError) as missing:
        open_mailbox("imap://shopper@127.0.0.1:143/INBOX")
    assert str(missing.value) == "set SHOPPER_IMAP_PASSWORD to the password of the IMAP mailbox shopper"
    monkeypatch.setenv("MY_IMAP_PW", PASSWORD)
    box = open_mailbox("imap://shopper@127.0.0.1:143/INBOX?password_env=MY_IMAP_PW")
    assert PASSWORD not in repr(box)
    with pytest.raises(TargetError) as caught:
        open_mailbox(f"imap://shopper:{PASSWORD}@127.0.0.1:143/INBOX")
    assert PASSWORD not in str(caught.value)
    assert "SHOPPER_IMAP_PASSWORD" in str(caught.value)


def test_the_demo_confirmation_email_is_read_over_imap(tmp_path: Path, dovecot: Dovecot) -> None:
    from harness.demo import load_faults_text, start_acme

    features = write_features(
        tmp_path / "features",
        "@stage:signup\nFeature: F\n  Scenario: S\n    Given I open the signup page\n"
        '    When I sign up with my details\n    Then I should see "Check your inbox"\n'
        "    And I receive the confirmation email\n"
        "    When I follow the link in the confirmation email\n"
        '    Then I am on the email confirmation page\n    And I should see "Your account is confirmed"\n',
    )
    store = tmp_path / "obs.db"
    with start_acme(load_faults_text("email_delay_s: {confirmation: 1}\n"), dovecot.maildir) as acme:
        status = shopper_run(
            acme.url, features, store, "--segment", "self-serve", "--quiet", "--mailbox", dovecot.url()
        )
    assert status == 0
    observations = stored_observations(store)
    assert set(observations["outcome"]) == {"passed"}
    email = observations[observations["step"] == "And I receive the confirmation email"]
    assert list(email["touchpoint"]) == ["confirmation-email"]
    # Acme's 1 s began when the form reached it, during the submit; the step's clock at its end.
    submit = longest_wall_ms(observations, "When I sign up with my details")
    assert float(email["duration_ms"].iloc[0]) >= 1000 - submit  # Acme's 1 s delay, read over IMAP
    confirmed = observations[observations["touchpoint"] == "email-confirmation-page"]
    assert len(confirmed) >= 2  # the link was followed to the page it leads to


SIGNUP_MAP = """\
journey: Acme signup
version: test
segments: [self-serve]
stages:
  - id: signup
    name: Sign up
    touchpoints:
      - id: signup-page
        channel: form
        owner: Product
        url: /signup
        expect: {within: 2s, fail_after: 10s}
      - id: confirmation-email
        name: Confirmation email
        channel: email
        owner: Product
        subject: "Confirm your Acme account"
        expect: {within: 1s, fail_after: 2s}
      - id: email-confirmation-page
        channel: web
        owner: Product
        url: /confirm
        expect: {within: 1s, fail_after: 10s}
"""


def test_a_dropped_email_fails_at_fail_after_with_a_clear_error(tmp_path: Path, dovecot: Dovecot) -> None:
    from harness.demo import load_faults_text, start_acme

    journey_map = tmp_path / "signup.yaml"
    journey_map.write_text(SIGNUP_MAP)
    features = write_features(
        tmp_path / "features",
        "@stage:signup\nFeature: F\n  Scenario: S\n    Given I open the signup page\n"
        "    When I sign up with my details\n    And I receive the confirmation email\n"
        "    And I follow the link in the confirmation email\n",
    )
    store = tmp_path / "obs.db"
    with start_acme(load_faults_text("drop_email: [confirmation]\n"), dovecot.maildir) as acme:
        status = shopper_run(
            acme.url, features, store, "--quiet", "--mailbox", dovecot.url(), journey_map=journey_map
        )
    assert status == 1
    observations = stored_observations(store)
    steps = dict(zip(observations["step"], observations.itertuples(), strict=True))
    received = steps["And I receive the confirmation email"]
    assert received.outcome == "failed"
    assert received.duration_ms >= 2000  # waited its fail_after (the error names it), then gave up
    assert received.error.startswith(
        'no email with a subject matching "Confirm your Acme account" reached shopper+'
    )
    assert received.error.endswith("within 2s")
    assert steps["And I follow the link in the confirmation email"].outcome == "skipped"


def test_an_unknown_option_or_a_poll_of_zero_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPPER_IMAP_PASSWORD", PASSWORD)
    with pytest.raises(TargetError) as caught:
        open_mailbox("imaps://shopper@127.0.0.1/INBOX?password=hunter2-secret")
    text = str(caught.value)
    assert text.startswith('the IMAP mailbox URL has an unknown option "password"')
    assert "it takes starttls, cafile, poll, idle, password_env" in text
    assert "hunter2-secret" not in text
    with pytest.raises(TargetError, match=r'unknown option "pol" \(did you mean "poll"\?\)'):
        open_mailbox("imap://shopper@127.0.0.1/INBOX?pol=1")
    for poll in ("0", "-1"):
        with pytest.raises(TargetError, match=r"from 0\.01 to 3600"):
            open_mailbox(f"imap://shopper@127.0.0.1/INBOX?poll={poll}")
