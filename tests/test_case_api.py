"""The case API as a hospital system uses it: submit, read back, correct, filter."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import Case, ReviewStatus
from registry.services.cases import case_create, case_review
from tests.api_helpers import client_for
from tests.factories import founding_payload

CASES_URL = "/api/v1/cases/"


def _submit(client, local_id="a-1", **changes):
    return client.post(
        CASES_URL, {**founding_payload(**changes), "local_id": local_id}, format="json"
    )


# ---------------------------------------------------------------- submit and read back


def test_founding_case_is_submitted_and_read_back_with_codes_and_titles(submitter_a):
    client = client_for(submitter_a)
    created = _submit(client)
    assert created.status_code == 201
    assert created["ETag"] == '"v1"'
    assert created["Location"] == f"{CASES_URL}{created.json()['uuid']}/"
    read = client.get(created["Location"]).json()
    assert read == created.json()
    assert read["primary_site"] == "C50.9" and read["primary_site_title"] == "Breast, NOS"
    assert read["metastases"][0]["site"] == "C44.4"
    assert read["metastases"][0]["site_title"] == "Skin of scalp and neck"
    assert read["metastases"][0]["site_group"] == "Skin"
    assert read["treatments"][0] == {
        "modality": "surgery",
        "target": "metastasis",
        "metastasis": 0,
        "intent": "unknown",
        "months_from_primary": None,
        "response": "unknown",
    }
    assert read["institution"] == "hosp-a" and read["status"] == "submitted"


def test_receptors_without_subtype_derive_it_in_the_response(submitter_a):
    response = _submit(
        client_for(submitter_a), er_percent=0, pr_percent=0, her2_ihc="1+", ki67_percent=60
    )
    assert response.status_code == 201
    assert response.json()["subtype"] == "triple_negative"
    assert response.json()["subtype_title"] == "Triple-negative"


def test_an_invalid_nested_item_stores_nothing_and_names_its_path(submitter_a):
    bad_treatment = {"modality": "surgery", "target": "metastasis", "metastasis": 5}
    response = _submit(client_for(submitter_a), treatments=[bad_treatment])
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["treatments[0].metastasis"]
    assert Case.objects.count() == 0


def test_shape_errors_name_every_field_path(submitter_a):
    payload = founding_payload(sex="x", age_at_diagnosis="old")
    payload["metastases"][0]["presentation"] = "lump"
    response = client_for(submitter_a).post(CASES_URL, {**payload, "local_id": "z"}, format="json")
    assert response.status_code == 400
    fields = sorted(error["field"] for error in response.json()["errors"])
    assert fields == ["age_at_diagnosis", "metastases[0].presentation", "sex"]


def test_unknown_fields_are_rejected_not_ignored(submitter_a):
    payload = {**founding_payload(), "local_id": "u", "patient_name": "Jane"}
    payload["metastases"][0]["colour"] = "red"
    response = client_for(submitter_a).post(CASES_URL, payload, format="json")
    assert response.status_code == 400
    fields = sorted(error["field"] for error in response.json()["errors"])
    assert fields == ["patient_name"]


def test_malformed_json_and_wrong_content_type_are_problems(submitter_a):
    client = client_for(submitter_a)
    broken = client.post(CASES_URL, "{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken["Content-Type"] == "application/problem+json"
    form = client.post(CASES_URL, "a=b", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    assert form.json()["status"] == 415


def test_a_duplicate_local_id_is_a_field_error(submitter_a):
    client = client_for(submitter_a)
    assert _submit(client).status_code == 201
    again = _submit(client)
    assert again.status_code == 400
    assert again.json()["errors"][0]["field"] == "local_id"
    assert Case.objects.count() == 1


# ---------------------------------------------------------------- update


def test_patch_changes_only_what_it_names_and_raises_the_version(submitter_a):
    client = client_for(submitter_a)
    location = _submit(client)["Location"]
    patched = client.patch(location, {"year_of_diagnosis": 2019}, format="json")
    assert patched.status_code == 200
    assert patched["ETag"] == '"v2"'
    body = patched.json()
    assert body["year_of_diagnosis"] == 2019
    assert body["metastases"][0]["site"] == "C44.4"
    assert len(body["treatments"]) == 2


def test_stale_if_match_is_412_and_changes_nothing(submitter_a):
    client = client_for(submitter_a)
    location = _submit(client)["Location"]
    client.patch(location, {"year_of_diagnosis": 2019}, format="json")
    stale = client.patch(location, {"year_of_diagnosis": 2020}, format="json", HTTP_IF_MATCH='"v1"')
    assert stale.status_code == 412
    assert stale.json()["code"] == "stale_version"
    assert client.get(location).json()["year_of_diagnosis"] == 2019


def test_local_id_cannot_be_changed_by_an_update(submitter_a):
    client = client_for(submitter_a)
    location = _submit(client)["Location"]
    response = client.patch(location, {"local_id": "other"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "local_id"


# ---------------------------------------------------------------- review and delete


@pytest.fixture
def review(curator, hospital_a):
    """A submitted case and a curator's poster to its review URL."""
    case = case_create(institution=hospital_a, local_id="r", payload=founding_payload(), actor=None)
    client = client_for(curator)
    url = f"{CASES_URL}{case.uuid}/review/"
    return case, lambda body: client.post(url, body, format="json")


def test_curator_rejects_with_a_reason_and_without_one_gets_400(curator, hospital_a):
    case = case_create(institution=hospital_a, local_id="r", payload=founding_payload(), actor=None)
    client = client_for(curator)
    url = f"{CASES_URL}{case.uuid}/review/"
    assert client.post(url, {"status": "rejected"}, format="json").status_code == 400
    response = client.post(url, {"status": "rejected", "reason": "Duplicate of r-0"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["rejection_reason"] == "Duplicate of r-0"


def test_a_review_that_changes_nothing_keeps_the_version_as_in_the_admin(review):
    case, post = review
    first = post({"status": "verified"})
    again = post({"status": "verified"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert first["ETag"] == again["ETag"] == '"v2"'
    assert case.history.count() == 2  # created, verified: the repeat wrote nothing


def test_a_decision_changes_only_after_re_opening_and_otherwise_409(review, curator):
    case, post = review
    assert post({"status": "verified"}).status_code == 200
    flipped = post({"status": "rejected", "reason": "Not a metastasis"})
    assert flipped.status_code == 409
    assert flipped["Content-Type"] == "application/problem+json"
    assert flipped.json()["code"] == "review_transition_refused"
    assert "in_review" in flipped.json()["detail"]
    assert client_for(curator).get(f"{CASES_URL}{case.uuid}/").json()["status"] == "verified"
    assert post({"status": "in_review"}).status_code == 200
    rejected = post({"status": "rejected", "reason": "Not a metastasis"})
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    back = post({"status": "submitted"})
    assert (back.status_code, back.json()["code"]) == (409, "review_transition_refused")


def test_curator_deletes_and_the_history_keeps_who(curator, hospital_a):
    case = case_create(institution=hospital_a, local_id="d", payload=founding_payload(), actor=None)
    assert client_for(curator).delete(f"{CASES_URL}{case.uuid}/").status_code == 204
    assert not Case.objects.filter(pk=case.pk).exists()
    deletion = Case.history.filter(id=case.pk, history_type="-").get()
    assert deletion.history_user == curator


# ---------------------------------------------------------------- list, filters, pages


@pytest.fixture
def three_cases(hospital_a, hospital_b):
    scalp = case_create(
        institution=hospital_a, local_id="scalp", payload=founding_payload(), actor=None
    )
    bone_payload = founding_payload(age_at_diagnosis=40, year_of_diagnosis=2015)
    bone_payload["metastases"][0].update(site="C41.2", misdiagnosis="none", misdiagnosis_text="")
    bone = case_create(institution=hospital_a, local_id="bone", payload=bone_payload, actor=None)
    lung = founding_payload(
        primary_site="C34.1", primary_morphology="8140/3", sex="male", year_of_diagnosis=2021
    )
    lung["metastases"][0].update(site="C71.0", morphology="8140/6")
    other = case_create(institution=hospital_b, local_id="brain", payload=lung, actor=None)
    case_review(case=other, status=ReviewStatus.VERIFIED, actor=None)
    return scalp, bone, other


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["brain", "bone", "scalp"]),
        ("site=C44.4", ["scalp"]),
        ("site=C44.4,C41.2", ["bone", "scalp"]),
        ("site_group=Skin", ["scalp"]),
        ("site_group=Brain and CNS", ["brain"]),
        ("site_category=C41", ["bone"]),
        ("primary=C34.1", ["brain"]),
        ("primary_category=C50", ["bone", "scalp"]),
        ("morphology=8140/3", ["brain"]),
        ("sex=male", ["brain"]),
        ("age_min=50&age_max=60", ["brain", "scalp"]),
        ("year_min=2016", ["brain"]),
        ("status=verified", ["brain"]),
        ("institution=hosp-b", ["brain"]),
        ("q=c44.4", ["scalp"]),
        ("q=scal", ["brain", "scalp"]),  # the brain case's text mentions a scalp nodule
        ("q=bon", ["bone"]),
        ("q=benign", ["brain", "scalp"]),
        ("q=C41", ["bone"]),  # a category: any site it holds, metastatic or primary
        ("q=c34", ["brain"]),
    ],
)
def test_curator_filters_the_case_list(curator, three_cases, query, expected):
    response = client_for(curator).get(f"{CASES_URL}?{query}")
    assert response.status_code == 200
    assert [c["local_id"] for c in response.json()["results"]] == expected


def test_the_list_search_finds_a_case_by_its_uuid_or_the_first_characters_of_it(
    curator, three_cases
):
    scalp = three_cases[0]
    for term in (str(scalp.uuid), str(scalp.uuid)[:8], str(scalp.uuid).upper()[:13]):
        response = client_for(curator).get(CASES_URL, {"q": term})
        assert [c["local_id"] for c in response.json()["results"]] == ["scalp"], term


def test_a_submitter_searches_only_its_own_cases(submitter_a, three_cases):
    other_institutions = three_cases[2]
    response = client_for(submitter_a).get(CASES_URL, {"q": str(other_institutions.uuid)})
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    "query",
    ["age_min=abc", "sex=robot", "year_min=2020&year_max=2010", "colour=red", "cursor=zzz"],
)
def test_bad_filters_are_400_problems(curator, query):
    response = client_for(curator).get(f"{CASES_URL}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_cursor_pages_walk_every_case_once(curator, hospital_a):
    for number in range(7):
        case_create(
            institution=hospital_a, local_id=f"p{number}", payload=founding_payload(), actor=None
        )
    client, seen, url = client_for(curator), [], f"{CASES_URL}?page_size=3"
    while url:
        page = client.get(url).json()
        seen += [c["local_id"] for c in page["results"]]
        url = page["next"]
    assert seen == [f"p{n}" for n in reversed(range(7))]


def _list_queries(client, page_size: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"{CASES_URL}?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == page_size
    # The shared throttle counters and the statement timeout are a fixed cost of every
    # request (own test below).
    return len([q for q in queries if not _is_fixed_request_work(q["sql"])])


def _is_fixed_request_work(sql: str) -> bool:
    return "registry_cache" in sql or "SAVEPOINT" in sql or "statement_timeout" in sql


def test_a_list_page_costs_the_same_queries_at_any_size(submitter_a, hospital_a):
    for number in range(30):
        payload = founding_payload()
        payload["metastases"].append({**payload["metastases"][0], "site": "C41.2"})
        case_create(institution=hospital_a, local_id=f"q{number}", payload=payload, actor=None)
    client = client_for(submitter_a)
    client.get(CASES_URL)  # first use of the token records last_used_at once
    small, large = _list_queries(client, 2), _list_queries(client, 30)
    assert small == large
    # token + cases + metastases + treatments (+ throttle-free session work): a fixed few
    assert large <= 5


def test_throttle_counters_and_timeout_cost_a_fixed_few_queries_per_request(submitter_a):
    client = client_for(submitter_a)
    client.get(CASES_URL)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CASES_URL).status_code == 200
    cache_work = [q["sql"] for q in queries if _is_fixed_request_work(q["sql"])]
    # failed-token budget, token budget, count (cull), key read, write, savepoints; timeout
    # set and reset
    assert len(cache_work) <= 9


def test_a_replaced_case_is_answered_as_it_is_then_read_back(submitter_a):
    client = client_for(submitter_a)
    created = _submit(client, local_id="put-1").json()
    url = f"{CASES_URL}{created['uuid']}/"
    changed = {**founding_payload(age_at_diagnosis=61), "local_id": "put-1"}
    replaced = client.put(url, changed, format="json")
    assert replaced.status_code == 200 and replaced["ETag"] == '"v2"'
    assert replaced.json() == client.get(url).json()
    assert replaced.json()["age_at_diagnosis"] == 61


def test_a_created_case_is_answered_without_reading_it_back(submitter_a):
    client = client_for(submitter_a)
    with CaptureQueriesContext(connection) as queries:
        created = _submit(client, local_id="mem-1")
    assert created.status_code == 201
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if 'FROM "registry_metastasis"' in sql]


@pytest.mark.parametrize("local_id", [None, "", "   "])
def test_a_case_without_a_local_id_is_refused_on_the_field(submitter_a, local_id):
    body = founding_payload()
    if local_id is not None:
        body["local_id"] = local_id
    response = client_for(submitter_a).post(CASES_URL, body, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["local_id"]
    assert not Case.objects.exists()
