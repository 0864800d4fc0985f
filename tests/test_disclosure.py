"""The cell-key method and the data dictionary, property by property (no database)."""

import itertools
import random
from collections import Counter

import pytest
from django.test import override_settings
from hypothesis import given, settings
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
    HIDING_JITTER,
    METASTASES,
    PERTURBATION,
    RECORD_KEYS,
    Tally,
    hiding_jitter,
    perturb_any,
    perturbation,
    publish,
)

counts = st.integers(0, 10**6)
cell_keys = st.integers(0, RECORD_KEYS - 1)
thresholds = st.integers(1, 50)


@given(count=st.integers(1, 5000))
@settings(max_examples=20)
def test_for_every_count_the_cell_keys_spread_as_the_perturbation_table_says(count):
    found = Counter(perturbation(count, key) for key in range(RECORD_KEYS))
    for value, share in PERTURBATION:
        # A keyed pseudo-random function: the shares within five standard deviations.
        spread = 5 * (share * (1 - share) * RECORD_KEYS) ** 0.5
        assert found[value] == pytest.approx(share * RECORD_KEYS, abs=spread)
    mean = sum(value * n for value, n in found.items()) / RECORD_KEYS
    assert abs(mean) < 5 * (0.8 / RECORD_KEYS) ** 0.5  # unbiased


@given(
    target=st.integers(1, 10),
    target_key=cell_keys,
    figure=st.sampled_from([CASES, METASTASES]),
)
@settings(max_examples=30, deadline=None)
def test_a_padded_difference_shares_no_shift_across_paddings(target, target_key, figure):
    """pub(T + P) - pub(P) over many paddings P: |T| plus noise that owes nothing to T.

    With a public position (cell key + a * count), the perturbations of T + P and of P
    sat a fixed shift apart for every P, so their pairs agreed far more (or less) often
    than independent draws; a keyed function leaves them independent.
    """
    chooser = random.Random(target * RECORD_KEYS + target_key)
    pairs = []
    for _ in range(3000):
        padding, padding_key = chooser.randint(11, 400), chooser.randrange(RECORD_KEYS)
        padded_key = (padding_key + target_key) % RECORD_KEYS
        pairs.append(
            (
                perturbation(padding + target, padded_key, figure),
                perturbation(padding, padding_key, figure),
            )
        )
    agree = sum(with_target == alone for with_target, alone in pairs) / len(pairs)
    independent = sum(share**2 for _, share in PERTURBATION)  # 0.345
    assert agree == pytest.approx(independent, abs=0.05)
    mean_with = sum(a for a, _ in pairs) / len(pairs)
    mean_alone = sum(b for _, b in pairs) / len(pairs)
    covariance = sum((a - mean_with) * (b - mean_alone) for a, b in pairs) / len(pairs)
    assert abs(covariance) < 0.08  # variance 0.8: a correlation under 0.1


@given(count=st.integers(11, 30), key=cell_keys)
def test_hidden_never_certifies_below_the_threshold_and_published_never_comes_from_below(
    count, key
):
    shown = publish(count, key, 11)
    if count >= 11 + HIDING_JITTER:
        assert shown is not None
    assert publish(count % 11, key, 11) is None  # below the threshold: always hidden
    assert 0 <= hiding_jitter(count, key) <= HIDING_JITTER
    assert (shown is None) == (count < 11 + hiding_jitter(count, key))


def test_counts_at_the_threshold_are_sometimes_hidden_and_sometimes_published():
    """The threshold oracle closed: 'hidden' covers counts of 11 to 14 too."""
    for count in range(11, 11 + HIDING_JITTER):
        hidden = sum(publish(count, key, 11) is None for key in range(RECORD_KEYS))
        share = (HIDING_JITTER + 10 - count + 1) / (HIDING_JITTER + 1)
        assert hidden / RECORD_KEYS == pytest.approx(share, abs=0.05)


def test_another_secret_gives_other_perturbations():
    before = [perturbation(50, key) for key in range(200)]
    with override_settings(REGISTRY_CELL_KEY_SECRET="another-registry-secret-of-32-characters"):
        after = [perturbation(50, key) for key in range(200)]
    assert before != after


@given(count=counts, key=cell_keys, threshold=thresholds)
def test_a_published_count_is_hidden_below_the_threshold_and_near_the_truth_above(
    count, key, threshold
):
    shown = publish(count, key, threshold)
    if count < threshold:
        assert shown is None  # zero included: an empty value looks like a small one
    elif shown is not None:  # hidden up to HIDING_JITTER above the threshold
        assert shown >= threshold and abs(shown - count) <= 2
    if count >= threshold + HIDING_JITTER:
        assert shown is not None
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
