"""The PostgreSQL store against a real server: the password from PGPASSWORD only, the same frames and
export as SQLite's, and several writers (pollers, schedulers, runners opening at once) kept apart.

tests/test_store.py runs the store's own suite against both backends; these are what only a shared
server can show.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
from journeys import QuietHandler, send_html, serve, write_features
from test_alerts import FAIL, verdicts
from test_store import T0, make_obs, make_run

from harness.cli import main
from harness.errors import StoreError
from harness.observation import ExpectationResolved, PendingExpectation, RunFinished, RunStarted, StepObserved
from harness.ops.alert_config import AlertConfig
from harness.ops.alerts import Alerter, open_alerts
from harness.report.observations_csv import write_observations_csv
from harness.store.base import SQLStore
from harness.store.frame import SEPARATOR
from harness.store.postgres import PostgresStore
from harness.store.sqlite import open_store, store_exists, store_path

pytestmark = pytest.mark.postgres

MAP = """\
journey: Shared history
segments: [visitor]
stages:
  - id: discover
    touchpoints:
      - {id: home-page, channel: web, owner: Web, url: /, expect: {within: 2s, fail_after: 10s}}
      - {id: offer-page, channel: web, owner: Marketing, url: /offer, expect: {within: 2s, fail_after: 10s}}
"""
FEATURE = """\
@stage:discover
Feature: The home page
  Scenario: The home page greets me
    Given I open the home page
    Then I should see "Hello"

  Scenario: The offer page has today's offer
    Given I open "/offer"
    Then I should see "Offer"
"""


class Site(QuietHandler):
    def do_GET(self) -> None:
        send_html(self, "<!doctype html><title>Home</title><h1>Hello</h1>")  # no offer on any page


def _record(store: SQLStore) -> list[str]:
    """Three runs with passed, failed, errored and touchpoint-less steps; their ids."""
    run_ids = ["r1", "r2", "r3"]
    for number, run_id in enumerate(run_ids):
        store.handle(RunStarted(make_run(run_id, T0.replace(minute=number))))
        store.handle(StepObserved(make_obs(run_id, 1, T0, wall_ms=130.0)))
        store.handle(StepObserved(make_obs(run_id, 2, T0, outcome="failed", error=f"boom {number}")))
        store.handle(StepObserved(make_obs(run_id, 3, T0, touchpoint=None, node_id="other", step="=1+1")))
        store.handle(StepObserved(make_obs(run_id, 4, T0, outcome="error", evidence="e.png", attempt=2)))
        store.handle(RunFinished(run_id, "finished", finished_at=T0))
    return run_ids


def _both(tmp_path: Path, postgres_url: str) -> tuple[SQLStore, SQLStore]:
    sqlite, postgres = open_store(tmp_path / "shopper.db"), open_store(postgres_url)
    assert isinstance(postgres, PostgresStore)
    return sqlite, postgres


def test_a_url_with_a_password_is_refused_and_the_password_never_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for carrying in (
        "postgresql://shopper:hunter2%2Dsecret@127.0.0.1:1/shopper",
        "postgres://shopper@127.0.0.1:1/shopper?sslmode=disable&password=hunter2-secret",
    ):
        with pytest.raises(StoreError) as caught:
            open_store(carrying)
        assert "hunter2" not in str(caught.value) and "PGPASSWORD" in str(caught.value)
        assert caught.value.file is not None and "shopper@127.0.0.1:1/shopper" in caught.value.file
    url = "postgresql://shopper:hunter2-secret@127.0.0.1:1/shopper"
    assert main(["report", "--store", url, "--out", str(tmp_path / "out")]) == 2
    said = capsys.readouterr()
    assert "PGPASSWORD" in said.err and "hunter2-secret" not in said.out + said.err


def test_without_its_password_the_store_says_it_cannot_connect(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    with pytest.raises(StoreError) as caught:
        open_store(postgres_url)
    assert "cannot connect to the PostgreSQL store" in str(caught.value)
    assert caught.value.exit_status == 2 and caught.value.file == postgres_url


def test_both_schemes_open_the_same_store(postgres_url: str) -> None:
    store = open_store(postgres_url)
    store.handle(RunStarted(make_run("r1")))
    store.close()
    alias = open_store(postgres_url.replace("postgresql://", "postgres://"))
    try:
        assert [run.run_id for run in alias.runs()] == ["r1"]
    finally:
        alias.close()
    # The files a store keeps beside it are named after the database, in the working directory.
    assert store_path(postgres_url) == Path(postgres_url.rsplit("/", 1)[1]) and store_exists(postgres_url)


def test_both_backends_give_the_same_frames(tmp_path: Path, postgres_url: str) -> None:
    sqlite, postgres = _both(tmp_path, postgres_url)
    try:
        run_ids = _record(sqlite)
        assert _record(postgres) == run_ids
        window, _ = ["r3", "r1"], (postgres, sqlite)
        pd.testing.assert_frame_equal(postgres.observations(window), sqlite.observations(window))
        ours, theirs = (store.analysis_frame(window).sort_values("id", ignore_index=True) for store in _)
        pd.testing.assert_frame_equal(ours, theirs)
        assert ours["error"].dropna().tolist() == ["boom 0", "", "boom 2", ""]  # the failed rows' texts
        assert [run.run_id for run in postgres.runs(last=2)] == ["r2", "r3"]
        assert postgres.scenarios_recorded("r1") == sqlite.scenarios_recorded("r1") == 3
    finally:
        sqlite.close()
        postgres.close()


def test_a_text_holding_the_packing_separator_reads_the_same(tmp_path: Path, postgres_url: str) -> None:
    # PostgreSQL's window packs four texts into one with ASCII's unit separator (store/frame.py); a
    # stage id that holds one must not shift the others: that window is read unpacked.
    sqlite, postgres = _both(tmp_path, postgres_url)
    try:
        for store in (sqlite, postgres):
            store.handle(RunStarted(make_run("r1", T0)))
            store.handle(StepObserved(make_obs("r1", 1, T0, stage=f"dis{SEPARATOR}cover")))
            store.handle(StepObserved(make_obs("r1", 2, T0, segment="enterprise", outcome="failed")))
        ours, theirs = (
            store.analysis_frame(["r1"]).sort_values("id", ignore_index=True) for store in (postgres, sqlite)
        )
        pd.testing.assert_frame_equal(ours, theirs)
        assert ours["stage"].tolist() == [f"dis{SEPARATOR}cover", "discover"]
        assert ours["segment"].tolist() == ["self-serve", "enterprise"]
        assert ours["outcome"].tolist() == ["passed", "failed"]
    finally:
        sqlite.close()
        postgres.close()


def test_the_csv_export_is_the_same_from_either_backend(tmp_path: Path, postgres_url: str) -> None:
    sqlite, postgres = _both(tmp_path, postgres_url)
    for store in (sqlite, postgres):
        _record(store)
        store.close()
    exports = []
    for name, url in (("sqlite", str(tmp_path / "shopper.db")), ("postgres", postgres_url)):
        path = tmp_path / f"{name}.csv"
        assert write_observations_csv(url, ["r2", "r1"], path) == 8
        exports.append(path.read_text(encoding="utf-8"))
    assert exports[0] == exports[1]
    assert "'=1+1" in exports[1]  # a cell a spreadsheet would run is quoted, as from SQLite


def _pending(run_id: str, seq: int) -> PendingExpectation:
    return PendingExpectation(
        run_id=run_id,
        seq=seq,
        node_id="n",
        segment="self-serve",
        stage="get-help",
        touchpoint="support-reply",
        wanted={"to": "a@example.test"},
        triggered_at=T0,
        deadline=T0,
        mailbox="maildir:/nowhere",
    )


def _at_once(workers: list[Callable[[], Any]]) -> list[Any]:
    """Run each worker in its own thread, released together; their results, in order."""
    start = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = workers[index]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_two_pollers_racing_resolve_each_item_once(postgres_url: str) -> None:
    first, second = open_store(postgres_url), open_store(postgres_url)
    try:
        items = [_pending("r1", seq) for seq in range(1, 31)]
        for item in items:
            first.handle(replace(item, observation=make_obs("r1", item.seq, T0, outcome="pending")))
        assert len(second.open_pending()) == len(items)

        def poller(store: SQLStore, outcome: str, ms: float) -> Callable[[], list[bool]]:
            return lambda: [store.resolve(ExpectationResolved("r1", i.seq, outcome, ms)) for i in items]

        won = _at_once([poller(first, "passed", 10.0), poller(second, "failed", 20.0)])
        assert [a + b for a, b in zip(*won, strict=True)] == [1] * len(items)  # each once, by one of them
        assert second.open_pending() == []
        frame = first.observations(["r1"])
        # Each observation completed by the poller that won its item, and only by it.
        winners = ["passed" if a else "failed" for a in won[0]]
        assert frame.sort_values("seq")["outcome"].tolist() == winners
    finally:
        first.close()
        second.close()


def test_two_schedulers_on_one_store_never_both_send_one_alert(postgres_url: str) -> None:
    open_store(postgres_url).close()
    config = AlertConfig(after=2)
    outcomes = {"signup-form": FAIL}
    for attempt in range(3):
        journey = f"Alert check {attempt}"

        def scheduler(name: str, journey: str = journey) -> Callable[[], list[str]]:
            def observe() -> list[str]:
                with Alerter(config, postgres_url, journey_name=journey) as alerter:
                    sent = []
                    for number in range(4):
                        run_id = f"{name}-{number}"
                        sent += [event.kind for event in alerter.observe(run_id, verdicts(run_id, outcomes))]
                    return sent

            return observe

        sent = _at_once([scheduler("a"), scheduler("b")])
        assert sorted(sent[0] + sent[1]) == ["alert"]  # one alert between them, whoever crossed `after`
        (alert,) = open_alerts(postgres_url, journey)
        assert alert.streak == 8  # every run of both moved the one streak


def test_runners_opening_a_new_store_at_once_make_its_tables_once(postgres_url: str) -> None:
    opened = _at_once([lambda: open_store(postgres_url) for _ in range(4)])
    for store in opened:
        store.handle(RunStarted(make_run(f"run-{id(store)}")))
    assert len(opened[0].runs()) == 4
    for store in opened:
        store.close()


def test_a_database_of_another_application_is_refused(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("CREATE TABLE runs (id INTEGER, name TEXT)")
    with pytest.raises(StoreError) as caught:
        open_store(postgres_url)
    assert "is not a shopper store" in str(caught.value)
    with psycopg.connect(postgres_url) as db:  # nothing of ours was added to it
        tables = db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        assert [row[0] for row in tables] == ["runs"]


def test_a_run_recorded_in_postgres_is_reported_from_it(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # where a PostgreSQL store's evidence and cache go
    for name in ("SHOPPER_MAP", "SHOPPER_STORE", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)
    features = write_features(tmp_path / "features", FEATURE)
    (tmp_path / "map.yaml").write_text(MAP, encoding="utf-8")
    with serve(Site) as site:
        command = ["run", "--base-url", site, "--map", "map.yaml", "--features", str(features)]
        assert main([*command, "--store", postgres_url, "--quiet"]) == 1  # the offer is missing
    assert main(["report", "--store", postgres_url, "--out", "out"]) == 1
    capsys.readouterr()
    document = json.loads((tmp_path / "out" / "gap-report.json").read_text(encoding="utf-8"))
    statuses = {tp["id"]: tp["status"] for stage in document["stages"] for tp in stage["touchpoints"]}
    assert statuses == {"home-page": "met", "offer-page": "failing"}
    assert list((tmp_path / "evidence").iterdir())  # the failed step's screenshot, in the working directory
    assert not (tmp_path / "features" / "evidence").exists()
