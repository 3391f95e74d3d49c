"""Start a real application of tests/sites in its own process on a free loopback port, and stop it.

The app prints `listening on http://127.0.0.1:PORT` once its server is bound (see faults.serve).
Starting does not wait, so a slow start (Wagtail migrating its database) overlaps other work;
`base_url` waits for it. `faults` are injected from the start (see faults.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

SITES = Path(__file__).resolve().parent
# faults.FAULTS_VARIABLE, without importing the apps' dependencies here.
FAULTS_VARIABLE = "SITE_FAULTS"
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")
# The wait for a start ends at the sentinel (the app listens) or at the app's end (it failed, its
# output says why): this bound is only for an app that hangs. A cold start imports Django or Flask
# and migrates a database; on a loaded two-core runner (beside CPU burners and other jobs) Wagtail's
# migrations alone took over three minutes.
START_TIMEOUT_S = 900.0


class SiteProcess:
    def __init__(
        self, script: Path, data: Path, smtp_port: int, faults: dict[str, Any] | None = None
    ) -> None:
        self.command = [sys.executable, str(script), "--data", str(data), "--smtp-port", str(smtp_port)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", FAULTS_VARIABLE: json.dumps(faults or {})}
        self.log: list[str] = []
        self._url: list[str] = []
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            self.command,
            cwd=SITES,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.append(line)
            match = LISTENING.search(line)
            if match and not self._url:
                self._url.append(match.group(1))
                self._ready.set()
        self._ready.set()  # it ended before listening: base_url says so with its output

    @property
    def base_url(self) -> str:
        self._ready.wait(START_TIMEOUT_S)
        if not self._url:
            raise RuntimeError(f"{' '.join(self.command)} did not start:\n{''.join(self.log)}")
        return self._url[0]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
