"""Aggregates for analysts: counts per site and per case attribute, cross-tables, intervals.

Every function takes the selection to count (`CountedSelection`: the cases the
user may count, under the filters) and returns exact numbers, each count with
the sum of its cases' record keys when the user is not a curator;
`protected(access)` on a result then turns them into what that user may see
(`registry.access`, `registry.disclosure`). Intervals are protected as they are
computed, since their quartiles come from perturbed counts.

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
  hidden cells.

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
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models import Case as DjangoCase

from registry.access import (
    AGE_BAND_SCHEMES,
    DEFAULT_AGE_BAND_SCHEME,
    StatisticsAccess,
    age_band_keys,
    period_of,
    statistics_access,
)
from registry.disclosure import HISTOGRAM, METASTASES, SYNCHRONOUS, Tally, perturb_any, publish
from registry.models import Case, CountedMetastasis, Metastasis, Sex
from registry.models.case import MAX_AGE
from registry.models.choices import (
    Confirmation,
    Misdiagnosis,
    Modality,
    Presentation,
    Response,
    VitalStatus,
)
from registry.selectors import CountedSelection
from registry.vocabularies import current_vocabularies

UNKNOWN = "unknown"


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
    PERIOD = "period"
    # What the registry records of each metastasis, treatment and outcome.
    PRESENTATION = "presentation"
    MISDIAGNOSIS = "misdiagnosis"
    MISDIAGNOSED = "misdiagnosed"
    CONFIRMATION = "confirmation"
    MONTHS_TO_METASTASIS = "months_to_metastasis"
    MODALITY = "modality"
    RESPONSE = "response"
    VITAL_STATUS = "vital_status"

    @property
    def per_metastasis(self) -> bool:
        """A site of a metastasis: counted from the counted metastases where they serve."""
        return self in (Dimension.SITE, Dimension.SITE_CATEGORY, Dimension.SITE_GROUP)

    @property
    def clinical(self) -> bool:
        """Not copied onto the counted metastases: always counted over the joined tables."""
        return self in _CLINICAL

    @property
    def relation(self) -> str | None:
        """Where a value comes from: "metastases", "treatments", or None for the case."""
        if self.per_metastasis or self in _OF_METASTASIS:
            return "metastases"
        if self in (Dimension.MODALITY, Dimension.RESPONSE):
            return "treatments"
        return None

    @property
    def several_per_case(self) -> bool:
        """A case can have several values (one per metastasis or treatment)."""
        return self.relation is not None


_OF_METASTASIS = frozenset(
    {
        Dimension.PRESENTATION,
        Dimension.MISDIAGNOSIS,
        Dimension.MISDIAGNOSED,
        Dimension.CONFIRMATION,
        Dimension.MONTHS_TO_METASTASIS,
    }
)
_CLINICAL = _OF_METASTASIS | {Dimension.MODALITY, Dimension.RESPONSE, Dimension.VITAL_STATUS}

# Months from primary diagnosis to metastasis in the bands published as a dimension:
# (first month, last month), None for no end. Each band is a union of INTERVAL_BINS,
# so the bands tell nothing that the intervals' histogram does not.
MONTH_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 0),
    (1, 6),
    (7, 12),
    (13, 24),
    (25, 60),
    (61, None),
)


def month_band_key(first: int, last: int | None) -> str:
    if last is None:
        return f"{first}+"
    return str(first) if first == last else f"{first}-{last}"


# A case with no treatment recorded, in the treatment dimensions.
NO_TREATMENT = "no_treatment"


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
    Dimension.PERIOD: "year_of_diagnosis",
    Dimension.PRESENTATION: "presentation",
    Dimension.MISDIAGNOSIS: "misdiagnosis",
    Dimension.MISDIAGNOSED: "misdiagnosis",
    Dimension.CONFIRMATION: "confirmed_by",
    Dimension.MONTHS_TO_METASTASIS: "months_from_primary",
    Dimension.MODALITY: "modality",
    Dimension.RESPONSE: "response",
    Dimension.VITAL_STATUS: "vital_status",
}


# ---------------------------------------------------------------- age bands


@dataclass(frozen=True)
class AgeBands:
    """Age bands by their lower bounds, e.g. (0, 40, 50) -> 0-39, 40-49, 50+."""

    lower_bounds: tuple[int, ...] = AGE_BAND_SCHEMES[DEFAULT_AGE_BAND_SCHEME]

    def __post_init__(self):
        bounds = self.lower_bounds
        if not bounds or bounds[0] != 0:
            raise ValueError("Age bands start at 0.")
        if any(b <= a for a, b in itertools.pairwise(bounds)) or bounds[-1] > MAX_AGE:
            raise ValueError(f"Age band bounds increase strictly and stay within 0-{MAX_AGE}.")

    def band_keys(self) -> list[str]:
        return [key for key, _, _ in age_band_keys(self.lower_bounds)]

    def key_for(self, age: int | None) -> str:
        if age is None:
            return UNKNOWN
        index = max(i for i, low in enumerate(self.lower_bounds) if low <= age)
        return self.band_keys()[index]

    def label(self, key: str) -> str:
        if key.endswith("+"):
            return f"{key[:-1]} years or over"
        low, _, high = key.partition("-")
        return f"{low} to {high} years" if high else f"{low} years"


DEFAULT_AGE_BANDS = AgeBands()


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Row:
    """One value of a dimension and its counts; None with `suppressed` when hidden.

    `key_sum` is the sum of the record keys of the cases counted (the cell key
    before its modulo); it never leaves the domain.
    """

    key: str
    label: str
    cases: int | None
    metastases: int | None = None
    suppressed: bool = False
    key_sum: int = 0

    @property
    def tally(self) -> Tally:
        return Tally(self.cases or 0, self.key_sum)

    def published(self, access: StatisticsAccess) -> "Row | None":
        """The row as the user may see it: exact, perturbed, or None when hidden."""
        if access.exact:
            return self
        cases = access.count(self.tally)
        if cases is None:
            return None
        metastases = None
        if self.metastases is not None:
            metastases = publish(self.metastases, self.tally.cell_key, access.threshold, METASTASES)
        return replace(self, cases=cases, metastases=metastases)


def _hidden_row(row: Row) -> Row:
    return replace(row, cases=None, metastases=None, suppressed=True)


@dataclass(frozen=True)
class CountTable:
    """Cases (and, per site, metastases) for each value of one dimension."""

    dimension: Dimension
    rows: tuple[Row, ...]
    total: Row
    bands: AgeBands | None = None
    hidden: int | None = 0  # numbers hidden; None where telling it would give cells away

    def protected(self, access: StatisticsAccess) -> "CountTable":
        """What the user sees: curators everything; analysts the published rows only.

        A row below the threshold is left out rather than shown empty, so that a
        value with no case and a value with a few look the same.
        """
        if access.exact:
            return self
        total = self.total.published(access)
        if total is None:
            return replace(self, rows=(), total=_hidden_row(self.total), hidden=None)
        rows = tuple(shown for row in self.rows if (shown := row.published(access)) is not None)
        return replace(self, rows=rows, total=total, hidden=None)


@dataclass(frozen=True)
class Cell:
    cases: int | None
    suppressed: bool = False
    key_sum: int = 0


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
    hidden: int | None = 0

    def protected(self, access: StatisticsAccess) -> "CrossTable":
        """Analysts: rows and columns whose totals are published, each cell perturbed or hidden.

        A hidden cell may hold no case or a few: empty cells are hidden alike.
        """
        if access.exact:
            return self
        total = self.total.published(access)
        if total is None:
            return replace(
                self, rows=(), columns=(), cells=(), total=_hidden_row(self.total), hidden=None
            )
        kept_rows = [(i, row.published(access)) for i, row in enumerate(self.rows)]
        kept_rows = [(i, row) for i, row in kept_rows if row is not None]
        kept_cols = [(j, col.published(access)) for j, col in enumerate(self.columns)]
        kept_cols = [(j, col) for j, col in kept_cols if col is not None]

        def cell(source: Cell) -> Cell:
            cases = access.count(Tally(source.cases or 0, source.key_sum))
            return Cell(cases, suppressed=cases is None)

        return replace(
            self,
            rows=tuple(row for _, row in kept_rows),
            columns=tuple(col for _, col in kept_cols),
            cells=tuple(tuple(cell(self.cells[i][j]) for j, _ in kept_cols) for i, _ in kept_rows),
            total=total,
            hidden=None,
        )


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
    hidden: int | None = 0


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
        for key, (cases, metastases) in _ordered(dimension, by_key)
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
        for key, tally in _ordered(dimension, counts, bands)
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
    for (row_raw, col_raw), tally in _grouped(selection, [rows, cols]):
        cells[_key(rows, row_raw, bands), _key(cols, col_raw, bands)] += tally
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
    row_items = _ordered(rows, row_totals, bands)
    col_items = _ordered(cols, col_totals, bands)

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
    for (raw,), tally in _grouped(selection, [dimension]):
        counts[_key(dimension, raw, bands)] += tally
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


def _site_counts(
    selection: CountedSelection, dimension: Dimension
) -> tuple[dict[str, tuple[Tally, int]], tuple[Tally, int]]:
    """{site key: (cases, metastases)} and the totals (cases selected, metastases)."""
    if _keyed(selection):
        return _site_counts_keyed(selection, dimension)
    metastases = selection.counted_metastases()
    if metastases is None:
        by_key, totals = _site_counts_joined(selection.cases(), dimension)
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


def _site_counts_keyed(
    selection: CountedSelection, dimension: Dimension
) -> tuple[dict[str, tuple[Tally, int]], tuple[Tally, int]]:
    """Counts with the key sums of their cases: one row per (site, case), then summed.

    A case with two lesions at a site is one (site, case) row, so its record key
    counts once there, as the cell-key method needs.
    """
    counted = selection.counted_metastases()
    if counted is not None:
        per_case = counted.order_by().values(key=F(_FIELD[dimension]), cid=F("case_id"))
        per_case = per_case.annotate(
            rk=Max("record_key"), n=Count("pk"), first=Count("pk", filter=Q(first_of_case=True))
        )
    else:
        metastases = Metastasis.objects.filter(case__in=selection.cases().order_by().values("pk"))
        per_case = metastases.order_by().values(key=F(_FIELD[dimension]), cid=F("case_id"))
        per_case = per_case.annotate(rk=Max("case__record_key"), n=Count("pk"), first=Value(0))
    statement = (
        "SELECT key, COUNT(*), SUM(rk), SUM(n), SUM(first), SUM(CASE WHEN first > 0 "
        "THEN rk ELSE 0 END) FROM ({}) AS per_case GROUP BY key"
    )
    by_key: dict[str, tuple[Tally, int]] = {}
    total, n_metastases = Tally(), 0
    for key, n_cases, key_sum, n, n_first, first_key_sum in _run_around(per_case, statement):
        by_key[key] = (Tally(n_cases, key_sum), n)
        total += Tally(n_first, first_key_sum)
        n_metastases += n
    if counted is None:
        with_metastases = selection.cases().filter(
            Exists(Metastasis.objects.filter(case=OuterRef("pk")))
        )
        sums = with_metastases.aggregate(n=Count("pk"), key_sum=Sum("record_key"))
        total = Tally(sums["n"], sums["key_sum"] or 0)
    return by_key, (total, n_metastases)


def _run_around(inner: QuerySet, statement: str) -> list[tuple]:
    """Run `statement` around the SQL of `inner` (its `{}`): the ORM's filters, a second level."""
    try:
        sql, params = inner.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connections[inner.db].cursor() as cursor:
        cursor.execute(statement.format(sql), params)
        return [tuple(map(_whole, row)) for row in cursor.fetchall()]


def _whole(value):
    """PostgreSQL's SUM of integers is numeric; keys and counts are whole numbers."""
    return int(value) if isinstance(value, Decimal) else value


def _site_counts_joined(
    cases: QuerySet[Case], dimension: Dimension
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """Exact counts from the cases joined to their metastases, in one statement.

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
    metastases = metastases.order_by().values(key=F(field), case_ref=F("case_id"))
    # Byte order (COLLATE "C") groups the same codes; it spares the planner an index
    # scan of the whole table in code order, and the sort its locale comparisons.
    statement = (
        "SELECT GROUPING(key), key, COUNT(DISTINCT case_ref), COUNT(*) FROM ("
        'SELECT key COLLATE "C" AS key, case_ref FROM ({}) AS metastases'
        ") AS selected GROUP BY ROLLUP (key)"
    )
    by_key, totals = {}, (0, 0)
    for is_total, key, n_cases, n_metastases in _run_around(metastases, statement):
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
) -> Iterable[tuple[tuple, Tally]]:
    """(values, cases) for each combination of values; cases with their key sum when keyed.

    With exactly one site dimension, from the counted metastases where they serve
    (one table, no join); with two, from (case, site) pairs; otherwise from the cases.
    """
    if any(dimension.clinical for dimension in dimensions):
        return _grouped_clinical(selection.cases(), dimensions)
    keyed = _keyed(selection)
    n_sites = sum(dimension.per_metastasis for dimension in dimensions)
    if n_sites == 2:
        return _grouped_site_pairs(selection.cases(), dimensions)
    counted = selection.counted_metastases() if n_sites == 1 else None
    if counted is not None:
        return _grouped_counted(counted, dimensions, keyed)
    return _grouped_joined(selection.cases(), dimensions, keyed)


def _columns(dimensions: list[Dimension], prefix: str = "") -> dict[str, F]:
    return {f"k{index}": F(prefix + _FIELD[dim]) for index, dim in enumerate(dimensions)}


def _per_case_sums(per_case: QuerySet, names: list[str]) -> Iterable[tuple[tuple, Tally]]:
    """Sum rows of (values..., case, record key) into (values, cases and their key sum)."""
    keys = ", ".join(names)
    statement = f"SELECT {keys}, COUNT(*), SUM(rk) FROM ({{}}) AS per_case GROUP BY {keys}"
    width = len(names)
    for row in _run_around(per_case, statement):
        yield tuple(row[:width]), Tally(row[width], row[width + 1] or 0)


def _grouped_counted(
    counted: QuerySet[CountedMetastasis], dimensions: list[Dimension], keyed: bool
) -> Iterable[tuple[tuple, Tally]]:
    """The GROUP BY over counted metastases, which hold the case columns under their names."""
    columns = _columns(dimensions)
    names = list(columns)
    if keyed:
        per_case = counted.order_by().values(**columns, cid=F("case_id"))
        return _per_case_sums(per_case.annotate(rk=Max("record_key")), names)
    grouped = counted.order_by().values(**columns).annotate(n_cases=Count("case_id", distinct=True))
    return ((tuple(v[name] for name in names), Tally(v["n_cases"])) for v in grouped)


def _grouped_joined(
    cases: QuerySet[Case], dimensions: list[Dimension], keyed: bool
) -> Iterable[tuple[tuple, Tally]]:
    """The GROUP BY over cases; one site dimension joins the metastases."""
    rows = cases.order_by()
    columns, per_metastasis = {}, False
    for index, dimension in enumerate(dimensions):
        path = _FIELD[dimension]
        if dimension.per_metastasis:
            rows = rows.filter(metastases__isnull=False)  # an inner join
            path, per_metastasis = f"metastases__{path}", True
        columns[f"k{index}"] = F(path)
    names = list(columns)
    if per_metastasis:
        if keyed:
            per_case = rows.values(**columns, cid=F("pk")).annotate(rk=Max("record_key"))
            return _per_case_sums(per_case, names)
        grouped = rows.values(**columns).annotate(n=Count("pk", distinct=True))
    else:
        grouped = rows.values(**columns).annotate(n=Count("pk"), key_sum=Sum("record_key"))
    return (
        (tuple(v[name] for name in names), Tally(v["n"], (v.get("key_sum") or 0) if keyed else 0))
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
        .values(cid=F("case_id"), value=F(_FIELD[dimension]))
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
    return [((row, col), Tally(n, _whole(key_sum or 0))) for row, col, n, key_sum in found]


# ---------------------------------------------------------------- clinical dimensions


class _ConfirmationMethods(Func):
    """Each confirmation method of a metastasis as its own row (PostgreSQL), NULL for none.

    A set-returning function in the select list: one row per method, and one row
    with NULL (counted as unknown) for a metastasis with none recorded.
    """

    template = (
        "jsonb_array_elements_text(CASE WHEN jsonb_array_length(%(expressions)s) = 0 "
        "THEN '[null]'::jsonb ELSE %(expressions)s END)"
    )
    output_field = CharField()


def clinical_expression(dimension: Dimension, vendor: str = "postgresql"):
    """The value of a dimension for a row of cases joined to their metastases or treatments.

    Dimensions of one relation read the same joined row, so site x presentation
    pairs a metastasis's site with how that same metastasis presented.
    """
    field = _FIELD[dimension]
    path = f"{dimension.relation}__{field}" if dimension.relation else field
    if dimension is Dimension.CONFIRMATION and vendor == "postgresql":
        return _ConfirmationMethods(F(path))
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
    vendor = connections[cases.db].vendor
    rows = cases.order_by()
    if any(dimension.relation == "metastases" for dimension in dimensions):
        rows = rows.filter(metastases__isnull=False)  # an inner join, reused by the values
    columns = {
        f"k{index}": clinical_expression(dimension, vendor)
        for index, dimension in enumerate(dimensions)
    }
    return rows.values(**columns, cid=F("pk"), rk=F("record_key"), **extra)


def _grouped_clinical(
    cases: QuerySet[Case], dimensions: list[Dimension]
) -> Iterable[tuple[tuple, Tally]]:
    """Distinct (values, case) pairs of the joined rows, then cases and key sums per values.

    A case with two nodules counts once at nodule; the record key of each case
    counted enters each sum once, as the cell-key method needs. Exact for curators
    (the key sums are simply not used).
    """
    names = [f"k{index}" for index in range(len(dimensions))]
    rows = clinical_rows(cases, dimensions)
    if connections[cases.db].vendor != "postgresql":
        return _grouped_in_python(rows, dimensions, names)
    keys = ", ".join(names)
    statement = (
        f"SELECT {keys}, COUNT(*), SUM(rk) FROM (SELECT DISTINCT {keys}, cid, rk FROM ({{}}) "
        f"AS joined) AS per_case GROUP BY {keys}"
    )
    width = len(names)
    return [
        (tuple(row[:width]), Tally(row[width], row[width + 1] or 0))
        for row in _run_around(rows, statement)
    ]


def _grouped_in_python(rows: QuerySet, dimensions: list[Dimension], names: list[str]):
    """The same grouping without PostgreSQL (SQLite, `make run`); confirmations unnested here."""
    pairs = set()
    for row in rows:
        choices = []
        for name, dimension in zip(names, dimensions, strict=True):
            value = row[name]
            if dimension is Dimension.CONFIRMATION:
                choices.append(tuple(value or ()) or (None,))
            else:
                choices.append((value,))
        for values in itertools.product(*choices):
            pairs.add((values, row["cid"], row["rk"]))
    grouped: dict[tuple, Tally] = defaultdict(Tally)
    for values, _, record_key in pairs:
        grouped[values] += Tally(1, record_key)
    return list(grouped.items())


def _sum_by(cells: dict[tuple[str, str], Tally], axis: int) -> dict[str, Tally]:
    sums: dict[str, Tally] = defaultdict(Tally)
    for pair, tally in cells.items():
        sums[pair[axis]] += tally
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
    field = F(_FIELD[dimension])
    tallies: dict[str | None, tuple[Tally, int, int]] = {}
    for key_columns, keys, group in ((dict(key=field), "key,", "GROUP BY key"), ({}, "", "")):
        inner = timed.values(**key_columns, cid=F("case_id")).annotate(**per_case)
        for row in _run_around(inner, totals_sql.format(keys=keys, group=group)):
            key = row[0] if key_columns else None
            n_cases, key_sum, n, sync = row[-4:]
            tallies[key] = (Tally(n_cases, key_sum or 0), n or 0, sync or 0)
    histograms: dict[str | None, list[int]] = defaultdict(lambda: [0] * len(INTERVAL_BINS))
    bin_sql = "SELECT {keys} bin, COUNT(*), SUM(rk), SUM(n) FROM ({{}}) AS t GROUP BY {keys} bin"
    for key_columns, keys in ((dict(key=field), "key,"), ({}, "")):
        inner = timed.values(**key_columns, bin=_interval_bin(), cid=F("case_id"))
        inner = inner.annotate(rk=Max("case__record_key"), n=Count("pk"))
        for row in _run_around(inner, bin_sql.format(keys=keys)):
            key = row[0] if key_columns else None
            index, n_cases, key_sum, n = row[-4:]
            cell_key = Tally(n_cases, key_sum or 0).cell_key
            histograms[key][index] = perturb_any(n, cell_key, HISTOGRAM)

    def row(key: str, label: str) -> IntervalRow | None:
        cases, n, sync = tallies.get(key if key != "total" else None, (Tally(), 0, 0))
        published = access.count(cases)
        if published is None:
            return None
        metastases = publish(n, cases.cell_key, access.threshold, METASTASES)
        synchronous = publish(sync, cases.cell_key, access.threshold, SYNCHRONOUS)
        counts = histograms[key if key != "total" else None]
        return IntervalRow(
            key=key,
            label=label,
            cases=published,
            metastases=metastases,
            median=histogram_quantile(counts, 0.5),
            q1=histogram_quantile(counts, 0.25),
            q3=histogram_quantile(counts, 0.75),
            minimum=None,
            maximum=None,
            share_synchronous=round(synchronous / metastases, 4) if synchronous else None,
        )

    labels = label_maker(dimension)
    keys = [key for key, _ in _ordered(dimension, {k: 0 for k in tallies if k is not None})]
    rows = tuple(shown for key in keys if (shown := row(key, labels(key))) is not None)
    total = row("total", "All sites")
    if total is None:
        hidden = IntervalRow("total", "All sites", *([None] * 8), suppressed=True)
        return IntervalTable(dimension, (), hidden, hidden=None)
    return IntervalTable(dimension, rows, total, hidden=None)


def histogram_quantile(counts: list[int], fraction: float) -> float | None:
    """A quantile of months from counts in INTERVAL_BINS, interpolated within its bin.

    Month 0 is a point; bin (a, b) spreads its metastases evenly over [a, b + 1);
    the open last bin answers its first month. Rounded to a tenth of a month.
    """
    total = sum(counts)
    if total == 0:
        return None
    target = fraction * total
    below = 0
    for (first, last), n in zip(INTERVAL_BINS, counts, strict=True):
        if n and below + n >= target:
            if last is None or last == first:
                return float(first)
            return round(first + (target - below) / n * (last + 1 - first), 1)
        below += n
    return float(INTERVAL_BINS[-1][0])


# ---------------------------------------------------------------- keys and labels


def _key(dimension: Dimension, raw, bands: AgeBands) -> str:
    if raw is None and dimension.relation == "treatments":
        return NO_TREATMENT
    if dimension is Dimension.AGE_BAND:
        return bands.key_for(raw)
    if dimension is Dimension.PERIOD and raw is not None:
        return period_of(raw)
    return UNKNOWN if raw is None or raw == "" else str(raw)


def _ordered(dimension: Dimension, by_key: dict, bands: AgeBands = DEFAULT_AGE_BANDS):
    """Items in the dimension's natural order (codes, years, bands, sexes), unknown last."""
    if dimension is Dimension.AGE_BAND:
        rank = {key: i for i, key in enumerate(bands.band_keys())}
    elif dimension in _CHOICES:
        rank = {key: i for i, key in enumerate(_CHOICES[dimension])}
    else:
        rank = None

    def sort_key(key: str):
        if key == NO_TREATMENT:
            return (3, 0, "")
        if key == UNKNOWN:
            return (2, 0, "")
        if rank is not None:
            return (0, rank.get(key, len(rank)), key)
        if dimension in (Dimension.YEAR, Dimension.PERIOD):
            return (0, int(key[:4]), key)
        return (0, 0, key)

    return [(key, by_key[key]) for key in sorted(by_key, key=sort_key)]


def _month_band_label(first: int, last: int | None) -> str:
    if last is None:
        return f"{first} months or more"
    if first == last:
        return "At diagnosis (synchronous)" if first == 0 else f"{first} months"
    return f"{first} to {last} months"


# Coded values of the dimensions with a closed value set, in the order they are shown.
_CHOICES: dict[Dimension, dict[str, str]] = {
    Dimension.SEX: dict(Sex.choices),
    Dimension.PRESENTATION: dict(Presentation.choices),
    Dimension.MISDIAGNOSIS: dict(Misdiagnosis.choices),
    Dimension.MISDIAGNOSED: {
        "yes": "First taken for something else",
        "no": "Recognised at first diagnosis",
    },
    Dimension.CONFIRMATION: dict(Confirmation.choices),
    Dimension.MONTHS_TO_METASTASIS: {
        month_band_key(first, last): _month_band_label(first, last) for first, last in MONTH_BANDS
    },
    Dimension.MODALITY: dict(Modality.choices),
    Dimension.RESPONSE: dict(Response.choices),
    Dimension.VITAL_STATUS: dict(VitalStatus.choices),
}


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
    elif dimension in _CHOICES:
        titles = _CHOICES[dimension]
    elif dimension is Dimension.AGE_BAND:
        titles = {key: bands.label(key) for key in bands.band_keys()}
    else:
        titles = {}

    def label(key: str) -> str:
        if key == NO_TREATMENT:
            return "No treatment recorded"
        if key == UNKNOWN:
            return "Unknown"
        return titles.get(key, key)

    return label
