"""The contract under attack, second pass (issue 23): exact ETags, CSRF and weak secrets.

`If-Match: "v01"` matched version 1; CSRF failures outside the API were Django's
HTML page; a blank, short or reused REGISTRY_PSEUDONYM_KEY was accepted with
DEBUG off.
"""

import os

import pytest

from tests.api_helpers import client_for
from tests.factories import founding_payload
from tests.process_helpers import run_python

PROBLEM = "application/problem+json"
CASES = "/api/v1/cases/"


# ---------------------------------------------------------------- ETags


@pytest.fixture
def stored(submitter_a):
    api = client_for(submitter_a)
    created = api.post(CASES, founding_payload(local_id="etag"), format="json")
    assert created.status_code == 201
    assert created["ETag"] == '"v1"'
    return api, created["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "if_match", ['"v01"', '"v001"', '"v+1"', '"V1"', '"v1.0"', '"v0x1"', 'W/"v1"']
)
def test_an_etag_is_compared_exactly(stored, if_match):
    api, location = stored
    response = api.patch(location, {"age_at_diagnosis": 57}, format="json", HTTP_IF_MATCH=if_match)
    assert response.status_code == 412, (if_match, response.content[:200])
    assert response["Content-Type"] == PROBLEM


@pytest.mark.django_db
def test_the_exact_etag_still_matches(stored):
    api, location = stored
    response = api.patch(location, {"age_at_diagnosis": 57}, format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 200
    assert response["ETag"] == '"v2"'


# ---------------------------------------------------------------- CSRF


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/", "/accounts/logout/"])
def test_a_csrf_failure_is_a_problem_document(client, path):
    client.handler.enforce_csrf_checks = True
    response = client.post(path, {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "csrf_failed"


@pytest.mark.django_db
def test_a_csrf_failure_of_a_signed_in_api_session_is_a_problem(client, submitter_a):
    client.force_login(submitter_a)
    client.handler.enforce_csrf_checks = True
    response = client.post(
        CASES, founding_payload(local_id="csrf"), content_type="application/json"
    )
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM


# ---------------------------------------------------------------- weak secrets


def settings_error(**env: str) -> str:
    """Load the production settings with DEBUG off; stderr ('' when they load)."""
    environment = {
        **{k: v for k, v in os.environ.items() if k not in {"DEBUG", "REGISTRY_PSEUDONYM_KEY"}},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "a-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        **env,
    }
    result = run_python("-c", "import config.settings", env=environment)
    return result.stderr if result.returncode else ""


@pytest.mark.parametrize(
    "key, reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("k", "fewer than 32"),
        ("correct-horse-battery", "fewer than 32"),
        ("a" * 64, "repeat"),
        ("ab" * 32, "repeat"),
        ("a-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz", "SECRET_KEY"),
    ],
)
def test_a_weak_pseudonym_key_stops_a_production_start(key, reason):
    error = settings_error(REGISTRY_PSEUDONYM_KEY=key)
    assert "REGISTRY_PSEUDONYM_KEY is refused" in error and reason in error, error[-500:]


def test_a_generated_pseudonym_key_is_accepted():
    import secrets

    assert settings_error(REGISTRY_PSEUDONYM_KEY=secrets.token_urlsafe(32)) == ""
    assert settings_error(REGISTRY_PSEUDONYM_KEY=secrets.token_hex(32)) == ""


def test_a_weak_pseudonym_key_is_fine_for_a_debug_run():
    assert settings_error(REGISTRY_PSEUDONYM_KEY="k", DEBUG="true") == ""


# ---------------------------------------------------------------- the schema endpoint


@pytest.fixture
def fresh_cache(db):
    from django.core.cache import cache

    cache.clear()
    yield cache
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_the_schema_is_served_from_memory(client, fresh_cache, fmt, settings):
    from api.schema_view import _rendered

    settings.SCHEMA_CACHE_SECONDS = 300  # the production default (tests render afresh)
    first = client.get("/api/schema/", {"format": fmt})
    assert first.status_code == 200
    assert _rendered[f"openapi-schema:{fmt}::"][1] == first.content
    again = client.get("/api/schema/", {"format": fmt})
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]


@pytest.mark.django_db
def test_the_schema_is_throttled_per_client(client, fresh_cache, settings):
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["schema"]
    limit = int(rate.split("/")[0])
    for _ in range(limit):
        assert client.get("/api/schema/", REMOTE_ADDR="203.0.113.9").status_code == 200
    refused = client.get("/api/schema/", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert refused["Content-Type"] == PROBLEM
    assert int(refused["Retry-After"]) > 0
    assert client.get("/api/schema/", REMOTE_ADDR="198.51.100.9").status_code == 200
