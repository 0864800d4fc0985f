"""Receptors in words (issue 24): "ER/PR positive, HER2 negative" without a percentage.

The St Gallen 2013 rules are unchanged: a status stands in for a percentage
or score only as far as it tells (positive PR says ≥ 1 %, not whether ≥ 20 %),
checked here against every completion of the receptors that agrees with it.
"""

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
    her2_by_test,
    possible_breast_subtypes,
    ruled_out_by,
)
from tests.factories import founding_payload
from tests.test_subtypes import HER2_WORDINGS, st_gallen

STATUSES = ["", "positive", "negative", "equivocal"]
percent_or_missing = st.one_of(st.none(), st.integers(min_value=0, max_value=100))


@st.composite
def receptors_in_words(draw) -> Receptors:
    """Receptors where a status is given only when its percentage or score is not."""
    er, pr = draw(percent_or_missing), draw(percent_or_missing)
    her2_ihc, her2_ish = draw(st.sampled_from(HER2_WORDINGS))
    return Receptors(
        er_percent=er,
        pr_percent=pr,
        her2_ihc=her2_ihc,
        her2_ish=her2_ish,
        ki67_percent=draw(percent_or_missing),
        er_status=draw(st.sampled_from(STATUSES)) if er is None else "",
        pr_status=draw(st.sampled_from(STATUSES)) if pr is None else "",
        her2_status=draw(st.sampled_from(STATUSES)),
    )


def completions(partial: Receptors) -> list[tuple[int, int, bool, int]]:
    """Every complete set of receptors the given ones (numbers and words) agree with."""

    def hormone(percent: int | None, status: str, classes: tuple[int, ...]) -> tuple[int, ...]:
        if percent is not None:
            return (percent,)
        if status == "positive":
            return tuple(value for value in classes if value >= 1)
        if status == "negative":
            return (0,)
        return classes

    tested = her2_by_test(partial)
    if tested is not None:
        her2 = (tested,)
    else:
        her2 = {"positive": (True,), "negative": (False,)}.get(partial.her2_status, (True, False))
    ki67 = (partial.ki67_percent,) if partial.ki67_percent is not None else (0, 19, 20, 90)
    return [
        (er, pr, positive, k)
        for er in hormone(partial.er_percent, partial.er_status, (0, 1, 50))
        for pr in hormone(partial.pr_percent, partial.pr_status, (0, 1, 19, 20, 80))
        for positive in her2
        for k in ki67
    ]


@given(receptors_in_words(), st.sampled_from(sorted(BREAST_SURROGATES)))
def test_a_subtype_is_ruled_out_exactly_when_no_agreeing_completion_fits_it(partial, subtype):
    could_fit = any(subtype in st_gallen(*values) for values in completions(partial))
    assert (not ruled_out_by(partial, subtype)) is could_fit


@given(receptors_in_words())
def test_a_subtype_derived_from_words_is_the_st_gallen_subtype_of_every_agreeing_completion(
    partial,
):
    derived = derive_breast_subtype(partial)
    if derived is not None:
        assert all(st_gallen(*values) == {derived} for values in completions(partial))
        assert possible_breast_subtypes(partial) == [derived]


@given(receptors_in_words())
def test_a_subtype_is_derived_whenever_the_words_determine_it(partial):
    """Unknown only when the agreeing completions really differ."""
    outcomes = {frozenset(st_gallen(*values)) for values in completions(partial)}
    derived = derive_breast_subtype(partial)
    if len(outcomes) == 1 and len(next(iter(outcomes))) == 1:
        assert derived == next(iter(next(iter(outcomes))))
    else:
        assert derived is None


# ---------------------------------------------------------------- through the services


def submit(institution, **changes) -> Case:
    case = case_create(
        institution=institution, local_id="words-1", payload=founding_payload(**changes), actor=None
    )
    return Case.objects.get(pk=case.pk)


WITHOUT_NUMBERS = {
    "er_percent": None,
    "pr_percent": None,
    "her2_ihc": "",
    "her2_ish": "",
    "ki67_percent": None,
    "subtype": None,
}


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        # The report: "HER2 3+, ER/PR negative".
        ({"her2_ihc": "3+", "er_status": "negative", "pr_status": "negative"}, "her2_enriched"),
        (
            {"er_status": "positive", "pr_status": "positive", "her2_status": "positive"},
            "luminal_b_like_her2_positive",
        ),
        (
            {"er_status": "negative", "pr_status": "negative", "her2_status": "negative"},
            "triple_negative",
        ),
        (
            {
                "er_status": "positive",
                "pr_status": "positive",
                "her2_status": "negative",
                "ki67_percent": 40,
            },
            "luminal_b_like_her2_negative",
        ),
        # "ER/PR positive, HER2 negative" and nothing more: A or B cannot be told.
        ({"er_status": "positive", "pr_status": "positive", "her2_status": "negative"}, None),
        ({"er_status": "positive", "pr_status": "positive", "her2_status": "equivocal"}, None),
    ],
)
def test_receptors_in_words_are_stored_and_derive_the_subtype_they_determine(
    hospital_a, words, expected
):
    case = submit(hospital_a, **{**WITHOUT_NUMBERS, **words})
    assert case.subtype_id == expected
    for name, value in words.items():
        assert getattr(case, name) == value


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"er_percent": 90, "er_status": "negative"}, "er_status"),
        ({"pr_percent": 0, "pr_status": "positive"}, "pr_status"),
        ({"er_percent": 50, "er_status": "equivocal"}, "er_status"),
        ({"her2_ihc": "3+", "her2_status": "negative"}, "her2_status"),
        ({"her2_ihc": "1+", "her2_status": "equivocal"}, "her2_status"),
    ],
)
def test_a_status_that_contradicts_its_percentage_or_score_is_refused_naming_it(
    hospital_a, changes, field
):
    with pytest.raises(ValidationError) as raised:
        submit(hospital_a, **{**WITHOUT_NUMBERS, **changes})
    assert list(raised.value.message_dict) == [field]


def test_a_status_beside_an_agreeing_percentage_is_kept(hospital_a):
    case = submit(
        hospital_a, er_percent=95, er_status="positive", her2_ihc="2+", her2_status="positive"
    )
    assert (case.er_status, case.her2_status) == ("positive", "positive")


def test_an_unknown_status_is_refused_naming_the_field(hospital_a):
    with pytest.raises(ValidationError) as raised:
        submit(hospital_a, er_status="strongly positive")
    assert "er_status" in raised.value.message_dict
