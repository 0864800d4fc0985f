"""Validation edits (docs/clinical-edits.md), each through `case_create`, as every way in."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from registry.models import Case, Metastasis, Treatment
from registry.services.cases import case_create
from tests.factories import founding_payload

THIS_YEAR = datetime.date.today().year


def submit(institution, payload: dict) -> Case:
    case = case_create(institution=institution, local_id="e-1", payload=payload, actor=None)
    return Case.objects.get(pk=case.pk)


def submission_errors(institution, payload: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        submit(institution, payload)
    return raised.value.message_dict


def with_metastasis(**changes) -> dict:
    payload = founding_payload()
    payload["metastases"][0].update(changes)
    return payload


def with_treatment(**changes) -> dict:
    payload = founding_payload()
    payload["treatments"][0].update(changes)
    return payload


def test_the_founding_case_passes_every_edit(hospital_a):
    assert submit(hospital_a, founding_payload()).primary_site_id == "C50.9"


# ---------------------------------------------------------------- codes and behaviour


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        pytest.param(founding_payload(primary_site="C99.9"), "primary_site", id="primary-site"),
        pytest.param(founding_payload(primary_site=None), "primary_site", id="primary-site-none"),
        pytest.param(
            founding_payload(primary_morphology="9999/3"),
            "primary_morphology",
            id="primary-morphology",
        ),
        pytest.param(with_metastasis(site="C44"), "metastases[0].site", id="metastasis-site"),
        pytest.param(
            with_metastasis(morphology="9999/6"),
            "metastases[0].morphology",
            id="metastasis-morphology",
        ),
    ],
)
def test_unknown_codes_are_rejected(hospital_a, payload, path):
    errors = submission_errors(hospital_a, payload)
    assert list(errors) == [path]


def test_metastatic_behaviour_on_the_primary_is_rejected(hospital_a):
    errors = submission_errors(hospital_a, founding_payload(primary_morphology="8500/6"))
    assert list(errors) == ["primary_morphology"]
    assert "/6" in errors["primary_morphology"][0]


@pytest.mark.parametrize("code", ["8500/3", "8500/2", "8000/9"])
def test_a_metastasis_takes_only_metastatic_behaviour(hospital_a, code):
    errors = submission_errors(hospital_a, with_metastasis(morphology=code))
    assert list(errors) == ["metastases[0].morphology"]


def test_a_metastasis_without_morphology_is_legal(hospital_a):
    assert submit(hospital_a, with_metastasis(morphology=None)).metastases.get().morphology is None


def test_the_metastatic_site_cannot_be_the_primary_site(hospital_a):
    errors = submission_errors(hospital_a, with_metastasis(site="C50.9"))
    assert list(errors) == ["metastases[0].site"]


def contralateral(primary_site: str, site: str, primary_side: str, side: str, **changes) -> dict:
    payload = founding_payload(primary_site=primary_site, primary_laterality=primary_side)
    payload["metastases"][0].update(site=site, laterality=side, **changes)
    return payload


@pytest.mark.parametrize(
    ("site", "primary_side", "side"),
    [
        pytest.param("C50.9", "left", "right", id="right-breast-from-left"),
        pytest.param("C50.9", "right", "left", id="left-breast-from-right"),
        pytest.param("C34.1", "left", "right", id="other-upper-lobe"),
        pytest.param("C64.9", "right", "left", id="other-kidney"),
    ],
)
def test_a_metastasis_in_the_contralateral_paired_organ_is_legal(
    hospital_a, site, primary_side, side
):
    payload = contralateral(site, site, primary_side, side)
    if site != "C50.9":  # the founding case's morphology and subtype fit breast only
        payload.update(primary_morphology="8140/3", subtype=None)
        payload["metastases"][0]["morphology"] = "8140/6"
    metastasis = submit(hospital_a, payload).metastases.get()
    assert (metastasis.site_id, metastasis.laterality) == (site, side)


@pytest.mark.parametrize(
    ("primary_side", "side"),
    [
        pytest.param("left", "left", id="same-side"),
        pytest.param("unknown", "right", id="primary-side-unknown"),
        pytest.param("left", "unknown", id="metastasis-side-unknown"),
        pytest.param("bilateral", "right", id="bilateral-primary"),
        pytest.param("left", "not_applicable", id="not-applicable"),
    ],
)
def test_the_primary_site_code_without_two_known_opposite_sides_says_how_to_fix_it(
    hospital_a, primary_side, side
):
    errors = submission_errors(hospital_a, contralateral("C50.9", "C50.9", primary_side, side))
    assert list(errors) == ["metastases[0].site"]
    message = errors["metastases[0].site"][0]
    assert "primary_laterality" in message and "'left'" in message and "'right'" in message
    assert f"primary '{primary_side}', metastasis '{side}'" in message


def test_an_unpaired_organ_cannot_hold_a_metastasis_at_the_primary_code_whatever_the_sides(
    hospital_a,
):
    payload = contralateral("C22.0", "C22.0", "left", "right")
    payload.update(primary_morphology="8170/3", subtype=None)
    payload["metastases"][0]["morphology"] = "8170/6"
    errors = submission_errors(hospital_a, payload)
    assert "not a paired organ" in errors["metastases[0].site"][0]


def test_another_site_of_the_same_organ_is_a_legal_metastatic_site(hospital_a):
    assert submit(hospital_a, with_metastasis(site="C50.4")).metastases.get().site_id == "C50.4"


# ---------------------------------------------------------------- ages, years, percentages


@pytest.mark.parametrize(("sent", "stored"), [(0, 0), (56, 56), (89, 89), (90, 90), (95, 90)])
def test_ages_are_stored_with_the_safe_harbor_cap(hospital_a, sent, stored):
    assert submit(hospital_a, founding_payload(age_at_diagnosis=sent)).age_at_diagnosis == stored


@pytest.mark.parametrize("age", [-1, 150, "fifty"])
def test_impossible_ages_are_rejected(hospital_a, age):
    errors = submission_errors(hospital_a, founding_payload(age_at_diagnosis=age))
    assert list(errors) == ["age_at_diagnosis"]


@pytest.mark.parametrize("year", [1900, 2019, THIS_YEAR])
def test_years_up_to_this_one_are_accepted(hospital_a, year):
    assert submit(hospital_a, founding_payload(year_of_diagnosis=year)).year_of_diagnosis == year


@pytest.mark.parametrize("year", [THIS_YEAR + 1, 1899, "last year"])
def test_future_or_implausible_years_are_rejected(hospital_a, year):
    errors = submission_errors(hospital_a, founding_payload(year_of_diagnosis=year))
    assert list(errors) == ["year_of_diagnosis"]


@pytest.mark.parametrize("field", ["er_percent", "pr_percent", "ki67_percent"])
@pytest.mark.parametrize("value", [0, 100])
def test_percentages_at_the_bounds_are_accepted(hospital_a, field, value):
    assert getattr(submit(hospital_a, founding_payload(**{field: value})), field) == value


@pytest.mark.parametrize("field", ["er_percent", "pr_percent", "ki67_percent"])
@pytest.mark.parametrize("value", [-1, 101, "high"])
def test_percentages_outside_0_100_are_rejected(hospital_a, field, value):
    errors = submission_errors(hospital_a, founding_payload(**{field: value}))
    assert list(errors) == [field]


# ---------------------------------------------------------------- months and sizes


def test_a_synchronous_metastasis_has_month_0(hospital_a):
    case = submit(hospital_a, with_metastasis(months_from_primary=0))
    assert case.metastases.get().months_from_primary == 0


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        pytest.param(
            with_metastasis(months_from_primary=-1),
            "metastases[0].months_from_primary",
            id="metastasis-before-primary",
        ),
        pytest.param(
            with_treatment(months_from_primary=-3),
            "treatments[0].months_from_primary",
            id="treatment-before-primary",
        ),
        pytest.param(
            founding_payload(follow_up_months=-1), "follow_up_months", id="negative-follow-up"
        ),
    ],
)
def test_negative_months_are_rejected(hospital_a, payload, path):
    assert list(submission_errors(hospital_a, payload)) == [path]


@pytest.mark.parametrize("size", [0, -5])
def test_a_metastasis_has_a_positive_size(hospital_a, size):
    errors = submission_errors(hospital_a, with_metastasis(size_mm=size))
    assert list(errors) == ["metastases[0].size_mm"]


# ---------------------------------------------------------------- metastases and treatments


@pytest.mark.parametrize("metastases", [[], None])
def test_a_case_needs_a_metastasis(hospital_a, metastases):
    errors = submission_errors(hospital_a, founding_payload(metastases=metastases, treatments=[]))
    assert list(errors) == ["metastases"]


@pytest.mark.parametrize(
    ("target", "index"),
    [
        pytest.param("metastasis", None, id="metastasis-target-without-index"),
        pytest.param("metastasis", 1, id="index-past-the-end"),
        pytest.param("metastasis", 7, id="index-far-out-of-range"),
        pytest.param("metastasis", -1, id="negative-index"),
        pytest.param("metastasis", "0", id="index-not-a-number"),
        pytest.param("systemic", 0, id="systemic-treatment-naming-a-metastasis"),
        pytest.param("primary", 0, id="primary-treatment-naming-a-metastasis"),
    ],
)
def test_a_treatment_names_a_metastasis_exactly_when_it_targets_one(hospital_a, target, index):
    errors = submission_errors(hospital_a, with_treatment(target=target, metastasis=index))
    assert list(errors) == ["treatments[0].metastasis"]


def test_a_treatment_targets_the_metastasis_at_its_index(hospital_a):
    payload = founding_payload()
    payload["metastases"].append({"site": "C41.0"})
    payload["treatments"][0]["metastasis"] = 1
    case = submit(hospital_a, payload)
    assert case.treatments.get(target="metastasis").metastasis.site_id == "C41.0"


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        pytest.param(founding_payload(sex="x"), "sex", id="sex"),
        pytest.param(founding_payload(grade="G9"), "grade", id="grade"),
        pytest.param(founding_payload(her2_ihc="4+"), "her2_ihc", id="her2-ihc"),
        pytest.param(founding_payload(source="blog"), "source", id="source"),
        pytest.param(
            with_metastasis(presentation="wart"), "metastases[0].presentation", id="presentation"
        ),
        pytest.param(
            with_metastasis(confirmed_by=["x-ray"]), "metastases[0].confirmed_by", id="confirmed"
        ),
        pytest.param(
            with_metastasis(confirmed_by=["ihc", "ihc"]),
            "metastases[0].confirmed_by",
            id="confirmed-twice",
        ),
        pytest.param(
            with_metastasis(confirmed_by=5), "metastases[0].confirmed_by", id="confirmed-not-list"
        ),
        pytest.param(
            with_metastasis(confirmed_by="histology"),
            "metastases[0].confirmed_by",
            id="confirmed-a-string",
        ),
        pytest.param(with_treatment(modality="magic"), "treatments[0].modality", id="modality"),
        pytest.param(with_treatment(modality=None), "treatments[0].modality", id="no-modality"),
        pytest.param(with_treatment(response="cured"), "treatments[0].response", id="response"),
    ],
)
def test_bad_choice_values_are_keyed_by_field(hospital_a, payload, path):
    assert list(submission_errors(hospital_a, payload)) == [path]


# ---------------------------------------------------------------- literature provenance


def test_a_literature_case_carries_doi_and_pmid(hospital_a):
    case = submit(hospital_a, founding_payload(doi="10.1000/xyz123", pmid="12345678"))
    assert (case.doi, case.pmid) == ("10.1000/xyz123", "12345678")


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"source": "hospital", "doi": "10.1000/xyz123"}, "source"),
        ({"pmid": "PMID12"}, "pmid"),
        ({"doi": "doi.org/10.1000/xyz"}, "doi"),
    ],
)
def test_literature_references_are_checked(hospital_a, changes, path):
    assert list(submission_errors(hospital_a, founding_payload(**changes))) == [path]


# ---------------------------------------------------------------- all at once, nothing written


def test_every_problem_of_a_case_is_reported_together(hospital_a):
    payload = founding_payload(
        sex="x",
        age_at_diagnosis=150,
        er_percent=90,
        pr_percent=50,
        her2_ihc="1+",
        ki67_percent=10,
        subtype="triple_negative",
    )
    payload["metastases"][0].update(site="C99.9", months_from_primary=-1)
    payload["treatments"][1]["modality"] = "magic"
    payload["treatments"].append({"modality": "surgery", "target": "metastasis", "metastasis": 3})
    errors = submission_errors(hospital_a, payload)
    assert set(errors) == {
        "sex",
        "age_at_diagnosis",
        "subtype",
        "metastases[0].site",
        "metastases[0].months_from_primary",
        "treatments[1].modality",
        "treatments[2].metastasis",
    }


def test_nothing_is_written_when_a_case_is_rejected(hospital_a):
    before = (
        Case.objects.count(),
        Case.history.count(),
        Metastasis.history.count(),
        Treatment.history.count(),
    )
    payload = founding_payload()
    payload["treatments"][0]["metastasis"] = 4
    with pytest.raises(ValidationError):
        submit(hospital_a, payload)
    after = (
        Case.objects.count(),
        Case.history.count(),
        Metastasis.history.count(),
        Treatment.history.count(),
    )
    assert after == before
