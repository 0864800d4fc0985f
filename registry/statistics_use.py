"""What the analysts' query log says: each analyst's volume, and their differencing pairs.

Reads for the curators' page (`registry.admin.analyst_use`). A differencing
attack asks two tables that differ in one filter only and subtracts them; the
union attack of issue 21 asks `primary=X,S` and `primary=S`. So pairs of one
analyst's distinct tables, of the same endpoint and options, whose parameters
differ in exactly one filter are listed, with how they differ:

- `one value more`: one side's values are the other's plus one (a padded union);
- `added`: the filter is given on one side only (a table and its margin);
- `other value`: the filter takes another value (period=2015 against 2016).

Ordinary browsing makes the last kind too; the page shows the pattern, a curator
judges it.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from registry.models import StatisticsQuery, User

# Filters and options: options change the table's shape, so a pair must share them.
OPTIONS = frozenset({"by", "group_by", "rows", "cols", "bands"})

Parameters = dict[str, list[str]]


@dataclass(frozen=True)
class DailyVolume:
    username: str
    day: datetime.date
    questions: int
    tables: int
    refused: int


@dataclass(frozen=True)
class DifferencingPair:
    username: str
    endpoint: str
    shared: Parameters  # what both tables have
    filter: str  # the one filter that differs
    one: list[str]  # its values in one table ([]: not given)
    other: list[str]
    kind: str  # "one value more", "added" or "other value"


def analyst_volume(*, days: int = 14) -> list[DailyVolume]:
    """Questions, distinct tables and refusals per analyst and UTC day, newest first."""
    since = timezone.now().date() - datetime.timedelta(days=days)
    rows = (
        StatisticsQuery.objects.filter(day__gte=since)
        .values("user__username", "day")
        .annotate(
            questions=Count("id"),
            tables=Count("table_key", distinct=True),
            refused=Count("id", filter=Q(refused=True)),
        )
        .order_by("-day", "user__username")
    )
    return [
        DailyVolume(r["user__username"], r["day"], r["questions"], r["tables"], r["refused"])
        for r in rows
    ]


def _frozen(parameters: Parameters) -> frozenset:
    return frozenset((name, tuple(values)) for name, values in parameters.items())


def _kind(one: list[str], other: list[str]) -> str:
    if not one or not other:
        return "added"
    if len(set(one) ^ set(other)) == 1:
        return "one value more"
    return "other value"


def differencing_pairs(*, user: User, days: int = 7, limit: int = 200) -> list[DifferencingPair]:
    """Pairs of the analyst's distinct tables that differ in exactly one filter.

    Linear in the tables, not quadratic: each table is filed under every
    (endpoint, filter, the rest of its parameters); the tables filed together differ
    in that filter alone, and a table without the filter is found by its parameters.
    """
    since = timezone.now().date() - datetime.timedelta(days=days)
    tables = {
        (endpoint, _frozen(parameters)): parameters
        for endpoint, parameters in StatisticsQuery.objects.filter(
            user=user, day__gte=since, refused=False
        )
        .order_by()
        .values_list("endpoint", "parameters")
        .distinct()
    }
    filed: dict[tuple, list[list[str]]] = defaultdict(list)
    for (endpoint, _), parameters in tables.items():
        for name, values in parameters.items():
            if name in OPTIONS:
                continue
            rest = {n: v for n, v in parameters.items() if n != name}
            filed[endpoint, name, _frozen(rest)].append(values)
    pairs = []
    for (endpoint, name, rest), variants in sorted(filed.items(), key=repr):
        if (endpoint, rest) in tables:  # the same table without this filter
            variants = [[], *variants]
        shared = dict(sorted((n, list(v)) for n, v in rest))
        for index, one in enumerate(variants):
            for other in variants[index + 1 :]:
                pairs.append(
                    DifferencingPair(
                        user.get_username(), endpoint, shared, name, one, other, _kind(one, other)
                    )
                )
                if len(pairs) >= limit:
                    return pairs
    return pairs
