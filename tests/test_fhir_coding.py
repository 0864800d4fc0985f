"""FHIR in and out for what issue 24 made codable: FIGO and AJCC subgroups, what was
found first, receptors in words, and the new presentations and confirmations."""

import pytest
from fhir.resources.R4B.bundle import Bundle

from api.fhir import codes
from registry.models import Case
from registry.services.cases import case_create
from tests.api_helpers import client_for
from tests.factories import founding_payload
from tests.test_fhir import PATIENT, PRIMARY, founding_bundle, history_rows, post, write_result

pytestmark = pytest.mark.django_db

SNOMED = "http://snomed.info/sct"


def round_trip(client, case) -> dict:
    """Export the case, import the export: nothing may change."""
    exported = client.get(f"/api/v1/fhir/Bundle/{case.uuid}").json()
    Bundle.model_validate(exported)
    before = history_rows()
    response = post(client, exported)
    assert write_result(response) == "unchanged", response.content
    assert history_rows() == before
    return exported


def resource(bundle: dict, resource_type: str, index: int = 0) -> dict:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ][index]


def test_a_figo_stage_and_what_was_found_first_survive_a_round_trip(submitter_a, hospital_a):
    payload = founding_payload(
        primary_site="C53.9",
        primary_morphology="8070/3",
        primary_laterality="not_applicable",
        stage_group="IVB",
        stage_system="figo",
        diagnostic_sequence="metastasis_first",
        er_percent=None,
        pr_percent=None,
        her2_ihc="",
        her2_ish="",
        ki67_percent=None,
        subtype=None,
        menopausal_status="postmenopausal",
    )
    payload["metastases"][0]["morphology"] = "8070/6"
    case = case_create(institution=hospital_a, local_id="figo", payload=payload, actor=None)
    exported = round_trip(client_for(submitter_a), case)

    primary = resource(exported, "Condition")
    assert primary["stage"][0]["summary"]["coding"][0] == {
        "system": codes.CS_FIGO_STAGE,
        "code": "IVB",
    }
    assert {"url": codes.EXT_DIAGNOSTIC_SEQUENCE, "valueCode": "metastasis_first"} in primary[
        "extension"
    ]


def test_receptors_in_words_travel_as_interpretations(submitter_a, hospital_a):
    payload = founding_payload(
        er_percent=None,
        pr_percent=None,
        her2_ihc="",
        her2_ish="",
        ki67_percent=None,
        subtype=None,
        er_status="negative",
        pr_status="negative",
        her2_status="positive",
    )
    case = case_create(institution=hospital_a, local_id="words", payload=payload, actor=None)
    assert case.subtype_id == "her2_enriched"
    exported = round_trip(client_for(submitter_a), case)
    markers = [
        e["resource"]
        for e in exported["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"].get("valueCodeableConcept")
    ]
    answers = {
        m["code"]["coding"][0]["code"]: m["valueCodeableConcept"]["coding"][0]["code"]
        for m in markers
    }
    assert answers == {"16112-5": "260385009", "16113-3": "260385009", "85319-2": "10828004"}


def test_an_er_interpretation_from_a_hospital_bundle_is_read_as_the_status(submitter_a):
    bundle = founding_bundle()
    bundle["entry"].append(
        {
            "fullUrl": "urn:uuid:7a0f3b8e-5c1d-4e2a-9b6f-000000000099",
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "16112-5"}]},
                "subject": {"reference": PATIENT},
                "focus": [{"reference": PRIMARY}],
                "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "10828004"}]},
            },
        }
    )
    response = post(client_for(submitter_a), bundle)
    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert (case.er_percent, case.er_status) == (None, "positive")


@pytest.mark.parametrize(
    ("presentation", "confirmation"),
    [
        ("bleeding", "endoscopy"),
        ("obstruction", "autopsy"),
        ("neurological_deficit", "scintigraphy"),
    ],
)
def test_the_new_presentations_and_confirmations_survive_a_round_trip(
    submitter_a, hospital_a, presentation, confirmation
):
    payload = founding_payload()
    payload["metastases"][0].update(presentation=presentation, confirmed_by=[confirmation])
    case = case_create(institution=hospital_a, local_id="lists", payload=payload, actor=None)
    round_trip(client_for(submitter_a), case)


@pytest.mark.parametrize(
    ("url", "snomed", "field", "expected"),
    [
        (codes.EXT_PRESENTATION, "131148009", "presentation", "bleeding"),
        (codes.EXT_PRESENTATION, "264552009", "presentation", "neurological_deficit"),
        (codes.EXT_CONFIRMED_BY, "29240004", "confirmed_by", ["autopsy"]),
        (codes.EXT_CONFIRMED_BY, "423827005", "confirmed_by", ["endoscopy"]),
    ],
)
def test_a_presentation_or_confirmation_in_snomed_ct_is_read(
    submitter_a, url, snomed, field, expected
):
    bundle = founding_bundle()
    secondary = bundle["entry"][2]["resource"]
    secondary["extension"] = [
        extension for extension in secondary.get("extension", []) if extension["url"] != url
    ] + [{"url": url, "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": snomed}]}}]
    response = post(client_for(submitter_a), bundle)
    assert response.status_code == 201, response.content
    assert getattr(Case.objects.get().metastases.get(), field) == expected


def test_a_snomed_presentation_the_registry_does_not_map_is_an_error_at_its_path(submitter_a):
    bundle = founding_bundle()
    secondary = bundle["entry"][2]["resource"]
    secondary["extension"] = [
        extension
        for extension in secondary["extension"]
        if extension["url"] != codes.EXT_PRESENTATION
    ] + [
        {
            "url": codes.EXT_PRESENTATION,
            "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "22253000"}]},
        }
    ]
    response = post(client_for(submitter_a), bundle)
    assert response.status_code == 422
    issues = response.json()["issue"]
    assert [issue["expression"] for issue in issues] == [["Bundle.entry[2].resource.extension[4]"]]
    assert not Case.objects.exists()
