"""Wires the harness plugin and the step library for `pytest scenarios/`."""

from steps import PLUGINS

pytest_plugins = ["harness.record.plugin", *PLUGINS]
