"""Aggregates for analysts: counts per site and per case attribute, cross-tables, intervals.

Every function takes the selection to count (`CountedSelection`: the cases the
user may count, under the filters) and returns exact numbers;
`suppressed(threshold)` on a result applies `registry.suppression` for everyone
but curators (`min_cell_count_for(user)`).

How cases are counted:
- Filters select cases; a selected case brings all its metastases, so
  `site=C44.4` also counts the other sites of cases with a scalp metastasis.
- A case counts once per value: a case with two scalp lesions is one case at
  C44.4 (and two metastases). A case with metastases at several sites counts at
  each, so per-site case counts add up to more than the total, which is the
  number of cases selected.
- Each case has a set of values per dimension: one for a case attribute
  (subtype, sex, ...), one per metastasis for a site dimension. A cross-table
  cell counts the cases whose sets hold both values, so site_group x site_group
  counts cases with metastases in both groups.
- Missing values (no subtype, age or year) are counted as "unknown".
- Rows are ordered by key, never by count: an order by count would rank the
  suppressed cells.

Each table is one SQL GROUP BY over the selected cases, joined to their
metastases (and to the topography table for categories and groups) when a site
is involved. Per-site counts, the analysts' main question, and tables of a site
dimension by a case attribute read on PostgreSQL the table that holds that join
already made (`registry.models.counted`); per-site counts get their exact total
from the same scan. Sums over a case attribute, which partitions the cases (age
bands from ages, the margins of a cross-table over one), are added up rather
than counted again.
"""

import enum
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    F,
    FilteredRelation,
    FloatField,
    Max,
    Min,
    Q,
    QuerySet,
)

from registry.models import Case, CountedMetastasis, Metastasis, Sex, User
from registry.selectors import CountedSelection
from registry.suppression import suppress_line, suppress_table
from registry.vocabularies import current_vocabularies

UNKNOWN = "unknown"
MAX_AGE = 90


class Dimension(enum.StrEnum):
    """What a count can be broken down by."""

    SITE = "site"
    SITE_CATEGORY = "site_category"
    SITE_GROUP = "site_group"
    PRIMARY = "primary"
    PRIMARY_CATEGORY = "primary_category"
    PRIMARY_GROUP = "primary_group"
    MORPHOLOGY = "morphology"
    SUBTYPE = "subtype"
    SEX = "sex"
    AGE_BAND = "age_band"
    YEAR = "year"

    @property
    def per_metastasis(self) -> bool:
        return self in (Dimension.SITE, Dimension.SITE_CATEGORY, Dimension.SITE_GROUP)


# `group_by` of the site endpoints: the level of ICD-O-3 topography to count at.
SITE_LEVELS = {
    "code": Dimension.SITE,
    "category": Dimension.SITE_CATEGORY,
    "site_group": Dimension.SITE_GROUP,
}

# Column of each dimension, from a metastasis for sites and from the case otherwise.
_FIELD = {
    Dimension.SITE: "site_id",
    Dimension.SITE_CATEGORY: "site__category",
    Dimension.SITE_GROUP: "site__site_group",
    Dimension.PRIMARY: "primary_site_id",
    Dimension.PRIMARY_CATEGORY: "primary_site__category",
    Dimension.PRIMARY_GROUP: "primary_site__site_group",
    Dimension.MORPHOLOGY: "primary_morphology_id",
    Dimension.SUBTYPE: "subtype_id",
    Dimension.SEX: "sex",
    Dimension.AGE_BAND: "age_at_diagnosis",
    Dimension.YEAR: "year_of_diagnosis",
}


def min_cell_count_for(user: User) -> int | None:
    """The suppression threshold for this user; None (exact counts) for curators."""
    return None if user.is_curator else settings.REGISTRY_MIN_CELL_COUNT


# ---------------------------------------------------------------- age bands


@dataclass(frozen=True)
class AgeBands:
    """Age bands by their lower bounds, e.g. (0, 40, 50) -> 0-39, 40-49, 50+."""

    lower_bounds: tuple[int, ...] = (0, 40, 50, 60, 70, 80)

    def __post_init__(self):
        bounds = self.lower_bounds
        if not bounds or bounds[0] != 0:
            raise ValueError("Age bands start at 0.")
        if any(b <= a for a, b in itertools.pairwise(bounds)) or bounds[-1] > MAX_AGE:
            raise ValueError(f"Age band bounds increase strictly and stay within 0-{MAX_AGE}.")

    def band_keys(self) -> list[str]:
        return [self._key(i) for i in range(len(self.lower_bounds))]

    def key_for(self, age: int | None) -> str:
        if age is None:
            return UNKNOWN
        index = max(i for i, low in enumerate(self.lower_bounds) if low <= age)
        return self._key(index)

    def label(self, key: str) -> str:
        if key.endswith("+"):
            return f"{key[:-1]} years or over"
        low, _, high = key.partition("-")
        return f"{low} to {high} years" if high else f"{low} years"

    def _key(self, index: int) -> str:
        low = self.lower_bounds[index]
        if index == len(self.lower_bounds) - 1:
            return f"{low}+" if low < MAX_AGE else f"{MAX_AGE}+"
        high = self.lower_bounds[index + 1] - 1
        return f"{low}-{high}" if high > low else str(low)


DEFAULT_AGE_BANDS = AgeBands()


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Row:
    """One value of a dimension and its counts; None with `suppressed` when hidden."""

    key: str
    label: str
    cases: int | None
    metastases: int | None = None
    suppressed: bool = False


@dataclass(frozen=True)
class CountTable:
    """Cases (and, per site, metastases) for each value of one dimension."""

    dimension: Dimension
    rows: tuple[Row, ...]
    total: Row
    bands: AgeBands | None = None

    def suppressed(self, threshold: int | None) -> "CountTable":
        if threshold is None:
            return self
        hide = suppress_line([row.cases for row in self.rows], self.total.cases, threshold)
        rows = tuple(_hidden(row, flag) for row, flag in zip(self.rows, hide.cells, strict=True))
        return replace(self, rows=rows, total=_hidden(self.total, hide.total))

    @property
    def suppressed_count(self) -> int:
        return sum(row.suppressed for row in (*self.rows, self.total))


@dataclass(frozen=True)
class Cell:
    cases: int | None
    suppressed: bool = False


@dataclass(frozen=True)
class CrossTable:
    """Cases for each pair of values of two dimensions, with row and column totals."""

    rows_dimension: Dimension
    cols_dimension: Dimension
    rows: tuple[Row, ...]  # the row totals
    columns: tuple[Row, ...]  # the column totals
    cells: tuple[tuple[Cell, ...], ...]
    total: Row
    bands: AgeBands | None = None

    def suppressed(self, threshold: int | None) -> "CrossTable":
        if threshold is None:
            return self
        hide = suppress_table(
            [[cell.cases for cell in row] for row in self.cells],
            [row.cases for row in self.rows],
            [col.cases for col in self.columns],
            self.total.cases,
            threshold,
        )
        return replace(
            self,
            rows=tuple(map(_hidden, self.rows, hide.row_totals)),
            columns=tuple(map(_hidden, self.columns, hide.col_totals)),
            cells=tuple(
                tuple(map(_hidden_cell, row, flags))
                for row, flags in zip(self.cells, hide.cells, strict=True)
            ),
            total=_hidden(self.total, hide.total),
        )

    @property
    def suppressed_count(self) -> int:
        inner = sum(cell.suppressed for row in self.cells for cell in row)
        return inner + sum(row.suppressed for row in (*self.rows, *self.columns, self.total))


@dataclass(frozen=True)
class IntervalRow:
    """Months from primary diagnosis to metastasis at one site, over known intervals."""

    key: str
    label: str
    cases: int | None
    metastases: int | None
    median: float | None
    q1: float | None
    q3: float | None
    minimum: int | None
    maximum: int | None
    share_synchronous: float | None
    suppressed: bool = False


@dataclass(frozen=True)
class IntervalTable:
    dimension: Dimension
    rows: tuple[IntervalRow, ...]
    total: IntervalRow

    def suppressed(self, threshold: int | None) -> "IntervalTable":
        if threshold is None:
            return self
        hide = suppress_line([row.cases for row in self.rows], self.total.cases, threshold)
        rows = tuple(map(_hidden_interval, self.rows, hide.cells))
        total = _hidden_interval(self.total, hide.total)
        return replace(self, rows=rows, total=total)

    @property
    def suppressed_count(self) -> int:
        return sum(row.suppressed for row in (*self.rows, self.total))


def _hidden(row: Row, flag: bool) -> Row:
    if not flag:
        return row
    return replace(row, cases=None, metastases=None, suppressed=True)


def _hidden_cell(cell: Cell, flag: bool) -> Cell:
    return Cell(None, suppressed=True) if flag else cell


def _hidden_interval(row: IntervalRow, flag: bool) -> IntervalRow:
    if not flag:
        return row
    empty = dict.fromkeys(
        ("cases", "metastases", "median", "q1", "q3", "minimum", "maximum", "share_synchronous")
    )
    return replace(row, **empty, suppressed=True)


# ---------------------------------------------------------------- counts


def site_counts(*, selection: CountedSelection, group_by: str = "site_group") -> CountTable:
    """Cases and metastases per metastatic site, at the level `group_by` names."""
    dimension = SITE_LEVELS[group_by]
    by_key, (n_cases, n_metastases) = _site_counts(selection, dimension)
    labels = label_maker(dimension)
    rows = tuple(Row(key, labels(key), *counts) for key, counts in _ordered(dimension, by_key))
    total = Row("total", "All sites", n_cases, n_metastases)
    return CountTable(dimension, rows, total)


def dimension_counts(
    *, selection: CountedSelection, dimension: Dimension, bands: AgeBands = DEFAULT_AGE_BANDS
) -> CountTable:
    """Cases per value of one dimension (a case with two sites counts at both)."""
    counts, total = _one_way(selection, dimension, bands)
    labels = label_maker(dimension, bands)
    rows = tuple(Row(key, labels(key), n) for key, n in _ordered(dimension, counts, bands))
    uses_bands = bands if dimension is Dimension.AGE_BAND else None
    return CountTable(dimension, rows, Row("total", "All cases", total), bands=uses_bands)


def crosstab(
    *,
    selection: CountedSelection,
    rows: Dimension,
    cols: Dimension,
    bands: AgeBands = DEFAULT_AGE_BANDS,
) -> CrossTable:
    """Cases per pair of values, with row totals, column totals and the grand total."""
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for (row_raw, col_raw), n in _grouped(selection, [rows, cols]):
        cells[_key(rows, row_raw, bands), _key(cols, col_raw, bands)] += n
    # A margin is the sum across a case attribute (it partitions the cases);
    # across sites it is counted, since a case can have metastases at several.
    if cols.per_metastasis:
        row_totals, total = _one_way(selection, rows, bands)
    else:
        row_totals = _sum_by(cells, 0)
    if rows.per_metastasis:
        col_totals, total = _one_way(selection, cols, bands)
    else:
        col_totals = _sum_by(cells, 1)
    if not (rows.per_metastasis or cols.per_metastasis):
        total = sum(row_totals.values())
    row_labels, col_labels = label_maker(rows, bands), label_maker(cols, bands)
    row_items = _ordered(rows, row_totals, bands)
    col_items = _ordered(cols, col_totals, bands)
    return CrossTable(
        rows_dimension=rows,
        cols_dimension=cols,
        rows=tuple(Row(key, row_labels(key), n) for key, n in row_items),
        columns=tuple(Row(key, col_labels(key), n) for key, n in col_items),
        cells=tuple(
            tuple(Cell(cells.get((row_key, col_key), 0)) for col_key, _ in col_items)
            for row_key, _ in row_items
        ),
        total=Row("total", "All cases", total),
        bands=bands if Dimension.AGE_BAND in (rows, cols) else None,
    )


def _one_way(
    selection: CountedSelection, dimension: Dimension, bands: AgeBands
) -> tuple[dict[str, int], int]:
    """Cases per value of one dimension, and the number of cases selected."""
    if dimension.per_metastasis:
        by_key, (selected, _) = _site_counts(selection, dimension)
        return {key: n_cases for key, (n_cases, _) in by_key.items()}, selected
    counts: dict[str, int] = defaultdict(int)
    for (raw,), n in _grouped(selection, [dimension]):
        counts[_key(dimension, raw, bands)] += n
    return counts, sum(counts.values())


def _site_counts(
    selection: CountedSelection, dimension: Dimension
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """{site key: (cases, metastases)} and the totals (cases, metastases).

    From the counted metastases where they serve (PostgreSQL): one scan of one
    table, no join to the cases. Each case has one `first_of_case` row, so the
    rows of each key that are first add up to the distinct cases overall.
    """
    metastases = selection.counted_metastases()
    if metastases is None:
        return _site_counts_joined(selection.cases(), dimension)
    grouped = (
        metastases.order_by()
        .values(key=F(_FIELD[dimension]))
        .annotate(
            n_cases=Count("case_id", distinct=True),
            n_metastases=Count("pk"),
            n_first=Count("pk", filter=Q(first_of_case=True)),
        )
    )
    by_key, n_cases, n_metastases = {}, 0, 0
    for row in grouped:
        by_key[row["key"]] = (row["n_cases"], row["n_metastases"])
        n_cases += row["n_first"]
        n_metastases += row["n_metastases"]
    return by_key, (n_cases, n_metastases)


def _site_counts_joined(
    cases: QuerySet[Case], dimension: Dimension
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """The same counts from the cases joined to their metastases, in one statement.

    For selections the counted metastases cannot serve (the `q` search). The ORM
    selects one row per metastasis of the selected cases (a semi-join on their
    ids); ROLLUP, which the ORM does not express, adds the total row to the same
    GROUP BY, so the distinct cases overall cost one pass rather than a second
    query. On SQLite (`make run`), `_site_counts_portable`.
    """
    field = _FIELD[dimension]
    if connections[cases.db].vendor != "postgresql":
        return _site_counts_portable(cases, dimension)
    metastases = Metastasis.objects.using(cases.db).filter(case__in=cases.order_by().values("pk"))
    metastases = metastases.values(key=F(field), case_ref=F("case_id"))
    try:
        sql, params = metastases.order_by().query.sql_with_params()
    except EmptyResultSet:
        return {}, (0, 0)
    # Byte order (COLLATE "C") groups the same codes; it spares the planner an index
    # scan of the whole table in code order, and the sort its locale comparisons.
    statement = (
        "SELECT GROUPING(key), key, COUNT(DISTINCT case_ref), COUNT(*) FROM ("
        f'SELECT key COLLATE "C" AS key, case_ref FROM ({sql}) AS metastases'
        ") AS selected GROUP BY ROLLUP (key)"
    )
    by_key, totals = {}, (0, 0)
    with connections[metastases.db].cursor() as cursor:
        cursor.execute(statement, params)
        for is_total, key, n_cases, n_metastases in cursor.fetchall():
            if is_total:
                totals = (n_cases, n_metastases)
            else:
                by_key[key] = (n_cases, n_metastases)
    return by_key, totals


def _site_counts_portable(
    cases: QuerySet[Case], dimension: Dimension
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """The same counts without ROLLUP (SQLite, for `make run`): a GROUP BY and a total."""
    joined = cases.order_by().filter(metastases__isnull=False)
    grouped = joined.values(key=F(f"metastases__{_FIELD[dimension]}")).annotate(
        n_cases=Count("pk", distinct=True), n_metastases=Count("metastases")
    )
    by_key = {row["key"]: (row["n_cases"], row["n_metastases"]) for row in grouped}
    totals = joined.aggregate(n_cases=Count("pk", distinct=True), n_metastases=Count("metastases"))
    return by_key, (totals["n_cases"], totals["n_metastases"])


def _grouped(
    selection: CountedSelection, dimensions: list[Dimension]
) -> Iterable[tuple[tuple, int]]:
    """One GROUP BY: (values, cases) for each combination of values.

    With exactly one site dimension, from the counted metastases where they serve
    (one table, no join); otherwise from the cases, joined to their metastases.
    """
    one_site = sum(dimension.per_metastasis for dimension in dimensions) == 1
    counted = selection.counted_metastases() if one_site else None
    if counted is not None:
        return _grouped_counted(counted, dimensions)
    return _grouped_joined(selection.cases(), dimensions)


def _grouped_counted(
    counted: QuerySet[CountedMetastasis], dimensions: list[Dimension]
) -> Iterable[tuple[tuple, int]]:
    """The GROUP BY over counted metastases, which hold the case columns under their names."""
    columns = {f"k{index}": F(_FIELD[dimension]) for index, dimension in enumerate(dimensions)}
    names = list(columns)
    grouped = counted.order_by().values(**columns).annotate(n_cases=Count("case_id", distinct=True))
    for values in grouped:
        yield tuple(values[name] for name in names), values["n_cases"]


def _grouped_joined(
    cases: QuerySet[Case], dimensions: list[Dimension]
) -> Iterable[tuple[tuple, int]]:
    """The GROUP BY over cases; a site dimension joins the metastases.

    A second site dimension joins them a second time, so that its values may come
    from another metastasis of the case.
    """
    rows = cases.order_by()
    relations = iter(["metastases", "co_metastases"])
    columns = {}
    distinct = False
    for index, dimension in enumerate(dimensions):
        path = _FIELD[dimension]
        if dimension.per_metastasis:
            relation = next(relations)
            if relation != "metastases":
                rows = rows.alias(**{relation: FilteredRelation("metastases")})
            # Filtering on the relation first makes its join an inner one.
            rows = rows.filter(**{f"{relation}__isnull": False})
            path = f"{relation}__{path}"
            distinct = True
        columns[f"k{index}"] = F(path)
    names = list(columns)
    for values in rows.values(**columns).annotate(n_cases=Count("pk", distinct=distinct)):
        yield tuple(values[name] for name in names), values["n_cases"]


def _sum_by(cells: dict[tuple[str, str], int], axis: int) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for pair, n in cells.items():
        sums[pair[axis]] += n
    return sums


# ---------------------------------------------------------------- time to metastasis


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("A percentile's fraction is between 0 and 1.")
        super().__init__(expression, fraction=float(fraction), **extra)


_INTERVAL_STATISTICS = {
    "n_cases": Count("case_id", distinct=True),
    "n_metastases": Count("id"),
    "median": PercentileCont("months_from_primary", 0.5),
    "q1": PercentileCont("months_from_primary", 0.25),
    "q3": PercentileCont("months_from_primary", 0.75),
    "minimum": Min("months_from_primary"),
    "maximum": Max("months_from_primary"),
    "synchronous": Count("id", filter=Q(months_from_primary=0)),
}


def intervals(*, selection: CountedSelection, group_by: str = "site_group") -> IntervalTable:
    """Months from primary diagnosis to metastasis per site: n, quartiles, range, share at 0."""
    dimension = SITE_LEVELS[group_by]
    timed = Metastasis.objects.filter(
        case__in=selection.cases().order_by().values("pk"), months_from_primary__isnull=False
    ).order_by()
    labels = label_maker(dimension)
    if connections[timed.db].vendor == "postgresql":
        grouped = {
            values["key"]: values
            for values in timed.values(key=F(_FIELD[dimension])).annotate(**_INTERVAL_STATISTICS)
        }
        overall = timed.aggregate(**_INTERVAL_STATISTICS)
    else:
        grouped, overall = _interval_statistics_portable(timed, _FIELD[dimension])
    rows = tuple(
        _interval_row(key, labels(key), values) for key, values in _ordered(dimension, grouped)
    )
    return IntervalTable(dimension, rows, _interval_row("total", "All sites", overall))


def _interval_statistics_portable(timed: QuerySet[Metastasis], field: str):
    """The same statistics computed in Python (SQLite has no percentile_cont; dev only)."""
    months: dict[str, list[int]] = defaultdict(list)
    cases: dict[str, set[int]] = defaultdict(set)
    for key, case_id, month in timed.values_list(field, "case_id", "months_from_primary"):
        for bucket in (key, None):
            months[bucket].append(month)
            cases[bucket].add(case_id)

    def statistics(bucket) -> dict:
        values = sorted(months.get(bucket, []))
        return {
            "n_cases": len(cases.get(bucket, ())),
            "n_metastases": len(values),
            "median": _percentile(values, 0.5),
            "q1": _percentile(values, 0.25),
            "q3": _percentile(values, 0.75),
            "minimum": values[0] if values else None,
            "maximum": values[-1] if values else None,
            "synchronous": values.count(0),
        }

    grouped = {key: statistics(key) for key in months if key is not None}
    return grouped, statistics(None)


def _percentile(ordered: list[int], fraction: float) -> float | None:
    """percentile_cont: linear interpolation between the two nearest ranks."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


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


# ---------------------------------------------------------------- keys and labels


def _key(dimension: Dimension, raw, bands: AgeBands) -> str:
    if dimension is Dimension.AGE_BAND:
        return bands.key_for(raw)
    return UNKNOWN if raw is None or raw == "" else str(raw)


def _ordered(dimension: Dimension, by_key: dict, bands: AgeBands = DEFAULT_AGE_BANDS):
    """Items in the dimension's natural order (codes, years, bands, sexes), unknown last."""
    if dimension is Dimension.AGE_BAND:
        rank = {key: i for i, key in enumerate(bands.band_keys())}
    elif dimension is Dimension.SEX:
        rank = {key: i for i, key in enumerate(Sex.values)}
    else:
        rank = None

    def sort_key(key: str):
        if key == UNKNOWN:
            return (2, 0, "")
        if rank is not None:
            return (0, rank.get(key, len(rank)), key)
        if dimension is Dimension.YEAR:
            return (0, int(key), key)
        return (0, 0, key)

    return [(key, by_key[key]) for key in sorted(by_key, key=sort_key)]


def label_maker(dimension: Dimension, bands: AgeBands = DEFAULT_AGE_BANDS) -> Callable[[str], str]:
    """Key -> human label from the vocabularies ("C44.4" -> "Skin of scalp and neck")."""
    vocab = current_vocabularies()
    if dimension in (Dimension.SITE, Dimension.PRIMARY):
        titles = {code: row.title for code, row in vocab.topography.items()}
    elif dimension in (Dimension.SITE_CATEGORY, Dimension.PRIMARY_CATEGORY):
        titles = {row.category: row.category_title for row in vocab.topography.values()}
    elif dimension is Dimension.MORPHOLOGY:
        titles = {code: row.title for code, row in vocab.morphology.items()}
    elif dimension is Dimension.SUBTYPE:
        titles = {code: row.title for code, row in vocab.subtypes.items()}
    elif dimension is Dimension.SEX:
        titles = dict(Sex.choices)
    elif dimension is Dimension.AGE_BAND:
        titles = {key: bands.label(key) for key in bands.band_keys()}
    else:
        titles = {}

    def label(key: str) -> str:
        if key == UNKNOWN:
            return "Unknown"
        return titles.get(key, key)

    return label
