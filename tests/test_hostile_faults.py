"""Honest readiness (issue 23, point 4): the faults that were 500s while /readyz said 200.

Redis unreachable, and the database read-only (a failover to a standby). Both
are real here: a Redis URL on a closed port, and PostgreSQL's own read-only
transaction mode (what a hot standby or default_transaction_read_only gives).
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from registry.models import Case
from tests.api_helpers import client_for
from tests.factories import founding_payload

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
CASES = "/api/v1/cases/"
CLOSED_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def assert_unavailable(response, code: str) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code
    assert int(response["Retry-After"]) > 0


def test_readyz_is_ready_with_a_writable_database_and_a_cache(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "cache": "ok"}


# ---------------------------------------------------------------- Redis down


def test_readyz_fails_when_the_required_cache_is_down(client):
    with override_settings(CACHES=CLOSED_REDIS):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "cache_unavailable"


@pytest.mark.parametrize("method", ["get", "post"])
def test_requests_are_503_problems_when_the_cache_is_down(submitter_a, method):
    api = client_for(submitter_a)
    with override_settings(CACHES=CLOSED_REDIS):
        if method == "get":
            response = api.get(CASES)
        else:
            response = api.post(CASES, founding_payload(local_id="no-redis"), format="json")
    assert_unavailable(response, "cache_unavailable")
    assert not Case.objects.exists()


def test_a_failed_token_is_a_503_not_a_500_when_the_cache_is_down(client):
    with override_settings(CACHES=CLOSED_REDIS):
        response = client.get(CASES, HTTP_AUTHORIZATION="Bearer junk")
    assert_unavailable(response, "cache_unavailable")


# ---------------------------------------------------------------- database read-only


@pytest.fixture
def read_only_database():
    """The rest of the test's transaction accepts no writes, as on a standby."""
    with connection.cursor() as cursor:
        # In a savepoint, so that rolling back to it makes the test's transaction writable again.
        cursor.execute("SAVEPOINT read_only_database")
        cursor.execute("SET TRANSACTION READ ONLY")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ROLLBACK TO SAVEPOINT read_only_database")


@pytest.fixture
def api(submitter_a):
    return client_for(submitter_a)


def test_readyz_fails_when_the_database_is_read_only(client, read_only_database):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "database_read_only"


def test_writes_are_503_problems_when_the_database_is_read_only(api, read_only_database):
    response = api.post(CASES, founding_payload(local_id="standby"), format="json")
    assert_unavailable(response, "database_read_only")
    assert not Case.objects.exists()


def test_a_batch_is_a_503_problem_when_the_database_is_read_only(api, read_only_database):
    batch = {"cases": [founding_payload(local_id="standby-1")]}
    response = api.post("/api/v1/cases/batch/", batch, format="json")
    assert_unavailable(response, "database_read_only")


def test_reads_are_still_served_when_the_database_is_read_only(api, read_only_database):
    assert api.get(CASES).status_code == 200


def test_the_admin_is_a_503_problem_when_the_database_is_read_only(client, curator, request):
    client.force_login(curator)
    client.raise_request_exception = False  # answered as gunicorn's clients see it
    request.getfixturevalue("read_only_database")
    response = client.post(
        "/admin/registry/institution/add/", {"code": "hosp-x", "name": "X", "country": "FR"}
    )
    assert_unavailable(response, "database_read_only")
