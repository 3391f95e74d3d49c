"""Wires the harness plugin and the step library for `pytest scenarios/`."""

from harness.steps import PLUGINS

pytest_plugins = ["harness.record.plugin", *PLUGINS]
