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
before, so a censoring case is never counted at risk after it was last seen).
Curators see the Kaplan–Meier estimate on these points from exact counts, with
nothing left out.

Analysts' curves obey the threshold on every number behind them (issue 21): a
step down of a curve is a count of deaths (a perturbed zero stays zero, so any
step proves at least one), and consecutive risk-table figures differ by the
deaths and censorings between them. So adjacent points are merged into steps
(`_steps`) until a step holds at least the threshold of deaths and of
censorings, each judged as a published count (`registry.disclosure`); a curve
is drawn only from such steps, its points are their ends, and what remains
after the last full step ends the curve. A group whose first step never fills
is shown without a curve ("withheld"). lifelines estimates each curve from the
steps' published counts (half of a step's censorings leave at its start, half at
its end: the actuarial adjustment for grouped times), the log-rank test likewise.
The number at risk at a point is a count of exactly the cases at risk when its
step begins, published like any count; a group with fewer cases than the
threshold is left out.
"""

import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import F, QuerySet

from registry.access import StatisticsAccess, statistics_access
from registry.disclosure import CENSORED, DEATHS, Tally, perturb_any, publish
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
    # The step that ends here: deaths since the previous point, censorings from it.
    deaths: int | None = None
    censored: int | None = None


# How a group's curve was drawn: from every time point (curators), from steps merged
# until each holds the threshold of deaths and censorings, or not at all.
EXACT, COARSENED, WITHHELD = "exact", "coarsened", "withheld"


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
    curve: str = EXACT  # EXACT, COARSENED or WITHHELD
    # The life table behind the curve, (point, deaths, censored) as the estimate used
    # them, for the log-rank test; never published.
    table: tuple[tuple[int, float, float], ...] = field(default=(), repr=False)


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


@dataclass(frozen=True)
class _Step:
    """Time points merged into one step of a curve: deaths counted at its end, censorings
    spread over it (half leave at its start, half at its end: the actuarial life table's
    adjustment, as a case last seen within a step was at risk for part of it)."""

    start: int
    end: int
    deaths: Tally
    censored: Tally


def _shown(tally: Tally, figure: int, access: StatisticsAccess) -> int | None:
    """A step's deaths or censorings as this user sees them (None: under the threshold)."""
    if access.exact:
        return tally.n
    return publish(tally.n, tally.cell_key, access.threshold, figure)


def _steps(counts: _Counts, access: StatisticsAccess) -> tuple[list[_Step], Tally]:
    """The steps of a curve, and what follows the last full step.

    Curators: one step per time point. Analysts: consecutive points merged until the
    step's deaths and its censorings would each be published (`registry.disclosure`
    decides, so its threshold rule, whatever it becomes, is the one applied).
    """
    steps, deaths, censored, start = [], Tally(), Tally(), None
    for point in TIME_POINTS:
        start = point if start is None else start
        deaths += counts.deaths[point]
        censored += counts.censored[point]
        full = _shown(deaths, DEATHS, access) is not None
        if access.exact or (full and _shown(censored, CENSORED, access) is not None):
            steps.append(_Step(start, point, deaths, censored))
            deaths, censored, start = Tally(), Tally(), None
    return steps, deaths + censored


def _life_table(
    steps: list[_Step], rest: Tally, access: StatisticsAccess
) -> list[tuple[int, float, float]]:
    """(point, deaths, censored) as the estimate uses them: exact, or the published counts.

    What follows the last full step is censored at its end: still at risk there, and
    not followed further by the curve.
    """
    if access.exact:
        return [(step.end, step.deaths.n, step.censored.n) for step in steps]
    table = []
    for step in steps:
        censored = _shown(step.censored, CENSORED, access) / 2
        table.append((step.start, 0, censored))
        table.append((step.end, _shown(step.deaths, DEATHS, access), censored))
    if steps:
        table.append((steps[-1].end, 0, perturb_any(rest.n, rest.cell_key, CENSORED)))
    return table


def _durations(table) -> tuple[list[int], list[bool], list[float]]:
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


def _at_risk(steps: list[_Step], index: int, rest: Tally) -> Tally:
    """Cases at risk when step `index` begins: its cases, every later step's and the rest.

    For a step of one point (every curator's step) that is the number at risk at the
    point; between two points shown it changes by one step's deaths and censorings,
    each at least the threshold for analysts.
    """
    return sum((s.deaths + s.censored for s in steps[index:]), rest)


def _group(key: str, label: str, counts: _Counts, access: StatisticsAccess) -> SurvivalGroup | None:
    """One group's curve, risk table and median; None when it has too few cases to show."""
    included = counts.at_risk(TIME_POINTS[0])
    if access.count(included) is None:
        return None
    steps, rest = _steps(counts, access)
    deaths = sum((counts.deaths[p] for p in TIME_POINTS), Tally())
    withheld = SurvivalGroup(
        key=key,
        label=label,
        cases=access.count(included),
        events=access.count(deaths),
        excluded=access.count(counts.excluded),
        median=None,
        median_lower=None,
        median_upper=None,
        points=(),
        curve=WITHHELD,
    )
    table = _life_table(steps, rest, access)
    durations, events, weights = _durations(table)
    if not steps or not weights:
        return withheld
    from lifelines import KaplanMeierFitter  # here: importing lifelines takes seconds

    ends = [step.end for step in steps]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fitter = KaplanMeierFitter(alpha=ALPHA).fit(
            durations, events, weights=weights, timeline=ends
        )
    survival = fitter.survival_function_.iloc[:, 0]
    band = fitter.confidence_interval_survival_function_
    points = []
    for index, step in enumerate(steps):
        at_risk = _at_risk(steps, index, rest)
        if at_risk.n == 0:
            break
        shown = access.count(at_risk)
        if shown is None:  # no step where fewer than the threshold remain at risk
            break
        points.append(
            SurvivalPoint(
                months=step.end,
                at_risk=shown,
                survival=_rounded(survival.loc[step.end]),
                lower=_rounded(band.loc[step.end].iloc[0]),
                upper=_rounded(band.loc[step.end].iloc[1]),
                deaths=_shown(step.deaths, DEATHS, access),
                censored=_shown(step.censored, CENSORED, access),
            )
        )
    if not points:
        return withheld
    return SurvivalGroup(
        key=key,
        label=label,
        cases=withheld.cases,
        events=withheld.events,
        excluded=withheld.excluded,
        median=_first_at_or_below_half([(p.months, p.survival) for p in points]),
        median_lower=_first_at_or_below_half([(p.months, p.lower) for p in points]),
        median_upper=_first_at_or_below_half([(p.months, p.upper) for p in points]),
        points=tuple(points),
        curve=EXACT if access.exact else COARSENED,
        table=tuple(table),
    )


def _logrank(groups: tuple[SurvivalGroup, ...]) -> LogRank | None:
    """The log-rank test between the curves shown, from the same life tables behind them."""
    groups = tuple(group for group in groups if group.table)  # a withheld curve has none
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
    if not (np.isfinite(result.test_statistic) and np.isfinite(result.p_value)):
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
