"""Counting cases: per metastatic site, per value of a dimension, and in cross-tables.

Every function takes the selection to count (`CountedSelection`: the cases the
user may count, under the filters) and returns exact numbers, each count with
the sum of its cases' record keys when the user is not a curator;
`protected(access)` on a result then turns them into what that user may see
(`registry.stats.tables`).

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

Each table is one SQL GROUP BY over the selected cases, joined to their
metastases (and to the topography table for categories and groups) when a site
is involved. Per-site counts, the analysts' main question, and tables of a site
dimension by a case attribute read on PostgreSQL the table that holds that join
already made (`registry.models.counted`); `_counted_metastases` alone decides
when. Per-site counts get their exact total from the same scan. Sums over a case
attribute, which partitions the cases (age bands from ages, the margins of a
cross-table over one), are added up rather than counted again. What differs on
SQLite is in `registry.stats.vendors`.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models import Case as DjangoCase

from registry.access import statistics_access
from registry.disclosure import RECORD_KEYS, Tally
from registry.models import Case, CountedMetastasis, Metastasis
from registry.selectors import CountedSelection
from registry.stats import vendors
from registry.stats.dimensions import (
    DEFAULT_AGE_BANDS,
    FIELD,
    MONTH_BANDS,
    SITE_LEVELS,
    AgeBands,
    Dimension,
    in_order,
    label_maker,
    month_band_key,
    value_key,
)
from registry.stats.tables import Cell, CountTable, CrossTable, Row

# ---------------------------------------------------------------- counts


def _keyed(selection: CountedSelection) -> bool:
    """Whether the counts must carry the record keys of their cases (to be protected)."""
    return not statistics_access(selection.user).exact


def site_counts(*, selection: CountedSelection, group_by: str = "site_group") -> CountTable:
    """Cases and metastases per metastatic site, at the level `group_by` names."""
    dimension = SITE_LEVELS[group_by]
    by_key, (n_cases, n_metastases) = _site_counts(selection, dimension)
    labels = label_maker(dimension)
    rows = tuple(
        Row(key, labels(key), cases.n, metastases, key_sum=cases.key_sum)
        for key, (cases, metastases) in in_order(dimension, by_key)
    )
    total = Row("total", "All sites", n_cases.n, n_metastases, key_sum=n_cases.key_sum)
    return CountTable(dimension, rows, total)


def dimension_counts(
    *, selection: CountedSelection, dimension: Dimension, bands: AgeBands = DEFAULT_AGE_BANDS
) -> CountTable:
    """Cases per value of one dimension (a case with two sites counts at both)."""
    counts, total = _one_way(selection, dimension, bands)
    labels = label_maker(dimension, bands)
    rows = tuple(
        Row(key, labels(key), tally.n, key_sum=tally.key_sum)
        for key, tally in in_order(dimension, counts, bands)
    )
    uses_bands = bands if dimension is Dimension.AGE_BAND else None
    total_row = Row("total", "All cases", total.n, key_sum=total.key_sum)
    return CountTable(dimension, rows, total_row, bands=uses_bands)


def crosstab(
    *,
    selection: CountedSelection,
    rows: Dimension,
    cols: Dimension,
    bands: AgeBands = DEFAULT_AGE_BANDS,
) -> CrossTable:
    """Cases per pair of values, with row totals, column totals and the grand total."""
    cells: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for (row_raw, col_raw), tally in grouped_counts(selection, [rows, cols]):
        cells[value_key(rows, row_raw, bands), value_key(cols, col_raw, bands)] += tally
    # A margin is the sum across a case attribute (it partitions the cases);
    # across sites it is counted, since a case can have metastases at several.
    if cols.several_per_case:
        row_totals, total = _one_way(selection, rows, bands)
    else:
        row_totals = _sum_by(cells, 0)
    if rows.several_per_case:
        col_totals, total = _one_way(selection, cols, bands)
    else:
        col_totals = _sum_by(cells, 1)
    if not (rows.several_per_case or cols.several_per_case):
        total = sum(row_totals.values(), Tally())
    row_labels, col_labels = label_maker(rows, bands), label_maker(cols, bands)
    row_items = in_order(rows, row_totals, bands)
    col_items = in_order(cols, col_totals, bands)

    def cell(pair) -> Cell:
        tally = cells.get(pair, Tally())
        return Cell(tally.n, key_sum=tally.key_sum)

    return CrossTable(
        rows_dimension=rows,
        cols_dimension=cols,
        rows=tuple(Row(k, row_labels(k), t.n, key_sum=t.key_sum) for k, t in row_items),
        columns=tuple(Row(k, col_labels(k), t.n, key_sum=t.key_sum) for k, t in col_items),
        cells=tuple(tuple(cell((r, c)) for c, _ in col_items) for r, _ in row_items),
        total=Row("total", "All cases", total.n, key_sum=total.key_sum),
        bands=bands if Dimension.AGE_BAND in (rows, cols) else None,
    )


def _one_way(
    selection: CountedSelection, dimension: Dimension, bands: AgeBands
) -> tuple[dict[str, Tally], Tally]:
    """Cases per value of one dimension, and the cases selected."""
    if dimension.per_metastasis:
        by_key, (selected, _) = _site_counts(selection, dimension)
        return {key: cases for key, (cases, _) in by_key.items()}, selected
    counts: dict[str, Tally] = defaultdict(Tally)
    for (raw,), tally in grouped_counts(selection, [dimension]):
        counts[value_key(dimension, raw, bands)] += tally
    if dimension.several_per_case:
        return counts, selected_cases(selection)
    return counts, sum(counts.values(), Tally())


def selected_cases(selection: CountedSelection) -> Tally:
    """The cases selected, with their key sum: the same set as the total of the site counts.

    Every case has a metastasis (a validation edit), so the cases selected are the
    cases with metastases that the site counts total, and their cell key is the same.
    """
    sums = selection.cases().order_by().aggregate(n=Count("pk"), key_sum=Sum("record_key"))
    return Tally(sums["n"], sums["key_sum"] or 0)


# ---------------------------------------------------------------- where to count from


def _counted_metastases(
    selection: CountedSelection, dimensions: list[Dimension]
) -> QuerySet[CountedMetastasis] | None:
    """The counted metastases where they answer a count by `dimensions`; None: join the tables.

    The one place that decides. They hold one site and the case's attributes, so
    they serve a count by exactly one site dimension and no clinical one; only
    PostgreSQL has them; the `q` search matches case fields they do not copy.
    """
    n_sites = sum(dimension.per_metastasis for dimension in dimensions)
    if n_sites != 1 or any(dimension.clinical for dimension in dimensions):
        return None
    if selection.filters.q or not vendors.postgresql(router.db_for_read(CountedMetastasis)):
        return None
    return selection.counted_metastases()


# ---------------------------------------------------------------- per site


def _site_counts(
    selection: CountedSelection, dimension: Dimension
) -> tuple[dict[str, tuple[Tally, int]], tuple[Tally, int]]:
    """{site key: (cases, metastases)} and the totals (cases selected, metastases)."""
    if _keyed(selection):
        return _site_counts_keyed(selection, dimension)
    metastases = _counted_metastases(selection, [dimension])
    if metastases is None:
        by_key, totals = vendors.site_counts_joined(selection.cases(), dimension)
    else:
        by_key, totals = _site_counts_counted(metastases, dimension)
    exact = {key: (Tally(n_cases), n_metastases) for key, (n_cases, n_metastases) in by_key.items()}
    return exact, (Tally(totals[0]), totals[1])


def _site_counts_counted(
    metastases: QuerySet[CountedMetastasis], dimension: Dimension
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """Exact counts from the counted metastases (PostgreSQL): one scan of one table.

    Each case has one `first_of_case` row, so the rows of each key that are first
    add up to the distinct cases overall.
    """
    grouped = (
        metastases.order_by()
        .values(key=F(FIELD[dimension]))
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


def _site_counts_keyed(
    selection: CountedSelection, dimension: Dimension
) -> tuple[dict[str, tuple[Tally, int]], tuple[Tally, int]]:
    """Counts with the key sums of their cases, in one GROUP BY (`distinct_cases`).

    A case with two lesions at a site counts once there, and its record key
    enters that site's sum once, as the cell-key method needs.
    """
    counted = _counted_metastases(selection, [dimension])
    if counted is not None:
        first = Q(first_of_case=True)
        grouped = (
            counted.order_by()
            .values(key=F(FIELD[dimension]))
            .annotate(
                **distinct_cases("case_id", "record_key"),
                n_metastases=Count("pk"),
                n_first=Count("pk", filter=first),
                first_key_sum=Sum("record_key", filter=first),
            )
        )
    else:
        metastases = Metastasis.objects.filter(case__in=selection.cases().order_by().values("pk"))
        grouped = (
            metastases.order_by()
            .values(key=F(FIELD[dimension]))
            .annotate(**distinct_cases("case_id", "case__record_key"), n_metastases=Count("pk"))
        )
    by_key: dict[str, tuple[Tally, int]] = {}
    total, n_metastases = Tally(), 0
    for row in grouped:
        by_key[row["key"]] = (_tally(row), row["n_metastases"])
        total += Tally(row.get("n_first", 0), int(row.get("first_key_sum") or 0))
        n_metastases += row["n_metastases"]
    if counted is None:
        with_metastases = selection.cases().filter(
            Exists(Metastasis.objects.filter(case=OuterRef("pk")))
        )
        sums = with_metastases.aggregate(n=Count("pk"), key_sum=Sum("record_key"))
        total = Tally(sums["n"], sums["key_sum"] or 0)
    return by_key, (total, n_metastases)


def distinct_cases(case: str, record_key: str) -> dict[str, Aggregate]:
    """The distinct cases of a group and their key sum, as two aggregates of one GROUP BY.

    Each row stands for its case as case id x RECORD_KEYS + record key: one value
    per case, however many of its rows the group holds. Their distinct sum is the
    key sum plus a multiple of RECORD_KEYS, so it gives the same cell key. Without
    it, each group needs a (group, case) level first, which costs an analyst's
    count half as much again as a curator's at a million cases (docs/performance.md).
    """
    tagged = F(case) * RECORD_KEYS + F(record_key)
    return {"n_cases": Count(tagged, distinct=True), "key_sum": Sum(tagged, distinct=True)}


def _tally(row: dict) -> Tally:
    return Tally(row["n_cases"], int(row.get("key_sum") or 0))


def grouped_counts(
    selection: CountedSelection, dimensions: list[Dimension]
) -> Iterable[tuple[tuple, Tally]]:
    """(values, cases) for each combination of values; cases with their key sum when keyed.

    Values as read from the database (`value_key` makes them keys). With exactly
    one site dimension, from the counted metastases where they serve (one table,
    no join); with two, from (case, site) pairs; otherwise from the cases.
    """
    if any(dimension.clinical for dimension in dimensions):
        rows = clinical_rows(selection.cases(), dimensions)
        return vendors.distinct_case_counts(rows, dimensions)
    keyed = _keyed(selection)
    n_sites = sum(dimension.per_metastasis for dimension in dimensions)
    if n_sites == 2:
        return _grouped_site_pairs(selection.cases(), dimensions)
    counted = _counted_metastases(selection, dimensions)
    if counted is not None:
        return _grouped_counted(counted, dimensions, keyed)
    return _grouped_joined(selection.cases(), dimensions, keyed)


def _columns(dimensions: list[Dimension], prefix: str = "") -> dict[str, F]:
    return {f"k{index}": F(prefix + FIELD[dim]) for index, dim in enumerate(dimensions)}


def _grouped_counted(
    counted: QuerySet[CountedMetastasis], dimensions: list[Dimension], keyed: bool
) -> Iterable[tuple[tuple, Tally]]:
    """The GROUP BY over counted metastases, which hold the case columns under their names."""
    columns = _columns(dimensions)
    names = list(columns)
    if keyed:
        cases = distinct_cases("case_id", "record_key")
    else:
        cases = {"n_cases": Count("case_id", distinct=True)}
    grouped = counted.order_by().values(**columns).annotate(**cases)
    return ((tuple(v[name] for name in names), _tally(v)) for v in grouped)


def _grouped_joined(
    cases: QuerySet[Case], dimensions: list[Dimension], keyed: bool
) -> Iterable[tuple[tuple, Tally]]:
    """The GROUP BY over cases; one site dimension joins the metastases."""
    rows = cases.order_by()
    columns, per_metastasis = {}, False
    for index, dimension in enumerate(dimensions):
        path = FIELD[dimension]
        if dimension.per_metastasis:
            rows = rows.filter(metastases__isnull=False)  # an inner join
            path, per_metastasis = f"metastases__{path}", True
        columns[f"k{index}"] = F(path)
    names = list(columns)
    if per_metastasis:  # a case joined to several metastases: each case once
        cases_of = distinct_cases("pk", "record_key") if keyed else {}
        cases_of.setdefault("n_cases", Count("pk", distinct=True))
    else:
        cases_of = {"n_cases": Count("pk"), "key_sum": Sum("record_key")}
    grouped = rows.values(**columns).annotate(**cases_of)
    return (
        (tuple(v[name] for name in names), _tally(v) if keyed else Tally(v["n_cases"]))
        for v in grouped
    )


def _grouped_site_pairs(
    cases: QuerySet[Case], dimensions: list[Dimension]
) -> Iterable[tuple[tuple, Tally]]:
    """Two site dimensions: the (case, value) pairs of each, joined on the case.

    Joining metastases to metastases grows with the square of a case's lesions;
    the distinct (case, value) pairs of each dimension are few, whatever the lesions.
    """
    selected = cases.order_by().values("pk")
    pairs = [
        Metastasis.objects.filter(case__in=selected)
        .order_by()
        .values(cid=F("case_id"), value=F(FIELD[dimension]))
        .distinct()
        for dimension in dimensions
    ]
    try:
        (rows_sql, rows_params), (cols_sql, cols_params) = (
            pair.query.sql_with_params() for pair in pairs
        )
    except EmptyResultSet:
        return []
    statement = (
        f"SELECT r.value, c.value, COUNT(*), SUM(k.record_key) FROM ({rows_sql}) AS r "
        f"JOIN ({cols_sql}) AS c ON c.cid = r.cid "
        f"JOIN {Case._meta.db_table} AS k ON k.id = r.cid GROUP BY r.value, c.value"
    )
    with connections[cases.db].cursor() as cursor:
        cursor.execute(statement, (*rows_params, *cols_params))
        found = cursor.fetchall()
    return [((row, col), Tally(n, vendors.whole(key_sum or 0))) for row, col, n, key_sum in found]


# ---------------------------------------------------------------- clinical dimensions


def clinical_expression(dimension: Dimension, database: str, *, unnest: bool = True):
    """The value of a dimension for a row of cases joined to their metastases or treatments.

    Dimensions of one relation read the same joined row, so site x presentation
    pairs a metastasis's site with how that same metastasis presented.
    """
    field = FIELD[dimension]
    path = f"{dimension.relation}__{field}" if dimension.relation else field
    if dimension is Dimension.CONFIRMATION:
        return vendors.confirmation_methods(path, database, unnest=unnest)
    if dimension is Dimension.MISDIAGNOSED:
        return DjangoCase(
            When(**{f"{path}__in": ("none",)}, then=Value("no")),
            When(**{f"{path}__in": ("unknown", "")}, then=Value(None)),
            default=Value("yes"),
            output_field=CharField(),
        )
    if dimension is Dimension.MONTHS_TO_METASTASIS:
        whens = [When(**{f"{path}__isnull": True}, then=Value(None))]
        whens += [
            When(**{f"{path}__lte": last}, then=Value(month_band_key(first, last)))
            for first, last in MONTH_BANDS
            if last is not None
        ]
        first, last = MONTH_BANDS[-1]
        open_band = Value(month_band_key(first, last))
        return DjangoCase(*whens, default=open_band, output_field=CharField())
    return F(path)


def clinical_rows(cases: QuerySet[Case], dimensions: list[Dimension], **extra) -> QuerySet:
    """One row per joined (case, metastasis or treatment): k0, k1, ..., cid, rk and `extra`.

    Not grouped: the grouping is done around it, so that a set-returning
    expression (confirmation methods) can stand in the select list.
    """
    rows = cases.order_by()
    if any(dimension.relation == "metastases" for dimension in dimensions):
        rows = rows.filter(metastases__isnull=False)  # an inner join, reused by the values
    repeated = vendors.repeated_confirmations(dimensions)
    columns = {
        f"k{index}": clinical_expression(dimension, cases.db, unnest=index not in repeated)
        for index, dimension in enumerate(dimensions)
    }
    return rows.values(**columns, cid=F("pk"), rk=F("record_key"), **extra)


def _sum_by(cells: dict[tuple[str, str], Tally], axis: int) -> dict[str, Tally]:
    sums: dict[str, Tally] = defaultdict(Tally)
    for pair, tally in cells.items():
        sums[pair[axis]] += tally
    return sums
