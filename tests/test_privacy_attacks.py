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
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import complements
from registry.data_dictionary import filter_conditions
from registry.models import Case, Metastasis, ReviewStatus, Topography
from tests import disclosure_attacker as attacker
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
        # A few published case reports among them: sets of one patient to look for.
        cursor.execute(
            "UPDATE registry_case SET source = 'literature' WHERE id IN (SELECT id FROM "
            "registry_case WHERE status = 'verified' ORDER BY md5(uuid::text) LIMIT 15)"
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
    # By sex and broad age band: more periods with exactly one small year to attack.
    bands = [{}, *({"age_band": band} for band in ("0-49", "50-69", "70+"))]
    narrower = [{**sex, **band} for sex in SEXES for band in bands]
    for group, period, sex in itertools.product(groups, PERIODS, narrower):
        query = {"by": "year", "site_group": group, "period": period, **sex}
        whole = ask(analyst_client, "counts/", **query)
        if whole is None or whole["total"]["cases"] is None:
            continue  # refused (a filter removes too few) or hidden
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
    checked = 0
    for code, published in list(by_code.items())[:10]:
        alone = ask(analyst_client, "", group_by="code", site=code)
        if alone is None:  # its category holds too few other cases (registry.complements)
            continue
        assert alone["total"]["cases"] == published
        assert get(analyst_client, "counts/", by="sex", site=code)["total"]["cases"] == published
        checked += 1
        assert (
            get(analyst_client, "", group_by="code")["rows"]
            == get(analyst_client, "", group_by="code")["rows"]
        )
    by_sex = rows(get(analyst_client, "counts/", by="sex"))
    crosstab = get(analyst_client, "crosstab/", rows="sex", cols="site_group")
    assert {row["key"]: row["total"]["cases"] for row in crosstab["rows"]} == by_sex
    assert checked >= 3, checked
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


# ---------------------------------------------------------------- the attacker of issue 21
#
# Each family below asks only what an analyst's token may ask, reasons as
# tests/disclosure_attacker.py does, and is scored against a curator's exact counts.
# The assertion: no claim that is both confident (posterior >= 0.99) and right.
#
# EMPTY_OR_ONE: "empty against small" is scored on cells of 0 and 1 case. A hidden
# cell of 8 whose siblings are published shows, by one subtraction, as "some"
# whatever a noise of +-2 does; what must not be told apart is nobody from one patient.


def ask(client, path: str = "", **params) -> dict | None:
    """An analyst's request: the JSON, or None when it is refused (400)."""
    response = client.get(STATS + path, params)
    if response.status_code == 400:
        return None
    assert response.status_code == 200, response.content
    return response.json()


def total(body: dict | None) -> int | None:
    return None if body is None else body["total"]["cases"]


# The list-taking filters of a case attribute (one value per case), with the cross-table
# dimension whose cells are its values.
CASE_ATTRIBUTES = {
    "primary": "primary",
    "morphology": "morphology",
    "subtype": "subtype",
    "age_band": "age_band",
    "period": "year",
    "vital_status": "vital_status",
}


def hidden_targets(analyst_client, curator_client, dimension: str, limit: int = 8):
    """Hidden cells of site x `dimension` in published rows and columns, with their truth.

    The attacker picks them from its own cross-table; the truth is the curator's.
    """
    seen = get(analyst_client, "crosstab/", rows="site", cols=CASE_ATTRIBUTES[dimension])
    truth_table = exact(curator_client, "crosstab/", rows="site", cols=CASE_ATTRIBUTES[dimension])
    truth = {
        (row["key"], cell["key"]): cell["cases"]
        for row in truth_table["rows"]
        for cell in row["cells"]
    }
    columns = [column["key"] for column in seen["columns"] if column["key"] != "unknown"]
    found = []
    for row in seen["rows"]:
        for cell in row["cells"]:
            if cell["suppressed"] and cell["key"] != "unknown":
                found.append((row["key"], cell["key"], truth.get((row["key"], cell["key"]), 0)))
    # Empty and small targets alike, spread over the table, the same on every run.
    found.sort(key=lambda target: (target[2] == 0, target))
    small = [t for t in found if t[2] > 0][: limit // 2 + 1]
    empty = [t for t in found if t[2] == 0][: limit - len(small)]
    return small + empty, columns


def _grouping(dimension: str, value: str):
    """The published grouping around a value: (filter, group, by, the group's other values)."""
    if dimension == "primary":
        category = value[:3]
        codes = Topography.objects.filter(category=category).values_list("code", flat=True)
        return "primary_category", category, "primary", set(codes) - {value}
    if dimension == "age_band":
        for band in ("0-49", "50-69", "70+"):
            low, high = {"0-49": (0, 49), "50-69": (50, 69), "70+": (70, 90)}[band]
            decades = {k for k, (a, b) in DECADES.items() if low <= a and b <= high}
            if value in decades:
                return "age_band", band, "age_band", decades - {value}
    if dimension == "period":
        first = int(value) - int(value) % 5
        years = {str(year) for year in range(first, first + 5)}
        return "period", period_of(int(value)), "year", years - {value}
    return None


@pytest.mark.parametrize("dimension", list(CASE_ATTRIBUTES))
def test_padding_unions_give_no_hidden_count_and_tell_no_empty_cell(
    registry, analyst_client, curator_client, dimension
):
    """T = site=Y & D=x hidden; `D=x,S` is T plus the padding P_S and `D=S` is P_S alone.

    Averaged over many S (comma lists and repeated parameters alike), with the
    group's total minus its shown values where D has a published grouping, the
    posterior over |T| must never be confident and right, for the count or for
    "empty" against "not empty".
    """
    rng = random.Random(dimension)
    targets, columns = hidden_targets(analyst_client, curator_client, dimension)
    assert len(targets) >= 4, f"only {len(targets)} hidden {dimension} cells"
    values, emptiness = attacker.Score(), attacker.Score()
    expressible = []  # estimates of each target the analyst could form
    for site, value, truth in targets:
        target = attacker.Target(f"site={site}&{dimension}={value}", truth)
        others = [column for column in columns if column != value]
        for attempt in range(12):
            padding = rng.sample(others, k=min(len(others), 2 + attempt % 3))
            if attempt % 2:  # a repeated parameter, as clients generated from the schema send
                with_target, without = [value, *padding], padding
            else:
                with_target, without = ",".join([value, *padding]), ",".join(padding)
            padded = ask(analyst_client, "counts/", by="sex", site=site, **{dimension: with_target})
            alone = ask(analyst_client, "counts/", by="sex", site=site, **{dimension: without})
            if padded is None or alone is None:
                target.refused += 1
            elif total(padded) is not None and total(alone) is not None:
                target.estimates.append((total(padded) - total(alone), 2))
        grouping = _grouping(dimension, value)
        if grouping is not None:
            name, group, by, rest = grouping
            table = ask(analyst_client, "counts/", by=by, site=site, **{name: group})
            shown = rows(table) if table else {}
            if total(table) is not None and rest <= set(shown):
                estimate = total(table) - sum(shown[key] for key in rest)
                target.estimates.append((estimate, 1 + len(rest)))
        if dimension == "age_band":  # every case has one band: all bands minus the others
            table = ask(analyst_client, "counts/", by="age_band", site=site)
            shown = rows(table) if table else {}
            rest = {*DECADES, "unknown"} - {value}
            if total(table) is not None and rest <= set(shown):
                estimate = total(table) - sum(shown[key] for key in rest)
                target.estimates.append((estimate, 1 + len(rest)))
        expressible.append(len(target.estimates))
        values.add(target.name, target.value_claim(), truth)
        if truth <= 1:  # an empty cell against one patient (see EMPTY_OR_ONE)
            emptiness.add(target.name, target.emptiness_claim(), truth == 0)
    assert (values.right, emptiness.right) == (0, 0), f"count: {values}; empty: {emptiness}"
    # Without lists, what is left around a target: a grouping minus its other members, and
    # for age bands all bands minus the others; each one fixed number, never a fresh draw.
    assert max(expressible) <= 2, expressible


LIST_FILTERS = {
    "site": "C44.4,C71.0",
    "site_category": "C44,C71",
    "site_group": "Skin,Bone",
    "primary": "C50.9,C34.9",
    "primary_category": "C50,C34",
    "morphology": "8500/3,8140/3",
    "subtype": "luminal_a_like,triple_negative",
    "sex": "female,male",
    "source": "hospital,literature",
    "age_band": "50-59,60-69",
    "period": "2018,2019",
    "presentation": "nodule,plaque",
    "misdiagnosis": "none,benign_lesion",
    "modality": "surgery,radiotherapy",
    "response": "CR,PR",
    "vital_status": "alive,dead",
}
STATISTICS_PATHS = {
    "": {},
    "sites.csv": {},
    "counts/": {"by": "sex"},
    "counts.csv": {"by": "sex"},
    "crosstab/": {"rows": "sex", "cols": "subtype"},
    "crosstab.csv": {"rows": "sex", "cols": "subtype"},
    "intervals/": {},
    "intervals.csv": {},
    "survival/": {},
    "survival.csv": {},
    "site-shares/": {},
    "site-shares.csv": {},
}


@pytest.mark.parametrize("name", sorted(LIST_FILTERS))
def test_an_analyst_filter_takes_one_value_never_a_list(analyst_client, curator_client, name):
    """A list is a union, and a union minus its padding is the hidden cell: 400, named."""
    listed = LIST_FILTERS[name]
    for path, options in STATISTICS_PATHS.items():
        for spelled in (listed, listed.split(",")):  # a comma list, a repeated parameter
            response = analyst_client.get(STATS + path, {**options, name: spelled})
            assert response.status_code == 400, (path, spelled, response.content)
            assert response["Content-Type"].startswith("application/problem+json")
            assert name in {error["field"] for error in response.json()["errors"]}
        one = analyst_client.get(STATS + path, {**options, name: listed.split(",")[0]})
        assert one.status_code == 200, (path, one.content)
    # Curators keep every filter.
    assert curator_client.get(STATS + "counts/", {"by": "sex", name: listed}).status_code == 200


# Attributes read from the tables (dimension of counts/), and splits that make a small set.
ATTRIBUTES = ["age_band", "period", "subtype", "morphology", "site_group", "modality"]
SPLITS = [("sex", "female", "male,other,unknown"), ("source", "hospital", "literature")]


def _anchors(analyst_client) -> list[dict]:
    """Published sets to start from: the larger primary categories and site groups."""
    categories = rows(get(analyst_client, "counts/", by="primary_category"))
    groups = rows(get(analyst_client, "", group_by="site_group"))
    anchors = [{"primary_category": key} for key, n in categories.items() if n >= 40]
    anchors += [{"site_group": key} for key, n in groups.items() if n >= 40]
    return anchors


def test_no_hidden_set_is_read_by_comparing_a_table_with_and_without_one_filter(
    registry, analyst_client, curator_client
):
    """A = anchor, B = A & d=v, X = A minus B small (the male breast cancers, say).

    The attacker compares A and B, and each row of a table by another dimension
    asked with A and with B: a row whose two numbers differ holds a case of X.
    Families scored: "X is not empty" (empty against small) and, where X holds
    one case, that patient's attributes read row by row. The query-set rule on
    complements (registry.complements) refuses B whenever X is that small, an
    empty X alike, so that the refusal tells nothing either.
    """
    emptiness, patient = attacker.Score(), attacker.Score()
    refused = Counter()
    for anchor, (split, kept, rest) in itertools.product(_anchors(analyst_client), SPLITS):
        whole = total(ask(analyst_client, "counts/", by="sex", **anchor))
        if whole is None:
            continue
        truth_size = total(exact(curator_client, "counts/", by="sex", **anchor, **{split: rest}))
        if truth_size > 1:
            continue  # the family is an empty set against one patient (EMPTY_OR_ONE)
        name = f"{anchor} minus {split}={kept}"
        part = ask(analyst_client, "counts/", by="sex", **anchor, **{split: kept})
        if part is None:
            refused[truth_size] += 1
            emptiness.add(name, None, truth_size == 0)
            continue
        differs = whole != total(part)
        for attribute in ATTRIBUTES:
            if split == attribute:
                continue
            seen_whole = rows(get(analyst_client, "counts/", by=attribute, **anchor))
            answer = ask(analyst_client, "counts/", by=attribute, **anchor, **{split: kept})
            if answer is None:
                continue
            seen_part = rows(answer)
            changed = [
                key
                for key in seen_whole.keys() & seen_part.keys()
                if seen_whole[key] != seen_part[key]
            ]
            differs = differs or bool(changed)
            if truth_size == 1 and len(changed) == 1:
                truth_rows = rows(
                    exact(curator_client, "counts/", by=attribute, **anchor, **{split: rest})
                )
                actual = next((key for key, n in truth_rows.items() if n), None)
                patient.add(f"{name}: {attribute}", changed[0], actual)
        # A difference anywhere proves X holds a case (the same cases give the same number).
        emptiness.add(name, False if differs else None, truth_size == 0)
    assert emptiness.targets >= 5, f"only {emptiness.targets} small sets found"
    # Empty and one-patient sets alike are refused: the refusal is no emptiness oracle.
    assert refused[0] >= 1 and refused[1] >= 1, refused
    assert sum(refused.values()) == emptiness.targets, (refused, emptiness)
    assert (emptiness.claims, patient.claims) == (0, 0), f"empty: {emptiness}; patient: {patient}"


def test_published_against_hidden_certifies_no_hidden_count(
    registry, analyst_client, curator_client
):
    """The threshold oracle: "published" proves >= threshold, "hidden" < threshold (+ jitter).

    Over nested sets the analyst can ask (a padded union and its padding; a set and the
    same set with one more filter), the certified bounds on the difference must never
    pin a hidden count exactly, or prove a hidden cell of one or two cases not empty.
    """
    rng = random.Random(21)
    values, emptiness = attacker.Score(), attacker.Score()
    for dimension in ("primary", "age_band", "period"):
        targets, columns = hidden_targets(analyst_client, curator_client, dimension, limit=6)
        for site, value, truth in targets:
            lower, upper = 0, attacker.HIDDEN_MAX
            others = [column for column in columns if column != value]
            for attempt in range(10):
                padding = rng.sample(others, k=min(len(others), 1 + attempt % 4))
                padded = ask(
                    analyst_client,
                    "counts/",
                    by="sex",
                    site=site,
                    **{dimension: ",".join([value, *padding])},
                )
                alone = ask(
                    analyst_client,
                    "counts/",
                    by="sex",
                    site=site,
                    **{dimension: ",".join(padding)},
                )
                if padded is None or alone is None:
                    continue
                padded_low, padded_high = attacker.hidden_bound(total(padded))
                alone_low, alone_high = attacker.hidden_bound(total(alone))
                lower = max(lower, padded_low - alone_high)
                upper = min(upper, padded_high - alone_low)
            name = f"site={site}&{dimension}={value}"
            values.add(name, lower if lower == upper else None, truth)
            if truth <= 1:
                emptiness.add(name, False if lower >= 1 else None, truth == 0)
    for anchor, (split, kept, rest) in itertools.product(_anchors(analyst_client), SPLITS):
        for attribute in ATTRIBUTES:
            whole = get(analyst_client, "counts/", by=attribute, **anchor)
            part = ask(analyst_client, "counts/", by=attribute, **anchor, **{split: kept})
            if part is None:
                continue  # refused: the filter removes too few (registry.complements)
            truth_rows = rows(
                exact(curator_client, "counts/", by=attribute, **anchor, **{split: rest})
            )
            for key, published in rows(whole).items():
                small = truth_rows.get(key, 0)
                if small > 1 or key in rows(part):
                    continue
                # The row hidden with the filter, published without: the filter removed a case.
                low, _ = attacker.hidden_bound(published)
                certain = low - attacker.HIDDEN_MAX >= 1
                emptiness.add(
                    f"{anchor}&{split}!={kept}&{attribute}={key}",
                    False if certain else None,
                    small == 0,
                )
    assert (values.right, emptiness.right) == (0, 0), f"count: {values}; empty: {emptiness}"


# ---------------------------------------------------------------- differencing of sub-populations
# The query-set rule on complements (registry.complements): registries made case by case, so
# that each complement is known exactly. With the threshold 11 and the jitter 0-4, a
# complement of 15 or more is never refused, one of 10 or fewer always.

BIG = 2 * THRESHOLD  # a population no jitter hides


def refused_filters(client, path: str = "counts/", **params) -> set[str]:
    """The filters a 400 filter_removes_too_few names; the request must be that refusal."""
    response = client.get(STATS + path, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert response["Content-Type"].startswith("application/problem+json")
    assert body["code"] == "filter_removes_too_few", body
    assert all(error["code"] == "filter_removes_too_few" for error in body["errors"])
    return {error["field"] for error in body["errors"]}


def answered(client, path: str = "counts/", **params) -> dict:
    return get(client, path, **params)


def scalp_cases_and_one_patient(
    patient: Spec, others: list[Spec] = (), *, neighbours: bool = True
) -> None:
    """BIG women with a scalp metastasis, BIG with one of the face (the rest of the skin
    category, unless not `neighbours`), BIG with brain metastases, the patient, `others`."""
    scalp = Spec(metastases=(("C44.4", None),), age=56)
    face = Spec(metastases=(("C44.3", None),), age=56)
    brain = Spec(metastases=(("C71.0", None),), age=45)
    skin = [scalp] * BIG + ([face] * BIG if neighbours else [])
    create_cases([*skin, *[brain] * BIG, patient, *others])


def test_adding_a_filter_that_removes_one_patient_is_refused_naming_it(
    analyst_client, curator_client
):
    scalp_cases_and_one_patient(Spec(metastases=(("C44.4", None),), sex="male", age=56))
    assert answered(analyst_client, by="age_band", site="C44.4")["total"]["cases"] is not None
    for by in ("age_band", "period", "subtype", "sex"):
        assert refused_filters(analyst_client, by=by, site="C44.4", sex="female") == {"sex"}
    for path in ("", "crosstab/", "intervals/", "sites.csv", "survival/", "site-shares/"):
        options = {"crosstab/": {"rows": "sex", "cols": "age_band"}}.get(path, {})
        assert refused_filters(analyst_client, path, site="C44.4", sex="female", **options)
    # Curators are never checked: they see the exact numbers anyway.
    assert answered(curator_client, by="sex", site="C44.4", sex="female")["total"]["cases"] == BIG


def test_the_filter_dimension_as_the_table_rows_is_refused_too(analyst_client):
    """by=sex with sex=female: the male row of the wider table is what it would hide."""
    scalp_cases_and_one_patient(Spec(metastases=(("C44.4", None),), sex="male"))
    assert refused_filters(analyst_client, by="sex", site="C44.4", sex="female") == {"sex"}
    table = answered(analyst_client, by="sex", site="C44.4")
    assert rows(table).get("male") is None  # the patient's row is hidden, as before


def test_two_filters_added_at_once_are_each_refused_even_when_their_complement_is_empty(
    analyst_client,
):
    """The patient differs in sex and source: each filter alone removes nobody else (0), both
    together remove the patient. An empty complement is refused like a small one, or the
    refusal would tell the two apart."""
    scalp_cases_and_one_patient(Spec(metastases=(("C44.4", None),), sex="male", age=56))
    Case.objects.update(source="hospital")
    Case.objects.filter(sex="male").update(source="literature")
    refused = refused_filters(
        analyst_client, by="age_band", site="C44.4", sex="female", source="hospital"
    )
    assert refused == {"sex", "source"}


def test_a_code_against_its_group_is_refused_when_the_group_holds_one_more_patient(
    analyst_client,
):
    """site=C44.4 against site_group=Skin (or site_category=C44): the other spelling of a
    wider population is compared like a filter left out."""
    scalp_cases_and_one_patient(Spec(metastases=(("C44.3", None),), age=72), neighbours=False)
    assert answered(analyst_client, by="age_band", site_group="Skin")["total"]["cases"]
    assert refused_filters(analyst_client, by="age_band", site="C44.4") == {"site"}
    body = analyst_client.get(STATS + "counts/", {"by": "age_band", "site": "C44.4"}).json()
    assert "widened to site_category=C44" in body["errors"][0]["message"]


def test_a_decade_against_its_broad_band_and_a_year_against_its_period_are_refused(
    analyst_client,
):
    scalp_cases_and_one_patient(Spec(metastases=(("C44.4", None),), age=65, year=2017))
    assert refused_filters(analyst_client, by="sex", site="C44.4", age_band="50-59") == {"age_band"}
    assert refused_filters(analyst_client, by="sex", site="C44.4", period="2019") == {"period"}
    # A broad band is the widest grouping: only leaving it out is compared.
    assert answered(analyst_client, by="sex", age_band="50-69")


def test_a_hidden_query_is_answered_all_hidden_not_refused(analyst_client):
    """Refused against all hidden would be a new oracle: a small query is never checked."""
    scalp_cases_and_one_patient(
        Spec(metastases=(("C44.4", None),), sex="male"),
        others=[Spec(metastases=(("C44.4", None),), age=75)] * 3,
    )
    body = answered(analyst_client, by="sex", site="C44.4", age_band="70-79")
    assert body["total"]["cases"] is None


def test_filters_implied_by_another_through_the_hierarchy_are_not_refused(analyst_client):
    """Structural zeros: C44.4 is in C44 and in Skin, whatever the data; asked together,
    the wider filters remove nobody, by definition, and the query is answered."""
    scalp_cases_and_one_patient(Spec(metastases=(("C44.3", None),)))
    spelled = {"site": "C44.4", "site_category": "C44", "site_group": "Skin"}
    assert answered(analyst_client, by="sex", **spelled)["total"]["cases"] is not None
    assert answered(analyst_client, by="sex", site="C44.4", site_group="Skin")


def test_breast_cancer_in_women_answers_when_there_are_enough_men(analyst_client):
    """The common question primary_category=C50&sex=female: answered with enough male breast
    cancers, refused when the men are few (their difference would describe them)."""
    women = Spec(metastases=(("C44.4", None),), sex="female")
    men = [Spec(sex="male")] * (THRESHOLD + attacker.HIDING_JITTER)
    create_cases([*[women] * (2 * BIG), *men])
    lung = Case.objects.filter(sex="female").values("pk")[:BIG]
    Case.objects.filter(pk__in=lung).update(primary_site_id="C34.9", subtype=None)
    assert answered(analyst_client, by="age_band", primary_category="C50", sex="female")
    assert answered(analyst_client, "", primary_category="C50", sex="female")
    Case.objects.filter(sex="male").exclude(
        pk__in=Case.objects.filter(sex="male").values("pk")[:3]
    ).update(sex="unknown", primary_site_id="C34.9")
    assert refused_filters(analyst_client, by="age_band", primary_category="C50", sex="female")


def test_a_subtype_implies_its_breast_primary_so_naming_both_is_answered(analyst_client):
    """subtype=triple_negative removes nobody from primary_category=C50 by definition."""
    others = [Spec(metastases=(("C44.4", None),), subtype="luminal_a_like")] * BIG
    scalp_cases_and_one_patient(Spec(subtype="triple_negative"), others=others)
    Case.objects.filter(subtype=None).update(subtype_id="triple_negative")
    assert answered(analyst_client, by="sex", subtype="triple_negative")["total"]["cases"]
    both = {"subtype": "triple_negative", "primary_category": "C50"}
    assert answered(analyst_client, by="sex", **both)["total"]["cases"]
    # Leaving out the subtype is still compared: with few other breast cases, refused.
    others = Case.objects.filter(subtype_id="luminal_a_like").values("pk")[THRESHOLD - 1 :]
    Case.objects.filter(pk__in=others).update(primary_site_id="C34.9", subtype=None)
    assert refused_filters(analyst_client, by="sex", **both) == {"subtype"}


def test_the_populations_are_counted_in_one_statement_and_never_for_curators(
    analyst_client, curator_client
):
    scalp_cases_and_one_patient(Spec(metastases=(("C44.4", None),), sex="male"))
    query = {"by": "sex", "site": "C44.4", "sex": "female", "age_band": "50-59"}
    query |= {"period": "2019", "source": "hospital"}
    for client, expected in ((analyst_client, 1), (curator_client, 0)):
        with CaptureQueriesContext(connection) as queries:
            client.get(STATS + "counts/", query)
        populations = [q for q in queries.captured_queries if "FILTER (WHERE" in q["sql"]]
        assert len(populations) == expected, [q["sql"][:200] for q in populations]


# The documentation's analyst questions (README, docs/statistics.md, docs/clinical-analytics.md).
DOCUMENTED_QUESTIONS = [
    ("counts/", {"by": "age_band", "primary_category": "C50", "sex": "female"}),
    ("counts/", {"by": "presentation", "primary_category": "C50", "site_group": "Skin"}),
    ("profile/", {"primary_category": "C50", "site_group": "Skin"}),
    ("", {"group_by": "code", "site_group": "Skin"}),
    ("counts/", {"by": "sex", "age_band": "50-69"}),
    ("crosstab/", {"rows": "site_group", "cols": "subtype", "primary_category": "C50"}),
]


def test_the_documented_analyst_questions_still_answer(registry, analyst_client, curator_client):
    """Utility: the questions the documentation shows are answered, not refused, once the
    synthetic registry has male breast cancers enough (it draws 6 of 686; 15 is 2 %)."""
    breast = registry.filter(primary_site__code__startswith="C50.")
    men = breast.filter(sex="male").count()
    query = {"by": "age_band", "primary_category": "C50", "sex": "female"}
    assert refused_filters(analyst_client, **query) == {"sex"}  # the men would be described
    more = breast.filter(sex="female").values("pk")[: THRESHOLD + attacker.HIDING_JITTER - men]
    Case.objects.filter(pk__in=more).update(sex="male")
    counted = exact(curator_client, "counts/", by="sex", primary_category="C50")
    assert rows(counted)["male"] == THRESHOLD + attacker.HIDING_JITTER
    for path, query in DOCUMENTED_QUESTIONS:
        response = analyst_client.get(STATS + path, query)
        assert response.status_code == 200, (path, query, response.content)


FILTER_POOL = {
    "site": ("C44.4",),
    "site_category": ("C44",),
    "site_group": ("Bone",),
    "primary_category": ("C50",),
    "subtype": ("triple_negative",),
    "sex": ("female",),
    "age_band": ("50-59",),
    "period": ("2015-2019",),
    "source": ("hospital",),
}


@given(
    cases=st.lists(specs, min_size=5, max_size=30),
    queries=st.lists(
        st.sets(st.sampled_from(sorted(FILTER_POOL)), min_size=0, max_size=4),
        min_size=1,
        max_size=6,
    ),
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_one_statement_counts_each_population_as_the_filters_select_it(cases, queries):
    """The populations' counts and key sums, counted together, are each query's own."""
    with rolled_back():
        create_cases(cases)
        counted = Case.objects.filter(status=ReviewStatus.VERIFIED)
        given = [{name: FILTER_POOL[name] for name in sorted(names)} for names in queries]
        together = complements._count(counted, given)
        for query, tally in zip(given, together, strict=True):
            alone = counted.filter(filter_conditions(query)).aggregate(
                n=Count("pk"), key_sum=Sum("record_key")
            )
            assert (tally.n, tally.key_sum) == (alone["n"], alone["key_sum"] or 0), query
