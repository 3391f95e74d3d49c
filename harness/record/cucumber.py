"""pytest-bdd's Cucumber JSON, taught the retries of pytest-rerunfailures.

pytest-bdd's reporter knows three outcomes; a retried attempt arrives as "rerun" and crashed the
whole session (`ValueError: Unknown test outcome rerun`, exit 3) exactly when a CI gate turned
retries on. Every attempt is a scenario element of its own, so a flaky scenario shows as a failed
attempt followed by the attempt that decided the verdict.
"""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd.cucumber_json import LogBDDCucumberJSON

RERUN = "rerun"  # the outcome pytest-rerunfailures gives every attempt that is retried


class RetryAwareCucumberJSON(LogBDDCucumberJSON):
    def _get_result(self, step: Any, report: pytest.TestReport, error_message: bool = False) -> Any:
        if report.outcome != RERUN:
            return super()._get_result(step, report, error_message)
        # A retried attempt failed: it is reported as what it was, a failure, with its error.
        original = report.outcome
        report.outcome = "failed"
        try:
            return super()._get_result(step, report, error_message)
        finally:
            report.outcome = original


def report_retries(config: pytest.Config) -> None:
    """Swap pytest-bdd's reporter (when --cucumberjson is on) for the retry-aware one, state and all."""
    reporter = getattr(config, "_bddcucumberjson", None)
    if type(reporter) is LogBDDCucumberJSON:
        # The class only, not the registered object: pytest-bdd unregisters that object at the end.
        reporter.__class__ = RetryAwareCucumberJSON
