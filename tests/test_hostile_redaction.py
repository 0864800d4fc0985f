"""Redaction reaches every copy (issue 23, point 5), played as the attack that found leftovers.

A text is planted through every route that stores or echoes it (a single POST
and a batch under Idempotency-Keys, the batch echoing the key in another
spelling inside an error item), redacted, and then searched for in every table
of the database (the cache table included), in the replayed replies, and in
what the logging configuration writes.
"""

import io
import json
import logging
import os

import pytest
from django.conf import settings
from django.core.cache import cache

from config.logging import ValueFreeFormatter
from registry.models import Case, IdempotencyRecord
from registry.services.redaction import case_redact
from tests.api_helpers import client_for
from tests.factories import founding_payload
from tests.test_redaction import tables_holding

pytestmark = pytest.mark.postgres

CASES = "/api/v1/cases/"
BATCH = "/api/v1/cases/batch/"
KEY = "kqzvw-4471"
KEY_OTHER_SPELLING = "ＫＱＺＶＷ‐4471"  # fullwidth letters and a Unicode hyphen: the same key
TEXT = "First read as a cyst by the qzxvw clinic"


@pytest.fixture(autouse=True)
def fresh_cache(db):
    cache.clear()
    yield
    cache.clear()


def payload(local_id: str, text: str = TEXT) -> dict:
    case = founding_payload(local_id=local_id)
    case["metastases"][0]["misdiagnosis_text"] = text
    return case


@pytest.fixture
def planted(db, submitter_a, curator):
    api = client_for(submitter_a)
    created = api.post(CASES, payload(KEY), format="json", HTTP_IDEMPOTENCY_KEY="single")
    assert created.status_code == 201
    batch = {"cases": [payload(KEY), payload(KEY_OTHER_SPELLING)]}
    answered = api.post(BATCH, batch, format="json", HTTP_IDEMPOTENCY_KEY="batch")
    assert answered.status_code == 200
    errors = answered.json()["results"][1]["errors"]
    assert KEY_OTHER_SPELLING in json.dumps(errors, ensure_ascii=False)  # the echo is there
    assert tables_holding(TEXT) and tables_holding(KEY)
    return api, Case.objects.get(local_id=KEY), batch


def test_no_copy_of_a_redacted_text_is_left_in_any_table(planted, curator):
    _, case, _ = planted
    case_redact(case=case, fields=["local_id", "misdiagnosis_text"], actor=curator)
    assert tables_holding(TEXT) == []
    assert tables_holding(KEY) == []
    stored = json.loads(
        f"[{','.join(IdempotencyRecord.objects.values_list('response_body', flat=True))}]"
    )
    assert KEY_OTHER_SPELLING not in json.dumps(stored, ensure_ascii=False)


def test_replays_answer_without_the_redacted_text_in_any_spelling(planted, curator):
    api, case, batch = planted
    case_redact(case=case, fields=["local_id", "misdiagnosis_text"], actor=curator)
    replay = api.post(BATCH, batch, format="json", HTTP_IDEMPOTENCY_KEY="batch")
    assert replay["Idempotent-Replayed"] == "true"
    text = replay.content.decode()
    for value in (KEY, TEXT, KEY_OTHER_SPELLING, "4471"):
        assert value not in text and value not in json.loads(json.dumps(text)), value
    assert [r["result"] for r in replay.json()["results"]] == ["unchanged", "error"]


def test_replies_of_other_institutions_are_left_as_they_were(planted, curator, submitter_b):
    other = client_for(submitter_b)
    answered = other.post(
        CASES,
        payload("unrelated-9", "Read as a lipoma"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="other",
    )
    assert answered.status_code == 201
    before = IdempotencyRecord.objects.get(key="other").response_body
    case_redact(case=planted[1], fields=["local_id", "misdiagnosis_text"], actor=curator)
    assert IdempotencyRecord.objects.get(key="other").response_body == before


def test_the_logs_carry_no_value_an_exception_quotes():
    formatter = settings.LOGGING["formatters"]["value_free"]["()"]
    assert formatter == "config.logging.ValueFreeFormatter"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ValueFreeFormatter())
    logger = logging.getLogger("test.hostile.redaction")
    logger.addHandler(handler)
    try:
        raise ValueError(f'duplicate key value: Key (local_id)=({KEY}) already exists; "{TEXT}"')
    except ValueError:
        logger.exception("database error")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "database error" in written and "ValueError" in written
    assert KEY not in written and TEXT not in written


def test_sql_is_never_logged_whatever_the_log_level():
    assert settings.LOGGING["loggers"]["django.db.backends"]["level"] == "INFO"


def test_the_access_log_records_paths_without_query_strings():
    namespace: dict = {}
    exec((settings.BASE_DIR / "gunicorn.conf.py").read_text(), namespace)
    access = namespace["access_log_format"]
    assert "%(U)s" in access
    assert "%(r)s" not in access and "%(q)s" not in access and "%(f)s" not in access


# Helper number 3's Redis database in this workspace; REDIS_TEST_URL names another.
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/3")


@pytest.fixture
def with_redis(settings):
    import redis

    server = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        server.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_TEST_URL}")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_TEST_URL,
            "KEY_PREFIX": "hostile-redaction-test",
        }
    }
    yield server
    for key in server.scan_iter("hostile-redaction-test*"):
        server.delete(key)


def test_redis_holds_nothing_of_a_planted_text(with_redis, submitter_a, curator):
    api = client_for(submitter_a)
    created = api.post(CASES, payload(KEY), format="json", HTTP_IDEMPOTENCY_KEY="redis")
    assert created.status_code == 201
    api.get(CASES, {"q": TEXT})  # a search for the text, as a client might send it
    client_for(None).get(CASES, HTTP_AUTHORIZATION=f"Bearer {KEY}")  # and as a junk token
    keys = list(with_redis.scan_iter("hostile-redaction-test*"))
    assert keys  # the throttles did write here
    case_redact(
        case=Case.objects.get(local_id=KEY), fields=["local_id", "misdiagnosis_text"], actor=curator
    )
    for key in keys:
        stored = key + b" " + (with_redis.dump(key) or b"")
        for value in (KEY, TEXT, "qzxvw"):
            assert value.encode() not in stored, (key, value)
