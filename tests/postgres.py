"""A real PostgreSQL server for tests: Debian's server binaries, its own data folder, port and socket.

One server per test process (tests/conftest.py; with pytest-xdist each worker starts its own, so
nothing is shared or locked between workers), and a database of its own per test, made from
template1 in a fraction of a second. The server asks for a password over TCP (scram-sha-256), so
every store the tests open reads it from PGPASSWORD, as a deployment would; its own socket, in
the data folder, trusts the local user for the fixture's administration.

initdb and the server refuse to run as root: as root, they run as the `postgres` user Debian's
package made, in a folder that user owns. `make test` installs the package where it is missing;
without it these tests fail with a message saying so.

Run as a script (`python tests/postgres.py FOLDER`) it starts a server and prints its URL: the
bench uses that to measure the store against a real server (`bench/bench_report.py --store`).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "shopper"
PASSWORD = "pg-Secret-51c2e"
_databases = itertools.count(1)


@dataclass
class Postgres:
    """A running server: where it listens and how a test reaches a database of its own."""

    port: int
    root: Path

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str = "postgres") -> str:
        """The store URL of a database: the user is named, the password never is (PGPASSWORD)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; its store URL."""
        name = f"{prefix}_{os.getpid()}_{next(_databases)}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL over the trusted socket, as the administrator."""
        done = subprocess.run(
            [_bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", USER, "-d", database,
             "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout


def _bin(name: str) -> str:
    """A server binary: Debian keeps them in /usr/lib/postgresql/VERSION/bin, off the PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise FileNotFoundError(
            "PostgreSQL is not installed, and the PostgreSQL store tests need a real server: run "
            "`make test` as root (it installs Debian's postgresql) or `apt-get install postgresql`"
        )
    return on_path


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse root; Debian's package made a `postgres` user to run them."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _owner() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    account = pwd.getpwnam("postgres")
    return account.pw_uid, account.pw_gid


@contextmanager
def running_postgres(folder: Path | None = None) -> Iterator[Postgres]:
    """A server on a free loopback port for as long as the block runs; its files removed after."""
    with tempfile.TemporaryDirectory(prefix="shopper-pg-", dir=folder) as tmp:
        root = Path(tmp)
        server = start(root)
        try:
            yield server
        finally:
            stop(server)


def start(root: Path) -> Postgres:
    """initdb a data folder under `root` and start a server on it (a few seconds)."""
    owner = _owner()
    (root / "socket").mkdir(parents=True, exist_ok=True)
    (root / "pwfile").write_text(PASSWORD + "\n")
    if owner is not None:
        for path in (root, root / "socket", root / "pwfile"):
            os.chown(path, *owner)
    # Local socket trusted (the fixture's own psql), TCP by password: what the store connects over.
    _run(
        [_bin("initdb"), "-D", str(root / "data"), "-U", USER, f"--pwfile={root / 'pwfile'}",
         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]
    )
    for attempt in range(5):
        port = free_port()
        # A test server: durability off (fsync, full pages) makes CREATE DATABASE and commits fast.
        options = (
            f"-p {port} -k {root / 'socket'} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        try:
            _run(
                [_bin("pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"), "-w", "-t", "60",
                 "-o", options, "start"]
            )
            return Postgres(port=port, root=root)
        except RuntimeError:
            if attempt == 4:  # a port taken between the probe and the start: try another
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def stop(server: Postgres) -> None:
    _run([_bin("pg_ctl"), "-D", str(server.root / "data"), "-m", "immediate", "-w", "stop"])


def _run(command: list[str]) -> None:
    done = subprocess.run(
        _as_server_user(command), capture_output=True, text=True, check=False, timeout=120, cwd="/"
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {(done.stderr or done.stdout).strip()}")


if __name__ == "__main__":
    # A server for the bench, left running: `python tests/postgres.py FOLDER`, stopped with pg_ctl.
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="shopper-pg-"))
    started = start(target)
    print(f"PGPASSWORD={PASSWORD} {started.create_database('bench')}")
    print(f"stop: runuser -u postgres -- {_bin('pg_ctl')} -D {target / 'data'} stop")
