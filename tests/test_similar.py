"""POST /api/v1/similar/: published cases ranked with reasons, and no row oracle for hospitals."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.atlas import PartialCase, possible_points, score_case
from registry.models import Case
from tests.api_helpers import client_for
from tests.atlas_helpers import founding_report, hospital_case, literature_case

pytestmark = pytest.mark.django_db

SIMILAR = "/api/v1/similar/"
# "Breast IDC, metastasis to the scalp, a nodule first taken for a cyst."
CLINICIAN = {
    "primary": "C50",
    "morphology": "8500/3",
    "site": "C44.4",
    "presentation": "nodule",
    "misdiagnosis": "benign_lesion",
    "sex": "female",
    "text": "cyst",
}


@pytest.fixture
def atlas(curator):
    """The founding report and three published cases less like the clinician's patient."""
    founding = founding_report(curator)
    literature_case(
        "lit-breast-bone", curator=curator,
        metastases=[{"site": "C41.2", "presentation": "pain", "morphology": "8500/6"}],
        treatments=[],
    )  # fmt: skip
    literature_case(
        "lit-lung-scalp", curator=curator, sex="male", menopausal_status="not_applicable",
        primary_site="C34.1", primary_morphology="8140/3",
        metastases=[{"site": "C44.4", "presentation": "nodule", "morphology": "8140/6"}],
        treatments=[],
    )  # fmt: skip
    literature_case(
        "lit-breast-face", curator=curator, primary_morphology="8520/3",
        metastases=[{"site": "C44.3", "presentation": "plaque", "morphology": "8520/6"}],
        treatments=[],
    )  # fmt: skip
    return founding


def post(user, body):
    return client_for(user).post(SIMILAR, body, format="json")


def test_the_clinicians_query_finds_the_founding_report_first_with_its_reasons(analyst, atlas):
    response = post(analyst, CLINICIAN)
    assert response.status_code == 200
    first, *others = response.json()["literature"]
    assert first["case"]["uuid"] == str(atlas.uuid)
    assert first["case"]["citation"]["doi"] == "10.5555/rmr.founding.0001"
    reasons = " | ".join(first["reasons"])
    for expected in ("same site, C44.4", "same histology, 8500/3", "presented as nodule",
                     "first taken for: benign lesion", "free text matches 'cyst'"):  # fmt: skip
        assert expected in reasons
    assert first["score"] == pytest.approx(1.0)
    assert [match["score"] for match in others] == sorted(
        (match["score"] for match in others), reverse=True
    )
    assert all(match["score"] < first["score"] for match in others)


def test_hospital_cases_reach_curators_only(analyst, curator, atlas, hospital_a, submitter_a):
    record = hospital_case(hospital_a, submitter_a, curator)
    for_analyst = post(analyst, CLINICIAN).json()
    assert for_analyst["registry"] is None
    assert str(record.uuid) not in str(for_analyst)
    for_curator = post(curator, CLINICIAN).json()
    assert [match["case"]["uuid"] for match in for_curator["registry"]] == [str(record.uuid)]


def test_analysts_get_the_protected_profile_the_statistics_give(analyst, atlas):
    profile = post(analyst, CLINICIAN).json()["profile"]
    assert profile["suppression"]["applied"] is True
    same = client_for(analyst).get(
        "/api/v1/stats/profile/", {"primary_category": "C50", "site": "C44.4"}
    )
    assert profile == same.json()


@pytest.mark.postgres
def test_one_hospital_case_changes_nothing_an_analyst_reads(
    analyst, curator, atlas, hospital_a, submitter_a
):
    """The row-oracle attack: ask, add one patient at a hospital, ask again."""
    before = post(analyst, CLINICIAN).json()
    hospital_case(hospital_a, submitter_a, curator, local_id="a-lonely", age_at_diagnosis=57)
    after = post(analyst, CLINICIAN).json()
    assert after["literature"] == before["literature"]
    assert after["registry"] is None
    # The profile counts the registry, protected: a handful of cases is hidden either way.
    assert before["profile"]["cases"] is None and after["profile"]["cases"] is None
    # For a curator the new case is right there: the difference is the analyst's protection.
    assert post(curator, CLINICIAN).json()["registry"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, None),  # a problem about the whole body names no field
        ({"limit": 5}, None),
        ({"site": "scalp"}, "site"),
        ({"site": "C44.4", "institution": "hosp-a"}, "institution"),
        ({"months": "12"}, "months"),
        ({"months": -1}, "months"),
        ({"age_band": "56"}, "age_band"),
        ({"text": "x" * 201}, "text"),
        ({"site": "C44.4", "limit": 10_000}, "limit"),
    ],
)
def test_bad_partial_cases_are_problems_naming_the_field(analyst, body, field):
    response = post(analyst, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize("persona, status", [("submitter_a", 403), (None, 401)])
def test_submitters_and_anonymous_callers_are_refused(request, persona, status, atlas):
    user = request.getfixturevalue(persona) if persona else None
    assert post(user, CLINICIAN).status_code == status


def test_a_form_post_is_refused_as_a_media_type_problem(analyst, atlas):
    response = client_for(analyst).post(SIMILAR, {"site": "C44.4"})
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    facts=st.fixed_dictionaries(
        {},
        optional={
            "primary": st.sampled_from(["C50.9", "C50", "C34.1", "C18"]),
            "morphology": st.sampled_from(["8500/3", "8501/3", "8140/3"]),
            "site": st.sampled_from(["C44.4", "C44", "C71.0", "C41.2"]),
            "presentation": st.sampled_from(["nodule", "mass", "pain"]),
            "misdiagnosis": st.sampled_from(["benign_lesion", "none"]),
            "months": st.integers(0, 400),
            "sex": st.sampled_from(["female", "male"]),
            "age_band": st.sampled_from(["50-59", "80+", "0-49"]),
            "er_percent": st.integers(0, 100),
            "her2_ihc": st.sampled_from(["0", "3+"]),
        },
    )
)
def test_a_score_is_a_share_of_the_points_possible(curator, facts):
    case = Case.objects.filter(source="literature").first() or literature_case(
        "lit-hypothesis", curator=curator
    )
    query = PartialCase(**facts)
    points, reasons = score_case(query, case, "Skin", text_hit=False)
    possible = possible_points(query)
    assert 0 <= points <= possible
    assert (points > 0) == bool(reasons)
