"""A site profile: what the registry knows about one primary and one metastatic site.

"Breast -> scalp": for the cases selected by the filters (a primary at any
level and exactly one site at any level), how many, their subtypes, how the
metastases at that site presented, what they were first taken for and how
often, how they were confirmed, months from the primary, treatments and
responses, survival after the metastasis, and how often the metastasis was found
before the primary ("found first in N %"). Presentation, misdiagnosis and
confirmation are those of the metastases at that site, not of the case's other
metastases. Every part is counted like the statistics it reuses, and so
protected the same way for analysts.
"""

from collections import defaultdict
from dataclasses import dataclass

from registry.access import StatisticsAccess, statistics_access
from registry.disclosure import Tally
from registry.models.choices import DiagnosticSequence
from registry.selectors import CountedSelection
from registry.stats.counting import crosstab, dimension_counts, grouped_counts, selected_cases
from registry.stats.dimensions import SITE_LEVELS, Dimension, in_order, label_maker, value_key
from registry.stats.shares import share_interval
from registry.stats.survival import SurvivalGroup, survival
from registry.stats.tables import CountTable, CrossTable, IntervalRow, Row
from registry.stats.time_to_metastasis import intervals

# The filter that names the site, and the dimension of its level.
SITE_FILTERS = {dimension.value: dimension for dimension in SITE_LEVELS.values()}
_GROUP_BY = {dimension: level for level, dimension in SITE_LEVELS.items()}


@dataclass(frozen=True)
class Proportion:
    cases: int | None
    of: int | None
    share: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class SiteProfile:
    level: Dimension
    site: str
    label: str
    cases: int | None
    subtypes: CountTable
    presentations: CountTable
    misdiagnoses: CountTable
    misdiagnosed: Proportion
    found_first: Proportion  # the metastasis led to the primary, of cases with it known
    confirmations: CountTable
    months_to_metastasis: IntervalRow | None
    treatments: CountTable
    responses: CrossTable
    survival: SurvivalGroup | None


def _at_site(
    selection: CountedSelection, level: Dimension, site: str, dimension: Dimension
) -> CountTable:
    """Cases per value of a metastasis dimension, over the metastases at the site only."""
    counts: dict[str, Tally] = defaultdict(Tally)
    for (at, raw), tally in grouped_counts(selection, [level, dimension]):
        if str(at) == site:
            counts[value_key(dimension, raw)] += tally
    labels = label_maker(dimension)
    rows = tuple(
        Row(key, labels(key), tally.n, key_sum=tally.key_sum)
        for key, tally in in_order(dimension, counts)
    )
    total = selected_cases(selection)
    return CountTable(dimension, rows, Row("total", "All cases", total.n, key_sum=total.key_sum))


def _proportion(
    table: CountTable, access: StatisticsAccess, key: str, known: tuple[str, ...]
) -> Proportion:
    """The share of the `key` row among the `known` rows (unknown left out), from protected rows."""
    shown = {row.key: row.cases for row in table.protected(access).rows}
    missing = 0 if access.exact else None  # for analysts, a missing row is a hidden one
    counts = [shown.get(name, missing) for name in known]
    cases = shown.get(key, missing)
    if cases is None or None in counts or sum(counts) == 0:
        return Proportion(cases, None, None, None, None)  # a share of a hidden count gives it away
    share, lower, upper = share_interval(cases, sum(counts))
    return Proportion(cases, sum(counts), share, lower, upper)


# What was found first, when it is known: the profile's "found first in N %".
_SEQUENCES_KNOWN = (
    DiagnosticSequence.PRIMARY_FIRST.value,
    DiagnosticSequence.METASTASIS_FIRST.value,
    DiagnosticSequence.SIMULTANEOUS.value,
)


def site_profile(*, selection: CountedSelection, level: Dimension, site: str) -> SiteProfile:
    access = statistics_access(selection.user)
    label = label_maker(level)(site)
    misdiagnosed = _at_site(selection, level, site, Dimension.MISDIAGNOSED)
    timing = intervals(selection=selection, group_by=_GROUP_BY[level])
    survived = survival(selection=selection, by=level)
    return SiteProfile(
        level=level,
        site=site,
        label=label,
        cases=access.count(selected_cases(selection)),
        subtypes=dimension_counts(selection=selection, dimension=Dimension.SUBTYPE).protected(
            access
        ),
        presentations=_at_site(selection, level, site, Dimension.PRESENTATION).protected(access),
        misdiagnoses=_at_site(selection, level, site, Dimension.MISDIAGNOSIS).protected(access),
        misdiagnosed=_proportion(misdiagnosed, access, "yes", ("yes", "no")),
        found_first=_proportion(
            dimension_counts(selection=selection, dimension=Dimension.DIAGNOSTIC_SEQUENCE),
            access,
            DiagnosticSequence.METASTASIS_FIRST.value,
            _SEQUENCES_KNOWN,
        ),
        confirmations=_at_site(selection, level, site, Dimension.CONFIRMATION).protected(access),
        months_to_metastasis=next((row for row in timing.rows if row.key == site), None),
        treatments=dimension_counts(selection=selection, dimension=Dimension.MODALITY).protected(
            access
        ),
        responses=crosstab(
            selection=selection, rows=Dimension.MODALITY, cols=Dimension.RESPONSE
        ).protected(access),
        survival=next((group for group in survived.groups if group.key == site), None),
    )
