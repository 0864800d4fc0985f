"""Helpers for API tests: a client carrying a persona's bearer token, an app without database."""

import os

from rest_framework.test import APIClient

from registry.services.tokens import token_issue
from tests.process_helpers import last_json_line, run_python


def client_for(user) -> APIClient:
    """An API client authenticated as `user` with a fresh bearer token (None: anonymous)."""
    client = APIClient()
    if user is not None:
        _, raw = token_issue(user=user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# An address where no database answers: a real outage, not a mocked one.
CLOSED_DATABASE_URL = "postgres://postgres@127.0.0.1:1/registry"


def run_without_database(script: str) -> dict:
    """Run `script` in a fresh interpreter whose database cannot be reached; its last JSON line."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": CLOSED_DATABASE_URL,
    }
    result = run_python("-c", script, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout
    return last_json_line(result)
