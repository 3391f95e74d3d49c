"""Synthetic traffic, labelled: what tells the target's analytics our customers from real ones.

Every request a run makes carries a user-agent suffix (`shopper/<version>`), which no CORS rule
looks at, and by default a header naming the run (`X-Shopper-Run: <run id>`), so a site's logs can
tie a request to the run that made it and its analytics can drop both.

The header goes through the context's extra HTTP headers, not through request routing: routing
would turn the browser's HTTP cache off (Playwright does, to see every request) and stall the page's
requests whenever the step is busy outside Playwright, so every customer would wait longer than a
real one. The price: a cross-origin request that is CORS-checked becomes preflighted, and an API
that does not allow the header refuses it. A real customer never meets that, so a step that fails
while such a request failed is the harness's doing (`LabelGuard`), never the touchpoint owner's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

DEFAULT_HEADER = "X-Shopper-Run"
PRODUCT = "shopper"

REFUSED_SAYS = (
    "a cross-origin request failed while it carried the run's label header {header} ({url}); a real"
    " customer sends no such header, so this is the harness's doing: allow {header} in that API's"
    " Access-Control-Allow-Headers, or run with --no-label-header"
)


def product_token() -> str:
    """`shopper/<version>`, the user agent's suffix."""
    try:
        return f"{PRODUCT}/{version('shopper-harness')}"
    except PackageNotFoundError:  # a source tree never installed
        return f"{PRODUCT}/0"


@dataclass(frozen=True)
class Label:
    """How a run labels its requests. `header` "" sends no header (the user agent still says so)."""

    run_id: str
    header: str = DEFAULT_HEADER
    on: bool = True

    def context_args(self, args: dict[str, Any], default_user_agent: str) -> dict[str, Any]:
        """pytest-playwright's context arguments (a device's user agent among them), labelled."""
        if not self.on:
            return args
        agent = args.get("user_agent") or default_user_agent
        labelled = {**args, "user_agent": f"{agent} {product_token()}".strip()}
        if self.header:
            labelled["extra_http_headers"] = {**args.get("extra_http_headers", {}), self.header: self.run_id}
        return labelled


def default_user_agent(browser: Any) -> str:
    """The browser's own user agent, which the label extends (pytest-playwright sets none)."""
    if getattr(getattr(browser, "browser_type", None), "name", "") == "chromium":
        session = browser.new_browser_cdp_session()
        try:
            return str(session.send("Browser.getVersion")["userAgent"])
        finally:
            session.detach()
    page = browser.new_page()  # Firefox and WebKit have no CDP: ask a page once per run
    try:
        return str(page.evaluate("navigator.userAgent"))
    finally:
        page.close()


@dataclass
class LabelGuard:
    """Cross-origin requests that failed while they carried the label header, in this scenario.

    Kept for the whole scenario: a fetch a page made while it opened fails one step and shows as a
    text missing at a later one.

    Chromium reports a refused preflight as the request failing with `net::ERR_FAILED`; a request to
    the target's own origin is never preflighted for a header, so only other origins are watched.
    """

    header: str
    origin: str
    refused: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("requestfailed", self._failed)

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_FAILED" in failure and _origin(request.url) != self.origin:
            self.refused.append(request.url)

    def blame(self, outcome: str, error: str) -> tuple[str, str]:
        """A failed step under a refused label is a harness error that says why; else as it was."""
        if outcome != "failed" or not self.refused:
            return outcome, error
        url = urlsplit(self.refused[0])
        said = REFUSED_SAYS.format(header=self.header, url=f"{url.scheme}://{url.netloc}{url.path}")
        return "error", f"{said}\n{error}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def origin_of(base_url: str) -> str:
    return _origin(base_url) if base_url else ""
