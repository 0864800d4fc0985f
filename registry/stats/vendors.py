"""What PostgreSQL and SQLite do differently for the statistics, in one place.

PostgreSQL (production, the tests, the bench) counts in SQL with what SQLite
lacks: ROLLUP, percentile_cont, set-returning jsonb functions, and the counted
metastases its triggers keep (`registry.models.counted`). SQLite serves `make
run`, a registry small enough to count in Python. Each function here gives the
same figures on both, in SQL on PostgreSQL and in Python elsewhere, and the
tests compare the two ways (tests/test_stats.py, tests/test_survival.py).
Nothing else in `registry.stats` asks which database it runs on.
"""

import itertools
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Aggregate, CharField, Count, F, FloatField, Func, Max, Min, Q, QuerySet

from registry.disclosure import Tally
from registry.models import Case, Metastasis
from registry.stats.dimensions import FIELD, Dimension


def postgresql(database: str) -> bool:
    """Whether the database (an alias) is PostgreSQL, with the counted metastases and the SQL."""
    return connections[database].vendor == "postgresql"


def run_around(inner: QuerySet, statement: str) -> list[tuple]:
    """Run `statement` around the SQL of `inner` (its `{}`): the ORM's filters, a second level."""
    try:
        sql, params = inner.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connections[inner.db].cursor() as cursor:
        cursor.execute(statement.format(sql), params)
        return [tuple(map(whole, row)) for row in cursor.fetchall()]


def whole(value):
    """PostgreSQL's SUM of integers is numeric; keys and counts are whole numbers."""
    return int(value) if isinstance(value, Decimal) else value


# ---------------------------------------------------------------- sites over the base tables


def site_counts_joined(
    cases: QuerySet[Case], dimension: Dimension
) -> tuple[dict[str, tuple[int, int]], tuple[int, int]]:
    """Exact counts from the cases joined to their metastases, in one statement.

    For selections the counted metastases cannot serve (the `q` search). The ORM
    selects one row per metastasis of the selected cases (a semi-join on their
    ids); ROLLUP, which the ORM does not express, adds the total row to the same
    GROUP BY, so the distinct cases overall cost one pass rather than a second
    query. On SQLite (`make run`), `_site_counts_portable`.
    """
    field = FIELD[dimension]
    if not postgresql(cases.db):
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
    for is_total, key, n_cases, n_metastases in run_around(metastases, statement):
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
    grouped = joined.values(key=F(f"metastases__{FIELD[dimension]}")).annotate(
        n_cases=Count("pk", distinct=True), n_metastases=Count("metastases")
    )
    by_key = {row["key"]: (row["n_cases"], row["n_metastases"]) for row in grouped}
    totals = joined.aggregate(n_cases=Count("pk", distinct=True), n_metastases=Count("metastases"))
    return by_key, (totals["n_cases"], totals["n_metastases"])


# ---------------------------------------------------------------- clinical dimensions


# One row per confirmation method of a metastasis, and one NULL row (counted as
# unknown) for a metastasis with none recorded.
_METHODS = (
    "jsonb_array_elements_text(CASE WHEN jsonb_array_length({0}) = 0 "
    "THEN '[null]'::jsonb ELSE {0} END)"
)


class _ConfirmationMethods(Func):
    """Each confirmation method of a metastasis as its own row (PostgreSQL): `_METHODS`."""

    template = _METHODS.format("%(expressions)s")
    output_field = CharField()


def repeated_confirmations(dimensions: list[Dimension]) -> list[int]:
    """Where confirmation stands again after its first place (a confirmation x confirmation table).

    PostgreSQL runs two set-returning functions of one select list side by side,
    pairing their rows instead of crossing them; so on PostgreSQL a repeated
    confirmation is selected as its list and unnested one level up
    (`_unnest_repeated`), which crosses it with the first.
    """
    places = [
        index for index, dimension in enumerate(dimensions) if dimension is Dimension.CONFIRMATION
    ]
    return places[1:]


def confirmation_methods(path: str, database: str, *, unnest: bool = True):
    """A metastasis's confirmation methods: one row each on PostgreSQL, the list elsewhere.

    Elsewhere the list is unnested in Python (`_unnested`), into the same rows; so
    is a repeated confirmation on PostgreSQL, in SQL (`unnest=False`).
    """
    return _ConfirmationMethods(F(path)) if unnest and postgresql(database) else F(path)


def _unnest_repeated(dimensions: list[Dimension], names: list[str]) -> str:
    """The rows `{}` of a statement, with each repeated confirmation unnested one level up."""
    source = "({})"
    for place in repeated_confirmations(dimensions):
        columns = ", ".join(
            _METHODS.format(f"joined.{name}") + f" AS {name}"
            if index == place
            else f"joined.{name}"
            for index, name in enumerate(names)
        )
        source = f"(SELECT {columns}, joined.cid, joined.rk FROM {source} AS joined)"
    return source


def _unnested(row: dict, names: list[str], dimensions: list[Dimension]) -> itertools.product:
    """Every combination of a joined row's values, confirmation methods one by one."""
    choices = [
        tuple(row[name] or ()) or (None,) if dimension is Dimension.CONFIRMATION else (row[name],)
        for name, dimension in zip(names, dimensions, strict=True)
    ]
    return itertools.product(*choices)


def distinct_case_counts(rows: QuerySet, dimensions: list[Dimension]) -> list[tuple[tuple, Tally]]:
    """Distinct (values, case) pairs of joined rows (k0, k1, ..., cid, rk), then cases per values.

    A case with two nodules counts once at nodule; the record key of each case
    counted enters each sum once, as the cell-key method needs.
    """
    names = [f"k{index}" for index in range(len(dimensions))]
    if not postgresql(rows.db):
        return _distinct_case_counts_in_python(rows, dimensions, names)
    keys = ", ".join(names)
    statement = (
        f"SELECT {keys}, COUNT(*), SUM(rk) FROM (SELECT DISTINCT {keys}, cid, rk FROM "
        f"{_unnest_repeated(dimensions, names)} AS joined) AS per_case GROUP BY {keys}"
    )
    width = len(names)
    return [
        (tuple(row[:width]), Tally(row[width], row[width + 1] or 0))
        for row in run_around(rows, statement)
    ]


def _distinct_case_counts_in_python(rows: QuerySet, dimensions: list[Dimension], names: list[str]):
    """The same grouping without PostgreSQL (SQLite, `make run`)."""
    pairs = set()
    for row in rows:
        for values in _unnested(row, names, dimensions):
            pairs.add((values, row["cid"], row["rk"]))
    grouped: dict[tuple, Tally] = defaultdict(Tally)
    for values, _, record_key in pairs:
        grouped[values] += Tally(1, record_key)
    return list(grouped.items())


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


def interval_statistics(
    timed: QuerySet[Metastasis], dimension: Dimension
) -> tuple[dict[str, dict], dict]:
    """Exact n, quartiles, range and synchronous count of months, per value and overall."""
    if not postgresql(timed.db):
        return _interval_statistics_portable(timed, FIELD[dimension])
    grouped = {
        values["key"]: values
        for values in timed.values(key=F(FIELD[dimension])).annotate(**_INTERVAL_STATISTICS)
    }
    return grouped, timed.aggregate(**_INTERVAL_STATISTICS)


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


# ---------------------------------------------------------------- survival


def life_table_rows(
    inner: QuerySet,
    dimensions: list[Dimension],
    statement: str,
    time_points: tuple[int, ...],
    *,
    portable: bool = False,
) -> list[tuple]:
    """(values..., point or None for excluded, died, cases, key sum): `statement` around `inner`.

    `inner` holds one joined row per (case, metastasis or treatment) with m
    (months to the metastasis), fu (follow-up months) and vs (vital status);
    without PostgreSQL (or `portable`, for the tests) the same rows in Python.
    """
    if portable or not postgresql(inner.db):
        return _life_table_in_python(inner, dimensions, time_points)
    return run_around(inner, statement)


def _point(months: int, time_points: tuple[int, ...], *, up: bool) -> int:
    if up:
        return next(p for p in time_points if months <= p)
    return next(p for p in reversed(time_points) if months >= p)


def _life_table_in_python(
    inner: QuerySet, dimensions: list[Dimension], time_points: tuple[int, ...]
) -> list[tuple]:
    """The life table's rows without PostgreSQL (SQLite, `make run`): a small registry's worth."""
    names = [f"k{index}" for index in range(len(dimensions))]
    per_case: dict[tuple, list] = {}
    for row in inner:
        for values in _unnested(row, names, dimensions):
            seen = per_case.setdefault(
                (values, row["cid"]), [row["rk"], None, row["fu"], row["vs"]]
            )
            if row["m"] is not None and (seen[1] is None or row["m"] < seen[1]):
                seen[1] = row["m"]
    last = time_points[-1]
    grouped: dict[tuple, Tally] = defaultdict(Tally)
    for (values, _), (record_key, months, follow_up, vital) in per_case.items():
        known = months is not None and follow_up is not None and vital in ("alive", "dead")
        if not known or follow_up < months:
            grouped[(*values, None, False)] += Tally(1, record_key)
            continue
        time = follow_up - months
        died = vital == "dead" and time <= last
        if died:
            point = _point(time, time_points, up=True)
        else:
            point = _point(min(time, last), time_points, up=False)
        grouped[(*values, point, died)] += Tally(1, record_key)
    return [(*key, tally.n, tally.key_sum) for key, tally in grouped.items()]
