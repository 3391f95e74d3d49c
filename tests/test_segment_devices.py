"""Each segment browses as its map entry says: a device, a locale, a time zone, checked server-side.

Real parts: `shopper run` plays both segments of a map in Chromium against a site of this test's
own, whose page reports its viewport, time zone and language back in a request; the server keeps
each request's user agent and run label, so what each segment's browser was is seen from outside.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from journeys import QuietHandler, send_html, serve, shopper_run, write_features

from harness.errors import MapError
from harness.map.loading import load_map_text
from harness.record.labels import DEFAULT_HEADER, product_token
from harness.store.sqlite import open_store

pytestmark = pytest.mark.browser

MAP = """\
journey: Devices
version: 2030-01-01
segments:
  - desktop
  - id: mobile
    device: iPhone 13
    locale: de-DE
    timezone: Europe/Berlin
stages:
  - id: discover
    touchpoints:
      - id: home-page
        channel: web
        owner: Web
        url: /
        expect: {within: 5s, fail_after: 10s}
"""
HOME = """<!doctype html><meta name="viewport" content="width=device-width"><title>Devices</title>
<h1>Hello</h1><p id="told"></p><script>
const q = new URLSearchParams({w: innerWidth, tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
  lang: navigator.language});
fetch('/beacon?' + q).then(() => { document.getElementById('told').textContent = 'told'; });
</script>"""
FEATURE = """\
Feature: Devices
  Scenario: A customer opens the home page
    Given I open the home page
    Then I should see "told"
"""


class Heard:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pages: dict[str, dict[str, str]] = {}  # run id -> what its browser told and sent

    def add(self, handler: QuietHandler) -> None:
        path, _, query = handler.path.partition("?")
        run = handler.headers.get(DEFAULT_HEADER) or ""
        with self.lock:
            seen = self.pages.setdefault(run, {})
            if path == "/":
                seen["agent"] = handler.headers["User-Agent"]
                seen["accept_language"] = handler.headers.get("Accept-Language", "")
            elif path == "/beacon":
                seen.update({k: v[0] for k, v in urllib.parse.parse_qs(query).items()})


@pytest.fixture
def site() -> Iterator[tuple[str, Heard]]:
    heard = Heard()

    class Site(QuietHandler):
        def do_GET(self) -> None:
            heard.add(self)
            send_html(self, HOME if self.path == "/" else "ok")

    with serve(Site) as url:
        yield url, heard


def test_each_segment_browses_with_its_own_device_locale_and_time_zone(
    tmp_path: Path, site: tuple[str, Heard]
) -> None:
    url, heard = site
    (tmp_path / "map.yaml").write_text(MAP)
    features = write_features(tmp_path / "features", FEATURE)
    store = tmp_path / "shopper.db"
    args = ("--quiet", "--", "--no-runner-check")
    assert shopper_run(url, features, store, *args, journey_map=tmp_path / "map.yaml") == 0

    opened = open_store(store)
    try:
        runs = {run.segment: run for run in opened.runs()}
    finally:
        opened.close()
    mobile, desktop = heard.pages[runs["mobile"].run_id], heard.pages[runs["desktop"].run_id]
    # The mobile segment's browser is an iPhone 13 in Berlin speaking German, labelled still.
    assert "iPhone" in mobile["agent"] and mobile["agent"].endswith(product_token())
    assert mobile["w"] == "390" and mobile["tz"] == "Europe/Berlin" and mobile["lang"] == "de-DE"
    assert mobile["accept_language"].startswith("de-DE")
    # The desktop one is the browser as it is.
    assert "iPhone" not in desktop["agent"] and "HeadlessChrome" in desktop["agent"]
    assert desktop["w"] != "390"
    # The run records what it used, and the report says so.
    assert runs["mobile"].browsing == "iPhone 13, de-DE, Europe/Berlin"
    assert runs["desktop"].browsing == ""
    out = tmp_path / "report"
    subprocess.run(
        [sys.executable, "-m", "harness", "report", "--store", str(store), "--out", str(out)],
        check=False,
        capture_output=True,
        timeout=120,
    )
    document = json.loads((out / "gap-report.json").read_text())
    assert {run["segment"]: run["browsing"] for run in document["runs"]} == {
        "mobile": "iPhone 13, de-DE, Europe/Berlin",
        "desktop": "",
    }
    assert "browsing on iPhone 13, de-DE, Europe/Berlin" in (out / "gap-report.html").read_text()


def test_a_device_playwright_does_not_know_is_one_sentence_and_exit_2(
    tmp_path: Path, site: tuple[str, Heard], capfd: pytest.CaptureFixture[str]
) -> None:
    url, heard = site
    (tmp_path / "map.yaml").write_text(MAP.replace("iPhone 13", "iPhone 13 Maxi"))
    features = write_features(tmp_path / "features", FEATURE)
    args = ("--segment", "mobile", "--", "--no-runner-check")
    assert shopper_run(url, features, tmp_path / "s.db", *args, journey_map=tmp_path / "map.yaml") == 2
    said = capfd.readouterr()
    assert 'names the device "iPhone 13 Maxi", which Playwright does not know' in said.out + said.err
    assert 'did you mean "iPhone 13' in said.out + said.err
    assert heard.pages == {}  # no customer was sent in a browser it could not be


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("{id: m, timezone: Mars/Olympus}", 'timezone "Mars/Olympus" is not a time zone name'),
        ("{id: m, viewport: wide}", 'viewport "wide" is not a width x height'),
        ("{id: m, color_scheme: sepia}", 'color_scheme "sepia" is not one of: light, dark, no-preference'),
        ("{id: m, locale: 'de DE'}", 'locale "de DE" is not a language tag'),
        ("{id: m, gadget: x}", 'unknown key "gadget" in a segment'),
        ("{device: iPhone 13}", 'missing required key "id" in a segment'),
    ],
)
def test_a_segment_entry_that_cannot_be_read_names_its_line(entry: str, says: str) -> None:
    text = MAP.replace(
        "  - id: mobile\n    device: iPhone 13\n    locale: de-DE\n    timezone: Europe/Berlin\n",
        f"  - {entry}\n",
    )
    with pytest.raises(MapError) as raised:
        load_map_text(text, "map.yaml")
    assert says in str(raised.value) and raised.value.line == 5


def test_a_viewport_over_a_device_and_a_colour_scheme_are_read() -> None:
    text = MAP.replace("    locale: de-DE\n", "    viewport: 414 x 896\n    color_scheme: dark\n")
    browsing = load_map_text(text).browsing_of("mobile")
    assert (browsing.device, browsing.viewport, browsing.color_scheme) == ("iPhone 13", (414, 896), "dark")
    assert browsing.described() == "iPhone 13, 414×896, Europe/Berlin, dark colours"
    assert load_map_text(MAP).browsing_of("desktop").described() == ""
