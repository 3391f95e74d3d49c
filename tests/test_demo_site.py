"""The bundled demo company, Acme, over real HTTP, real SMTP and a real browser: no mocks."""

from __future__ import annotations

import email
import http.client
import logging
import mailbox
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from journeys import HttpClient
from playwright.sync_api import expect, sync_playwright

from harness.demo import Acme, MailSink, start_acme
from harness.demo.faults import DEFAULT_FAULTS, EMAIL_KINDS, FaultProfile, load_faults, load_faults_text
from harness.demo.site import AcmeSite
from harness.errors import FaultProfileError
from harness.record.browser import launch_options

StartAcme = Callable[..., Acme]
CONFIRM_LINK = re.compile(r"http://127\.0\.0\.1:\d+/confirm\?token=[\w-]+")

# ---------------------------------------------------------------- helpers


def messages(maildir: Path) -> list[EmailMessage]:
    box = mailbox.Maildir(maildir, create=False)
    parsed = [email.message_from_bytes(box.get_bytes(key), policy=default_policy) for key in box.iterkeys()]
    return [m for m in parsed if isinstance(m, EmailMessage)]


def wait_for_mail(maildir: Path, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = messages(maildir)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"expected {count} message(s) in {maildir}, found {len(messages(maildir))}")


def with_subject(found: list[EmailMessage], subject: str) -> list[EmailMessage]:
    return [m for m in found if m["Subject"] == subject]


def body_text(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body(preferencelist=(kind,))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


@pytest.fixture
def start(tmp_path: Path) -> Iterator[StartAcme]:
    """Starts Acme with a given fault profile, and always stops what it started."""
    started: list[Acme] = []

    def _start(faults: FaultProfile | None = None) -> Acme:
        acme = start_acme(faults or FaultProfile(), tmp_path / f"mail{len(started)}")
        started.append(acme)
        return acme

    yield _start
    for acme in started:
        acme.stop()


@pytest.fixture
def acme(start: StartAcme) -> Acme:
    return start()


def sign_up(
    client: HttpClient, name: str = "Ada Lovelace", mail: str = "ada@example.test"
) -> tuple[int, str]:
    status, body, _ = client.post("/signup", name=name, email=mail, password="s3cret", company="Analytical")
    return status, body


# ---------------------------------------------------------------- fault profile


def test_default_profile_has_documented_values() -> None:
    profile = load_faults(DEFAULT_FAULTS)
    assert profile == FaultProfile(
        latency_ms={"/pricing": 1200},
        status={"/help/search": 500},
        email_delay_s={"confirmation": 1.0, "support-reply": 4.0},
        drop_email=[],
        unlabelled_fields=["/signup"],
    )
    text = DEFAULT_FAULTS.read_text()
    assert "#" in text  # documented for users
    # Every kind is listed for users, so none can be added to the code and forgotten here.
    assert "# Kinds: " + ", ".join(EMAIL_KINDS) + "." in text


@pytest.mark.parametrize("text", ["", "# nothing\n", "latency_ms:\nstatus: {}\ndrop_email:\n"])
def test_empty_profile_means_no_faults(text: str) -> None:
    assert load_faults_text(text) == FaultProfile()


@pytest.mark.parametrize(
    ("text", "line", "sentence"),
    [
        (
            "latency_ms: {/a: 1}\nstatus: [\n",
            3,
            "the fault profile is not valid YAML: expected the node content, but found '<stream end>'",
        ),
        (
            "latency_ms: {}\nlatncy_ms: {}\n",
            2,
            'Unknown key "latncy_ms" (did you mean "latency_ms"?); a fault profile may only have '
            "latency_ms, status, email_delay_s, drop_email and unlabelled_fields.",
        ),
        (
            "unlabelled_fields: /signup\n",
            1,
            "unlabelled_fields must be a list of page paths, like [/signup].",
        ),
        (
            "unlabelled_fields:\n  - signup\n",
            2,
            '"signup" is not a path; paths start with "/", like "/pricing".',
        ),
        ("status:\n  help: 500\n", 2, '"help" is not a path; paths start with "/", like "/pricing".'),
        (
            "latency_ms:\n  /a: 1\n  /b: -5\n",
            3,
            'The latency for "/b" must be a whole number of milliseconds, 0 or more, not "-5".',
        ),
        (
            "latency_ms:\n  /a: 1.5\n",
            2,
            'The latency for "/a" must be a whole number of milliseconds, 0 or more, not "1.5".',
        ),
        (
            "status:\n  /a: 600\n",
            2,
            'The status for "/a" must be an HTTP status code from 100 to 599, not "600".',
        ),
        (
            "status:\n  /a: oops\n",
            2,
            'The status for "/a" must be an HTTP status code from 100 to 599, not "oops".',
        ),
        (
            "email_delay_s:\n  welcome: -1\n",
            2,
            'The delay for "welcome" emails must be a number of seconds, 0 or more, not "-1".',
        ),
        (
            "email_delay_s:\n  welcom: 2\n",
            2,
            '"welcom" is not an email kind (did you mean "welcome"?); the kinds are '
            "confirmation, welcome, tips, support-ack, support-reply and demo-booked.",
        ),
        (
            "drop_email:\n  - welcome\n  - newsletter\n",
            3,
            '"newsletter" is not an email kind; the kinds are '
            "confirmation, welcome, tips, support-ack, support-reply and demo-booked.",
        ),
    ],
)
def test_profile_errors_point_at_the_line(text: str, line: int, sentence: str) -> None:
    with pytest.raises(FaultProfileError) as caught:
        load_faults_text(text, "faults.yaml")
    assert (caught.value.file, caught.value.line, caught.value.message) == ("faults.yaml", line, sentence)


def test_load_faults_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("drop_email: [welcome]\n")
    assert load_faults(path).drop_email == ["welcome"]
    with pytest.raises(FaultProfileError, match="fault profile not found"):
        load_faults(tmp_path / "missing.yaml")


# ---------------------------------------------------------------- servers


def test_mail_sink_serves_once_started_and_refuses_once_stopped(tmp_path: Path) -> None:
    # No waiting in between: start() returns a sink that answers, stop() one that is gone.
    sink = MailSink(tmp_path / "md")
    sink.start()
    port = sink.port
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        assert conn.recv(100).startswith(b"220")
    sink.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_pages_are_self_contained(acme: Acme) -> None:
    client = HttpClient(acme.url)
    for path in ("/", "/pricing", "/demo", "/signup", "/login", "/help", "/support"):
        status, body, _ = client.get(path)
        assert status == 200, path
        assert body.startswith("<!doctype html>") and "<meta charset=utf-8>" in body and "<title>" in body
        assert '<link rel="icon" href="data:,">' in body
        assert "http://" not in body and "https://" not in body and "<script" not in body
        for label in re.findall(r'<label for="([^"]+)"', body):
            assert f'id="{label}"' in body
    status, body, _ = client.get("/nope")
    assert status == 404 and "Page not found" in body
    status, body, _ = client.get("/")
    assert "Acme — projects without the chaos" in body and 'href="/pricing">See pricing' in body
    status, body, _ = client.get("/pricing")
    assert (
        all(plan in body for plan in ("Starter", "Team", "Enterprise")) and 'href="/demo">Book a demo' in body
    )


def test_signup_confirm_login_onboarding(acme: Acme) -> None:
    client = HttpClient(acme.url)
    before = datetime.now(UTC)
    status, body = sign_up(client)
    assert status == 200 and "Check your inbox" in body
    assert "We sent a confirmation link to ada@example.test." in body

    (confirmation,) = wait_for_mail(acme.maildir)
    assert confirmation["To"].addresses[0].addr_spec == "ada@example.test"
    assert confirmation["Subject"] == "Confirm your Acme account"
    assert confirmation["From"].addresses[0].addr_spec == "no-reply@acme.test"
    received = datetime.fromisoformat(confirmation["X-Shopper-Received"])
    # Stamped on arrival: after the signup began, before it was read (at most a second early, if whole).
    assert received.tzinfo == UTC and before - timedelta(seconds=1) <= received <= datetime.now(UTC)
    link = CONFIRM_LINK.search(body_text(confirmation))
    assert link is not None and link.group(0).startswith(acme.url)
    assert f'<a href="{link.group(0)}">' in body_text(confirmation, "html")

    status, body, _ = client.post("/login", email="ada@example.test", password="s3cret")
    assert status == 403 and "Please confirm your email address first." in body

    status, body, _ = client.get(link.group(0)[len(acme.url) :])
    assert status == 200 and "Your account is confirmed" in body and 'href="/login">Log in' in body

    status, body, path = client.post("/login", email="ADA@example.test", password="s3cret")
    assert (status, path) == (200, "/onboarding")
    assert "Welcome to Acme, Ada Lovelace" in body
    for item in ("Create your first project", "Invite a teammate", "Connect your calendar"):
        assert item in body

    # Confirmation, welcome and tips: the first login sends two emails.
    welcome = with_subject(wait_for_mail(acme.maildir, 3), "Welcome to Acme")
    assert welcome[0]["From"].addresses[0].addr_spec == "hello@acme.test"

    # A second login, from another device, must not welcome the customer again.
    other = HttpClient(acme.url)
    assert other.post("/login", email="ada@example.test", password="s3cret")[2] == "/onboarding"
    time.sleep(0.3)
    assert len(with_subject(messages(acme.maildir), "Welcome to Acme")) == 1
    assert len(with_subject(messages(acme.maildir), "3 tips for your first week with Acme")) == 1


def test_login_sets_a_safe_session_cookie(acme: Acme) -> None:
    client = HttpClient(acme.url)
    sign_up(client)
    link = CONFIRM_LINK.search(body_text(wait_for_mail(acme.maildir)[0]))
    assert link is not None
    client.get(link.group(0)[len(acme.url) :])
    conn = http.client.HTTPConnection("127.0.0.1", int(acme.url.rsplit(":", 1)[1]), timeout=5)
    form = urllib.parse.urlencode({"email": "ada@example.test", "password": "s3cret"})
    conn.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 303 and response.getheader("Location") == "/onboarding"
    cookie = response.getheader("Set-Cookie") or ""
    assert cookie.startswith("acme_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signup_and_login_errors(acme: Acme) -> None:
    client = HttpClient(acme.url)
    status, body, _ = client.post("/signup", name="Ada", email="", password="x")
    assert status == 400 and "Please fill in your name, email and password." in body
    assert sign_up(client)[0] == 200
    status, body = sign_up(client, mail="ADA@example.test")
    assert status == 409 and "An account with this email already exists." in body
    status, body, _ = client.post("/login", email="ada@example.test", password="wrong")
    assert status == 401 and "Wrong email or password." in body
    status, body, _ = client.post("/login", email="nobody@example.test", password="s3cret")
    assert status == 401 and "Wrong email or password." in body
    for query in ("", "?token=forged"):
        status, body, _ = client.get("/confirm" + query)
        assert status == 400 and "This confirmation link is invalid or has expired." in body
    status, body, path = client.get("/onboarding")
    assert (status, path) == (200, "/login")


def test_support_ticket_and_acknowledgement(acme: Acme) -> None:
    client = HttpClient(acme.url)
    status, body, _ = client.post("/support", email="bob@example.test", subject="", message="help")
    assert status == 400 and "role=alert" in body
    status, body, _ = client.post(
        "/support", email="bob@example.test", subject="Cannot export", message="Hi\nIt fails"
    )
    assert (
        status == 200 and "We received your request" in body and "Your ticket reference is ACME-1001." in body
    )
    status, body, _ = client.post("/support", email="bob@example.test", subject="Second", message="again")
    assert "Your ticket reference is ACME-1002." in body
    found = wait_for_mail(acme.maildir, 4)  # an acknowledgement and a reply per ticket
    (ack,) = with_subject(found, "[ACME-1001] We received your request")
    assert str(ack["From"]) == "Acme Support <support@help.acme.test>"
    assert ack["To"].addresses[0].addr_spec == "bob@example.test"
    assert '"Cannot export"' in body_text(ack) and "> It fails" in body_text(ack)


def test_help_search(acme: Acme) -> None:
    client = HttpClient(acme.url)
    status, body, _ = client.get("/help")
    assert 'action="/help/search"' in body and 'href="/support">Contact support' in body
    status, body, _ = client.get("/help/search?q=PASSWORD")
    assert status == 200 and "Search results" in body and "1 result for “PASSWORD”" in body
    assert "Resetting your password" in body
    status, body, _ = client.get("/help/search?q=your")
    assert re.search(r"[2-8] results for “your”", body)
    status, body, _ = client.get("/help/search?q=" + urllib.parse.quote("<b>zzz"))
    assert "No articles match “&lt;b&gt;zzz”." in body and "<b>zzz" not in body


def test_demo_booking_escapes_what_the_visitor_typed(acme: Acme) -> None:
    client = HttpClient(acme.url)
    status, body, _ = client.get("/demo")
    assert all(f">{size}</option>" in body for size in ("1-10", "11-50", "51-500", "500+"))
    name = "<script>alert(1)</script>"
    status, body, _ = client.post("/demo", name=name, email="cto@bigco.test", company="BigCo", size="51-500")
    assert status == 200
    assert "Thanks, &lt;script&gt;alert(1)&lt;/script&gt; — our sales team will contact you" in body
    assert "<script" not in body
    status, body, _ = client.post("/demo", name=name, email="", company="BigCo", size="1-10")
    assert status == 400 and "<script" not in body and "&lt;script&gt;" in body
    (booked,) = wait_for_mail(acme.maildir)
    assert booked["Subject"] == "Your Acme demo is booked"
    assert booked["To"].addresses[0].addr_spec == "cto@bigco.test"


# ---------------------------------------------------------------- faults in action


def test_latency_fault_delays_that_path_only(start: StartAcme) -> None:
    acme = start(FaultProfile(latency_ms={"/pricing": 300}))
    client = HttpClient(acme.url)
    delayed = []
    for path in ("/pricing", "/pricing?plan=team"):
        began = time.monotonic()
        status, _, _ = client.get(path)
        delayed.append(time.monotonic() - began)
        assert status == 200 and delayed[-1] >= 0.300, (path, delayed)
    began = time.monotonic()
    client.get("/")
    home = time.monotonic() - began
    assert home < min(delayed), (home, delayed)  # the same site, in the same test: only /pricing waits


def test_status_fault_replaces_the_page(start: StartAcme) -> None:
    acme = start(FaultProfile(status={"/help/search": 503, "/support": 500}))
    client = HttpClient(acme.url)
    status, body, _ = client.get("/help/search?q=x")
    assert status == 503 and "Something went wrong (HTTP 503)" in body
    status, body, _ = client.post("/support", email="a@b.test", subject="s", message="m")
    assert status == 500 and "Something went wrong (HTTP 500)" in body
    assert client.get("/help")[0] == 200


def test_unlabelled_fields_fault_drops_one_label_of_the_page(start: StartAcme) -> None:
    labelled = HttpClient(start().url).get("/signup")[1]
    acme = start(FaultProfile(unlabelled_fields=["/signup"]))
    client = HttpClient(acme.url)
    status, body, _ = client.get("/signup")
    assert status == 200 and body.count("<label") == labelled.count("<label") - 1
    assert '<label for="company">' in labelled and '<label for="company">' not in body
    assert 'id="company" name="company"' in body  # the field itself stays, for a script to fill
    assert client.get("/demo")[1].count('<label for="company">') == 1  # only the named page
    assert sign_up(client)[0] == 200  # a form that loses a label still works


def test_email_delay_fault(start: StartAcme) -> None:
    acme = start(FaultProfile(email_delay_s={"confirmation": 1}))
    began = time.monotonic()
    assert sign_up(HttpClient(acme.url))[0] == 200
    assert messages(acme.maildir) == []  # the page answered before the email went: it never waits for it
    wait_for_mail(acme.maildir)
    assert time.monotonic() - began >= 1.0


def test_drop_email_fault(start: StartAcme) -> None:
    acme = start(FaultProfile(drop_email=["support-ack"]))
    client = HttpClient(acme.url)
    assert client.post("/support", email="a@b.test", subject="s", message="m")[0] == 200
    assert client.post("/demo", name="A", email="a@b.test", company="C", size="1-10")[0] == 200
    wait_for_mail(acme.maildir, 2)
    time.sleep(0.3)
    # Only the acknowledgement is dropped: the reply is a kind of its own and still goes out.
    assert sorted(m["Subject"] for m in messages(acme.maildir)) == [
        "Re: [ACME-1001] s",
        "Your Acme demo is booked",
    ]


def test_unreachable_mail_server_does_not_break_the_site(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    caplog.set_level(logging.WARNING, logger="harness.demo.outbox")
    with AcmeSite(FaultProfile(), smtp_port=dead_port) as site:
        client = HttpClient(site.url)
        assert sign_up(client)[0] == 200
        deadline = time.monotonic() + 5
        while not caplog.records and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "could not send the confirmation email" in caplog.records[0].getMessage()
        assert client.get("/")[0] == 200


# ---------------------------------------------------------------- a real browser


def test_chromium_walks_home_to_pricing_on_loopback_only(acme: Acme) -> None:
    console_errors: list[str] = []
    hosts: set[str] = set()
    with sync_playwright() as playwright:
        # The harness's own way to a Chromium: `make test` installs one, so there is nothing to skip.
        browser = playwright.chromium.launch(**launch_options({}, playwright.chromium.executable_path))
        try:
            page = browser.new_page()
            page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: console_errors.append(str(exc)))
            page.on("request", lambda request: hosts.add(urllib.parse.urlsplit(request.url).hostname or ""))
            page.goto(acme.url)
            page.get_by_role("link", name="See pricing").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Pricing")
            assert page.url == acme.url + "/pricing"
        finally:
            browser.close()
    assert console_errors == []
    # "" is a data: URL, which never leaves the page.
    assert "127.0.0.1" in hosts and hosts <= {"127.0.0.1", ""}, hosts
