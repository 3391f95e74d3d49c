"""A real Dovecot IMAP server for tests: its own config, port, users and Maildirs under one folder.

One server serves the whole test run (tests/conftest.py); each test gets a user, and so a Maildir,
of its own (`Dovecot.add_user`), so no test sees another's mail and no test waits for a start.

Mail reaches it the way it reaches a real inbox: over SMTP, into the Maildir Dovecot serves (the
demo's aiosmtpd sink delivers there). `make test` installs Dovecot (Debian's dovecot-imapd) when
it can; without it these tests fail with a message saying so. With tls=True it also speaks TLS:
STARTTLS on its imap port and implicit TLS on a second (imaps) port, with a certificate for
127.0.0.1 and localhost (or the names asked for) that is its own CA, written to `cafile`.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from certs import self_signed

from harness.demo.mailsink import MailSink
from harness.mail.imap import ImapMailbox
from harness.mail.mailbox import wait_for_email

USER = "shopper"
PASSWORD = "imap-Secret-7f3a9"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain
auth_failure_delay = 0
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{root}/mail/%u
# Any user name logs in with the one password, to a Maildir of its own: a user per test, no reload.
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
{imaps}}}
"""
# Read by Dovecot's config process, which runs as the user who started it, so the key stays 0600.
TLS = """\
ssl = yes
ssl_cert = <{root}/tls/cert.pem
ssl_key = <{root}/tls/key.pem"""
IMAPS = """\
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
"""


@dataclass
class Dovecot:
    port: int
    root: Path
    user: str = USER
    password: str = PASSWORD
    host: str = "127.0.0.1"
    tls_port: int | None = None  # implicit TLS (imaps), when started with tls=True

    @property
    def cafile(self) -> Path:
        """The server's certificate, which is its own CA: what ?cafile= names to trust it."""
        return self.root / "tls" / "cert.pem"

    @property
    def maildir(self) -> Path:
        """The user's INBOX on disk: deliver here and Dovecot serves it."""
        return self.root / "mail" / self.user

    def add_user(self, name: str) -> Dovecot:
        """A user of this server with an empty Maildir of its own: the same server, seen as that user.

        Every user name logs in with the server's one password (a static passdb), so no restart.
        """
        user = replace(self, user=name)
        uid, gid, _, _ = _account()
        _maildir(user.maildir, uid, gid)
        return user

    def url(self, query: str = "", *, imaps: bool = False) -> str:
        """The mailbox URL; imaps=True for the implicit-TLS port."""
        scheme, port = ("imaps", self.tls_port) if imaps else ("imap", self.port)
        where = f"{scheme}://{self.user}@{self.host}:{port}/INBOX"
        return where + (f"?{query}" if query else "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _binary() -> str:
    sbin = "/usr/sbin/dovecot"  # not on a non-root PATH
    found = shutil.which("dovecot") or (sbin if os.access(sbin, os.X_OK) else None)
    if found is None:
        pytest.fail(
            "Dovecot is not installed, and the IMAP tests need a real IMAP server: run `make test` as root "
            "(it installs dovecot-imapd) or `apt-get install dovecot-imapd`",
            pytrace=False,
        )
    return found


def _account() -> tuple[int, int, str, str]:
    """The mail uid/gid and Dovecot's internal and login users: Dovecot refuses uid 0 for mail."""
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid()).pw_name
        return os.getuid(), os.getgid(), me, me
    nobody = pwd.getpwnam("nobody")

    def exists(name: str) -> bool:
        try:
            pwd.getpwnam(name)
        except KeyError:
            return False
        return True

    internal = "dovecot" if exists("dovecot") else "nobody"
    login = "dovenull" if exists("dovenull") else "nobody"
    return nobody.pw_uid, nobody.pw_gid, internal, login


@contextmanager
def running_dovecot(
    *, tls: bool = False, names: Sequence[str] = ("127.0.0.1", "localhost")
) -> Iterator[Dovecot]:
    """Dovecot on a free loopback port; its files in a folder of their own, not pytest's tmp_path.

    Dovecot's unprivileged processes must reach the config, users file and Maildirs, and pytest's
    tmp_path lies under a 0700 folder of ours. With tls=True the certificate is made for `names`.
    """
    binary = _binary()
    with tempfile.TemporaryDirectory(prefix="shopper-dovecot-") as folder:
        root = Path(folder)
        root.chmod(0o755)
        with _serve(binary, root, names if tls else None) as server:
            yield server


@contextmanager
def _serve(binary: str, root: Path, names: Sequence[str] | None) -> Iterator[Dovecot]:
    uid, gid, internal, login = _account()
    server = Dovecot(port=free_port(), root=root, tls_port=None if names is None else free_port())
    ssl, imaps = "ssl = no", ""
    if names is not None:
        server.cafile.parent.mkdir(mode=0o755)
        self_signed(server.cafile, server.cafile.with_name("key.pem"), names)
        ssl, imaps = TLS.format(root=root), IMAPS.format(port=server.tls_port)
    (root / "mail").mkdir()
    os.chown(root / "mail", uid, gid)
    _maildir(server.maildir, uid, gid)
    config = root / "dovecot.conf"
    config.write_text(
        CONFIG.format(
            root=root,
            port=server.port,
            internal=internal,
            login=login,
            ssl=ssl,
            imaps=imaps,
            password=PASSWORD,
            uid=uid,
            gid=gid,
        )
    )
    # The sink delivers as this process: files Dovecot's mail user (not us) must be able to read.
    umask = os.umask(0o022)
    with (root / "dovecot.stderr").open("wb") as stderr:
        command = [binary, "-F", "-c", str(config)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        _wait_for_port(server, process, server.port)
        if server.tls_port is not None:
            _wait_for_port(server, process, server.tls_port)
        yield server
    finally:
        os.umask(umask)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _maildir(maildir: Path, uid: int, gid: int) -> None:
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for path in [maildir, *(maildir / sub for sub in ("tmp", "new", "cur"))]:
        os.chown(path, uid, gid)


_USERS = itertools.count(1)


def next_user() -> str:
    """A user name no other test of this run has had."""
    return f"{USER}{next(_USERS)}"


def _wait_for_port(server: Dovecot, process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection((server.host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    logged = "".join(
        path.read_text(errors="replace")
        for path in (server.root / "dovecot.stderr", server.root / "dovecot.log")
        if path.exists()
    )
    pytest.fail(f"Dovecot did not start on port {port}:\n{logged}", pytrace=False)


def send(sink: MailSink, to: str, subject: str, body: str) -> None:
    """An email over real SMTP to the sink, which files it in the Maildir Dovecot serves."""
    message = EmailMessage()
    message["From"] = "Acme <hello@acme.test>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
        smtp.send_message(message)


def time_a_delayed_email(
    boxes: Sequence[ImapMailbox], sink: MailSink, delay_s: float, to: str = "shopper+r1-1@example.test"
) -> list[float]:
    """Seconds from now until wait_for_email returns, in each box (each waiting in a thread of its
    own), an email sent over SMTP after `delay_s`: boxes that wait differently, timed on one email."""
    for box in boxes:
        box.messages()  # connected and logged in before the clock starts
    waited: list[float] = [float("nan")] * len(boxes)
    problems: list[BaseException] = []

    def wait(index: int) -> None:
        try:
            wait_for_email(boxes[index], to=to, subject="receipt", seen=set(), timeout_s=10)
            waited[index] = time.monotonic() - started
        except BaseException as problem:
            problems.append(problem)

    waiters = [threading.Thread(target=wait, args=(index,)) for index in range(len(boxes))]
    later = threading.Timer(delay_s, send, (sink, to, "Your receipt", "Thanks"))
    started = time.monotonic()
    later.start()
    for waiter in waiters:
        waiter.start()
    try:
        for waiter in waiters:
            waiter.join()
    finally:
        later.join()
        for box in boxes:
            box.close()
    if problems:
        raise problems[0]
    return waited
