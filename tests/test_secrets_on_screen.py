"""A page that echoes the customer's password: no trace of it in anything the harness writes, pixels included.

The site shows the canary password as text, in a field, base64, hex and percent-encoded, and the
scenario then fails, so the harness takes its evidence (screenshot and trace) on that very page.
The files are searched for the password in every spelling; the screenshot is checked by its pixels:
each element that showed a secret is covered by the mask's colour (no OCR needed).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from journeys import ROOT, html_site, serve, write_features
from PIL import Image
from playwright.sync_api import sync_playwright
from test_mail_secrets import leaks, needles, trace_entries

from harness.record.browser import launch_options
from harness.record.secrets import MASK_COLOR

CANARY = "Canary-Pa55word!42"
ELEMENTS = ("plain", "typed", "b64", "hex", "url", "password", "component", "framed")
PAGE = f"""<!doctype html><html><head><title>Your account</title>
<style>body {{ font: 20px sans-serif; }} p, code, input {{ display: block; margin: 16px; }}</style></head>
<body><h1>Your account</h1>
<p id="plain">Welcome back! Your password is {CANARY}</p>
<input id="typed" value="{CANARY}">
<code id="b64">{base64.b64encode(CANARY.encode()).decode()}</code>
<code id="hex">{CANARY.encode().hex()}</code>
<p id="url">Sign-in link: /login?p={quote(CANARY, safe="")}</p>
<input id="password" type="password" value="{CANARY}">
<p id="ordinary">Nothing secret here.</p>
<div id="component"></div>
<iframe id="framed" style="height: 60px; border: 0"
  srcdoc="<p style='font: 20px sans-serif'>Framed: {CANARY}</p>"></iframe>
<script>
  document.getElementById("component").attachShadow({{mode: "open"}}).innerHTML =
    "<p style='margin: 0'>In a web component: {CANARY}</p>";
</script>
</body></html>"""
MAP = """\
journey: Echoing site
stages:
  - id: account
    touchpoints:
      - id: account-page
        channel: web
        owner: Product
        url: /account
        expect: {within: 5s, fail_after: 5s}
"""
FEATURE = """\
@stage:account
Feature: My account
  Scenario: I look at my account
    Given I open the account page
    Then I should see "a sentence this page does not have"
"""


EchoingSite = html_site(lambda path: PAGE)


def boxes(base_url: str) -> dict[str, tuple[int, int, int, int]]:
    """Where each element is on the page at the harness's viewport, read by a browser of the test's own."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options({}, playwright.chromium.executable_path))  # type: ignore[arg-type]
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(base_url + "/account")
        found = {}
        for element in (*ELEMENTS, "ordinary"):
            box = page.locator(f"#{element}").bounding_box()
            assert box is not None
            found[element] = (int(box["x"]), int(box["y"]), int(box["width"]), int(box["height"]))
        browser.close()
    return found


def test_a_page_that_echoes_the_password_leaves_no_trace_of_it(tmp_path: Path) -> None:
    features = write_features(tmp_path / "features", FEATURE)
    (tmp_path / "map.yaml").write_text(MAP)
    store, evidence, out = tmp_path / "shopper.db", tmp_path / "evidence", tmp_path / "report"
    env = {**os.environ, "SHOPPER_PASSWORD": CANARY}
    with serve(EchoingSite) as base_url:
        command = [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--base-url",
            base_url,
            "--map",
            str(tmp_path / "map.yaml"),
        ]
        command += ["--features", str(features), "--store", str(store), "--", "--evidence-dir", str(evidence)]
        run = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=300,
            check=False,
        )
        where = boxes(base_url)
    assert run.returncode == 1, run.stdout + run.stderr  # the check failed: evidence was taken
    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "report",
            "--store",
            str(store),
            "--out",
            str(out),
            "--observations-csv",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
        check=False,
    )
    assert report.returncode == 1, report.stdout + report.stderr

    screenshots = sorted(evidence.rglob("*.png"))
    traces = sorted(evidence.rglob("*.zip"))
    assert len(screenshots) == 1 and len(traces) == 1, (screenshots, traces)
    places = {
        "run output": (run.stdout + run.stderr).encode(),
        "report output": (report.stdout + report.stderr).encode(),
        "store": b"".join(path.read_bytes() for path in tmp_path.glob("shopper.db*")),
    }
    places |= {str(path): path.read_bytes() for path in out.rglob("*") if path.is_file()}
    places |= {f"trace!{name}": data for name, data in trace_entries(traces[0]).items()}
    found = needles([CANARY])
    assert {place: hits for place, data in places.items() if (hits := leaks(data, [CANARY], found))} == {}

    # The pixels: every element that showed the secret is under the mask, the ordinary text is not.
    image = Image.open(screenshots[0]).convert("RGB")
    mask = tuple(int(MASK_COLOR[i : i + 2], 16) for i in (1, 3, 5))
    for element, (x, y, width, height) in where.items():
        inside = [
            image.getpixel((x + dx, y + dy))
            for dx in range(2, width - 2, 7)
            for dy in range(2, height - 2, 3)
        ]
        covered = sum(pixel == mask for pixel in inside) / len(inside)
        if element == "ordinary":
            assert covered == 0, element
        else:
            assert covered == 1, (element, covered)
