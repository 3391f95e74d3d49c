"""A timed page visit's web vitals, by the harness's own script in the page.

`VITALS_OBSERVERS` is installed in the scenario's browser context before its first page
(`context.add_init_script`, see fixtures.page): buffered PerformanceObservers for paint,
largest-contentful-paint, layout-shift, event/first-input and longtask, plus counters of console
errors and sub-resources that failed to load. `page_vitals` reads them once per visit, AFTER the
step's clock stopped (scenario_run.step_passed, the moment page_evidence reads its data): one
bounded evaluate, so the customer's measured wait never includes it.

LCP and CLS are what the observers hold at that moment, i.e. "so far": the page has loaded (the step
waited for its load event), so the LCP element of a page whose hero image delays its load is known,
but a late shift or a later, larger paint after the load is not counted. INP needs an interaction on
the page; a visit read right after its load usually has none, so TBT (long tasks) stands in.
"""

from __future__ import annotations

from typing import Any

from harness.observation import PageVitals
from harness.record.context import Shopper

# Kept on one global the page's own scripts are unlikely to touch; every observer is best-effort
# (an old browser without an entry type still gets the rest).
VITALS_OBSERVERS = """(() => {
  if (window.__shopperVitals) return;
  const v = window.__shopperVitals = {lcp: null, cls: 0, inp: null, tbt: 0, fcp: null,
    consoleErrors: 0, failed: 0};
  const watch = (type, take, extra) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(take))
        .observe(Object.assign({type, buffered: true}, extra || {}));
    } catch (e) { /* this browser does not know the entry type */ }
  };
  watch('paint', (e) => { if (e.name === 'first-contentful-paint') v.fcp = e.startTime; });
  watch('largest-contentful-paint', (e) => { v.lcp = e.renderTime || e.loadTime || e.startTime; });
  watch('layout-shift', (e) => { if (!e.hadRecentInput) v.cls += e.value; });
  watch('longtask', (e) => { v.tbt += Math.max(0, e.duration - 50); });
  const interaction = (e) => {
    if (e.interactionId || e.entryType === 'first-input') v.inp = Math.max(v.inp || 0, e.duration);
  };
  watch('event', interaction, {durationThreshold: 16});
  watch('first-input', interaction);
  const error = console.error;
  console.error = function (...args) { v.consoleErrors += 1; return error.apply(this, args); };
  window.addEventListener('error', (e) => {
    if (e.target && e.target !== window) v.failed += 1; else v.consoleErrors += 1;
  }, true);
  window.addEventListener('unhandledrejection', () => { v.consoleErrors += 1; });
})();"""

# One read: the observers' values so far and the page's Navigation and Resource Timing.
READ_VITALS = """() => {
  const v = window.__shopperVitals;
  const nav = performance.getEntriesByType('navigation')[0];
  if (!v || !nav) return null;
  const rest = performance.getEntriesByType('resource');
  const size = (e) => (typeof e.transferSize === 'number' ? e.transferSize : 0);
  const answered = rest.filter((e) => (e.responseStatus || 0) >= 400).length;
  return {ttfb: nav.responseStart - nav.startTime, fcp: v.fcp, lcp: v.lcp, cls: v.cls, inp: v.inp,
    tbt: v.tbt, dcl: nav.domContentLoadedEventEnd - nav.startTime,
    load: nav.loadEventEnd > 0 ? nav.loadEventEnd - nav.startTime : null,
    bytes: rest.reduce((sum, e) => sum + size(e), size(nav)), requests: 1 + rest.length,
    failed: v.failed + answered, consoleErrors: v.consoleErrors};
}"""


def watch_vitals(context: Any) -> None:
    """Every page of the context (and every document it loads) gets the observers before its own scripts."""
    context.add_init_script(script=VITALS_OBSERVERS)


def page_vitals(shopper: Shopper) -> PageVitals | None:
    """The vitals of the page the step waited for; None when it waited for none or the page cannot say."""
    if shopper.page is None or not shopper.visited_page():
        return None
    try:
        found = shopper.page.locator(":root").evaluate(READ_VITALS, timeout=shopper.wait_ms())
    except Exception:  # vitals must never cost the run what it measured
        return None
    if not isinstance(found, dict):
        return None
    return PageVitals(
        ttfb_ms=_ms(found.get("ttfb")),
        fcp_ms=_ms(found.get("fcp")),
        lcp_ms=_ms(found.get("lcp")),
        cls=_number(found.get("cls"), 4),
        inp_ms=_ms(found.get("inp")),
        tbt_ms=_ms(found.get("tbt")),
        dom_content_loaded_ms=_ms(found.get("dcl")),
        load_ms=_ms(found.get("load")),
        transferred_bytes=_count(found.get("bytes")),
        requests=_count(found.get("requests")) or 0,
        failed_requests=_count(found.get("failed")) or 0,
        console_errors=_count(found.get("consoleErrors")) or 0,
    )


def _number(value: Any, digits: int) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return round(float(value), digits)


def _ms(value: Any) -> float | None:
    return _number(value, 1)


def _count(value: Any) -> int | None:
    number = _number(value, 0)
    return None if number is None else int(number)
