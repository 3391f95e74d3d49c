"""A segment's browser context: the device and settings its map entry names, as Playwright's arguments.

A run plays one segment (`shopper run` starts one pytest per segment), so the session's context
arguments are that segment's. pytest-playwright's global `--device` stays the default for a
segment that names none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError, did_you_mean
from harness.map.journey_map import Browsing, JourneyMap


def segment_context_args(
    segment: str, browsing: Browsing, args: dict[str, Any], devices: Mapping[str, Any]
) -> dict[str, Any]:
    """pytest-playwright's context arguments with the segment's own device and settings over them."""
    merged = dict(args)
    if browsing.device:
        if browsing.device not in devices:
            raise HarnessError(
                f'segment "{segment}" names the device "{browsing.device}", which Playwright does not know'
                f"{did_you_mean(browsing.device, list(devices))}"
            )
        merged.update(devices[browsing.device])
    merged.pop("default_browser_type", None)  # a device's preferred engine: the run's --browser decides
    if browsing.viewport:
        merged["viewport"] = {"width": browsing.viewport[0], "height": browsing.viewport[1]}
    settings = {
        "user_agent": browsing.user_agent,
        "locale": browsing.locale,
        "timezone_id": browsing.timezone,
        "color_scheme": browsing.color_scheme,
    }
    merged.update({key: value for key, value in settings.items() if value})
    return merged


def check_devices(journey_map: JourneyMap, segments: list[str]) -> None:
    """Before a run starts: every device its segments name is one Playwright knows (one sentence if not).

    Playwright's list lives in its driver, so it is asked only when a segment names a device.
    """
    named = {segment: journey_map.browsing_of(segment) for segment in segments}
    if not any(browsing.device for browsing in named.values()):
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        devices = playwright.devices
    for segment, browsing in named.items():
        segment_context_args(segment, browsing, {}, devices)
