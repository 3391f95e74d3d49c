"""Fixtures the harness's own tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dovecot import PASSWORD, Dovecot, running_dovecot


@pytest.fixture
def dovecot(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dovecot]:
    """A real Dovecot on loopback, its password where the harness looks for it."""
    monkeypatch.setenv("SHOPPER_IMAP_PASSWORD", PASSWORD)
    with running_dovecot() as server:
        yield server
