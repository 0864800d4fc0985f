"""`POST cases/batch/`: up to 1,000 cases, one result each, in order, written in bulk.

A bad case is an error item and never stops the good ones; a local_id repeated
within the batch is an error item after its first occurrence; unchanged cases
are not written; history rows name the submitter; the number of queries does not
grow with the number of cases.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import Case, Metastasis, ReviewStatus, Treatment
from registry.services.batch import BatchItem, case_batch_submit
from registry.services.cases import Outcome, case_review
from registry.vocabularies import current_vocabularies
from tests.api_helpers import client_for
from tests.factories import founding_payload

BATCH_URL = "/api/v1/cases/batch/"
BRAIN = "C71.9"


def item(local_id: str, **changes) -> dict:
    return {**founding_payload(**changes), "local_id": local_id}


def post_batch(client, cases, **envelope):
    return client.post(BATCH_URL, {**envelope, "cases": cases}, format="json")


def outcomes(response) -> list[tuple[str | None, str]]:
    return [(r["local_id"], r["result"]) for r in response.json()["results"]]


@pytest.fixture
def client_a(submitter_a):
    return client_for(submitter_a)


# ---------------------------------------------------------------- mixed batches


def test_a_batch_of_valid_invalid_and_repeated_cases(client_a, submitter_a):
    unknown_site = item("b-2")
    unknown_site["metastases"][0]["site"] = "C99.9"
    cases = [
        item("b-1"),
        unknown_site,
        item("b-1", age_at_diagnosis=70),  # repeated: the first b-1 is the one stored
        item("b-3", sex="robot"),  # wrong JSON for the field: caught before the registry
        "not a case",
        item("b-4"),
    ]
    response = post_batch(client_a, cases)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert outcomes(response) == [
        ("b-1", "created"),
        ("b-2", "error"),
        ("b-1", "error"),
        ("b-3", "error"),
        (None, "error"),
        ("b-4", "created"),
    ]
    assert [r["index"] for r in body["results"]] == list(range(6))
    assert body["summary"] == {"created": 2, "updated": 0, "unchanged": 0, "error": 4}
    errors = [r["errors"] for r in body["results"]]
    assert errors[0] == errors[5] == []
    assert errors[1] == [
        {
            "field": "metastases[0].site",
            "message": "Unknown ICD-O-3 topography code 'C99.9'.",
            "code": "invalid",
        }
    ]
    assert [(e["field"], e["code"]) for e in errors[2]] == [("local_id", "repeated_in_batch")]
    assert "first at item 0" in errors[2][0]["message"]
    assert [(e["field"], e["code"]) for e in errors[3]] == [("sex", "invalid_choice")]
    assert errors[4][0]["field"] is None

    assert sorted(Case.objects.values_list("local_id", flat=True)) == ["b-1", "b-4"]
    first = Case.objects.get(local_id="b-1")
    assert first.age_at_diagnosis == 56
    assert str(first.uuid) == body["results"][0]["uuid"]
    assert body["results"][0]["version"] == 1
    assert all(r["uuid"] is None for r in body["results"][1:5])


def test_a_batch_writes_history_rows_naming_the_submitter(client_a, submitter_a):
    post_batch(client_a, [item("b-1"), item("b-2")])
    case_ids = list(Case.objects.values_list("pk", flat=True))
    rows = [
        *Case.history.filter(id__in=case_ids),
        *Metastasis.history.filter(case_id__in=case_ids),
        *Treatment.history.filter(case_id__in=case_ids),
    ]
    assert len(rows) == 2 + 2 + 4
    assert {(row.history_type, row.history_user) for row in rows} == {("+", submitter_a)}


def test_resending_a_batch_leaves_unchanged_cases_alone(client_a):
    cases = [item("b-1"), item("b-2")]
    post_batch(client_a, cases)
    with CaptureQueriesContext(connection) as queries:
        response = post_batch(client_a, cases)
    assert outcomes(response) == [("b-1", "unchanged"), ("b-2", "unchanged")]
    assert Case.history.count() == 2
    writes = [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]
    assert not [sql for sql in writes if "registry_cache" not in sql]  # the throttle counts


def test_changed_cases_are_updated_and_their_children_replaced(client_a, submitter_a, curator):
    post_batch(client_a, [item("b-1"), item("b-2")])
    case_review(case=Case.objects.get(local_id="b-1"), status="verified", actor=curator)
    changed = item("b-1", age_at_diagnosis=60)
    changed["metastases"] = [{"site": BRAIN}]
    changed["treatments"] = []
    response = post_batch(client_a, [changed, item("b-2"), item("b-3")])
    assert outcomes(response) == [("b-1", "updated"), ("b-2", "unchanged"), ("b-3", "created")]
    assert response.json()["results"][0]["version"] == 3  # created, verified, updated
    case = Case.objects.get(local_id="b-1")
    assert (case.age_at_diagnosis, case.version, case.status) == (60, 3, ReviewStatus.SUBMITTED)
    assert [m.site_id for m in case.metastases.all()] == [BRAIN]
    assert not case.treatments.exists()
    assert case.history.first().history_type == "~"
    assert case.history.first().history_user == submitter_a
    removed = [
        *Metastasis.history.filter(case_id=case.pk, history_type="-"),
        *Treatment.history.filter(case_id=case.pk, history_type="-"),
    ]
    assert len(removed) == 3
    assert {row.history_user for row in removed} == {submitter_a}


def test_each_updated_case_gets_its_own_values(client_a):
    post_batch(client_a, [item("b-1", year_of_diagnosis=2018), item("b-2"), item("b-3")])
    luminal_a = {"er_percent": 90, "pr_percent": 50, "her2_ihc": "1+", "ki67_percent": 10}
    response = post_batch(
        client_a,
        [
            item("b-1", year_of_diagnosis=None, sex="unknown"),
            item("b-2", **luminal_a),
            item("b-3", age_at_diagnosis=95, grade="G2"),
        ],
    )
    assert [r["result"] for r in response.json()["results"]] == ["updated"] * 3
    cases = {case.local_id: case for case in Case.objects.all()}
    assert (cases["b-1"].year_of_diagnosis, cases["b-1"].sex) == (None, "unknown")
    assert (cases["b-2"].er_percent, cases["b-2"].subtype_id) == (90, "luminal_a_like")
    assert (cases["b-3"].age_at_diagnosis, cases["b-3"].grade) == (90, "G2")
    assert (cases["b-1"].er_percent, cases["b-3"].subtype_id) == (None, None)
    assert {case.version for case in cases.values()} == {2}
    assert cases["b-2"].history.first().subtype_id == "luminal_a_like"


def test_an_item_naming_another_institution_is_an_error_item(client_a, hospital_b):
    response = post_batch(client_a, [item("b-1"), {**item("b-2"), "institution": "hosp-b"}])
    assert outcomes(response) == [("b-1", "created"), ("b-2", "error")]
    assert response.json()["results"][1]["errors"][0]["field"] == "institution"


# ---------------------------------------------------------------- the envelope


def test_more_than_1000_cases_is_a_413_problem(client_a):
    response = post_batch(client_a, [item(f"b-{n}") for n in range(1001)])
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "batch_too_large"
    assert "1000" in response.json()["detail"]
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cases": []}, "cases"),
        ({}, "cases"),
        ({"cases": {"local_id": "x"}}, "cases"),
        ({"cases": [item("b-1")], "colour": "red"}, "colour"),
        ([item("b-1")], None),
    ],
    ids=["empty", "missing", "not-a-list", "unknown-field", "not-an-object"],
)
def test_a_malformed_envelope_is_a_400(client_a, body, field):
    response = client_a.post(BATCH_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 401), ("analyst", 403), ("submitter_a", 200), ("submitter_b", 200)],
)
def test_who_may_submit_a_batch(request, hospital_a, persona, expected):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    response = post_batch(client_for(user), [item("b-1")])
    assert response.status_code == expected
    assert Case.objects.exists() == (expected == 200)


def test_curators_name_the_institution_of_a_batch(curator, hospital_a):
    client = client_for(curator)
    missing = post_batch(client, [item("b-1")])
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "institution"
    named = post_batch(client, [item("b-1")], institution="hosp-a")
    in_query = client.post(
        f"{BATCH_URL}?institution=hosp-a", {"cases": [item("b-2")]}, format="json"
    )
    assert outcomes(named) == [("b-1", "created")]
    assert outcomes(in_query) == [("b-2", "created")]
    assert set(Case.objects.values_list("institution__code", flat=True)) == {"hosp-a"}


def test_a_submitter_cannot_send_a_batch_for_another_institution(client_a, hospital_b):
    response = post_batch(client_a, [item("b-1")], institution="hosp-b")
    assert response.status_code == 400
    assert not Case.objects.exists()


# ---------------------------------------------------------------- bulk, not a loop


def _batch_queries(institution, actor, prefix: str, count: int, **changes) -> int:
    items = [BatchItem(f"{prefix}-{n}", founding_payload(**changes)) for n in range(count)]
    with CaptureQueriesContext(connection) as queries:
        results = case_batch_submit(institution=institution, items=items, actor=actor)
    assert all(result.outcome is not None for result in results)
    return len(queries)


def test_the_queries_of_a_batch_do_not_grow_with_its_size(hospital_a, submitter_a):
    current_vocabularies()  # the first use in a process loads the snapshot
    new_10 = _batch_queries(hospital_a, submitter_a, "s", 10)
    new_100 = _batch_queries(hospital_a, submitter_a, "l", 100)
    changed_10 = _batch_queries(hospital_a, submitter_a, "s", 10, age_at_diagnosis=60)
    changed_100 = _batch_queries(hospital_a, submitter_a, "l", 100, age_at_diagnosis=60)
    assert new_10 == new_100
    assert changed_10 == changed_100
    # snapshot check, savepoints, read and lock (+ children), then per table one statement
    # for the rows and one for their history (and one to delete replaced children)
    assert new_100 <= 12
    assert changed_100 <= 18


def test_the_service_reports_outcomes_in_order(hospital_a, submitter_a):
    items = [BatchItem("x-1", founding_payload()), BatchItem("x-2", {"sex": "female"})]
    results = case_batch_submit(institution=hospital_a, items=items, actor=submitter_a)
    assert [(r.index, r.result) for r in results] == [(0, "created"), (1, "error")]
    assert results[0].outcome == Outcome.CREATED
    fields = {error.field for error in results[1].errors}
    assert {"primary_site", "primary_morphology", "metastases"} <= fields


@pytest.mark.slow
def test_a_full_batch_of_1000_is_accepted(client_a):
    response = post_batch(client_a, [item(f"b-{n}") for n in range(1000)])
    assert response.status_code == 200
    assert response.json()["summary"]["created"] == 1000
    assert Case.objects.count() == 1000
