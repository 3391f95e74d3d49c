"""Steps for `channel: api` touchpoints: the target's API called as the customer's browser would.

The call goes through the browser context's request client (Playwright's `APIRequestContext`), so it
carries the customer's cookies (a session the scenario logged into) and the run's label, and no
CORS rule applies, as for the site's own backend calls. It binds by its path to the map's `api`
touchpoint, like `I open "/path"`, and is timed from the request sent to the response read.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.map.catalogue import API_KIND, BY_URL
from harness.record.context import Shopper, StepFailure
from harness.record.dry_run import held_back
from harness.steps.registry import touchpoint_step

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# A JSON string value the step fills from the synthetic customer ("my email"), as forms do.
MINE = {"my name": "name", "my email": "email", "my password": "password"}
SHOWN_CHARS = 200  # of a response body in a failure: enough to read the API's own words


@dataclass(frozen=True)
class ApiAnswer:
    """What the API answered the last call: what the checks read."""

    url: str
    status: int
    body: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise StepFailure(f"{self.url} answered no JSON: {self.body[:SHOWN_CHARS]!r}") from None


def _url(shopper: Shopper, path: str) -> str:
    return shopper.base_url.rstrip("/") + "/" + path.lstrip("/")


def _call(shopper: Shopper, page: Any, method: str, path: str, body: Any = None) -> None:
    url = _url(shopper, path)
    started = time.monotonic()
    response = page.context.request.fetch(url, method=method, data=body, timeout=shopper.wait_ms())
    text = response.text()
    answered = time.monotonic()
    shopper.api_answer = ApiAnswer(url=url, status=response.status, body=text)
    shopper.last_status, shopper.last_url = response.status, url
    shopper.timed_part((answered - started) * 1000.0, answered, answered)
    if response.status >= 500:  # the API broke; a 4xx may be what the scenario expects, and checks
        where = shopper.touchpoint.name if shopper.touchpoint else path
        raise StepFailure(f"{where} answered HTTP {response.status} ({url}): {text[:SHOWN_CHARS]}")


@touchpoint_step("step", 'I call {method} "{path}"', kind="api", binds="path", binds_by=BY_URL, timed=True)
def call(shopper: Shopper, page: Any, method: str, path: str) -> None:
    """Call the target's API with GET (or DELETE); the path binds to the map's api touchpoint."""
    method = method.upper()
    if method not in METHODS:
        raise HarnessError(f'"{method}" is not an HTTP method; use one of: {", ".join(METHODS)}')
    if method != "GET" and held_back(shopper.dry_run):
        return
    _call(shopper, page, method, path)


@touchpoint_step("step", 'I post {body} to "{path}"', kind="api", binds="path", binds_by=BY_URL, timed=True)
def post(shopper: Shopper, page: Any, body: str, path: str) -> None:
    """POST a JSON body; a string value "my email" (name, password) is the synthetic customer's own."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise HarnessError(f"the body to post is not JSON ({exc}): {body}") from None
    if held_back(shopper.dry_run):
        return
    _call(shopper, page, "POST", path, _with_details(shopper, data))


def _with_details(shopper: Shopper, data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _with_details(shopper, value) for key, value in data.items()}
    if isinstance(data, list):
        return [_with_details(shopper, value) for value in data]
    if isinstance(data, str) and data in MINE:
        return getattr(shopper.customer, MINE[data])
    return data


def _answer(shopper: Shopper) -> ApiAnswer:
    answer = shopper.api_answer
    if not isinstance(answer, ApiAnswer):
        raise HarnessError('no API was called yet: a step like I call GET "/api/status" comes first')
    return answer


@touchpoint_step("then", "the response status is {status:d}", kind=API_KIND)
def status_is(shopper: Shopper, status: int) -> None:
    """The last API call answered this HTTP status."""
    answer = _answer(shopper)
    if answer.status != status:
        raise StepFailure(
            f"{answer.url} answered HTTP {answer.status}, not {status}: {answer.body[:SHOWN_CHARS]}"
        )


@touchpoint_step("then", 'the response has "{key}" = "{value}"', kind=API_KIND)
def response_has(shopper: Shopper, key: str, value: str) -> None:
    """A field of the last JSON answer (dotted for nested ones: "plan.name") has this value."""
    answer = _answer(shopper)
    found: Any = answer.json()
    for part in key.split("."):
        if isinstance(found, dict) and part in found:
            found = found[part]
        elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
            found = found[int(part)]
        else:
            raise StepFailure(f'{answer.url} answered no "{key}": {answer.body[:SHOWN_CHARS]}')
    shown = found if isinstance(found, str) else json.dumps(found)
    if shown != value:
        raise StepFailure(f'{answer.url} answered "{key}" = {shown!r}, not {value!r}')
