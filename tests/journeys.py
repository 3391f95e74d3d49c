"""What the CLI and end-to-end tests share: a features folder, a `shopper run`, the store read back."""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.cookiejar import CookieJar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd

from harness.cli import main
from harness.store.sqlite import open_store

ROOT = Path(__file__).resolve().parent.parent
DEMO_MAP = ROOT / "scenarios" / "acme.yaml"
COLLECTOR = 'from pytest_bdd import scenarios\n\nscenarios(".")\n'


def write_features(folder: Path, text: str, name: str = "journey.feature") -> Path:
    """A features folder holding one feature and the module that collects it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    (folder / "test_journey.py").write_text(COLLECTOR)
    return folder


def shopper_run(base_url: str, features: Path, store: Path, *extra: str, journey_map: Path = DEMO_MAP) -> int:
    """`shopper run` in this process (the scenarios still run in their own pytest process)."""
    args = ["run", "--base-url", base_url, "--map", str(journey_map), "--features", str(features)]
    return main([*args, "--store", str(store), *extra])


def longest_wall_ms(observations: pd.DataFrame, step_starts: str) -> float:
    """The longest wall time of one step (its parts, one observation each, summed) among these.

    An email is timed from the moment the step's form was answered, which falls inside the step's
    wall time, as does the moment the site's delay began (the form reached it): the email can seem
    early by at most this much, never by more. Its browser-timed duration is shorter than the wall.
    """
    steps = observations[observations["step"].str.startswith(step_starts)]
    assert len(steps), f"no step {step_starts!r} among the observations"
    return float(steps.groupby(["run_id", "node_id", "attempt"])["wall_ms"].sum().max())


def stored_observations(store: Path) -> pd.DataFrame:
    opened = open_store(store)
    try:
        return opened.observations([run.run_id for run in opened.runs()])
    finally:
        opened.close()


class LoggedProcess:
    """`python -m harness ARGS` in a subprocess, its log (stderr) collected line by line as written."""

    def __init__(self, args: list[str], cwd: Path, stdout: int = subprocess.PIPE) -> None:
        command = [sys.executable, "-m", "harness", *args]
        self.process = subprocess.Popen(command, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def end(self) -> None:
        """Killed if it still runs: what a test's fixture does after it."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class QuietHandler(BaseHTTPRequestHandler):
    """A test site's request handler that keeps the test's output free of its access log."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def send_html(
    handler: BaseHTTPRequestHandler, html: str, status: int = 200, headers: dict[str, str] | None = None
) -> None:
    """Answer with an HTML page; a browser that gave up waiting (a killed run) is not an error."""
    data = html.encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:
        pass


def html_site(render: Callable[[str], str]) -> type[BaseHTTPRequestHandler]:
    """A site that answers every GET with the page `render(path)` gives."""

    class Site(QuietHandler):
        def do_GET(self) -> None:
            send_html(self, render(self.path))

    return Site


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on loopback for the duration: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class HttpClient:
    """A cookie-keeping HTTP client that returns error pages instead of raising on them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, **form: str) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode()
        return self._open(urllib.request.Request(self.base + path, data=data, method="POST"))

    def _open(self, request: urllib.request.Request) -> tuple[int, str, str]:
        """Status, body and the final path after redirects."""
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode(), urllib.parse.urlsplit(response.url).path
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode(), urllib.parse.urlsplit(error.url).path
