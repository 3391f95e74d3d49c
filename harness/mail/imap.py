"""A real inbox over IMAP: imap://USER@HOST:PORT/INBOX, imaps://... or ?starttls=1.

The password comes from an environment variable (SHOPPER_IMAP_PASSWORD, or the one ?password_env=
names), never from the URL, and never shows up in an error. Messages are fetched by UID and kept,
so each look asks the server only for what arrived since the last one.

Between looks the mailbox waits in IMAP IDLE (RFC 2177) when the server offers it, so an email is
seen as soon as the server reports it, not at the next ?poll= (seconds); ?idle=0 turns IDLE off and
only polls. TLS: imaps:// (port 993) or ?starttls=1, trusting the system's CAs, or only the CA in
?cafile=PATH (a company's own); the server's host name is always checked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import io
import itertools
import os
import re
import select
import ssl
import time
from typing import cast
from urllib.parse import parse_qs, unquote, urlsplit

from harness.errors import TargetError, did_you_mean
from harness.mail.message import ReceivedEmail, parse_email

PASSWORD_ENV = "SHOPPER_IMAP_PASSWORD"
URL_OPTIONS = ("starttls", "cafile", "poll", "idle", "password_env")
UID = re.compile(rb"\bUID (\d+)")
INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
NEW_MAIL = re.compile(rb"\* \d+ (EXISTS|RECENT)\b", re.IGNORECASE)
# RFC 2177: a server may drop a client that IDLEs for 30 minutes without a word.
IDLE_CAP_S = 25 * 60
# X509 verify codes a private CA explains (self-signed, unknown issuer), unlike a host name mismatch.
UNKNOWN_CA = {18, 19, 20, 21}
_IDLE_TAGS = itertools.count(1)


class ImapMailbox:
    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        folder: str = "INBOX",
        tls: bool = False,
        starttls: bool = False,
        cafile: str | None = None,
        poll_s: float = 0.1,
        idle: bool = True,
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.user, self.folder = host, port, user, folder
        self._password = password
        self.tls, self.starttls, self.cafile = tls, starttls, cafile
        self.poll_s, self.idle = poll_s, idle
        self.timeout_s = timeout_s
        if cafile is not None and not (tls or starttls):
            raise TargetError("?cafile= only applies over TLS: use imaps:// or add ?starttls=1")
        # Built now, so a bad ?cafile= is reported when the mailbox is opened, not at the first email.
        self._context = _tls_context(cafile) if tls or starttls else None
        self._connection: imaplib.IMAP4 | None = None
        self._server_idles = False
        self._uidvalidity = ""
        self._fetched: dict[int, ReceivedEmail] = {}

    def __repr__(self) -> str:  # never the password
        return f"ImapMailbox({self.where}, user={self.user!r}, folder={self.folder!r})"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str) -> ImapMailbox:
        parts = urlsplit(url)
        if parts.password is not None:
            raise TargetError(f"put the IMAP password in {PASSWORD_ENV}, not in the mailbox URL")
        if not parts.username or not parts.hostname:
            raise TargetError("an IMAP mailbox needs a user and a host: imap://USER@HOST:PORT/INBOX")
        query = {name: values[-1] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = sorted(set(query) - set(URL_OPTIONS))
        if unknown:
            # Never echo the value: an unknown key may well be someone's ?password=.
            raise TargetError(
                f'the IMAP mailbox URL has an unknown option "{unknown[0]}"'
                f"{did_you_mean(unknown[0], list(URL_OPTIONS))}; it takes {', '.join(URL_OPTIONS)}"
            )
        variable = query.get("password_env", PASSWORD_ENV)
        password = os.environ.get(variable)
        if not password:
            raise TargetError(f"set {variable} to the password of the IMAP mailbox {unquote(parts.username)}")
        tls = parts.scheme == "imaps"
        try:
            port = parts.port or (993 if tls else 143)
            poll_s = float(query.get("poll", "0.1"))
        except ValueError:
            raise TargetError("the IMAP mailbox URL has a port or ?poll= that is not a number") from None
        if not 0.01 <= poll_s <= 3600:
            # 0 or less would ask the server without a pause, for as long as a step waits.
            raise TargetError("?poll= is the seconds between looks at the mailbox: from 0.01 to 3600")
        return cls(
            parts.hostname,
            port,
            unquote(parts.username),
            password,
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            tls=tls,
            starttls=_yes(query.get("starttls", "0")),
            cafile=query.get("cafile"),
            poll_s=poll_s,
            idle=_yes(query.get("idle", "1")),
        )

    def _connect(self) -> imaplib.IMAP4:
        connection = self._open()
        try:
            connection.login(self.user, self._password)
        except imaplib.IMAP4.error:
            _close(connection)
            raise TargetError(f"the IMAP server at {self.where} refused the login for {self.user}") from None
        status, _ = connection.select(_quote(self.folder), readonly=True)
        if status != "OK":
            _close(connection)
            raise TargetError(
                f'the IMAP server at {self.where} has no folder "{self.folder}" for {self.user}'
            )
        _, values = connection.response("UIDVALIDITY")
        uidvalidity = values[0].decode() if values and isinstance(values[0], bytes) else ""
        if uidvalidity != self._uidvalidity:
            self._uidvalidity, self._fetched = uidvalidity, {}
        # Asked after login: a server may offer more (IDLE among it) to a logged-in user.
        self._server_idles = self.idle and isinstance(connection.file, io.BufferedReader)
        if self._server_idles:
            _, capabilities = connection.capability()
            self._server_idles = b"IDLE" in b" ".join(capabilities).upper().split()
        return connection

    def _open(self) -> imaplib.IMAP4:
        """Connected, and over TLS when asked: never a login in the clear when STARTTLS was wanted."""
        connection: imaplib.IMAP4 | None = None
        try:
            if self.tls:
                connection = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=self._context, timeout=self.timeout_s
                )
            else:
                connection = imaplib.IMAP4(self.host, self.port, timeout=self.timeout_s)
                if self.starttls and "STARTTLS" in connection.capabilities:
                    connection.starttls(self._context)
        except ssl.SSLError as exc:
            _shut(connection)
            raise TargetError(
                f"the IMAP server at {self.where} failed the TLS handshake ({_tls_reason(exc)})"
            ) from None
        except (OSError, imaplib.IMAP4.error):
            _shut(connection)
            raise TargetError(f"the IMAP server at {self.where} is not answering") from None
        if self.starttls and not isinstance(connection.socket(), ssl.SSLSocket):
            _shut(connection)
            raise TargetError(
                f"the IMAP server at {self.where} does not offer STARTTLS, "
                "so the mailbox is not read in the clear"
            )
        return connection

    def messages(self) -> list[ReceivedEmail]:
        try:
            self._fetch_new()
        except (OSError, imaplib.IMAP4.abort):
            # The connection dropped (server restart, idle timeout): one reconnect, then give up.
            self.close()
            try:
                self._fetch_new()
            except (OSError, imaplib.IMAP4.error):
                self.close()
                raise TargetError(f"the IMAP server at {self.where} is not answering") from None
        except imaplib.IMAP4.error:
            self.close()
            raise TargetError(
                f"the IMAP server at {self.where} answered a mailbox read with an error"
            ) from None
        return list(self._fetched.values())

    def _fetch_new(self) -> None:
        if self._connection is None:
            self._connection = self._connect()
        connection = self._connection
        connection.noop()  # lets the server report mail that arrived since the last poll
        # What the server reports from here on may be mail the SEARCH below misses: wait() checks.
        connection.untagged_responses.pop("EXISTS", None)
        start = max(self._fetched, default=0) + 1
        _, found = connection.uid("SEARCH", "UID", f"{start}:*")
        # "n:*" always matches the highest UID, even one below n.
        uids = [int(uid) for uid in (found[0] or b"").split() if int(uid) >= start] if found else []
        if not uids:
            return
        _, data = connection.uid("FETCH", ",".join(map(str, uids)), "(BODY.PEEK[] INTERNALDATE)")
        for item in data:
            if not isinstance(item, tuple):
                continue
            head, raw = item
            uid = UID.search(head)
            if uid is None:
                continue
            key = f"imap:{self._uidvalidity}:{uid.group(1).decode()}"
            self._fetched[int(uid.group(1))] = parse_email(key, raw, _internaldate(head))

    def wait(self, seconds: float) -> None:
        """Sleep, or IDLE until the server reports new mail: then the next look fetches it at once."""
        connection = self._connection
        if connection is None or not self._server_idles:
            time.sleep(seconds)
            return
        if seconds <= 0 or connection.untagged_responses.pop("EXISTS", None) is not None:
            return  # the latter: reported during the last look, perhaps after its SEARCH
        started = time.monotonic()
        try:
            _idle(connection, min(seconds, IDLE_CAP_S))
        except (OSError, imaplib.IMAP4.abort):
            self.close()  # dropped: the next look reconnects, or says the server is not answering
        except imaplib.IMAP4.error:
            # Offered IDLE, then refused it: poll from now on rather than ask again each time.
            self._server_idles = False
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))

    def close(self) -> None:
        if self._connection is not None:
            _close(self._connection)
            self._connection = None


def _idle(connection: imaplib.IMAP4, seconds: float) -> None:
    """IDLE until the server reports new mail or `seconds` pass, then end it with DONE.

    imaplib (before 3.14) has no IDLE, so this speaks it on imaplib's connection, reading only
    through imaplib's own buffered file to keep the two in step.
    """
    deadline = time.monotonic() + seconds
    tag = b"SHOPPER%d" % next(_IDLE_TAGS)
    connection.send(tag + b" IDLE\r\n")
    arrived = False
    while not (line := _line(connection)).startswith(b"+"):
        if line.startswith(tag + b" "):
            raise imaplib.IMAP4.error("IDLE refused")
        arrived = arrived or NEW_MAIL.match(line) is not None
    while not arrived and _readable(connection, deadline):
        arrived = NEW_MAIL.match(_line(connection)) is not None
    connection.send(b"DONE\r\n")
    while not (line := _line(connection)).startswith(tag + b" "):
        pass  # the rest of what the server had to say while IDLE: the next look fetches it
    if not line[len(tag) + 1 :].upper().startswith(b"OK"):
        raise imaplib.IMAP4.error("IDLE ended with an error")


def _line(connection: imaplib.IMAP4) -> bytes:
    line = connection.readline()
    if not line or line.upper().startswith(b"* BYE"):
        raise imaplib.IMAP4.abort("the server closed the connection")
    return line


def _readable(connection: imaplib.IMAP4, deadline: float) -> bool:
    """Wait until a line can be read without blocking, or until the deadline.

    select() cannot see bytes imaplib's buffered file already holds, and a socket timeout would
    break that file for good: so look into the buffer without blocking before each select().
    """
    while not _buffered(connection):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([connection.socket()], [], [], remaining)[0]:
            return False
    return True


def _buffered(connection: imaplib.IMAP4) -> bool:
    """Whether a read returns at once: bytes in the file's buffer, in TLS's or on the socket, or EOF."""
    sock = connection.socket()
    timeout = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        if cast(io.BufferedReader, connection.file).peek(1):
            return True
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False  # no IMAP bytes yet, though a TLS record without any (a session ticket) came
    finally:
        sock.settimeout(timeout)
    # Nothing: over TLS that means EOF; a plain socket's file says nothing both for EOF and for
    # no data yet, and there a readable socket with nothing to read is EOF.
    return isinstance(sock, ssl.SSLSocket) or bool(select.select([sock], [], [], 0)[0])


def _tls_context(cafile: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=cafile)
    except OSError as exc:
        reason = exc.strerror if exc.strerror and not isinstance(exc, ssl.SSLError) else "no PEM certificate"
        raise TargetError(f"the IMAP mailbox's ?cafile= {cafile} cannot be used ({reason})") from None


def _tls_reason(exc: ssl.SSLError) -> str:
    if not isinstance(exc, ssl.SSLCertVerificationError):
        return str(exc.reason or "TLS error")
    reason = f"certificate not trusted: {str(exc.verify_message).rstrip('.')}"
    if exc.verify_code in UNKNOWN_CA:
        reason += "; a private CA can be named with ?cafile=PATH"
    return reason


def _yes(value: str) -> bool:
    return value.lower() in ("1", "true", "yes")


def _internaldate(head: bytes) -> dt.datetime | None:
    found = INTERNALDATE.search(head)
    if found is None:
        return None
    try:
        return dt.datetime.strptime(found.group(1).decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _shut(connection: imaplib.IMAP4 | None) -> None:
    """Drop a connection that never got as far as a login: there is nothing to log out of."""
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown()


def _close(connection: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        connection.logout()
