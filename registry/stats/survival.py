"""Survival after metastasis: Kaplan–Meier estimates from perturbed life-table counts.

Time runs from the metastasis (the first one with the group's value for a
metastasis dimension, the case's first otherwise) to death or last follow-up:
follow-up months minus months from primary diagnosis to that metastasis. A
case is excluded, and counted as excluded, when either is unknown, its vital
status is unknown, or its follow-up ends before the metastasis.

Why a life table: a curve computed from exact times would change by one
patient's death between two overlapping selections, and the difference of two
such curves would tell it exactly. So times are coarsened to fixed points
(`TIME_POINTS`: a death counts at the next point, a censoring at the point
before, so a censored case is never counted at risk after it was last seen),
and the deaths and censorings at each point are counted per group with their
cases' record keys and perturbed by the cell-key method (`registry.disclosure`).
lifelines then estimates the curve, its confidence band and the log-rank test
from these weighted counts. The number at risk at each point is a count of
exactly the cases still at risk and is published like any count (hidden below
the threshold); the curve stops before the first point where fewer than the
threshold remain at risk, and a group with fewer cases is left out. Curators
see the same estimate from exact counts, with nothing left out.
"""

import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import F, QuerySet

from registry.access import StatisticsAccess, statistics_access
from registry.disclosure import CENSORED, DEATHS, Tally, perturb_any
from registry.models import Case
from registry.selectors import CountedSelection
from registry.stats import vendors
from registry.stats.counting import clinical_rows
from registry.stats.dimensions import (
    DEFAULT_AGE_BANDS,
    AgeBands,
    Dimension,
    in_order,
    label_maker,
    value_key,
)

# Months after the metastasis at which the curve and the risk table are given.
TIME_POINTS: tuple[int, ...] = (0, 3, 6, 12, 18, 24, 36, 48, 60, 84, 120)
ALPHA = 0.05  # 95 % confidence bands


@dataclass(frozen=True)
class SurvivalPoint:
    months: int
    at_risk: int | None
    survival: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class SurvivalGroup:
    key: str
    label: str
    cases: int | None  # included: at risk at month 0
    events: int | None  # deaths counted (within the time points)
    excluded: int | None  # selected cases without what the estimate needs
    median: float | None
    median_lower: float | None
    median_upper: float | None
    points: tuple[SurvivalPoint, ...]
    # The (possibly perturbed) life table behind it, for the log-rank test; never published.
    table: tuple[tuple[int, int, int], ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class LogRank:
    statistic: float
    degrees_of_freedom: int
    p_value: float


@dataclass(frozen=True)
class SurvivalTable:
    dimension: Dimension | None
    overall: SurvivalGroup | None  # None when hidden
    groups: tuple[SurvivalGroup, ...]
    logrank: LogRank | None


# ---------------------------------------------------------------- counting


def _point_sql(expression: str, *, up: bool) -> str:
    """The time point a time falls on, in SQL: the next point up, or the one before."""
    if up:
        whens = " ".join(f"WHEN {expression} <= {p} THEN {p}" for p in TIME_POINTS)
    else:
        whens = " ".join(f"WHEN {expression} >= {p} THEN {p}" for p in reversed(TIME_POINTS))
    return f"CASE {whens} END"


def _life_table_rows(
    cases: QuerySet[Case], dimensions: list[Dimension], *, portable: bool = False
) -> list[tuple]:
    """(values..., point or None for excluded, died, cases, key sum) from one statement."""
    months = "metastases__months_from_primary"
    inner = clinical_rows(
        cases, dimensions, m=F(months), fu=F("follow_up_months"), vs=F("vital_status")
    )
    keys = "".join(f"k{index}, " for index in range(len(dimensions)))
    last = TIME_POINTS[-1]
    died = f"(vs = 'dead' AND fu - m <= {last})"
    capped = f"LEAST(fu - m, {last})"
    statement = (
        f"SELECT {keys}point, died, COUNT(*), SUM(rk) FROM ("
        f"SELECT {keys}rk, CASE WHEN m IS NULL OR fu IS NULL OR vs NOT IN ('alive', 'dead') "
        f"OR fu < m THEN NULL WHEN {died} THEN {_point_sql('fu - m', up=True)} "
        f"ELSE {_point_sql(capped, up=False)} END AS point, "
        f"COALESCE({died}, false) AS died FROM ("
        f"SELECT {keys}cid, MAX(rk) AS rk, MIN(m) AS m, MAX(fu) AS fu, MAX(vs) AS vs "
        f"FROM ({{}}) AS joined GROUP BY {keys}cid) AS per_case) AS timed "
        f"GROUP BY {keys}point, died"
    )
    return vendors.life_table_rows(inner, dimensions, statement, TIME_POINTS, portable=portable)


@dataclass
class _Counts:
    deaths: dict[int, Tally] = field(default_factory=lambda: defaultdict(Tally))
    censored: dict[int, Tally] = field(default_factory=lambda: defaultdict(Tally))
    excluded: Tally = field(default_factory=Tally)

    def at_risk(self, point: int) -> Tally:
        """Cases still at risk just before `point`: those whose time falls on it or later."""
        tallies = [t for p, t in (*self.deaths.items(), *self.censored.items()) if p >= point]
        return sum(tallies, Tally())


def _counts(
    cases: QuerySet[Case], dimension: Dimension | None, bands: AgeBands
) -> dict[str | None, _Counts]:
    dimensions = [dimension] if dimension is not None else []
    counts: dict[str | None, _Counts] = defaultdict(_Counts)
    for row in _life_table_rows(cases, dimensions):
        key = value_key(dimension, row[0], bands) if dimension is not None else None
        point, died, n, key_sum = row[-4:]
        tally = Tally(n, key_sum or 0)
        group = counts[key]
        if point is None:
            group.excluded += tally
        elif died:
            group.deaths[point] += tally
        else:
            group.censored[point] += tally
    return counts


# ---------------------------------------------------------------- estimating


def _life_table(counts: _Counts, access: StatisticsAccess) -> list[tuple[int, int, int]]:
    """(point, deaths, censored) as the estimate uses them: exact, or perturbed."""

    def seen(tally: Tally, figure: int) -> int:
        return tally.n if access.exact else perturb_any(tally.n, tally.cell_key, figure)

    return [
        (point, seen(counts.deaths[point], DEATHS), seen(counts.censored[point], CENSORED))
        for point in TIME_POINTS
    ]


def _durations(table) -> tuple[list[int], list[bool], list[int]]:
    durations, events, weights = [], [], []
    for point, deaths, censored in table:
        for died, n in ((True, deaths), (False, censored)):
            if n > 0:
                durations.append(point)
                events.append(died)
                weights.append(n)
    return durations, events, weights


def _first_at_or_below_half(points: list[tuple[int, float | None]]) -> float | None:
    for months, value in points:
        if value is not None and value <= 0.5:
            return float(months)
    return None


def _rounded(value) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 3)


def _group(key: str, label: str, counts: _Counts, access: StatisticsAccess) -> SurvivalGroup | None:
    """One group's curve, risk table and median; None when it has too few cases to show."""
    included = counts.at_risk(TIME_POINTS[0])
    if access.count(included) is None:
        return None
    table = _life_table(counts, access)
    durations, events, weights = _durations(table)
    if not weights:
        return None
    from lifelines import KaplanMeierFitter  # here: importing lifelines takes seconds

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fitter = KaplanMeierFitter(alpha=ALPHA).fit(
            durations, events, weights=weights, timeline=list(TIME_POINTS)
        )
    survival = fitter.survival_function_.iloc[:, 0]
    band = fitter.confidence_interval_survival_function_
    points = []
    for index, months in enumerate(TIME_POINTS):
        at_risk = counts.at_risk(months)
        if at_risk.n == 0:
            break
        shown = access.count(at_risk)
        if shown is None:  # no step where fewer than the threshold remain at risk
            break
        points.append(
            SurvivalPoint(
                months=months,
                at_risk=shown,
                survival=_rounded(survival.iloc[index]),
                lower=_rounded(band.iloc[index, 0]),
                upper=_rounded(band.iloc[index, 1]),
            )
        )
    deaths = sum((counts.deaths[p] for p in TIME_POINTS), Tally())
    return SurvivalGroup(
        key=key,
        label=label,
        cases=access.count(included),
        events=access.count(deaths),
        excluded=access.count(counts.excluded),
        median=_first_at_or_below_half([(p.months, p.survival) for p in points]),
        median_lower=_first_at_or_below_half([(p.months, p.lower) for p in points]),
        median_upper=_first_at_or_below_half([(p.months, p.upper) for p in points]),
        points=tuple(points),
        table=tuple(table),
    )


def _logrank(groups: tuple[SurvivalGroup, ...]) -> LogRank | None:
    """The log-rank test between the groups shown, from the same (perturbed) life tables."""
    if len(groups) < 2:
        return None
    durations, events, weights, labels = [], [], [], []
    for group in groups:
        d, e, w = _durations(group.table)
        durations += d
        events += e
        weights += w
        labels += [group.key] * len(d)
    if not any(events):
        return None
    from lifelines.statistics import multivariate_logrank_test  # here: a slow import

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        result = multivariate_logrank_test(
            np.asarray(durations),
            np.asarray(labels),
            np.asarray(events),
            weights=np.asarray(weights),
        )
    if not np.isfinite(result.test_statistic):
        return None
    return LogRank(
        statistic=round(float(result.test_statistic), 3),
        degrees_of_freedom=int(result.degrees_of_freedom),
        p_value=round(float(result.p_value), 4),
    )


def survival(
    *,
    selection: CountedSelection,
    by: Dimension | None = None,
    bands: AgeBands = DEFAULT_AGE_BANDS,
) -> SurvivalTable:
    """Kaplan–Meier survival after metastasis for the selection, and per value of `by`."""
    access = statistics_access(selection.user)
    cases = selection.cases()
    overall_counts = _counts(cases, None, bands).get(None, _Counts())
    overall = _group("all", "All cases", overall_counts, access)
    groups: tuple[SurvivalGroup, ...] = ()
    if by is not None:
        by_key = _counts(cases, by, bands)
        labels = label_maker(by, bands)
        groups = tuple(
            shown
            for key, counts in in_order(by, by_key, bands)
            if (shown := _group(key, labels(key), counts, access)) is not None
        )
    return SurvivalTable(by, overall, groups, _logrank(groups))
