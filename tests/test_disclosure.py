"""The cell-key method and the data dictionary, property by property (no database)."""

import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.access import (
    AGE_BAND_SCHEMES,
    PUBLISHED_AGE_BANDS,
    age_band_keys,
    period_of,
    period_range,
)
from registry.disclosure import (
    CASES,
    METASTASES,
    PERTURBATION,
    RECORD_KEYS,
    Tally,
    perturb_any,
    perturbation,
    publish,
)

counts = st.integers(0, 10**6)
cell_keys = st.integers(0, RECORD_KEYS - 1)
thresholds = st.integers(1, 50)


@given(count=st.integers(1, 5000))
def test_for_every_count_the_cell_keys_spread_as_the_perturbation_table_says(count):
    found = Counter(perturbation(count, key) for key in range(RECORD_KEYS))
    for value, share in PERTURBATION:
        assert found[value] == pytest.approx(share * RECORD_KEYS, abs=1)
    assert sum(value * n for value, n in found.items()) == 0  # unbiased


@given(count=counts, key=cell_keys, threshold=thresholds)
def test_a_published_count_is_hidden_below_the_threshold_and_near_the_truth_above(
    count, key, threshold
):
    shown = publish(count, key, threshold)
    if count < threshold:
        assert shown is None  # zero included: an empty value looks like a small one
    else:
        assert shown >= threshold and abs(shown - count) <= 2
    assert publish(count, key, threshold) == shown  # the same cases, the same number


@given(count=counts, key=cell_keys)
def test_counts_for_computing_are_never_negative_and_zero_stays_zero(count, key):
    value = perturb_any(count, key)
    assert value >= 0 and abs(value - count) <= 2
    assert perturb_any(0, key) == 0


@given(keys=st.lists(st.integers(0, RECORD_KEYS - 1), max_size=50), split=st.integers(0, 50))
def test_a_tally_is_the_same_however_its_cases_are_added_up(keys, split):
    whole = Tally(len(keys), sum(keys))
    parts = Tally(split and len(keys[:split]), sum(keys[:split])) + Tally(
        len(keys[split:]), sum(keys[split:])
    )
    assert parts == whole and 0 <= whole.cell_key < RECORD_KEYS


def test_figures_of_the_same_cases_are_perturbed_independently():
    same = sum(
        perturbation(50, key, CASES) == perturbation(50, key, METASTASES)
        for key in range(RECORD_KEYS)
    )
    assert same < 0.5 * RECORD_KEYS  # not one perturbation for both


def test_every_coarser_age_band_is_a_union_of_finer_ones():
    finest = AGE_BAND_SCHEMES["decades"]
    for scheme in AGE_BAND_SCHEMES.values():
        assert set(scheme) <= set(finest)
    assert PUBLISHED_AGE_BANDS["50-69"] == (50, 69)
    assert [key for key, _, _ in age_band_keys((0, 50, 70))] == ["0-49", "50-69", "70+"]


@given(year=st.integers(1900, 2100))
def test_a_year_lies_in_exactly_one_published_five_year_period(year):
    first, last = period_range(period_of(year))
    assert first <= year <= last and last - first == 4 and first % 5 == 0
    assert period_range(str(year)) == (year, year)


@pytest.mark.parametrize("text", ["2016-2020", "2015-2018", "19", "2015-", "1899", "２０１９"])
def test_unpublished_periods_are_refused(text):
    with pytest.raises(ValueError):
        period_range(text)


def test_no_two_schemes_disagree_on_a_band_name():
    names = list(itertools.chain.from_iterable(age_band_keys(s) for s in AGE_BAND_SCHEMES.values()))
    by_key = {}
    for key, low, high in names:
        assert by_key.setdefault(key, (low, high)) == (low, high)
