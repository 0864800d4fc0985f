"""How unusual a site is: each metastatic site's share of the cases selected, with an interval.

For a selected primary (any filters), the share of its cases with a metastasis
at each site, with an exact (Clopper–Pearson) 95 % interval. The unit is the
case, not the lesion: a binomial interval needs independent trials, and two
lesions of one patient are not. The share is among cases reported to the
registry, which collects unusual sites on purpose: it is not a population
frequency, and the documents say so.

Analysts' shares and intervals come from the published (perturbed) counts, so
they tell nothing the counts do not; a site with fewer cases than the
threshold is left out, as in the site counts. A share also tells the cases
without the site (a share of 12 in 13 says one case had none), so it is given
only where those cases too would be published; otherwise the site's count is
shown and its share withheld (`share_withheld`).
"""

from dataclasses import dataclass

from registry.access import StatisticsAccess, statistics_access
from registry.disclosure import Tally
from registry.selectors import CountedSelection
from registry.stats.counting import site_counts
from registry.stats.tables import Line

CONFIDENCE_LEVEL = 0.95
CAUTION = (
    "A share among the cases reported to this registry, not a population frequency: the "
    "registry collects unusual metastatic sites on purpose, so common sites are under-reported "
    "and rare ones over-reported relative to all patients."
)


@dataclass(frozen=True)
class Share(Line):
    """A site's cases and their share of the cases selected, with its interval."""

    share: float | None = None
    lower: float | None = None
    upper: float | None = None
    suppressed: bool = False
    share_withheld: bool = False  # the count is shown, the cases without the site are few


@dataclass(frozen=True)
class ShareTable:
    group_by: str
    rows: tuple[Share, ...]
    total: Share  # the denominator: cases selected


def share_interval(cases: int, total: int) -> tuple[float, float, float]:
    """The share and its exact (Clopper–Pearson) interval, rounded to 4 places."""
    from scipy.stats import binomtest  # here: scipy.stats is slow to import for every process

    cases = min(cases, total)  # perturbed counts: a site's may exceed the total by a little
    interval = binomtest(cases, total).proportion_ci(CONFIDENCE_LEVEL, method="exact")
    return round(cases / total, 4), round(interval.low, 4), round(interval.high, 4)


def _without_site_publishable(site: Tally, total: Tally, access: StatisticsAccess) -> bool:
    """Whether the cases selected without the site would be published themselves.

    They are a subset of the total's cases, so their tally is the difference.
    """
    if access.exact:
        return True
    return access.count(Tally(total.n - site.n, total.key_sum - site.key_sum)) is not None


def site_shares(*, selection: CountedSelection, group_by: str = "site_group") -> ShareTable:
    """Each site's share of the cases selected, from the counts this user may see."""
    access = statistics_access(selection.user)
    exact = site_counts(selection=selection, group_by=group_by)
    tallies = {row.key: row.tally for row in exact.rows}
    table = exact.protected(access)
    total = table.total
    rows = []
    for row in table.rows:
        if row.cases is None or not total.cases:
            rows.append(Share(row.key, row.label, row.cases, suppressed=row.suppressed))
            continue
        if not _without_site_publishable(tallies[row.key], exact.total.tally, access):
            rows.append(Share(row.key, row.label, row.cases, share_withheld=True))
            continue
        share, lower, upper = share_interval(row.cases, total.cases)
        rows.append(Share(row.key, row.label, row.cases, share, lower, upper))
    denominator = Share("total", total.label, total.cases, suppressed=total.suppressed)
    return ShareTable(group_by, tuple(rows), denominator)
