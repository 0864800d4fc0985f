"""`Idempotency-Key` on POST cases/ and cases/batch/.

Same key and same request: the stored response (status, body, ETag, Location)
and no second case. Same key, different request: 422. Still in flight: 409.
A failed request, or one whose worker died, stores nothing: the key is free at
once. Keys are per token and expire after REGISTRY_IDEMPOTENCY_TTL_HOURS, when
they are ignored and purged.
"""

import contextlib
import datetime
import io

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from registry.models import Case, IdempotencyRecord, IdempotencyState
from registry.services.idempotency import _lock_id, idempotency_purge
from registry.services.tokens import token_issue
from tests.factories import founding_payload

CASES_URL = "/api/v1/cases/"
BATCH_URL = "/api/v1/cases/batch/"
KEY = "5f0c7a2e-6d7b-4c39-9d61-1f3f5b0f7a10"


def body(local_id: str = "k-1", **changes) -> dict:
    return {**founding_payload(**changes), "local_id": local_id}


@pytest.fixture
def token_a(submitter_a):
    return token_issue(user=submitter_a, name="ehr")


@pytest.fixture
def client_a(token_a):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_a[1]}")
    return client


def post(client, data, key=KEY, url=CASES_URL):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(url, data, format="json", **headers)


def age(record: IdempotencyRecord, hours: float) -> None:
    created = timezone.now() - datetime.timedelta(hours=hours)
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=created)


# ---------------------------------------------------------------- replay


def test_the_same_key_and_body_replay_the_first_response(client_a):
    first = post(client_a, body())
    again = post(client_a, body())
    assert first.status_code == again.status_code == 201
    assert again.content == first.content  # byte for byte
    assert (again["ETag"], again["Location"]) == (first["ETag"], first["Location"])
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Case.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.state, record.status_code) == (IdempotencyState.DONE, 201)


def test_the_same_key_with_another_body_is_422(client_a):
    post(client_a, body())
    response = post(client_a, body(age_at_diagnosis=57))
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_reused"
    assert Case.objects.get().age_at_diagnosis == 56


def test_the_key_covers_the_path_too(client_a):
    post(client_a, body())
    response = post(client_a, body(), url=f"{CASES_URL}?x=1")
    assert response.status_code == 422


@contextlib.contextmanager
def key_held_elsewhere(token, key: str = KEY):
    """Another connection (another worker's request) holds the key's lock meanwhile."""
    other = psycopg.connect(**_connection_params(), autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [_lock_id(token.user, token, key)])
        yield other
    finally:
        other.close()  # as when a worker dies: the server drops its locks


def _connection_params() -> dict:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


@pytest.mark.postgres
def test_a_key_still_in_flight_is_409_with_a_one_second_retry(client_a, token_a):
    with key_held_elsewhere(token_a[0]):
        response = post(client_a, body())
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_flight"
    assert response["Retry-After"] == "1"
    assert not Case.objects.exists()
    assert post(client_a, body()).status_code == 201  # the holder is gone: free at once


@pytest.mark.postgres
def test_a_key_held_by_a_killed_worker_is_free_at_once(client_a, token_a):
    with key_held_elsewhere(token_a[0]) as worker:
        worker.close()  # killed mid-request: nothing it did was committed
        response = post(client_a, body())
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().state == IdempotencyState.DONE


def test_an_in_flight_row_left_by_an_older_version_is_purged(client_a, submitter_a, token_a):
    IdempotencyRecord.objects.create(
        user=submitter_a, token=token_a[0], key=KEY, fingerprint="0" * 64
    )
    assert post(client_a, body()).status_code == 201


def test_a_failed_request_stores_nothing_so_it_can_be_fixed_and_resent(client_a):
    invalid = body()
    invalid["metastases"][0]["site"] = "C99.9"
    assert post(client_a, invalid).status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert post(client_a, body()).status_code == 201


def test_without_a_key_nothing_is_remembered(client_a):
    assert post(client_a, body(), key=None).status_code == 201
    assert post(client_a, body(), key=None).status_code == 400  # the local_id is taken
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["", "x" * 256, "clé-1", "two words"])
def test_a_malformed_key_is_a_400(client_a, key):
    response = post(client_a, body(), key=key)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Case.objects.exists()


# ---------------------------------------------------------------- scope and expiry


def test_keys_are_scoped_per_token(client_a, submitter_a):
    post(client_a, body())
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {token_issue(user=submitter_a, name='2')[1]}")
    response = post(other, body("k-2"))
    assert response.status_code == 201
    assert Case.objects.count() == 2


def test_an_expired_key_is_ignored_and_replaced(client_a):
    post(client_a, body())
    age(IdempotencyRecord.objects.get(), hours=25)
    response = post(client_a, body("k-2"))  # a different body: fine once the key expired
    assert response.status_code == 201
    assert IdempotencyRecord.objects.count() == 1
    assert Case.objects.count() == 2


def test_the_expiry_follows_the_setting(client_a, settings):
    settings.REGISTRY_IDEMPOTENCY_TTL_HOURS = 1
    post(client_a, body())
    age(IdempotencyRecord.objects.get(), hours=0.5)
    assert post(client_a, body("k-2")).status_code == 422
    age(IdempotencyRecord.objects.get(), hours=2)
    assert post(client_a, body("k-2")).status_code == 201


def test_claiming_a_key_purges_every_expired_one(client_a):
    post(client_a, body("k-1"), key="old")
    age(IdempotencyRecord.objects.get(), hours=30)
    post(client_a, body("k-2"), key="new")
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_the_purge_command_deletes_only_expired_keys(client_a, submitter_a):
    post(client_a, body("k-1"), key="old")
    age(IdempotencyRecord.objects.get(key="old"), hours=30)
    # Made without the API's claim, which would have purged the old one already.
    IdempotencyRecord.objects.create(user=submitter_a, key="fresh", fingerprint="0" * 64)
    out = io.StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert "Purged 1 expired" in out.getvalue()
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    assert idempotency_purge() == 0


# ---------------------------------------------------------------- batches


def test_a_resent_batch_replays_its_first_results(client_a):
    batch = {"cases": [body("k-1"), body("k-2")]}
    first = post(client_a, batch, url=BATCH_URL)
    again = post(client_a, batch, url=BATCH_URL)
    assert first.json() == again.json()
    assert [r["result"] for r in again.json()["results"]] == ["created", "created"]
    assert again["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 2
