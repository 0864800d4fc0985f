"""Months from primary diagnosis to metastasis, per metastatic site.

Curators see exact figures: n, quartiles, range, the share at month 0. Analysts'
intervals are protected as they are computed, since their quartiles come from
perturbed counts: n and the synchronous share from the cases' cell keys, the
quartiles from a histogram of perturbed counts in `INTERVAL_BINS`, and no
minimum or maximum (`registry.disclosure`).

The threshold holds for the histogram too (issue 21): a quartile of 0.0 proved
metastases at month 0 even where their count was hidden, since a perturbed empty
bin stays empty. So adjacent bins are merged until each merged bin's cases would
be published, a remainder joins the last full one, and a quartile falling in a
merged open-ended bin is not given. The share at month 0 is given only where
month 0 is a bin of its own, so that it is a count of at least the threshold.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Case as DjangoCase
from django.db.models import Count, F, Max, Q, QuerySet, Value, When

from registry.access import StatisticsAccess, statistics_access
from registry.disclosure import HISTOGRAM, METASTASES, SYNCHRONOUS, Tally, perturb_any, publish
from registry.models import Metastasis
from registry.selectors import CountedSelection
from registry.stats import vendors
from registry.stats.dimensions import FIELD, SITE_LEVELS, Dimension, in_order, label_maker
from registry.stats.tables import IntervalRow, IntervalTable, withheld

# Months from primary diagnosis, in the bins whose perturbed counts give analysts
# their quartiles: (first month, last month), None for no end.
INTERVAL_BINS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 3),
    (4, 6),
    (7, 12),
    (13, 24),
    (25, 36),
    (37, 60),
    (61, 120),
    (121, None),
)


def intervals(*, selection: CountedSelection, group_by: str = "site_group") -> IntervalTable:
    """Months from primary diagnosis to metastasis per site: n, quartiles, range, share at 0.

    Exact for curators. For analysts every figure comes from perturbed counts:
    n and the synchronous share from the cases' cell keys, the quartiles from a
    histogram of perturbed counts in `INTERVAL_BINS`; no minimum or maximum.
    """
    dimension = SITE_LEVELS[group_by]
    timed = Metastasis.objects.filter(
        case__in=selection.cases().order_by().values("pk"), months_from_primary__isnull=False
    ).order_by()
    access = statistics_access(selection.user)
    if not access.exact:
        return _protected_intervals(timed, dimension, access)
    labels = label_maker(dimension)
    grouped, overall = vendors.interval_statistics(timed, dimension)
    rows = tuple(
        _interval_row(key, labels(key), values) for key, values in in_order(dimension, grouped)
    )
    return IntervalTable(dimension, rows, _interval_row("total", "All sites", overall))


def _interval_row(key: str, label: str, values: dict) -> IntervalRow:
    n = values["n_metastases"]
    return IntervalRow(
        key=key,
        label=label,
        cases=values["n_cases"],
        metastases=n,
        median=values["median"],
        q1=values["q1"],
        q3=values["q3"],
        minimum=values["minimum"],
        maximum=values["maximum"],
        share_synchronous=round(values["synchronous"] / n, 4) if n else None,
    )


def _interval_bin() -> DjangoCase:
    """The index of a metastasis's bin in INTERVAL_BINS, in SQL."""
    whens = [
        When(months_from_primary__lte=last, then=Value(index))
        for index, (_, last) in enumerate(INTERVAL_BINS)
        if last is not None
    ]
    return DjangoCase(*whens, default=Value(len(INTERVAL_BINS) - 1))


def _protected_intervals(
    timed: QuerySet[Metastasis], dimension: Dimension, access: StatisticsAccess
) -> IntervalTable:
    """The analysts' intervals: per (value, case) rows summed, every figure from tallies."""
    per_case = {
        "rk": Max("case__record_key"),
        "n": Count("pk"),
        "sync": Count("pk", filter=Q(months_from_primary=0)),
    }
    totals_sql = "SELECT {keys} COUNT(*), SUM(rk), SUM(n), SUM(sync) FROM ({{}}) AS t {group}"
    field = F(FIELD[dimension])
    tallies: dict[str | None, tuple[Tally, int, int]] = {}
    for key_columns, keys, group in ((dict(key=field), "key,", "GROUP BY key"), ({}, "", "")):
        inner = timed.values(**key_columns, cid=F("case_id")).annotate(**per_case)
        for row in vendors.run_around(inner, totals_sql.format(keys=keys, group=group)):
            key = row[0] if key_columns else None
            n_cases, key_sum, n, sync = row[-4:]
            tallies[key] = (Tally(n_cases, key_sum or 0), n or 0, sync or 0)
    histograms: dict[str | None, list[tuple[Tally, int]]] = defaultdict(
        lambda: [(Tally(), 0)] * len(INTERVAL_BINS)
    )
    bin_sql = "SELECT {keys} bin, COUNT(*), SUM(rk), SUM(n) FROM ({{}}) AS t GROUP BY {keys} bin"
    for key_columns, keys in ((dict(key=field), "key,"), ({}, "")):
        inner = timed.values(**key_columns, bin=_interval_bin(), cid=F("case_id"))
        inner = inner.annotate(rk=Max("case__record_key"), n=Count("pk"))
        for row in vendors.run_around(inner, bin_sql.format(keys=keys)):
            key = row[0] if key_columns else None
            index, n_cases, key_sum, n = row[-4:]
            histograms[key][index] = (Tally(n_cases, key_sum or 0), n or 0)

    def row(key: str, label: str) -> IntervalRow | None:
        cases, n, sync = tallies.get(key if key != "total" else None, (Tally(), 0, 0))
        published = access.count(cases)
        if published is None:
            return None
        metastases = publish(n, cases.cell_key, access.threshold, METASTASES)
        bins = merged_bins(histograms[key if key != "total" else None], access.threshold)
        synchronous = None
        if bins and bins[0].last == 0:  # month 0 is a bin of its own: at least the threshold
            synchronous = publish(sync, cases.cell_key, access.threshold, SYNCHRONOUS)
        return IntervalRow(
            key=key,
            label=label,
            cases=published,
            metastases=metastases,
            median=histogram_quantile(bins, 0.5),
            q1=histogram_quantile(bins, 0.25),
            q3=histogram_quantile(bins, 0.75),
            minimum=None,
            maximum=None,
            share_synchronous=round(synchronous / metastases, 4)
            if synchronous and metastases
            else None,
        )

    labels = label_maker(dimension)
    keys = [key for key, _ in in_order(dimension, {k: 0 for k in tallies if k is not None})]
    rows = tuple(shown for key in keys if (shown := row(key, labels(key))) is not None)
    total = row("total", "All sites")
    if total is None:
        hidden = withheld(IntervalRow("total", "All sites", *([None] * 8)))
        return IntervalTable(dimension, (), hidden, hidden=None)
    return IntervalTable(dimension, rows, total, hidden=None)


@dataclass(frozen=True)
class Bin:
    """Months first..last (None: no end) and the perturbed count of metastases in them."""

    first: int
    last: int | None
    metastases: int


def merged_bins(counts: list[tuple[Tally, int]], threshold: int) -> list[Bin]:
    """INTERVAL_BINS merged, in order, until each holds cases that would be published.

    `counts` are (cases, metastases) per bin. A remainder under the threshold joins
    the last full bin; none full: no bins (the row is then hidden anyway).
    """
    merged: list[tuple[int, int | None, Tally, int]] = []
    start, cases, metastases = None, Tally(), 0
    for (first, last), (tally, n) in zip(INTERVAL_BINS, counts, strict=True):
        start = first if start is None else start
        cases, metastases = cases + tally, metastases + n
        if publish(cases.n, cases.cell_key, threshold, HISTOGRAM) is not None:
            merged.append((start, last, cases, metastases))
            start, cases, metastases = None, Tally(), 0
    if merged and start is not None:
        first, _, tally, n = merged.pop()
        merged.append((first, None, tally + cases, n + metastases))
    return [
        Bin(first, last, perturb_any(n, tally.cell_key, HISTOGRAM))
        for first, last, tally, n in merged
    ]


def exact_bins(counts: list[int]) -> list[Bin]:
    """INTERVAL_BINS as they are, with the given counts (curators' figures, tests)."""
    return [Bin(first, last, n) for (first, last), n in zip(INTERVAL_BINS, counts, strict=True)]


def histogram_quantile(bins: list[Bin], fraction: float) -> float | None:
    """A quantile of months from counts in bins, interpolated within its bin.

    Month 0 alone is a point; bin (a, b) spreads its metastases evenly over
    [a, b + 1); INTERVAL_BINS' open last bin answers its first month, a merged
    open bin nothing (it spans too much to place a quartile). Rounded to a tenth.
    """
    total = sum(b.metastases for b in bins)
    if total == 0:
        return None
    target = fraction * total
    below = 0
    for b in bins:
        if b.metastases and below + b.metastases >= target:
            if b.last is None:
                return float(b.first) if b.first == INTERVAL_BINS[-1][0] else None
            if b.last == b.first:
                return float(b.first)
            return round(b.first + (target - below) / b.metastases * (b.last + 1 - b.first), 1)
        below += b.metastases
    return None
