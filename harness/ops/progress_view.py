"""Which progress view `shopper run` shows, chosen once: rich (`live_progress`) only on a terminal.

Apart from both views so that the plain one never loads rich, and the live one, which builds on
the plain one's tally, is not imported back by it.
"""

from __future__ import annotations

import sys
from typing import TextIO

from harness.ops.progress import PlainProgress, ProgressView


def open_view(quiet: bool, stream: TextIO | None = None) -> ProgressView | None:
    """The view `shopper run` shows: none when quiet, live on a terminal, plain lines elsewhere."""
    if quiet:
        return None
    stream = stream or sys.stdout
    if not stream.isatty():
        return PlainProgress(stream)
    from rich.console import Console  # loaded only for a terminal

    console = Console(file=stream)
    if console.is_terminal and not console.is_dumb_terminal:
        from harness.ops.live_progress import LiveProgress

        return LiveProgress(console)
    return PlainProgress(stream)
