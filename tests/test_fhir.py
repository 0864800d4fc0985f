"""FHIR R4 mCODE exchange: the founding case in as a Bundle, out again, and back unchanged.

Broken Bundles are answered with an OperationOutcome whose issues name the exact
element (FHIRPath), and store nothing.
"""

import copy
import csv
import json
from pathlib import Path

import pytest
from django.conf import settings
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome

from api.fhir import codes
from api.fhir.reading import MappedCase
from registry.models import Case, Metastasis, Treatment
from registry.payload import case_payload
from registry.pseudonyms import case_key_pseudonym
from registry.services.cases import case_create
from tests.api_helpers import client_for
from tests.factories import founding_payload

SEEDS = Path(settings.BASE_DIR) / "seeds"
FHIR_JSON = "application/fhir+json"
IMPORT_URL = "/api/v1/fhir/Bundle"
ICD_O_3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PATIENT = "urn:uuid:7a0f3b8e-5c1d-4e2a-9b6f-000000000001"
PRIMARY = "urn:uuid:7a0f3b8e-5c1d-4e2a-9b6f-000000000002"
# Entries of the founding Bundle, by position.
PRIMARY_AT, SECONDARY_AT, SURGERY_AT = 1, 2, 3


def founding_bundle() -> dict:
    return json.loads((SEEDS / "fhir" / "founding_case_bundle.json").read_text())


def post(client, bundle, query: str = ""):
    body = bundle if isinstance(bundle, str | bytes) else json.dumps(bundle)
    return client.post(f"{IMPORT_URL}{query}", data=body, content_type=FHIR_JSON)


def outcome_of(response) -> dict:
    assert response["Content-Type"] == FHIR_JSON
    body = response.json()
    OperationOutcome.model_validate(body)  # a valid FHIR resource, not just JSON
    return body


def errors_of(response) -> list[tuple[str, str | None]]:
    """(issue code, FHIRPath) of each error issue."""
    return [
        (issue["code"], (issue.get("expression") or [None])[0])
        for issue in outcome_of(response)["issue"]
        if issue["severity"] == "error"
    ]


def write_result(response) -> str:
    return outcome_of(response)["issue"][0]["details"]["coding"][0]["code"]


def marker(code: str, value: dict) -> dict:
    return {
        "resource": {
            "resourceType": "Observation",
            "meta": {"profile": [codes.PROFILE_TUMOR_MARKER]},
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": PATIENT},
            "focus": [{"reference": PRIMARY}],
            **value,
        }
    }


def percent(value) -> dict:
    return {"valueQuantity": {"value": value, "unit": "%", "system": UCUM, "code": "%"}}


def history_rows() -> tuple[int, int, int]:
    return (Case.history.count(), Metastasis.history.count(), Treatment.history.count())


# ---------------------------------------------------------------- the founding case


@pytest.mark.django_db
def test_founding_case_bundle_imports_as_the_founding_case(submitter_a, hospital_a, hospital_b):
    response = post(client_for(submitter_a), founding_bundle())

    assert response.status_code == 201, response.content
    assert write_result(response) == "created"
    case = Case.objects.get()
    assert response["Location"] == f"/api/v1/fhir/Bundle/{case.uuid}"
    assert response["ETag"] == '"v1"'
    assert (case.institution, case.local_id) == (hospital_a, "lit-breast-idc-scalp-0001")
    assert (case.primary_site_id, case.primary_morphology_id) == ("C50.9", "8500/3")
    assert (case.sex, case.age_at_diagnosis, case.menopausal_status) == (
        "female",
        56,
        "postmenopausal",
    )
    metastasis = case.metastases.get()
    assert metastasis.site_id == "C44.4"  # from SNOMED CT 41695006, scalp structure
    assert (metastasis.presentation, metastasis.misdiagnosis) == ("nodule", "benign_lesion")
    assert (metastasis.morphology_id, metastasis.confirmed_by) == ("8500/6", ["histology"])
    surgery, systemic = case.treatments.order_by("id")
    assert (surgery.modality, surgery.target, surgery.metastasis) == (
        "surgery",
        "metastasis",
        metastasis,
    )
    assert (systemic.modality, systemic.target) == ("systemic_nos", "systemic")
    # The same case as the JSON seed, field for field.
    seeded = case_create(
        institution=hospital_b, local_id="json", payload=founding_payload(), actor=None
    )
    assert case_payload(case) == case_payload(seeded)


@pytest.mark.django_db
def test_import_reports_what_it_assumed(submitter_a):
    notes = outcome_of(post(client_for(submitter_a), founding_bundle()))["issue"][1:]

    assert notes == [
        {
            "severity": "information",
            "code": "informational",
            "diagnostics": "No drug code the registry maps; recorded as systemic therapy, "
            "not specified.",
            "expression": ["Bundle.entry[4].resource.medicationCodeableConcept"],
        }
    ]


@pytest.mark.django_db
def test_export_is_a_valid_mcode_bundle(submitter_a):
    client = client_for(submitter_a)
    location = post(client, founding_bundle())["Location"]

    response = client.get(location)

    assert response.status_code == 200
    assert response["Content-Type"] == FHIR_JSON
    assert response["ETag"] == '"v1"'
    bundle = Bundle.model_validate(response.json())
    assert bundle.type == "collection"
    assert bundle.identifier.value == "lit-breast-idc-scalp-0001"
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert kinds == ["Patient", "Condition", "Condition", "Procedure", "MedicationStatement"]
    secondary = bundle.entry[SECONDARY_AT].resource
    assert secondary.meta.profile == [codes.PROFILE_SECONDARY]
    assert secondary.bodySite[0].coding[0].code == "C44.4"
    primary = bundle.entry[PRIMARY_AT].resource
    assert primary.code.coding[0].code == "408643008"  # IDC of breast, from the concept map
    assert client.get(location).json() == response.json()  # the same case, the same Bundle


@pytest.mark.django_db
def test_reimporting_the_export_changes_nothing(submitter_a):
    client = client_for(submitter_a)
    location = post(client, founding_bundle())["Location"]
    exported = client.get(location).json()
    before = history_rows()

    response = post(client, exported)

    assert response.status_code == 200, response.content
    assert write_result(response) == "unchanged"
    assert response["Location"] == location
    assert Case.objects.count() == 1
    assert Case.objects.get().version == 1
    assert history_rows() == before
    assert client.get(location).json() == exported


@pytest.mark.django_db
def test_every_field_survives_a_round_trip(submitter_a, hospital_a):
    payload = founding_payload(
        source="literature",
        doi="10.1000/example.123",
        pmid="12345678",
        year_of_diagnosis=2019,
        primary_laterality="left",
        grade="G2",
        stage_group="IIB",
        er_percent=95,
        pr_percent=10,
        her2_ihc="2+",
        her2_ish="not_amplified",
        ki67_percent=30,
        vital_status="alive",
        follow_up_months=18,
    )
    payload["metastases"].append(
        {
            "site": "C41.2",
            "laterality": "not_applicable",
            "months_from_primary": 14,
            "presentation": "pain",
            "size_mm": 23,
            "confirmed_by": ["mri", "histology"],
            "morphology": None,
        }
    )
    payload["treatments"] += [
        {
            "modality": "radiotherapy",
            "target": "metastasis",
            "metastasis": 1,
            "intent": "palliative",
            "months_from_primary": 15,
            "response": "PR",
        },
        {"modality": "endocrine", "target": "systemic", "intent": "adjuvant", "response": "SD"},
        {
            "modality": "surgery",
            "target": "primary",
            "intent": "curative",
            "months_from_primary": 0,
        },
        {"modality": "other", "target": "systemic"},
    ]
    case = case_create(institution=hospital_a, local_id="rich", payload=payload, actor=None)
    assert case.subtype_id == "luminal_b_like_her2_negative"
    client = client_for(submitter_a)
    exported = client.get(f"/api/v1/fhir/Bundle/{case.uuid}").json()
    Bundle.model_validate(exported)
    before = history_rows()

    response = post(client, exported)

    assert write_result(response) == "unchanged", response.content
    assert history_rows() == before
    patient = exported["entry"][0]["resource"]
    assert patient["birthDate"] == "1963"  # the year only: 2019 minus 56
    assert "name" not in patient and "identifier" not in patient


@pytest.mark.django_db
def test_a_changed_bundle_updates_the_case(submitter_a):
    client = client_for(submitter_a)
    bundle = founding_bundle()
    post(client, bundle)
    bundle["entry"][SECONDARY_AT]["resource"]["extension"][2]["valueCode"] = "ulcer"

    response = post(client, bundle)

    assert response.status_code == 200
    assert write_result(response) == "updated"
    case = Case.objects.get()
    assert (case.version, case.metastases.get().presentation) == (2, "ulcer")


@pytest.mark.django_db
def test_the_key_is_scoped_to_the_institution(submitter_a, submitter_b):
    assert post(client_for(submitter_a), founding_bundle()).status_code == 201
    assert post(client_for(submitter_b), founding_bundle()).status_code == 201
    assert sorted(Case.objects.values_list("institution__code", flat=True)) == [
        "hosp-a",
        "hosp-b",
    ]


# ---------------------------------------------------------------- what the import reads


@pytest.mark.django_db
def test_receptors_derive_the_subtype_and_dates_give_years_only(submitter_a):
    bundle = founding_bundle()
    patient = bundle["entry"][0]["resource"]
    patient["birthDate"] = "1962-08-14"
    primary = bundle["entry"][PRIMARY_AT]["resource"]
    del primary["onsetAge"]
    primary["onsetDateTime"] = "2018-03-02"
    bundle["entry"][SECONDARY_AT]["resource"]["onsetDateTime"] = "2020-01-20"
    bundle["entry"] += [
        marker("85329-1", percent(90)),
        marker("85325-9", percent(60)),
        marker(
            "85319-2",
            {"valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA11841-6"}]}},
        ),
        marker("85330-9", percent(14.6)),
    ]

    response = post(client_for(submitter_a), bundle)

    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert (case.er_percent, case.pr_percent, case.her2_ihc, case.ki67_percent) == (
        90,
        60,
        "1+",
        15,
    )
    assert case.subtype_id == "luminal_a_like"
    assert (case.year_of_diagnosis, case.age_at_diagnosis) == (2018, 55)
    assert case.metastases.get().months_from_primary == 22
    notes = [issue.get("expression") for issue in outcome_of(response)["issue"]]
    assert ["Bundle.entry[0].resource.birthDate"] in notes


@pytest.mark.django_db
def test_identifying_elements_are_dropped_and_the_patient_id_gives_a_pseudonymous_key(
    submitter_a,
):
    bundle = founding_bundle()
    del bundle["identifier"]
    patient = bundle["entry"][0]["resource"]
    patient["id"] = "pat-42"
    patient["name"] = [{"family": "Doe", "given": ["Jane"]}]
    patient["identifier"] = [{"system": "urn:oid:1.2.3", "value": "MRN-0012345"}]
    patient["telecom"] = [{"system": "phone", "value": "+33 1 23 45 67 89"}]
    for entry in bundle["entry"][1:]:
        entry["resource"]["subject"] = {"reference": "Patient/pat-42"}

    response = post(client_for(submitter_a), bundle)

    assert response.status_code == 201, response.content
    assert Case.objects.get().local_id == case_key_pseudonym(
        institution_code=submitter_a.institution.code, kind="Patient.id", identifier="pat-42"
    )
    dropped = [
        issue["expression"][0]
        for issue in outcome_of(response)["issue"]
        if issue["diagnostics"].startswith("Not stored")
    ]
    assert dropped == [
        "Bundle.entry[0].resource.identifier",
        "Bundle.entry[0].resource.name",
        "Bundle.entry[0].resource.telecom",
        "Bundle.entry[0].resource.id",
    ]
    stored = json.dumps(case_payload(Case.objects.get()), default=str)
    assert "Doe" not in stored and "0012345" not in stored


@pytest.mark.django_db
def test_resources_the_registry_does_not_record_are_listed(submitter_a):
    bundle = founding_bundle()
    bundle["type"] = "transaction"
    bundle["entry"].append(
        {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
                "subject": {"reference": PATIENT},
            },
            "request": {"method": "POST", "url": "Observation"},
        }
    )

    response = post(client_for(submitter_a), bundle)

    assert response.status_code == 201, response.content
    assert {
        "severity": "information",
        "code": "informational",
        "diagnostics": "Not read: the registry does not record this Observation.",
        "expression": ["Bundle.entry[5].resource"],
    } in outcome_of(response)["issue"]


# ---------------------------------------------------------------- broken Bundles


def _with_secondary_body_site(code: str) -> dict:
    bundle = founding_bundle()
    bundle["entry"][SECONDARY_AT]["resource"]["bodySite"] = [
        {"coding": [{"system": codes.SNOMED, "code": code}]}
    ]
    return bundle


def _secondary_histology(code: str) -> dict:
    bundle = founding_bundle()
    histology = bundle["entry"][SECONDARY_AT]["resource"]["extension"][0]
    histology["valueCodeableConcept"]["coding"][0]["code"] = code
    return bundle


def _without_patient() -> dict:
    bundle = founding_bundle()
    del bundle["entry"][0]
    return bundle


def _with_er(value) -> dict:
    bundle = founding_bundle()
    bundle["entry"].append(marker("85329-1", percent(value)))
    return bundle


def _with_misdiagnosis_text(text: str) -> dict:
    bundle = founding_bundle()
    bundle["entry"][SECONDARY_AT]["resource"]["extension"][3]["valueCodeableConcept"]["text"] = text
    return bundle


def _with(change) -> dict:
    bundle = founding_bundle()
    change(bundle)
    return bundle


SECONDARY = f"Bundle.entry[{SECONDARY_AT}].resource"
BROKEN = {
    "JSON syntax error": ('{"resourceType": "Bundle",', 400, [("structure", None)]),
    "NaN is no JSON number": (
        '{"resourceType": "Bundle", "total": NaN}',
        400,
        [("structure", None)],
    ),
    "contained resource of an unknown type": (
        _with(lambda b: b["entry"][0]["resource"].update(contained=[{"resourceType": "Nope"}])),
        400,
        [("invalid", None)],
    ),
    "not a Bundle": (
        {"resourceType": "Patient", "gender": "female"},
        400,
        [("invalid", None)],
    ),
    "unknown element": (
        _with(lambda b: b["entry"][0]["resource"].update(nickname="J")),
        400,
        [("invalid", "Bundle.entry[0].resource.nickname")],
    ),
    "malformed date": (
        _with(lambda b: b["entry"][PRIMARY_AT]["resource"].update(recordedDate="2020-13-45")),
        400,
        [("invalid", "Bundle.entry[1].resource.recordedDate")],
    ),
    "unknown resource type": (
        _with(lambda b: b["entry"].append({"resource": {"resourceType": "Tumour"}})),
        400,
        [("invalid", "Bundle.entry[5].resource.resourceType")],
    ),
    "an extension given twice": (
        _with(
            lambda b: b["entry"][SECONDARY_AT]["resource"]["extension"].append(
                {"url": codes.EXT_PRESENTATION, "valueCode": "ulcer"}
            )
        ),
        422,
        [("invalid", f"Bundle.entry[{SECONDARY_AT}].resource.extension[5]")],
    ),
    "document Bundle": (
        _with(lambda b: b.update(type="document")),
        422,
        [("not-supported", "Bundle.type")],
    ),
    "Patient missing": (_without_patient(), 422, [("required", "Bundle.entry")]),
    "unmappable SNOMED CT body site": (
        _with_secondary_body_site("999999999"),
        422,
        [("code-invalid", f"{SECONDARY}.bodySite[0].coding[0]")],
    ),
    "behaviour /3 on a secondary": (
        _secondary_histology("8500/3"),
        422,
        [("business-rule", f"{SECONDARY}.extension[0].valueCodeableConcept.coding[0]")],
    ),
    "receptor value out of range": (
        _with_er(150),
        422,
        [("business-rule", "Bundle.entry[5].resource.valueQuantity.value")],
    ),
    "identifier in free text": (
        _with_misdiagnosis_text("Seen by Dr X, call 01 23 45 67 89 for the chart"),
        422,
        # Every kind found: a phone number and a long number.
        [("business-rule", f"{SECONDARY}.extension[3].valueCodeableConcept.text")] * 2,
    ),
    "metastatic site same as primary": (
        _with_secondary_body_site("76752008"),
        422,
        [("business-rule", f"{SECONDARY}.bodySite[0].coding[0]")],
    ),
    "subject is not the Patient": (
        _with(lambda b: b["entry"][SURGERY_AT]["resource"].update(subject={"reference": "x/1"})),
        422,
        [("invalid", "Bundle.entry[3].resource.subject")],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "expression"),
    [
        (  # ER as an interpretation: the registry keeps percentages
            lambda b: b["entry"].append(
                marker("85337-4", {"valueCodeableConcept": {"text": "Positive"}})
            ),
            "Bundle.entry[5].resource.value[x]",
        ),
        (  # a laterality qualifier the concept map does not know
            lambda b: b["entry"][PRIMARY_AT]["resource"]["bodySite"][0].update(
                extension=[
                    {
                        "url": codes.EXT_LATERALITY,
                        "valueCodeableConcept": {
                            "coding": [{"system": codes.SNOMED, "code": "66459002"}]
                        },
                    }
                ]
            ),
            f"Bundle.entry[{PRIMARY_AT}].resource.bodySite[0].extension[0].valueCodeableConcept",
        ),
    ],
    ids=["ER as an interpretation", "unknown laterality qualifier"],
)
def test_what_the_registry_cannot_store_is_noted_and_the_case_kept(submitter_a, change, expression):
    response = post(client_for(submitter_a), _with(change))

    assert response.status_code == 201, response.content
    notes = [
        issue["expression"][0]
        for issue in outcome_of(response)["issue"]
        if issue["diagnostics"].startswith("Not read:")
    ]
    assert expression in notes
    assert Case.objects.get().er_percent is None


@pytest.mark.django_db
@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_bundle_gets_a_precise_operation_outcome_and_stores_nothing(name, submitter_a):
    bundle, status, expected = BROKEN[name]

    response = post(client_for(submitter_a), copy.deepcopy(bundle))

    assert response.status_code == status, response.content
    assert errors_of(response) == expected
    assert not Case.objects.exists()
    assert history_rows() == (0, 0, 0)


@pytest.mark.django_db
def test_every_problem_is_listed_at_once(submitter_a):
    bundle = _with_secondary_body_site("999999999")
    del bundle["entry"][PRIMARY_AT]["resource"]["bodySite"]
    del bundle["entry"][PRIMARY_AT]["resource"]["code"]
    bundle["entry"][0]["resource"]["gender"] = "femme"

    response = post(client_for(submitter_a), bundle)

    assert response.status_code == 422
    assert errors_of(response) == [
        ("code-invalid", "Bundle.entry[0].resource.gender"),
        ("required", "Bundle.entry[1].resource.bodySite"),
        ("code-invalid", f"{SECONDARY}.bodySite[0].coding[0]"),
    ]


def test_a_registry_error_points_at_the_nearest_element():
    mapped = MappedCase(
        "key",
        {},
        {"": "Bundle.entry[1].resource", "metastases[0]": "Bundle.entry[2].resource"},
    )
    assert mapped.expression_for("metastases[0].size_mm") == "Bundle.entry[2].resource"
    assert mapped.expression_for("grade") == "Bundle.entry[1].resource"
    assert mapped.expression_for("__all__") == "Bundle.entry[1].resource"


# ---------------------------------------------------------------- who may do what


@pytest.mark.django_db
def test_anonymous_callers_get_401_and_analysts_403_as_problem_details(analyst, submitter_a):
    anonymous = post(client_for(None), founding_bundle())
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/problem+json"
    refused = post(client_for(analyst), founding_bundle())
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    location = post(client_for(submitter_a), founding_bundle())["Location"]
    assert client_for(analyst).get(location).status_code == 403
    assert client_for(None).get(location).status_code == 401
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_curators_name_the_institution(curator, hospital_a):
    client = client_for(curator)

    missing = post(client, founding_bundle())
    unknown = post(client, founding_bundle(), "?institution=nowhere")
    named = post(client, founding_bundle(), "?institution=hosp-a")

    assert (missing.status_code, errors_of(missing)) == (400, [("required", None)])
    assert (unknown.status_code, errors_of(unknown)) == (400, [("invalid", None)])
    assert named.status_code == 201
    assert Case.objects.get().institution == hospital_a


@pytest.mark.django_db
def test_submitters_write_and_read_only_their_own(submitter_a, submitter_b, curator, hospital_b):
    elsewhere = post(client_for(submitter_a), founding_bundle(), "?institution=hosp-b")
    assert (elsewhere.status_code, errors_of(elsewhere)) == (400, [("invalid", None)])
    location = post(client_for(submitter_a), founding_bundle())["Location"]

    assert client_for(submitter_b).get(location).status_code == 404
    assert client_for(curator).get(location).status_code == 200
    missing = client_for(curator).get("/api/v1/fhir/Bundle/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


# ---------------------------------------------------------------- data files


def test_every_mapped_icd_o_3_code_is_in_the_vocabularies():
    def seed_codes(name: str) -> set[str]:
        with (SEEDS / name).open(encoding="utf-8", newline="") as seed:
            return {row["code"] for row in csv.DictReader(seed)}

    known = {"topography": seed_codes("topography.csv"), "morphology": seed_codes("morphology.csv")}
    rows = codes.read_concept_map().rows
    for row in rows:
        if row["target"] in known:
            assert row["target_code"] in known[row["target"]], row
    sites = {row["target_code"] for row in rows if row["target"] == "topography"}
    # The metastatic sites the registry is about, at least.
    assert {"C41.9", "C34.9", "C22.0", "C71.9", "C44.9", "C44.4", "C77.9", "C38.4"} <= sites
    assert {"C74.9", "C69.6"} <= sites


@pytest.mark.django_db
def test_the_shipped_export_example_reads_back_as_the_founding_case(submitter_a, hospital_b):
    example = json.loads((SEEDS / "fhir" / "founding_case_export.json").read_text())

    response = post(client_for(submitter_a), example)

    assert response.status_code == 201, response.content
    seeded = case_create(
        institution=hospital_b, local_id="json", payload=founding_payload(), actor=None
    )
    assert case_payload(Case.objects.get(local_id=example["identifier"]["value"])) == (
        case_payload(seeded)
    )
