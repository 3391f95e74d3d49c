"""The step library: reusable steps by touchpoint kind, each bound to the journey map.

It lives at the repository's top level (`steps/`) and is installed as `harness.steps` (the link
`harness/steps`), so a user's own `steps/` package never shadows it. The harness's plugin (a
`pytest11` entry point) registers these modules when a run has a journey map; no conftest is needed.
"""

from __future__ import annotations

import importlib

PLUGINS = [
    "harness.steps.web",
    "harness.steps.forms",
    "harness.steps.signup",
    "harness.steps.email",
    "harness.steps.support",
    "harness.steps.api",
]


def load_catalogue() -> None:
    """Import every step module, which fills the step catalogue (`harness.map.catalogue`).

    The map's own layer cannot import the steps (pytest-bdd, Playwright), so whoever asks for
    coverage (`shopper map check`, `shopper steps`, the scheduler) loads them first.
    """
    for module in PLUGINS:
        importlib.import_module(module)
