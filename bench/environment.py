"""Where the benchmark runs: the machine, one database per registry size, the server's settings.

`BENCH_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/registry_bench`)
names the server and the prefix: the registry of 10,000 cases lives in
`registry_bench_10000`. It is built once with `manage.py synth` and reused while
it holds exactly that many synthetic cases.
"""

import os
import platform
import secrets
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_bench")
WORKERS = 2  # gunicorn sync workers
SEED = 1  # the registry's cases
INGEST_SEED = 2  # cases the benchmark submits (other local_ids, same generator)
INGEST_INSTITUTION = "bench-ingest"


def say(message: str) -> None:
    """A progress line, on stderr so that the table alone goes to stdout."""
    print(message, file=sys.stderr, flush=True)


def database_url(name: str) -> str:
    return BASE_URL.rsplit("/", 1)[0] + "/" + name


def size_database(size: int) -> str:
    """The name of the database that holds the registry of `size` cases."""
    return BASE_URL.rsplit("/", 1)[1] + f"_{size}"


def machine_description() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    import psycopg

    with psycopg.connect(database_url("postgres")) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    cores = os.cpu_count()
    summary = (
        f"{cores} cores ({cpu}), {memory_kb / 1024**2:.0f} GiB RAM, "
        f"PostgreSQL {server.split()[0]}, Python {platform.python_version()}, {platform.system()}"
    )
    return {
        "cores": cores,
        "cpu": cpu,
        "memory_kb": memory_kb,
        "postgres": server,
        "summary": summary,
    }


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            say(f"bench: creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def local_redis() -> dict[str, str]:
    """REDIS_URL of the machine's Redis, if one answers: the shared cache production uses.

    Without it the throttle counters live in a database table, which a benchmark of
    the database's own work would also be measuring.
    """
    if os.environ.get("REDIS_URL"):
        return {"REDIS_URL": os.environ["REDIS_URL"]}
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return {}
    return {"REDIS_URL": "redis://127.0.0.1:6379/15"}


def server_environment(url: str) -> dict[str, str]:
    """Production settings but plain HTTP on loopback, and no throttling in the way."""
    return {
        **local_redis(),
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "REGISTRY_PSEUDONYM_KEY": os.environ.get("REGISTRY_PSEUDONYM_KEY")
        or secrets.token_urlsafe(50),
        "REGISTRY_CELL_KEY_SECRET": os.environ.get("REGISTRY_CELL_KEY_SECRET")
        or secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "API_RATE_PER_TOKEN": "100000000/minute",
        # The bench measures how long requests take, against the 5 s goal and the 10 s
        # budget; a shared machine must not turn a slow run into a crash on a 503.
        "API_REQUEST_BUDGET_MS": "600000",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def django_setup(size: int) -> None:
    """Django in this process, on the database of `size` cases, with the server's settings."""
    os.environ.update(server_environment(database_url(size_database(size))))
    # WhiteNoise notes that static files were not collected; the API needs none.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()


def ensure_size(size: int) -> dict:
    """Build the registry with `size` synthetic cases, or reuse it if it has exactly that."""
    from django.core.management import call_command

    from registry.services.synthetic import synthetic_case_count

    present = synthetic_case_count()
    if present == size:
        say(f"bench: reusing {size:,} synthetic cases")
        return {"seconds": None, "cases_per_second": None, "reused": True}
    started = time.monotonic()
    if present < size:
        call_command("synth", cases=size - present, seed=SEED, stdout=sys.stderr)
    else:
        call_command("synth", cases=size, seed=SEED, reset=True, stdout=sys.stderr)
    seconds = time.monotonic() - started
    return {"seconds": seconds, "cases_per_second": (size - present) / seconds, "reused": False}


def ingest_institution():
    """The institution whose cases the benchmark writes, and deletes after each run."""
    from registry.models import Institution

    institution, _ = Institution.objects.get_or_create(
        code=INGEST_INSTITUTION, defaults={"name": "Benchmark ingest", "country": "FR"}
    )
    return institution
