"""Submitting by the integrator's own key, and optimistic concurrency with ETag/If-Match.

`PUT cases/by-local-id/{local_id}/` creates (201), replaces (200) or, when
nothing changed, answers 200 without writing. Every case response carries an
`ETag`; `If-Match` is optional, and a stale one gets 412 and changes nothing.
"""

import pytest

from registry.models import Case, Metastasis, ReviewStatus, Treatment
from registry.services.cases import case_create, case_review
from tests.api_helpers import client_for
from tests.factories import founding_payload

CASES_URL = "/api/v1/cases/"
BRAIN = "C71.9"


def by_local_id(local_id: str) -> str:
    return f"{CASES_URL}by-local-id/{local_id}/"


def stored(local_id: str) -> Case:
    return Case.objects.get(local_id=local_id)


@pytest.fixture
def client_a(submitter_a):
    return client_for(submitter_a)


# ---------------------------------------------------------------- PUT by-local-id


def test_the_first_put_creates_the_case(client_a, hospital_a, submitter_a):
    response = client_a.put(by_local_id("ehr-1"), founding_payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["local_id"], body["institution"], body["version"]) == ("ehr-1", "hosp-a", 1)
    assert response["ETag"] == '"v1"'
    assert response["Location"] == f"{CASES_URL}{body['uuid']}/"
    case = stored("ehr-1")
    assert case.institution == hospital_a
    assert case.history.get().history_user == submitter_a


def test_resending_the_same_case_changes_nothing(client_a):
    first = client_a.put(by_local_id("ehr-1"), founding_payload(), format="json")
    again = client_a.put(by_local_id("ehr-1"), founding_payload(), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["uuid"] == first.json()["uuid"]
    assert (again.json()["version"], again["ETag"]) == (1, '"v1"')
    case = stored("ehr-1")
    assert case.history.count() == 1
    assert Metastasis.history.filter(case_id=case.pk).count() == 1
    assert Case.objects.count() == 1


def test_a_changed_case_replaces_the_stored_one(client_a, submitter_a):
    client_a.put(by_local_id("ehr-1"), founding_payload(), format="json")
    payload = founding_payload(age_at_diagnosis=60)
    payload["metastases"] = [{"site": BRAIN}]
    payload["treatments"] = [{"modality": "radiotherapy", "target": "metastasis", "metastasis": 0}]
    response = client_a.put(by_local_id("ehr-1"), payload, format="json")
    assert response.status_code == 200
    assert (response.json()["version"], response["ETag"]) == (2, '"v2"')
    case = stored("ehr-1")
    assert case.age_at_diagnosis == 60
    assert [m.site_id for m in case.metastases.all()] == [BRAIN]
    assert [(t.modality, t.metastasis.site_id) for t in case.treatments.all()] == [
        ("radiotherapy", BRAIN)
    ]
    assert [h.history_type for h in case.history.all()] == ["~", "+"]
    removed = Treatment.history.filter(case_id=case.pk, history_type="-")
    assert removed.count() == 2
    assert {row.history_user for row in removed} == {submitter_a}
    assert "Location" not in response


def test_the_body_may_repeat_the_local_id_but_not_contradict_it(client_a):
    same = client_a.put(
        by_local_id("ehr-1"), {**founding_payload(), "local_id": "ehr-1"}, format="json"
    )
    other = client_a.put(
        by_local_id("ehr-2"), {**founding_payload(), "local_id": "ehr-1"}, format="json"
    )
    assert same.status_code == 201
    assert other.status_code == 400
    assert other.json()["errors"][0]["field"] == "local_id"
    assert not Case.objects.filter(local_id="ehr-2").exists()


def test_an_invalid_case_is_a_400_with_field_paths_and_stores_nothing(client_a):
    payload = founding_payload()
    payload["metastases"][0]["site"] = "C99.9"
    response = client_a.put(by_local_id("ehr-1"), payload, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {
            "field": "metastases[0].site",
            "message": "Unknown ICD-O-3 topography code 'C99.9'.",
            "code": "invalid",
        }
    ]
    assert not Case.objects.exists()


def test_the_same_local_id_at_two_institutions_is_two_cases(client_a, submitter_b):
    client_a.put(by_local_id("ehr-1"), founding_payload(), format="json")
    response = client_for(submitter_b).put(by_local_id("ehr-1"), founding_payload(), format="json")
    assert response.status_code == 201
    assert Case.objects.filter(local_id="ehr-1").count() == 2


def test_a_submitters_change_sends_a_verified_case_back_to_review(client_a, curator):
    client_a.put(by_local_id("ehr-1"), founding_payload(), format="json")
    case_review(case=stored("ehr-1"), status="verified", actor=curator)
    client_a.put(by_local_id("ehr-1"), founding_payload(), format="json")
    assert stored("ehr-1").status == ReviewStatus.VERIFIED  # unchanged: still verified
    client_a.put(by_local_id("ehr-1"), founding_payload(age_at_diagnosis=57), format="json")
    assert stored("ehr-1").status == ReviewStatus.SUBMITTED


# ---------------------------------------------------------------- GET by-local-id


def test_get_by_local_id_reads_the_callers_case(client_a, submitter_b):
    client_a.put(by_local_id("ehr-1"), founding_payload(), format="json")
    response = client_a.get(by_local_id("ehr-1"))
    assert response.status_code == 200
    assert (response.json()["local_id"], response["ETag"]) == ("ehr-1", '"v1"')
    assert client_a.get(by_local_id("nope")).status_code == 404
    assert client_for(submitter_b).get(by_local_id("ehr-1")).status_code == 404


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize(
    ("persona", "method", "expected"),
    [
        ("anonymous", "put", 401),
        ("anonymous", "get", 401),
        ("analyst", "put", 403),
        ("analyst", "get", 403),
        ("submitter_a", "put", 201),
        ("submitter_a", "get", 404),
    ],
)
def test_who_may_use_by_local_id(request, hospital_a, persona, method, expected):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    client = client_for(user)
    if method == "put":
        response = client.put(by_local_id("ehr-1"), founding_payload(), format="json")
    else:
        response = client.get(by_local_id("ehr-1"))
    assert response.status_code == expected
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
    assert Case.objects.exists() == (expected == 201)


def test_curators_name_the_institution_in_the_query_or_the_body(curator, hospital_a):
    client = client_for(curator)
    missing = client.put(by_local_id("lit-1"), founding_payload(), format="json")
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "institution"
    in_query = client.put(
        f"{by_local_id('lit-1')}?institution=hosp-a", founding_payload(), format="json"
    )
    in_body = client.put(
        by_local_id("lit-2"), {**founding_payload(), "institution": "hosp-a"}, format="json"
    )
    assert (in_query.status_code, in_body.status_code) == (201, 201)
    assert client.get(f"{by_local_id('lit-1')}?institution=hosp-a").status_code == 200
    assert client.get(by_local_id("lit-1")).status_code == 400
    unknown = client.put(
        f"{by_local_id('lit-3')}?institution=nowhere", founding_payload(), format="json"
    )
    assert unknown.status_code == 400


def test_a_submitter_cannot_upsert_for_another_institution(client_a, hospital_b):
    response = client_a.put(
        f"{by_local_id('ehr-1')}?institution=hosp-b", founding_payload(), format="json"
    )
    assert response.status_code == 400
    assert not Case.objects.exists()


# ---------------------------------------------------------------- ETag and If-Match


@pytest.fixture
def case_a(hospital_a, submitter_a) -> Case:
    return case_create(
        institution=hospital_a, local_id="a-1", payload=founding_payload(), actor=submitter_a
    )


def test_every_case_response_carries_its_etag(client_a, case_a):
    detail = f"{CASES_URL}{case_a.uuid}/"
    assert client_a.get(detail)["ETag"] == '"v1"'
    created = client_a.post(CASES_URL, {**founding_payload(), "local_id": "a-2"}, format="json")
    assert created["ETag"] == '"v1"'
    patched = client_a.patch(detail, {"age_at_diagnosis": 57}, format="json")
    assert patched["ETag"] == '"v2"'


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_stale_if_match_is_412_and_changes_nothing(client_a, case_a, method):
    detail = f"{CASES_URL}{case_a.uuid}/"
    client_a.patch(detail, {"age_at_diagnosis": 57}, format="json")  # now v2
    send = getattr(client_a, method)
    body = founding_payload(age_at_diagnosis=70) if method == "put" else {"age_at_diagnosis": 70}
    response = send(detail, body, format="json", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 412
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "stale_version"
    assert "version 2" in response.json()["detail"]
    case = stored("a-1")
    assert (case.version, case.age_at_diagnosis, case.history.count()) == (2, 57, 2)


@pytest.mark.parametrize("if_match", ['"v1"', '"v0", "v1"', '"x", W/"v1", "v1"', "*"])
def test_a_current_if_match_lets_the_write_through(client_a, case_a, if_match):
    detail = f"{CASES_URL}{case_a.uuid}/"
    response = client_a.patch(
        detail, {"age_at_diagnosis": 57}, HTTP_IF_MATCH=if_match, format="json"
    )
    assert response.status_code == 200
    assert response["ETag"] == '"v2"'


@pytest.mark.parametrize("if_match", ['W/"v1"', '"v2"', '"abc"', '""', '"v01x"'])
def test_an_if_match_naming_no_current_strong_etag_is_412(client_a, case_a, if_match):
    # RFC 9110 13.1.1: strong comparison, so a weak tag or a well-formed tag the registry
    # never issued fails the precondition (412); only a malformed header is a 400.
    detail = f"{CASES_URL}{case_a.uuid}/"
    response = client_a.patch(
        detail, {"age_at_diagnosis": 57}, HTTP_IF_MATCH=if_match, format="json"
    )
    assert response.status_code == 412, response.content[:200]
    assert stored("a-1").version == 1


def test_without_if_match_the_last_write_wins(client_a, case_a):
    detail = f"{CASES_URL}{case_a.uuid}/"
    client_a.patch(detail, {"age_at_diagnosis": 57}, format="json")
    response = client_a.patch(detail, {"age_at_diagnosis": 58}, format="json")
    assert (response.status_code, response.json()["age_at_diagnosis"]) == (200, 58)


def test_a_malformed_if_match_is_a_400(client_a, case_a):
    response = client_a.patch(
        f"{CASES_URL}{case_a.uuid}/",
        {"age_at_diagnosis": 57},
        HTTP_IF_MATCH="version one",
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "If-Match"
    assert stored("a-1").version == 1


def test_if_match_guards_the_upsert_too(client_a, case_a):
    stale = client_a.put(
        by_local_id("a-1"),
        founding_payload(age_at_diagnosis=70),
        HTTP_IF_MATCH='"v0"',
        format="json",
    )
    assert stale.status_code == 412
    assert stored("a-1").age_at_diagnosis == 56
    current = client_a.put(
        by_local_id("a-1"),
        founding_payload(age_at_diagnosis=70),
        HTTP_IF_MATCH='"v1"',
        format="json",
    )
    assert (current.status_code, current["ETag"]) == (200, '"v2"')


def test_if_match_on_a_case_that_does_not_exist_is_412(client_a):
    response = client_a.put(
        by_local_id("new-1"), founding_payload(), HTTP_IF_MATCH='"v1"', format="json"
    )
    assert response.status_code == 412
    assert not Case.objects.exists()
