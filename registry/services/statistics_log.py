"""Record an analyst's statistics question and hold it to the daily budget of tables.

One statement per question: the INSERT reads the analyst's distinct tables of
the day in the same round trip (an aggregate over the `statistics_query_budget`
index) and stores whether this question is past the budget. A question for a
table already asked today is never refused: asking again tells nothing new,
since the same cases always get the same numbers.
"""

import datetime
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from registry.models import StatisticsQuery, User


@dataclass(frozen=True)
class QueryRecord:
    """What the log says of one question: is it past the budget, and until when."""

    refused: bool
    budget: int
    retry_at: datetime.datetime  # the next UTC midnight, when a new day's budget begins


def normalised_parameters(parameters: Mapping[str, object]) -> dict[str, list[str]]:
    """Filters and options as one canonical value: names sorted, each value a sorted list.

    `site=C44.4,C50.9` and `site=C50.9&site=C44.4` are the same table, and so is
    an option given by its default or left out (the caller passes what it used).
    """
    canonical = {}
    for name in sorted(parameters):
        value = parameters[name]
        if value is None:
            continue
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        canonical[name] = sorted(str(item) for item in values)
    return canonical


def table_key(endpoint: str, parameters: dict[str, list[str]]) -> str:
    text = json.dumps([endpoint, parameters], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


_INSERT = (
    "INSERT INTO {table} (user_id, asked_at, day, endpoint, parameters, table_key, refused) "
    "SELECT %s, %s, %s, %s, {json}, %s, "
    "COALESCE(MAX(CASE WHEN table_key = %s THEN 1 ELSE 0 END), 0) = 0 "
    "AND COUNT(DISTINCT table_key) >= %s "
    "FROM {table} WHERE user_id = %s AND day = %s AND NOT refused "
    "RETURNING refused"
)


def statistics_query_record(
    *, user: User, endpoint: str, parameters: Mapping[str, object], budget: int
) -> QueryRecord:
    """Log the question (never the answer); `refused` when it is a new table past `budget`."""
    now = timezone.now()
    day = now.astimezone(datetime.UTC).date()
    canonical = normalised_parameters(parameters)
    key = table_key(endpoint, canonical)
    json_value = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    statement = _INSERT.format(table=StatisticsQuery._meta.db_table, json=json_value)
    with connection.cursor() as cursor:
        cursor.execute(
            statement,
            [user.pk, now, day, endpoint, json.dumps(canonical), key, key, budget, user.pk, day],
        )
        (refused,) = cursor.fetchone()
    midnight = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time(), datetime.UTC
    )
    return QueryRecord(refused=bool(refused), budget=budget, retry_at=midnight)
