"""Statistics: the counts equal a plain Python recount; analysts see them protected.

Cases are created through the services, as hospitals create them. Property tests
draw random case sets and compare every endpoint (curators: exact counts) with a
recount in Python, and the analysts' protected counts with the same recount.
The attacks on the protection are in `tests/test_privacy_attacks.py`.
"""

import contextlib
import csv
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import pytest
import schemathesis
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from registry import stats
from registry.access import period_of
from registry.disclosure import HIDING_JITTER, RECORD_KEYS, Tally
from registry.models import Case, Metastasis, ReviewStatus, Topography
from registry.selectors import CaseFilters, CountedSelection
from registry.services.cases import case_create, case_review
from registry.services.tokens import token_issue
from registry.stats import (
    DEFAULT_AGE_BANDS,
    AgeBands,
    Dimension,
    counting,
    time_to_metastasis,
    vendors,
)
from registry.stats.dimensions import FIELD
from registry.stats.time_to_metastasis import exact_bins, merged_bins
from tests.api_helpers import client_for
from tests.factories import InstitutionFactory, founding_payload
from tests.stats_helpers import STATS, cells_of, get, rows_of

ENDPOINTS = ["", "counts/?by=subtype", "crosstab/?rows=site_group&cols=sex", "intervals/"]
# Sites across groups: two of skin, two of bone, lung, liver, brain, orbit.
SITES = ["C44.4", "C44.3", "C41.2", "C40.0", "C34.1", "C22.0", "C71.9", "C69.6"]
BREAST_SUBTYPES = [
    "luminal_a_like",
    "luminal_b_like_her2_negative",
    "luminal_b_like_her2_positive",
    "her2_enriched",
    "triple_negative",
]
SITE_LEVELS = {"code": Dimension.SITE, "category": "site_category", "site_group": "site_group"}

PROPERTY_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------- cases


@dataclass(frozen=True)
class Spec:
    """A case as the tests think of it: its metastases (site, months) and attributes."""

    metastases: tuple[tuple[str, int | None], ...] = (("C44.4", None),)
    subtype: str | None = None
    sex: str = "female"
    age: int | None = 56
    year: int | None = 2019
    status: str = ReviewStatus.VERIFIED
    institution: str = "hosp-a"


def create_cases(specs: list[Spec]) -> None:
    institutions = {
        code: InstitutionFactory(code=code, name=f"Hospital {code}")
        for code in {spec.institution for spec in specs}
    }
    template = founding_payload()["metastases"][0]
    for number, spec in enumerate(specs):
        payload = founding_payload(
            sex=spec.sex,
            menopausal_status="unknown",
            age_at_diagnosis=spec.age,
            year_of_diagnosis=spec.year,
            subtype=spec.subtype,
            metastases=[
                {**template, "site": site, "months_from_primary": months}
                for site, months in spec.metastases
            ],
        )
        case = case_create(
            institution=institutions[spec.institution],
            local_id=f"stats-{number}",
            payload=payload,
            actor=None,
        )
        if spec.status != ReviewStatus.SUBMITTED:
            reason = "Not a metastasis on review" if spec.status == ReviewStatus.REJECTED else ""
            case_review(case=case, status=spec.status, reason=reason, actor=None)


@contextlib.contextmanager
def rolled_back():
    """One hypothesis example's cases, gone afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


# ---------------------------------------------------------------- the recount


class Recount:
    """The statistics computed in plain Python from the specs."""

    def __init__(self, specs: list[Spec], bands: AgeBands = DEFAULT_AGE_BANDS):
        self.specs = specs
        self.bands = bands
        self.topography = {row.code: row for row in Topography.objects.all()}

    def site_key(self, site: str, level: str) -> str:
        row = self.topography[site]
        return {"code": site, "category": row.category, "site_group": row.site_group}[level]

    def values(self, spec: Spec, dimension: str) -> set[str]:
        """Each case has a set of values per dimension: one per metastasis for sites."""
        levels = {"site": "code", "site_category": "category", "site_group": "site_group"}
        if dimension in levels:
            return {self.site_key(site, levels[dimension]) for site, _ in spec.metastases}
        primary = self.topography["C50.9"]
        return {
            "primary": {"C50.9"},
            "primary_category": {primary.category},
            "primary_group": {primary.site_group},
            "morphology": {"8500/3"},
            "subtype": {spec.subtype or "unknown"},
            "sex": {spec.sex},
            "age_band": {self.bands.key_for(spec.age)},
            "year": {str(spec.year) if spec.year is not None else "unknown"},
            "period": {period_of(spec.year) if spec.year is not None else "unknown"},
        }[dimension]

    def counts(self, dimension: str) -> dict[str, int]:
        return dict(Counter(v for spec in self.specs for v in self.values(spec, dimension)))

    def site_counts(self, level: str) -> dict[str, tuple[int, int]]:
        cases = Counter(
            key
            for spec in self.specs
            for key in {self.site_key(site, level) for site, _ in spec.metastases}
        )
        lesions = Counter(
            self.site_key(site, level) for spec in self.specs for site, _ in spec.metastases
        )
        return {key: (cases[key], lesions[key]) for key in cases}

    def crosstab(self, rows: str, cols: str) -> dict[tuple[str, str], int]:
        cells = Counter()
        for spec in self.specs:
            for a in self.values(spec, rows):
                for b in self.values(spec, cols):
                    cells[a, b] += 1
        return dict(cells)

    def intervals(self, level: str) -> dict[str, dict]:
        months, cases = defaultdict(list), defaultdict(set)
        for number, spec in enumerate(self.specs):
            for site, month in spec.metastases:
                if month is not None:
                    months[self.site_key(site, level)].append(month)
                    cases[self.site_key(site, level)].add(number)
        return {key: interval_statistics(values, len(cases[key])) for key, values in months.items()}


def interval_statistics(months: list[int], n_cases: int) -> dict:
    return {
        "cases": n_cases,
        "metastases": len(months),
        "median": percentile_cont(months, 0.5),
        "q1": percentile_cont(months, 0.25),
        "q3": percentile_cont(months, 0.75),
        "min": min(months),
        "max": max(months),
        "share_synchronous": round(sum(m == 0 for m in months) / len(months), 4),
    }


def percentile_cont(values: list[int], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the nearest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


FILTERS = [
    ({}, lambda s: True),
    ({"site_group": "Skin"}, lambda s: any(site.startswith("C44") for site, _ in s.metastases)),
    (
        {"site": "C34.1,C22.0"},
        lambda s: any(site in ("C34.1", "C22.0") for site, _ in s.metastases),
    ),
    ({"sex": "female"}, lambda s: s.sex == "female"),
    ({"age_min": 40, "age_max": 69}, lambda s: s.age is not None and 40 <= s.age <= 69),
    ({"year_min": 2015}, lambda s: s.year is not None and s.year >= 2015),
    ({"subtype": "triple_negative"}, lambda s: s.subtype == "triple_negative"),
    ({"status": "verified,submitted"}, lambda s: s.status in ("verified", "submitted")),
    ({"institution": "hosp-b"}, lambda s: s.institution == "hosp-b"),
]

metastases = st.lists(
    st.tuples(st.sampled_from(SITES), st.sampled_from([None, 0, 0, 3, 12, 30, 60, 121])),
    min_size=1,
    max_size=3,
).map(tuple)
specs = st.builds(
    Spec,
    metastases=metastases,
    subtype=st.sampled_from([None, *BREAST_SUBTYPES]),
    sex=st.sampled_from(["female", "female", "male", "unknown"]),
    age=st.one_of(st.none(), st.integers(20, 90)),
    year=st.one_of(st.none(), st.integers(2005, 2024)),
    status=st.sampled_from(ReviewStatus.values),
    institution=st.sampled_from(["hosp-a", "hosp-b"]),
)
band_choices = st.sampled_from([DEFAULT_AGE_BANDS, AgeBands((0, 50, 65)), AgeBands((0,))])
# The case and site dimensions; the clinical ones are recounted in tests/test_clinical_stats.py.
COUNTED_DIMENSIONS = [dimension for dimension in Dimension if not dimension.clinical]
dimension_pairs = st.tuples(
    st.sampled_from(COUNTED_DIMENSIONS), st.sampled_from(COUNTED_DIMENSIONS)
)


# ---------------------------------------------------------------- calling the API


@pytest.fixture
def curator_client(curator):
    return client_for(curator)


@pytest.fixture
def analyst_client(analyst):
    return client_for(analyst)


# ---------------------------------------------------------------- counts equal the recount


@pytest.mark.postgres
@given(
    cases=st.lists(specs, max_size=10),
    chosen=st.sampled_from(FILTERS),
    bands=band_choices,
    pair=dimension_pairs,
)
@PROPERTY_SETTINGS
def test_every_endpoint_counts_what_a_python_recount_counts(
    curator_client, cases, chosen, bands, pair
):
    query, keep = chosen
    with rolled_back():
        create_cases(cases)
        recount = Recount([spec for spec in cases if keep(spec)], bands)
        selected = len(recount.specs)
        banding = {"bands": ",".join(map(str, bands.lower_bounds))}

        for level in SITE_LEVELS:
            body = get(curator_client, "", group_by=level, **query)
            found = {row["key"]: (row["cases"], row["metastases"]) for row in body["rows"]}
            assert found == recount.site_counts(level)
            lesions = sum(len(spec.metastases) for spec in recount.specs)
            assert (body["total"]["cases"], body["total"]["metastases"]) == (selected, lesions)
            assert body["suppression"]["applied"] is False

        for dimension in COUNTED_DIMENSIONS:
            body = get(curator_client, "counts/", by=dimension.value, **banding, **query)
            assert rows_of(body) == recount.counts(dimension.value), dimension
            assert body["total"]["cases"] == selected

        rows, cols = pair
        body = get(
            curator_client, "crosstab/", rows=rows.value, cols=cols.value, **banding, **query
        )
        assert cells_of(body) == recount.crosstab(rows.value, cols.value)
        row_totals = {row["key"]: row["total"]["cases"] for row in body["rows"]}
        assert row_totals == recount.counts(rows.value)
        column_totals = {cell["key"]: cell["cases"] for cell in body["column_totals"]}
        assert column_totals == recount.counts(cols.value)
        assert body["total"]["cases"] == selected

        for level in SITE_LEVELS:
            body = get(curator_client, "intervals/", group_by=level, **query)
            found = {
                row["key"]: {
                    k: v for k, v in row.items() if k not in ("key", "label", "suppressed")
                }
                for row in body["rows"]
            }
            expected = recount.intervals(level)
            assert found.keys() == expected.keys()
            for key, statistics in expected.items():
                assert found[key] == pytest.approx(statistics), key


ANALYST_DIMENSIONS = [d for d in COUNTED_DIMENSIONS if d is not Dimension.AGE_BAND] + ["age_band"]


def assert_protected_view(published: dict, exact: dict, threshold: int) -> None:
    """Analysts see values of at least `threshold` cases (all of threshold + HIDING_JITTER or
    more; some below that are hidden by the keyed jitter), each within 2 of the truth."""
    assert set(published) <= {key for key, n in exact.items() if n >= threshold}
    assert set(published) >= {key for key, n in exact.items() if n >= threshold + HIDING_JITTER}
    for key, shown in published.items():
        assert shown >= threshold
        assert abs(shown - exact[key]) <= 2, key


@given(cases=st.lists(specs, max_size=10), pair=dimension_pairs)
@PROPERTY_SETTINGS
def test_analysts_count_verified_cases_only_perturbed_by_at_most_two(
    analyst_client, settings, cases, pair
):
    settings.REGISTRY_MIN_CELL_COUNT = 1  # nothing is small enough to hide
    with rolled_back():
        create_cases(cases)
        recount = Recount([spec for spec in cases if spec.status == ReviewStatus.VERIFIED])
        body = get(analyst_client, "", group_by="site_group")
        exact = {key: n for key, (n, _) in recount.site_counts("site_group").items()}
        assert_protected_view(rows_of(body), exact, 1)
        assert body["counted_statuses"] == ["verified"]
        rows, cols = pair
        body = get(analyst_client, "crosstab/", rows=rows.value, cols=cols.value)
        cells = {
            (row["key"], cell["key"]): cell["cases"]
            for row in body["rows"]
            for cell in row["cells"]
            if cell["cases"] is not None
        }
        assert_protected_view(cells, recount.crosstab(rows.value, cols.value), 1)


# ---------------------------------------------------------------- protection through the API


def published_counts(body: dict) -> list[int]:
    """Every number of cases or metastases a response shows."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("cases", "metastases") and item is not None:
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk({key: body[key] for key in ("rows", "total", "column_totals") if key in body})
    return found


@given(cases=st.lists(specs, max_size=14), pair=dimension_pairs)
@PROPERTY_SETTINGS
def test_analysts_never_see_a_small_count_and_margins_equal_the_one_way_tables(
    analyst_client, settings, cases, pair
):
    settings.REGISTRY_MIN_CELL_COUNT = 3
    with rolled_back():
        create_cases(cases)
        rows, cols = pair
        crosstab = get(analyst_client, "crosstab/", rows=rows.value, cols=cols.value)
        bodies = [
            get(analyst_client, "", group_by="code"),
            get(analyst_client, "counts/", by=rows.value),
            get(analyst_client, "counts/", by=cols.value),
            crosstab,
        ]
        for body in bodies:
            assert all(count >= 3 for count in published_counts(body))
            assert body["suppression"]["applied"] is True
            assert body["suppression"]["suppressed"] is None
        # The same cases give the same number by every route.
        margins = {row["key"]: row["total"]["cases"] for row in crosstab["rows"]}
        assert margins == rows_of(bodies[1])
        columns = {cell["key"]: cell["cases"] for cell in crosstab["column_totals"]}
        assert columns == rows_of(bodies[2])


ATTACK_CASES = (
    # Bone and lung are common, skin and orbit rare: small cells in every direction.
    [Spec((("C41.2", 12),), subtype="luminal_a_like", age=61, sex="female")] * 14
    + [Spec((("C41.2", 24), ("C34.1", 30)), subtype="luminal_b_like_her2_negative", age=47)] * 12
    + [Spec((("C34.1", 0),), subtype="triple_negative", age=52)] * 11
    + [Spec((("C22.0", 40),), subtype="her2_enriched", age=66)] * 9
    + [Spec((("C44.4", 60), ("C44.4", 60)), subtype="triple_negative", age=56)] * 3
    + [Spec((("C69.6", 90),), subtype="luminal_a_like", age=71, sex="male")] * 2
    + [Spec((("C71.9", 18),), subtype=None, age=None)] * 4
    + [Spec((("C44.3", 0),), subtype="luminal_a_like", status=ReviewStatus.SUBMITTED)] * 5
)


@pytest.fixture
def attack_cases(db):
    create_cases(ATTACK_CASES)


def test_small_sites_are_left_out_and_large_ones_perturbed_by_at_most_two(
    attack_cases, analyst_client
):
    body = get(analyst_client, "", group_by="site_group")
    rows = {row["key"]: row for row in body["rows"]}
    # Liver 9, Brain and CNS 4, Skin 3, Eye and orbit 2: not listed at all.
    assert set(rows) == {"Bone", "Lung"}
    assert abs(rows["Bone"]["cases"] - 26) <= 2 and abs(rows["Lung"]["cases"] - 23) <= 2
    assert abs(body["total"]["cases"] - 55) <= 2
    assert body["suppression"]["method"] == "cell_key"


def test_curators_see_exact_small_counts(attack_cases, curator_client):
    body = get(curator_client, "", group_by="site_group")
    rows = rows_of(body)
    assert rows["Eye and orbit"] == 2 and rows["Skin"] == 8
    assert body["suppression"] == {
        "threshold": 11,
        "applied": False,
        "method": "none",
        "suppressed": 0,
        "rule": body["suppression"]["rule"],
    }


def test_a_case_with_two_lesions_at_one_site_is_one_case(attack_cases, curator_client):
    body = get(curator_client, "", group_by="code", status="verified")
    scalp = next(row for row in body["rows"] if row["key"] == "C44.4")
    assert (scalp["cases"], scalp["metastases"]) == (3, 6)
    assert scalp["label"] == "Skin of scalp and neck"
    assert body["counting"] == "cases_and_metastases"


def test_filters_are_echoed(curator_client, db):
    body = get(curator_client, "", site_group="Skin,Bone", age_band="40-49", group_by="code")
    assert body["filters"] == {"site_group": ["Skin", "Bone"], "age_band": ["40-49"]}
    assert body["group_by"] == "code"


def test_unknown_values_are_counted_as_unknown(attack_cases, curator_client):
    body = get(curator_client, "counts/", by="subtype")
    unknown = next(row for row in body["rows"] if row["key"] == "unknown")
    assert (unknown["cases"], unknown["label"]) == (4, "Unknown")
    assert body["rows"][-1]["key"] == "unknown"


def test_age_bands_are_configurable(attack_cases, curator_client):
    body = get(curator_client, "counts/", by="age_band", bands="0,50,65")
    assert [row["key"] for row in body["rows"]] == ["0-49", "50-64", "65+", "unknown"]
    assert [row["label"] for row in body["rows"]][:3] == [
        "0 to 49 years",
        "50 to 64 years",
        "65 years or over",
    ]
    assert body["bands"] == [0, 50, 65]
    assert rows_of(body) == {"0-49": 12, "50-64": 14 + 11 + 3 + 5, "65+": 11, "unknown": 4}


# ---------------------------------------------------------------- intervals


@pytest.mark.postgres
def test_intervals_leave_small_rows_out_and_give_analysts_no_extremes(
    attack_cases, analyst_client, curator_client
):
    exact = {row["key"]: row for row in get(curator_client, "intervals/")["rows"]}
    assert exact["Bone"]["cases"] == 26 and exact["Bone"]["median"] == 12.0
    assert exact["Lung"]["share_synchronous"] == pytest.approx(11 / 23, abs=1e-4)
    seen = {row["key"]: row for row in get(analyst_client, "intervals/")["rows"]}
    assert set(seen) == {"Bone", "Lung"}
    bone = seen["Bone"]
    assert abs(bone["cases"] - 26) <= 2 and abs(bone["metastases"] - 26) <= 2
    assert bone["min"] is None and bone["max"] is None
    # 14 at 12 months and 12 at 24: with counts perturbed by up to 2, the histogram's
    # median lies in the 7-12 or the 13-24 month bin; or, when the keyed jitter hides the
    # bin of 12, the bins merge and a median inside the merged bin is not given.
    assert bone["median"] is None or 7 <= bone["median"] <= 25
    lung = seen["Lung"]
    # 11 synchronous lesions: at the threshold, so published or hidden by the keyed jitter.
    if lung["share_synchronous"] is not None:
        assert lung["share_synchronous"] == pytest.approx(11 / 23, abs=0.15)


def test_a_histogram_quantile_interpolates_within_its_bin():
    counts = [0] * len(stats.INTERVAL_BINS)
    assert stats.histogram_quantile(exact_bins(counts), 0.5) is None
    counts[0], counts[3] = 10, 10  # ten at month 0, ten in months 7-12
    assert stats.histogram_quantile(exact_bins(counts), 0.25) == 0.0
    assert stats.histogram_quantile(exact_bins(counts), 0.75) == 10.0  # half-way through [7, 13)
    counts[-1] = 100
    assert stats.histogram_quantile(exact_bins(counts), 0.9) == 121.0  # the open bin: its first


def test_bins_under_the_threshold_merge_so_no_quartile_sits_on_a_small_bin():
    # Cases per bin: 4 at month 0, 9 in 1-3, 30 in 4-6, 2 later on.
    cases = [4, 9, 30, 0, 0, 0, 0, 0, 2]
    counts = [(Tally(n, 7 * n), n) for n in cases]
    bins = merged_bins(counts, threshold=11)
    # 0 and 1-3 hold 13 together; 4-6 alone; the last 2 join it, open-ended.
    assert [(b.first, b.last) for b in bins] == [(0, 3), (4, None)]
    assert stats.histogram_quantile(bins, 0.25) not in (0.0, None)  # no quartile at month 0
    assert stats.histogram_quantile(bins, 0.75) is None  # in a merged open bin: not placed
    assert merged_bins([(Tally(2, 1), 2)] + [(Tally(), 0)] * 8, threshold=11) == []


# ---------------------------------------------------------------- one query per site count


@pytest.mark.postgres
def test_a_site_count_is_one_group_by_over_the_counted_metastases_alone(
    attack_cases, curator_client
):
    with CaptureQueriesContext(connection) as queries:
        get(curator_client, "", group_by="site_group", sex="female", status="verified")
    grouped = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1
    assert "registry_countedmetastasis" in grouped[0] and "COUNT(DISTINCT" in grouped[0]
    # The filters and the analyst's scope are read off the copied columns: no join to cases.
    assert "registry_case" not in grouped[0].replace("registry_countedmetastasis", "")


@pytest.mark.postgres
def test_an_analysts_site_count_is_one_statement_over_the_counted_metastases_alone(
    attack_cases, analyst_client
):
    with CaptureQueriesContext(connection) as queries:
        # (not sex=female: it removes too few cases here, which registry.complements refuses)
        get(analyst_client, "", group_by="site_group", age_band="50-69")
    grouped = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1
    assert "registry_countedmetastasis" in grouped[0] and "SUM(DISTINCT" in grouped[0]
    assert "registry_case" not in grouped[0].replace("registry_countedmetastasis", "")
    assert grouped[0].count("SELECT") == 1  # one level: no (site, case) rows first


@pytest.mark.postgres
def test_a_site_count_with_a_text_search_joins_the_base_tables(attack_cases, curator):
    with CaptureQueriesContext(connection) as queries:
        get(client_for(curator), "", group_by="code", q="C44.4")
    grouped = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1
    assert "ROLLUP" in grouped[0] and "registry_countedmetastasis" not in grouped[0]


# ---------------------------------------------------------------- who may read statistics


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 401), ("submitter_a", 403), ("analyst", 200), ("curator", 200)],
)
def test_who_reads_statistics(request, db, persona, expected, endpoint):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    response = client_for(user).get(STATS + endpoint)
    assert response.status_code == expected
    if expected != 200:
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "stats-1"}, "q"),
        ({"institution": "hosp-a"}, "institution"),
        ({"age_min": 57}, "age_min"),
        ({"age_max": 57}, "age_max"),
        ({"year_min": 2019}, "year_min"),
        ({"year_max": 2019}, "year_max"),
        ({"by": "age_band", "bands": "0,60"}, "bands"),
        ({"by": "age_band", "bands": "0,61"}, "bands"),
    ],
)
def test_analysts_may_not_ask_row_identifying_questions(analyst_client, db, params, field):
    response = analyst_client.get(STATS + "counts/", {"by": "sex", **params})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    "params",
    [{"age_band": "50-59"}, {"age_band": "50-69"}, {"period": "2015-2019"}, {"period": "2021"}],
)
def test_analysts_select_ages_and_years_from_the_published_dictionary(analyst_client, db, params):
    assert analyst_client.get(STATS + "counts/", {"by": "sex", **params}).status_code == 200
    bands = {"by": "age_band", "bands": "broad"}
    assert analyst_client.get(STATS + "counts/", bands).json()["bands"] == [0, 50, 70]


@pytest.mark.parametrize("params", [{"age_band": "50-58"}, {"period": "2016-2020"}])
def test_unpublished_bands_and_periods_are_a_400(curator_client, db, params):
    assert curator_client.get(STATS + "counts/", {"by": "sex", **params}).status_code == 400


def test_analysts_may_not_count_unverified_cases(analyst_client, db):
    response = analyst_client.get(STATS, {"status": "submitted"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"
    assert analyst_client.get(STATS, {"status": "verified"}).status_code == 200


def test_curators_count_any_status(attack_cases, curator_client):
    body = get(curator_client, "", status="submitted")
    assert rows_of(body) == {"Skin": 5}
    assert body["counted_statuses"] == ["submitted"]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("", {"colour": "red"}, "colour"),
        ("", {"group_by": "organ"}, "group_by"),
        ("counts/", {}, "by"),
        ("counts/", {"by": "eye_colour"}, "by"),
        ("counts/", {"by": "age_band", "bands": "0,40,30"}, "bands"),
        ("counts/", {"by": "age_band", "bands": "10,40"}, "bands"),
        ("counts/", {"by": "age_band", "bands": "0,forty"}, "bands"),
        ("counts/", {"by": "age_band", "bands": "0,95"}, "bands"),
        ("crosstab/", {"rows": "site"}, "cols"),
        ("", {"format": "xml"}, "format"),
        ("", {"age_min": 70, "age_max": 40}, "age_min"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_field(curator_client, path, params, field):
    response = curator_client.get(STATS + path, params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


# ---------------------------------------------------------------- CSV


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines(keepends=True)
    # The provenance lines above the header (`# release: ...`) are comments.
    return list(csv.DictReader(line for line in lines if not line.startswith("#")))


def test_site_counts_as_csv_show_the_json_numbers(attack_cases, analyst_client):
    body = get(analyst_client, "")
    for response in (
        analyst_client.get(STATS, {"format": "csv"}),
        analyst_client.get(STATS, HTTP_ACCEPT="text/csv"),
    ):
        lines = read_csv(response)
        assert list(lines[0]) == ["key", "label", "cases", "metastases", "suppressed"]
        assert [line["key"] for line in lines[:-1]] == [row["key"] for row in body["rows"]]
        for line, row in zip(lines, body["rows"], strict=False):
            assert (int(line["cases"]), int(line["metastases"])) == (
                row["cases"],
                row["metastases"],
            )
        assert lines[-1]["key"] == "" and lines[-1]["cases"] == str(body["total"]["cases"])


def test_a_crosstab_as_csv_is_one_line_per_cell_then_the_totals(attack_cases, analyst_client):
    body = get(analyst_client, "crosstab/", rows="site_group", cols="subtype")
    query = "crosstab/?rows=site_group&cols=subtype&format=csv"
    lines = read_csv(analyst_client.get(STATS + query))
    n_rows, n_cols = len(body["rows"]), len(body["columns"])
    assert len(lines) == n_rows * n_cols + n_rows + n_cols + 1
    assert list(lines[0]) == ["row_key", "row_label", "col_key", "col_label", "cases", "suppressed"]
    assert lines[-1] == {
        "row_key": "",
        "row_label": "Total",
        "col_key": "",
        "col_label": "Total",
        "cases": str(body["total"]["cases"]),
        "suppressed": "false",
    }
    assert any(line["suppressed"] == "true" and line["cases"] == "" for line in lines)


def test_errors_stay_problem_json_when_csv_is_asked_for(analyst_client, db):
    response = analyst_client.get(STATS + "counts/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "by"


# ---------------------------------------------------------------- the schema


@pytest.fixture
def stats_schema(db, wsgi_keeps_the_test_connection):
    return schemathesis.openapi.from_wsgi("/api/schema/", application).include(
        path_regex="^/api/v1/stats/"
    )


def test_every_statistics_endpoint_is_documented_with_examples(stats_schema):
    paths = stats_schema.raw_schema["paths"]
    # One operation per media type: the JSON table and its .csv twin.
    for endpoint, twin in (
        ("", "sites.csv"),
        ("counts/", "counts.csv"),
        ("crosstab/", "crosstab.csv"),
        ("intervals/", "intervals.csv"),
    ):
        content = paths[STATS + endpoint]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json"}
        assert content["application/json"]["examples"], endpoint
        csv_content = paths[STATS + twin]["get"]["responses"]["200"]["content"]
        assert set(csv_content) == {"text/csv"}
        assert csv_content["text/csv"]["examples"], twin


@pytest.mark.parametrize("persona", ["analyst", "curator"])
def test_statistics_conform_to_their_schema_for_generated_requests(
    request, stats_schema, attack_cases, persona
):
    token = token_issue(user=request.getfixturevalue(persona), name="schemathesis")[1]

    @given(case=stats_schema.as_strategy())
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def conforms(case):
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"},
            checks=[
                status_code_conformance,
                content_type_conformance,
                response_headers_conformance,
                response_schema_conformance,
            ],
        )
        assert case.call(headers={"Authorization": f"Bearer {token}"}).status_code < 500

    conforms()


# ---------------------------------------------------------------- without PostgreSQL


class JoinedSelection(CountedSelection):
    """A selection that the counted metastases do not serve, as on SQLite."""

    def counted_metastases(self):
        return None


@pytest.mark.postgres
@pytest.mark.parametrize("level", ["code", "category", "site_group"])
def test_the_portable_and_joined_paths_count_what_the_counted_metastases_count(
    attack_cases, curator, analyst, level
):
    """`make run` serves SQLite, which has neither the counted table, ROLLUP nor percentile_cont.

    The `q` search joins the base tables on PostgreSQL too.
    """
    dimension = stats.SITE_LEVELS[level]
    selection = CountedSelection(curator, CaseFilters())
    cases = selection.cases()
    counted = counting._site_counts_counted(selection.counted_metastases(), dimension)
    assert vendors._site_counts_portable(cases, dimension) == counted
    assert vendors.site_counts_joined(cases, dimension) == counted
    for other in (Dimension.SUBTYPE, Dimension.PRIMARY_GROUP, Dimension.AGE_BAND):
        pair = [dimension, other]
        for keyed in (False, True):
            by_counted = counting._grouped_counted(selection.counted_metastases(), pair, keyed)
            by_joined = counting._grouped_joined(cases, pair, keyed)
            assert sorted(by_counted) == sorted(by_joined)
    # Analysts' counts carry the record keys of exactly their cases, by either path
    # (their sum, give or take a multiple of RECORD_KEYS: the same cell key).
    analysts = CountedSelection(analyst, CaseFilters())
    keyed = counting._site_counts(analysts, dimension)
    assert counting._site_counts(JoinedSelection(analyst, CaseFilters()), dimension) == keyed
    verified = Case.objects.filter(status=ReviewStatus.VERIFIED).prefetch_related("metastases")
    expected = defaultdict(set)
    for case in verified:
        for metastasis in case.metastases.all():
            expected[Recount([]).site_key(metastasis.site_id, level)].add(case)
    by_key, (total, _) = keyed
    for key, (tally, _) in by_key.items():
        sum_of_keys = sum(c.record_key for c in expected[key])
        assert (tally.n, tally.cell_key) == (len(expected[key]), sum_of_keys % RECORD_KEYS)
    assert total == Tally(len(verified), sum(case.record_key for case in verified))
    timed = Metastasis.objects.filter(months_from_primary__isnull=False)
    grouped, overall = vendors._interval_statistics_portable(timed, FIELD[dimension])
    exact = stats.intervals(selection=CountedSelection(curator, CaseFilters()), group_by=level)
    for row in exact.rows:
        assert time_to_metastasis._interval_row(row.key, row.label, grouped[row.key]) == row
    assert time_to_metastasis._interval_row("total", "All sites", overall) == exact.total


@pytest.mark.parametrize(
    "path, option",
    [("", "group_by"), ("counts/", "by"), ("survival/", "by"), ("intervals/", "group_by")],
)
def test_a_blank_option_is_refused_naming_it_not_read_as_the_default(curator, path, option):
    response = client_for(curator).get(f"/api/v1/stats/{path}", {option: ""})
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [option]
