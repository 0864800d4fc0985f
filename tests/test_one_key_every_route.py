"""One patient, one case (issue 24): a case key is parsed once, into `CaseKey`, and is
the same key whether the case comes as JSON, in a batch or as a FHIR Bundle."""

import unicodedata

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from api.fhir import codes
from registry.case_keys import LOCAL_ID_MAX, CaseKey
from registry.models import Case
from registry.services.cases import case_create
from tests.api_helpers import client_for
from tests.factories import founding_payload
from tests.test_fhir import founding_bundle, post

DECOMPOSED_E = "e\u0301"  # "é" as two code points, as some systems send it


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=LOCAL_ID_MAX + 20))
def test_a_key_of_decomposed_letters_is_as_long_as_it_reads(length):
    """Counted once, on the stored NFC form: 40 decomposed "é" are 40 characters."""
    raw = DECOMPOSED_E * length
    if length <= LOCAL_ID_MAX:
        key = CaseKey.parse(raw)
        assert key.local_id == unicodedata.normalize("NFC", raw)
        assert len(key.local_id) == length
    else:
        with pytest.raises(ValidationError):
            CaseKey.parse(raw)


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_parsing_a_parsed_key_changes_nothing(raw):
    try:
        key = CaseKey.parse(raw)
    except ValidationError:
        return
    assert CaseKey.parse(key) is key
    assert CaseKey.parse(key.local_id) == key
    assert key.same_as(raw)


@pytest.mark.django_db
@pytest.mark.parametrize("length", [40, LOCAL_ID_MAX])
def test_the_serializer_and_the_domain_agree_on_a_decomposed_key(submitter_a, hospital_a, length):
    raw = DECOMPOSED_E * length
    response = client_for(submitter_a).post(
        "/api/v1/cases/", {**founding_payload(), "local_id": raw}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["local_id"] == "é" * length
    # The domain, called directly, says the same of the same key.
    with pytest.raises(ValidationError, match="already has a case"):
        case_create(institution=hospital_a, local_id=raw, payload=founding_payload(), actor=None)


@pytest.mark.django_db
def test_a_key_too_long_once_normalised_is_refused_by_the_api_and_the_domain(
    submitter_a, hospital_a
):
    raw = DECOMPOSED_E * (LOCAL_ID_MAX + 1)
    response = client_for(submitter_a).post(
        "/api/v1/cases/", {**founding_payload(), "local_id": raw}, format="json"
    )
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["local_id"]
    with pytest.raises(ValidationError) as raised:
        case_create(institution=hospital_a, local_id=raw, payload=founding_payload(), actor=None)
    assert list(raised.value.message_dict) == ["local_id"]


@pytest.mark.django_db
def test_json_then_fhir_with_the_hospitals_key_updates_one_case(submitter_a):
    client = client_for(submitter_a)
    created = client.post(
        "/api/v1/cases/", {**founding_payload(), "local_id": "HOSP-2024-0042"}, format="json"
    )
    assert created.status_code == 201, created.content
    bundle = founding_bundle()
    # The hospital's own key, in the registry's local-id naming system (docs/fhir.md).
    bundle["identifier"] = {"system": codes.LOCAL_ID_SYSTEM, "value": "hosp-2024-0042"}
    response = post(client, bundle)
    assert response.status_code == 200, response.content
    assert Case.objects.count() == 1
    assert Case.objects.get().local_id == "HOSP-2024-0042"
    # And back: the JSON PUT by that key finds the same case.
    put = client.put("/api/v1/cases/by-local-id/hosp-2024-0042/", founding_payload(), format="json")
    assert put.status_code == 200, put.content
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_a_bundle_keyed_by_its_own_identifier_system_is_a_pseudonym_not_the_json_key(
    submitter_a,
):
    client = client_for(submitter_a)
    client.post("/api/v1/cases/", {**founding_payload(), "local_id": "K-1"}, format="json")
    bundle = founding_bundle()
    bundle["identifier"] = {"system": "https://hospital.example/ids", "value": "K-1"}
    assert post(client, bundle).status_code == 201
    assert Case.objects.count() == 2  # a hospital identifier is never copied as the key
