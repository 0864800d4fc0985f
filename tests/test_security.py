"""Security hardening: deploy checks, Content-Security-Policy, login limits, audit, no leaks."""

import base64
import hashlib
import json
import os
import re
import secrets
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from registry.models import ApiToken
from registry.services.tokens import (
    LAST_USED_RESOLUTION,
    token_issue,
    token_mark_used,
    token_revoke,
)
from tests.api_helpers import client_for, run_without_database
from tests.process_helpers import run_python

# ---------------------------------------------------------------- check --deploy


def test_production_settings_pass_check_deploy_with_no_warnings():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "SECURE_HSTS_SECONDS"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="registry.example.org",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry"),
    )
    result = run_python(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # One check silenced, with its reason in the settings: axes.W006 (count failed logins
    # per address too), which behind a proxy would let one client lock every account out.
    assert "no issues (1 silenced)" in result.stdout
    assert django_settings_module_silences() == ["axes.W006"]


def django_settings_module_silences() -> list[str]:
    return list(settings.SILENCED_SYSTEM_CHECKS)


# ---------------------------------------------------------------- Content-Security-Policy

SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc=\"([^\"]+)\"")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/", "/admin/login/"])
def test_pages_get_a_policy_that_allows_exactly_what_they_load(client, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    page = response.content.decode()
    for src in SCRIPT_SRC.findall(page):
        assert src.startswith("/static/"), f"{src} is not from this origin"
        assert client.get(src).status_code == 200, src
    for script in INLINE_SCRIPT.findall(page):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]


@pytest.mark.django_db
def test_api_responses_get_a_policy_that_runs_nothing(client, analyst):
    response = client_for(analyst).get("/api/v1/stats/")
    assert response["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert client.get("/api/v1/cases/")["Content-Security-Policy"].startswith("default-src 'none'")


# ---------------------------------------------------------------- failed logins


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


# The admin's sign-in form and the analysts' one (the dashboard's) share one count per username.
LOGIN_FORMS = ["/admin/login/", "/accounts/login/"]


@pytest.mark.django_db
@pytest.mark.parametrize("form", LOGIN_FORMS)
def test_the_login_after_too_many_failures_is_refused_even_with_the_right_password(
    client, curator, fresh_cache, form
):
    limit = settings.LOGIN_FAILURE_LIMIT
    for _ in range(limit - 1):
        wrong = client.post(form, {"username": "curator", "password": "wrong"})
        assert wrong.status_code == 200  # the form again, with its error
    # The failure that reaches the limit already answers 429, like every attempt after it.
    assert client.post(form, {"username": "curator", "password": "wrong"}).status_code == 429
    for path in LOGIN_FORMS:
        refused = client.post(
            path, {"username": "curator", "password": "correct-horse-battery-staple"}
        )
        assert refused.status_code == 429
        assert refused["Content-Type"] == "application/problem+json"
        window = settings.LOGIN_FAILURE_WINDOW_SECONDS
        assert window - 5 <= int(refused["Retry-After"]) <= window  # the real time left
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
@pytest.mark.parametrize("form", LOGIN_FORMS)
def test_a_successful_login_under_the_limit_clears_the_count(client, curator, fresh_cache, form):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        client.post(form, {"username": "curator", "password": "wrong"})
    right = {"username": "curator", "password": "correct-horse-battery-staple"}
    assert client.post(form, right).status_code == 302
    client.logout()
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert client.post(form, {"username": "curator", "password": "x"}).status_code == 200


@pytest.mark.django_db
def test_failures_for_one_username_do_not_lock_out_another(client, curator, fresh_cache):
    for _ in range(settings.LOGIN_FAILURE_LIMIT + 1):
        client.post("/admin/login/", {"username": "someone-else", "password": "wrong"})
    right = {"username": "curator", "password": "correct-horse-battery-staple"}
    assert client.post("/admin/login/", right).status_code == 302


@pytest.mark.django_db
def test_spellings_the_form_signs_in_as_one_account_share_its_failure_budget(
    client, curator, fresh_cache
):
    # Each of these signs in as "curator" with the right password (the form strips and
    # NFKC-normalises), so each must spend the same budget, not get a fresh one.
    spellings = [
        " curator",
        "curator ",
        "\uff43urator",
        "\tcurator\n",
        "curator",
    ]
    for spelling in spellings[: settings.LOGIN_FAILURE_LIMIT]:
        client.post("/admin/login/", {"username": spelling, "password": "wrong"})
    for spelling in spellings:
        right = {"username": spelling, "password": "correct-horse-battery-staple"}
        assert client.post("/admin/login/", right).status_code == 429, repr(spelling)


@pytest.mark.django_db
def test_failed_logins_are_counted_in_the_database_every_worker_shares(
    client, curator, fresh_cache
):
    from axes.models import AccessAttempt

    client.post("/accounts/login/", {"username": " \uff43urator", "password": "wrong"})
    assert AccessAttempt.objects.get().username == "curator"


# ---------------------------------------------------------------- audit of tokens


@pytest.mark.django_db
def test_issuing_and_revoking_a_token_are_audited_with_the_actor(curator, submitter_a):
    token, _ = token_issue(user=submitter_a, name="EHR sync", actor=curator)
    token_revoke(token=ApiToken.objects.get(pk=token.pk), actor=curator)
    history = list(token.history.order_by("history_date"))
    assert [(row.history_type, row.history_user) for row in history] == [
        ("+", curator),
        ("~", curator),
    ]
    assert history[0].revoked_at is None and history[1].revoked_at is not None
    assert all(not hasattr(row, "last_used_at") for row in history)


@pytest.mark.django_db
def test_a_token_use_is_marked_once_per_resolution_without_a_history_row(submitter_a):
    token, _ = token_issue(user=submitter_a, name="EHR sync")
    token_mark_used(token)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        token_mark_used(token)  # within the resolution: no write
    assert len(queries) == 0
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - LAST_USED_RESOLUTION * 2)
    token.refresh_from_db()
    token_mark_used(token)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first - LAST_USED_RESOLUTION
    assert token.history.count() == 1  # issued; uses are not history


@pytest.mark.django_db
def test_an_api_request_marks_its_token_used(submitter_a):
    token, raw = token_issue(user=submitter_a, name="EHR sync")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/cases/").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


@pytest.mark.django_db
def test_token_history_never_holds_the_raw_token(curator, submitter_a):
    token, raw = token_issue(user=submitter_a, name="EHR sync", actor=curator)
    row = token.history.get()
    assert raw not in json.dumps({f.name: str(getattr(row, f.name)) for f in row._meta.fields})


# ---------------------------------------------------------------- no leaks


@pytest.mark.django_db
def test_a_database_error_is_a_generic_problem_without_sql_or_traceback(submitter_a, monkeypatch):
    def failing_case_list(**kwargs):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT secret_column FROM no_such_table_abc")

    monkeypatch.setattr("api.views.cases.case_list", failing_case_list)
    response = client_for(submitter_a).get("/api/v1/cases/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "An unexpected error occurred; it has been logged.",
        "code": "server_error",
    }


@pytest.mark.django_db
def test_an_unknown_url_is_a_problem_not_a_debug_page(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


# Runs in a fresh interpreter whose DATABASE_URL names a closed port: a real outage.
API_WITHOUT_DATABASE = """
import json, time
import django
django.setup()
from django.test import Client
started = time.monotonic()
response = Client().get("/api/v1/cases/", HTTP_AUTHORIZATION="Bearer rmr_" + "x" * 43)
print(json.dumps({
    "status": response.status_code,
    "content_type": response["Content-Type"],
    "body": json.loads(response.content),
    "seconds": time.monotonic() - started,
}))
"""


def test_an_api_request_without_a_database_is_a_503_problem_within_seconds():
    started = time.monotonic()
    answer = run_without_database(API_WITHOUT_DATABASE)
    assert answer["status"] == 503
    assert answer["content_type"] == "application/problem+json"
    assert answer["body"]["code"] == "database_unavailable"
    assert answer["seconds"] < 5
    assert time.monotonic() - started < 30


def test_the_database_connect_timeout_is_bounded():
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        assert 0 < int(options["connect_timeout"]) <= 10
