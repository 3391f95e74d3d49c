"""Fixtures the step library uses: the journey map, the shopper, and a browser that starts here.

A separate plugin, registered at configure time so that it comes after pytest-playwright and its
`browser_type_launch_args` wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.errors import HarnessError
from harness.map.journey_map import JourneyMap
from harness.record.browser import launch_options
from harness.record.context import Shopper
from harness.record.labels import Label, LabelGuard, default_user_agent, origin_of
from harness.record.plugin import BROWSER, RECORDER, RECORDING, SCENARIO
from harness.record.recorder import ScenarioRecord, browser_crashed
from harness.record.runner_health import RunnerProbe
from harness.record.segment_context import segment_context_args
from harness.record.vitals import watch_vitals

USAGE = 2  # pytest's own exit status for a usage error: a segment naming a device nobody has


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], browser_type: Any) -> dict[str, Any]:
    return launch_options(browser_type_launch_args, browser_type.executable_path, browser_type.name)


class RelaunchingBrowser:
    """The session's browser, launched again for the next scenario when the last one crashed.

    pytest-playwright launches one browser per session; once Chromium dies (killed, out of memory)
    every later scenario would fail with "browser has been closed" and charge the owners. Contexts
    are where each scenario begins, so that is where a dead browser is noticed and replaced.
    """

    def __init__(self, launch: Callable[[], Any]) -> None:
        self._launch = launch
        self._browser = launch()
        self.crashes = 0

    def new_context(self, **kwargs: Any) -> Any:
        if not self._browser.is_connected():
            self._relaunch()
        try:
            return self._browser.new_context(**kwargs)
        except Exception as exc:
            # It died between scenarios and the client has not heard yet: once more, in a new one.
            if not browser_crashed(exc):
                raise
            self._relaunch()
            return self._browser.new_context(**kwargs)

    def _relaunch(self) -> None:
        self.crashes += 1
        self._browser = self._launch()

    def close(self) -> None:
        if self._browser.is_connected():
            self._browser.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser(launch_browser: Callable[[], Any], pytestconfig: pytest.Config) -> Iterator[RelaunchingBrowser]:
    relaunching = RelaunchingBrowser(launch_browser)
    pytestconfig.stash[BROWSER] = relaunching
    yield relaunching
    relaunching.close()


@pytest.fixture(scope="session")
def browser_context_args(
    browser_context_args: dict[str, Any],
    browser: RelaunchingBrowser,
    playwright: Any,
    pytestconfig: pytest.Config,
) -> dict[str, Any]:
    """pytest-playwright's context arguments, the segment's device and settings over them
    (record.segment_context), every request labelled as the run's (record.labels)."""
    recording = pytestconfig.stash[RECORDING]
    recorder = recording.recorder
    browsing = recorder.journey_map.browsing_of(recorder.segment)
    try:
        args = segment_context_args(recorder.segment, browsing, browser_context_args, playwright.devices)
    except HarnessError as exc:
        pytest.exit(str(exc), returncode=USAGE)
    label = Label(recorder.run_id, recording.options.label_header)
    return label.context_args(args, default_user_agent(browser))


@pytest.fixture(scope="session")
def journey_map(pytestconfig: pytest.Config) -> JourneyMap:
    if RECORDER not in pytestconfig.stash:
        raise HarnessError("no journey map: pass --journey-map MAP")
    return pytestconfig.stash[RECORDER].journey_map


@pytest.fixture(scope="session")
def runner_probe() -> Iterator[RunnerProbe]:
    """Times the runner itself (harness.record.runner_health); its control page starts at the first use."""
    probe = RunnerProbe()
    yield probe
    probe.close()


@pytest.fixture
def page(page: Any, request: pytest.FixtureRequest, runner_probe: RunnerProbe) -> Any:
    """pytest-playwright's page; a scenario's trace starts with it, before a step's clock runs.

    The runner is measured first, in the same browser, so a busy runner is told from a slow site.
    """
    record = request.node.stash.get(SCENARIO, None)
    if record is not None:
        if not request.config.getoption("no_runner_check"):
            request.config.stash[RECORDER].runner_sampled(record, runner_probe.measure(page))
        record.shopper.start_tracing(page.context)
        if request.config.stash[RECORDING].options.vitals:
            watch_vitals(page.context)
        header = request.config.stash[RECORDING].options.label_header
        if header:
            record.shopper.label_guard = LabelGuard(header, origin_of(record.shopper.base_url))
            record.shopper.label_guard.watch(page)
    return page


@pytest.fixture
def shopper(request: pytest.FixtureRequest) -> Shopper:
    if SCENARIO not in request.node.stash:
        raise HarnessError("no journey map: pass --journey-map MAP")
    record: ScenarioRecord = request.node.stash[SCENARIO]
    return record.shopper
