"""Never a 500, never a stuck worker, no way around a limit: played as an attacker would.

One section per promise of docs/limits-and-errors.md: one guarded body path
whatever the Content-Type and charset; hand-made paging; the work budget and
the statement timeout; limits that hold (failed logins, failed bearer tokens,
shared counters); Idempotency-Key after failures; roles at the door and in the
user admin; the contract (read-only fields, If-Match, caching headers, long
URLs, dumpdata).
"""

import base64
import io
import json
import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from registry.models import Case, IdempotencyRecord
from registry.models.case import MAX_METASTASES_PER_CASE, MAX_TREATMENTS_PER_CASE
from registry.services.batch import MAX_BATCH_ROWS
from registry.services.cases import case_create
from tests.api_helpers import client_for
from tests.factories import UserFactory, founding_payload
from tests.process_helpers import run_python

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
CASES = "/api/v1/cases/"
BATCH = "/api/v1/cases/batch/"
FHIR = "/api/v1/fhir/Bundle"

# Content types DRF's JSON parser accepts (wildcards match both ways), and charsets.
JSON_TYPES = [
    "application/json",
    "*/*",
    "application/*",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json; charset=UTF-32",
    "*/*; charset=utf-16-le",
]


def encoding_of(content_type: str) -> str:
    return content_type.split("charset=")[1] if "charset=" in content_type else "utf-8"


@pytest.fixture
def api(submitter_a):
    return client_for(submitter_a)


@pytest.fixture
def curator_api(curator):
    return client_for(curator)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def send(api, path, text: str, content_type: str, method="POST", **headers):
    body = text.encode(encoding_of(content_type))
    return api.generic(method, path, body, content_type=content_type, **headers)


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM, response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    return body


# ---------------------------------------------------------------- one guarded body path


@pytest.mark.parametrize("content_type", JSON_TYPES)
def test_a_valid_case_is_read_the_same_whatever_the_declared_type_and_charset(api, content_type):
    text = json.dumps(founding_payload(local_id="ct-" + str(JSON_TYPES.index(content_type))))
    assert send(api, CASES, text, content_type).status_code == 201


@pytest.mark.parametrize("content_type", JSON_TYPES)
@pytest.mark.parametrize("path", [CASES, BATCH, FHIR, CASES + "by-local-id/deep/"])
def test_deep_nesting_is_a_400_whatever_the_declared_type(api, content_type, path):
    method = "PUT" if "by-local-id" in path else "POST"
    for text in ("[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000, "[" * 5000):
        response = send(api, path, text, content_type, method=method)
        assert response.status_code == 400, (path, content_type, response.content[:200])
        assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize("content_type", JSON_TYPES)
@pytest.mark.parametrize("where", ["unknown field", "local_id", "batch local_id", "text"])
def test_a_lone_surrogate_is_a_400_whatever_the_declared_type(api, content_type, where):
    payload = founding_payload(local_id="sur")
    path = CASES
    if where == "unknown field":
        payload["x\ud800"] = 1
    elif where == "local_id":
        payload["local_id"] = "a\udc00"
    elif where == "text":
        payload["metastases"][0]["misdiagnosis_text"] = "a\ud83d"
    else:
        path, payload = BATCH, {"cases": [{**payload, "local_id": "b\ud800"}]}
    text = json.dumps(payload)  # ASCII, with the surrogate as a \u escape
    response = send(api, path, text, content_type, HTTP_IDEMPOTENCY_KEY="sur-1")
    assert_problem(response, 400)
    assert not IdempotencyRecord.objects.exists()


def test_a_body_not_in_its_declared_charset_is_a_400(api):
    response = api.generic(
        "POST", CASES, b"\x00\xd8{}", content_type="application/json; charset=utf-16-le"
    )
    assert_problem(response, 400)


def test_an_unknown_charset_is_a_415_not_a_guess(api):
    # Django drops a charset it has no codec for; reading the body as UTF-8 would be a guess.
    unknown = "application/json; charset=x-klingon"
    payload = json.dumps(founding_payload(local_id="klingon")).encode()
    refused = api.generic("POST", CASES, payload, content_type=unknown)
    assert assert_problem(refused, 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(api, constant):
    assert_problem(send(api, CASES, f'{{"er_percent": {constant}}}', "*/*"), 400)


# ---------------------------------------------------------------- hand-made paging


def cursor_of(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of("p=1.5"),
        cursor_of("p=nan"),
        cursor_of("p=1' OR 1=1--"),
        cursor_of("p=-1"),
        cursor_of("p=99999999999999999999"),
        cursor_of("o=-1&p=3"),
        cursor_of("r=x"),
        "!!!not-base64",
        "cD0x\u00e9",
        base64.b64encode(b"\xff\xfe\x00").decode(),
    ],
)
def test_a_hand_made_cursor_is_a_400_naming_it(api, cursor):
    body = assert_problem(api.get(CASES, {"cursor": cursor}), 400)
    assert body["errors"][0]["field"] == "cursor"


def test_a_cursor_the_server_made_still_works(api, hospital_a, submitter_a):
    for number in range(3):
        payload = founding_payload()
        case_create(institution=hospital_a, local_id=f"c{number}", payload=payload, actor=None)
    first = api.get(CASES, {"page_size": 2}).json()
    assert len(api.get(first["next"]).json()["results"]) == 1


@pytest.mark.parametrize("value", ["abc", "0", "-1", "501", "1.5", " 2", "", "2e1"])
def test_page_size_is_strict(api, value):
    body = assert_problem(api.get(CASES, {"page_size": value}), 400)
    assert body["errors"][0]["field"] == "page_size"


@pytest.mark.parametrize(
    "params",
    [{"offset": "-5"}, {"offset": "x"}, {"limit": "0"}, {"limit": "abc"}, {"limit": "1001"}],
)
def test_vocabulary_paging_is_strict(api, params):
    response = api.get("/api/v1/vocabularies/topography/", params)
    body = assert_problem(response, 400)
    assert body["errors"][0]["field"] == next(iter(params))


@pytest.mark.parametrize(
    "params",
    [{"period": "50%"}, {"period": "%s"}, {"site": "%(value)s"}, {"sex": "100%"}, {"q": "%d%%"}],
)
def test_a_percent_sign_in_a_filter_value_is_a_value_not_a_format(curator_api, params):
    response = curator_api.get(CASES, params)
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert [error["field"] for error in response.json()["errors"]] == list(params)


@pytest.mark.parametrize("param", ["sex", "status", "source"])
@pytest.mark.parametrize("value", ["female,", ",female", "female,,male", "Female", "x"])
def test_choice_filters_accept_exactly_their_schema_values(curator_api, param, value):
    if param != "sex":
        value = value.replace("female", "verified" if param == "status" else "hospital")
        value = value.replace("male", "submitted" if param == "status" else "literature")
    assert_problem(curator_api.get(CASES, {param: value}), 400)


# ---------------------------------------------------------------- work budget


def case_with(local_id: str, metastases: int, treatments: int) -> dict:
    payload = founding_payload(local_id=local_id)
    payload["metastases"] = [dict(payload["metastases"][0]) for _ in range(metastases)]
    treatment = {"modality": "surgery", "target": "metastasis", "metastasis": 0}
    payload["treatments"] = [dict(treatment) for _ in range(treatments)]
    return payload


def test_a_case_holds_at_most_the_metastases_and_treatments_of_the_budget(api):
    over = case_with("big", MAX_METASTASES_PER_CASE + 1, MAX_TREATMENTS_PER_CASE + 1)
    body = assert_problem(api.post(CASES, over, format="json"), 400)
    assert {"metastases", "treatments"} <= {error["field"] for error in body["errors"]}


def test_the_caps_hold_in_the_domain_for_every_way_in(hospital_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        case_create(
            institution=hospital_a,
            local_id="domain",
            payload=case_with("domain", MAX_METASTASES_PER_CASE + 1, 0),
            actor=None,
        )
    assert "metastases" in refused.value.message_dict


def test_a_batch_over_the_row_budget_is_a_413_before_any_case_is_read(api):
    per_case = MAX_METASTASES_PER_CASE + MAX_TREATMENTS_PER_CASE
    count = MAX_BATCH_ROWS // per_case + 1
    cases = [
        case_with(f"r{n}", MAX_METASTASES_PER_CASE, MAX_TREATMENTS_PER_CASE) for n in range(count)
    ]
    body = assert_problem(api.post(BATCH, {"cases": cases}, format="json"), 413)
    assert body["code"] == "batch_too_large"
    assert not Case.objects.exists()


@pytest.mark.postgres
def test_a_statement_over_the_timeout_is_a_503_and_frees_the_idempotency_key(api, settings):
    import psycopg

    from tests.test_idempotency import _connection_params

    cases = [case_with(f"t{n}", 2, 2) for n in range(20)]
    settings.API_STATEMENT_TIMEOUT_MS = 300
    # Another session holds the cases table, so the batch's read of it waits past the timeout.
    with psycopg.connect(**_connection_params(), autocommit=True) as other:
        other.execute("SET lock_timeout = '5s'")
        other.execute("BEGIN")
        other.execute("LOCK TABLE registry_case IN ACCESS EXCLUSIVE MODE")
        slow = api.post(BATCH, {"cases": cases}, format="json", HTTP_IDEMPOTENCY_KEY="slow-1")
        other.execute("ROLLBACK")
    body = assert_problem(slow, 503)
    assert body["code"] == "statement_timeout"
    assert not Case.objects.exists() and not IdempotencyRecord.objects.exists()
    again = api.post(BATCH, {"cases": cases}, format="json", HTTP_IDEMPOTENCY_KEY="slow-1")
    assert again.status_code == 200  # the same key, at once
    assert again.json()["summary"]["created"] == 20


@pytest.mark.postgres
def test_the_timeout_is_reset_after_each_api_request(api):
    api.get(CASES)
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


# ---------------------------------------------------------------- limits that hold


def test_failed_bearer_tokens_are_throttled_per_client_address(submitter_a, settings):
    from rest_framework.test import APIClient

    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["failed_token"].split("/")[0])
    guesser = APIClient(REMOTE_ADDR="203.0.113.7")
    for n in range(limit):
        # A new X-Forwarded-For each time buys nothing: NUM_PROXIES is 0.
        guess = guesser.get(
            CASES, HTTP_AUTHORIZATION=f"Bearer rmr_guess{n}", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        )
        assert guess.status_code == 401
    refused = guesser.get(CASES, HTTP_AUTHORIZATION="Bearer rmr_guess-more")
    assert_problem(refused, 429)
    assert 0 < int(refused["Retry-After"]) <= 60
    valid = client_for(submitter_a)
    assert valid.get(CASES, REMOTE_ADDR="198.51.100.1").status_code == 200  # another client


def test_every_counter_lives_in_a_cache_all_workers_share(settings):
    # The test settings count in memory (config/settings_test.py); production's choice here.
    import config.settings as production

    settings.CACHES = production.CACHES
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend in (
        "django.core.cache.backends.db.DatabaseCache",
        "django.core.cache.backends.redis.RedisCache",
    )
    cache.set("shared-probe", 41)
    if backend.endswith("DatabaseCache"):
        # Another process reads the same row: it is in the registry's database.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM registry_cache WHERE cache_key LIKE %s", ["%shared-probe"]
            )
            assert cursor.fetchone()[0] == 1


def settings_in_subprocess(expression: str, **env: str) -> str:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        **env,
    }
    result = run_python("-c", f"import config.settings as s; print({expression})", env=environment)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_redis_url_configures_the_shared_cache():
    expression = "s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION']"
    with_redis = settings_in_subprocess(expression, REDIS_URL="redis://127.0.0.1:6379/3")
    assert with_redis == "django.core.cache.backends.redis.RedisCache redis://127.0.0.1:6379/3"
    without = settings_in_subprocess(expression, REDIS_URL="")
    assert without == "django.core.cache.backends.db.DatabaseCache registry_cache"


# ---------------------------------------------------------------- roles


def test_a_deactivated_institutions_token_stops_at_the_door(api, hospital_a):
    hospital_a.is_active = False
    hospital_a.save()
    for response in (
        api.get(CASES),
        api.post(CASES, founding_payload(local_id="x"), format="json"),
    ):
        assert_problem(response, 401)
    assert not Case.objects.exists()


def test_a_deactivated_institutions_signed_in_user_is_refused(client, submitter_a, hospital_a):
    hospital_a.is_active = False
    hospital_a.save()
    client.force_login(submitter_a)
    assert_problem(client.get(CASES, HTTP_ACCEPT="application/json"), 403)


def test_a_staff_curator_cannot_make_itself_superuser(curator_in_admin, curator):
    page = curator_in_admin.get(reverse("admin:registry_user_change", args=[curator.pk]))
    assert "is_superuser" not in page.context["adminform"].form.fields
    assert "user_permissions" not in page.context["adminform"].form.fields
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(username="curator", role="curator", is_staff="on", is_active="on")
    data.update(is_superuser="on", last_login_0="", last_login_1="")
    data.update({"date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    curator_in_admin.post(reverse("admin:registry_user_change", args=[curator.pk]), data)
    curator.refresh_from_db()
    assert not curator.is_superuser


def test_a_staff_curator_cannot_set_another_accounts_password(
    curator_in_admin, curator, submitter_a
):
    other = reverse("admin:auth_user_password_change", args=[submitter_a.pk])
    response = curator_in_admin.post(
        other, {"password1": "Another-horse-9", "password2": "Another-horse-9"}
    )
    assert response.status_code == 403
    submitter_a.refresh_from_db()
    assert not submitter_a.check_password("Another-horse-9")
    own = reverse("admin:auth_user_password_change", args=[curator.pk])
    assert curator_in_admin.get(own).status_code == 200


def test_a_staff_curator_cannot_edit_a_superuser(curator_in_admin):
    root = UserFactory(username="root", is_superuser=True, is_staff=True, role="curator")
    response = curator_in_admin.get(reverse("admin:registry_user_change", args=[root.pk]))
    assert "Save" not in response.content.decode()  # the view-only page, if any
    posted = curator_in_admin.post(
        reverse("admin:registry_user_change", args=[root.pk]), {"username": "renamed"}
    )
    assert posted.status_code == 403
    root.refresh_from_db()
    assert root.username == "root"


def test_a_superuser_still_manages_everything(client, curator, submitter_a):
    root = UserFactory(username="root", is_superuser=True, is_staff=True, role="curator")
    client.force_login(root)
    page = client.get(reverse("admin:registry_user_change", args=[curator.pk]))
    assert "is_superuser" in page.context["adminform"].form.fields
    other = reverse("admin:auth_user_password_change", args=[submitter_a.pk])
    assert client.get(other).status_code == 200


# ---------------------------------------------------------------- contract


@pytest.mark.parametrize(
    "field, value",
    [
        ("status", "verified"),
        ("version", 99),
        ("uuid", "00000000-0000-0000-0000-000000000000"),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("updated_at", "2020-01-01T00:00:00Z"),
        ("rejection_reason", "none"),
        ("primary_site_title", "Breast"),
    ],
)
def test_read_only_fields_in_a_write_body_are_refused_with_their_path(api, field, value):
    payload = {**founding_payload(local_id="ro"), field: value}
    body = assert_problem(api.post(CASES, payload, format="json"), 400)
    assert [(e["field"], e["message"]) for e in body["errors"]] == [(field, "Read-only field.")]


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("local_id", 0, "a string"),
        ("age_at_diagnosis", "56", "an integer"),
        ("age_at_diagnosis", True, "an integer"),
        ("her2_ihc", 0, "a string"),
        ("sex", ["female"], "a string"),
    ],
)
def test_json_values_of_the_wrong_type_are_refused_not_coerced(api, field, value, expected):
    payload = {**founding_payload(local_id="typed"), field: value}
    body = assert_problem(api.post(CASES, payload, format="json"), 400)
    assert [e["field"] for e in body["errors"]] == [field]
    assert expected in body["errors"][0]["message"]


def test_read_only_fields_of_a_metastasis_are_refused_with_their_path(api):
    payload = founding_payload(local_id="ro-m")
    payload["metastases"][0]["site_title"] = "Scalp"
    body = assert_problem(api.post(CASES, payload, format="json"), 400)
    assert [e["field"] for e in body["errors"]] == ["metastases[0].site_title"]


@pytest.fixture
def stored(api):
    created = api.post(CASES, founding_payload(local_id="etag"), format="json")
    assert created.status_code == 201
    return created


@pytest.mark.parametrize(
    "if_match, status",
    [('"v1"', 200), ("*", 200), ('"v9", "v1"', 200), ('"v9"', 412), ('W/"v1"', 412), ('"x"', 412)],
)
def test_if_match_follows_rfc_9110(api, stored, if_match, status):
    response = api.patch(
        stored["Location"], {"age_at_diagnosis": 57}, format="json", HTTP_IF_MATCH=if_match
    )
    assert response.status_code == status, response.content[:200]


def test_if_match_star_on_a_case_that_does_not_exist_is_412(api):
    response = api.put(
        CASES + "by-local-id/new-one/", founding_payload(), format="json", HTTP_IF_MATCH="*"
    )
    assert_problem(response, 412)
    assert not Case.objects.exists()


def test_a_delete_with_a_stale_if_match_is_412(curator_api, stored):
    response = curator_api.delete(stored["Location"], HTTP_IF_MATCH='"v0"')
    assert_problem(response, 412)
    assert curator_api.delete(stored["Location"], HTTP_IF_MATCH='"v1"').status_code == 204


def test_patient_level_answers_are_never_stored_and_vary_by_credentials(api, stored):
    for response in (stored, api.get(stored["Location"]), api.get(CASES), api.get(CASES + "x/")):
        assert "no-store" in response["Cache-Control"]
        vary = {v.strip() for v in response["Vary"].split(",")}
        assert {"Accept", "Authorization"} <= vary


def test_role_dependent_aggregates_vary_by_credentials(analyst):
    response = client_for(analyst).get("/api/v1/vocabularies/topography/")
    assert {"Accept", "Authorization"} <= {v.strip() for v in response["Vary"].split(",")}


def test_an_over_long_url_is_a_414_problem(api):
    response = api.get(CASES, {"q": "x" * settings.MAX_URL_LENGTH})
    assert_problem(response, 414)


def test_every_filter_at_its_longest_still_fits_the_url_cap(curator_api):
    from api.filters import CaseFilterParams

    params = {}
    for name, field in CaseFilterParams().fields.items():
        params[name] = "C" * (getattr(field, "max_length", None) or 4)
    length = len("&".join(f"{k}={v}" for k, v in params.items())) + len(CASES) + 200
    assert length <= settings.MAX_URL_LENGTH


def test_gunicorn_lets_through_every_url_django_answers():
    namespace: dict = {}
    exec((settings.BASE_DIR / "gunicorn.conf.py").read_text(), namespace)
    # Request line: method, space, URL, space, HTTP/1.1.
    assert namespace["limit_request_line"] >= settings.MAX_URL_LENGTH + len("DELETE  HTTP/1.1")


@pytest.mark.postgres
def test_dumpdata_registry_works_on_postgresql(api, stored):
    out = io.StringIO()
    call_command("dumpdata", "registry", stdout=out)
    models = {row["model"] for row in json.loads(out.getvalue())}
    assert "registry.case" in models and "registry.countedmetastasis" not in models


def test_dumpdata_registry_works_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    script = (
        "import django, io; django.setup(); from django.core.management import call_command; "
        "call_command('migrate', verbosity=0); out = io.StringIO(); "
        "call_command('dumpdata', 'registry', stdout=out); print(len(out.getvalue()))"
    )
    result = run_python("-c", script, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
