"""The OpenAPI schema is part of the product: valid, warning-free, and true.

Schemathesis generates requests from the schema for every operation and checks
that the server never answers 5xx and that every response (status, content type,
headers and body) is one the schema describes; then it chains calls along the
links between operations (a created case read, replaced, patched, reviewed,
exported and deleted) and checks the same of every step.
"""

import io
import re
import uuid
import zlib

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from registry.services.tokens import token_issue
from tests.factories import founding_payload
from tests.openapi_helpers import CSV_TWIN, SCHEMA_URL, api_document, api_schema, json_twin_path


def test_schema_validates_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert "openapi: 3" in out.getvalue()


def test_swagger_ui_and_redoc_are_served_from_local_files(client, db):  # db: the throttle
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url).content.decode()
        assert "cdn" not in page.lower() and "unpkg" not in page.lower() and "jsdelivr" not in page
        assert "/static/drf_spectacular_sidecar/" in page
    assert client.get("/api/schema/").status_code == 200


def test_the_document_the_tests_fuzz_is_the_one_the_server_sends(client):
    from api.schema_view import _rendered

    _rendered.clear()  # not a copy another test's settings rendered into this worker's cache
    served = client.get(SCHEMA_URL, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert served.status_code == 200
    assert served.json() == api_document()


def test_each_csv_twin_takes_exactly_its_json_operations_parameters():
    # What lets the fuzzing spend less on the twins (test_openapi_all_checks.py).
    paths = api_document()["paths"]
    twins = [path for path in paths if re.search(CSV_TWIN, path)]
    assert twins
    for twin in twins:
        assert (
            paths[twin]["get"]["parameters"] == (paths[json_twin_path(twin)]["get"]["parameters"])
        ), twin


# Loaded at collection: one pytest item per operation, which xdist spreads (openapi_helpers).
SCHEMA = api_schema()


@pytest.fixture
def api_schema_called(db, wsgi_keeps_the_test_connection):
    return SCHEMA


@pytest.fixture
def curator_token(curator, case_of_a):
    # Something to read, update and review, so detail operations do not all answer 404.
    return token_issue(user=curator, name="schemathesis")[1]


@SCHEMA.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    # Morphology codes hold a slash ("8500/3"), so most generated path values are
    # filtered out before they reach the server; that is expected, not a problem.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@pytest.mark.usefixtures("wsgi_keeps_the_test_connection")
def test_api_conforms_to_its_schema_for_generated_requests(case, curator_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {curator_token}"}, checks=CONFORMANCE)


def test_api_conforms_to_its_schema_along_linked_call_sequences(api_schema_called, curator_token):
    # The links are inferred by schemathesis from the schema (a case's uuid in one
    # response feeds the path of the next call); a deleted case must then be gone,
    # and a created one readable. Generated case bodies almost never hold codes the
    # vocabularies know, so about half the POSTs send a valid case to start a chain.
    class CaseWorkflow(api_schema_called.as_state_machine()):
        def setup(self):
            # Each sequence starts from the same registry, so hypothesis can replay it.
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def before_call(self, case):
            if (case.method, case.operation.path) != ("POST", "/api/v1/cases/"):
                return
            # Chosen from the generated body, not from a counter, so a replay is the same.
            if zlib.crc32(repr(case.body).encode()) % 2 == 0:
                case.body = founding_payload(local_id=uuid.uuid4().hex, institution="hosp-a")

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {curator_token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                checks=[*CONFORMANCE, use_after_free, ensure_resource_availability],
                transport_kwargs=kwargs,
            )

    CaseWorkflow.run(
        settings=settings(
            max_examples=40,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def _not_a_server_error(ctx, response, case):
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"
    return True


CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    _not_a_server_error,
]
