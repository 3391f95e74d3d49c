"""The real sites' journeys run under `shopper run` (tests/test_real_sites.py starts them).

The harness's own test suite collects tests/ and must not walk them without a site: their
test_journey.py modules are collected only when a target was given (--base-url).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name == "test_journey.py" and not config.getoption("base_url", default=None):
        return True
    return None
