"""Find a Chromium Playwright can drive, and the flags that keep it quiet and offline-safe.

Playwright's own browser is preferred. Where `playwright install` cannot download one (closed
networks, Debian servers), a system Chromium is used through `executable_path`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness.errors import BrowserError

SYSTEM_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SYSTEM_CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/snap/bin/chromium")

# Without these, Chromium phones home at start (updates, field trials, sync) and stalls on a closed network.
QUIET_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
)


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def system_chromium() -> str | None:
    """The path of a Chromium installed by the system's package manager, if any."""
    override = os.environ.get("SHOPPER_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for name in SYSTEM_CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return next((path for path in SYSTEM_CHROMIUM_PATHS if Path(path).exists()), None)


def chromium_executable(playwright_path: str | None) -> str | None:
    """None when Playwright's own Chromium is installed, else the system Chromium to use instead."""
    if os.environ.get("SHOPPER_CHROMIUM"):
        found = system_chromium()
        if found is None:
            raise BrowserError(
                f"SHOPPER_CHROMIUM points to {os.environ['SHOPPER_CHROMIUM']}, which does not exist"
            )
        return found
    if playwright_path and _playwright_browsers_present(Path(playwright_path)):
        return None
    found = system_chromium()
    if found is None:
        raise BrowserError(
            "no Chromium found: run `playwright install chromium`, or install your system's chromium"
            " package (Debian: apt-get install chromium), or set SHOPPER_CHROMIUM to its path"
        )
    return found


def _playwright_browsers_present(chromium: Path) -> bool:
    # Headless runs use Playwright's separate headless shell; both come from `playwright install chromium`.
    if not chromium.exists():
        return False
    browsers_root = chromium.parents[2] if len(chromium.parents) > 2 else chromium.parent
    return any(browsers_root.glob("chromium_headless_shell-*"))


def launch_args(extra: list[str] | None = None) -> list[str]:
    """Chromium flags: quiet, and --no-sandbox only where the sandbox cannot work (root)."""
    flags = list(extra or [])
    for flag in QUIET_FLAGS:
        if flag not in flags:
            flags.append(flag)
    if running_as_root() and "--no-sandbox" not in flags:
        flags.append("--no-sandbox")
    return flags


def launch_options(
    base: dict[str, object], playwright_path: str | None, browser_name: str = "chromium"
) -> dict[str, object]:
    """pytest-playwright's launch arguments, completed with our executable and flags (Chromium only)."""
    options = dict(base)
    if browser_name != "chromium":
        # Chromium's flags and the system Chromium mean nothing to Firefox or WebKit: forced on
        # them, a launch waited 150 s for a handshake that never came.
        return options
    args = options.get("args")
    options["args"] = launch_args(list(args) if isinstance(args, list | tuple) else None)
    if "executable_path" not in options:
        executable = chromium_executable(playwright_path)
        if executable is not None:
            options["executable_path"] = executable
    return options


def check_browsers_installed(names: list[str]) -> None:
    """Before the first scenario: a browser Playwright lacks is one sentence, not a launch per scenario.

    Only Chromium has a fallback (the system's); Firefox and WebKit come from `playwright install`.
    """
    for name in names:
        if name == "chromium":
            continue
        path = _playwright_executable(name)
        if path is None or not Path(path).exists():
            raise BrowserError(
                f"--browser {name}: Playwright's {name} is not installed; run"
                f" `playwright install {name}`, or use --browser chromium"
            )


def _playwright_executable(name: str) -> str | None:
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            return str(getattr(playwright, name).executable_path)
    except Exception:  # an unknown name, or no driver: the launch would fail the same way
        return None


def playwright_chromium_path() -> str | None:
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            return str(playwright.chromium.executable_path)
    except Exception:
        return None


def ensure_browser() -> str:
    """Make sure a Chromium is there for the harness, installing one if this machine allows; say which."""
    import subprocess
    import sys

    playwright_path = playwright_chromium_path()
    if (
        playwright_path
        and _playwright_browsers_present(Path(playwright_path))
        and not os.environ.get("SHOPPER_CHROMIUM")
    ):
        return f"Playwright's own Chromium: {playwright_path}"
    found = system_chromium()
    if found:
        return f"system Chromium: {found}"
    if running_as_root() and shutil.which("apt-get"):
        # Playwright cannot download its browser on closed networks; Debian's package can be installed.
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    else:
        subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], check=True)
    return ensure_browser_found()


def ensure_browser_found() -> str:
    found = system_chromium()
    if found:
        return f"system Chromium: {found}"
    playwright_path = playwright_chromium_path()
    if playwright_path and _playwright_browsers_present(Path(playwright_path)):
        return f"Playwright's own Chromium: {playwright_path}"
    raise BrowserError("no Chromium could be installed; install your system's chromium package")


if __name__ == "__main__":
    import sys

    try:
        print(ensure_browser())
    except (BrowserError, OSError) as exc:
        print(f"shopper: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # a failed apt-get or playwright install
        print(f"shopper: could not install a browser: {exc}", file=sys.stderr)
        sys.exit(2)
