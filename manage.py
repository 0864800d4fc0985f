#!/usr/bin/env python
"""Django's command-line utility for the registry.

For a local checkout, `make run` writes `.env.local` (DEBUG=true and the
DATABASE_URL it used), which this file reads before the settings, so a command
copied from the README works in a second terminal. Variables already in the
environment win; the settings themselves and gunicorn never read it.
REGISTRY_LOCAL_ENV=off skips it: the test suite sets that (tests/conftest.py),
so what `make run` left behind never reaches a command a test runs.
A misconfiguration stops with one line that says what to set, not a traceback.
"""

import os
import sys
from pathlib import Path

LOCAL_ENV_FILE = Path(__file__).resolve().parent / ".env.local"


def read_local_env(path: Path = LOCAL_ENV_FILE) -> None:
    """KEY=VALUE lines into os.environ, never overriding what is already set."""
    if os.environ.get("REGISTRY_LOCAL_ENV", "").lower() == "off" or not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        os.environ.setdefault(name.strip(), value.strip())


def main() -> None:
    read_local_env()
    if sys.argv[1:2] == ["runserver"]:
        # The development server serves each request in a thread of its own, and a
        # persistent connection outlives its thread by DATABASE_CONN_MAX_AGE: a few
        # dozen parallel requests would hold most of PostgreSQL's connections for a
        # minute. Here each request closes its connection (an explicit value wins).
        os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings: their errors are the operator's
    except ImproperlyConfigured as problem:
        sys.exit(f"error: {problem}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
