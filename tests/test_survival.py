"""Survival after metastasis: the estimate, its protection, and who may ask for it."""

import pytest
from lifelines import KaplanMeierFitter

from registry.selectors import CaseFilters, CountedSelection
from registry.stats import Dimension
from registry.stats.survival import TIME_POINTS, survival
from tests.api_helpers import client_for
from tests.stats_helpers import csv_data_lines
from tests.test_clinical_stats import ClinicalSpec, Lesion, create_clinical_cases

SURVIVAL = "/api/v1/stats/survival/"


def cohort(n: int, *, site: str, months: int, follow_up: int, dead: bool, **extra):
    lesion = Lesion(site=site, months=months)
    status = "dead" if dead else "alive"
    return [ClinicalSpec(lesions=(lesion,), vital_status=status, follow_up=follow_up, **extra)] * n


# Skin: 14 die at 5 months after the metastasis, 10 alive at 30; bone: 12 alive at 20,
# 11 die at 40; lung: 5 alive at 12. Three cases lack what the estimate needs.
COHORTS = (
    cohort(14, site="C44.4", months=10, follow_up=15, dead=True)
    + cohort(10, site="C44.4", months=10, follow_up=40, dead=False)
    + cohort(12, site="C41.2", months=0, follow_up=20, dead=False)
    + cohort(11, site="C41.2", months=0, follow_up=40, dead=True)
    + cohort(5, site="C34.1", months=0, follow_up=12, dead=False)
    + [ClinicalSpec(lesions=(Lesion(months=None),), vital_status="dead", follow_up=9)]
    + [ClinicalSpec(lesions=(Lesion(months=3),), vital_status="unknown", follow_up=9)]
    + [ClinicalSpec(lesions=(Lesion(months=30),), vital_status="alive", follow_up=9)]
)


@pytest.fixture
def cohorts(db):
    create_clinical_cases(COHORTS)


def test_curators_curve_is_kaplan_meier_on_the_coarsened_times(cohorts, curator):
    table = survival(selection=CountedSelection(curator, CaseFilters()), by=None)
    overall = table.overall
    assert (overall.cases, overall.excluded, overall.events) == (52, 3, 25)
    # Deaths at 5 months count at 6, at 40 months at 48; censorings at 30 at 24, 20 at 18.
    fitter = KaplanMeierFitter().fit(
        [6] * 14 + [24] * 10 + [18] * 12 + [48] * 11 + [12] * 5,
        [1] * 14 + [0] * 10 + [0] * 12 + [1] * 11 + [0] * 5,
        timeline=list(TIME_POINTS),
    )
    expected = fitter.survival_function_.iloc[:, 0]
    for point in overall.points:
        assert point.survival == pytest.approx(expected.loc[point.months], abs=0.001)
    assert [p.at_risk for p in overall.points][:4] == [52, 52, 52, 38]


# Far enough from the threshold (11) that a hiding jitter of a few cases changes nothing:
# 20 die at 5 months after the metastasis; 8 censored at 12, 12 at 20, 10 at 30; 20 die at 40.
MERGED = (
    cohort(20, site="C44.4", months=10, follow_up=15, dead=True)
    + cohort(8, site="C44.4", months=10, follow_up=22, dead=False)
    + cohort(12, site="C44.4", months=10, follow_up=30, dead=False)
    + cohort(10, site="C44.4", months=10, follow_up=40, dead=False)
    + cohort(20, site="C44.4", months=10, follow_up=50, dead=True)
)


def test_analysts_curve_merges_points_until_each_step_holds_the_threshold(db, analyst):
    create_clinical_cases(MERGED)
    overall = survival(selection=CountedSelection(analyst, CaseFilters()), by=None).overall
    # Months 0-18 hold 20 deaths and 20 censorings; 24-120 only 10 censorings: the curve
    # ends at 18, and what follows (30 cases) is at risk there.
    assert overall.curve == "coarsened"
    assert [point.months for point in overall.points] == [18]
    (step,) = overall.points
    assert step.deaths >= 11 and step.censored >= 11 and step.at_risk >= 11
    # Actuarial: 20 deaths among 70 - 20/2 at risk (published counts: near, not exact).
    assert step.survival == pytest.approx(1 - 20 / (70 - 20 / 2), abs=0.05)


def test_a_group_whose_first_step_never_fills_is_shown_without_a_curve(cohorts, analyst):
    table = survival(selection=CountedSelection(analyst, CaseFilters()), by=Dimension.SITE)
    skin = next(group for group in table.groups if group.key == "C44.4")
    # 14 deaths but 10 censorings: no step ever holds the threshold of both.
    assert skin.curve == "withheld"
    assert skin.points == () and skin.median is None
    assert skin.cases is not None  # 24 cases: the group itself is shown
    assert table.logrank is None  # one curve left to compare


def test_curators_see_a_step_at_every_point(cohorts, curator):
    table = survival(selection=CountedSelection(curator, CaseFilters()), by=None)
    assert table.overall.curve == "exact"
    deaths = {point.months: point.deaths for point in table.overall.points}
    censored = {point.months: point.censored for point in table.overall.points}
    assert deaths[6] == 14 and deaths[48] == 11 and deaths[3] == 0
    assert (censored[12], censored[18], censored[24]) == (5, 12, 10)


def test_a_group_below_the_threshold_is_left_out_for_analysts_only(cohorts, analyst, curator):
    analysts = survival(selection=CountedSelection(analyst, CaseFilters()), by=Dimension.SITE)
    assert [group.key for group in analysts.groups] == ["C34.1", "C41.2", "C44.4"][1:]
    curators = survival(selection=CountedSelection(curator, CaseFilters()), by=Dimension.SITE)
    assert [group.key for group in curators.groups] == ["C34.1", "C41.2", "C44.4"]
    assert curators.groups[0].points[-1].months == 12
    assert curators.logrank is not None and curators.logrank.p_value < 0.05


# ---------------------------------------------------------------- the endpoint


ENDPOINTS = ["survival/", "survival/?by=site_group", "site-shares/?group_by=code"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 401), ("submitter_a", 403), ("analyst", 200), ("curator", 200)],
)
def test_who_reads_survival_and_shares(request, db, persona, expected, endpoint):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    response = client_for(user).get("/api/v1/stats/" + endpoint)
    assert response.status_code == expected
    if expected != 200:
        assert response["Content-Type"] == "application/problem+json"


def test_analysts_survival_shows_no_number_below_the_threshold(cohorts, analyst):
    body = client_for(analyst).get(SURVIVAL, {"by": "site"}).json()
    assert body["suppression"]["applied"] is True
    assert [group["key"] for group in body["groups"]] == ["C41.2", "C44.4"]
    for group in [body["overall"], *body["groups"]]:
        for name in ("cases", "events", "excluded"):
            assert group[name] is None or group[name] >= 11
        for point in group["points"]:
            assert min(point["at_risk"], point["deaths"], point["censored"]) >= 11
    assert body["overall"]["excluded"] is None
    # Skin never holds 11 censorings; bone's 11 deaths sit at the threshold itself.
    assert body["groups"][1]["curve"] == "withheld"
    assert body["groups"][0]["curve"] in ("coarsened", "withheld")
    assert body["logrank"] is None  # at most one curve drawn


def test_curators_survival_is_exact_and_says_how_many_were_excluded(cohorts, curator):
    body = client_for(curator).get(SURVIVAL, {"by": "site"}).json()
    assert body["overall"]["excluded"] == 3
    assert body["overall"]["cases"] == 52
    skin = next(group for group in body["groups"] if group["key"] == "C44.4")
    # 14 of 24 die by 6 months: the median is 6 months.
    assert skin["median"] == 6.0
    assert skin["points"][2] == {
        "months": 6,
        "at_risk": 24,
        "survival": pytest.approx(10 / 24, abs=0.001),
        "lower": skin["points"][2]["lower"],
        "upper": skin["points"][2]["upper"],
        "deaths": 14,
        "censored": 0,
    }
    assert skin["points"][2]["lower"] < 10 / 24 < skin["points"][2]["upper"]


def test_survival_as_csv_is_one_line_per_point(cohorts, curator):
    response = client_for(curator).get(SURVIVAL, {"by": "site", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="survival.csv"'
    lines = csv_data_lines(response)
    assert lines[0] == "group_key,group_label,months,at_risk,survival,lower,upper,deaths,censored"
    assert lines[1].startswith("all,All cases,0,52,1.0,")


def test_analysts_survival_refuses_curator_filters(analyst, db):
    response = client_for(analyst).get(SURVIVAL, {"institution": "hosp-c"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "institution"


def test_an_unknown_dimension_is_a_400_naming_by(curator, db):
    response = client_for(curator).get(SURVIVAL, {"by": "record_key"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "by"


# ---------------------------------------------------------------- site shares


def test_site_shares_have_an_exact_interval_and_say_what_they_are_not(cohorts, curator):
    body = client_for(curator).get("/api/v1/stats/site-shares/", {"group_by": "code"}).json()
    skin = next(row for row in body["rows"] if row["key"] == "C44.4")
    assert skin["cases"] == 27 and body["total"]["cases"] == 55
    assert skin["share"] == round(27 / 55, 4)
    # Clopper-Pearson for 27 of 55: the beta quantiles (R: binom.test(27, 55)$conf.int).
    assert skin["lower"] == pytest.approx(0.3535, abs=1e-4)
    assert skin["upper"] == pytest.approx(0.6293, abs=1e-4)
    assert "not a population frequency" in body["caution"]


def test_analysts_shares_come_from_published_counts(cohorts, analyst):
    body = client_for(analyst).get("/api/v1/stats/site-shares/", {"group_by": "code"}).json()
    sites = client_for(analyst).get("/api/v1/stats/", {"group_by": "code"}).json()
    published = {row["key"]: row["cases"] for row in sites["rows"]}
    assert {row["key"]: row["cases"] for row in body["rows"]} == published
    assert "C34.1" not in published  # 5 lung cases: below the threshold
    for row in body["rows"]:
        assert row["share"] == round(
            min(row["cases"], body["total"]["cases"]) / body["total"]["cases"], 4
        )
        assert row["lower"] <= row["share"] <= row["upper"]


# ---------------------------------------------------------------- the site profile

PROFILE = "/api/v1/stats/profile/"


def test_a_curators_profile_of_breast_to_scalp(cohorts, curator):
    response = client_for(curator).get(PROFILE, {"primary_category": "C50", "site": "C44.4"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["level"], body["site"], body["label"]) == (
        "site",
        "C44.4",
        "Skin of scalp and neck",
    )
    assert body["cases"] == 27
    assert {row["key"]: row["cases"] for row in body["presentations"]} == {"nodule": 27}
    assert body["misdiagnosed"] == {
        "cases": 27,
        "of": 27,
        "share": 1.0,
        "lower": pytest.approx(0.8723, abs=1e-4),
        "upper": 1.0,
    }
    assert body["survival"]["key"] == "C44.4" and body["survival"]["cases"] == 24
    assert body["months_to_metastasis"]["median"] == 10.0
    assert {row["key"] for row in body["treatments"]} == {"no_treatment"}


def test_an_analysts_profile_shows_nothing_below_the_threshold(cohorts, analyst):
    body = client_for(analyst).get(PROFILE, {"site_group": "Skin"}).json()
    assert body["suppression"]["applied"] is True
    assert body["cases"] >= 11
    for part in ("subtypes", "presentations", "misdiagnoses", "confirmations", "treatments"):
        assert all(row["cases"] >= 11 for row in body[part]), part
    assert all(point["at_risk"] >= 11 for point in body["survival"]["points"])
    lung = client_for(analyst).get(PROFILE, {"site": "C34.1"}).json()  # 5 cases
    assert lung["cases"] is None and lung["survival"] is None
    assert lung["presentations"] == [] and lung["misdiagnosed"]["share"] is None


@pytest.mark.parametrize(
    "params", [{}, {"site": "C44.4,C41.2"}, {"site": "C44.4", "site_group": "Skin"}]
)
def test_a_profile_names_exactly_one_site(curator, db, params):
    response = client_for(curator).get(PROFILE, params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "site"


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("anonymous", 401), ("submitter_a", 403), ("analyst", 200), ("curator", 200)],
)
def test_who_reads_a_profile(request, db, persona, expected):
    user = None if persona == "anonymous" else request.getfixturevalue(persona)
    assert client_for(user).get(PROFILE, {"site": "C44.4"}).status_code == expected


@pytest.mark.parametrize("dimensions", [[], [Dimension.SITE], [Dimension.MODALITY]])
def test_the_portable_life_table_counts_what_the_sql_one_counts(cohorts, curator, dimensions):
    from registry.stats.survival import _life_table_rows

    cases = CountedSelection(curator, CaseFilters()).cases()
    in_sql = sorted(map(repr, _life_table_rows(cases, dimensions)))
    assert in_sql == sorted(map(repr, _life_table_rows(cases, dimensions, portable=True)))


# ---------------------------------------------------------------- the profile page


def test_the_profile_page_is_for_analysts_and_curators(client, db, submitter_a, analyst, curator):
    page = "/dashboard/profile/"
    assert client.get(page)["Location"] == "/accounts/login/?next=/dashboard/profile/"
    client.force_login(submitter_a)
    assert client.get(page).status_code == 403
    for user in (analyst, curator):
        client.force_login(user)
        response = client.get(page)
        assert response.status_code == 200
        html = response.content.decode()
        assert "/static/dashboard/profile.js" in html and "https://" not in html


def test_the_same_cases_give_an_analyst_the_same_curve_by_any_route(cohorts, analyst):
    client = client_for(analyst)
    by_group = client.get(SURVIVAL, {"by": "site_group"}).json()
    assert by_group["groups"]
    for group in by_group["groups"]:
        filtered = client.get(SURVIVAL, {"site_group": group["key"]}).json()["overall"]
        # Every case here has one metastasis: its first in the group is its first.
        assert {**filtered, "key": group["key"], "label": group["label"]} == group
        # A first step begins at month 0 with exactly the group's included cases: one number.
        if group["points"]:
            assert group["points"][0]["at_risk"] == group["cases"]


def test_a_profile_as_csv_is_its_long_form(curator, db):
    """The profile has a CSV too (issue 25): one line per figure, after its provenance."""
    response = client_for(curator).get(PROFILE, {"site": "C44.4", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert csv_data_lines(response)[0] == "part,key,label,measure,value,suppressed"


def test_a_share_that_would_tell_the_few_cases_without_the_site_is_withheld(db, analyst):
    """20 of 25 cases at the scalp: a share of 0.8 would say 5 cases had no scalp metastasis."""
    create_clinical_cases(
        cohort(20, site="C44.4", months=10, follow_up=15, dead=True)
        + cohort(5, site="C41.2", months=0, follow_up=20, dead=False)
    )
    body = client_for(analyst).get("/api/v1/stats/site-shares/", {"group_by": "code"}).json()
    (scalp,) = body["rows"]
    assert scalp["key"] == "C44.4" and scalp["cases"] >= 11
    assert (scalp["share"], scalp["lower"], scalp["upper"]) == (None, None, None)
    assert scalp["share_withheld"] is True and scalp["suppressed"] is False


def test_a_share_with_enough_cases_on_both_sides_is_given(db, analyst):
    create_clinical_cases(
        cohort(20, site="C44.4", months=10, follow_up=15, dead=True)
        + cohort(15, site="C41.2", months=0, follow_up=20, dead=False)
    )
    body = client_for(analyst).get("/api/v1/stats/site-shares/", {"group_by": "code"}).json()
    shares = {row["key"]: row for row in body["rows"]}
    assert shares["C44.4"]["share"] == pytest.approx(20 / 35, abs=0.1)
    assert shares["C44.4"]["share_withheld"] is False
