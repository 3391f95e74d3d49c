"""The report's read of its two windows: this window's observations now, the previous window's meanwhile.

The previous window is only compared with once this window is judged (its movements), so it is
read on a connection of its own while the analysis runs. Reading half a million rows is mostly the
database's work and its driver's (SQLite's decoding, PostgreSQL's COPY, the ADBC driver filling
Arrow arrays), done outside Python's GIL, so on a machine of two cores the read of one window
overlaps the analysis of the other instead of preceding it: a million observations report about a
second sooner.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from harness.observation import Run

if TYPE_CHECKING:
    import pandas as pd

    from harness.store.sqlite import Store

# The previous window's frame, read in the background: called when the analysis needs it.
Previous = Callable[[], "pd.DataFrame | None"]


def _read(store_url: str, run_ids: list[str]) -> pd.DataFrame:
    from harness.store.sqlite import open_store

    store = open_store(store_url)
    try:
        return store.analysis_frame(run_ids)
    finally:
        store.close()


def read_window(
    store: Store, store_url: str, runs: list[Run], previous_runs: list[Run]
) -> tuple[pd.DataFrame, Previous]:
    """The window's observations from the open store; the previous window's from a second connection to
    store_url, read on a thread, handed over when called (its read's errors are raised then)."""
    frame = store.analysis_frame([run.run_id for run in runs])
    if not previous_runs:
        return frame, lambda: None
    # Started after this window's read, not beside it: two reads at once only share the cores.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="previous-window")
    reading = pool.submit(_read, store_url, [run.run_id for run in previous_runs])
    pool.shutdown(wait=False)  # the thread ends with its one read
    return frame, reading.result
