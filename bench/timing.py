"""How the benchmark times things: runs after a warm-up, one request, one SQL statement, wrk."""

import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

Result = TypeVar("Result")


def after_warm_up(runs: int, one_run: Callable[[int], Result]) -> list[Result]:
    """`one_run(run)` for runs 0 … `runs`; run 0 warms caches and workers and is dropped."""
    return [one_run(run) for run in range(runs + 1)][1:]


def timed(call: Callable[[], Result]) -> tuple[float, Result]:
    """Milliseconds `call()` took, and what it returned."""
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def timed_get(client, path: str, params: dict) -> tuple[float, dict]:
    """Milliseconds of one GET (until its whole answer is read) and its JSON; it must be 2xx."""
    milliseconds, response = timed(lambda: client.get(path, params=params))
    response.raise_for_status()
    return milliseconds, response.json()


def get_times(runs: int, client, path: str, params: dict) -> list[float]:
    """Milliseconds of the same GET, `runs` times after a warm-up."""
    return after_warm_up(runs, lambda run: timed_get(client, path, params)[0])


def timed_sql(sql: str) -> tuple[float, list[tuple]]:
    """Milliseconds of one statement in this process's connection, and its rows."""
    from django.db import connection

    with connection.cursor() as cursor:

        def execute() -> list[tuple]:
            cursor.execute(sql)
            return cursor.fetchall()

        return timed(execute)


def wrk(url: str, seconds: int, script: Path | None = None, env: dict | None = None) -> float:
    """Requests per second from wrk (2 threads, 4 connections); every answer must be 2xx."""
    command = ["wrk", "-t2", "-c4", f"-d{seconds}s"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    ).stdout
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if failed or errors:
        raise RuntimeError(f"wrk saw failures against {url}:\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
