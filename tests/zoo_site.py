"""The field zoo's site: pages marked up as common frameworks render them, and what their forms received.

Every POST must carry the CSRF token its page handed out (as Django, Flask-WTF and Rails insist),
and is answered as those frameworks do: a redirect to the next page.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from journeys import serve

ZOO = Path(__file__).resolve().parent / "zoo"
PAGES = {
    "/": "home",
    "/pricing": "pricing",
    "/django/signup": "django_signup",
    "/flask/login": "flask_login",
    "/support": "bootstrap_support",
    "/search": "search",
    "/rails/users/new": "rails_signup",
    "/steps/email": "steps_email",
    "/steps/password": "steps_password",
    "/late": "late",
    "/feedback": "two_sends",
    "/styled/signup": "styled_signup",
    "/bare/login": "bare_login",
    "/my-account": "woo_account",
    "/moved": "moved",
}
# Where each form's POST sends the customer, or the page it answers with (a 200).
AFTER = {
    "/django/signup": "/django/welcome",
    "/flask/login": "/flask/account",
    "/rails/users": "/rails/users/1",
    "/steps/email": "/steps/password",
    "/steps/password": "/steps/done",
    "/styled/signup": "/steps/done",
    "/bare/login": "/flask/account",
    "/my-account": "/flask/account",
}
THANKS = "Thanks, your ticket ZOO-1234 is open"  # what a form without a next page answers
PROTECTED = frozenset({*AFTER, "/support"})  # the forms that carry a CSRF token
ANSWERS = {
    "/django/welcome": "Welcome aboard",
    "/flask/account": "You are signed in",
    "/rails/users/1": "User was successfully created",
    "/steps/done": "Your account is ready",
    "/search/results": "Results for your search",
    "/subscribe": "Subscribed",
}


@dataclass
class Received:
    """What the zoo's forms got, by path, in order."""

    forms: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)  # the pages asked for
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, path: str) -> None:
        with self.lock:
            self.opened.append(path)

    def add(self, path: str, values: dict[str, str]) -> None:
        with self.lock:
            self.forms.append((path, values))

    def at(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [values for sent, values in self.forms if sent == path]


@contextmanager
def zoo_site() -> Iterator[tuple[str, Received]]:
    received = Received()
    token = secrets.token_hex(8)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            received.open(url.path)
            if url.query:
                received.add(url.path, _values(url.query))
            if url.path in PAGES:
                html = (ZOO / f"{PAGES[url.path]}.html").read_text().replace("{token}", token)
                self._send(200, html, cookie=f"csrftoken={token}; Path=/; SameSite=Lax")
            elif url.path in ANSWERS:
                self._send(200, f"<!doctype html><title>Done</title><h1>{ANSWERS[url.path]}</h1>")
            else:
                self._send(404, "<!doctype html><title>Not found</title><h1>Page not found</h1>")

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            values = _values(self.rfile.read(length).decode())
            cookie = self.headers.get("Cookie") or ""
            if path in PROTECTED and (f"csrftoken={token}" not in cookie or token not in values.values()):
                self._send(403, "<!doctype html><title>Forbidden</title><h1>CSRF verification failed</h1>")
                return
            received.add(path, values)
            if path in AFTER:
                self.send_response(302)
                self.send_header("Location", AFTER[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(200, f"<!doctype html><title>Thanks</title><h1>{THANKS}</h1>")

        def _send(self, status: int, html: str, cookie: str = "") -> None:
            body = html.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if cookie:
                self.send_header("Set-Cookie", cookie)
            self.end_headers()
            self.wfile.write(body)

    with serve(Handler) as url:
        yield url, received


def _values(query: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}
