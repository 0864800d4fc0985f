"""The attack suite: an analyst tries to learn what the statistics must not tell.

Each attack family of the privacy issue is played by an analyst client over the
real endpoints, against registries made by the synthetic generator (realistic
frequencies: skin and scalp rare, so small cells everywhere) and by hypothesis.
What the attacker infers is compared with the curator's exact counts.

What "cannot be inferred exactly" means here: a hidden count is never
published, and every number an attacker can combine carries an unknown
perturbation of -2 to +2 (`registry.disclosure`). So an estimate made by
subtraction is right only by chance (about one time in three for the
difference of two numbers, less for more) and the attacker cannot tell which
estimates are the right ones. The tests assert both halves: hidden values never
appear, and differencing gets the truth for no more than half of the targets.
"""

import io
import itertools
import random
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.models import Case, Metastasis, ReviewStatus
from tests.api_helpers import client_for
from tests.stats_helpers import STATS, get
from tests.test_stats import Spec, create_cases, rolled_back, specs

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# The published data dictionary, as an analyst reads it in the README (the suite is a
# black box: it knows the API, not the code behind it).
DECADES = {"0-39": (0, 39), "40-49": (40, 49), "50-59": (50, 59), "60-69": (60, 69)}
DECADES |= {"70-79": (70, 79), "80+": (80, 90)}


def period_of(year: int) -> str:
    start = year - year % 5
    return f"{start}-{start + 4}"


THRESHOLD = 11
# An attack "works" when its estimates are right for more than this share of targets.
CHANCE = 0.5


def rows(body: dict, field: str = "cases") -> dict[str, int]:
    return {row["key"]: row[field] for row in body["rows"]}


def assert_differencing_fails(attempts: list[tuple[int, int]], *, at_least: int = 5) -> None:
    """(estimate, truth) per hidden target: enough targets, and mostly wrong estimates."""
    assert len(attempts) >= at_least, f"the registry offered only {len(attempts)} targets"
    right = sum(estimate == truth for estimate, truth in attempts)
    assert right <= CHANCE * len(attempts), f"{right} of {len(attempts)} recovered exactly"


@pytest.fixture
def registry():
    """A synthetic registry of 3,000 cases, most of them verified (by COPY, in seconds).

    The record keys are drawn from the cases' UUIDs rather than at random, and a
    sixth of the intervals are unknown, both decided by the generator's seed: a
    run is repeatable, and the estimates right by chance are the same each time.
    """
    call_command("synth", cases=3000, seed=7, reset=True, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE registry_case SET record_key = "
            "('x' || substr(md5(uuid::text), 1, 3))::bit(12)::int"
        )
        cursor.execute(
            "UPDATE registry_metastasis m SET months_from_primary = NULL FROM registry_case c "
            "WHERE c.id = m.case_id "
            "AND substr(md5(c.uuid::text || m.site_id), 1, 1) IN ('0', '1', '2')"
        )
    return Case.objects.filter(status=ReviewStatus.VERIFIED)


PERIODS = [f"{start}-{start + 4}" for start in range(2000, 2025, 5)]
SEXES = [{}, {"sex": "female"}, {"sex": "male"}]
SELECTIONS = [
    {**sex, **period} for sex in SEXES for period in [{}, *({"period": p} for p in PERIODS)]
]


@pytest.fixture
def analyst_client(analyst):
    return client_for(analyst)


@pytest.fixture
def curator_client(curator):
    return client_for(curator)


def exact(curator_client, path: str = "", **params) -> dict:
    """The truth, as a curator counts it, over the cases analysts count."""
    return get(curator_client, path, status="verified", **params)


# ---------------------------------------------------------------- row oracles


ROW_IDENTIFYING = [
    {"q": "synth-000001"},
    {"q": "00000000-0000-0000-0000-000000000001"},
    {"q": "scalp"},
    {"institution": "synth-01"},
    {"age_min": 57, "age_max": 57},
    {"year_min": 2019, "year_max": 2019},
    {"bands": "0,60"},
    {"bands": "0,61"},
    {"status": "submitted"},
]


@pytest.mark.parametrize("endpoint", ["", "counts/", "crosstab/", "intervals/"])
@pytest.mark.parametrize("params", ROW_IDENTIFYING)
def test_row_identifying_questions_are_refused_naming_the_parameter(
    analyst_client, endpoint, params
):
    base = {"counts/": {"by": "sex"}, "crosstab/": {"rows": "sex", "cols": "subtype"}}
    response = analyst_client.get(STATS + endpoint, {**base.get(endpoint, {}), **params})
    assert response.status_code == 400
    named = {error["field"] for error in response.json()["errors"]}
    assert named & set(params)


def narrowest_filters(case: Case) -> dict:
    """Every coded attribute of one case, at the finest published granularity."""
    metastasis = case.metastases.first()
    filters = {"sex": case.sex, "primary": case.primary_site_id, "site": metastasis.site_id}
    if case.age_at_diagnosis is not None:
        filters["age_band"] = next(
            key for key, (low, high) in DECADES.items() if low <= case.age_at_diagnosis <= high
        )
    if case.year_of_diagnosis is not None:
        filters["period"] = str(case.year_of_diagnosis)
    if case.subtype_id:
        filters["subtype"] = case.subtype_id
    return filters


def test_a_narrow_question_answers_alike_whether_the_patient_is_there_or_not(
    registry, analyst_client
):
    """The yes/no oracle: 0 was published and 1-10 hidden, so narrow filters found a patient."""
    answered = 0
    for case in registry.exclude(metastases=None).order_by("?")[:25]:
        filters = narrowest_filters(case)
        present = get(analyst_client, "counts/", by="sex", **filters)
        # The same question about a year in which nobody was diagnosed.
        absent = get(analyst_client, "counts/", by="sex", **{**filters, "period": "1901"})
        assert present["rows"] == absent["rows"] == []
        assert present["total"] == absent["total"]
        assert present["total"]["cases"] is None
        answered += 1
    assert answered == 25


# ---------------------------------------------------------------- derived figures


def test_intervals_give_no_extreme_and_no_exact_synchronous_count(
    registry, analyst_client, curator_client
):
    for level in ("code", "category", "site_group"):
        truth = rows(exact(curator_client, "intervals/", group_by=level), "metastases")
        exact_rows = {
            row["key"]: row for row in exact(curator_client, "intervals/", group_by=level)["rows"]
        }
        seen = get(analyst_client, "intervals/", group_by=level)
        for row in seen["rows"]:
            assert row["min"] is None and row["max"] is None
            real = exact_rows[row["key"]]
            assert real["cases"] >= THRESHOLD
            synchronous = round((real["share_synchronous"] or 0) * truth[row["key"]])
            if 0 < synchronous < THRESHOLD:
                assert row["share_synchronous"] is None  # a small count is not given back
        small = {key for key, row in exact_rows.items() if row["cases"] < THRESHOLD}
        assert not small & set(rows(seen))


# ---------------------------------------------------------------- differencing


def test_site_counts_minus_interval_counts_do_not_give_the_unknown_intervals(
    registry, analyst_client, curator_client
):
    """Cases at a site minus cases with a known interval there: those with none."""
    attempts = []
    for level, filters in itertools.product(("code", "category", "site_group"), SELECTIONS):
        sites = rows(get(analyst_client, "", group_by=level, **filters))
        timed = rows(get(analyst_client, "intervals/", group_by=level, **filters))
        truth_sites = rows(exact(curator_client, "", group_by=level, **filters))
        truth_timed = rows(exact(curator_client, "intervals/", group_by=level, **filters))
        for key in sites.keys() & timed.keys():
            unknown = truth_sites[key] - truth_timed[key]
            if 0 < unknown < THRESHOLD:
                attempts.append((sites[key] - timed[key], unknown))
    assert_differencing_fails(attempts)


def test_a_groups_total_minus_its_shown_codes_does_not_give_the_hidden_code(
    registry, analyst_client, curator_client
):
    """Metastases add up across codes: a group's lesions minus its shown codes' lesions."""
    groups = get(analyst_client, "", group_by="site_group")["rows"]
    attempts = []
    for group in groups:
        shown = rows(
            get(analyst_client, "", group_by="code", site_group=group["key"]), "metastases"
        )
        truth = rows(
            exact(curator_client, "", group_by="code", site_group=group["key"]), "metastases"
        )
        # Cases with a metastasis in the group bring their other sites too: keep the group's.
        in_group = {
            code
            for code in truth
            if Metastasis.objects.filter(site_id=code, site__site_group=group["key"]).exists()
        }
        hidden = [code for code in in_group if code not in shown]
        if len(hidden) == 1 and 0 < truth[hidden[0]] < THRESHOLD:
            estimate = group["metastases"] - sum(shown[code] for code in in_group & set(shown))
            attempts.append((estimate, truth[hidden[0]]))
    # Few groups have exactly one small code; the cross-table attack below has more targets.
    right = sum(estimate == truth for estimate, truth in attempts)
    assert right <= max(1, CHANCE * len(attempts))


def test_a_period_minus_its_other_years_does_not_give_the_small_year(
    registry, analyst_client, curator_client
):
    """`year_max=2019` against `year_max=2020`, as periods: five years minus four."""
    attempts = []
    groups = rows(get(analyst_client, "", group_by="site_group"))
    for group, period, sex in itertools.product(groups, PERIODS, SEXES):
        query = {"by": "year", "site_group": group, "period": period, **sex}
        whole = get(analyst_client, "counts/", **query)
        if whole["total"]["cases"] is None:
            continue
        truth = rows(exact(curator_client, "counts/", **query))
        years = rows(whole)
        hidden = [year for year in truth if year not in years]
        if len(hidden) == 1 and 0 < truth[hidden[0]] < THRESHOLD:
            estimate = whole["total"]["cases"] - sum(years.values())
            attempts.append((estimate, truth[hidden[0]]))
    assert_differencing_fails(attempts)


def test_a_crosstab_row_minus_its_shown_cells_does_not_give_the_hidden_cell(
    registry, analyst_client, curator_client
):
    """The columns partition the cases: a row total minus its shown cells is its hidden cells."""
    attempts = []
    groups = rows(get(analyst_client, "", group_by="site_group"))
    pairs = [("site_group", "subtype"), ("site_group", "age_band"), ("sex", "age_band")]
    selections = [*SELECTIONS, *({"site_group": group} for group in groups)]
    for (rows_by, cols_by), filters in itertools.product(pairs, selections):
        table = get(analyst_client, "crosstab/", rows=rows_by, cols=cols_by, **filters)
        truth_table = exact(curator_client, "crosstab/", rows=rows_by, cols=cols_by, **filters)
        truth = {
            (row["key"], cell["key"]): cell["cases"]
            for row in truth_table["rows"]
            for cell in row["cells"]
        }
        columns = [column["key"] for column in truth_table["columns"]]
        for row in table["rows"]:
            shown = {cell["key"]: cell["cases"] for cell in row["cells"] if not cell["suppressed"]}
            hidden = [key for key in columns if key not in shown and truth[row["key"], key] > 0]
            if len(hidden) == 1 and truth[row["key"], hidden[0]] < THRESHOLD:
                estimate = row["total"]["cases"] - sum(shown.values())
                attempts.append((estimate, truth[row["key"], hidden[0]]))
    assert_differencing_fails(attempts, at_least=20)


def test_the_same_cases_get_the_same_number_by_every_route(registry, analyst_client):
    """Asking again, or another way, never averages a perturbation away."""
    by_code = rows(get(analyst_client, "", group_by="code"))
    for code, published in list(by_code.items())[:10]:
        assert get(analyst_client, "", group_by="code", site=code)["total"]["cases"] == published
        assert get(analyst_client, "counts/", by="sex", site=code)["total"]["cases"] == published
        assert (
            get(analyst_client, "", group_by="code")["rows"]
            == get(analyst_client, "", group_by="code")["rows"]
        )
    by_sex = rows(get(analyst_client, "counts/", by="sex"))
    crosstab = get(analyst_client, "crosstab/", rows="sex", cols="site_group")
    assert {row["key"]: row["total"]["cases"] for row in crosstab["rows"]} == by_sex
    broad = rows(get(analyst_client, "counts/", by="age_band", bands="broad"))
    filtered = get(analyst_client, "counts/", by="sex", age_band="50-69")["total"]["cases"]
    assert broad["50-69"] == filtered


# ---------------------------------------------------------------- generated registries


@given(cases=st.lists(specs, min_size=15, max_size=40), seed=st.integers(0, 2**16))
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_published_number_is_a_small_count_in_any_generated_registry(
    analyst_client, cases, seed
):
    """Whatever the registry: every number shown is at least the threshold, or absent."""
    chooser = random.Random(seed)
    with rolled_back():
        create_cases(cases)
        dimensions = ["site", "site_group", "subtype", "sex", "age_band", "year", "period"]
        for _ in range(4):
            by = chooser.choice(dimensions)
            body = get(analyst_client, "counts/", by=by)
            assert all(n >= THRESHOLD for n in rows(body).values())
            total = body["total"]["cases"]
            assert total is None or total >= THRESHOLD
            if total is None:
                assert body["rows"] == []
        verified = [s for s in cases if s.status == ReviewStatus.VERIFIED]
        by_year = Counter(period_of(s.year) for s in verified if s.year is not None)
        shown = rows(get(analyst_client, "counts/", by="period"))
        for period, n in by_year.items():
            assert (period in shown) == (n >= THRESHOLD)


def test_a_single_verified_case_leaves_no_trace_for_analysts(analyst_client, curator_client):
    """The founding case alone: nothing about it is published, by any endpoint."""
    create_cases([Spec()])
    Case.objects.update(status=ReviewStatus.VERIFIED)
    per_endpoint = defaultdict(list)
    for path, params in [
        ("", {"group_by": "code"}),
        ("counts/", {"by": "age_band"}),
        ("crosstab/", {"rows": "site", "cols": "sex"}),
        ("intervals/", {}),
    ]:
        body = get(analyst_client, path, **params)
        per_endpoint[path].append(body)
        assert body["rows"] == [] and body["total"]["cases"] is None
    assert get(curator_client, "", group_by="code")["total"]["cases"] == 1
