"""Acme's accounts, sessions and support tickets, kept in memory for the life of one demo run."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field

_HELP_ARTICLES = (
    "Getting started with Acme",
    "Creating your first project",
    "Inviting teammates to a project",
    "Connecting your calendar",
    "Resetting your password",
    "Changing your plan or billing details",
    "Exporting your projects",
    "Closing your Acme account",
)


def search_articles(query: str) -> list[str]:
    needle = query.strip().casefold()
    return [title for title in _HELP_ARTICLES if needle and needle in title.casefold()]


def _hash(password: str, salt: bytes) -> bytes:
    # A demo still should not model plain-text passwords; few rounds keep logins fast in tests.
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, 1_000)


@dataclass
class Account:
    name: str
    email: str
    company: str
    salt: bytes
    password_hash: bytes
    confirmed: bool = False
    welcomed: bool = False


@dataclass(frozen=True)
class Ticket:
    ref: str
    email: str
    subject: str
    message: str


class Login(enum.Enum):
    OK = "ok"
    FIRST = "first"  # OK, and the first time ever: the moment the welcome email is due
    WRONG = "wrong"
    UNCONFIRMED = "unconfirmed"


@dataclass
class AcmeState:
    accounts: dict[str, Account] = field(default_factory=dict)  # by casefolded email
    confirm_tokens: dict[str, str] = field(default_factory=dict)  # token -> email key
    sessions: dict[str, str] = field(default_factory=dict)  # session id -> email key
    tickets: dict[str, Ticket] = field(default_factory=dict)  # by reference
    next_ticket: int = 1001
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sign_up(self, name: str, email: str, password: str, company: str) -> str | None:
        """A confirmation token for the new account, or None when the email is taken."""
        key = email.casefold()
        salt = secrets.token_bytes(16)
        account = Account(name, email, company, salt, _hash(password, salt))
        token = secrets.token_urlsafe(24)
        with self.lock:
            if key in self.accounts:
                return None
            self.accounts[key] = account
            self.confirm_tokens[token] = key
        return token

    def confirm(self, token: str) -> Account | None:
        with self.lock:
            key = self.confirm_tokens.get(token)
            account = self.accounts.get(key) if key is not None else None
            if account is not None:
                account.confirmed = True
            return account

    def log_in(self, email: str, password: str) -> tuple[Login, Account | None, str]:
        """The outcome, the account and (on success) a new session id."""
        with self.lock:
            account = self.accounts.get(email.casefold())
        if account is None or not hmac.compare_digest(account.password_hash, _hash(password, account.salt)):
            return Login.WRONG, None, ""
        with self.lock:
            if not account.confirmed:
                return Login.UNCONFIRMED, account, ""
            session = secrets.token_urlsafe(24)
            self.sessions[session] = account.email.casefold()
            first = not account.welcomed
            account.welcomed = True
        return (Login.FIRST if first else Login.OK), account, session

    def session_account(self, session: str) -> Account | None:
        with self.lock:
            key = self.sessions.get(session)
            return self.accounts.get(key) if key is not None else None

    def open_ticket(self, email: str, subject: str, message: str) -> Ticket:
        with self.lock:
            ticket = Ticket(f"ACME-{self.next_ticket:04d}", email, subject, message)
            self.next_ticket += 1
            self.tickets[ticket.ref] = ticket
        return ticket
