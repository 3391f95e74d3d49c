"""A real Redis for the fleet's tests (Debian's redis-server, `make redis`): on loopback, a free
port, nothing kept on disk."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dovecot import free_port

from harness.ops.fleet_broker import redis_client

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@contextmanager
def running_redis() -> Iterator[str]:
    """A Redis that answers, as its URL; stopped after."""
    if not Path(REDIS_SERVER).exists():
        raise AssertionError("redis-server is missing: `make redis` installs Debian's redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="shopper-redis-") as folder:
        process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        client = redis_client(url)
        try:
            for _ in range(200):  # until it answers; it starts in milliseconds
                try:
                    client.ping()
                    break
                except Exception:
                    assert process.poll() is None, "redis-server exited at start"
                    time.sleep(0.05)
            yield url
        finally:
            client.close()
            process.terminate()
            process.wait(timeout=10)
