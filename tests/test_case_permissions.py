"""Who may do what with a case: the persona matrix of docs/integrators.md ("Who may do what").

Every row is persona × operation on a case of hospital A, with the exact status.
Hospital B's submitter gets 404, not 403, so it cannot learn that the case exists.
Analysts have no row-level access at all; they use the statistics.
"""

import pytest

from registry.models import Case
from registry.services.cases import case_create
from tests.api_helpers import client_for
from tests.factories import founding_payload

CASES_URL = "/api/v1/cases/"

# persona, operation, expected status (the case belongs to hospital A)
MATRIX = [
    ("anonymous", "list", 401),
    ("anonymous", "create", 401),
    ("anonymous", "retrieve", 401),
    ("anonymous", "update", 401),
    ("anonymous", "partial_update", 401),
    ("anonymous", "destroy", 401),
    ("anonymous", "review", 401),
    ("submitter_a", "list", 200),
    ("submitter_a", "create", 201),
    ("submitter_a", "retrieve", 200),
    ("submitter_a", "update", 200),
    ("submitter_a", "partial_update", 200),
    ("submitter_a", "destroy", 403),
    ("submitter_a", "review", 403),
    ("submitter_b", "list", 200),
    ("submitter_b", "create", 201),
    ("submitter_b", "retrieve", 404),
    ("submitter_b", "update", 404),
    ("submitter_b", "partial_update", 404),
    ("submitter_b", "destroy", 403),
    ("submitter_b", "review", 403),
    ("analyst", "list", 403),
    ("analyst", "create", 403),
    ("analyst", "retrieve", 403),
    ("analyst", "update", 403),
    ("analyst", "partial_update", 403),
    ("analyst", "destroy", 403),
    ("analyst", "review", 403),
    ("curator", "list", 200),
    ("curator", "create", 201),
    ("curator", "retrieve", 200),
    ("curator", "update", 200),
    ("curator", "partial_update", 200),
    ("curator", "destroy", 204),
    ("curator", "review", 200),
]


@pytest.fixture
def case_of_a(hospital_a, submitter_a):
    return case_create(
        institution=hospital_a, local_id="a-1", payload=founding_payload(), actor=submitter_a
    )


def _request(client, operation: str, case: Case, user):
    detail = f"{CASES_URL}{case.uuid}/"
    body = {**founding_payload(), "local_id": "new-1"}
    if user is not None and user.is_curator:
        body["institution"] = "hosp-a"  # curators name the institution they submit for
    if operation == "list":
        return client.get(CASES_URL)
    if operation == "create":
        return client.post(CASES_URL, body, format="json")
    if operation == "retrieve":
        return client.get(detail)
    if operation == "update":
        return client.put(detail, founding_payload(age_at_diagnosis=57), format="json")
    if operation == "partial_update":
        return client.patch(detail, {"age_at_diagnosis": 57}, format="json")
    if operation == "destroy":
        return client.delete(detail)
    if operation == "review":
        return client.post(f"{detail}review/", {"status": "verified"}, format="json")
    raise AssertionError(operation)


@pytest.mark.parametrize(("persona", "operation", "expected"), MATRIX)
def test_persona_may_or_may_not_operate_on_a_case_of_hospital_a(
    request, persona, operation, expected, case_of_a
):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    response = _request(client_for(user), operation, case_of_a, user)
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == expected


def test_denied_writes_change_nothing(submitter_b, case_of_a):
    client = client_for(submitter_b)
    client.patch(f"{CASES_URL}{case_of_a.uuid}/", {"age_at_diagnosis": 30}, format="json")
    client.delete(f"{CASES_URL}{case_of_a.uuid}/")
    case_of_a.refresh_from_db()
    assert case_of_a.age_at_diagnosis == 56
    assert case_of_a.version == 1


def test_each_submitter_lists_only_its_own_institutions_cases(
    submitter_a, submitter_b, hospital_b, case_of_a
):
    case_create(institution=hospital_b, local_id="b-1", payload=founding_payload(), actor=None)
    listed_by_a = [c["local_id"] for c in client_for(submitter_a).get(CASES_URL).json()["results"]]
    listed_by_b = [c["local_id"] for c in client_for(submitter_b).get(CASES_URL).json()["results"]]
    assert listed_by_a == ["a-1"]
    assert listed_by_b == ["b-1"]


def test_submitter_cannot_create_a_case_for_another_institution(submitter_b):
    body = {**founding_payload(), "local_id": "x", "institution": "hosp-a"}
    response = client_for(submitter_b).post(CASES_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "institution"
    assert not Case.objects.filter(local_id="x").exists()


def test_revoked_and_expired_tokens_are_refused(submitter_a):
    from django.utils import timezone
    from rest_framework.test import APIClient

    from registry.services.tokens import token_issue, token_revoke

    revoked, raw_revoked = token_issue(user=submitter_a, name="old")
    token_revoke(token=revoked)
    expired, raw_expired = token_issue(user=submitter_a, name="expired")
    expired.expires_at = timezone.now()
    expired.save()
    for raw in (raw_revoked, raw_expired, "rmr_not-a-real-token"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        response = client.get(CASES_URL)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
