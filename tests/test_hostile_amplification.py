"""Amplification (issue 23, point 2): small effort in, large cost or answer out.

A `confirmed_by` list of 300,000 invalid items was validated item by item before
its length was checked (24 s, +450 MB, a 33 MB answer); a 9 MB FHIR Bundle of
unread resources took 8 s and answered 28,002 issues.
"""

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from api.fhir.outcome import MAX_LISTED_ISSUES
from api.fhir.parsing import MAX_BUNDLE_ENTRIES
from api.problems import MAX_PROBLEM_ERRORS
from registry.models import Case
from tests.api_helpers import client_for
from tests.factories import founding_payload

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
CASES = "/api/v1/cases/"
FHIR = "/api/v1/fhir/Bundle"
FHIR_JSON = "application/fhir+json"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(submitter_a):
    return client_for(submitter_a)


@pytest.mark.parametrize("items", [9, 300_000])
def test_a_long_list_is_refused_at_its_length_before_its_items(api, items):
    payload = founding_payload(local_id="amp")
    payload["metastases"][0]["confirmed_by"] = ["not-a-method"] * items
    response = api.post(CASES, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == [
        {
            "field": "metastases[0].confirmed_by",
            "message": f"Give at most 8 items (got {items}).",
            "code": "max_length",
        }
    ]
    assert len(response.content) < 1_000


def test_a_list_within_its_length_still_names_each_bad_item(api):
    payload = founding_payload(local_id="amp")
    payload["metastases"][0]["confirmed_by"] = ["histology", "nope"]
    response = api.post(CASES, payload, format="json")
    assert [e["field"] for e in response.json()["errors"]] == ["metastases[0].confirmed_by[1]"]


def test_an_error_answer_lists_at_most_n_errors_and_says_how_many_more(api):
    payload = founding_payload(local_id="amp")
    payload["metastases"] = [
        {
            **payload["metastases"][0],
            **{name: "x" for name in ("site", "laterality")},
            "months_from_primary": "x",
            "size_mm": "x",
            "presentation": "x",
            "confirmed_by": ["x"],
        }
    ] * 20
    payload["treatments"] = [
        {"modality": "x", "intent": "x", "months_from_primary": "x", "response": "x"}
    ] * 30
    response = api.post(CASES, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert len(body["errors"]) == MAX_PROBLEM_ERRORS
    assert body["errors_omitted"] > 0
    assert f"{body['errors_omitted']} more not listed" in body["detail"]


def bundle_with(entries: list[dict]) -> dict:
    bundle = json.loads(
        (Path(settings.BASE_DIR) / "seeds/fhir/founding_case_bundle.json").read_text()
    )
    bundle["entry"].extend(entries)
    return bundle


def test_a_bundle_beyond_the_entry_cap_is_refused_before_it_is_read(api):
    unread = {"resource": {"resourceType": "Basic", "code": {"text": "x"}}}
    bundle = bundle_with([unread] * MAX_BUNDLE_ENTRIES)
    response = api.post(FHIR, json.dumps(bundle), content_type=FHIR_JSON)
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"] == FHIR_JSON
    issues = response.json()["issue"]
    assert [(i["code"], i["expression"]) for i in issues] == [("too-costly", ["Bundle.entry"])]
    assert not Case.objects.exists()


def test_an_outcome_lists_at_most_n_issues_and_says_how_many_more(api):
    wrong = {"resource": {"resourceType": "NotAType"}}
    bundle = bundle_with([wrong] * 500)
    response = api.post(FHIR, json.dumps(bundle), content_type=FHIR_JSON)
    assert response.status_code == 400
    issues = response.json()["issue"]
    assert len(issues) == MAX_LISTED_ISSUES + 1
    assert issues[-1]["diagnostics"] == f"{500 - MAX_LISTED_ISSUES} more issues not listed."
