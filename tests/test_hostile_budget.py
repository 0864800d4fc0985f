"""A budget per request (issue 23, point 2), played as the attacks that held workers.

- A valid batch that spends its time in Python (screening text), not in SQL.
- Many statements, each under the statement timeout, adding up past the budget.
- Heavy statistics running at once: a small pool across every worker and server,
  so a hospital's read never waits behind them.
Past the budget the answer is 503 with Retry-After, and nothing is written.
"""

import json
import time

import psycopg
import pytest
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory

from api.middleware import STATISTICS_LOCK_CLASS, RequestBudgetMiddleware
from registry.models import Case, IdempotencyRecord
from tests.api_helpers import client_for
from tests.factories import founding_payload

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
BATCH = "/api/v1/cases/batch/"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def assert_over_budget(response) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    assert json.loads(response.content)["code"] == "request_budget_exceeded"
    assert int(response["Retry-After"]) > 0


def test_a_batch_past_its_budget_in_python_is_503_with_nothing_written(submitter_a, settings):
    settings.API_REQUEST_BUDGET_MS = 150
    batch = {"cases": [founding_payload(local_id=f"slow-{n}") for n in range(1000)]}
    response = client_for(submitter_a).post(
        BATCH, batch, format="json", HTTP_IDEMPOTENCY_KEY="budget-1"
    )
    assert_over_budget(response)
    assert not Case.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_the_same_batch_within_the_budget_is_written(submitter_a, settings):
    settings.API_REQUEST_BUDGET_MS = 60_000
    batch = {"cases": [founding_payload(local_id=f"ok-{n}") for n in range(20)]}
    response = client_for(submitter_a).post(BATCH, batch, format="json")
    assert response.status_code == 200, response.content[:300]
    assert Case.objects.count() == 20


def run_statements(seconds: list[float]):
    """A request whose work is these pg_sleep statements (then an insert), via the middleware."""

    def view(request):
        with connection.cursor() as cursor:
            for duration in seconds:
                cursor.execute("SELECT pg_sleep(%s)", [duration])
            cursor.execute("CREATE TEMPORARY TABLE budget_probe (x int)")
        return HttpResponse("done")

    request = RequestFactory().post("/api/v1/cases/", data=b"{}", content_type="application/json")
    return RequestBudgetMiddleware(view)(request)


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"pg_temp.{name}"])
        return cursor.fetchone()[0]


def test_the_budget_covers_all_statements_not_one(settings):
    # Each statement is far under the statement timeout; together they are over the budget.
    settings.API_STATEMENT_TIMEOUT_MS = 5_000
    settings.API_REQUEST_BUDGET_MS = 400
    assert_over_budget(run_statements([0.15] * 6))
    assert not table_exists("budget_probe")  # the write after them never happened


def test_a_statement_is_cut_at_what_is_left_of_the_budget(settings):
    settings.API_STATEMENT_TIMEOUT_MS = 5_000
    settings.API_REQUEST_BUDGET_MS = 300
    assert_over_budget(run_statements([0.1, 3.0]))  # the second is cancelled, not waited for
    assert not table_exists("budget_probe")
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"  # reset for whatever runs next in the process


def test_work_within_the_budget_is_kept(settings):
    settings.API_REQUEST_BUDGET_MS = 5_000
    assert run_statements([0.01, 0.01]).status_code == 200
    assert table_exists("budget_probe")


# ---------------------------------------------------------------- statistics pool


@pytest.fixture
def all_slots_held(settings):
    """Another server's statistics requests hold every slot (a real second connection)."""
    database = connection.settings_dict
    other = psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        dbname=database["NAME"],
        autocommit=True,
    )
    for slot in range(settings.API_STATISTICS_CONCURRENCY):
        other.execute("SELECT pg_advisory_lock(%s, %s)", [STATISTICS_LOCK_CLASS, slot])
    yield
    other.close()


@pytest.mark.parametrize("path", ["/api/v1/stats/", "/api/v1/stats/survival/?group=site_group"])
def test_statistics_beyond_the_pool_wait_for_a_slot_then_are_503(
    analyst, all_slots_held, path, settings
):
    settings.API_STATISTICS_WAIT_MS = 200
    started = time.monotonic()
    response = client_for(analyst).get(path)
    assert time.monotonic() - started >= 0.2  # it waited for a slot before refusing
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == "statistics_busy"
    assert int(response["Retry-After"]) > 0


def test_hospitals_are_served_while_the_statistics_pool_is_full(submitter_a, all_slots_held):
    api = client_for(submitter_a)
    assert api.get("/api/v1/cases/").status_code == 200
    created = api.post("/api/v1/cases/", founding_payload(local_id="pool"), format="json")
    assert created.status_code == 201


def test_a_free_slot_serves_statistics(analyst, settings):
    settings.API_STATISTICS_CONCURRENCY = 1
    assert client_for(analyst).get("/api/v1/stats/").status_code == 200
    # The slot went with the request's transaction: the next one gets it again.
    assert client_for(analyst).get("/api/v1/stats/").status_code == 200
