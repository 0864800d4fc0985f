"""Limits that do not lock out the innocent (issue 23, point 3).

Thirty junk bearer tokens a minute from one address made every valid token from
that address get 429; behind the TLS proxy every client shares that address.
Now only failures are refused, per client identity (NUM_PROXIES says which
X-Forwarded-For entry is the client's), and a valid token always gets in. The
throttle histories survive without Redis (no cull), and the cache table exists
whatever the cache configuration was at migrate time.
"""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from registry.cache_table import cache_table_ensure
from registry.services.tokens import token_issue
from tests.process_helpers import run_python

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"
PROXY = "10.0.0.1"  # the TLS proxy every client reaches the app through


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def limit() -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["failed_token"].split("/")[0])


def behind_proxy(client_address: str | None, token: str) -> dict:
    """Request headers as the proxy forwards them (it appends the peer's address)."""
    headers = {"REMOTE_ADDR": PROXY, "HTTP_AUTHORIZATION": f"Bearer {token}"}
    if client_address:
        headers["HTTP_X_FORWARDED_FOR"] = client_address
    return headers


def spend_failures(limit: int, **headers) -> None:
    guesser = APIClient()
    for n in range(limit):
        guess = guesser.get(CASES, **{**headers, "HTTP_AUTHORIZATION": f"Bearer junk{n}"})
        assert guess.status_code == 401


@pytest.mark.parametrize("num_proxies", [0, 1])
def test_a_valid_token_is_never_refused_for_its_neighbours_failures(
    submitter_a, limit, num_proxies
):
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    with override_settings(REST_FRAMEWORK=rest):
        _, valid = token_issue(user=submitter_a, name="hospital")
        spend_failures(limit, **behind_proxy("203.0.113.7", "x"))
        junk = APIClient().get(CASES, **behind_proxy("203.0.113.7", "junk-more"))
        assert junk.status_code == 429
        assert junk.json()["code"] == "too_many_token_failures"
        assert 0 < int(junk["Retry-After"]) <= 60
        # The hospital behind the same proxy, and even at the guesser's own address.
        for address in ("198.51.100.20", "203.0.113.7", None):
            response = APIClient().get(CASES, **behind_proxy(address, valid))
            assert response.status_code == 200, (address, response.content[:200])


def test_behind_one_proxy_num_proxies_keeps_clients_apart(limit):
    rest = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    with override_settings(REST_FRAMEWORK=rest):
        spend_failures(limit, **behind_proxy("203.0.113.7", "x"))
        assert APIClient().get(CASES, **behind_proxy("203.0.113.7", "junk")).status_code == 429
        # Another client behind the same proxy still gets its honest 401.
        assert APIClient().get(CASES, **behind_proxy("198.51.100.20", "typo")).status_code == 401
        # A client cannot pick its identity: only the entry the proxy appended counts.
        spoofed = behind_proxy("198.51.100.99, 203.0.113.7", "junk")
        assert APIClient().get(CASES, **spoofed).status_code == 429


def test_without_num_proxies_the_forwarded_header_is_never_trusted(limit):
    spend_failures(limit, REMOTE_ADDR="203.0.113.7")
    moved = {"REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert APIClient().get(CASES, HTTP_AUTHORIZATION="Bearer j", **moved).status_code == 429


# ---------------------------------------------------------------- throttles without Redis


def test_the_database_cache_never_culls_live_throttle_histories(settings):
    if not settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
        pytest.skip("the database cache is the fallback when REDIS_URL is unset")
    max_entries = settings.CACHES["default"]["OPTIONS"]["MAX_ENTRIES"]
    assert max_entries >= 1_000_000
    # Well past Django's default of 300 keys, every history is still there.
    keys = {f"throttle_failed_token_198.51.{n // 256}.{n % 256}": [1.0] for n in range(1_000)}
    cache.set_many(keys, 60)
    assert len(cache.get_many(list(keys))) == 1_000


def test_the_cache_table_exists_whatever_the_cache_at_migrate_time():
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('registry_cache') IS NOT NULL")
        assert cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_migrating_with_redis_configured_still_creates_the_cache_table():
    """`migrate` in a process whose CACHES is Redis (unreachable even) makes the table."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE registry_cache")
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": database_url_of_the_test_database(),
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
        result = run_python("manage.py", "migrate", "--no-input", "-v", "0", env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('registry_cache') IS NOT NULL")
            assert cursor.fetchone()[0]
    finally:
        cache_table_ensure(using="default")


def database_url_of_the_test_database() -> str:
    database = connection.settings_dict
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
