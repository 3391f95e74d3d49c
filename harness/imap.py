"""A real inbox over IMAP: imap://USER@HOST:PORT/INBOX, imaps://... or ?starttls=1.

The password comes from an environment variable (SHOPPER_IMAP_PASSWORD, or the one ?password_env=
names), never from the URL, and never shows up in an error. Messages are fetched by UID and kept,
so each poll asks the server only for what arrived since the last one. Polling only: no IDLE.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import os
import re
import ssl
import time
from urllib.parse import parse_qs, unquote, urlsplit

from harness.errors import TargetError
from harness.mailbox import ReceivedEmail, parse_email

PASSWORD_ENV = "SHOPPER_IMAP_PASSWORD"
UID = re.compile(rb"\bUID (\d+)")
INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


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
        poll_s: float = 0.1,
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.user, self.folder = host, port, user, folder
        self._password = password
        self.tls, self.starttls = tls, starttls
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self._connection: imaplib.IMAP4 | None = None
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
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
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
        return cls(
            parts.hostname,
            port,
            unquote(parts.username),
            password,
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            tls=tls,
            starttls=query.get("starttls", "0").lower() in ("1", "true", "yes"),
            poll_s=poll_s,
        )

    def _connect(self) -> imaplib.IMAP4:
        context = ssl.create_default_context()
        try:
            if self.tls:
                connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=context, timeout=self.timeout_s
                )
            else:
                connection = imaplib.IMAP4(self.host, self.port, timeout=self.timeout_s)
                if self.starttls:
                    connection.starttls(context)
        except ssl.SSLError as exc:
            reason = exc.reason or "TLS error"
            raise TargetError(
                f"the IMAP server at {self.where} failed the TLS handshake ({reason})"
            ) from None
        except (OSError, imaplib.IMAP4.error):
            raise TargetError(f"the IMAP server at {self.where} is not answering") from None
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
        time.sleep(seconds)

    def close(self) -> None:
        if self._connection is not None:
            _close(self._connection)
            self._connection = None


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


def _close(connection: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        connection.logout()
