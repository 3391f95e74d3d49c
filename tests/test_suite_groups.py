"""The suite's own grouping holds: `make test` (-n 2 --dist loadgroup) keeps a module's tests on one
worker, so a module fixture (a real app, an installed venv, the walked demo) starts once.

pytest 9.2 with pytest-xdist 3.8 dropped the groups without a word (pytest-xdist#1386): every
module fixture then started once per worker, and the suite ran twice the work it needed.
"""

from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]


def test_a_group_runs_on_one_worker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_grouped="""
        import pytest

        pytestmark = pytest.mark.xdist_group("together")

        @pytest.mark.parametrize("n", range(6))
        def test_member(n):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    workers = set(re.findall(r"\[(gw\d+)\] \[\s*\d+%\] PASSED .*@together", result.stdout.str()))
    assert len(workers) == 1, result.stdout.str()
