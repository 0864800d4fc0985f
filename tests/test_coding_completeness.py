"""Issue 24: what a registrar codes from a published case report goes in as coded.

Stage groups with their subgroups and FIGO, what was found first (in the API, the
batch, the statistics and the site profile), the new value lists, and a skin
metastasis at a skin primary's own code.
"""

import pytest
from django.core.exceptions import ValidationError

from registry.models import Case, CaseFlag, ReviewStatus
from registry.services.cases import case_create
from tests.api_helpers import client_for
from tests.factories import founding_payload
from tests.stats_helpers import get, rows_of

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"

CERVIX_IVB = {
    "primary_site": "C53.9",
    "primary_morphology": "8070/3",
    "primary_laterality": "not_applicable",
    "stage_group": "IVB",
    "stage_system": "figo",
    "er_percent": None,
    "pr_percent": None,
    "her2_ihc": "",
    "her2_ish": "",
    "ki67_percent": None,
    "subtype": None,
}


def create(institution, local_id="c-1", metastases=None, **changes) -> Case:
    payload = founding_payload(**changes)
    if metastases is not None:
        payload["metastases"] = metastases
    case = case_create(institution=institution, local_id=local_id, payload=payload, actor=None)
    return Case.objects.get(pk=case.pk)


def errors(institution, **changes) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        create(institution, **changes)
    return raised.value.message_dict


# ---------------------------------------------------------------- stage


@pytest.mark.parametrize("stage", ["0is", "IA1", "IB3", "IIIC2", "IVA", "IVB", "IVC"])
def test_ajcc_subgroups_are_stored(hospital_a, stage):
    assert create(hospital_a, stage_group=stage).stage_group == stage


def test_a_published_figo_ivb_cervical_cancer_is_stored(hospital_a):
    case = create(hospital_a, **CERVIX_IVB)
    assert (case.stage_group, case.stage_system) == ("IVB", "figo")


def test_figo_on_a_non_gynaecological_primary_is_refused_naming_the_field(hospital_a):
    assert list(errors(hospital_a, stage_group="IIB", stage_system="figo")) == ["stage_system"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("stage_group", "IVD"), ("stage_group", "4b"), ("stage_system", "tnm7")],
)
def test_a_stage_that_does_not_exist_is_a_400_naming_the_field(submitter_a, field, value):
    payload = {**founding_payload(), "local_id": "bad-stage", field: value}
    response = client_for(submitter_a).post(CASES, payload, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]


# ---------------------------------------------------------------- value lists


@pytest.mark.parametrize(
    "presentation", ["bleeding", "obstruction", "perforation", "neurological_deficit"]
)
def test_the_new_presentations_are_stored(hospital_a, presentation):
    metastasis = {**founding_payload()["metastases"][0], "presentation": presentation}
    case = create(hospital_a, metastases=[metastasis])
    assert case.metastases.get().presentation == presentation


def test_autopsy_endoscopy_and_scintigraphy_confirm_a_metastasis(hospital_a):
    metastasis = {
        **founding_payload()["metastases"][0],
        "confirmed_by": ["autopsy", "endoscopy", "scintigraphy"],
    }
    case = create(hospital_a, metastases=[metastasis])
    assert case.metastases.get().confirmed_by == ["autopsy", "endoscopy", "scintigraphy"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"presentation": "haemorrhage"}, "metastases[0].presentation"),
        ({"confirmed_by": ["necropsy"]}, "metastases[0].confirmed_by"),
    ],
)
def test_a_value_not_in_the_lists_is_a_400_naming_the_field(submitter_a, change, field):
    payload = founding_payload()
    payload["metastases"][0].update(change)
    response = client_for(submitter_a).post(CASES, {**payload, "local_id": "v"}, format="json")
    assert response.status_code == 400
    assert any(error["field"].startswith(field) for error in response.json()["errors"])


# ---------------------------------------------------------------- skin to skin

MELANOMA_BACK = {
    "primary_site": "C44.5",
    "primary_morphology": "8720/3",
    "er_percent": None,
    "pr_percent": None,
    "her2_ihc": "",
    "her2_ish": "",
    "ki67_percent": None,
    "subtype": None,
}


def skin_metastasis(laterality: str) -> dict:
    return {"site": "C44.5", "laterality": laterality, "months_from_primary": 30}


def test_a_melanoma_skin_metastasis_at_the_same_code_on_the_other_side_is_plain(hospital_a):
    case = create(
        hospital_a,
        primary_laterality="left",
        metastases=[skin_metastasis("right")],
        **MELANOMA_BACK,
    )
    assert not case.has_open_flags


def test_back_to_abdomen_both_c44_5_is_stored_and_waits_for_a_curator(hospital_a):
    case = create(
        hospital_a,
        primary_laterality="midline",
        metastases=[skin_metastasis("midline")],
        **MELANOMA_BACK,
    )
    flag = CaseFlag.objects.get(case=case)
    assert (flag.code, flag.field) == ("skin_same_site", "metastases[0].site")
    assert case.has_open_flags


def test_a_metastasis_at_a_non_skin_unpaired_primary_code_is_still_refused(hospital_a):
    messages = errors(
        hospital_a,
        primary_site="C16.9",
        primary_morphology="8490/3",
        subtype=None,
        er_percent=None,
        pr_percent=None,
        her2_ihc="",
        her2_ish="",
        ki67_percent=None,
        metastases=[{"site": "C16.9", "laterality": "not_applicable"}],
    )
    assert "metastases[0].site" in messages


# ---------------------------------------------------------------- what was found first


def test_what_was_found_first_goes_in_through_the_api_and_the_batch(submitter_a):
    client = client_for(submitter_a)
    payload = {
        **founding_payload(),
        "local_id": "first-1",
        "diagnostic_sequence": "metastasis_first",
    }
    created = client.post(CASES, payload, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["diagnostic_sequence"] == "metastasis_first"
    batch = client.post(
        CASES + "batch/",
        {
            "cases": [
                {**founding_payload(), "local_id": "first-2", "diagnostic_sequence": "simultaneous"}
            ]
        },
        format="json",
    )
    assert batch.status_code == 200, batch.content
    assert Case.objects.get(local_id="first-2").diagnostic_sequence == "simultaneous"


def test_an_unknown_diagnostic_sequence_is_a_400_naming_the_field(submitter_a):
    payload = {**founding_payload(), "local_id": "x", "diagnostic_sequence": "metastasis_before"}
    response = client_for(submitter_a).post(CASES, payload, format="json")
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["diagnostic_sequence"]


SEQUENCES = ["metastasis_first"] * 3 + ["primary_first"] * 4 + ["simultaneous", "unknown"]


@pytest.fixture
def sequenced(hospital_a):
    for index, sequence in enumerate(SEQUENCES):
        case = create(hospital_a, local_id=f"seq-{index}", diagnostic_sequence=sequence)
        Case.objects.filter(pk=case.pk).update(status=ReviewStatus.VERIFIED)


def test_curators_count_cases_by_what_was_found_first(curator, sequenced):
    body = get(client_for(curator), "counts/", by="diagnostic_sequence")
    assert rows_of(body) == {
        "primary_first": 4,
        "metastasis_first": 3,
        "simultaneous": 1,
        "unknown": 1,
    }
    selected = get(client_for(curator), "", group_by="code", diagnostic_sequence="metastasis_first")
    assert selected["total"]["cases"] == 3


def test_the_site_profile_says_how_often_the_metastasis_was_found_first(curator, sequenced):
    profile = get(client_for(curator), "profile/", primary_category="C50", site="C44.4")
    assert profile["found_first"]["cases"] == 3
    assert profile["found_first"]["of"] == 8  # unknown left out
    assert profile["found_first"]["share"] == pytest.approx(3 / 8)


def test_analysts_may_count_and_filter_by_what_was_found_first(analyst, sequenced):
    client = client_for(analyst)
    body = get(client, "counts/", by="diagnostic_sequence")
    # Nine cases, all below the threshold: every row hidden, none leaked.
    assert all(row["cases"] is None for row in body["rows"])
    filtered = get(client, "counts/", by="sex", diagnostic_sequence="metastasis_first")
    assert filtered["filters"] == {"diagnostic_sequence": ["metastasis_first"]}
    response = client.get("/api/v1/stats/counts/", {"by": "sex", "diagnostic_sequence": "first"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "diagnostic_sequence"
