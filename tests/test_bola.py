"""Broken object-level authorisation (OWASP API1:2023): no client reaches another's cases.

Hospital B's submitter knows or guesses hospital A's identifiers (UUIDs, local_ids,
Idempotency-Keys) and tries every way in; each answer is "no such case" or a write
to B's own institution, and A's case is never read or changed.
"""

import uuid

import pytest

from registry.models import Case
from registry.services.cases import case_create
from tests.api_helpers import client_for
from tests.factories import founding_payload

pytestmark = pytest.mark.django_db
CASES = "/api/v1/cases/"


@pytest.fixture
def as_b(submitter_b):
    return client_for(submitter_b)


def unchanged(case: Case) -> bool:
    fresh = Case.objects.get(pk=case.pk)
    return fresh.version == case.version and fresh.history.count() == case.history.count()


# ---------------------------------------------------------------- by UUID


@pytest.mark.parametrize("method", ["get", "put", "patch"])
def test_another_institutions_uuid_is_404_for_every_method(as_b, case_of_a, method):
    url = f"{CASES}{case_of_a.uuid}/"
    response = getattr(as_b, method)(url, founding_payload(local_id="a-0001"), format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert unchanged(case_of_a)


def test_delete_is_refused_alike_for_real_and_guessed_uuids(as_b, case_of_a):
    # Deleting is for curators: refused before any lookup, so it reveals nothing.
    real = as_b.delete(f"{CASES}{case_of_a.uuid}/")
    guessed = as_b.delete(f"{CASES}{uuid.uuid4()}/")
    assert real.status_code == guessed.status_code == 403
    assert real.json() == guessed.json()
    assert unchanged(case_of_a)


def test_review_of_another_institutions_case_is_refused(as_b, case_of_a):
    response = as_b.post(f"{CASES}{case_of_a.uuid}/review/", {"status": "verified"}, format="json")
    assert response.status_code in (403, 404)
    assert unchanged(case_of_a)


def test_guessed_uuids_are_404_like_missing_ones(as_b, case_of_a):
    for guess in (uuid.uuid4(), uuid.UUID(int=0), uuid.UUID(int=case_of_a.uuid.int + 1)):
        assert as_b.get(f"{CASES}{guess}/").status_code == 404
    # The same answer for a real case of A and for one that does not exist.
    real = as_b.get(f"{CASES}{case_of_a.uuid}/")
    missing = as_b.get(f"{CASES}{uuid.uuid4()}/")
    assert real.json() == missing.json()


def test_the_list_holds_only_the_callers_cases(as_b, case_of_a, hospital_b, submitter_b):
    case_create(
        institution=hospital_b, local_id="b-1", payload=founding_payload(), actor=submitter_b
    )
    listed = as_b.get(CASES).json()["results"]
    assert [case["local_id"] for case in listed] == ["b-1"]
    assert as_b.get(CASES, {"institution": "hosp-a"}).json()["results"] == []


# ---------------------------------------------------------------- by local_id


def test_get_by_another_institutions_local_id_is_404(as_b, case_of_a):
    assert as_b.get(f"{CASES}by-local-id/a-0001/").status_code == 404
    assert as_b.get(f"{CASES}by-local-id/a-0001/", {"institution": "hosp-a"}).status_code in (
        400,
        404,
    )


def test_put_by_another_institutions_local_id_creates_the_callers_own_case(
    as_b, case_of_a, hospital_b
):
    response = as_b.put(f"{CASES}by-local-id/a-0001/", founding_payload(), format="json")
    assert response.status_code == 201
    assert response.json()["institution"] == "hosp-b"
    assert response.json()["uuid"] != str(case_of_a.uuid)
    assert unchanged(case_of_a)
    assert Case.objects.filter(local_id="a-0001").count() == 2
    assert Case.objects.get(local_id="a-0001", institution=hospital_b)


def test_put_naming_the_other_institution_is_refused(as_b, case_of_a):
    payload = {**founding_payload(), "institution": {"code": "hosp-a"}}
    assert as_b.put(f"{CASES}by-local-id/a-0001/", payload, format="json").status_code == 400
    response = as_b.put(
        f"{CASES}by-local-id/a-0001/?institution=hosp-a", founding_payload(), format="json"
    )
    assert response.status_code == 400
    assert unchanged(case_of_a)


def test_post_with_another_institutions_local_id_creates_the_callers_own(as_b, case_of_a):
    response = as_b.post(CASES, founding_payload(local_id="a-0001"), format="json")
    assert response.status_code == 201
    assert response.json()["institution"] == "hosp-b"
    assert unchanged(case_of_a)


# ---------------------------------------------------------------- batches


def test_batch_items_cannot_address_another_institutions_cases(as_b, case_of_a):
    changed = founding_payload(local_id="a-0001", age_at_diagnosis=70)
    addressed = {**founding_payload(local_id="a-0002"), "institution": {"code": "hosp-a"}}
    response = as_b.post(f"{CASES}batch/", {"cases": [changed, addressed]}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [item["result"] for item in results] == ["created", "error"]
    assert unchanged(case_of_a)
    assert not Case.objects.filter(local_id="a-0002").exists()


def test_a_batch_for_another_institution_is_refused_whole(as_b, case_of_a):
    body = {"institution": "hosp-a", "cases": [founding_payload(local_id="a-0001")]}
    assert as_b.post(f"{CASES}batch/", body, format="json").status_code == 400
    response = as_b.post(f"{CASES}batch/?institution=hosp-a", body, format="json")
    assert response.status_code == 400
    assert unchanged(case_of_a)


# ---------------------------------------------------------------- Idempotency-Key


def test_another_tokens_idempotency_key_does_not_replay(submitter_a, submitter_b):
    key = {"HTTP_IDEMPOTENCY_KEY": "shared-key-1"}
    body = founding_payload(local_id="idem-1")
    first = client_for(submitter_a).post(CASES, body, format="json", **key)
    assert first.status_code == 201
    other = client_for(submitter_b).post(CASES, body, format="json", **key)
    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other
    assert other.json()["uuid"] != first.json()["uuid"]
    assert other.json()["institution"] == "hosp-b"


def test_a_second_token_of_the_same_user_does_not_replay_either(submitter_a):
    key = {"HTTP_IDEMPOTENCY_KEY": "per-token-1"}
    first = client_for(submitter_a).post(
        CASES, founding_payload(local_id="t-1"), format="json", **key
    )
    again = client_for(submitter_a).post(
        CASES, founding_payload(local_id="t-1"), format="json", **key
    )
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert again.status_code == 400  # a new request: local_id t-1 is taken
