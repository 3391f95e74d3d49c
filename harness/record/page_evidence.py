"""What a slow page visit leaves to show its gap: the page's requests, and a screenshot.

Taken after the step's clock stopped (scenario_run.step_passed), from the browser's own Resource
and Navigation Timing, and only for a visit over its `within` (the report shows a slow
touchpoint's slowest visit): a met visit costs the run nothing, and the touchpoint never pays.
The screenshot is masked like the evidence at failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.observation import PageEvidence, PageRequest
from harness.record.context import Shopper
from harness.record.secrets import page_location, redact

# The page's own request first, then every sub-resource, as the browser timed them. The page's row is
# its document's request (to its response's end), not its whole load: that is what the rows add up to.
PAGE_REQUESTS = """() => {
  const row = (entry, kind, end) => ({name: entry.name, start: entry.startTime,
    duration: end - entry.startTime, kind,
    bytes: typeof entry.transferSize === 'number' ? entry.transferSize : null});
  const page = performance.getEntriesByType('navigation')
    .map((entry) => row(entry, 'navigation', entry.responseEnd));
  const rest = performance.getEntriesByType('resource')
    .map((entry) => row(entry, entry.initiatorType || 'other', entry.startTime + entry.duration));
  return page.concat(rest);
}"""

# A waterfall longer than this shows the longest requests: a page of hundreds of icons would
# otherwise bury the one that made the customer wait (and bloat the store).
MAX_REQUESTS = 60
MAX_NAME_CHARS = 300  # a data: URL is a whole image in a name


def page_evidence(shopper: Shopper, screenshot: Path | None) -> PageEvidence | None:
    """The requests of the page the step waited for last, and `screenshot` taken if the wait was slow.

    None when the step waited for no page, or the page cannot say (it is gone, or hung in a script).
    """
    part = shopper.last_part()
    if part is None or shopper.page is None:
        return None
    within = part.touchpoint.expectation(shopper.segment).within_ms if part.touchpoint else None
    if within is None or part.duration_ms <= within:
        # Only a visit over its promise can be a slow touchpoint's slowest: a met one costs the run nothing.
        return None
    try:
        found = shopper.page.locator(":root").evaluate(PAGE_REQUESTS, timeout=shopper.wait_ms())
    except Exception:  # evidence must never cost the run what it measured
        return None
    hidden = shopper.secrets()
    requests = (
        [_request(row, hidden) for row in found if isinstance(row, dict)] if isinstance(found, list) else []
    )
    if len(requests) > MAX_REQUESTS:
        requests = sorted(requests, key=lambda r: r.duration_ms, reverse=True)[:MAX_REQUESTS]
        requests.sort(key=lambda r: r.start_ms)
    kept = ""
    if screenshot is not None:
        kept = str(screenshot) if shopper.screenshot(screenshot) else ""
    url = redact(page_location(shopper.page_url()), hidden)
    return PageEvidence(url=url, requests=requests, screenshot=kept)


def _request(row: dict[str, Any], hidden: list[str]) -> PageRequest:
    name = str(row.get("name", ""))
    # data: and blob: URLs carry their content, not a location: their scheme says enough.
    shown = name.split(",", 1)[0] if name.startswith(("data:", "blob:")) else page_location(name)
    size = row.get("bytes")
    return PageRequest(
        name=redact(shown, hidden)[:MAX_NAME_CHARS],
        start_ms=round(float(row.get("start") or 0.0), 3),
        duration_ms=round(float(row.get("duration") or 0.0), 3),
        bytes=int(size) if isinstance(size, int | float) else None,
        kind=str(row.get("kind", ""))[:40],
    )
