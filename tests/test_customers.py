"""Synthetic customers: an address of their own per run and scenario, in the form the inbox needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from journeys import DEMO_MAP, write_features

from harness.cli import main
from harness.errors import HarnessError
from harness.ops.schedule_file import ScheduleError, load_schedule
from harness.record.context import PASSWORD_ENV, customer_address, make_customer


def test_plus_addressing_by_default_and_a_catch_all_domain_on_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-the-environment")
    one = make_customer("20261123T090000Z-abc123", 1)
    assert one.email == "shopper+000zabc123-1@example.test"
    assert one.password == "from-the-environment" and "from-the-environment" not in repr(one)
    assert make_customer("20261123T090000Z-abc123", 2, "acme.com").email == "shopper+000zabc123-2@acme.com"
    catch_all = make_customer("20261123T090000Z-abc123", 3, template="{run}-{n}@shoppers.example.com")
    assert catch_all.email == "000zabc123-3@shoppers.example.com"
    # Two runs, or two scenarios of one run, never share an address.
    assert (
        len({customer_address("shopper+{run}-{n}@x.test", run, n) for run in ("r-1", "r-2") for n in (1, 2)})
        == 4
    )


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("shopper+{run}@example.test", "needs {run} and {n}"),
        ("shopper+{run}-{n}-{who}@example.test", "may use only {run}, {n} and {domain}"),
        ("{run}-{n} at example.test", "does not make an email address"),
    ],
)
def test_a_template_that_cannot_tell_customers_apart_is_refused(template: str, says: str) -> None:
    with pytest.raises(HarnessError, match=says.replace("{", r"\{").replace("}", r"\}")):
        customer_address(template, "r-1", 1)


def test_a_bad_template_is_a_usage_error_of_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features = write_features(
        tmp_path / "features", "@stage:discover\nFeature: F\n  Scenario: S\n    Given I open the home page\n"
    )
    status = main(
        ["run", "--base-url", "http://127.0.0.1:9", "--map", str(DEMO_MAP), "--features", str(features),
         "--store", str(tmp_path / "obs.db"), "--customer-address", "shopper@example.test", "--quiet"]
    )  # fmt: skip
    assert status == 2
    assert 'customer address "shopper@example.test" needs {run} and {n}' in capsys.readouterr().err


def test_a_schedule_checks_its_template_and_its_max_wait(tmp_path: Path) -> None:
    base = f"target: http://127.0.0.1:9\nmap: {DEMO_MAP}\nfeatures: {tmp_path}\nevery: 5m\n"
    good = tmp_path / "good.yaml"
    good.write_text(base + "customer_address: 'qa+{run}-{n}@example.com'\nmax_wait: 3m\n")
    config = load_schedule(good)
    assert (config.customer_address, config.max_wait) == ("qa+{run}-{n}@example.com", "3m")
    bad = tmp_path / "bad.yaml"
    bad.write_text(base + "customer_address: qa@example.com\n")
    with pytest.raises(ScheduleError) as caught:
        load_schedule(bad)
    assert caught.value.line == 5 and "needs {run} and {n}" in str(caught.value)
    slow = tmp_path / "slow.yaml"
    slow.write_text(base + "max_wait: soon\n")
    with pytest.raises(ScheduleError, match="is not a duration"):
        load_schedule(slow)
