"""Schemathesis with every check it has, as every persona, with JSON and non-JSON bodies.

`tests/test_openapi.py` holds the schema to its conformance checks; here every
built-in check runs (`--checks all`: server errors, conformance of statuses,
content types, headers and bodies, negative data rejected, positive data
accepted, missing required headers, unsupported methods, Allow headers,
ignored auth, use after free, resource availability) on positive and negative
data and the coverage phase's malformed and unsupported Content-Type probes, and
each generated request is sent as each persona. Then each body is sent again
under the Content-Types DRF's JSON parser also accepts (`*/*`, `application/*`, a
UTF-16 charset) and under ones it refuses: never a 5xx, always a document the
API describes.

One setting differs from schemathesis' defaults: positive data (valid by the
schema) may be refused with 400, 412, 413 or 422, because what decides those is
the registry's domain, which no schema states: codes that exist in the
vocabularies, rules across fields, which filters each role may use, the work
budget of a whole batch, the version a case is at.
"""

import json
from urllib.parse import urlencode

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import negative_data_rejection

from api.throttling import FailedTokenThrottle
from registry.services.tokens import token_issue
from tests.openapi_helpers import CSV_TWIN, api_schema

PERSONAS = ["submitter_a", "submitter_b", "analyst", "curator"]
CONFIG = {
    "generation": {"mode": "all"},
    "checks": {
        # A batch over 1,000 cases is refused as too large (413), a URL over the cap as 414.
        "negative_data_rejection": {
            "expected-statuses": [
                *("400", "401", "403", "404", "405", "406", "409", "413", "414", "415"),
                *("422", "428", "429", "5xx"),
            ]
        },
        "positive_data_acceptance": {
            "expected-statuses": [
                *("2xx", "3xx", "400", "401", "403", "404", "409", "412"),
                *("413", "422", "429", "5xx"),
            ]
        },
    },
}
# A batch answers 200 with an error for each case that breaks the case schema and
# stores the others (tests/test_batch.py), so a body whose cases break the schema is
# rightly not refused whole; its envelope is still held to the check by the cap (413)
# and the parser (400).
BATCH = "/api/v1/cases/batch/"
PER_ITEM_ANSWERS = [negative_data_rejection]
# Accepted by the JSON parser (wildcards match both ways; the charset is honoured) ...
JSON_ALIKE = ["*/*", "application/*", "application/json; charset=utf-16"]
# ... and refused (415) before any parsing.
NOT_JSON = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
DOCUMENT_TYPES = ("application/json", "application/problem+json", "application/fhir+json")


# Loaded at collection: one pytest item per operation, which xdist spreads (openapi_helpers).
SCHEMA = api_schema(SchemathesisConfig.from_dict(CONFIG))


@pytest.fixture(autouse=True)
def _invalid_tokens_unbudgeted(monkeypatch):
    """The invalid-authentication probe sends bad tokens by the hundred from one address;
    the per-address budget for them is tested in tests/test_hostile_lockout.py."""
    rates = {**FailedTokenThrottle.THROTTLE_RATES, "failed_token": "1000000/minute"}
    monkeypatch.setattr(FailedTokenThrottle, "THROTTLE_RATES", rates)


@pytest.fixture
def persona_tokens(request, case_of_a, wsgi_keeps_the_test_connection):
    # Something to read, update and review, so detail operations do not all answer 404.
    return {
        name: token_issue(user=request.getfixturevalue(name), name="schemathesis")[1]
        for name in PERSONAS
    }


@SCHEMA.exclude(path_regex=CSV_TWIN).parametrize()
@settings(
    # Each example is sent as four personas and six content types, and the coverage
    # phase still probes every parameter and content type on top.
    max_examples=2,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_check_passes_for_every_persona_and_content_type(case, persona_tokens):
    _every_check_as_every_persona(case, persona_tokens)


@SCHEMA.include(path_regex=CSV_TWIN).parametrize()
@settings(
    # A CSV twin is its JSON operation's view with another renderer, and has its
    # parameters (test_openapi.py checks that): the fuzzing above already sends them
    # through the same parsing and refusals. One example per twin checks its renderer
    # and documented answers; the coverage phase still probes every parameter.
    max_examples=1,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_check_passes_for_every_persona_on_the_csv_twins(case, persona_tokens):
    _every_check_as_every_persona(case, persona_tokens)


def _every_check_as_every_persona(case, persona_tokens: dict[str, str]) -> None:
    excluded = PER_ITEM_ANSWERS if case.operation.path == BATCH else []
    for token in persona_tokens.values():
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded
        )
    # The other content types as the curator, who may write everywhere.
    if case.body is not NOT_SET and case.method.upper() in ("POST", "PUT", "PATCH"):
        for content_type in JSON_ALIKE + NOT_JSON:
            _assert_answered_as_documented(case, persona_tokens["curator"], content_type)


def _assert_answered_as_documented(case, token: str, content_type: str) -> None:
    charset = content_type.partition("charset=")[2] or "utf-8"
    # The coverage phase's content-type probes carry raw bytes: sent as they are.
    body = case.body if isinstance(case.body, bytes) else json.dumps(case.body).encode(charset)
    query = urlencode(case.query or {}, doseq=True)
    path = case.formatted_path + (f"?{query}" if query else "")
    response = Client().generic(
        case.method.upper(),
        path,
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT="application/json, application/fhir+json",
    )
    # Django's test client connects these again after its request; schemathesis' must not.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    where = f"{case.method} {path} as {content_type}"
    assert response.status_code < 500, f"{where}: {response.status_code}"
    assert response["Content-Type"].startswith(DOCUMENT_TYPES), (
        f"{where}: {response['Content-Type']}"
    )
    if content_type in NOT_JSON:  # refused: 415, or earlier for what the query says
        assert response.status_code >= 400, f"{where}: {response.status_code}"
