"""Prometheus metrics of runs, scraped over HTTP from the real endpoint, as Prometheus would."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import Iterator

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.analysis.gaps import analyse
from harness.analysis.verdicts import Verdict
from harness.map.loading import load_map_text
from harness.observation import Run
from harness.ops.metrics import Metrics, MetricsError
from harness.store.columns import OBSERVATION_COLUMNS

MAP = """\
journey: Metrics check
version: v1
segments: [self-serve, enterprise]
stages:
  - id: discover
    touchpoints:
      - {id: pricing-page, channel: web, url: /pricing, expect: {within: 1s, fail_after: 10s}}
  - id: signup
    touchpoints:
      - {id: confirmation-email, channel: email, expect: {within: 2m, fail_after: 15m}}
"""
JOURNEY = load_map_text(MAP)
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Steps:
    """One run's observations, written the way the store hands them back (OBSERVATION_COLUMNS)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.rows: list[dict[str, object]] = []

    def add(
        self,
        node: str,
        stage: str,
        touchpoint: str | None,
        duration_ms: float,
        outcome: str = "passed",
        *,
        attempt: int = 1,
        segment: str = "self-serve",
    ) -> Steps:
        seq = len(self.rows) + 1
        self.rows.append(
            {
                "run_id": self.run_id,
                "seq": seq,
                "feature": "journey.feature",
                "scenario": node,
                "node_id": node,
                "segment": segment,
                "stage": stage,
                "touchpoint": touchpoint,
                "step": f"step {seq}",
                "started_at": (T0 + dt.timedelta(seconds=seq)).isoformat(),
                "duration_ms": duration_ms,
                "outcome": outcome,
                "error": "it broke" if outcome in ("failed", "error") else "",
                "attempt": attempt,
                "evidence": "",
                "timed": 1,
                "trace": "",
                "page_url": "",
                "page_title": "",
            }
        )
        return self

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=OBSERVATION_COLUMNS)


def record(metrics: Metrics, steps: Steps, minute: int, state: str = "finished") -> list[Verdict]:
    observations = steps.frame()
    analysis = analyse(JOURNEY, observations)
    verdicts = analysis.verdicts + analysis.off_map
    started = T0 + dt.timedelta(minutes=minute)
    run = Run(steps.run_id, started, state, finished_at=started + dt.timedelta(seconds=30))
    metrics.record_run(run, observations, verdicts)
    return verdicts


def scrape(port: int) -> tuple[str, Samples]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def metrics() -> Iterator[tuple[Metrics, int]]:
    collected = Metrics()
    server = collected.serve(0)
    try:
        yield collected, server.port
    finally:
        server.close()


def first_run() -> Steps:
    return (
        Steps("r1")
        .add("pricing", "discover", "pricing-page", 300)
        .add("pricing", "discover", "pricing-page", 40)
        # One failed visit of two steps, then an attempt that passes.
        .add("signup", "signup", "confirmation-email", 45_000)
        .add("signup", "signup", "confirmation-email", 100, "failed")
        .add("signup", "signup", "confirmation-email", 50_000, attempt=2)
        .add("about", "discover", "/about", 200)
        .add("about", "discover", "/careers", 250, "failed")
        .add("about", "discover", None, 1500)  # bound to no touchpoint
        .add("about", "discover", "pricing-page", 0, "skipped")
        .add("about", "discover", "pricing-page", 999, "error")  # measured nothing
    )


def test_a_run_is_scraped_with_its_figures(metrics: tuple[Metrics, int]) -> None:
    collected, port = metrics
    record(collected, first_run(), minute=0)
    text, samples = scrape(port)

    assert 'shopper_runs_total{state="finished"} 1.0' in text
    assert value(samples, "shopper_runs_total", state="aborted") == 0
    expected_end = (T0 + dt.timedelta(seconds=30)).timestamp()
    assert value(samples, "shopper_last_run_timestamp_seconds") == expected_end

    failures = {
        dict(labels)["touchpoint"]: count
        for (name, labels), count in samples.items()
        if name == "shopper_failures_total"
    }
    assert failures == {"confirmation-email": 1, "off-map": 1}
    assert (
        value(
            samples,
            "shopper_failures_total",
            stage="signup",
            touchpoint="confirmation-email",
            segment="self-serve",
        )
        == 1
    )

    histogram = "shopper_step_duration_seconds"
    pricing = {"stage": "discover", "touchpoint": "pricing-page"}
    assert value(samples, f"{histogram}_count", **pricing) == 2  # skipped and errored steps left out
    assert value(samples, f"{histogram}_sum", **pricing) == pytest.approx(0.34)
    assert value(samples, f"{histogram}_bucket", le="0.1", **pricing) == 1
    assert value(samples, f"{histogram}_bucket", le="0.25", **pricing) == 1
    assert value(samples, f"{histogram}_bucket", le="0.5", **pricing) == 2
    email = {"stage": "signup", "touchpoint": "confirmation-email"}
    assert value(samples, f"{histogram}_bucket", le="30.0", **email) == 1
    assert value(samples, f"{histogram}_bucket", le="60.0", **email) == 3
    assert value(samples, f"{histogram}_bucket", le="3600.0", **email) == 3
    assert value(samples, f"{histogram}_count", stage="discover", touchpoint="off-map") == 2
    assert value(samples, f"{histogram}_count", stage="discover", touchpoint="unbound") == 1

    status = "shopper_touchpoint_status"
    assert value(samples, status, touchpoint="confirmation-email", segment="self-serve", status="flaky") == 1
    assert value(samples, status, touchpoint="confirmation-email", segment="self-serve", status="met") == 0
    assert value(samples, status, touchpoint="pricing-page", segment="self-serve", status="met") == 1
    assert value(samples, status, touchpoint="pricing-page", segment="enterprise", status="untested") == 1
    assert value(samples, status, touchpoint="off-map", segment="self-serve", status="off-map") == 1


def test_off_map_pages_never_become_labels(metrics: tuple[Metrics, int]) -> None:
    collected, port = metrics
    steps = Steps("r1")
    for page in range(50):
        steps.add(f"crawl-{page}", "discover", f"/blog/post-{page}", 100, "failed" if page % 2 else "passed")
    record(collected, steps, minute=0)
    text, samples = scrape(port)
    assert "/blog/" not in text
    touchpoints = {dict(labels).get("touchpoint") for _, labels in samples}
    assert touchpoints <= {None, "pricing-page", "confirmation-email", "off-map"}
    off_map = {"stage": "discover", "touchpoint": "off-map", "segment": "self-serve"}
    assert value(samples, "shopper_failures_total", **off_map) == 25


def test_statuses_follow_later_runs_and_a_run_counts_once(metrics: tuple[Metrics, int]) -> None:
    collected, port = metrics
    record(collected, first_run(), minute=0)
    # Run 2 plays the email only: the pricing page is untested in it and keeps the status it had.
    second = Steps("r2").add("signup", "signup", "confirmation-email", 30_000)
    record(collected, second, minute=10, state="aborted")
    record(collected, second, minute=10, state="aborted")  # the same run handed over twice
    record(collected, Steps("r0"), minute=-60)  # a late run must not move the clock back
    _, samples = scrape(port)

    status = "shopper_touchpoint_status"
    assert value(samples, status, touchpoint="confirmation-email", segment="self-serve", status="met") == 1
    assert value(samples, status, touchpoint="confirmation-email", segment="self-serve", status="flaky") == 0
    assert value(samples, status, touchpoint="pricing-page", segment="self-serve", status="met") == 1
    assert value(samples, status, touchpoint="pricing-page", segment="self-serve", status="untested") == 0
    assert value(samples, status, touchpoint="off-map", segment="self-serve", status="off-map") == 0
    assert value(samples, "shopper_runs_total", state="finished") == 2
    assert value(samples, "shopper_runs_total", state="aborted") == 1
    expected_end = (T0 + dt.timedelta(minutes=10, seconds=30)).timestamp()
    assert value(samples, "shopper_last_run_timestamp_seconds") == expected_end
    email = {"stage": "signup", "touchpoint": "confirmation-email"}
    assert value(samples, "shopper_step_duration_seconds_count", **email) == 4


def test_two_metrics_in_one_process_keep_apart_and_close_frees_the_port() -> None:
    first, second = Metrics(JOURNEY), Metrics(JOURNEY)
    record(first, first_run(), minute=0)
    assert b'shopper_runs_total{state="finished"} 1.0' in first.exposition()
    assert b'shopper_runs_total{state="finished"} 0.0' in second.exposition()

    server = second.serve(0)
    port = server.port
    with pytest.raises(MetricsError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
        first.serve(port)
    _, samples = scrape(port)
    assert value(samples, "shopper_runs_total", state="finished") == 0
    server.close()
    with pytest.raises(urllib.error.URLError):
        scrape(port)
