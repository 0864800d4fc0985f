"""Throw-away PostgreSQL for the load and fault tests: never the machine's own.

`make loadtest` creates a database of its own (a fresh name) on the server it is
given and drops only that one; `make faulttest` stops the database server under
load, so it starts a cluster of its own (initdb in a temporary folder, a free
port) and stops and removes only that one. Other users of the machine's
PostgreSQL notice neither.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path


def fresh_database(server_url: str, prefix: str) -> str:
    """Creates `<prefix>_<random>` on the server of `server_url`; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    server = server_url.rsplit("/", 1)[0]
    # CREATE, never DROP … IF EXISTS: a name that is taken is an error, not a loss.
    subprocess.run(
        ["psql", f"{server}/postgres", "-qc", f'CREATE DATABASE "{name}"'],
        check=True,
        capture_output=True,
    )
    return f"{server}/{name}"


def drop_database(database_url: str) -> None:
    """Drops a database this module created (the name says so)."""
    server, name = database_url.rsplit("/", 1)
    if "_" not in name or not name.rsplit("_", 1)[1].isalnum():
        raise SystemExit(f"refusing to drop {name!r}: not a database fresh_database made")
    subprocess.run(
        ["psql", f"{server}/postgres", "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
        check=True,
        capture_output=True,
    )


def _bindir() -> Path:
    candidates = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(Path(found.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise SystemExit("needs the PostgreSQL server binaries (initdb, pg_ctl)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ScratchCluster:
    """A PostgreSQL cluster of this process's own, in a temporary folder."""

    def __init__(self):
        self.bindir, self.port = _bindir(), _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="registry-scratch-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to postgres
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/registry"

    def _run(self, tool: str, *args: str) -> None:
        runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        command = [*runner, str(self.bindir / tool), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self.start()
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "registry"],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
