"""Statistics read from a streaming replica, and from the primary when it is gone.

Two throw-away PostgreSQL clusters on free ports: a primary loaded with the test
database's schema and vocabularies, and a real streaming replica of it made with
`pg_basebackup -R` (the shared local cluster is too large to copy in a test).
The app runs in subprocesses with DATABASE_URL and DATABASE_REPLICA_URL set.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.routers import read_alias, replica_reads
from tests.process_helpers import last_json_line, run_python

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_without_a_replica_every_read_uses_the_primary():
    assert "replica" not in settings.DATABASES
    with replica_reads():
        assert read_alias() == "default"
    assert read_alias() == "default"


# ---------------------------------------------------------------- a real replica


def _bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    candidates = []
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(Path(found.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if all((bindir / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup")):
            return bindir
    return None


def _as_postgres() -> list[str]:
    """initdb refuses root; run the cluster tools as the postgres user then."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    def __init__(self, bindir: Path, root: Path, name: str):
        self.bindir, self.data, self.port = bindir, root / name, _free_port()
        self.log = root / f"{name}.log"

    def run(self, tool: str, *args: str, **kwargs) -> None:
        command = [*_as_postgres(), str(self.bindir / tool), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60, **kwargs)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1"
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/registry"


@pytest.fixture
def primary_and_replica(db):
    bindir = _bindir()
    if bindir is None or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("needs the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup)")
    root = Path(tempfile.mkdtemp(prefix="registry-replica-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    primary, replica = Cluster(bindir, root, "primary"), Cluster(bindir, root, "replica")
    try:
        primary.run("initdb", "-D", str(primary.data), "-U", "postgres", "-A", "trust")
        primary.start()
        # The test database, committed rows only: schema, migrations and vocabularies.
        name = connection.settings_dict["NAME"]
        host = ["-h", "127.0.0.1", "-U", "postgres"]
        subprocess.run(
            ["createdb", *host, "-p", str(primary.port), "registry"], check=True, timeout=30
        )
        dump = subprocess.run(
            ["pg_dump", *host, "-p", str(connection.settings_dict["PORT"] or 5432), name],
            check=True,
            capture_output=True,
            timeout=60,
        )
        subprocess.run(
            ["psql", *host, "-p", str(primary.port), "-q", "-v", "ON_ERROR_STOP=1", "registry"],
            input=dump.stdout,
            check=True,
            capture_output=True,
            timeout=60,
        )
        primary.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(replica.data), "-R", "-X", "stream", "-c", "fast"),
        )
        replica.start()
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


APP = """
import json, sys, time
import django
django.setup()
from django.db import connections
from django.test import Client

mode = sys.argv[1]
if mode == "seed":
    from registry.models import Role
    from registry.services.cases import case_create
    from registry.services.tokens import token_issue
    from tests.factories import InstitutionFactory, UserFactory, founding_payload
    hospital = InstitutionFactory(code="hosp-r")
    author = UserFactory(username="author", institution=hospital)
    for n in range(3):
        case_create(institution=hospital, local_id=f"r-{n}", payload=founding_payload(),
                    actor=author)
    curator = UserFactory(username="cur", role=Role.CURATOR, institution=None, is_staff=True)
    token = token_issue(user=curator, name="replica test")[1]
    deadline = time.monotonic() + 20  # until the replica has replayed the writes
    while time.monotonic() < deadline:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM registry_apitoken")
            if cursor.fetchone()[0] >= 1:
                break
        time.sleep(0.1)
    print(json.dumps({"token": token}))
else:
    seen = {"default": [], "replica": []}
    def recorder(alias):
        def record(execute, sql, params, many, context):
            seen[alias].append(sql.split()[0])
            return execute(sql, params, many, context)
        return record
    client = Client(HTTP_AUTHORIZATION="Bearer " + sys.argv[2])
    answers = {}
    with connections["default"].execute_wrapper(recorder("default")), connections[
        "replica"
    ].execute_wrapper(recorder("replica")):
        for name, url in (("stats", "/api/v1/stats/"), ("cases", "/api/v1/cases/")):
            for alias in seen:
                seen[alias].clear()
            started = time.monotonic()
            response = client.get(url)
            answers[name] = {
                "status": response.status_code,
                "body": json.loads(response.content),
                "seconds": time.monotonic() - started,
                "queries": {alias: len(sqls) for alias, sqls in seen.items()},
            }
    print(json.dumps(answers))
"""


def _app(primary, replica, *args) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": primary.url,
        "DATABASE_REPLICA_URL": replica.url,
    }
    result = run_python("-c", APP, *args, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return last_json_line(result)


def test_stats_read_from_the_replica_and_from_the_primary_once_it_is_gone(primary_and_replica):
    primary, replica = primary_and_replica
    token = _app(primary, replica, "seed")["token"]

    up = _app(primary, replica, "read", token)
    assert up["stats"]["status"] == 200
    assert up["stats"]["body"]["total"]["cases"] == 3
    assert up["stats"]["queries"]["replica"] > 0  # the counts came from the replica
    assert up["cases"]["status"] == 200
    assert up["cases"]["queries"]["replica"] == 0  # case reads stay on the primary
    assert len(up["cases"]["body"]["results"]) == 3

    replica.stop()
    down = _app(primary, replica, "read", token)
    assert down["stats"]["status"] == 200
    # The same counts; a live answer is dated by its request (generated_at, provenance).
    dated = {"generated_at", "provenance"}
    assert {k: v for k, v in down["stats"]["body"].items() if k not in dated} == {
        k: v for k, v in up["stats"]["body"].items() if k not in dated
    }
    assert down["stats"]["queries"]["replica"] == 0
    assert down["stats"]["queries"]["default"] > 0
    assert down["stats"]["seconds"] < 5
