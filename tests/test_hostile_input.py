"""Hostile and odd input: each is answered with a problem document, never a 500.

Strings that look like SQL or script are data: stored inert and returned byte for
byte. Text PostgreSQL cannot hold (NUL, unpaired surrogates) is refused with 400.
"""

import json

import pytest

from tests.api_helpers import client_for
from tests.factories import founding_payload

PROBLEM = "application/problem+json"
CASES = "/api/v1/cases/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(submitter_a):
    return client_for(submitter_a)


def post_raw(api, body, content_type="application/json", **headers):
    return api.generic("POST", CASES, body, content_type=content_type, **headers)


def case_with_text(local_id: str, text: str) -> dict:
    payload = founding_payload(local_id=local_id)
    payload["metastases"][0]["misdiagnosis_text"] = text
    return payload


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert "Traceback" not in response.content.decode()
    return body


# ---------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    "body", [b"{bad", b"", b"null", b"[]", b'"a string"', b"\xff\xfe", b'{"local_id": 1e999999}']
)
def test_malformed_or_wrong_shaped_json_is_a_400_problem(api, body):
    assert_problem(post_raw(api, body), 400)


def test_a_body_above_max_request_bytes_is_a_413_problem(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = assert_problem(post_raw(api, json.dumps(founding_payload(local_id="big"))), 413)
    assert body["code"] == "too_large"


def test_a_batch_body_above_max_request_bytes_is_a_413_problem(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    cases = [founding_payload(local_id=f"b{i}") for i in range(5)]
    response = api.generic(
        "POST", CASES + "batch/", json.dumps({"cases": cases}), content_type="application/json"
    )
    assert_problem(response, 413)


def test_djangos_own_request_data_too_big_is_a_413_problem(api, settings):
    # Form bodies are read by Django itself (request.body), which raises RequestDataTooBig.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api.generic(
        "POST", CASES, "a=" + "x" * 500, content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 413)


@pytest.mark.parametrize("depth", [65, 10_000])
def test_deeply_nested_json_is_a_400_problem(api, depth):
    for body in (
        b"[" * depth + b"]" * depth,
        b'{"a":' * depth + b"1" + b"}" * depth,
        b"[" * depth,  # never closed
        b"[" * depth + b"}" * depth,  # closed wrongly
    ):
        assert assert_problem(post_raw(api, body), 400)["code"] == "too_deep"


def test_nesting_inside_strings_does_not_count(api):
    payload = case_with_text("brackets", "[" * 90 + "{" * 90)
    response = post_raw(api, json.dumps(payload))
    assert response.status_code == 201, response.content[:300]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x", "x/y"]
)
def test_a_wrong_content_type_is_a_415_problem(api, content_type):
    body = json.dumps(founding_payload(local_id="ct"))
    assert_problem(post_raw(api, body, content_type=content_type), 415)


def test_unknown_fields_are_a_400_problem_naming_them(api):
    payload = {**founding_payload(local_id="unknown"), "is_curator": True}
    body = assert_problem(post_raw(api, json.dumps(payload)), 400)
    assert [error["field"] for error in body["errors"]] == ["is_curator"]


# ---------------------------------------------------------------- inert strings

INERT = [
    "'; DROP TABLE registry_case; --",
    "1' OR '1'='1",
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}} ${7*7} %s %(x)s",
    "\\x00 \\u0000 literal backslashes",
]


@pytest.mark.parametrize("text", INERT)
def test_sql_and_script_looking_text_is_stored_inert_and_returned_byte_identical(api, text):
    local_id = "inj-" + str(INERT.index(text))
    created = post_raw(api, json.dumps(case_with_text(local_id, text)))
    assert created.status_code == 201, created.content[:300]
    read = api.get(created["Location"])
    assert read.json()["metastases"][0]["misdiagnosis_text"] == text
    assert created["Content-Type"] == "application/json"


@pytest.mark.parametrize("local_id", ["x'--", "a<b>", "a;b", "%27", "1 OR 1=1"])
def test_odd_local_ids_round_trip_through_by_local_id(api, local_id):
    from urllib.parse import quote

    url = f"{CASES}by-local-id/{quote(local_id, safe='')}/"
    written = api.put(url, founding_payload(), format="json")
    assert written.status_code == 201, written.content[:300]
    assert api.get(url).json()["local_id"] == local_id


# ---------------------------------------------------------------- Unicode edge cases


@pytest.mark.parametrize(
    "text",
    [
        "\u202eRTL override\u202c and \u200fmark",
        "emoji 🧠🫁 and ZWJ 👩‍⚕️",
        "combining e\u0301 and Hangul \u1100\u1161",
        "🧠" * 200,  # the longest text allowed, in 4-byte characters
    ],
    ids=["rtl", "emoji", "combining", "longest"],
)
def test_unicode_text_round_trips(api, text):
    payload = case_with_text("uni-" + str(len(text)), text)
    created = post_raw(api, json.dumps(payload, ensure_ascii=False).encode())
    assert created.status_code == 201, created.content[:300]
    assert api.get(created["Location"]).json()["metastases"][0]["misdiagnosis_text"] == text


@pytest.mark.parametrize("where", ["local_id", "text", "key"])
@pytest.mark.parametrize("bad", ["\u0000", "\ud800", "\udc00", "a\ud83dz"])
@pytest.mark.parametrize("idempotency_key", [None, "hostile-1"])
def test_nul_and_lone_surrogates_are_a_400_problem(api, where, bad, idempotency_key):
    payload = founding_payload(local_id="ok")
    if where == "local_id":
        payload["local_id"] = f"id{bad}"
    elif where == "text":
        payload["metastases"][0]["misdiagnosis_text"] = f"before{bad}after"
    else:
        payload[f"field{bad}"] = 1
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    assert_problem(post_raw(api, json.dumps(payload), **headers), 400)


def test_very_long_strings_are_a_400_problem(api):
    assert_problem(post_raw(api, json.dumps(founding_payload(local_id="x" * 10_000))), 400)
    long_text = case_with_text("long", "🧠" * 1_000_000)
    assert_problem(post_raw(api, json.dumps(long_text, ensure_ascii=False).encode()), 400)


def test_a_nul_in_a_batch_item_is_that_items_error(api):
    cases = [founding_payload(local_id="fine"), founding_payload(local_id="bad\u0000")]
    response = api.post(CASES + "batch/", {"cases": cases}, format="json")
    assert response.status_code == 200, response.content[:300]
    assert [item["result"] for item in response.json()["results"]] == ["created", "error"]
