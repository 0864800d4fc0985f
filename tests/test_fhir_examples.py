"""HL7's own mCODE examples import, and nothing that identifies their patient is kept.

The Bundles in tests/fhir_examples/ are the IG's example instances (see the
README there). Also here: the rules that make real Bundles importable (dates
before the primary's onset, RxNorm clinical drugs, AJCC stage groups) and the
pseudonymous case key.
"""

import copy
import json
import os
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from api.fhir import codes
from registry.case_keys import clean_local_id
from registry.models import Case, Treatment
from registry.pseudonyms import case_key_pseudonym
from tests.api_helpers import client_for
from tests.process_helpers import run_python

EXAMPLES = Path(__file__).parent / "fhir_examples"
STU4 = "mcode-stu4-john-anyperson.json"
STU1 = "mcode-stu1-john-anyperson.json"
JENNY = "mcode-stu4-jenny-m.json"
IMPORT_URL = "/api/v1/fhir/Bundle"
FHIR_JSON = "application/fhir+json"

# Every string in the examples that names or locates John Anyperson or his doctor.
IDENTIFYING = [
    "bundle-john-anyperson-1",
    "cancer-patient-john-anyperson",
    "mCODEPatientExample01",
    "anyperson",
    "john",
    "m123",
    "555-555-5555",
    "john.anyperson@example.com",
    "123 main st",
    "anytown",
    "anydoc",
    "kyle",
    "9988776651",
    "567 healthcare drive",
    "1951-01-20",
    "2019-04-01",
    "2019-03-01",
    "2019-05-01",
    "http://example.org/fhir",
    "hospital.example.org",
]


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def post(client, bundle: dict, query: str = ""):
    return client.post(f"{IMPORT_URL}{query}", data=json.dumps(bundle), content_type=FHIR_JSON)


def notes_of(response) -> list[tuple[str, str | None]]:
    return [
        (issue["diagnostics"], (issue.get("expression") or [None])[0])
        for issue in response.json()["issue"][1:]
    ]


def every_stored_text() -> str:
    """Every row of every table of the database, as text, lower-cased."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
        tables = [name for (name,) in cursor.fetchall()]
        rows = []
        for table in tables:
            cursor.execute(f"SELECT row_to_json(t)::text FROM {connection.ops.quote_name(table)} t")
            rows += [row for (row,) in cursor.fetchall()]
    return "\n".join(rows).lower()


# ---------------------------------------------------------------- the HL7 examples


@pytest.mark.parametrize("name", [STU4, STU1])
def test_the_hl7_mcode_examples_import(submitter_a, name):
    response = post(client_for(submitter_a), example(name))

    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert (case.primary_site_id, case.primary_morphology_id) == ("C34.9", "8140/3")
    assert (case.primary_laterality, case.stage_group) == ("left", "IIIC")
    assert (case.sex, case.year_of_diagnosis, case.age_at_diagnosis) == ("male", 2019, 68)
    assert [(m.site_id, m.months_from_primary) for m in case.metastases.all()] == [("C71.9", 1)]


def test_the_stu4_example_keeps_its_lobectomy_and_cisplatin(submitter_a):
    response = post(client_for(submitter_a), example(STU4))

    treatments = Treatment.objects.order_by("pk")
    assert [(t.modality, t.months_from_primary, t.intent) for t in treatments] == [
        ("surgery", 0, "curative"),
        ("chemotherapy", 0, "curative"),
    ]
    notes = notes_of(response)
    assert (
        "Dated 1 month(s) before the primary cancer's onset; recorded as month 0 (at diagnosis).",
        "Bundle.entry[4].resource.performedDateTime",
    ) in notes
    assert any(
        "RxNorm SCD 309311" in text and "cisplatin" in text and "chemotherapy" in text
        for text, _ in notes
    )


def test_the_stu1_example_keeps_radiotherapy_and_gefitinib(submitter_a):
    post(client_for(submitter_a), example(STU1))

    modalities = sorted(Treatment.objects.values_list("modality", "months_from_primary"))
    assert modalities == [("other", 0), ("radiotherapy", 0), ("surgery", 0)]


def test_dates_before_onset_are_informational_issues_not_errors(submitter_a):
    response = post(client_for(submitter_a), example(STU4))

    severities = {issue["severity"] for issue in response.json()["issue"]}
    assert severities == {"information"}


@pytest.mark.parametrize("name", [STU4, STU1])
def test_no_identifier_of_the_example_is_kept_in_any_table_or_the_export(submitter_a, name):
    client = client_for(submitter_a)
    created = post(client, example(name))
    assert created.status_code == 201, created.content
    post(client, example(name))  # a re-import writes history and idempotency rows, if any

    stored = every_stored_text()
    case = Case.objects.get()
    assert case.local_id in stored and "c34.9" in stored  # the case and its history were read
    exported = client.get(created["Location"]).content.decode().lower()
    answered = created.content.decode().lower()
    for text in IDENTIFYING:
        assert text.lower() not in stored, text
        assert text.lower() not in exported, text
        assert text.lower() not in answered, text


def test_the_breast_cancer_example_without_a_metastasis_is_refused_for_that_alone(submitter_a):
    """Jenny M has no metastasis: the one thing a metastasis registry cannot store."""
    response = post(client_for(submitter_a), example(JENNY))

    assert response.status_code == 422, response.content
    issues = response.json()["issue"]
    assert [(issue["code"], issue["expression"]) for issue in issues] == [
        ("required", ["Bundle.entry"])
    ]
    assert "no SecondaryCancerCondition" in issues[0]["diagnostics"]
    assert not Case.objects.exists()


def test_the_breast_cancer_example_imports_once_it_has_a_metastasis(submitter_a):
    bundle = example(JENNY)
    bundle["entry"].append(
        {
            "resource": {
                "resourceType": "Condition",
                "id": "bone-metastasis",
                "meta": {"profile": [codes.PROFILE_SECONDARY]},
                "code": {"coding": [{"system": codes.SNOMED, "code": "94222008"}]},
                "subject": {"reference": "Patient/cancer-patient-jenny-m"},
                "onsetDateTime": "2019-06-20",
            }
        }
    )
    response = post(client_for(submitter_a), bundle)

    assert response.status_code == 201, response.content
    case = Case.objects.get()
    assert (case.primary_site_id, case.primary_laterality) == ("C50.9", "left")
    assert (case.primary_morphology_id, case.stage_group) == ("8500/3", "IIIC")
    assert (case.sex, case.age_at_diagnosis, case.year_of_diagnosis) == ("female", 53, 2018)
    assert (case.er_percent, case.pr_percent) == (None, None)  # given as positive/negative
    assert [(m.site_id, m.months_from_primary) for m in case.metastases.all()] == [("C41.9", 15)]
    assert sorted(Treatment.objects.values_list("modality", "months_from_primary")) == [
        ("chemotherapy", 0),
        ("chemotherapy", 0),
        ("chemotherapy", 0),
        ("endocrine", 6),
        ("radiotherapy", 4),
        ("surgery", 0),
    ]
    not_read = [where for text, where in notes_of(response) if text.startswith("Not read")]
    assert "Bundle.entry[9].resource.value[x]" in not_read  # ER positive
    assert "Bundle.entry[10].resource.value[x]" in not_read  # PR negative
    stored = every_stored_text()
    for text in ["mrn1234", "jenny", "555-867-5309", "example@example.com", "1965-01-01"]:
        assert text not in stored, text


# ---------------------------------------------------------------- the pseudonymous key


def test_a_reimport_finds_its_case_by_the_pseudonym(submitter_a):
    client = client_for(submitter_a)
    first = post(client, example(STU4))
    changed = example(STU4)
    changed["entry"][3]["resource"]["onsetDateTime"] = "2019-07-01"  # metastasis later

    again = post(client, changed)

    assert again.status_code == 200, again.content
    assert again["Location"] == first["Location"]
    assert Case.objects.get().metastases.get().months_from_primary == 3


def test_the_same_bundle_from_two_institutions_makes_two_keys(submitter_a, submitter_b):
    post(client_for(submitter_a), example(STU4))
    post(client_for(submitter_b), example(STU4))

    keys = set(Case.objects.values_list("local_id", flat=True))
    assert len(keys) == 2
    assert all(key.startswith("fhir-") for key in keys)


def test_without_a_bundle_identifier_the_patient_id_gives_the_key(submitter_a):
    bundle = example(STU4)
    del bundle["identifier"]
    post(client_for(submitter_a), bundle)

    expected = case_key_pseudonym(
        institution_code=submitter_a.institution.code,
        kind="Patient.id",
        identifier="cancer-patient-john-anyperson",
    )
    assert Case.objects.get().local_id == expected


def test_pseudonyms_are_stable_scoped_and_pass_the_key_rules():
    key = case_key_pseudonym(institution_code="hosp-a", kind="Patient.id", identifier="p-1")
    assert key == case_key_pseudonym(institution_code="hosp-a", kind="Patient.id", identifier="p-1")
    others = {
        case_key_pseudonym(institution_code="hosp-b", kind="Patient.id", identifier="p-1"),
        case_key_pseudonym(institution_code="hosp-a", kind="Bundle.identifier", identifier="p-1"),
        case_key_pseudonym(institution_code="hosp-a", kind="Patient.id", identifier="p-2"),
    }
    assert key not in others and len(others) == 3
    assert clean_local_id(key) == key
    assert key[len("fhir-") :].isalpha() and len(key) == len("fhir-") + 24


def test_the_pseudonym_depends_on_the_registry_secret():
    before = case_key_pseudonym(institution_code="hosp-a", kind="Patient.id", identifier="p-1")
    with override_settings(REGISTRY_PSEUDONYM_KEY="another-registry-secret"):
        after = case_key_pseudonym(institution_code="hosp-a", kind="Patient.id", identifier="p-1")
    assert before != after


def test_production_settings_need_a_pseudonym_key():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REGISTRY_PSEUDONYM_KEY"}}
    env.update(SECRET_KEY="a-real-secret-from-the-environment")
    result = run_python("-c", "import config.settings", env=env)
    assert result.returncode != 0
    assert "REGISTRY_PSEUDONYM_KEY" in result.stderr


def test_the_registrys_own_key_from_an_export_is_kept(submitter_a):
    bundle = example(STU4)
    bundle["identifier"] = {"system": codes.LOCAL_ID_SYSTEM + "/hosp-a", "value": "lung-0001"}
    post(client_for(submitter_a), bundle)

    assert Case.objects.get().local_id == "lung-0001"


def test_a_registry_key_that_identifies_is_refused_at_bundle_identifier(submitter_a):
    bundle = example(STU4)
    bundle["identifier"] = {"system": codes.LOCAL_ID_SYSTEM, "value": "john.anyperson@example.com"}
    response = post(client_for(submitter_a), bundle)

    assert response.status_code == 422
    issues = response.json()["issue"]
    assert [issue["expression"] for issue in issues] == [["Bundle.identifier.value"]]
    assert "an e-mail address" in issues[0]["diagnostics"]
    assert not Case.objects.exists()


# ---------------------------------------------------------------- stage groups


@pytest.mark.parametrize(
    ("system", "code", "stage", "noted"),
    [
        (codes.AJCC, "3C", "IIIC", False),
        (codes.AJCC, "IIIC", "IIIC", False),
        (codes.AJCC, "2A", "IIA", False),
        (codes.AJCC, "0", "0", False),
        # Issue 24: AJCC 8's subgroups are held as they are.
        (codes.AJCC, "1A1", "IA1", False),
        (codes.AJCC, "4B", "IVB", False),
        (codes.AJCC, "IVC", "IVC", False),
        (codes.AJCC, "0is", "0is", False),
        (codes.AJCC, "3C3", "IIIC", True),  # no IIIC3 in any system: read as IIIC, noted
        (codes.SNOMED, "1222806003", "IIIC", False),
        (codes.SNOMED, "1222769001", "IIB", False),
        (codes.CS_STAGE_GROUP, "IV", "IV", False),
        (codes.CS_STAGE_GROUP, "IIIC2", "IIIC2", False),
    ],
)
def test_stage_groups_are_read_in_the_usual_code_systems(submitter_a, system, code, stage, noted):
    bundle = example(STU4)
    primary = bundle["entry"][2]["resource"]
    primary["stage"][0]["summary"] = {"coding": [{"system": system, "code": code}]}
    bundle["entry"].pop(6)  # the stage group Observation, which says IIIC
    response = post(client_for(submitter_a), bundle)

    assert response.status_code == 201, response.content
    assert Case.objects.get().stage_group == stage
    read_as = [text for text, _ in notes_of(response) if text.startswith("Stage ")]
    assert read_as == ([f"Stage {code} read as stage group {stage}."] if noted else [])


def test_the_stage_group_observation_is_read_when_the_summary_is_not(submitter_a):
    bundle = example(STU1)
    del bundle["entry"][1]["resource"]["stage"]
    post(client_for(submitter_a), bundle)

    assert Case.objects.get().stage_group == "IIIC"


def test_a_stage_the_registry_cannot_hold_is_noted_and_left_unknown(submitter_a):
    bundle = example(STU4)
    bundle["entry"][2]["resource"]["stage"][0]["summary"] = {
        "coding": [{"system": codes.AJCC, "code": "Occult"}]
    }
    bundle["entry"].pop(6)
    response = post(client_for(submitter_a), bundle)

    assert response.status_code == 201, response.content
    assert Case.objects.get().stage_group == "unknown"
    assert any(text.startswith("Not read: no AJCC stage group") for text, _ in notes_of(response))


# ---------------------------------------------------------------- RxNorm drugs


def test_every_shipped_drug_maps_to_a_modality_through_its_ingredient():
    concept_map = codes.concept_map()
    for drug in codes.drugs().values():
        assert drug.tty in {"SCD", "SBD"}, drug
        assert concept_map.registry_code("modality", codes.RXNORM, drug.ingredient_rxcui), drug


@pytest.mark.parametrize(
    ("rxcui", "modality"), [("199224", "endocrine"), ("1946840", "cdk46_inhibitor")]
)
def test_a_clinical_or_branded_drug_counts_as_its_ingredients_modality(
    submitter_a, rxcui, modality
):
    bundle = example(STU4)
    cisplatin = bundle["entry"][5]["resource"]
    cisplatin["medicationCodeableConcept"] = {"coding": [{"system": codes.RXNORM, "code": rxcui}]}
    post(client_for(submitter_a), bundle)

    assert modality in set(Treatment.objects.values_list("modality", flat=True))


# ---------------------------------------------------------------- hostile text


def test_a_huge_text_in_a_bundle_is_refused_for_its_length_without_being_screened(submitter_a):
    bundle = copy.deepcopy(example(STU4))
    secondary = bundle["entry"][3]["resource"]
    secondary["extension"].append(
        {
            "url": codes.EXT_MISDIAGNOSIS,
            "valueCodeableConcept": {"text": "Dr Smith x@localhost 1 2 3 4 " * 4_000},
        }
    )
    response = post(client_for(submitter_a), bundle)

    assert response.status_code == 422
    diagnostics = [issue["diagnostics"] for issue in response.json()["issue"]]
    assert len(diagnostics) == 1
    assert "at most 200 characters" in diagnostics[0]
