"""No secret leaves the run: not the customer's password, the IMAP password, nor a token in the environment.

One journey end to end against the demo company, with mail read over IMAP from a real Dovecot: the
customer signs up (typing the password, and the token in a form field), confirms, logs in, then the
scenario fails so that a screenshot and a Playwright trace are kept; a support request leaves a
reply pending for `shopper mail poll`. Then every byte the harness wrote is searched for every
secret, plain and in every encoding `secret_forms` knows: the store's files, what `shopper run`,
`mail poll` and `report` printed, the report folder, the evidence folder and every entry of every
trace. Positive checks make sure the search looks at real content, so it cannot pass by finding
nothing to look at.
"""

from __future__ import annotations

import base64
import html
import os
import secrets
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import unquote, unquote_plus

from dovecot import PASSWORD as IMAP_PASSWORD
from dovecot import Dovecot
from journeys import DEMO_MAP, ROOT, write_features

from harness.demo import load_faults_text, start_acme
from harness.demo.state import Login
from harness.record.secrets import secret_forms
from harness.store.sqlite import open_store

# Characters every encoding treats differently: space, quotes, slash, plus, ampersand, <>, ~ and non-ASCII.
CUSTOMER_PASSWORD = "Sh0pper pass/wörd+&\"<7>~'x"

SIGN_UP_AND_LOG_IN = """\
@stage:signup
Feature: Sign up, confirm and log in

  Scenario: I sign up, confirm my address and log in
    Given I open the signup page
    When I fill in "Company (optional)" with "{token}"
    And I sign up with my details
    Then I should see "Check your inbox"
    And I receive the confirmation email
    When I follow the link in the confirmation email
    Then I should see "Your account is confirmed"
    When I click "Log in"
    Then I am on the login page
    When I log in with my account
    Then I am on the onboarding checklist page
    And I should see "a text the checklist does not have"
"""

ASK_FOR_HELP = """\
@stage:get-help
Feature: Get help

  Scenario: I write to support and a person answers
    Given I open the contact form page
    When I submit a support request about "Invoice shows the wrong plan"
    Then I should see "We received your request"
    And I receive the support acknowledgement email
    And I will receive the support reply email
"""


def shopper(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The `shopper` command in its own process, stdout and stderr together: the log an operator keeps."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def base64_cores(value: str) -> list[bytes]:
    """The base64 text of `value` at each of the three byte alignments, without the edges that depend
    on its neighbours: what a secret inside a base64-encoded blob (a request body, a data: URL) reads as."""
    raw = value.encode("utf-8")
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw)
        cores.append(encoded[4 if offset else 0 : -4])
    return cores


def needles(values: list[str]) -> dict[bytes, str]:
    """Every byte string that would betray one of the secrets, with the secret's name for the message."""
    found: dict[bytes, str] = {}
    for number, value in enumerate(values):
        name = f"secret #{number + 1}"
        for form in secret_forms(value):
            found[form.encode("utf-8")] = f"{name} as {form!r}"
        for core in base64_cores(value):
            found[core] = f"{name} in base64"
    return found


def leaks(data: bytes, values: list[str], found: dict[bytes, str]) -> list[str]:
    """What of the secrets is in these bytes, raw or once decoded the ways text is encoded."""
    hits = [what for needle, what in found.items() if needle in data]
    text = data.decode("utf-8", errors="replace")
    decodings = (unquote(text), unquote_plus(text), html.unescape(text), html.unescape(unquote_plus(text)))
    for decoded in decodings:
        hits += [f"secret #{n + 1} once decoded" for n, value in enumerate(values) if value in decoded]
    return hits


def trace_entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_no_secret_reaches_the_store_logs_report_or_traces(tmp_path: Path, dovecot: Dovecot) -> None:
    token = "acme_" + secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "SHOPPER_PASSWORD": CUSTOMER_PASSWORD,
        "SHOPPER_IMAP_PASSWORD": IMAP_PASSWORD,
        "ACME_API_TOKEN": token,
    }
    hidden = [CUSTOMER_PASSWORD, IMAP_PASSWORD, token]
    onboard = SIGN_UP_AND_LOG_IN.format(token=token)
    features = write_features(tmp_path / "features", onboard, "onboard.feature")
    (features / "help.feature").write_text(ASK_FOR_HELP)
    store, out = tmp_path / "run" / "obs.db", tmp_path / "report"
    store.parent.mkdir()

    faults = load_faults_text("email_delay_s: {support-reply: 3}\n")  # a person answers 3 s later
    with start_acme(faults, dovecot.maildir) as acme:
        run = shopper(
            "run", "--base-url", acme.url, "--map", str(DEMO_MAP), "--features", str(features),
            "--store", str(store), "--segment", "self-serve", "--mailbox", dovecot.url(),
            # What pytest says at its most talkative: long tracebacks with locals, every report section.
            "--", "--tb=long", "--showlocals", "-rA", "--log-level=DEBUG",
            env=env,
        )  # fmt: skip
        poll = shopper("mail", "poll", "--store", str(store), "--wait", "15s", env=env)
        accounts = list(acme.site.app.state.accounts.values())
        login = acme.site.app.state.log_in(accounts[0].email, CUSTOMER_PASSWORD) if accounts else None
    report = shopper("report", "--store", str(store), "--out", str(out), "--observations-csv", env=env)

    # What was run is what the search below is meant to find nothing in.
    assert run.returncode == 1, run.stdout
    assert "failures found" in run.stdout and "a text the checklist does not have" in run.stdout
    assert poll.returncode == 0, poll.stdout
    assert "answered support-reply (self-serve, run " in poll.stdout, poll.stdout
    assert report.returncode == 1, report.stdout
    # The secrets really were used: the password was typed at signup and login, the token typed
    # into a form, the IMAP password logged in (the emails were read over IMAP).
    assert [account.company for account in accounts] == [token]
    assert login is not None and login[0] is Login.OK
    opened = open_store(store)
    try:
        runs = [stored.run_id for stored in opened.runs()]
        observations = opened.observations(runs)
        messages = opened.messages(runs)
    finally:
        opened.close()
    outcomes = dict(zip(observations["step"], observations["outcome"], strict=True))
    assert outcomes["When I log in with my account"] == "passed"
    assert outcomes["Then I am on the onboarding checklist page"] == "passed"
    assert outcomes["And I receive the confirmation email"] == "passed"
    assert outcomes["And I will receive the support reply email"] == "passed"  # resolved by the poll
    failed = observations[observations["outcome"] == "failed"]
    assert len(failed) == 1 and failed["trace"].iloc[0] and failed["evidence"].iloc[0]
    assert 'When I fill in "Company (optional)" with "•••"' in outcomes  # the token, redacted from the step

    # Where to look: the store's files, the outputs, the report and evidence folders, every trace.
    store_files = sorted(path for path in store.parent.glob("obs.db*") if path.is_file())
    evidence = sorted(path for path in (store.parent / "evidence").rglob("*") if path.is_file())
    reported = sorted(path for path in out.rglob("*") if path.is_file())
    traces = [path for path in [*evidence, *reported] if path.suffix == ".zip"]
    assert store in store_files
    assert {path.suffix for path in evidence} >= {".png", ".zip"}
    names = {path.name for path in reported}
    assert {"gap-report.html", "gap-report.json", "summary.md", "actions.csv", "junit.xml"} <= names
    assert "observations.csv" in names
    assert traces

    places: dict[str, bytes] = {
        "shopper run output": run.stdout.encode(),
        "mail poll output": poll.stdout.encode(),
        "report output": report.stdout.encode(),
        "store": b"".join(path.read_bytes() for path in store_files),
    }
    places |= {str(path.relative_to(tmp_path)): path.read_bytes() for path in [*evidence, *reported]}
    entries: dict[str, bytes] = {}
    for trace in traces:
        entries |= {f"{trace.name}!{name}": data for name, data in trace_entries(trace).items()}
    places |= entries

    # The search finds what is there: the customer's address in the store and in the trace (typed at
    # login), and the mark the redaction left where the password was typed.
    addresses = {message.address for message in messages}
    assert len(addresses) == 2, addresses
    assert all(address.encode() in places["store"] for address in addresses)
    assert len(entries) >= 5 and any(name.endswith(".network") for name in entries)
    everything_traced = b"".join(entries.values())
    assert any(address.encode() in everything_traced for address in addresses)
    assert "•••".encode() in everything_traced

    found = needles(hidden)
    assert len(found) > 3 * 8  # every secret in many spellings
    problems = {place: hits for place, data in places.items() if (hits := leaks(data, hidden, found))}
    assert problems == {}
    for path in [*store_files, *evidence, *reported]:
        assert not any(value in str(path) for value in hidden), path
