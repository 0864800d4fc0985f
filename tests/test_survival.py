"""Survival after metastasis: the estimate, its protection, and who may ask for it."""

import pytest
from lifelines import KaplanMeierFitter

from registry.models import ReviewStatus
from registry.selectors import CaseFilters, CountedSelection
from registry.stats import Dimension
from registry.survival import TIME_POINTS, survival
from tests.api_helpers import client_for
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


def test_analysts_see_no_step_where_fewer_than_the_threshold_remain(cohorts, analyst):
    table = survival(selection=CountedSelection(analyst, CaseFilters()), by=None)
    # At risk from 36 months on: 11 bone cases, then none.
    shown = [point.months for point in table.overall.points]
    assert shown == [0, 3, 6, 12, 18, 24, 36, 48]
    for point in table.overall.points:
        assert point.at_risk >= 11
    assert table.overall.excluded is None  # 3 excluded: below the threshold


def test_a_group_below_the_threshold_is_left_out_for_analysts_only(cohorts, analyst, curator):
    analysts = survival(selection=CountedSelection(analyst, CaseFilters()), by=Dimension.SITE)
    assert [group.key for group in analysts.groups] == ["C34.1", "C41.2", "C44.4"][1:]
    curators = survival(selection=CountedSelection(curator, CaseFilters()), by=Dimension.SITE)
    assert [group.key for group in curators.groups] == ["C34.1", "C41.2", "C44.4"]
    assert curators.groups[0].points[-1].months == 12
    assert curators.logrank is not None and curators.logrank.p_value < 0.05
