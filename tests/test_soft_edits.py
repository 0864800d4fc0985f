"""Soft edits: unusual but possible cases are stored flagged, and count once a curator confirms.

Through the services (as every way in), the counted table the statistics read,
the API (case JSON, batch results, the curators' over-ride endpoint) and the admin.
"""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from registry.access import counted_by
from registry.models import Case, CaseFlag, CountedMetastasis, FlagCode, ReviewStatus
from registry.selectors import counted_cases
from registry.services.cases import case_create, case_review, case_update
from registry.services.flags import case_confirm_flags
from registry.soft_edits import histologies_compatible, histology_family
from tests.api_helpers import client_for
from tests.factories import founding_payload

CASES_URL = "/api/v1/cases/"


def case_of(primary_site: str, histology: str, metastasis_morphology: str, **changes) -> dict:
    """A case of another primary than the founding one, with one bone metastasis."""
    return founding_payload(
        primary_site=primary_site,
        primary_morphology=histology,
        subtype=None,
        metastases=[{"site": "C41.2", "morphology": metastasis_morphology}],
        treatments=[],
        **changes,
    )


PROSTATE_IN_A_WOMAN = case_of("C61.9", "8140/3", "8140/6", sex="female")
CERVIX_IN_A_MAN = case_of("C53.9", "8070/3", "8070/6", sex="male")
ADULT_NEPHROBLASTOMA = case_of("C64.9", "8960/3", "8960/6", age_at_diagnosis=40)
CHILD_BREAST_CARCINOMA = founding_payload(age_at_diagnosis=12)
HEPATOCELLULAR_IN_THE_LUNG = case_of("C34.1", "8170/3", "8170/6")
SMALL_CELL_RELAPSE_OF_ADENOCARCINOMA = case_of("C34.1", "8140/3", "8041/6")

FLAGGED = [
    pytest.param(PROSTATE_IN_A_WOMAN, FlagCode.SEX_SITE, "sex", id="prostate-female"),
    pytest.param(CERVIX_IN_A_MAN, FlagCode.SEX_SITE, "sex", id="cervix-male"),
    pytest.param(
        ADULT_NEPHROBLASTOMA,
        FlagCode.AGE_SITE_MORPHOLOGY,
        "age_at_diagnosis",
        id="nephroblastoma-at-40",
    ),
    pytest.param(
        CHILD_BREAST_CARCINOMA,
        FlagCode.AGE_SITE_MORPHOLOGY,
        "age_at_diagnosis",
        id="breast-carcinoma-at-12",
    ),
    pytest.param(
        HEPATOCELLULAR_IN_THE_LUNG,
        FlagCode.SITE_MORPHOLOGY,
        "primary_morphology",
        id="hepatocellular-in-lung",
    ),
    pytest.param(
        SMALL_CELL_RELAPSE_OF_ADENOCARCINOMA,
        FlagCode.METASTASIS_HISTOLOGY,
        "metastases[0].morphology",
        id="small-cell-metastasis-of-adenocarcinoma",
    ),
]

NOT_FLAGGED = [
    pytest.param(founding_payload(), id="founding-case"),
    pytest.param(
        founding_payload(sex="male", menopausal_status="not_applicable"), id="male-breast"
    ),
    pytest.param(founding_payload(age_at_diagnosis=90), id="breast-at-90"),
    pytest.param(case_of("C34.1", "8140/3", "8000/6"), id="metastasis-neoplasm-nos"),
    pytest.param(case_of("C34.1", "8140/3", "8010/6"), id="metastasis-carcinoma-nos"),
    pytest.param(
        founding_payload(metastases=[{"site": "C44.4", "morphology": "8140/6"}]),
        id="ductal-primary-adenocarcinoma-metastasis",
    ),
    pytest.param(case_of("C64.9", "8960/3", "8960/6", age_at_diagnosis=4), id="wilms-at-4"),
    pytest.param(case_of("C80.9", "8170/3", "8170/6"), id="unknown-primary-site"),
    pytest.param(case_of("C61.9", "8140/3", "8140/6", sex="other"), id="prostate-sex-other"),
]


def submit(institution, payload: dict, local_id: str = "f-1", actor=None) -> Case:
    case = case_create(institution=institution, local_id=local_id, payload=payload, actor=actor)
    return Case.objects.get(pk=case.pk)


def flags_of(case: Case) -> list[tuple[str, str]]:
    return [(flag.code, flag.field) for flag in CaseFlag.objects.filter(case=case)]


# ---------------------------------------------------------------- which cases are flagged


@pytest.mark.parametrize(("payload", "code", "field"), FLAGGED)
def test_an_unusual_but_possible_case_is_stored_with_its_flag(hospital_a, payload, code, field):
    case = submit(hospital_a, payload)
    assert flags_of(case) == [(code, field)]
    assert case.has_open_flags


@pytest.mark.parametrize("payload", NOT_FLAGGED)
def test_ordinary_cases_raise_no_flag(hospital_a, payload):
    case = submit(hospital_a, payload)
    assert flags_of(case) == []
    assert not case.has_open_flags


def test_a_flag_message_says_what_is_unusual_with_the_values(hospital_a):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    message = case.flags.get().message
    assert "8960/3" in message and "40" in message and "curator" in message


@pytest.mark.parametrize(
    ("histology", "family"),
    [
        ("8500", "adenocarcinoma"),
        ("8246", "neuroendocrine carcinoma"),
        ("8041", "neuroendocrine carcinoma"),
        ("8013", "neuroendocrine carcinoma"),
        ("8070", "squamous cell carcinoma"),
        ("8720", "melanoma"),
        ("9180", "sarcoma"),
        ("8000", None),
        ("8980", None),
    ],
)
def test_histologies_fall_in_their_icd_o_3_family(histology, family):
    assert histology_family(histology) == family


# ---------------------------------------------------------------- statistics


def verified(case: Case, curator) -> Case:
    return case_review(case=case, status=ReviewStatus.VERIFIED, actor=curator)


@pytest.mark.postgres
def test_a_flagged_case_counts_for_analysts_only_once_a_curator_confirms_it(
    hospital_a, analyst, curator
):
    case = verified(submit(hospital_a, ADULT_NEPHROBLASTOMA), curator)

    assert not counted_cases(analyst).filter(pk=case.pk).exists()
    assert not CountedMetastasis.objects.filter(counted_by(analyst), case_id=case.pk).exists()
    assert CountedMetastasis.objects.filter(counted_by(curator), case_id=case.pk).exists()

    case_confirm_flags(
        case=case,
        codes=["age_site_morphology"],
        reason="Adult Wilms, pathology reviewed",
        actor=curator,
    )

    assert counted_cases(analyst).filter(pk=case.pk).exists()
    assert CountedMetastasis.objects.filter(counted_by(analyst), case_id=case.pk).exists()


@pytest.mark.postgres
def test_the_counted_table_copies_the_flag_state_on_every_change(hospital_a, curator):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    assert CountedMetastasis.objects.get(case_id=case.pk).has_open_flags
    case_confirm_flags(case=case, codes=["age_site_morphology"], reason="Reviewed", actor=curator)
    assert not CountedMetastasis.objects.get(case_id=case.pk).has_open_flags
    case_update(case=case, payload={**ADULT_NEPHROBLASTOMA, "age_at_diagnosis": 41}, actor=None)
    assert CountedMetastasis.objects.get(case_id=case.pk).has_open_flags


# ---------------------------------------------------------------- flags across updates


def test_a_confirmation_holds_while_the_flagged_values_stay_the_same(hospital_a, curator):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    case_confirm_flags(case=case, codes=["age_site_morphology"], reason="Reviewed", actor=curator)
    changed = {**ADULT_NEPHROBLASTOMA, "follow_up_months": 12}

    case_update(case=case, payload=changed, actor=None)

    case.refresh_from_db()
    flag = case.flags.get()
    assert not case.has_open_flags
    assert (flag.confirmed_by, flag.confirmation_reason) == (curator, "Reviewed")


def test_a_changed_flagged_value_needs_a_new_confirmation(hospital_a, curator):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    case_confirm_flags(case=case, codes=["age_site_morphology"], reason="Reviewed", actor=curator)

    case_update(case=case, payload={**ADULT_NEPHROBLASTOMA, "age_at_diagnosis": 41}, actor=None)

    case.refresh_from_db()
    assert case.has_open_flags
    assert case.flags.get().is_open
    # The confirmed flag is gone from the case but not from its history.
    assert CaseFlag.history.filter(case_id=case.pk, confirmed_by=curator).exists()


def test_a_flag_goes_when_its_cause_is_corrected(hospital_a):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    case_update(case=case, payload={**ADULT_NEPHROBLASTOMA, "age_at_diagnosis": 3}, actor=None)
    case.refresh_from_db()
    assert (flags_of(case), case.has_open_flags) == ([], False)


# ---------------------------------------------------------------- the over-ride service


def test_a_confirmation_records_who_when_and_why_in_the_flag_and_the_history(hospital_a, curator):
    case = submit(hospital_a, HEPATOCELLULAR_IN_THE_LUNG)

    confirmed = case_confirm_flags(
        case=case, codes=["site_morphology"], reason="Hepatoid adenocarcinoma", actor=curator
    )

    flag = confirmed.flags.get()
    assert (flag.confirmed_by, flag.confirmation_reason) == (curator, "Hepatoid adenocarcinoma")
    assert flag.confirmed_at is not None
    assert confirmed.version == case.version + 1
    latest = confirmed.history.latest()
    assert latest.history_user == curator
    assert "site_morphology" in latest.history_change_reason
    assert latest.has_open_flags is False


@pytest.mark.parametrize(
    ("codes", "reason", "field"),
    [
        pytest.param(["sex_site"], "Reviewed", "flags", id="flag-not-raised"),
        pytest.param([], "Reviewed", "flags", id="no-flag-named"),
        pytest.param(["site_morphology"], "  ", "reason", id="blank-reason"),
        pytest.param(
            ["site_morphology"], "Ask jane.doe@example.org", "reason", id="identifier-in-reason"
        ),
    ],
)
def test_a_confirmation_names_open_flags_and_gives_a_clean_reason(
    hospital_a, curator, codes, reason, field
):
    case = submit(hospital_a, HEPATOCELLULAR_IN_THE_LUNG)
    with pytest.raises(ValidationError) as refused:
        case_confirm_flags(case=case, codes=codes, reason=reason, actor=curator)
    assert list(refused.value.message_dict) == [field]
    assert Case.objects.get(pk=case.pk).has_open_flags


def test_a_confirmed_flag_cannot_be_confirmed_again(hospital_a, curator):
    case = submit(hospital_a, HEPATOCELLULAR_IN_THE_LUNG)
    case_confirm_flags(case=case, codes=["site_morphology"], reason="Reviewed", actor=curator)
    with pytest.raises(ValidationError):
        case_confirm_flags(case=case, codes=["site_morphology"], reason="Again", actor=curator)


@pytest.mark.parametrize("persona", ["submitter_a", "analyst"])
def test_only_curators_confirm_flags(request, hospital_a, persona):
    case = submit(hospital_a, HEPATOCELLULAR_IN_THE_LUNG)
    with pytest.raises(PermissionDenied):
        case_confirm_flags(
            case=case,
            codes=["site_morphology"],
            reason="Trust me",
            actor=request.getfixturevalue(persona),
        )


# ---------------------------------------------------------------- the API


def test_a_flagged_case_is_created_and_the_answer_lists_its_flags(submitter_a):
    response = client_for(submitter_a).post(
        CASES_URL, {**ADULT_NEPHROBLASTOMA, "local_id": "w-1"}, format="json"
    )
    assert response.status_code == 201
    [flag] = response.json()["flags"]
    assert (flag["code"], flag["field"], flag["open"]) == (
        "age_site_morphology",
        "age_at_diagnosis",
        True,
    )
    assert flag["confirmed_by"] is None


def test_an_unflagged_case_answers_with_no_flags(submitter_a):
    response = client_for(submitter_a).post(
        CASES_URL, {**founding_payload(), "local_id": "f-1"}, format="json"
    )
    assert response.json()["flags"] == []


def test_batch_results_list_the_flags_of_each_stored_case(submitter_a):
    cases = [
        {**ADULT_NEPHROBLASTOMA, "local_id": "w-1"},
        {**founding_payload(), "local_id": "f-1"},
        {**founding_payload(primary_site="C99.9"), "local_id": "bad-1"},
    ]
    client = client_for(submitter_a)
    first = client.post(f"{CASES_URL}batch/", {"cases": cases}, format="json").json()
    again = client.post(f"{CASES_URL}batch/", {"cases": cases}, format="json").json()

    for answer, outcome in ((first, "created"), (again, "unchanged")):
        results = answer["results"]
        assert [item["result"] for item in results] == [outcome, outcome, "error"]
        assert [flag["code"] for flag in results[0]["flags"]] == ["age_site_morphology"]
        assert results[1]["flags"] == [] and results[2]["flags"] == []


def overrides_url(case: Case) -> str:
    return f"{CASES_URL}{case.uuid}/overrides/"


@pytest.mark.parametrize(
    ("persona", "status"),
    [("submitter_a", 403), ("submitter_b", 403), ("analyst", 403), ("curator", 200)],
)
def test_only_curators_may_post_an_override(request, hospital_a, persona, status):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    response = client_for(request.getfixturevalue(persona)).post(
        overrides_url(case),
        {"flags": ["age_site_morphology"], "reason": "Adult Wilms tumour, reviewed"},
        format="json",
    )
    assert response.status_code == status
    assert Case.objects.get(pk=case.pk).has_open_flags is (status != 200)


def test_an_override_answers_with_the_confirmed_case(hospital_a, curator):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    response = client_for(curator).post(
        overrides_url(case),
        {"flags": ["age_site_morphology"], "reason": "Adult Wilms tumour, reviewed"},
        format="json",
    )
    body = response.json()
    [flag] = body["flags"]
    assert (flag["open"], flag["confirmed_by"]) == (False, "curator")
    assert flag["confirmation_reason"] == "Adult Wilms tumour, reviewed"
    assert response["ETag"] == f'"v{body["version"]}"'


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"flags": ["sex_site"], "reason": "x"}, id="flag-not-open"),
        pytest.param({"flags": ["no_such_flag"], "reason": "x"}, id="unknown-code"),
        pytest.param({"flags": [], "reason": "x"}, id="empty"),
        pytest.param({"flags": ["age_site_morphology"]}, id="no-reason"),
        pytest.param({"flags": "age_site_morphology", "reason": "x"}, id="not-a-list"),
        pytest.param({"flags": ["age_site_morphology"], "reason": "x", "by": "me"}, id="extra"),
    ],
)
def test_a_bad_override_is_a_400_problem(hospital_a, curator, body):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    response = client_for(curator).post(overrides_url(case), body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert Case.objects.get(pk=case.pk).has_open_flags


def test_a_client_cannot_clear_or_confirm_its_own_flags_through_the_case_body(submitter_a):
    client = client_for(submitter_a)
    created = client.post(CASES_URL, {**ADULT_NEPHROBLASTOMA, "local_id": "w-1"}, format="json")
    assert [flag["open"] for flag in created.json()["flags"]] == [True]
    for sneaky in ({"flags": []}, {"has_open_flags": False}):
        refused = client.post(
            CASES_URL, {**ADULT_NEPHROBLASTOMA, "local_id": "w-2", **sneaky}, format="json"
        )
        assert refused.status_code == 400  # read-only and unknown fields are refused
        assert next(iter(sneaky)) in [error["field"] for error in refused.json()["errors"]]
    assert Case.objects.get(local_id="w-1").has_open_flags
    assert not Case.objects.filter(local_id="w-2").exists()


def test_an_override_of_an_unknown_case_is_a_404(curator):
    response = client_for(curator).post(
        f"{CASES_URL}00000000-0000-4000-8000-000000000000/overrides/",
        {"flags": ["age_site_morphology"], "reason": "x"},
        format="json",
    )
    assert response.status_code == 404


# ---------------------------------------------------------------- the admin

CHANGELIST = reverse("admin:registry_case_changelist")


def test_the_queue_filters_cases_with_open_flags(curator_in_admin, hospital_a):
    submit(hospital_a, ADULT_NEPHROBLASTOMA, local_id="flagged")
    submit(hospital_a, founding_payload(), local_id="plain")
    response = curator_in_admin.get(CHANGELIST, {"has_open_flags__exact": "1"})
    assert {case.local_id for case in response.context["cl"].result_list} == {"flagged"}


def test_the_case_page_shows_its_flags(curator_in_admin, hospital_a):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    page = curator_in_admin.get(reverse("admin:registry_case_change", args=[case.pk]))
    assert case.flags.get().message in page.content.decode()


def test_the_confirm_action_asks_which_flags_and_why_then_confirms(
    curator_in_admin, hospital_a, curator
):
    case = submit(hospital_a, ADULT_NEPHROBLASTOMA)
    chosen = {"action": "confirm_flags", ACTION_CHECKBOX_NAME: [case.pk]}

    asked = curator_in_admin.post(CHANGELIST, chosen)
    assert asked.status_code == 200 and "reason" in asked.context["form"].fields
    assert Case.objects.get(pk=case.pk).has_open_flags

    curator_in_admin.post(
        CHANGELIST,
        {**chosen, "apply": "1", "flags": ["age_site_morphology"], "reason": "Adult Wilms"},
    )

    flag = CaseFlag.objects.get(case=case)
    assert (flag.confirmed_by, flag.confirmation_reason) == (curator, "Adult Wilms")
    assert not Case.objects.get(pk=case.pk).has_open_flags


# ---------------------------------------------------------------- histology families

histologies = st.integers(min_value=8000, max_value=9999).map(str)


@given(histologies, histologies)
def test_histology_compatibility_is_symmetric_and_reflexive(first, second):
    assert histologies_compatible(first, second) is histologies_compatible(second, first)
    assert histologies_compatible(first, first)


@given(histologies)
def test_a_nos_histology_fits_every_histology(histology):
    assert histologies_compatible("8000", histology)
