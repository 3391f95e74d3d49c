"""The step library: reusable steps by touchpoint kind, each bound to the journey map.

Wire it into pytest with `pytest_plugins = ["harness.record.plugin", *steps.PLUGINS]` in a conftest.
"""

from __future__ import annotations

PLUGINS = ["steps.web", "steps.forms", "steps.signup", "steps.email", "steps.support"]
