"""`manage.py runserver`, as `make run` starts it, holds no database connection past a request.

The development server answers each request in a thread of its own; with a
persistent connection (DATABASE_CONN_MAX_AGE) every thread's connection would
stay open after its answer, and a few dozen parallel requests would take most of
the PostgreSQL server's connections from its other clients.
"""

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.request import urlopen

import pytest
from django.conf import settings
from django.db import connection

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
PARALLEL_REQUESTS = 12


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def development_server(db):
    database = connection.settings_dict
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_CONN_MAX_AGE"},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}"
            f"@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
        ),
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urlopen(f"{url}/healthz", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_development_server_closes_each_requests_connection(development_server):
    url = f"{development_server}/readyz"
    # Backends of this worker's earlier tests (a live server's threads) may linger: the
    # server must add none of its own.
    before = _other_connections()

    def fetch(_):
        with urlopen(url, timeout=30) as response:
            return response.status

    with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
        assert set(pool.map(fetch, range(PARALLEL_REQUESTS))) == {200}
    # A closed connection's backend exits a moment after its answer was sent.
    deadline = time.monotonic() + 10
    while _other_connections() > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _other_connections() <= before
