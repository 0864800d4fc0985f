"""Helpers for tests that run Python in a fresh interpreter (settings, outages, replicas)."""

import json
import subprocess
import sys

from django.conf import settings


def run_python(*args: str, env: dict[str, str], timeout: int = 60) -> subprocess.CompletedProcess:
    """`python *args` from the repository's folder, with exactly the environment `env`."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def last_json_line(result: subprocess.CompletedProcess):
    """What a script printed last, as JSON (earlier lines may be warnings or progress)."""
    return json.loads(result.stdout.strip().splitlines()[-1])
