"""Finding a Chromium Playwright can drive, with the flags that keep it quiet, and driving it for real."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.errors import BrowserError
from harness.record.browser import QUIET_FLAGS, launch_args, launch_options, running_as_root, system_chromium

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(autouse=True)
def no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own SHOPPER_CHROMIUM must not change what these tests see.
    monkeypatch.delenv("SHOPPER_CHROMIUM", raising=False)


def fake_playwright_browsers(root: Path) -> Path:
    """The tree `playwright install chromium` leaves: the browser and the headless shell."""
    chrome = root / "chromium-1" / "chrome-linux64" / "chrome"
    chrome.parent.mkdir(parents=True)
    chrome.write_text("#!/bin/sh\n")
    chrome.chmod(0o755)
    (root / "chromium_headless_shell-1").mkdir()
    return chrome


def test_running_as_root_follows_the_euid() -> None:
    assert running_as_root() is IS_ROOT


def test_launch_args_adds_quiet_flags_and_sandbox_only_for_root() -> None:
    flags = launch_args()
    for flag in QUIET_FLAGS:
        assert flags.count(flag) == 1, flag
    assert ("--no-sandbox" in flags) is IS_ROOT
    assert len(flags) == len(QUIET_FLAGS) + (1 if IS_ROOT else 0)


def test_launch_args_keeps_the_callers_flags_first_and_never_duplicates() -> None:
    extra = ["--lang=en-GB", "--no-first-run", "--no-sandbox"]
    flags = launch_args(extra)
    assert flags[:3] == extra
    assert len(flags) == len(set(flags))
    assert flags.count("--no-first-run") == 1
    assert flags.count("--no-sandbox") == 1  # the caller's, whoever runs it
    assert set(QUIET_FLAGS) <= set(flags)
    assert extra == ["--lang=en-GB", "--no-first-run", "--no-sandbox"]  # not modified in place
    assert launch_args(flags) == flags  # applying twice changes nothing


def test_launch_options_keeps_caller_args_and_falls_back_to_system_chromium() -> None:
    base: dict[str, object] = {"headless": True, "args": ["--lang=en-GB"], "slow_mo": 0}
    options = launch_options(base, "/nonexistent/chromium-1/chrome-linux64/chrome")
    assert options["headless"] is True
    assert options["slow_mo"] == 0
    args = options["args"]
    assert isinstance(args, list)
    assert args[0] == "--lang=en-GB"
    assert set(QUIET_FLAGS) <= set(args)
    assert ("--no-sandbox" in args) is IS_ROOT
    assert options["executable_path"] == system_chromium()
    assert Path(str(options["executable_path"])).exists()
    # The caller's dict is untouched.
    assert base == {"headless": True, "args": ["--lang=en-GB"], "slow_mo": 0}


def test_launch_options_accepts_a_tuple_of_args() -> None:
    options = launch_options({"args": ("--lang=de",)}, "/nonexistent")
    args = options["args"]
    assert isinstance(args, list) and args[0] == "--lang=de"


def test_launch_options_without_a_playwright_path_uses_the_system_chromium() -> None:
    options = launch_options({}, None)
    assert options["executable_path"] == system_chromium()


def test_debian_chromium_is_found() -> None:
    found = system_chromium()
    assert found is not None
    assert Path(found).resolve() == Path("/usr/bin/chromium").resolve()


def test_launch_options_leaves_playwrights_own_chromium_alone(tmp_path: Path) -> None:
    chrome = fake_playwright_browsers(tmp_path / "ms-playwright")
    options = launch_options({"args": []}, str(chrome))
    assert "executable_path" not in options
    args = options["args"]
    assert isinstance(args, list) and set(QUIET_FLAGS) <= set(args)


def test_playwright_chromium_without_headless_shell_is_not_enough(tmp_path: Path) -> None:
    chrome = fake_playwright_browsers(tmp_path / "ms-playwright")
    (tmp_path / "ms-playwright" / "chromium_headless_shell-1").rmdir()
    options = launch_options({}, str(chrome))
    assert options["executable_path"] == system_chromium()


def test_an_explicit_executable_path_is_kept(tmp_path: Path) -> None:
    options = launch_options({"executable_path": "/opt/my/chrome"}, "/nonexistent")
    assert options["executable_path"] == "/opt/my/chrome"


def test_shopper_chromium_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "my-chromium"
    mine.write_text("#!/bin/sh\n")
    monkeypatch.setenv("SHOPPER_CHROMIUM", str(mine))
    assert system_chromium() == str(mine)
    assert launch_options({}, "/nonexistent")["executable_path"] == str(mine)
    # It wins even over Playwright's own browser.
    chrome = fake_playwright_browsers(tmp_path / "ms-playwright")
    assert launch_options({}, str(chrome))["executable_path"] == str(mine)


def test_missing_shopper_chromium_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-chromium"
    monkeypatch.setenv("SHOPPER_CHROMIUM", str(missing))
    assert system_chromium() is None
    with pytest.raises(BrowserError) as caught:
        launch_options({}, "/nonexistent")
    assert str(missing) in str(caught.value)
    assert caught.value.exit_status == 2
    chrome = fake_playwright_browsers(tmp_path / "ms-playwright")
    with pytest.raises(BrowserError):
        launch_options({}, str(chrome))


def test_real_chromium_opens_a_page() -> None:
    from playwright.sync_api import sync_playwright

    options = launch_options({"headless": True}, "/nonexistent")
    assert options["executable_path"] == system_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)  # type: ignore[arg-type]
        try:
            page = browser.new_page()
            page.goto("data:text/html,<h1>ok</h1>")
            assert page.locator("h1").inner_text() == "ok"
        finally:
            browser.close()
