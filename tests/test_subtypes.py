"""Breast surrogate subtypes (St Gallen 2013): the derivation table, then the service rules."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from registry.models import Case
from registry.services.cases import case_create
from registry.subtypes import (
    BREAST_SURROGATES,
    Receptors,
    derive_breast_subtype,
    her2_positive,
    possible_breast_subtypes,
    ruled_out_by,
)
from tests.factories import founding_payload

LUMINAL_A = "luminal_a_like"
LUMINAL_B_HER2_NEG = "luminal_b_like_her2_negative"
LUMINAL_B_HER2_POS = "luminal_b_like_her2_positive"
HER2_ENRICHED = "her2_enriched"
TRIPLE_NEGATIVE = "triple_negative"


def receptors(er, pr, her2_ihc, her2_ish, ki67) -> Receptors:
    return Receptors(
        er_percent=er, pr_percent=pr, her2_ihc=her2_ihc, her2_ish=her2_ish, ki67_percent=ki67
    )


# ---------------------------------------------------------------- the derivation table


@pytest.mark.parametrize(
    ("er", "pr", "her2_ihc", "her2_ish", "ki67", "expected"),
    [
        # Luminal A-like: ER+, HER2-, Ki-67 <20 %, PR >=20 %.
        pytest.param(90, 50, "1+", "", 10, LUMINAL_A, id="luminal-a"),
        pytest.param(90, 20, "0", "", 19, LUMINAL_A, id="luminal-a-pr-exactly-20-is-high"),
        pytest.param(1, 50, "1+", "", 10, LUMINAL_A, id="luminal-a-er-1-percent-is-positive"),
        pytest.param(90, 50, "2+", "not_amplified", 10, LUMINAL_A, id="luminal-a-ihc2-ish-neg"),
        # Luminal B-like HER2-negative: ER+, HER2-, Ki-67 >=20 % or PR <20 %.
        pytest.param(90, 50, "1+", "", 20, LUMINAL_B_HER2_NEG, id="lum-b-ki67-exactly-20-high"),
        pytest.param(90, 50, "0", "", 45, LUMINAL_B_HER2_NEG, id="lum-b-ki67-high"),
        pytest.param(90, 19, "1+", "", 5, LUMINAL_B_HER2_NEG, id="lum-b-pr-19-is-low"),
        pytest.param(90, 0, "0", "", 5, LUMINAL_B_HER2_NEG, id="lum-b-pr-negative"),
        pytest.param(90, 10, "0", "", None, LUMINAL_B_HER2_NEG, id="lum-b-low-pr-needs-no-ki67"),
        # Luminal B-like HER2-positive: ER or PR positive, HER2 IHC 3+ or ISH amplified.
        pytest.param(90, 50, "3+", "", 10, LUMINAL_B_HER2_POS, id="lum-b-her2-ihc3"),
        pytest.param(90, 50, "2+", "amplified", 10, LUMINAL_B_HER2_POS, id="lum-b-her2-ish-amp"),
        pytest.param(0, 5, "3+", "", 30, LUMINAL_B_HER2_POS, id="lum-b-her2-pr-only"),
        pytest.param(1, 0, "0", "amplified", None, LUMINAL_B_HER2_POS, id="lum-b-her2-er-1"),
        # HER2-enriched: ER-, PR-, HER2+.
        pytest.param(0, 0, "3+", "", 40, HER2_ENRICHED, id="her2-enriched-ihc3"),
        pytest.param(0, 0, "2+", "amplified", None, HER2_ENRICHED, id="her2-enriched-ish-amp"),
        # Triple-negative: ER-, PR-, HER2-.
        pytest.param(0, 0, "0", "", 80, TRIPLE_NEGATIVE, id="triple-negative"),
        pytest.param(0, 0, "1+", "", None, TRIPLE_NEGATIVE, id="triple-negative-no-ki67"),
        pytest.param(0, 0, "2+", "not_amplified", 50, TRIPLE_NEGATIVE, id="tn-ihc2-ish-neg"),
    ],
)
def test_receptors_give_the_st_gallen_surrogate(er, pr, her2_ihc, her2_ish, ki67, expected):
    assert derive_breast_subtype(receptors(er, pr, her2_ihc, her2_ish, ki67)) == expected


@pytest.mark.parametrize(
    ("er", "pr", "her2_ihc", "her2_ish", "ki67"),
    [
        pytest.param(90, 50, "2+", "", 10, id="ihc-2-without-ish"),
        pytest.param(0, 0, "2+", "", 10, id="ihc-2-without-ish-hr-negative"),
        pytest.param(90, 50, "2+", "equivocal", 10, id="ihc-2-ish-equivocal"),
        pytest.param(90, 50, "", "", 10, id="her2-missing"),
        pytest.param(None, 50, "1+", "", 10, id="er-missing"),
        pytest.param(90, None, "1+", "", 10, id="pr-missing"),
        pytest.param(90, 50, "1+", "", None, id="ki67-missing-with-high-pr"),
        pytest.param(None, None, "", "", None, id="nothing-given"),
        pytest.param(0, 30, "0", "", 10, id="er-negative-pr-positive-fits-no-surrogate"),
    ],
)
def test_unsettled_receptors_give_no_subtype(er, pr, her2_ihc, her2_ish, ki67):
    assert derive_breast_subtype(receptors(er, pr, her2_ihc, her2_ish, ki67)) is None


@pytest.mark.parametrize(
    ("her2_ihc", "her2_ish", "expected"),
    [
        ("0", "", False),
        ("1+", "", False),
        ("2+", "", None),
        ("3+", "", True),
        ("2+", "amplified", True),
        ("2+", "not_amplified", False),
        ("2+", "equivocal", None),
        ("", "amplified", True),
        ("", "not_amplified", False),
        ("", "", None),
    ],
)
def test_her2_is_positive_on_ihc_3_or_ish_amplification(her2_ihc, her2_ish, expected):
    assert her2_positive(receptors(90, 50, her2_ihc, her2_ish, 10)) is expected


# ---------------------------------------------------------------- through the services

LUMINAL_A_RECEPTORS = {"er_percent": 90, "pr_percent": 50, "her2_ihc": "1+", "ki67_percent": 10}


def submit(institution, **changes) -> Case:
    case = case_create(
        institution=institution, local_id="s-1", payload=founding_payload(**changes), actor=None
    )
    return Case.objects.get(pk=case.pk)


def submission_errors(institution, **changes) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        submit(institution, **changes)
    return raised.value.message_dict


def test_receptors_without_subtype_store_the_derived_subtype(hospital_a):
    assert submit(hospital_a, **LUMINAL_A_RECEPTORS).subtype_id == LUMINAL_A


def test_subtype_that_agrees_with_the_receptors_is_stored(hospital_a):
    assert submit(hospital_a, **LUMINAL_A_RECEPTORS, subtype=LUMINAL_A).subtype_id == LUMINAL_A


def test_subtype_given_with_unsettled_receptors_is_kept(hospital_a):
    case = submit(
        hospital_a, er_percent=90, pr_percent=50, her2_ihc="2+", subtype=LUMINAL_B_HER2_POS
    )
    assert case.subtype_id == LUMINAL_B_HER2_POS


def test_subtype_that_contradicts_the_receptors_is_rejected_naming_both(hospital_a):
    errors = submission_errors(hospital_a, **LUMINAL_A_RECEPTORS, subtype=TRIPLE_NEGATIVE)
    assert list(errors) == ["subtype"]
    assert TRIPLE_NEGATIVE in errors["subtype"][0]
    assert LUMINAL_A in errors["subtype"][0]
    assert not Case.objects.exists()


@pytest.mark.parametrize("receptor_values", [{}, LUMINAL_A_RECEPTORS], ids=["bare", "receptors"])
def test_subtype_of_another_family_is_rejected(hospital_a, receptor_values):
    errors = submission_errors(hospital_a, **receptor_values, subtype="egfr_mutant")
    assert list(errors) == ["subtype"]
    assert "lung" in errors["subtype"][0]
    assert "breast" in errors["subtype"][0]


def test_subtype_on_a_primary_without_a_family_is_rejected(hospital_a):
    melanoma = {
        "primary_site": "C44.5",
        "primary_morphology": "8720/3",
        "metastases": [{"site": "C44.4", "morphology": "8720/6"}],
        "treatments": [],
    }
    errors = submission_errors(hospital_a, **melanoma, subtype=LUMINAL_A)
    assert list(errors) == ["subtype"]
    assert "C44.5" in errors["subtype"][0]


def test_receptors_on_a_primary_without_a_family_derive_nothing(hospital_a):
    case = submit(
        hospital_a,
        primary_site="C44.5",
        primary_morphology="8720/3",
        metastases=[{"site": "C44.4"}],
        treatments=[],
        **LUMINAL_A_RECEPTORS,
    )
    assert case.subtype_id is None


def test_unknown_subtype_code_is_rejected(hospital_a):
    assert list(submission_errors(hospital_a, subtype="luminal_z")) == ["subtype"]


def test_no_subtype_and_no_receptors_is_a_legal_unknown(hospital_a):
    assert submit(hospital_a, subtype=None).subtype_id is None


# ---------------------------------------------------------------- partial receptors


def test_a_subtype_the_known_receptors_rule_out_is_rejected_with_her2_missing(hospital_a):
    errors = submission_errors(hospital_a, er_percent=95, pr_percent=5, subtype=LUMINAL_A)
    assert list(errors) == ["subtype"]
    message = errors["subtype"][0]
    assert "PR ≥ 20 %" in message
    assert "PR 5 %" in message and "HER2 not given" in message
    assert not Case.objects.exists()


def test_a_subtype_still_possible_with_missing_receptors_is_kept(hospital_a):
    case = submit(hospital_a, er_percent=95, pr_percent=5, subtype=LUMINAL_B_HER2_NEG)
    assert case.subtype_id == LUMINAL_B_HER2_NEG


def test_er_negative_pr_positive_her2_negative_fits_no_surrogate(hospital_a):
    errors = submission_errors(
        hospital_a, er_percent=0, pr_percent=30, her2_ihc="0", subtype=TRIPLE_NEGATIVE
    )
    assert "fit no St Gallen 2013 surrogate" in errors["subtype"][0]


# The St Gallen 2013 surrogates (Goldhirsch et al., Ann Oncol 2013;24:2206),
# written independently of registry.subtypes, for complete receptors: ER/PR
# positive at >= 1 %, PR high at >= 20 %, Ki-67 high at >= 20 %, HER2 positive on
# IHC 3+ or amplified ISH.
def st_gallen(er: int, pr: int, her2: bool, ki67: int) -> set[str]:
    er_pos, pr_pos = er >= 1, pr >= 1
    fits = set()
    if er_pos and not her2 and ki67 < 20 and pr >= 20:
        fits.add(LUMINAL_A)
    if er_pos and not her2 and (ki67 >= 20 or pr < 20):
        fits.add(LUMINAL_B_HER2_NEG)
    if (er_pos or pr_pos) and her2:
        fits.add(LUMINAL_B_HER2_POS)
    if not er_pos and not pr_pos and her2:
        fits.add(HER2_ENRICHED)
    if not er_pos and not pr_pos and not her2:
        fits.add(TRIPLE_NEGATIVE)
    return fits


HER2_WORDINGS = [
    ("", ""),
    ("0", ""),
    ("1+", ""),
    ("2+", ""),
    ("3+", ""),
    ("2+", "amplified"),
    ("2+", "not_amplified"),
    ("2+", "equivocal"),
    ("", "amplified"),
    ("", "not_amplified"),
]
percent_or_missing = st.one_of(st.none(), st.integers(min_value=0, max_value=100))


@st.composite
def partial_receptors(draw) -> Receptors:
    her2_ihc, her2_ish = draw(st.sampled_from(HER2_WORDINGS))
    return receptors(
        draw(percent_or_missing),
        draw(percent_or_missing),
        her2_ihc,
        her2_ish,
        draw(percent_or_missing),
    )


def completions(partial: Receptors) -> list[tuple[int, int, bool, int]]:
    """Every way the missing receptors could turn out, one value per threshold class."""

    def values(given: int | None, classes: tuple[int, ...]) -> tuple[int, ...]:
        return classes if given is None else (given,)

    her2 = her2_positive(partial)
    return [
        (er, pr, positive, ki67)
        for er in values(partial.er_percent, (0, 1, 50))
        for pr in values(partial.pr_percent, (0, 1, 19, 20, 80))
        for positive in ((True, False) if her2 is None else (her2,))
        for ki67 in values(partial.ki67_percent, (0, 19, 20, 90))
    ]


@given(partial_receptors(), st.sampled_from(sorted(BREAST_SURROGATES)))
def test_a_subtype_is_ruled_out_exactly_when_no_completion_of_the_receptors_fits_it(
    partial, subtype
):
    could_fit = any(subtype in st_gallen(*values) for values in completions(partial))
    assert (not ruled_out_by(partial, subtype)) is could_fit


@given(partial_receptors())
def test_the_derived_subtype_is_never_ruled_out_and_settles_the_rest(partial):
    derived = derive_breast_subtype(partial)
    if derived is not None:
        assert possible_breast_subtypes(partial) == [derived]


@given(
    st.integers(0, 100),
    st.integers(0, 100),
    st.sampled_from(HER2_WORDINGS[1:]),
    st.integers(0, 100),
)
def test_complete_receptors_leave_at_most_the_st_gallen_subtype(er, pr, her2, ki67):
    complete = receptors(er, pr, her2[0], her2[1], ki67)
    if her2_positive(complete) is None:
        return  # HER2 2+ without ISH stays undetermined
    assert set(possible_breast_subtypes(complete)) == st_gallen(
        er, pr, her2_positive(complete), ki67
    )
