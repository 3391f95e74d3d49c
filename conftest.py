"""Wires the harness plugin and the step library for `pytest scenarios/` in a clone.

Installed, the `pytest11` entry point (named after the module) loads the plugin, and the plugin the
step library; the names here are the same, so pytest registers each module once.
"""

from harness.steps import PLUGINS

pytest_plugins = ["harness.record.plugin", *PLUGINS]
