"""The observations table's columns, in the order every reader and writer of the store uses.

A leaf of the store: the SQLite writer, the analysis's window read (pandas) and the CSV export all
name them, and none of them needs the others to do so.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

OBSERVATION_COLUMNS = [
    "run_id",
    "seq",
    "feature",
    "scenario",
    "node_id",
    "segment",
    "stage",
    "touchpoint",
    "step",
    "started_at",
    "duration_ms",
    "outcome",
    "error",
    "attempt",
    "evidence",
    "timed",
    "trace",
    "page_url",
    "page_title",
    "wall_ms",
    "failure",
]

# The CSV export's read (report/observations_csv.py): rows a chunk at a time, and which hold text.
ObservationChunks = Generator[tuple[Sequence[tuple[Any, ...]], list[int]], None, None]
