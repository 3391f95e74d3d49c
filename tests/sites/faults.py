"""Faults injected into a real application, in front of it as WSGI middleware, and its server.

The tests make a site nobody here wrote misbehave the way real sites do: a form that answers
late, a form that answers HTTP 500, a form that lost a field in a redesign. The faults are set
from the start by the SITE_FAULTS environment variable, or while the app runs by a JSON POST to
`/__faults__` (an empty object clears them), both JSON like this:

    {"delay_ms": {"POST /login": 3000},      # the answer to that request, late by that much
     "status": {"POST /register": 500},      # answered with the server's stock error page
     "drop_field": {"/register": "email"}}   # that input (and its label) cut out of the page
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException, default_exceptions
from werkzeug.serving import make_server

CONTROL = "/__faults__"
FAULTS_VARIABLE = "SITE_FAULTS"
Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]


@dataclass
class Faults:
    delay_ms: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    drop_field: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        unknown = set(data) - {"delay_ms", "status", "drop_field"}
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        return cls(**data)


class FaultInjector:
    def __init__(self, app: App) -> None:
        self.app = app
        self.faults = Faults.from_json(json.loads(os.environ.get(FAULTS_VARIABLE) or "{}"))
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        if path == CONTROL:
            return self._control(environ, start_response)
        with self._lock:
            faults = self.faults
        request = f"{method} {path}"
        if request in faults.delay_ms:
            time.sleep(faults.delay_ms[request] / 1000.0)
        if request in faults.status:
            error: HTTPException = default_exceptions[faults.status[request]]()
            return error(environ, start_response)  # type: ignore[no-any-return]
        dropped = faults.drop_field.get(path)
        if dropped is None:
            return self.app(environ, start_response)
        return self._without_field(environ, start_response, dropped)

    def _control(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            faults = Faults.from_json(json.loads(environ["wsgi.input"].read(size) or b"{}"))
        except (ValueError, TypeError) as exc:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [str(exc).encode()]
        with self._lock:
            self.faults = faults
        start_response("204 No Content", [])
        return []

    def _without_field(self, environ: Environ, start_response: StartResponse, name: str) -> Iterable[bytes]:
        """The page as the app renders it, less one input and the label that names it."""
        captured: dict[str, Any] = {}

        def keep(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            captured.update(status=status, headers=headers)
            return lambda data: None

        body_parts = self.app(environ, keep)
        try:
            body = b"".join(body_parts)
        finally:
            close = getattr(body_parts, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        if any(k.lower() == "content-type" and "html" in v for k, v in headers):
            body = drop_input(body.decode("utf-8"), name).encode("utf-8")
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


def drop_input(html: str, name: str) -> str:
    found = re.search(rf'<input\b[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    if found is None:
        return html
    element_id = re.search(r'\bid="([^"]+)"', found.group(0))
    html = html[: found.start()] + html[found.end() :]
    if element_id:
        html = re.sub(
            rf'<label\b[^>]*\bfor="{re.escape(element_id.group(1))}"[^>]*>.*?</label>', "", html, flags=re.S
        )
    return html


def serve(app: App, host: str = "127.0.0.1", port: int = 0) -> None:
    """Serve until killed (port 0: a free one); the first line printed says where."""
    server = make_server(host, port, app, threaded=True)
    print(f"listening on http://{host}:{server.server_port}", flush=True)
    sys.stdout.flush()
    server.serve_forever()
