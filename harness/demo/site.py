"""Acme's website: a standard-library HTTP server on loopback with faults injected per path."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from harness.demo import outbox, pages
from harness.demo.faults import FaultProfile
from harness.demo.outbox import Outbox, one_line
from harness.demo.state import AcmeState, Login, search_articles
from harness.errors import TargetError

log = logging.getLogger(__name__)

SESSION_COOKIE = "acme_session"
_MAX_BODY = 64 * 1024
# Deliberately plain: it keeps header injection and unparseable addresses out of Acme's email.
_PNG, _SVG = "image/png", "image/svg+xml"
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


JSON_TYPE = "application/json"


@dataclass
class Response:
    status: int
    body: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    data: bytes | None = None  # an image's bytes, sent instead of `body`
    content_type: str = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]


def _redirect(location: str, *headers: tuple[str, str]) -> Response:
    return Response(303, "", [("Location", location), *headers])


class AcmeApp:
    """The routes. Kept apart from the HTTP plumbing so each reads on its own."""

    def __init__(self, faults: FaultProfile, mail: Outbox, url: str) -> None:
        self.faults = faults
        self.mail = mail
        self.url = url
        self.state = AcmeState()
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/"): lambda r: Response(200, pages.home()),
            ("GET", "/pricing"): lambda r: Response(200, pages.pricing()),
            ("GET", "/api/plans"): lambda r: Response(200, pages.plans_json(), content_type=JSON_TYPE),
            ("GET", "/demo"): lambda r: Response(200, pages.demo_form({})),
            ("POST", "/demo"): self.book_demo,
            ("GET", "/signup"): lambda r: Response(200, pages.signup_form({})),
            ("POST", "/signup"): self.sign_up,
            ("GET", "/confirm"): self.confirm,
            ("GET", "/login"): lambda r: Response(200, pages.login_form({})),
            ("POST", "/login"): self.log_in,
            ("GET", "/onboarding"): self.onboarding,
            ("GET", "/help"): lambda r: Response(200, pages.help_centre()),
            ("GET", "/help/search"): self.search,
            ("GET", "/support"): lambda r: Response(200, pages.support_form({})),
            ("POST", "/support"): self.contact_support,
            ("GET", pages.HERO_PATH): lambda r: Response(200, data=pages.hero_png(), content_type=_PNG),
            ("GET", pages.BADGE_PATH): lambda r: Response(200, data=pages.BADGE.encode(), content_type=_SVG),
        }

    def handle(self, request: Request) -> Response:
        # Faults come first and apply to any path, even one Acme does not have.
        latency = self.faults.latency_ms.get(request.path)
        if latency:
            time.sleep(latency / 1000)
        code = self.faults.status.get(request.path)
        if code is not None:
            return Response(code, pages.fault(code))
        route = self.routes.get((request.method, request.path))
        if route is not None:
            response = route(request)
            if request.path in self.faults.unlabelled_fields:
                response.body = pages.unlabel(response.body)
            return response
        if any(path == request.path for _, path in self.routes):
            allowed = ", ".join(sorted(m for m, path in self.routes if path == request.path))
            return Response(
                405, pages.message("Not allowed", "This page cannot be used that way."), [("Allow", allowed)]
            )
        return Response(404, pages.message("Page not found", "Page not found"))

    def book_demo(self, request: Request) -> Response:
        form = request.form
        name, email, company = (
            one_line(form.get("name", "")),
            form.get("email", "").strip(),
            one_line(form.get("company", "")),
        )
        size = form.get("size", "")
        if not (name and email and company):
            return Response(400, pages.demo_form(form, "Please fill in your name, work email and company."))
        if not _EMAIL.fullmatch(email):
            return Response(400, pages.demo_form(form, "Please enter a valid work email address."))
        if size not in pages.COMPANY_SIZES:
            return Response(400, pages.demo_form(form, "Please choose a company size."))
        self.mail.send("demo-booked", outbox.demo_booked_email(name, email, company, size))
        return Response(
            200,
            pages.message(
                "Your demo is booked",
                f"Thanks, {name} — our sales team will contact you within one business day.",
            ),
        )

    def sign_up(self, request: Request) -> Response:
        form = request.form
        name, email, password = (
            one_line(form.get("name", "")),
            form.get("email", "").strip(),
            form.get("password", ""),
        )
        if not (name and email and password):
            return Response(400, pages.signup_form(form, "Please fill in your name, email and password."))
        if not _EMAIL.fullmatch(email):
            return Response(400, pages.signup_form(form, "Please enter a valid email address."))
        token = self.state.sign_up(name, email, password, one_line(form.get("company", "")))
        if token is None:
            return Response(
                409, pages.signup_form(form, "An account with this email already exists.", offer_login=True)
            )
        link = f"{self.url}/confirm?token={token}"
        self.mail.send("confirmation", outbox.confirmation_email(name, email, link))
        return Response(200, pages.message("Check your inbox", f"We sent a confirmation link to {email}."))

    def confirm(self, request: Request) -> Response:
        account = self.state.confirm(request.query.get("token", ""))
        if account is None:
            return Response(
                400, pages.message("Link not valid", "This confirmation link is invalid or has expired.")
            )
        return Response(
            200,
            pages.message(
                "Your account is confirmed",
                f"Thanks, {account.name}. You can now log in.",
                extra='<p><a href="/login">Log in</a></p>',
            ),
        )

    def log_in(self, request: Request) -> Response:
        form = request.form
        outcome, account, session = self.state.log_in(form.get("email", "").strip(), form.get("password", ""))
        if outcome is Login.WRONG or account is None:
            return Response(401, pages.login_form(form, "Wrong email or password."))
        if outcome is Login.UNCONFIRMED:
            return Response(403, pages.login_form(form, "Please confirm your email address first."))
        if outcome is Login.FIRST:
            self.mail.send("welcome", outbox.welcome_email(account.name, account.email))
            self.mail.send("tips", outbox.tips_email(account.name, account.email, f"{self.url}/help"))
        return _redirect(
            "/onboarding", ("Set-Cookie", f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax")
        )

    def onboarding(self, request: Request) -> Response:
        account = self.state.session_account(request.cookies.get(SESSION_COOKIE, ""))
        if account is None:
            return _redirect("/login")
        return Response(200, pages.onboarding(account.name))

    def search(self, request: Request) -> Response:
        query = request.query.get("q", "")
        return Response(200, pages.search_results(query, search_articles(query)))

    def contact_support(self, request: Request) -> Response:
        form = request.form
        email, subject, body = (
            form.get("email", "").strip(),
            one_line(form.get("subject", "")),
            form.get("message", "").strip(),
        )
        if not (email and subject and body):
            return Response(
                400, pages.support_form(form, "Please fill in your email, a subject and a message.")
            )
        if not _EMAIL.fullmatch(email):
            return Response(400, pages.support_form(form, "Please enter a valid email address."))
        ticket = self.state.open_ticket(email, subject, body)
        ack = outbox.support_ack_email(email, ticket.ref, subject, body)
        self.mail.send("support-ack", ack)
        # Queued now, so its delay runs from the ticket's opening, as an agent's reply time does,
        # and not from whenever the acknowledgement happened to go out.
        reply = outbox.support_reply_email(email, ticket.ref, subject, body, str(ack["Message-ID"]))
        self.mail.send("support-reply", reply, dated_when_sent=True)
        return Response(
            200,
            pages.message(
                "We received your request",
                f"Your ticket reference is {ticket.ref}.",
                extra=f"<p>We sent a copy to {pages.esc(email)}.</p>",
            ),
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app_factory: Callable[[str], AcmeApp]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app_factory(f"http://127.0.0.1:{self.server_address[1]}")

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A browser that hangs up early is normal; anything else is a bug worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s hung up early", client_address)
        else:
            log.exception("Acme failed to serve a request from %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "Acme/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        # Runs print their own progress; per-request lines on stderr would drown it.
        log.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit() or int(length) > _MAX_BODY:
            self._send(Response(413, pages.message("Too large", "That request is too large.")))
            return
        request = self._request(int(length))
        try:
            response = self.server.app.handle(request)
        except Exception:
            log.exception("Acme failed on %s %s", request.method, request.path)
            response = Response(500, pages.fault(500))
        self._send(response)

    def _request(self, length: int) -> Request:
        url = urlsplit(self.path)
        # The body is read before any fault fires: closing a socket with unread data resets it,
        # and the client would see a dropped connection instead of the injected status.
        body = self.rfile.read(length).decode("utf-8", errors="replace") if length > 0 else ""
        cookies: dict[str, str] = {}
        with contextlib.suppress(CookieError):
            cookies = {k: m.value for k, m in SimpleCookie(self.headers.get("Cookie", "")).items()}
        return Request(
            method=self.command,
            path=url.path,
            query={k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()},
            form={k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()},
            cookies=cookies,
        )

    def _send(self, response: Response) -> None:
        # Informational, 204 and 304 answers must not carry a body.
        has_body = response.status >= 200 and response.status not in (204, 304)
        data = response.data if response.data is not None else response.body.encode("utf-8")
        body = data if has_body else b""
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)


class AcmeSite:
    def __init__(self, faults: FaultProfile, smtp_port: int, smtp_host: str = "127.0.0.1") -> None:
        self.faults = faults
        self.smtp_port = smtp_port
        self.smtp_host = smtp_host
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise TargetError("The demo site is not running.")
        return self._server.app.url

    @property
    def app(self) -> AcmeApp:
        if self._server is None:
            raise TargetError("The demo site is not running.")
        return self._server.app

    def start(self) -> None:
        if self._server is not None:
            return
        mail = Outbox(self.faults, self.smtp_host, self.smtp_port)
        try:
            server = _Server(lambda url: AcmeApp(self.faults, mail, url))
        except OSError as exc:
            raise TargetError(f"The demo site cannot listen on 127.0.0.1: {exc.strerror}.") from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="acme-site", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.app.mail.close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> AcmeSite:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
